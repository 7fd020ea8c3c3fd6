/*
 * qemu-vmbus: Hyper-V synthetic MSRs without KVM
 *
 * The per-VP values live in the same CPUX86State fields that KVM uses, so
 * that target/i386/machine.c migrates them either way. These handlers run
 * on the vCPU thread without the BQL: partition state is accessed
 * atomically, SynIC page changes are deferred to a safe point. Every MSR in the
 * synthetic range that the CPU's hv-* features do not give faults, as on
 * Hyper-V, and so do reserved bits.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "migration/vmstate.h"
#include "system/reset.h"
#include "exec/cpu-common.h"
#include "exec/address-spaces.h"
#include "hw/hyperv/hyperv.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hw/vmbus/hv-reftime.h"
#include "hv-tcg-internal.h"
#include "trace.h"

#define HV_MSR_FIRST        0x40000000
#define HV_MSR_LAST         0x4000ffff  /* the range TLFS reserves */

/* Bits that must be zero in the page MSRs: 11:1 (bit 0 enables). */
#define HV_PAGE_MSR_RESERVED    0xffeull
#define HV_SINT_VALID_BITS      (HV_SINT_VECTOR_MASK | HV_SINT_MASKED | \
                                 HV_SINT_AUTO_EOI | HV_SINT_POLLING)
/* Vectors below 16 are architectural exceptions. */
#define HV_SINT_MIN_VECTOR      16

/* The reference TSC page (TLFS 12.7), of which we publish the header. */
typedef struct HvRefTscPage {
    uint32_t tsc_sequence;
    uint32_t reserved;
    uint64_t tsc_scale;
    int64_t tsc_offset;
} QEMU_PACKED HvRefTscPage;
QEMU_BUILD_BUG_ON(sizeof(HvRefTscPage) != 24);

static bool feat(X86CPU *cpu, int f)
{
    return hyperv_feat_enabled(cpu, f);
}

/* A page-sized GPA field the guest may use: within its physical space. */
static bool page_msr_ok(X86CPU *cpu, uint64_t val)
{
    return !(val & HV_PAGE_MSR_RESERVED) &&
           (cpu->phys_bits >= 64 || !(val >> cpu->phys_bits));
}

/*
 * GUEST_OS_ID, HYPERCALL and REFERENCE_TSC belong to the partition, not to a
 * VP: an INIT of one VP must not lose them. They live here, migrate as one
 * object, and go back to zero only when the machine resets.
 */
HvTcgPartition hv_tcg_partition;

static const VMStateDescription vmstate_hv_tcg_partition = {
    .name = "hv-tcg-partition",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(guest_os_id, HvTcgPartition),
        VMSTATE_UINT64(hypercall, HvTcgPartition),
        VMSTATE_UINT64(ref_tsc, HvTcgPartition),
        VMSTATE_END_OF_LIST()
    },
};

static void hv_tcg_partition_reset(void *opaque)
{
    memset(&hv_tcg_partition, 0, sizeof(hv_tcg_partition));
}

void hv_tcg_partition_init(void)
{
    static bool done;

    if (!done) {
        done = true;
        vmstate_register(NULL, 0, &vmstate_hv_tcg_partition,
                         &hv_tcg_partition);
        qemu_register_reset(hv_tcg_partition_reset, NULL);
    }
}

/* 100 ns units of virtual time, the same on every VP. */

/*
 * The guest TSC under TCG follows the host's, while reference time follows
 * QEMU's virtual clock; no (scale, offset) pair links them exactly. A zero
 * sequence is TLFS's "page invalid, read the reference counter MSR".
 */
static void ref_tsc_page_publish(void)
{
    HvRefTscPage page = { 0 };
    hwaddr gpa = hv_tcg_partition.ref_tsc & TARGET_PAGE_MASK;

    if (!(hv_tcg_partition.ref_tsc & 1)) {
        return;
    }
    if (address_space_write(&address_space_memory, gpa,
                            MEMTXATTRS_UNSPECIFIED, &page, sizeof(page))) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv: reference TSC page at 0x%"
                      HWADDR_PRIx " is not RAM\n", gpa);
    }
}

