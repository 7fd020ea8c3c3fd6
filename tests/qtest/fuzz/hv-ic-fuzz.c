/*
 * qemu-vmbus fuzzing: the integration services
 *
 * Starts with the heartbeat, shutdown, time sync and KVP channels open and
 * not negotiated; the input sends them IC messages (negotiation, requests,
 * answers), takes or ignores what they send, and lets their timers run.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

static const VFuzzTarget hv_ic_fuzz = {
    .name = "vmbus-hv-ic",
    .description = "Integration services: heartbeat, shutdown, timesync, KVP",
    .args = "-device vmbus-bridge -device hv-heartbeat -device hv-shutdown"
            " -device hv-timesync -device hv-kvp",
    .nvps = 1,
    .ops = 1u << VFUZZ_OP_SEND | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_SIGNAL | 1u << VFUZZ_OP_RING,
    .channels = 4,
    .ring_pages = 4,
};

static void register_hv_ic_fuzz(void)
{
    vfuzz_register(&hv_ic_fuzz);
}

fuzz_target_init(register_hv_ic_fuzz);
