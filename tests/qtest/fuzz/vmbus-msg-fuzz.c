/*
 * qemu-vmbus fuzzing: the channel manager's messages
 *
 * Starts connected at VMBus 5.3 with the offers taken and one channel open;
 * the input posts any message (GPADL headers and bodies, open, close,
 * teardown, modify, unload, contact again), builds well-formed GPADLs over
 * the data area, signals, and takes the host's answers or leaves them.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

static const VFuzzTarget vmbus_msg_fuzz = {
    .name = "vmbus-msg",
    .description = "VMBus channel manager messages, GPADLs and channel states",
    .args = "-device vmbus-bridge -device vmbus-testdev -device hv-heartbeat",
    .nvps = 2,
    .ops = 1u << VFUZZ_OP_POST | 1u << VFUZZ_OP_GPADL |
           1u << VFUZZ_OP_SIGNAL | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_MEM | 1u << VFUZZ_OP_SEND,
    .channels = 1,
    .ring_pages = 4,
};

static void register_vmbus_msg_fuzz(void)
{
    vfuzz_register(&vmbus_msg_fuzz);
}

fuzz_target_init(register_vmbus_msg_fuzz);
