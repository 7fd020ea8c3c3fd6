/*
 * qtest: hv-timesync (qemu-vmbus)
 *
 * The test is the guest's hv_utils: it negotiates and checks each time
 * sample: its flags, the host time, the reference time at the sample.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "vmbus-ic-guest.h"

#define EPOCH_DELTA 116444736000000000ull   /* 1601 to 1970, 100 ns */
#define INTERVAL_NS (200 * 1000 * 1000ll)   /* sample-interval=200 */
#define SYNC 1
#define SAMPLE 2

static const uint32_t ts_versions[] = { 0x40000, 0x30000, 0x10000 };

/* Takes a sample; checks flags, host time now, and returns the body. */
static uint8_t *take_sample(ICGuest *f, VMBusGuestPacket *pkt, uint8_t flags,
                            uint32_t size)
{
    uint64_t host = g_get_real_time() * 10 + EPOCH_DELTA;
    uint8_t *body;

    ic_guest_take(f, pkt, IC_TIMESYNC);
    g_assert_cmpuint(lduw_le_p(pkt->data + 18), ==, size);
    body = pkt->data + IC_HDR;
    /* Host time: within 10 s of the test's clock. */
    g_assert_cmpuint(ldq_le_p(body), >, host - 100000000ull);
    g_assert_cmpuint(ldq_le_p(body), <, host + 100000000ull);
    g_assert_cmpuint(body[size == 22 ? 16 : 24], ==, flags);
    return body;
}

static void test_v4(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    int64_t now;
    uint8_t *body;

    ic_guest_start(&f, "-device hv-timesync,sample-interval=200");
    now = qtest_clock_step(f.qts, 12345600);
    ic_guest_negotiate(&f, ts_versions, 3, 0x30000, 0x40000);
    /* First a SYNC, with the reference time (virtual clock / 100). */
    body = take_sample(&f, &pkt, SYNC, 22);
    g_assert_cmpuint(ldq_le_p(body + 8), ==, now / 100);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    /* Then SAMPLEs, each interval. */
    for (int i = 0; i < 3; i++) {
        now = qtest_clock_step(f.qts, INTERVAL_NS);
        body = take_sample(&f, &pkt, SAMPLE, 22);
        g_assert_cmpuint(ldq_le_p(body + 8), ==, now / 100);
        ic_guest_answer(&f, &pkt, IC_S_OK);
    }
    /* The VM stops and runs again: SYNC. */
    qtest_qmp_assert_success(f.qts, "{'execute': 'stop'}");
    qtest_qmp_assert_success(f.qts, "{'execute': 'cont'}");
    take_sample(&f, &pkt, SYNC, 22);
    /* A refusal is only logged; samples go on. */
    ic_guest_answer(&f, &pkt, IC_E_FAIL);
    qtest_clock_step(f.qts, INTERVAL_NS);
    take_sample(&f, &pkt, SAMPLE, 22);
    qtest_quit(f.qts);
}

static void test_v3_v1(void)
{
    static const uint32_t versions[] = { 0x30000, 0x10000 };

    for (int i = 0; i < ARRAY_SIZE(versions); i++) {
        ICGuest f;
        VMBusGuestPacket pkt;
        uint8_t *body;

        ic_guest_start(&f, "-device hv-timesync,sample-interval=0");
        ic_guest_negotiate(&f, ts_versions, 3, versions[i] == 0x10000 ?
                           0x10000 : 0x30000, versions[i]);
        body = take_sample(&f, &pkt, SYNC, 25);
        g_assert_cmpuint(ldq_le_p(body + 8), ==, 0);
        ic_guest_answer(&f, &pkt, IC_S_OK);
        /* sample-interval=0: nothing more. */
        qtest_clock_step(f.qts, 10 * INTERVAL_NS);
        g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
        qtest_quit(f.qts);
    }
}

/* A SYNC due while a SAMPLE waits for its answer goes after it. */
static void test_sync_queued(void)
{
    ICGuest f;
    VMBusGuestPacket pkt, sync;

    ic_guest_start(&f, "-device hv-timesync,sample-interval=200");
    ic_guest_negotiate(&f, ts_versions, 3, 0x30000, 0x40000);
    take_sample(&f, &pkt, SYNC, 22);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    qtest_clock_step(f.qts, INTERVAL_NS);
    take_sample(&f, &pkt, SAMPLE, 22);
    qtest_qmp_assert_success(f.qts, "{'execute': 'stop'}");
    qtest_qmp_assert_success(f.qts, "{'execute': 'cont'}");
    ic_guest_answer(&f, &pkt, IC_S_OK);
    take_sample(&f, &sync, SYNC, 22);
    qtest_quit(f.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/timesync/v4", test_v4);
    qtest_add_func("/vmbus/timesync/v3-v1", test_v3_v1);
    qtest_add_func("/vmbus/timesync/sync-queued", test_sync_queued);
    return g_test_run();
}
