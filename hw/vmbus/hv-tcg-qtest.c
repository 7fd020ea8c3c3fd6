/*
 * qemu-vmbus: the qtest command that lets a test be the guest's partition
 *
 *   hv rdmsr VP MSR 0 0            -> OK 0 VALUE | OK GP 0 | OK NA 0
 *   hv wrmsr VP MSR VALUE 0        -> OK 0 0     | OK GP 0 | OK NA 0
 *   hv hypercall VP CONTROL IN OUT -> OK 0 RESULT | OK UD 0
 *
 * GP: the guest would get #GP; UD: #UD (no hypercall page enabled on VP);
 * NA: not a Hyper-V MSR. Numbers are hexadecimal in replies.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "system/qtest.h"
#include "hw/core/cpu.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hv-tcg-internal.h"

static const char *const msr_fault[] = {
    [HV_TCG_MSR_UNHANDLED] = "NA",
    [HV_TCG_MSR_DONE] = "0",
    [HV_TCG_MSR_GP] = "GP",
};

static bool hv_qtest_command(CharBackend *chr, gchar **words)
{
    uint64_t vp, a[3] = { 0 }, val = 0;
    CPUState *cs;
    X86CPU *cpu;
    HvTcgMsrResult r;

    if (strcmp(words[0], "hv") != 0) {
        return false;
    }
    if (g_strv_length(words) != 6 ||
        qemu_strtou64(words[2], NULL, 0, &vp) ||
        qemu_strtou64(words[3], NULL, 0, &a[0]) ||
        qemu_strtou64(words[4], NULL, 0, &a[1]) ||
        qemu_strtou64(words[5], NULL, 0, &a[2])) {
        qtest_sendf(chr, "FAIL usage: hv OP VP ARG ARG ARG\n");
        return true;
    }
    cs = vp <= INT_MAX ? qemu_get_cpu(vp) : NULL;
    if (!cs) {
        qtest_sendf(chr, "FAIL no VP %" PRIu64 "\n", vp);
        return true;
    }
    cpu = X86_CPU(cs);

    if (!strcmp(words[1], "rdmsr") && a[0] <= UINT32_MAX) {
        r = hv_tcg_rdmsr(cpu, a[0], &val);
        qtest_sendf(chr, "OK %s 0x%" PRIx64 "\n", msr_fault[r],
                    r == HV_TCG_MSR_DONE ? val : 0);
    } else if (!strcmp(words[1], "wrmsr") && a[0] <= UINT32_MAX) {
        r = hv_tcg_wrmsr(cpu, a[0], a[1]);
        qtest_sendf(chr, "OK %s 0x0\n", msr_fault[r]);
    } else if (!strcmp(words[1], "hypercall")) {
        /* As the guest at CPL 0 would: only through an enabled page. */
        if (!hv_tcg_active(cpu) ||
            !(hv_tcg_partition.hypercall & HV_HYPERCALL_ENABLE)) {
            qtest_sendf(chr, "OK UD 0x0\n");
        } else {
            val = hv_tcg_hypercall_dispatch(cpu, a[0], a[1], a[2]);
            qtest_sendf(chr, "OK 0 0x%" PRIx64 "\n", val);
        }
    } else {
        qtest_sendf(chr, "FAIL unknown hv operation '%s'\n", words[1]);
    }
    return true;
}

void hv_tcg_qtest_init(void)
{
    static bool done;

    if (!done) {
        done = true;
        qtest_set_command_cb(hv_qtest_command);
    }
}