HvTcgMsrResult hv_tcg_rdmsr(X86CPU *cpu, uint32_t msr, uint64_t *val)
{
    CPUX86State *env = &cpu->env;

    if (msr < HV_MSR_FIRST || msr > HV_MSR_LAST || !hv_tcg_active(cpu)) {
        return HV_TCG_MSR_UNHANDLED;
    }

    switch (msr) {
    case HV_X64_MSR_GUEST_OS_ID:
        *val = qatomic_read(&hv_tcg_partition.guest_os_id);
        break;
    case HV_X64_MSR_HYPERCALL:
        *val = qatomic_read(&hv_tcg_partition.hypercall);
        break;
    case HV_X64_MSR_APIC_ASSIST_PAGE:
        *val = env->msr_hv_vapic;
        break;
    case HV_X64_MSR_VP_INDEX:
        if (!feat(cpu, HYPERV_FEAT_VPINDEX)) {
            goto gp;
        }
        *val = hyperv_vp_index(CPU(cpu));
        break;
    case HV_X64_MSR_TIME_REF_COUNT:
        if (!feat(cpu, HYPERV_FEAT_TIME)) {
            goto gp;
        }
        *val = hv_reference_counter();
        break;
    case HV_X64_MSR_REFERENCE_TSC:
        if (!feat(cpu, HYPERV_FEAT_TIME)) {
            goto gp;
        }
        *val = qatomic_read(&hv_tcg_partition.ref_tsc);
        break;
    case HV_X64_MSR_SCONTROL:
    case HV_X64_MSR_SVERSION:
    case HV_X64_MSR_SIEFP:
    case HV_X64_MSR_SIMP:
    case HV_X64_MSR_EOM:
    case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
        if (!feat(cpu, HYPERV_FEAT_SYNIC)) {
            goto gp;
        }
        switch (msr) {
        case HV_X64_MSR_SCONTROL:
            *val = env->msr_hv_synic_control;
            break;
        case HV_X64_MSR_SVERSION:
            *val = HV_SYNIC_VERSION;
            break;
        case HV_X64_MSR_SIEFP:
            *val = env->msr_hv_synic_evt_page;
            break;
        case HV_X64_MSR_SIMP:
            *val = env->msr_hv_synic_msg_page;
            break;
        case HV_X64_MSR_EOM:
            *val = 0;
            break;
        default:
            *val = env->msr_hv_synic_sint[msr - HV_X64_MSR_SINT0];
            break;
        }
        break;
    default:
        goto gp;
    }
    trace_hv_tcg_rdmsr(hyperv_vp_index(CPU(cpu)), msr, *val);
    return HV_TCG_MSR_DONE;

gp:
    trace_hv_tcg_msr_fault(hyperv_vp_index(CPU(cpu)), msr, 0, false);
    return HV_TCG_MSR_GP;
}

static HvTcgMsrResult wrmsr_synic(X86CPU *cpu, uint32_t msr, uint64_t val)
{
    CPUX86State *env = &cpu->env;

    switch (msr) {
    case HV_X64_MSR_SCONTROL:
        if (val & ~(uint64_t)HV_SYNIC_ENABLE) {
            return HV_TCG_MSR_GP;
        }
        env->msr_hv_synic_control = val;
        hv_tcg_synic_update(cpu);
        break;
    case HV_X64_MSR_SIEFP:
    case HV_X64_MSR_SIMP:
        if (!page_msr_ok(cpu, val)) {
            return HV_TCG_MSR_GP;
        }
        if (msr == HV_X64_MSR_SIEFP) {
            env->msr_hv_synic_evt_page = val;
        } else {
            env->msr_hv_synic_msg_page = val;
        }
        hv_tcg_synic_update(cpu);
        break;
    case HV_X64_MSR_EOM:
        hv_tcg_synic_eom(cpu);
        break;
    case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
        if ((val & ~HV_SINT_VALID_BITS) ||
            (!(val & HV_SINT_MASKED) &&
             (val & HV_SINT_VECTOR_MASK) < HV_SINT_MIN_VECTOR)) {
            return HV_TCG_MSR_GP;
        }
        env->msr_hv_synic_sint[msr - HV_X64_MSR_SINT0] = val;
        if (!(val & HV_SINT_MASKED)) {
            /* Unmasking may uncover a message that waits. */
            hv_tcg_synic_eom(cpu);
        }
        break;
    default:
        /* SVERSION is read-only. */
        return HV_TCG_MSR_GP;
    }
    return HV_TCG_MSR_DONE;
}

