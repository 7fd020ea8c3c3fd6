/*
 * qtest: the VMBus connection (qemu-vmbus channel manager)
 *
 * The test is the guest, through the VMBus guest driver (vmbus-guest.h):
 * INITIATE_CONTACT at every version, REQUESTOFFERS, UNLOAD,
 * TL_CONNECT_REQUEST, and malformed or out-of-state messages.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qtest-util.h"
#include "vmbus-guest.h"

#define HV_CPU "qemu64,hv-vpindex=on,hv-synic=on"
#define SINT 2

static QTestState *start(VMBusGuest *g, const char *extra)
{
    QTestState *qts = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                                  " -device vmbus-bridge %s", extra);

    vmbus_guest_init(g, qts, 2, SINT);
    return qts;
}

static void test_versions(void)
{
    static const struct {
        uint32_t version, conn;
        bool accepted;
    } cases[] = {
        { 0x00050003, 4, true }, { 0x00050002, 4, true },
        { 0x00050001, 4, true }, { 0x00050000, 4, true },
        { 0x00040001, 1, true }, { 0x00040000, 1, true },
        { 0x00030000, 1, true }, { 0x00020004, 1, true },
        { 0x00010001, 1, true }, { 0x0000000d, 1, true },
        /* Unknown versions, and known ones on the wrong connection. */
        { 0x00050004, 4, false }, { 0x00060000, 4, false },
        { 0x00040002, 1, false }, { 0x00050003, 1, false },
        { 0x00040000, 4, false },
    };
    VMBusGuest g;
    QTestState *qts = start(&g, "");

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        bool accepted;

        g_assert_cmpuint(vmbus_guest_contact(&g, cases[i].version,
                                             cases[i].conn, 1, &accepted),
                         ==, HVP_STATUS_SUCCESS);
        g_assert_cmpint(accepted, ==, cases[i].accepted);
        if (accepted && cases[i].version >= 0x00050000) {
            g_assert_cmpuint(g.conn_id, ==, 4);
        }
    }
    qtest_quit(qts);
}

static void test_version_rules(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");
    bool accepted;

    /* Before 2.4 the answer goes to VP 0, whatever the guest names. */
    g_assert_cmpuint(vmbus_guest_contact(&g, 0x00010001, 0, 1, &accepted),
                     ==, 0);
    g_assert_true(accepted);

    /* From 5.0 the guest names the SINT. */
    hvp_enable_synic(qts, 1, 5, 0x51);
    g.sint = 5;
    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0, 1,
                                         &accepted), ==, 0);
    g_assert_true(accepted);

    /* A VP or SINT that does not exist fails the hypercall. */
    g.sint = SINT;
    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0, 7, NULL),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0,
                                         0xffffffff, NULL),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    g.sint = 16;
    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0, 1, NULL),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    g.sint = 255;
    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0, 1, NULL),
                     ==, HVP_STATUS_INVALID_PARAMETER);

    /* Still usable afterwards. */
    g.sint = SINT;
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    qtest_quit(qts);
}

static void test_offers_unload(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");
    HvpMessage offers[4], m;
    uint8_t tl[32];

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 0);

    /* hv_sock: no services, refused with a status. */
    memset(tl, 0xab, sizeof(tl));
    g_assert_cmpuint(vmbus_guest_post(&g, 1, 4,
                                      VMBUS_GUEST_TL_CONNECT_REQUEST, tl, 40),
                     ==, 0);
    m = vmbus_guest_recv(&g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
    g_assert_cmphex((uint32_t)ldl_le_p(m.payload + 40), ==, 0xc0000236);
    g_assert_cmpmem(m.payload + 8, 16, tl + 16, 16);

    vmbus_guest_unload(&g);

    /* Disconnected now: nothing but a new contact is taken. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 0);
    qtest_quit(qts);
}

static void test_malformed(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");
    HvpMessage offers[1];
    uint8_t raw[240] = { 0 };

    /* Before any contact. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 1, VMBUS_GUEST_UNLOAD, NULL, 8),
                     ==, HVP_STATUS_INVALID_CONNECTION_ID);

    /* Truncated, too short for a header, unknown, host->guest types. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_INITIATE_CONTACT,
                                      NULL, 39), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 1, raw, 4), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 1, raw, 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, 99, NULL, 8), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_VERSION_RESPONSE,
                                      NULL, 16), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    /* Not a VMBus message type in the SynIC header. */
    stl_le_p(raw, VMBUS_GUEST_REQUESTOFFERS);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 2, raw, 8), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);

    /* After 5.0 contact, connection 1 is not where the guest talks. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 1, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    /* Channel messages for channels never offered; truncated ones. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_OPENCHANNEL,
                                      NULL, 148), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_OPENCHANNEL,
                                      NULL, 147), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_GPADL_HEADER,
                                      NULL, 240), ==,
                     HVP_STATUS_INVALID_PARAMETER);

    /* The connection still answers. */
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 1), ==, 0);
    qtest_quit(qts);
}

