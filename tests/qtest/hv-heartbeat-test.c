/*
 * qtest: hv-heartbeat and the integration-component framework
 * (qemu-vmbus)
 *
 * The test is the guest's hv_utils: it answers NEGOTIATE and heartbeats
 * the way Linux does, and sometimes as a broken guest would. Guest time
 * moves only with clock_step, so heartbeats come exactly when asked for.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qtest-util.h"
#include "vmbus-ic-guest.h"

#define INTERVAL_NS (100 * 1000 * 1000ll)   /* interval=100 */
#define HB "-device hv-heartbeat,id=hb,interval=100,timeout=500"

typedef ICGuest Fixture;

static const uint32_t hb_versions[] = { 0x30000, 0x10000 };

static void setup(Fixture *f)
{
    ic_guest_start(f, HB);
}

static void take_request(Fixture *f, VMBusGuestPacket *pkt, uint16_t type)
{
    ic_guest_take(f, pkt, type);
}

static void answer(Fixture *f, VMBusGuestPacket *pkt)
{
    ic_guest_answer(f, pkt, ldl_le_p(pkt->data + 20));
}

static void negotiate(Fixture *f, uint32_t fw, uint32_t ver)
{
    ic_guest_negotiate(f, hb_versions, 2, fw, ver);
}

static QDict *query(Fixture *f)
{
    QDict *rsp = qtest_qmp(f->qts, "{'execute': 'query-vmbus-heartbeat'}");
    QList *list = qdict_get_qlist(rsp, "return");
    QDict *info;

    g_assert_cmpint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    qobject_ref(info);
    qobject_unref(rsp);
    g_assert_cmpstr(qdict_get_str(info, "id"), ==, "hb");
    return info;
}

static void assert_state(Fixture *f, const char *state, uint64_t answers)
{
    g_autoptr(QDict) info = query(f);

    g_assert_cmpstr(qdict_get_str(info, "state"), ==, state);
    g_assert_cmpuint(qdict_get_int(info, "answers"), ==, answers);
}

/* One heartbeat: waits for it and answers with @seq + @delta. */
static uint64_t beat(Fixture *f, int delta)
{
    VMBusGuestPacket pkt;
    uint64_t seq;

    qtest_clock_step(f->qts, INTERVAL_NS);
    take_request(f, &pkt, IC_HEARTBEAT);
    g_assert_cmpuint(pkt.len, >=, IC_HDR + 40);
    seq = ldq_le_p(pkt.data + IC_HDR);
    stq_le_p(pkt.data + IC_HDR, seq + delta);
    answer(f, &pkt);
    return seq;
}

static void test_negotiate_v3(void)
{
    Fixture f;

    setup(&f);
    assert_state(&f, "negotiating", 0);
    negotiate(&f, 0x30000, 0x30000);
    for (uint64_t i = 0; i < 5; i++) {
        g_assert_cmpuint(beat(&f, 1), ==, i);
    }
    qtest_clock_step(f.qts, 1);
    {
        g_autoptr(QDict) info = query(&f);

        g_assert_cmpstr(qdict_get_str(info, "state"), ==, "alive");
        g_assert_cmpuint(qdict_get_int(info, "sequence"), ==, 5);
        g_assert_cmpuint(qdict_get_int(info, "answers"), ==, 5);
        g_assert_cmpuint(qdict_get_int(info, "version"), ==, 0x30000);
    }
    qtest_quit(f.qts);
}

static void test_negotiate_v1(void)
{
    Fixture f;
    VMBusGuestPacket pkt;

    setup(&f);
    negotiate(&f, 0x10000, 0x10000);
    qtest_clock_step(f.qts, INTERVAL_NS);
    take_request(&f, &pkt, IC_HEARTBEAT);
    /* Requests carry the agreed versions. */
    g_assert_cmpuint(ldl_le_p(pkt.data + 8), ==, 1);
    g_assert_cmpuint(ldl_le_p(pkt.data + 14), ==, 1);
    qtest_quit(f.qts);
}

static void test_negotiate_none(void)
{
    Fixture f;
    VMBusGuestPacket pkt;

    setup(&f);
    negotiate(&f, 0, 0);
    qtest_clock_step(f.qts, 10 * INTERVAL_NS);
    assert_state(&f, "unsupported", 0);
    g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
    /* Versions never offered count as none. */
    vmbus_guest_close(&f.g, &f.ch);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    negotiate(&f, 0x30000, 0x20000);
    assert_state(&f, "unsupported", 0);
    /* A new open negotiates afresh. */
    vmbus_guest_close(&f.g, &f.ch);
    assert_state(&f, "closed", 0);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    negotiate(&f, 0x30000, 0x30000);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    qtest_quit(f.qts);
}

