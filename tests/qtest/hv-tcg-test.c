/*
 * qtest: Hyper-V partition services without KVM (qemu-vmbus)
 *
 * Synthetic MSRs, the hypercall page, HvPostMessage and HvSignalEvent, and
 * SynIC message and event delivery, with upstream's hyperv-testdev as the
 * host side that owns connection ids (it echoes messages into a SINT and
 * turns events into event flags). Also what a hostile guest sends.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "hv-partition.h"
#include "qtest-util.h"

#define MSR_GUEST_OS_ID     0x40000000
#define MSR_HYPERCALL       0x40000001
#define MSR_VP_INDEX        0x40000002
#define MSR_RESET           0x40000003
#define MSR_TIME_REF_COUNT  0x40000020
#define MSR_REFERENCE_TSC   0x40000021
#define MSR_VP_ASSIST       0x40000073
#define MSR_SCONTROL        0x40000080
#define MSR_SVERSION        0x40000081
#define MSR_SIEFP           0x40000082
#define MSR_SIMP            0x40000083
#define MSR_EOM             0x40000084
#define MSR_SINT0           0x40000090
#define MSR_SINT2           0x40000092
#define MSR_SINT15          0x4000009f
#define MSR_STIMER0_CONFIG  0x400000b0
#define MSR_CRASH_CTL       0x40000105

#define HV_CPU "qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on"

/* hyperv-testdev's control port and commands */
#define TESTDEV_PORT        0x3000
#define TESTDEV_MSG_CONN    4
#define TESTDEV_EVT_CONN    6

static QTestState *start(const char *cpu, const char *extra)
{
    return qtest_initf("-M q35 -m 64 -smp 2 -cpu %s %s", cpu, extra);
}

static void testdev(QTestState *qts, int ctl, int vp, int sint, int conn)
{
    qtest_outl(qts, TESTDEV_PORT, sint | vp << 8 | ctl << 16 | conn << 24);
}

static void test_msr_identity(void)
{
    QTestState *qts = start(HV_CPU, "");

    /* VP_INDEX is the VP's number and read-only. */
    g_assert_cmpuint(hvp_rdmsr(qts, 0, MSR_VP_INDEX), ==, 0);
    g_assert_cmpuint(hvp_rdmsr(qts, 1, MSR_VP_INDEX), ==, 1);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_VP_INDEX, 5), ==, "GP");

    /* GUEST_OS_ID is storage, shared by the partition. */
    g_assert_cmpuint(hvp_rdmsr(qts, 0, MSR_GUEST_OS_ID), ==, 0);
    hvp_wrmsr(qts, 0, MSR_GUEST_OS_ID, 0x8100000601c00000ull);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_GUEST_OS_ID), ==,
                    0x8100000601c00000ull);

    /* SVERSION is 1 and read-only; EOM reads as 0. */
    g_assert_cmpuint(hvp_rdmsr(qts, 0, MSR_SVERSION), ==, 1);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SVERSION, 1), ==, "GP");
    g_assert_cmpuint(hvp_rdmsr(qts, 0, MSR_EOM), ==, 0);

    /* VP assist page: stored, reserved bits fault. */
    hvp_wrmsr(qts, 1, MSR_VP_ASSIST, 0x500001);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_VP_ASSIST), ==, 0x500001);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 1, MSR_VP_ASSIST, 0x500003), ==,
                    "GP");

    /* Not Hyper-V MSRs: left to the rest of the CPU model. */
    g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, 0x10), ==, "NA");
    qtest_quit(qts);
}

static void test_msr_absent(void)
{
    static const uint32_t absent[] = {
        MSR_RESET, 0x40000010, 0x40000022, 0x40000023, 0x40000070,
        MSR_STIMER0_CONFIG, MSR_CRASH_CTL, 0x40000118, 0x400000ff,
    };
    QTestState *qts = start(HV_CPU, "");

    for (int i = 0; i < ARRAY_SIZE(absent); i++) {
        g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, absent[i]), ==, "GP");
        g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, absent[i], 0), ==, "GP");
    }
    qtest_quit(qts);
}

static void test_msr_features_off(void)
{
    /* Only what is enabled exists: no hv-time, no hv-synic here. */
    QTestState *qts = start("qemu64,hv-vpindex=on", "");

    g_assert_cmpuint(hvp_rdmsr(qts, 1, MSR_VP_INDEX), ==, 1);
    g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, MSR_TIME_REF_COUNT), ==, "GP");
    g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, MSR_REFERENCE_TSC), ==, "GP");
    g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, MSR_SCONTROL), ==, "GP");
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SINT2, 0x50), ==, "GP");
    qtest_quit(qts);

    /* Without any hv-* feature the range is not ours at all. */
    qts = start("qemu64", "");
    g_assert_cmpstr(hvp_rdmsr_fault(qts, 0, MSR_VP_INDEX), ==, "NA");
    qtest_quit(qts);
}

