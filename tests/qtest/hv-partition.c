/*
 * qtest helpers: be the Hyper-V partition's guest (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "hv-partition.h"

#define MSR_GUEST_OS_ID     0x40000000
#define MSR_HYPERCALL       0x40000001
#define MSR_SCONTROL        0x40000080
#define MSR_SIEFP           0x40000082
#define MSR_SIMP            0x40000083
#define MSR_EOM             0x40000084
#define MSR_SINT0           0x40000090

#define HVCALL_POST_MESSAGE 0x5c
#define HVCALL_SIGNAL_EVENT 0x5d
#define HVCALL_FAST         (1ull << 16)

/* Linux 6.1's guest OS id. */
#define LINUX_GUEST_OS_ID   0x8100000601c00000ull

void (*hvp_idle_hook)(unsigned us);

void hvp_idle(unsigned us)
{
    if (hvp_idle_hook) {
        hvp_idle_hook(us);
    } else {
        g_usleep(us);
    }
}

uint64_t hvp_rdmsr(QTestState *qts, uint32_t vp, uint32_t msr)
{
    uint64_t val;

    g_assert_cmpstr(qtest_hv_call(qts, "rdmsr", vp, msr, 0, 0, &val), ==,
                    "0");
    return val;
}

void hvp_wrmsr(QTestState *qts, uint32_t vp, uint32_t msr, uint64_t val)
{
    uint64_t dummy;

    g_assert_cmpstr(qtest_hv_call(qts, "wrmsr", vp, msr, val, 0, &dummy), ==,
                    "0");
}

const char *hvp_rdmsr_fault(QTestState *qts, uint32_t vp, uint32_t msr)
{
    uint64_t val;

    return qtest_hv_call(qts, "rdmsr", vp, msr, 0, 0, &val);
}

const char *hvp_wrmsr_fault(QTestState *qts, uint32_t vp, uint32_t msr,
                            uint64_t val)
{
    uint64_t dummy;

    return qtest_hv_call(qts, "wrmsr", vp, msr, val, 0, &dummy);
}

void hvp_enable_hypercalls(QTestState *qts)
{
    hvp_wrmsr(qts, 0, MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    hvp_wrmsr(qts, 0, MSR_HYPERCALL, HVP_HYPERCALL_PAGE | 1);
}

void hvp_enable_synic(QTestState *qts, uint32_t vp, int sint, uint8_t vector)
{
    g_assert_cmpint(vp, <, HVP_MAX_VPS);
    qtest_memset(qts, HVP_SIMP(vp), 0, 0x1000);
    qtest_memset(qts, HVP_SIEFP(vp), 0, 0x1000);
    hvp_wrmsr(qts, vp, MSR_SIMP, HVP_SIMP(vp) | 1);
    hvp_wrmsr(qts, vp, MSR_SIEFP, HVP_SIEFP(vp) | 1);
    hvp_wrmsr(qts, vp, MSR_SINT0 + sint, vector);
    hvp_wrmsr(qts, vp, MSR_SCONTROL, 1);
}

uint16_t hvp_hypercall(QTestState *qts, uint32_t vp, uint64_t control,
                       uint64_t in, uint64_t out)
{
    uint64_t result;

    g_assert_cmpstr(qtest_hv_call(qts, "hypercall", vp, control, in, out,
                                  &result), ==, "0");
    return result & 0xffff;
}

uint16_t hvp_post_message(QTestState *qts, uint32_t vp, uint32_t conn_id,
                          uint32_t type, const void *payload, uint32_t size)
{
    uint8_t in[256] = { 0 };

    g_assert_cmpint(size, <=, 240);
    stl_le_p(in, conn_id);
    stl_le_p(in + 8, type);
    stl_le_p(in + 12, size);
    memcpy(in + 16, payload, size);
    qtest_memwrite(qts, HVP_INPUT_PAGE(vp), in, sizeof(in));
    return hvp_hypercall(qts, vp, HVCALL_POST_MESSAGE, HVP_INPUT_PAGE(vp), 0);
}

uint16_t hvp_signal_event(QTestState *qts, uint32_t vp, uint32_t conn_id,
                          uint16_t flag)
{
    return hvp_hypercall(qts, vp, HVCALL_SIGNAL_EVENT | HVCALL_FAST,
                         conn_id | (uint64_t)flag << 32, 0);
}

static void read_slot(QTestState *qts, uint32_t vp, int sint, HvpMessage *m)
{
    uint8_t raw[256];

    qtest_memread(qts, HVP_SIMP(vp) + sint * 256, raw, sizeof(raw));
    m->type = ldl_le_p(raw);
    m->size = raw[4];
    m->flags = raw[5];
    m->reserved = lduw_le_p(raw + 6);
    m->origin = ldq_le_p(raw + 8);
    memcpy(m->payload, raw + 16, sizeof(m->payload));
}

bool hvp_wait_message(QTestState *qts, uint32_t vp, int sint,
                      HvpMessage *msg)
{
    /* Delivery runs on the VP's thread: give it a moment. */
    for (int i = 0; i < 500; i++) {
        read_slot(qts, vp, sint, msg);
        if (msg->type) {
            return true;
        }
        hvp_idle(10 * 1000);
    }
    return false;
}

void hvp_consume_message(QTestState *qts, uint32_t vp, int sint)
{
    uint64_t slot = HVP_SIMP(vp) + sint * 256;

    /*
     * As Linux does: free the slot first, then look for MessagePending.
     * The other order misses a flag the host sets in between, and the
     * waiting message would never get its EOM.
     */
    qtest_writel(qts, slot, 0);
    if (qtest_readb(qts, slot + 5) & 1) {
        hvp_wrmsr(qts, vp, MSR_EOM, 0);
    }
}

bool hvp_test_and_clear_event(QTestState *qts, uint32_t vp, int sint,
                              uint32_t flag)
{
    uint64_t addr = HVP_SIEFP(vp) + sint * 256 + flag / 8;
    uint8_t byte = qtest_readb(qts, addr);
    bool set = byte & (1 << (flag % 8));

    qtest_writeb(qts, addr, byte & ~(1 << (flag % 8)));
    return set;
}