/* Answers that are wrong are dropped; the device waits for a right one. */
static void test_bad_answers(void)
{
    Fixture f;
    VMBusGuestPacket pkt;
    uint8_t junk[64] = { 0 };

    setup(&f);
    negotiate(&f, 0x30000, 0x30000);
    qtest_clock_step(f.qts, INTERVAL_NS);
    take_request(&f, &pkt, IC_HEARTBEAT);
    /* Wrong transaction, too short, not a response, wrong type. */
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   pkt.trans_id + 1, NULL, 0, pkt.data,
                                   pkt.len));
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   pkt.trans_id, NULL, 0, junk, 20));
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   pkt.trans_id, NULL, 0, pkt.data,
                                   pkt.len));
    stw_le_p(junk + 12, IC_NEGOTIATE);
    junk[25] = 4;                   /* response */
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   pkt.trans_id, NULL, 0, junk,
                                   sizeof(junk)));
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_COMP, 0,
                                   pkt.trans_id, NULL, 0, pkt.data,
                                   pkt.len));
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 0);
    /* A failure status, or an answer too short for a heartbeat. */
    {
        VMBusGuestPacket bad = pkt;

        stl_le_p(bad.data + 20, 0x80004005);
        answer(&f, &bad);
    }
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 0);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 1);
    qtest_quit(f.qts);
}

static void test_lost(void)
{
    Fixture f;
    VMBusGuestPacket pkt;
    QDict *ev;

    setup(&f);
    negotiate(&f, 0x30000, 0x30000);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    /* The guest stops answering: one request stays out, no repeats. */
    qtest_clock_step(f.qts, INTERVAL_NS);
    take_request(&f, &pkt, IC_HEARTBEAT);
    for (int i = 0; i < 8; i++) {
        qtest_clock_step(f.qts, INTERVAL_NS);
    }
    ev = qtest_qmp_eventwait_ref(f.qts, "VMBUS_HEARTBEAT_LOST");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "id"), ==,
                    "hb");
    g_assert_cmpuint(qdict_get_int(qdict_get_qdict(ev, "data"),
                                    "sequence"), ==, 1);
    qobject_unref(ev);
    assert_state(&f, "lost", 1);
    /* It answers again: alive. */
    stq_le_p(pkt.data + IC_HDR, 2);
    answer(&f, &pkt);
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 2);
    qtest_quit(f.qts);
}

/* The conversation goes on across migration. */
static void test_migrate(void)
{
    Fixture f;
    QTestState *dst;
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-hb-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());

    setup(&f);
    negotiate(&f, 0x30000, 0x30000);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    g_assert_cmpuint(beat(&f, 1), ==, 1);
    dst = qtest_initf("-M q35 -m 64 -smp 1 -cpu "
                      "qemu64,hv-vpindex=on,hv-synic=on,hv-time=on"
                      " -device vmbus-bridge " HB " -incoming %s", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    f.qts = f.g.qts = dst;
    assert_state(&f, "alive", 2);
    /* qtest's clock restarts at 0 on the destination: catch up. */
    qtest_clock_step(f.qts, 4 * INTERVAL_NS);
    g_assert_cmpuint(beat(&f, 1), ==, 2);
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 3);
    qtest_quit(dst);
}

/* Reset stops it; device_add and device_del while the guest runs. */
static void test_reset_hotplug(void)
{
    Fixture f;
    HvpMessage m;
    uint8_t body[4];

    setup(&f);
    negotiate(&f, 0x30000, 0x30000);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    assert_state(&f, "closed", 1);
    qtest_clock_step(f.qts, 20 * INTERVAL_NS);
    g_assert_null(qtest_qmp_event_ref(f.qts, "VMBUS_HEARTBEAT_LOST"));

    /* After the reset: unplug it, plug another one, use it. */
    vmbus_guest_init(&f.g, f.qts, 1, 2);
    vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &m, 1), ==, 1);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    negotiate(&f, 0x30000, 0x30000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'hb'}}");
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    stl_le_p(body, f.ch.relid);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_RELID_RELEASED, body, 12),
                     ==, 0);
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");
    qtest_clock_step(f.qts, 20 * INTERVAL_NS);

    qtest_qmp_assert_success(f.qts, "{'execute': 'device_add', 'arguments':"
                             " {'driver': 'hv-heartbeat', 'id': 'hb',"
                             " 'interval': 100}}");
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_OFFERCHANNEL);
    f.ch.relid = ldl_le_p(m.payload + 184);
    f.ch.connid = ldl_le_p(m.payload + 192);
    f.ch.gpadl++;
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    negotiate(&f, 0x30000, 0x30000);
    g_assert_cmpuint(beat(&f, 1), ==, 0);
    qtest_clock_step(f.qts, 1);
    assert_state(&f, "alive", 1);
    qtest_quit(f.qts);
}

/* A timeout within one interval is refused at start-up. */
static void test_bad_timeout(void)
{
    assert_startup_fails("-M q35 -cpu qemu64,hv-vpindex=on,hv-synic=on "
                         "-device vmbus-bridge -device hv-heartbeat,"
                         "interval=1000,timeout=1000",
                         "timeout longer than interval");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/heartbeat/negotiate-3.0", test_negotiate_v3);
    qtest_add_func("/vmbus/heartbeat/negotiate-1.0", test_negotiate_v1);
    qtest_add_func("/vmbus/heartbeat/negotiate-none", test_negotiate_none);
    qtest_add_func("/vmbus/heartbeat/bad-answers", test_bad_answers);
    qtest_add_func("/vmbus/heartbeat/lost", test_lost);
    qtest_add_func("/vmbus/heartbeat/migrate", test_migrate);
    qtest_add_func("/vmbus/heartbeat/reset-hotplug", test_reset_hotplug);
    qtest_add_func("/vmbus/heartbeat/bad-timeout", test_bad_timeout);
    return g_test_run();
}