static void test_msr_time(void)
{
    QTestState *qts = start(HV_CPU, "");
    uint64_t t0, t1, page[3];

    /* 100 ns units of the virtual clock, read-only. */
    t0 = hvp_rdmsr(qts, 0, MSR_TIME_REF_COUNT);
    qtest_clock_step(qts, 1000 * 1000);
    t1 = hvp_rdmsr(qts, 1, MSR_TIME_REF_COUNT);
    g_assert_cmpuint(t1 - t0, ==, 10000);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_TIME_REF_COUNT, 0), ==, "GP");

    /* The TSC page is published invalid: the guest reads the MSR. */
    qtest_memset(qts, 0x600000, 0xff, 24);
    hvp_wrmsr(qts, 0, MSR_REFERENCE_TSC, 0x600001);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_REFERENCE_TSC), ==, 0x600001);
    qtest_memread(qts, 0x600000, page, sizeof(page));
    g_assert_cmphex(page[0] & 0xffffffff, ==, 0);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_REFERENCE_TSC, 0x600003),
                    ==, "GP");
    qtest_quit(qts);
}

static void test_hypercall_page(void)
{
    QTestState *qts = start(HV_CPU, "");
    uint8_t code[4];
    uint64_t dummy;

    /* No hypercalls before the page: #UD, as for the guest. */
    g_assert_cmpstr(qtest_hv_call(qts, "hypercall", 0, 0x5c, 0, 0, &dummy),
                    ==, "UD");

    /* The enable bit does not stick without a guest OS id. */
    hvp_wrmsr(qts, 0, MSR_HYPERCALL, HVP_HYPERCALL_PAGE | 1);
    g_assert_cmphex(hvp_rdmsr(qts, 0, MSR_HYPERCALL), ==, HVP_HYPERCALL_PAGE);

    hvp_enable_hypercalls(qts);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_HYPERCALL), ==,
                    HVP_HYPERCALL_PAGE | 1);
    /* qemu64 is an AMD model: VMMCALL; RET. */
    qtest_memread(qts, HVP_HYPERCALL_PAGE, code, sizeof(code));
    g_assert_cmphex(code[0], ==, 0x0f);
    g_assert_cmphex(code[1], ==, 0x01);
    g_assert_cmphex(code[2], ==, 0xd9);
    g_assert_cmphex(code[3], ==, 0xc3);

    /* Reserved bits, and a GPA beyond the physical address width. */
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_HYPERCALL,
                                    HVP_HYPERCALL_PAGE | 0x10), ==, "GP");
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_HYPERCALL,
                                    (1ull << 62) | 1), ==, "GP");

    /* A zero guest OS id turns hypercalls off again. */
    hvp_wrmsr(qts, 1, MSR_GUEST_OS_ID, 0);
    g_assert_cmphex(hvp_rdmsr(qts, 0, MSR_HYPERCALL) & 1, ==, 0);
    g_assert_cmpstr(qtest_hv_call(qts, "hypercall", 0, 0x5c, 0, 0, &dummy),
                    ==, "UD");
    qtest_quit(qts);
}

static void test_intel_vmcall(void)
{
    QTestState *qts = start("Skylake-Client,hv-vpindex=on,hv-synic=on", "");
    uint8_t code[4];

    hvp_enable_hypercalls(qts);
    qtest_memread(qts, HVP_HYPERCALL_PAGE, code, sizeof(code));
    g_assert_cmphex(code[2], ==, 0xc1);
    qtest_quit(qts);
}

