/*
 * qemu-vmbus: Hyper-V partition services when they are not built in
 *
 * Without CONFIG_HV_TCG the target's hooks find nothing to do, and hv-*
 * features keep needing KVM.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm.h"
#include "hw/vmbus/hv-tcg.h"

bool hv_tcg_realize(X86CPU *cpu, Error **errp)
{
    if (!kvm_enabled() && cpu->hyperv_features) {
        error_setg(errp, "Hyper-V enlightenments need KVM in this build");
        return false;
    }
    return true;
}

void hv_tcg_reset(X86CPU *cpu)
{
}

bool hv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t count,
                  uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    return false;
}

HvTcgMsrResult hv_tcg_rdmsr(X86CPU *cpu, uint32_t msr, uint64_t *val)
{
    return HV_TCG_MSR_UNHANDLED;
}

HvTcgMsrResult hv_tcg_wrmsr(X86CPU *cpu, uint32_t msr, uint64_t val)
{
    return HV_TCG_MSR_UNHANDLED;
}

bool hv_tcg_hypercall(X86CPU *cpu)
{
    return false;
}

void hv_tcg_sint_raise(CPUState *cs, uint32_t sint)
{
}

bool hv_tcg_apic_auto_eoi(X86CPU *cpu, int vector)
{
    return false;
}

void hv_tcg_apic_eoi(X86CPU *cpu, int vector)
{
}
