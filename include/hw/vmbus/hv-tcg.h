/*
 * qemu-vmbus: Hyper-V partition services without KVM
 *
 * Under TCG and qtest, these give the guest what KVM's Hyper-V support gives
 * it under KVM: the hypervisor CPUID leaves, the synthetic MSRs, the
 * hypercall page and its dispatcher, and SynIC interrupt delivery. Messages
 * and events go through hw/hyperv/hyperv.c's registration API whatever the
 * accelerator, so VMBus code has one path.
 *
 * These functions are called from hook points in target/i386 (see patches/);
 * each does nothing when the CPU has no hv-* feature enabled.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_TCG_H
#define HW_VMBUS_HV_TCG_H

#include "target/i386/cpu.h"

/* What an MSR access hook did with the access. */
typedef enum HvTcgMsrResult {
    HV_TCG_MSR_UNHANDLED,   /* not a Hyper-V MSR of this CPU's: carry on */
    HV_TCG_MSR_DONE,        /* handled */
    HV_TCG_MSR_GP,          /* the guest gets #GP(0) */
} HvTcgMsrResult;

/*
 * At CPU realize: refuses hv-* features that are not implemented without
 * KVM, naming them, and checks their dependencies.
 */
bool hv_tcg_realize(X86CPU *cpu, Error **errp);

/* At CPU reset: Hyper-V MSRs to their reset values, SynIC reset. */
void hv_tcg_reset(X86CPU *cpu);

/* CPUID leaves 0x40000000-0x4000ffff; false when not ours. */
bool hv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t count,
                  uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx);

HvTcgMsrResult hv_tcg_rdmsr(X86CPU *cpu, uint32_t msr, uint64_t *val);
HvTcgMsrResult hv_tcg_wrmsr(X86CPU *cpu, uint32_t msr, uint64_t val);

/*
 * VMCALL or VMMCALL from the hypercall page: reads the call from the
 * guest's registers and writes its status back. False means the guest gets
 * #UD (no hypercall page enabled, or CPL > 0).
 */
bool hv_tcg_hypercall(X86CPU *cpu);

/*
 * Raises SINT @sint on @cs's local APIC if the guest enabled it; the
 * delivery half of a SynIC route under TCG and qtest.
 */
void hv_tcg_sint_raise(CPUState *cs, uint32_t sint);

/*
 * From the local APIC model. When @cpu takes interrupt @vector: true if the
 * vector is an AutoEOI SINT's, which is then acknowledged at once and never
 * enters the ISR. When @cpu EOIs @vector: a SINT's senders may retry.
 */
bool hv_tcg_apic_auto_eoi(X86CPU *cpu, int vector);
void hv_tcg_apic_eoi(X86CPU *cpu, int vector);

#endif
