/*
 * qemu-vmbus: what the hv-tcg-* files share
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_TCG_INTERNAL_H
#define HW_VMBUS_HV_TCG_INTERNAL_H

#include "hw/vmbus/hv-tcg.h"

/* SINT bit 18: the guest polls this SINT instead of taking interrupts. */
#define HV_SINT_POLLING         (1ull << 18)

/* The partition-wide synthetic MSRs. */
typedef struct HvTcgPartition {
    uint64_t guest_os_id;
    uint64_t hypercall;
    uint64_t ref_tsc;
} HvTcgPartition;

extern HvTcgPartition hv_tcg_partition;

/* Registers the partition state for migration and machine reset. */
void hv_tcg_partition_init(void);

/* True when this CPU is emulated here: hv-* features on, and no KVM. */
bool hv_tcg_active(X86CPU *cpu);

/* Writes the hypercall instructions into the page the guest enabled. */
void hv_tcg_hypercall_page_fill(X86CPU *cpu);

/*
 * Runs hypercall @control with input @in and output @out (GPAs, or the
 * fast call's parameters) as @cpu; returns the TLFS result value.
 */
uint64_t hv_tcg_hypercall_dispatch(X86CPU *cpu, uint64_t control,
                                   uint64_t in, uint64_t out);

/* Maps or unmaps the SynIC pages after SCONTROL, SIMP or SIEFP changed. */
void hv_tcg_synic_update(X86CPU *cpu);

/* EOM, or an unmasked SINT: lets the message posters retry. */
void hv_tcg_synic_eom(X86CPU *cpu);

/* Installs the qtest command that reaches these services (qtest only). */
void hv_tcg_qtest_init(void);

#endif
