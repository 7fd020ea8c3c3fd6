/*
 * qtest: hv-kvp and vmbus-kvp (qemu-vmbus)
 *
 * The test is the guest's hv_utils with its KVP daemon: it negotiates,
 * takes each request the QMP command sends, checks it and answers it in
 * the buffer, as the Linux driver does; sometimes as a broken guest.
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
#include "qobject/qjson.h"
#include "qapi/error.h"
#include "vmbus-ic-guest.h"

#define IC_S_CONT 0x80070103
/* struct vmbus_kvp_msg, from the IC payload */
#define KVP_OP 0
#define KVP_POOL 1
#define KVP_DATA 4                  /* get, set */
#define KVP_ENUM_INDEX 4
#define KVP_ENUM_DATA 8
/* struct vmbus_kvp_value */
#define V_TYPE 0
#define V_KEY_SIZE 4
#define V_VALUE_SIZE 8
#define V_KEY 12
#define V_VALUE 524

static const uint32_t kvp_versions[] = { 0x40000, 0x30000, 0x10000 };

static void start(ICGuest *f)
{
    ic_guest_start(f, "-device hv-kvp,id=kvp");
    ic_guest_negotiate(f, kvp_versions, 3, 0x30000, 0x40000);
}

/* vmbus-kvp; returns the request id. */
static int64_t kvp(ICGuest *f, const char *args)
{
    QObject *a = qobject_from_json(args, &error_abort);
    QDict *rsp = qtest_qmp(f->qts, "{'execute': 'vmbus-kvp',"
                           " 'arguments': %p}", a);
    int64_t id = qdict_get_int(qdict_get_qdict(rsp, "return"),
                               "request-id");

    qobject_unref(rsp);
    return id;
}

static void kvp_fails(ICGuest *f, const char *args)
{
    qobject_unref(qtest_qmp_assert_failure_ref(f->qts,
        "{'execute': 'vmbus-kvp', 'arguments': %p}",
        qobject_from_json(args, &error_abort)));
}

static QDict *done(ICGuest *f, int64_t id)
{
    QDict *ev = qtest_qmp_eventwait_ref(f->qts, "VMBUS_KVP_DONE");
    QDict *data = qdict_get_qdict(ev, "data");

    qobject_ref(data);
    qobject_unref(ev);
    g_assert_cmpint(qdict_get_int(data, "request-id"), ==, id);
    return data;
}

/* Writes ASCII @s as UTF-16LE at @p; returns its size with the NUL. */
static uint32_t put16(uint8_t *p, const char *s)
{
    uint32_t n = strlen(s);

    for (uint32_t i = 0; i <= n; i++) {
        stw_le_p(p + 2 * i, i < n ? s[i] : 0);
    }
    return 2 * (n + 1);
}

static void assert16(const uint8_t *p, const char *s)
{
    for (uint32_t i = 0; i <= strlen(s); i++) {
        g_assert_cmpuint(lduw_le_p(p + 2 * i), ==, i < strlen(s) ? s[i] : 0);
    }
}

/* Takes a KVP request; returns its vmbus_kvp_msg. */
static uint8_t *take(ICGuest *f, VMBusGuestPacket *pkt, int op, int pool)
{
    uint8_t *m;

    ic_guest_take(f, pkt, IC_KVP);
    g_assert_cmpuint(lduw_le_p(pkt->data + 18), ==, 2580);
    m = pkt->data + IC_HDR;
    g_assert_cmpuint(m[KVP_OP], ==, op);
    g_assert_cmpuint(m[KVP_POOL], ==, pool);
    return m;
}