static void test_queue_limit(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-global vmbus-bridge.max-queued-messages=2");
    uint8_t tl[32] = { 0 };
    int i;

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);

    /*
     * The guest does not read its slot: one answer lands there, two wait
     * in the queue, then the queue is full and the guest is told so.
     */
    for (i = 0; i < 3; i++) {
        g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                          VMBUS_GUEST_TL_CONNECT_REQUEST,
                                          tl, 40), ==, 0);
        /* let the first land in the slot before the next is queued */
        g_usleep(50 * 1000);
    }
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                      VMBUS_GUEST_TL_CONNECT_REQUEST, tl, 40),
                     ==, HVP_STATUS_INSUFFICIENT_BUFFERS);

    /* Reading the slot drains the queue, in order, one EOM at a time. */
    for (i = 0; i < 3; i++) {
        vmbus_guest_recv(&g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
    }
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                      VMBUS_GUEST_TL_CONNECT_REQUEST, tl, 40),
                     ==, 0);
    vmbus_guest_recv(&g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
    qtest_quit(qts);
}

static void test_contact_flood(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");
    uint8_t body[32] = { 0 };
    HvpMessage m;
    int i;

    /*
     * The guest re-contacts without ever reading its slot: one answer sits
     * there, the others wait for EOM on dropped routes; after a few, the
     * next contact is told to retry instead of leaving one more behind.
     */
    stl_le_p(body, VMBUS_GUEST_V5_3);
    body[8] = SINT;
    for (i = 0; i < 10; i++) {
        if (vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_INITIATE_CONTACT, body,
                             40)) {
            break;
        }
        g_usleep(50 * 1000);
    }
    /* One in the slot, one staged, four dropped routes staged: refused. */
    g_assert_cmpint(i, ==, 6);
    for (i = 0; i < 20; i++) {
        g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                          VMBUS_GUEST_INITIATE_CONTACT,
                                          body, 40), ==,
                         HVP_STATUS_INSUFFICIENT_BUFFERS);
    }

    /*
     * Once the guest reads its slot and EOMs, contact works again. Answers
     * on dropped routes that found the slot busy are dropped with them.
     */
    vmbus_guest_recv(&g, 0, VMBUS_GUEST_VERSION_RESPONSE);
    while (hvp_wait_message(qts, 0, SINT, &m)) {
        g_assert_cmpuint(ldl_le_p(m.payload), ==,
                         VMBUS_GUEST_VERSION_RESPONSE);
        hvp_consume_message(qts, 0, SINT);
    }
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    qtest_quit(qts);
}

static void test_bad_limit(void)
{
    assert_startup_fails("-M q35 -cpu " HV_CPU
                         " -device vmbus-bridge,max-queued-messages=0",
                         "max-queued-messages must be 1 to 256");
}

static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/vmbus-conn-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("-incoming %s", uri);
    VMBusGuest g, d;
    QTestState *src = start(&g, ""), *dst;
    HvpMessage offers[1];

    /* Connected, one answer in the slot and one still queued. */
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==, 0);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==, 0);

    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                      " -device vmbus-bridge %s", incoming);
    migrate_and_wait(src, dst, uri);

    /* Both answers reach the guest on the destination, which stays at 5.3. */
    d = g;
    d.qts = dst;
    vmbus_guest_recv(&d, 0, VMBUS_GUEST_ALLOFFERS_DELIVERED);
    vmbus_guest_recv(&d, 0, VMBUS_GUEST_ALLOFFERS_DELIVERED);
    g_assert_cmpint(vmbus_guest_request_offers(&d, offers, 1), ==, 0);
    qtest_quit(src);
    qtest_quit(dst);
    unlink(sock);
}

