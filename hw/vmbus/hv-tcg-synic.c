/*
 * qemu-vmbus: SynIC delivery without KVM
 *
 * hw/hyperv/hyperv.c keeps the SynIC's pages, message staging and routes
 * for both accelerators. Under KVM the kernel raises SINTs (irqfd), does
 * AutoEOI and reports EOM and EOI; here a SINT is a fixed, edge interrupt
 * sent to the target VP's local APIC, EOM comes from our MSR emulation, and
 * the APIC model asks us about AutoEOI and tells us of EOIs.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "exec/address-spaces.h"
#include "hw/core/cpu.h"
#include "hw/hyperv/hyperv.h"
#include "hw/i386/apic-msidef.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hv-tcg-internal.h"
#include "trace.h"

void hv_tcg_sint_raise(CPUState *cs, uint32_t sint)
{
    X86CPU *cpu = X86_CPU(cs);
    CPUX86State *env = &cpu->env;
    uint64_t sintv;
    uint32_t vector;
    uint64_t addr;

    if (sint >= HV_SINT_COUNT ||
        !(env->msr_hv_synic_control & HV_SYNIC_ENABLE)) {
        return;
    }
    sintv = env->msr_hv_synic_sint[sint];
    /* A polled SINT is read by the guest, never interrupts it. */
    if (sintv & (HV_SINT_MASKED | HV_SINT_POLLING)) {
        return;
    }
    vector = sintv & HV_SINT_VECTOR_MASK;

    /* An MSI to the VP's APIC ID: fixed delivery, edge, physical mode. */
    addr = APIC_DEFAULT_ADDRESS |
           ((uint64_t)cpu->apic_id << MSI_ADDR_DEST_ID_SHIFT);
    trace_hv_tcg_sint_raise(hyperv_vp_index(cs), sint, vector);
    address_space_stl_le(&address_space_memory, addr, vector,
                         MEMTXATTRS_UNSPECIFIED, NULL);
}

static void synic_update_safe(CPUState *cs, run_on_cpu_data data)
{
    X86CPU *cpu = X86_CPU(cs);
    CPUX86State *env = &cpu->env;
    bool enable = env->msr_hv_synic_control & HV_SYNIC_ENABLE;
    hwaddr msg = (env->msr_hv_synic_msg_page & HV_SIMP_ENABLE) ?
                 env->msr_hv_synic_msg_page & TARGET_PAGE_MASK : 0;
    hwaddr evt = (env->msr_hv_synic_evt_page & HV_SIEFP_ENABLE) ?
                 env->msr_hv_synic_evt_page & TARGET_PAGE_MASK : 0;

    BQL_LOCK_GUARD();
    trace_hv_tcg_synic_update(hyperv_vp_index(cs), enable, msg, evt);
    hyperv_synic_update(cs, enable, msg, evt);
}

void hv_tcg_synic_update(X86CPU *cpu)
{
    CPUState *cs = CPU(cpu);

    /*
     * The pages are overlays in the system memory map: a vCPU thread
     * changes it only while no other vCPU runs.
     */
    if (current_cpu) {
        async_safe_run_on_cpu(cs, synic_update_safe, RUN_ON_CPU_NULL);
    } else {
        synic_update_safe(cs, RUN_ON_CPU_NULL);
    }
}

void hv_tcg_synic_eom(X86CPU *cpu)
{
    trace_hv_tcg_synic_eom(hyperv_vp_index(CPU(cpu)));
    hyperv_synic_eom(CPU(cpu));
}

/* True when @vector belongs to an unmasked SINT of @cpu with @flag set. */
static bool sint_vector_match(X86CPU *cpu, int vector, uint64_t flag)
{
    CPUX86State *env = &cpu->env;

    if (!hv_tcg_active(cpu) ||
        !(env->msr_hv_synic_control & HV_SYNIC_ENABLE)) {
        return false;
    }
    for (int i = 0; i < HV_SINT_COUNT; i++) {
        uint64_t sintv = env->msr_hv_synic_sint[i];

        if (!(sintv & HV_SINT_MASKED) && (sintv & flag) &&
            (sintv & HV_SINT_VECTOR_MASK) == vector) {
            return true;
        }
    }
    return false;
}

bool hv_tcg_apic_auto_eoi(X86CPU *cpu, int vector)
{
    if (!sint_vector_match(cpu, vector, HV_SINT_AUTO_EOI)) {
        return false;
    }
    /* An AutoEOI is an EOI: a message that waits may go. */
    hv_tcg_synic_eom(cpu);
    return true;
}

void hv_tcg_apic_eoi(X86CPU *cpu, int vector)
{
    if (sint_vector_match(cpu, vector, ~0ull)) {
        hv_tcg_synic_eom(cpu);
    }
}