static void test_get_set_delete(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    uint8_t *m;
    int64_t id;
    g_autoptr(QDict) ev = NULL;

    start(&f);
    id = kvp(&f, "{'operation': 'set', 'pool': 'external', 'key': 'k1',"
             " 'value': 'hello'}");
    m = take(&f, &pkt, 1, 0);
    g_assert_cmpuint(ldl_le_p(m + KVP_DATA + V_TYPE), ==, 1);
    g_assert_cmpuint(ldl_le_p(m + KVP_DATA + V_KEY_SIZE), ==, 6);
    g_assert_cmpuint(ldl_le_p(m + KVP_DATA + V_VALUE_SIZE), ==, 12);
    assert16(m + KVP_DATA + V_KEY, "k1");
    assert16(m + KVP_DATA + V_VALUE, "hello");
    /* Only one at a time. */
    kvp_fails(&f, "{'operation': 'get', 'pool': 'external', 'key': 'k1'}");
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    g_assert_cmpstr(qdict_get_str(ev, "operation"), ==, "set");
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, 0);
    qobject_unref(ev);

    id = kvp(&f, "{'operation': 'get', 'pool': 'guest', 'key': 'k1'}");
    m = take(&f, &pkt, 0, 1);
    assert16(m + KVP_DATA + V_KEY, "k1");
    stl_le_p(m + KVP_DATA + V_VALUE_SIZE, put16(m + KVP_DATA + V_VALUE,
                                                "world"));
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    g_assert_cmpstr(qdict_get_str(ev, "value"), ==, "world");
    qobject_unref(ev);

    /* A key the guest does not have. */
    id = kvp(&f, "{'operation': 'get', 'pool': 'guest', 'key': 'nope'}");
    take(&f, &pkt, 0, 1);
    ic_guest_answer(&f, &pkt, IC_S_CONT);
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_S_CONT);
    g_assert_false(qdict_haskey(ev, "value"));
    qobject_unref(ev);

    id = kvp(&f, "{'operation': 'delete', 'pool': 'external', 'key': 'k1'}");
    m = take(&f, &pkt, 2, 0);
    g_assert_cmpuint(ldl_le_p(m + 4), ==, 6);
    assert16(m + 8, "k1");
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    g_assert_cmpstr(qdict_get_str(ev, "operation"), ==, "delete");
    qtest_quit(f.qts);
}

static void test_enumerate(void)
{
    static const char *const keys[] = { "OSName", "NetworkAddressIPv4",
                                        "FullyQualifiedDomainName" };
    ICGuest f;
    VMBusGuestPacket pkt;
    uint8_t *m;
    int64_t id;
    g_autoptr(QDict) ev = NULL;
    QList *items;

    start(&f);
    id = kvp(&f, "{'operation': 'enumerate', 'pool': 'auto'}");
    for (int i = 0; i <= ARRAY_SIZE(keys); i++) {
        m = take(&f, &pkt, 3, 2);
        g_assert_cmpuint(ldl_le_p(m + KVP_ENUM_INDEX), ==, i);
        if (i == ARRAY_SIZE(keys)) {
            ic_guest_answer(&f, &pkt, IC_S_CONT);
            break;
        }
        stl_le_p(m + KVP_ENUM_DATA + V_KEY_SIZE,
                 put16(m + KVP_ENUM_DATA + V_KEY, keys[i]));
        stl_le_p(m + KVP_ENUM_DATA + V_VALUE_SIZE,
                 put16(m + KVP_ENUM_DATA + V_VALUE, "v"));
        ic_guest_answer(&f, &pkt, IC_S_OK);
    }
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_S_CONT);
    items = qdict_get_qlist(ev, "items");
    g_assert_cmpint(qlist_size(items), ==, ARRAY_SIZE(keys));
    g_assert_cmpstr(qdict_get_str(qobject_to(QDict, qlist_peek(items)),
                                  "key"), ==, "OSName");
    qtest_quit(f.qts);
}

/* Broken answers: sizes past the fields, no NULs, bad UTF-16, endless. */
static void test_bad_guest(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    uint8_t *m;
    int64_t id;
    g_autoptr(QDict) ev = NULL;
    QList *items;

    start(&f);
    id = kvp(&f, "{'operation': 'get', 'pool': 'auto', 'key': 'x'}");
    m = take(&f, &pkt, 0, 2);
    stl_le_p(m + KVP_DATA + V_VALUE_SIZE, 0xffffffff);
    memset(m + KVP_DATA + V_VALUE, 'A', 2048);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    /* 1024 units of U+4141, no NUL: the field's end stops it. */
    g_assert_cmpuint(g_utf8_strlen(qdict_get_str(ev, "value"), -1), ==,
                     1024);
    qobject_unref(ev);

    /* A lone surrogate: no value. */
    id = kvp(&f, "{'operation': 'get', 'pool': 'auto', 'key': 'x'}");
    m = take(&f, &pkt, 0, 2);
    stl_le_p(m + KVP_DATA + V_VALUE_SIZE, 4);
    stw_le_p(m + KVP_DATA + V_VALUE, 0xd800);
    stw_le_p(m + KVP_DATA + V_VALUE + 2, 0);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    g_assert_cmpstr(qdict_get_str(ev, "value"), ==, "");
    qobject_unref(ev);

    /* A listing that never ends stops at 1024 items. */
    id = kvp(&f, "{'operation': 'enumerate', 'pool': 'guest'}");
    for (int i = 0; i < 1024; i++) {
        m = take(&f, &pkt, 3, 1);
        stl_le_p(m + KVP_ENUM_DATA + V_KEY_SIZE,
                 put16(m + KVP_ENUM_DATA + V_KEY, "k"));
        ic_guest_answer(&f, &pkt, IC_S_OK);
    }
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_E_FAIL);
    items = qdict_get_qlist(ev, "items");
    g_assert_cmpint(qlist_size(items), ==, 1024);
    qobject_unref(ev);

    /* The guest closes the channel mid-request: the client hears. */
    id = kvp(&f, "{'operation': 'enumerate', 'pool': 'guest'}");
    take(&f, &pkt, 3, 1);
    vmbus_guest_close(&f.g, &f.ch);
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_E_FAIL);
    kvp_fails(&f, "{'operation': 'enumerate', 'pool': 'guest'}");
    qtest_quit(f.qts);
}