static void test_reset(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");

    /* A reboot sends no UNLOAD: reset forgot the connection. */
    vmbus_guest_init(&g, qts, 2, SINT);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    qtest_quit(qts);
}

/* query-vmbus, as a dictionary the caller frees. */
static QDict *query(QTestState *qts)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'query-vmbus'}");
    QDict *ret = qdict_get_qdict(rsp, "return");

    g_assert(ret);
    qobject_ref(ret);
    qobject_unref(rsp);
    return ret;
}

static void test_query(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "");
    g_autofree char *hmp = NULL;
    QDict *q;

    q = query(qts);
    g_assert_cmpstr(qdict_get_str(q, "state"), ==, "disconnected");
    g_assert_cmpint(qdict_get_int(q, "version"), ==, 0);
    g_assert_cmpint(qdict_get_int(q, "max-queued-messages"), ==, 64);
    qobject_unref(q);

    g_assert_cmpuint(vmbus_guest_contact(&g, VMBUS_GUEST_V5_3, 0, 1, NULL),
                     ==, 0);
    /* An answer in the slot and one waiting behind it. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==, 0);
    g_usleep(50 * 1000);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_REQUESTOFFERS,
                                      NULL, 8), ==, 0);
    q = query(qts);
    g_assert_cmpstr(qdict_get_str(q, "state"), ==, "connected");
    g_assert_cmpint(qdict_get_int(q, "version"), ==, 0x00050003);
    g_assert_cmpint(qdict_get_int(q, "target-vp"), ==, 1);
    g_assert_cmpint(qdict_get_int(q, "message-sint"), ==, SINT);
    g_assert_cmpint(qdict_get_int(q, "message-connection-id"), ==, 4);
    g_assert_cmpint(qdict_get_int(q, "queued-messages"), ==, 1);
    qobject_unref(q);

    hmp = qtest_hmp(qts, "info vmbus");
    g_assert_nonnull(strstr(hmp, "VMBus: connected, version 5.3"));
    g_assert_nonnull(strstr(hmp, "to VP 1 SINT 2, from connection 4"));

    vmbus_guest_recv(&g, 1, VMBUS_GUEST_ALLOFFERS_DELIVERED);
    vmbus_guest_recv(&g, 1, VMBUS_GUEST_ALLOFFERS_DELIVERED);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4, VMBUS_GUEST_UNLOAD, NULL, 8),
                     ==, 0);
    vmbus_guest_recv(&g, 1, VMBUS_GUEST_UNLOAD_RESPONSE);
    q = query(qts);
    g_assert_cmpstr(qdict_get_str(q, "state"), ==, "disconnected");
    g_assert_cmpint(qdict_get_int(q, "queued-messages"), ==, 0);
    qobject_unref(q);
    qtest_quit(qts);

    /* No bridge: an error, not a crash. */
    qts = qtest_init("-M q35");
    qobject_unref(qtest_qmp_assert_failure_ref(qts,
                                               "{'execute': 'query-vmbus'}"));
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vmbus/conn/versions", test_versions);
    qtest_add_func("/vmbus/conn/version-rules", test_version_rules);
    qtest_add_func("/vmbus/conn/offers-unload", test_offers_unload);
    qtest_add_func("/vmbus/conn/malformed", test_malformed);
    qtest_add_func("/vmbus/conn/queue-limit", test_queue_limit);
    qtest_add_func("/vmbus/conn/bad-limit", test_bad_limit);
    qtest_add_func("/vmbus/conn/contact-flood", test_contact_flood);
    qtest_add_func("/vmbus/conn/migration", test_migration);
    qtest_add_func("/vmbus/conn/reset", test_reset);
    qtest_add_func("/vmbus/conn/query", test_query);

    return g_test_run();
}
