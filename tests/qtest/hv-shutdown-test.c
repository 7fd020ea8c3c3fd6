/*
 * qtest: hv-shutdown and vmbus-shutdown-guest (qemu-vmbus)
 *
 * The test is the guest's hv_utils: it negotiates, takes the shutdown
 * request the QMP command sends, checks its body, and answers.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "vmbus-ic-guest.h"

static const uint32_t sd_versions[] = { 0x30002, 0x30001, 0x30000, 0x10000 };

static void start(ICGuest *f, const char *props)
{
    g_autofree char *dev = g_strdup_printf("-device hv-shutdown,id=sd%s",
                                           props);

    ic_guest_start(f, dev);
}

static QDict *answered(ICGuest *f)
{
    QDict *ev = qtest_qmp_eventwait_ref(f->qts, "VMBUS_SHUTDOWN_ANSWERED");
    QDict *data = qdict_get_qdict(ev, "data");

    qobject_ref(data);
    qobject_unref(ev);
    g_assert_cmpstr(qdict_get_str(data, "id"), ==, "sd");
    return data;
}

static void test_request(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    uint8_t *body;
    g_autoptr(QDict) ev = NULL;

    start(&f, "");
    /* Before the guest's driver is there: an error. */
    qobject_unref(qtest_qmp_assert_failure_ref(f.qts,
        "{'execute': 'vmbus-shutdown-guest'}"));
    ic_guest_negotiate(&f, sd_versions, 4, 0x30000, 0x30001);

    qtest_qmp_assert_success(f.qts, "{'execute': 'vmbus-shutdown-guest',"
                             " 'arguments': {'reboot': true, 'force': true,"
                             " 'reason': 7, 'timeout': 30,"
                             " 'message': 'bye \\u00e9'}}");
    /* One request at a time. */
    qobject_unref(qtest_qmp_assert_failure_ref(f.qts,
        "{'execute': 'vmbus-shutdown-guest', 'arguments': {'id': 'sd'}}"));
    ic_guest_take(&f, &pkt, IC_SHUTDOWN);
    g_assert_cmpuint(ldl_le_p(pkt.data + 8), ==, 3);        /* framework */
    g_assert_cmpuint(ldl_le_p(pkt.data + 14), ==, 0x10003); /* 3.1 */
    g_assert_cmpuint(lduw_le_p(pkt.data + 18), ==, 2060);
    body = pkt.data + IC_HDR;
    g_assert_cmpuint(ldl_le_p(body), ==, 7);
    g_assert_cmpuint(ldl_le_p(body + 4), ==, 30);
    g_assert_cmpuint(ldl_le_p(body + 8), ==, 3);            /* restart|force */
    g_assert_cmpuint(lduw_le_p(body + 12), ==, 'b');
    g_assert_cmpuint(lduw_le_p(body + 20), ==, 0xe9);
    g_assert_cmpuint(lduw_le_p(body + 22), ==, 0);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = answered(&f);
    g_assert_true(qdict_get_bool(ev, "accepted"));
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, 0);
    qobject_unref(ev);

    /* A refusal, for a plain power-off. */
    qtest_qmp_assert_success(f.qts, "{'execute': 'vmbus-shutdown-guest'}");
    ic_guest_take(&f, &pkt, IC_SHUTDOWN);
    g_assert_cmpuint(ldl_le_p(pkt.data + IC_HDR + 8), ==, 0);
    ic_guest_answer(&f, &pkt, IC_E_FAIL);
    ev = answered(&f);
    g_assert_false(qdict_get_bool(ev, "accepted"));
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_E_FAIL);

    /* Messages too long or not UTF-8; ids that name nothing. */
    {
        g_autofree char *lng = g_strnfill(1024, 'x');

        qobject_unref(qtest_qmp_assert_failure_ref(f.qts,
            "{'execute': 'vmbus-shutdown-guest', 'arguments':"
            " {'message': %s}}", lng));
    }
    qobject_unref(qtest_qmp_assert_failure_ref(f.qts,
        "{'execute': 'vmbus-shutdown-guest', 'arguments': {'id': 'nope'}}"));
    qtest_quit(f.qts);
}

/* With powerdown=on, system_powerdown asks through the service too. */
static void test_powerdown(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    g_autoptr(QDict) ev = NULL;

    start(&f, ",powerdown=on");
    ic_guest_negotiate(&f, sd_versions, 4, 0x30000, 0x30002);
    qtest_qmp_assert_success(f.qts, "{'execute': 'system_powerdown'}");
    ic_guest_take(&f, &pkt, IC_SHUTDOWN);
    g_assert_cmpuint(ldl_le_p(pkt.data + IC_HDR + 8), ==, 0);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = answered(&f);
    g_assert_true(qdict_get_bool(ev, "accepted"));
    qtest_quit(f.qts);
}

/* Two devices: the command needs an id. */
static void test_two_devices(void)
{
    QTestState *qts = qtest_init("-M q35 -cpu qemu64,hv-vpindex=on,"
                                 "hv-synic=on -device vmbus-bridge"
                                 " -device hv-shutdown,id=a"
                                 " -device hv-shutdown,id=b");

    qobject_unref(qtest_qmp_assert_failure_ref(qts,
        "{'execute': 'vmbus-shutdown-guest'}"));
    qtest_quit(qts);
}

/* A guest that takes no offered version; a stale answer. */
static void test_bad_guest(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    g_autoptr(QDict) ev = NULL;

    start(&f, "");
    ic_guest_negotiate(&f, sd_versions, 4, 0x30000, 0x20000);
    qobject_unref(qtest_qmp_assert_failure_ref(f.qts,
        "{'execute': 'vmbus-shutdown-guest'}"));
    vmbus_guest_close(&f.g, &f.ch);
    ic_guest_reopen(&f);
    ic_guest_negotiate(&f, sd_versions, 4, 0x10000, 0x10000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'vmbus-shutdown-guest'}");
    ic_guest_take(&f, &pkt, IC_SHUTDOWN);
    pkt.trans_id++;
    ic_guest_answer(&f, &pkt, IC_S_OK);
    pkt.trans_id--;
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = answered(&f);
    g_assert_true(qdict_get_bool(ev, "accepted"));
    qtest_quit(f.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/shutdown/request", test_request);
    qtest_add_func("/vmbus/shutdown/powerdown", test_powerdown);
    qtest_add_func("/vmbus/shutdown/two-devices", test_two_devices);
    qtest_add_func("/vmbus/shutdown/bad-guest", test_bad_guest);
    return g_test_run();
}