static void test_hypercall_errors(void)
{
    QTestState *qts = start(HV_CPU, "");
    uint8_t in[256] = { 0 };

    hvp_enable_hypercalls(qts);

    /* Unknown codes, reserved control bits, reps on a simple call. */
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x0002, 0, 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_CODE);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x8001, 0, 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_CODE);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c | (1ull << 30),
                                   HVP_INPUT_PAGE(0), 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c | (1ull << 32),
                                   HVP_INPUT_PAGE(0), 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c | (1ull << 17),
                                   HVP_INPUT_PAGE(0), 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);

    /* HvPostMessage: fast form, alignment, GPA outside RAM, size. */
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c | (1 << 16), 1, 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_CODE);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c, HVP_INPUT_PAGE(0) + 4, 0),
                     ==, HVP_STATUS_INVALID_ALIGNMENT);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c, HVP_INPUT_PAGE(0) + 0xf80,
                                   0), ==, HVP_STATUS_INVALID_ALIGNMENT);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c, 0xfffffff000ull, 0), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    stl_le_p(in, 1);
    stl_le_p(in + 8, 1);
    stl_le_p(in + 12, 241);
    qtest_memwrite(qts, HVP_INPUT_PAGE(0), in, sizeof(in));
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5c, HVP_INPUT_PAGE(0), 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 1, "x", 1), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);

    /* HvSignalEvent: unknown id, flag number, reserved bits, slow form. */
    g_assert_cmpuint(hvp_signal_event(qts, 1, 9, 0), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    g_assert_cmpuint(hvp_signal_event(qts, 1, 9, 3), ==,
                     HVP_STATUS_INVALID_PORT_ID);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5d | (1 << 16),
                                   9 | (1ull << 60), 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_hypercall(qts, 0, 0x5d, HVP_INPUT_PAGE(0) + 2, 0),
                     ==, HVP_STATUS_INVALID_ALIGNMENT);
    qtest_quit(qts);
}

static void test_synic_msrs(void)
{
    QTestState *qts = start(HV_CPU, "");

    /* SINTs come out of reset masked. */
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_SINT0 + i), ==, 0x10000);
    }
    /* Vector, masked, auto-EOI and polling bits are kept. */
    hvp_wrmsr(qts, 1, MSR_SINT15, 0x70050);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_SINT15), ==, 0x70050);
    g_assert_cmphex(hvp_rdmsr(qts, 0, MSR_SINT15), ==, 0x10000);
    /* Reserved bits; a vector below 16 that is not masked. */
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SINT2, 0x80050), ==, "GP");
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SINT2, 0x0f), ==, "GP");
    hvp_wrmsr(qts, 0, MSR_SINT2, 0x1000f);

    /* SCONTROL, SIMP and SIEFP: per VP, reserved bits fault. */
    hvp_enable_synic(qts, 1, 2, 0x50);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_SCONTROL), ==, 1);
    g_assert_cmphex(hvp_rdmsr(qts, 0, MSR_SCONTROL), ==, 0);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_SIMP), ==, HVP_SIMP(1) | 1);
    g_assert_cmphex(hvp_rdmsr(qts, 1, MSR_SIEFP), ==, HVP_SIEFP(1) | 1);
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SCONTROL, 3), ==, "GP");
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SIMP, HVP_SIMP(0) | 2), ==,
                    "GP");
    g_assert_cmpstr(hvp_wrmsr_fault(qts, 0, MSR_SIEFP, 1ull << 63), ==, "GP");
    qtest_quit(qts);
}

static void test_synic_messages(void)
{
    QTestState *qts = start(HV_CPU, "-device hyperv-testdev");
    HvpMessage m;

    hvp_enable_hypercalls(qts);
    hvp_enable_synic(qts, 0, 2, 0x50);
    hvp_enable_synic(qts, 1, 2, 0x50);
    /* Connection 5 echoes what VP 0 posts into VP 1's SINT 2. */
    testdev(qts, TESTDEV_MSG_CONN, 1, 2, 5);

    g_assert_cmpuint(hvp_post_message(qts, 0, 5, 7, "first", 5), ==,
                     HVP_STATUS_SUCCESS);
    g_assert_true(hvp_wait_message(qts, 1, 2, &m));
    g_assert_cmpuint(m.type, ==, 7);
    g_assert_cmpuint(m.size, ==, 5);
    g_assert_cmpuint(m.flags, ==, 0);
    g_assert_cmpmem(m.payload, 5, "first", 5);

    /* The slot is busy: the second waits, with MessagePending set. */
    g_assert_cmpuint(hvp_post_message(qts, 0, 5, 8, "second", 6), ==,
                     HVP_STATUS_SUCCESS);
    for (int i = 0; i < 500 && !(m.flags & 1); i++) {
        g_usleep(10 * 1000);
        g_assert_true(hvp_wait_message(qts, 1, 2, &m));
    }
    g_assert_cmpuint(m.type, ==, 7);
    g_assert_cmpuint(m.flags & 1, ==, 1);

    /* The guest frees the slot and writes EOM: the second arrives. */
    hvp_consume_message(qts, 1, 2);
    g_assert_true(hvp_wait_message(qts, 1, 2, &m));
    g_assert_cmpuint(m.type, ==, 8);
    g_assert_cmpmem(m.payload, 6, "second", 6);

    /* Nothing landed on VP 0. */
    g_assert_cmpuint(qtest_readl(qts, HVP_SIMP(0) + 2 * 256), ==, 0);
    qtest_quit(qts);
}

