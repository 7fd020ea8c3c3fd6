/*
 * qemu-vmbus: Hyper-V CPUID leaves and hv-* property checks without KVM
 *
 * The leaves say exactly what the enabled hv-* properties give, nothing
 * more: no isolation, no nested, no root partition.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm.h"
#include "system/qtest.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hv-tcg-internal.h"

/* The hv-* features this emulation implements. */
#define HV_TCG_FEATURES (BIT(HYPERV_FEAT_RELAXED) | BIT(HYPERV_FEAT_TIME) | \
                         BIT(HYPERV_FEAT_VPINDEX) | BIT(HYPERV_FEAT_SYNIC))

static const char *const hv_feature_names[] = {
    [HYPERV_FEAT_RELAXED] = "hv-relaxed",
    [HYPERV_FEAT_VAPIC] = "hv-vapic",
    [HYPERV_FEAT_TIME] = "hv-time",
    [HYPERV_FEAT_CRASH] = "hv-crash",
    [HYPERV_FEAT_RESET] = "hv-reset",
    [HYPERV_FEAT_VPINDEX] = "hv-vpindex",
    [HYPERV_FEAT_RUNTIME] = "hv-runtime",
    [HYPERV_FEAT_SYNIC] = "hv-synic",
    [HYPERV_FEAT_STIMER] = "hv-stimer",
    [HYPERV_FEAT_FREQUENCIES] = "hv-frequencies",
    [HYPERV_FEAT_REENLIGHTENMENT] = "hv-reenlightenment",
    [HYPERV_FEAT_TLBFLUSH] = "hv-tlbflush",
    [HYPERV_FEAT_EVMCS] = "hv-evmcs",
    [HYPERV_FEAT_IPI] = "hv-ipi",
    [HYPERV_FEAT_STIMER_DIRECT] = "hv-stimer-direct",
    [HYPERV_FEAT_AVIC] = "hv-avic",
    [HYPERV_FEAT_SYNDBG] = "hv-syndbg",
    [HYPERV_FEAT_MSR_BITMAP] = "hv-emsr-bitmap",
    [HYPERV_FEAT_XMM_INPUT] = "hv-xmm-input",
    [HYPERV_FEAT_TLBFLUSH_EXT] = "hv-tlbflush-ext",
    [HYPERV_FEAT_TLBFLUSH_DIRECT] = "hv-tlbflush-direct",
};

bool hv_tcg_active(X86CPU *cpu)
{
    return !kvm_enabled() && cpu->hyperv_features;
}

bool hv_tcg_realize(X86CPU *cpu, Error **errp)
{
    uint64_t unsupported;
    int f;

    if (kvm_enabled()) {
        return true;
    }
    if (cpu->hyperv_passthrough) {
        error_setg(errp, "hv-passthrough needs KVM");
        return false;
    }
    if (qtest_enabled()) {
        hv_tcg_qtest_init();
    }
    if (!cpu->hyperv_features) {
        return true;
    }

    unsupported = cpu->hyperv_features & ~HV_TCG_FEATURES;
    if (unsupported) {
        f = ctz64(unsupported);
        error_setg(errp, "Hyper-V enlightenment %s is not implemented "
                   "without KVM (implemented: hv-relaxed, hv-vpindex, "
                   "hv-time, hv-synic)",
                   f < ARRAY_SIZE(hv_feature_names) && hv_feature_names[f] ?
                   hv_feature_names[f] : "(unknown)");
        return false;
    }
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC) &&
        !hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
        error_setg(errp, "Hyper-V enlightenment hv-synic needs hv-vpindex");
        return false;
    }

    hv_tcg_partition_init();

    /* SINTs go out as xAPIC MSIs, whose destination has 8 bits. */
    if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC) && cpu->apic_id > 0xff) {
        error_setg(errp, "Hyper-V enlightenment hv-synic without KVM "
                   "supports APIC IDs up to 255, not %u", cpu->apic_id);
        return false;
    }

    /* Guests look for the hypervisor leaves only behind this bit. */
    cpu->env.features[FEAT_1_ECX] |= CPUID_EXT_HYPERVISOR;
    return true;
}

bool hv_tcg_cpuid(X86CPU *cpu, uint32_t index, uint32_t count,
                  uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    if (index < 0x40000000 || index > 0x4000ffff || !hv_tcg_active(cpu)) {
        return false;
    }

    *eax = *ebx = *ecx = *edx = 0;
    switch (index) {
    case HV_CPUID_VENDOR_AND_MAX_FUNCTIONS:
        *eax = HV_CPUID_IMPLEMENT_LIMITS;
        *ebx = cpu->hyperv_vendor_id[0];
        *ecx = cpu->hyperv_vendor_id[1];
        *edx = cpu->hyperv_vendor_id[2];
        break;
    case HV_CPUID_INTERFACE:
        *eax = cpu->hyperv_interface_id[0];
        *ebx = cpu->hyperv_interface_id[1];
        *ecx = cpu->hyperv_interface_id[2];
        *edx = cpu->hyperv_interface_id[3];
        break;
    case HV_CPUID_VERSION:
        *eax = cpu->hyperv_ver_id_build;
        *ebx = (uint32_t)cpu->hyperv_ver_id_major << 16 |
               cpu->hyperv_ver_id_minor;
        *ecx = cpu->hyperv_ver_id_sp;
        *edx = (uint32_t)cpu->hyperv_ver_id_sb << 24 |
               (cpu->hyperv_ver_id_sn & 0xffffff);
        break;
    case HV_CPUID_FEATURES:
        *eax = HV_HYPERCALL_AVAILABLE;
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_VPINDEX)) {
            *eax |= HV_VP_INDEX_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_TIME)) {
            *eax |= HV_TIME_REF_COUNT_AVAILABLE | HV_REFERENCE_TSC_AVAILABLE;
        }
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC)) {
            *eax |= HV_SYNIC_AVAILABLE;
            *ebx |= HV_POST_MESSAGES | HV_SIGNAL_EVENTS;
        }
        break;
    case HV_CPUID_ENLIGHTMENT_INFO:
        if (hyperv_feat_enabled(cpu, HYPERV_FEAT_RELAXED)) {
            *eax |= HV_RELAXED_TIMING_RECOMMENDED;
        }
        /*
         * AutoEOI works (hw/intc/apic.c asks hv_tcg_apic_auto_eoi), so the
         * "AutoEOI deprecated" hint stays clear, as upstream leaves it
         * without hv-avic.
         */
        *ebx = cpu->hyperv_spinlock_attempts;
        break;
    case HV_CPUID_IMPLEMENT_LIMITS:
        *eax = cpu->hyperv_limits[0];
        *ebx = cpu->hyperv_limits[1];
        *ecx = cpu->hyperv_limits[2];
        break;
    default:
        /* Nested, isolation and the rest of the range: all zero. */
        break;
    }
    return true;
}
