/*
 * qemu-vmbus: the partition's reference time
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "system/kvm.h"
#include "hw/vmbus/hv-reftime.h"
#ifdef CONFIG_KVM
#include <linux/kvm.h>
#endif

uint64_t hv_reference_counter(void)
{
#ifdef CONFIG_KVM
    /* KVM counts reference time from its kvmclock (arch/x86/kvm/hyperv.c). */
    if (kvm_enabled()) {
        struct kvm_clock_data data = { 0 };

        if (!kvm_vm_ioctl(kvm_state, KVM_GET_CLOCK, &data)) {
            return data.clock / 100;
        }
    }
#endif
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) / 100;
}