HvTcgMsrResult hv_tcg_wrmsr(X86CPU *cpu, uint32_t msr, uint64_t val)
{
    CPUX86State *env = &cpu->env;
    HvTcgMsrResult r = HV_TCG_MSR_DONE;

    if (msr < HV_MSR_FIRST || msr > HV_MSR_LAST || !hv_tcg_active(cpu)) {
        return HV_TCG_MSR_UNHANDLED;
    }

    switch (msr) {
    case HV_X64_MSR_GUEST_OS_ID:
        qatomic_set(&hv_tcg_partition.guest_os_id, val);
        if (!val) {
            /* No hypercalls without a guest OS id (TLFS 3.13). */
            qatomic_and(&hv_tcg_partition.hypercall,
                        ~(uint64_t)HV_HYPERCALL_ENABLE);
        }
        break;
    case HV_X64_MSR_HYPERCALL:
        if (!page_msr_ok(cpu, val & ~2ull)) {
            r = HV_TCG_MSR_GP;
            break;
        }
        if (!qatomic_read(&hv_tcg_partition.guest_os_id)) {
            val &= ~(uint64_t)HV_HYPERCALL_ENABLE;
        }
        qatomic_set(&hv_tcg_partition.hypercall, val);
        hv_tcg_hypercall_page_fill(cpu);
        break;
    case HV_X64_MSR_APIC_ASSIST_PAGE:
        /* Linux writes it on every CPU; we keep it, offering no assists. */
        if (!page_msr_ok(cpu, val)) {
            r = HV_TCG_MSR_GP;
            break;
        }
        env->msr_hv_vapic = val;
        break;
    case HV_X64_MSR_REFERENCE_TSC:
        if (!feat(cpu, HYPERV_FEAT_TIME) || !page_msr_ok(cpu, val)) {
            r = HV_TCG_MSR_GP;
            break;
        }
        qatomic_set(&hv_tcg_partition.ref_tsc, val);
        ref_tsc_page_publish();
        break;
    case HV_X64_MSR_SCONTROL:
    case HV_X64_MSR_SVERSION:
    case HV_X64_MSR_SIEFP:
    case HV_X64_MSR_SIMP:
    case HV_X64_MSR_EOM:
    case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
        r = feat(cpu, HYPERV_FEAT_SYNIC) ? wrmsr_synic(cpu, msr, val) :
            HV_TCG_MSR_GP;
        break;
    default:
        /* VP_INDEX and TIME_REF_COUNT are read-only; the rest is absent. */
        r = HV_TCG_MSR_GP;
        break;
    }

    if (r == HV_TCG_MSR_GP) {
        trace_hv_tcg_msr_fault(hyperv_vp_index(CPU(cpu)), msr, val, true);
    } else {
        trace_hv_tcg_wrmsr(hyperv_vp_index(CPU(cpu)), msr, val);
    }
    return r;
}

void hv_tcg_reset(X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;
    int i;

    if (!hv_tcg_active(cpu)) {
        return;
    }
    /* The MSR fields were zeroed with the rest of the CPU state. */
    for (i = 0; i < HV_SINT_COUNT; i++) {
        env->msr_hv_synic_sint[i] = HV_SINT_MASKED;
    }
    if (feat(cpu, HYPERV_FEAT_SYNIC)) {
        if (!object_resolve_path_component(OBJECT(cpu), "synic")) {
            hyperv_synic_add(CPU(cpu));
        }
        hyperv_synic_reset(CPU(cpu));
    }
}