static void test_synic_events(void)
{
    QTestState *qts = start(HV_CPU, "-device hyperv-testdev");

    hvp_enable_hypercalls(qts);
    hvp_enable_synic(qts, 0, 2, 0x50);
    hvp_enable_synic(qts, 1, 2, 0x50);
    /* Connection 9 sets event flag 9 in VP 1's SINT 2 slot. */
    testdev(qts, TESTDEV_EVT_CONN, 1, 2, 9);

    g_assert_cmpuint(hvp_signal_event(qts, 0, 9, 0), ==, HVP_STATUS_SUCCESS);
    for (int i = 0; i < 500; i++) {
        if (qtest_readb(qts, HVP_SIEFP(1) + 2 * 256 + 1) & 2) {
            break;
        }
        g_usleep(10 * 1000);
    }
    g_assert_true(hvp_test_and_clear_event(qts, 1, 2, 9));
    g_assert_false(hvp_test_and_clear_event(qts, 1, 2, 9));
    g_assert_false(hvp_test_and_clear_event(qts, 0, 2, 9));

    /* The slow form reads the parameter from guest memory. */
    qtest_writeq(qts, HVP_INPUT_PAGE(1), 9);
    g_assert_cmpuint(hvp_hypercall(qts, 1, 0x5d, HVP_INPUT_PAGE(1), 0), ==,
                     HVP_STATUS_SUCCESS);
    qtest_quit(qts);
}

static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/hv-tcg-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("-device hyperv-testdev "
                                                "-incoming %s", uri);
    QTestState *src = start(HV_CPU, "-device hyperv-testdev");
    QTestState *dst;
    HvpMessage m;
    uint8_t code[4];

    hvp_enable_hypercalls(src);
    hvp_enable_synic(src, 1, 2, 0x50);
    hvp_wrmsr(src, 1, MSR_SINT15, 0x10077);
    testdev(src, TESTDEV_MSG_CONN, 1, 2, 5);
    g_assert_cmpuint(hvp_post_message(src, 0, 5, 7, "kept", 4), ==,
                     HVP_STATUS_SUCCESS);
    g_assert_true(hvp_wait_message(src, 1, 2, &m));

    dst = start(HV_CPU, incoming);
    migrate_and_wait(src, dst, uri);

    /* Partition and per-VP state, and the SynIC page with its message. */
    g_assert_cmphex(hvp_rdmsr(dst, 1, MSR_HYPERCALL), ==,
                    HVP_HYPERCALL_PAGE | 1);
    g_assert_cmphex(hvp_rdmsr(dst, 0, MSR_GUEST_OS_ID), ==,
                    0x8100000601c00000ull);
    g_assert_cmphex(hvp_rdmsr(dst, 1, MSR_SINT15), ==, 0x10077);
    g_assert_cmphex(hvp_rdmsr(dst, 1, MSR_SIMP), ==, HVP_SIMP(1) | 1);
    g_assert_cmphex(hvp_rdmsr(dst, 1, MSR_SCONTROL), ==, 1);
    g_assert_true(hvp_wait_message(dst, 1, 2, &m));
    g_assert_cmpuint(m.type, ==, 7);
    g_assert_cmpmem(m.payload, 4, "kept", 4);
    qtest_memread(dst, HVP_HYPERCALL_PAGE, code, sizeof(code));
    g_assert_cmphex(code[2], ==, 0xd9);

    qtest_quit(src);
    qtest_quit(dst);
    unlink(sock);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/hv-tcg/msr/identity", test_msr_identity);
    qtest_add_func("/hv-tcg/msr/absent", test_msr_absent);
    qtest_add_func("/hv-tcg/msr/features-off", test_msr_features_off);
    qtest_add_func("/hv-tcg/msr/time", test_msr_time);
    qtest_add_func("/hv-tcg/msr/synic", test_synic_msrs);
    qtest_add_func("/hv-tcg/hypercall/page", test_hypercall_page);
    qtest_add_func("/hv-tcg/hypercall/intel", test_intel_vmcall);
    qtest_add_func("/hv-tcg/hypercall/errors", test_hypercall_errors);
    qtest_add_func("/hv-tcg/synic/messages", test_synic_messages);
    qtest_add_func("/hv-tcg/synic/events", test_synic_events);
    qtest_add_func("/hv-tcg/migration", test_migration);

    return g_test_run();
}
