/*
 * qemu-vmbus fuzzing: Hyper-V partition services (MSRs and hypercalls)
 *
 * Starts with hypercalls and the SynIC enabled on both VPs, as Linux leaves
 * them; the input then writes and reads the synthetic MSRs (message and
 * event pages anywhere, SINTs, EOM, the reference TSC page) and issues any
 * hypercall, slow or fast, with its input and output pages anywhere.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

static const VFuzzTarget hv_partition_fuzz = {
    .name = "vmbus-hv-partition",
    .description = "Hyper-V synthetic MSRs, SynIC and hypercalls",
    .args = "-cpu qemu64,hv-vpindex=on,hv-synic=on,hv-time=on,hv-relaxed=on"
            " -device vmbus-bridge",
    .nvps = 2,
    .ops = 1u << VFUZZ_OP_MSR | 1u << VFUZZ_OP_HCALL | 1u << VFUZZ_OP_POST |
           1u << VFUZZ_OP_SIGNAL | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_MEM,
};

static void register_hv_partition_fuzz(void)
{
    vfuzz_register(&hv_partition_fuzz);
}

fuzz_target_init(register_hv_partition_fuzz);
