/*
 * qtest helpers: be the Hyper-V partition's guest (qemu-vmbus)
 *
 * A test drives the partition services as a guest kernel would: synthetic
 * MSRs and hypercalls as a chosen VP (through the "hv" qtest command), the
 * SynIC message and event-flags pages in guest memory, EOM.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_HV_PARTITION_H
#define QTEST_HV_PARTITION_H

#include "libqtest.h"

#define HVP_MAX_VPS 8

/* Where each VP's pages go in guest RAM (the machine needs >= 16 MiB). */
#define HVP_HYPERCALL_PAGE  0x100000ull
#define HVP_INPUT_PAGE(vp)  (0x200000ull + (vp) * 0x1000)
#define HVP_SIMP(vp)        (0x300000ull + (vp) * 0x1000)
#define HVP_SIEFP(vp)       (0x400000ull + (vp) * 0x1000)

/* TLFS hypercall status values that tests look for. */
#define HVP_STATUS_SUCCESS                  0
#define HVP_STATUS_INVALID_HYPERCALL_CODE   2
#define HVP_STATUS_INVALID_HYPERCALL_INPUT  3
#define HVP_STATUS_INVALID_ALIGNMENT        4
#define HVP_STATUS_INVALID_PARAMETER        5
#define HVP_STATUS_INVALID_PORT_ID          17
#define HVP_STATUS_INVALID_CONNECTION_ID    18
#define HVP_STATUS_INSUFFICIENT_BUFFERS     19

/* A SynIC message slot, as the guest sees it. */
typedef struct HvpMessage {
    uint32_t type;
    uint8_t size;
    uint8_t flags;          /* bit 0: message pending */
    uint16_t reserved;
    uint64_t origin;
    uint8_t payload[240];
} HvpMessage;

/*
 * Lets the host make progress for about @us microseconds. A QEMU process of
 * its own runs by itself; the in-process fuzzer points hvp_idle_hook at
 * something that runs QEMU's main loop and lets its vCPU threads in.
 */
extern void (*hvp_idle_hook)(unsigned us);
void hvp_idle(unsigned us);

uint64_t hvp_rdmsr(QTestState *qts, uint32_t vp, uint32_t msr);
void hvp_wrmsr(QTestState *qts, uint32_t vp, uint32_t msr, uint64_t val);
/* The fault an access takes: "0", "GP" or "NA". */
const char *hvp_rdmsr_fault(QTestState *qts, uint32_t vp, uint32_t msr);
const char *hvp_wrmsr_fault(QTestState *qts, uint32_t vp, uint32_t msr,
                            uint64_t val);

/* Guest OS id and hypercall page, as Linux's hyperv_init() sets them. */
void hvp_enable_hypercalls(QTestState *qts);

/* SIMP, SIEFP, SINT @sint with @vector and SCONTROL on @vp. */
void hvp_enable_synic(QTestState *qts, uint32_t vp, int sint, uint8_t vector);

/* A hypercall as @vp; asserts it did not #UD; returns the status. */
uint16_t hvp_hypercall(QTestState *qts, uint32_t vp, uint64_t control,
                       uint64_t in, uint64_t out);

/* HvPostMessage from @vp's input page. */
uint16_t hvp_post_message(QTestState *qts, uint32_t vp, uint32_t conn_id,
                          uint32_t type, const void *payload, uint32_t size);

/* HvSignalEvent, fast form. */
uint16_t hvp_signal_event(QTestState *qts, uint32_t vp, uint32_t conn_id,
                          uint16_t flag);

/* Waits up to a few seconds for a message in @vp's slot @sint. */
bool hvp_wait_message(QTestState *qts, uint32_t vp, int sint,
                      HvpMessage *msg);

/* Frees the slot as the guest does, and writes EOM if it was pending. */
void hvp_consume_message(QTestState *qts, uint32_t vp, int sint);

/* Tests and clears event flag @flag in @vp's SIEFP slot @sint. */
bool hvp_test_and_clear_event(QTestState *qts, uint32_t vp, int sint,
                              uint32_t flag);

#endif
