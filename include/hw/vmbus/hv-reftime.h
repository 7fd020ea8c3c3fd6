/*
 * qemu-vmbus: the partition's reference time
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_REFTIME_H
#define HW_VMBUS_HV_REFTIME_H

/*
 * What the guest reads now from HV_X64_MSR_TIME_REF_COUNT: 100 ns units
 * of guest time. Under KVM, KVM's count (its kvmclock); otherwise QEMU's
 * virtual clock, which stops while the VM does.
 */
uint64_t hv_reference_counter(void);

#endif
