/*
 * qemu-vmbus fuzzing: ring buffers
 *
 * Starts with the test device's channel open on small rings (the test
 * device echoes what it is sent, so the host writes as well as reads);
 * the input sends packets of any type and layout, overwrites any byte of
 * either ring, control pages and indices included, and signals or not.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

static const VFuzzTarget vmbus_ring_fuzz = {
    .name = "vmbus-ring",
    .description = "VMBus ring buffers: packets, descriptors and indices",
    .args = "-device vmbus-bridge -device vmbus-testdev",
    .nvps = 1,
    .ops = 1u << VFUZZ_OP_SEND | 1u << VFUZZ_OP_RING |
           1u << VFUZZ_OP_SIGNAL | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_MEM,
    .channels = 1,
    .ring_pages = 3,
};

static void register_vmbus_ring_fuzz(void)
{
    vfuzz_register(&vmbus_ring_fuzz);
}

fuzz_target_init(register_vmbus_ring_fuzz);