static void test_bad_requests(void)
{
    ICGuest f;
    g_autofree char *longkey = g_strnfill(256, 'k');
    g_autofree char *args = g_strdup_printf("{'operation': 'get', 'pool': "
                                            "'auto', 'key': '%s'}", longkey);

    ic_guest_start(&f, "-device hv-kvp,id=kvp");
    /* Not negotiated yet. */
    kvp_fails(&f, "{'operation': 'enumerate', 'pool': 'auto'}");
    ic_guest_negotiate(&f, kvp_versions, 3, 0x30000, 0x40000);
    kvp_fails(&f, "{'operation': 'get', 'pool': 'auto'}");
    kvp_fails(&f, "{'operation': 'set', 'pool': 'auto', 'key': 'k'}");
    kvp_fails(&f, "{'operation': 'get', 'pool': 'auto', 'key': 'k',"
              " 'value': 'v'}");
    kvp_fails(&f, args);
    kvp_fails(&f, "{'operation': 'get', 'pool': 'nope', 'key': 'k'}");
    kvp_fails(&f, "{'id': 'nope', 'operation': 'get', 'pool': 'auto',"
              " 'key': 'k'}");
    qtest_quit(f.qts);
}

/* Every version: the same messages, with that version in the header. */
static void test_versions(void)
{
    for (int i = 0; i < ARRAY_SIZE(kvp_versions); i++) {
        ICGuest f;
        VMBusGuestPacket pkt;
        int64_t id;
        g_autoptr(QDict) ev = NULL;

        ic_guest_start(&f, "-device hv-kvp,id=kvp");
        ic_guest_negotiate(&f, kvp_versions, 3,
                           kvp_versions[i] == 0x10000 ? 0x10000 : 0x30000,
                           kvp_versions[i]);
        id = kvp(&f, "{'operation': 'delete', 'pool': 'external',"
                 " 'key': 'k'}");
        take(&f, &pkt, 2, 0);
        g_assert_cmpuint(lduw_le_p(pkt.data + 14), ==, kvp_versions[i] >> 16);
        ic_guest_answer(&f, &pkt, IC_S_OK);
        ev = done(&f, id);
        g_assert_cmpint(qdict_get_int(ev, "status"), ==, 0);
        qtest_quit(f.qts);
    }
}

/* A guest that never answers: after the timeout the client hears. */
static void test_no_answer(void)
{
    ICGuest f;
    VMBusGuestPacket pkt;
    int64_t id;
    g_autoptr(QDict) ev = NULL;

    start(&f);
    id = kvp(&f, "{'operation': 'get', 'pool': 'auto', 'key': 'k'}");
    take(&f, &pkt, 0, 2);
    qtest_clock_step(f.qts, 59 * 1000 * 1000 * 1000ll);
    g_assert_false(qtest_qmp_event_ref(f.qts, "VMBUS_KVP_DONE"));
    qtest_clock_step(f.qts, 2 * 1000 * 1000 * 1000ll);
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, IC_E_FAIL);
    qobject_unref(ev);
    /* A late answer is dropped; the next request works. */
    ic_guest_answer(&f, &pkt, IC_S_OK);
    id = kvp(&f, "{'operation': 'delete', 'pool': 'external', 'key': 'k'}");
    take(&f, &pkt, 2, 0);
    ic_guest_answer(&f, &pkt, IC_S_OK);
    ev = done(&f, id);
    g_assert_cmpint(qdict_get_int(ev, "status"), ==, 0);
    qtest_quit(f.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/kvp/get-set-delete", test_get_set_delete);
    qtest_add_func("/vmbus/kvp/enumerate", test_enumerate);
    qtest_add_func("/vmbus/kvp/bad-guest", test_bad_guest);
    qtest_add_func("/vmbus/kvp/bad-requests", test_bad_requests);
    qtest_add_func("/vmbus/kvp/versions", test_versions);
    qtest_add_func("/vmbus/kvp/no-answer", test_no_answer);
    return g_test_run();
}
