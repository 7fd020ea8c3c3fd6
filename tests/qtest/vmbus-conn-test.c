/*
 * qtest: the VMBus connection (qemu-vmbus channel manager)
 *
 * The test is the guest: INITIATE_CONTACT at every version, REQUESTOFFERS,
 * UNLOAD, TL_CONNECT_REQUEST, and malformed or out-of-state messages; the
 * host's answers are read from the SynIC message page.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "hv-partition.h"
#include "migration-wait.h"

#define HV_CPU "qemu64,hv-vpindex=on,hv-synic=on"
#define SINT 2

/* Message types */
#define REQUESTOFFERS       3
#define ALLOFFERS_DELIVERED 4
#define OPENCHANNEL         5
#define GPADL_HEADER        8
#define INITIATE_CONTACT    14
#define VERSION_RESPONSE    15
#define UNLOAD              16
#define UNLOAD_RESPONSE     17
#define TL_CONNECT_REQUEST  21
#define TL_CONNECT_RESULT   23

static QTestState *start(const char *extra)
{
    QTestState *qts = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                                  " -device vmbus-bridge %s", extra);

    hvp_enable_hypercalls(qts);
    hvp_enable_synic(qts, 0, SINT, 0x50);
    hvp_enable_synic(qts, 1, SINT, 0x50);
    return qts;
}

/* Posts a VMBus message of @size bytes with @msgtype and @body after it. */
static uint16_t post(QTestState *qts, uint32_t vp, uint32_t conn,
                     uint32_t msgtype, const void *body, uint32_t size)
{
    uint8_t buf[240] = { 0 };

    stl_le_p(buf, msgtype);
    if (body && size > 8) {
        memcpy(buf + 8, body, size - 8);
    }
    return hvp_post_message(qts, vp, conn, 1, buf, size);
}

static uint16_t initiate(QTestState *qts, uint32_t conn, uint32_t version,
                         uint32_t vp, uint8_t sint)
{
    uint8_t body[32] = { 0 };

    stl_le_p(body, version);
    stl_le_p(body + 4, vp);
    body[8] = sint;
    return post(qts, 0, conn, INITIATE_CONTACT, body, 40);
}

/* Takes the next host message from @vp's slot; asserts its type. */
static HvpMessage take(QTestState *qts, uint32_t vp, uint32_t msgtype)
{
    HvpMessage m;

    g_assert_true(hvp_wait_message(qts, vp, SINT, &m));
    g_assert_cmpuint(m.type, ==, 1);
    g_assert_cmpuint(ldl_le_p(m.payload), ==, msgtype);
    hvp_consume_message(qts, vp, SINT);
    return m;
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
    QTestState *qts = start("");

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        HvpMessage m;

        /* Before 2.4 answers go to VP 0. */
        uint32_t vp = cases[i].version >= 0x00020004;

        g_assert_cmpuint(initiate(qts, cases[i].conn, cases[i].version, 1,
                                  SINT), ==, HVP_STATUS_SUCCESS);
        m = take(qts, vp, VERSION_RESPONSE);
        g_assert_cmpuint(m.payload[8], ==, cases[i].accepted);
        if (cases[i].accepted && cases[i].version >= 0x00050000) {
            g_assert_cmpuint(ldl_le_p(m.payload + 12), ==, 4);
        }
    }
    qtest_quit(qts);
}

static void test_version_rules(void)
{
    QTestState *qts = start("");
    HvpMessage m;

    /* Before 2.4 the answer goes to VP 0, whatever the guest names. */
    g_assert_cmpuint(initiate(qts, 1, 0x00010001, 1, 0), ==, 0);
    take(qts, 0, VERSION_RESPONSE);

    /* From 5.0 the guest names the SINT. */
    hvp_enable_synic(qts, 1, 5, 0x51);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, 5), ==, 0);
    g_assert_true(hvp_wait_message(qts, 1, 5, &m));
    g_assert_cmpuint(ldl_le_p(m.payload), ==, VERSION_RESPONSE);
    hvp_consume_message(qts, 1, 5);

    /* A VP or SINT that does not exist fails the hypercall. */
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 7, SINT), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 0xffffffff, SINT), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, 16), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, 255), ==,
                     HVP_STATUS_INVALID_PARAMETER);

    /* Still usable afterwards. */
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 0, SINT), ==, 0);
    m = take(qts, 0, VERSION_RESPONSE);
    g_assert_cmpuint(m.payload[8], ==, 1);
    qtest_quit(qts);
}

static void test_offers_unload(void)
{
    QTestState *qts = start("");
    uint8_t tl[32];
    HvpMessage m;

    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);

    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
    take(qts, 1, ALLOFFERS_DELIVERED);

    /* hv_sock: no services, refused with a status. */
    memset(tl, 0xab, sizeof(tl));
    g_assert_cmpuint(post(qts, 1, 4, TL_CONNECT_REQUEST, tl, 40), ==, 0);
    m = take(qts, 1, TL_CONNECT_RESULT);
    g_assert_cmphex((uint32_t)ldl_le_p(m.payload + 40), ==, 0xc0000236);

    g_assert_cmpuint(post(qts, 0, 4, UNLOAD, NULL, 8), ==, 0);
    take(qts, 1, UNLOAD_RESPONSE);

    /* Disconnected now: nothing but a new contact is taken. */
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
    take(qts, 1, ALLOFFERS_DELIVERED);
    qtest_quit(qts);
}

static void test_malformed(void)
{
    QTestState *qts = start("");
    uint8_t raw[240] = { 0 };

    /* Before any contact. */
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    g_assert_cmpuint(post(qts, 0, 1, UNLOAD, NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);

    /* Truncated, too short for a header, unknown, host->guest types. */
    g_assert_cmpuint(post(qts, 0, 4, INITIATE_CONTACT, NULL, 39), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 1, raw, 4), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 1, raw, 0), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(post(qts, 0, 4, 99, NULL, 8), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(post(qts, 0, 4, VERSION_RESPONSE, NULL, 16), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    /* Not a VMBus message type in the SynIC header. */
    stl_le_p(raw, REQUESTOFFERS);
    g_assert_cmpuint(hvp_post_message(qts, 0, 4, 2, raw, 8), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);

    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);

    /* After 5.0 contact, connection 1 is not where the guest talks. */
    g_assert_cmpuint(post(qts, 0, 1, REQUESTOFFERS, NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    /* Channel messages for channels never offered; truncated ones. */
    g_assert_cmpuint(post(qts, 0, 4, OPENCHANNEL, NULL, 148), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(post(qts, 0, 4, OPENCHANNEL, NULL, 147), ==,
                     HVP_STATUS_INVALID_HYPERCALL_INPUT);
    g_assert_cmpuint(post(qts, 0, 4, GPADL_HEADER, NULL, 240), ==,
                     HVP_STATUS_INVALID_PARAMETER);

    /* The connection still answers. */
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
    take(qts, 1, ALLOFFERS_DELIVERED);
    qtest_quit(qts);
}

static void test_queue_limit(void)
{
    QTestState *qts = start("-global vmbus-bridge.max-queued-messages=2");
    int i;

    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);

    /*
     * The guest does not read its slot: one answer lands there, two wait
     * in the queue, then the queue is full and the guest is told so.
     */
    for (i = 0; i < 3; i++) {
        g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
        /* let the first land in the slot before the next is queued */
        qtest_clock_step(qts, 1000);
        g_usleep(50 * 1000);
    }
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==,
                     HVP_STATUS_INSUFFICIENT_BUFFERS);

    /* Reading the slot drains the queue, in order, one EOM at a time. */
    for (i = 0; i < 3; i++) {
        take(qts, 1, ALLOFFERS_DELIVERED);
    }
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
    take(qts, 1, ALLOFFERS_DELIVERED);
    qtest_quit(qts);
}

static void test_bad_limit(void)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = g_strdup_printf(
        "%s -M q35 -display none -S -cpu " HV_CPU
        " -device vmbus-bridge,max-queued-messages=0", qemu);
    g_autofree char *err = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
    g_assert_cmpint(status, !=, 0);
    g_assert_nonnull(strstr(err, "max-queued-messages must be 1 to 256"));
}

static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/vmbus-conn-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf("-incoming %s", uri);
    QTestState *src = start(""), *dst;

    /* Connected, one answer in the slot and one still queued. */
    g_assert_cmpuint(initiate(src, 4, 0x00050003, 1, SINT), ==, 0);
    g_assert_cmpuint(post(src, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);

    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                      " -device vmbus-bridge %s", incoming);
    g_usleep(100 * 1000);
    qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);
    g_assert_true(migration_wait_completed(src));
    g_assert_true(migration_wait_completed(dst));

    take(dst, 1, VERSION_RESPONSE);
    take(dst, 1, ALLOFFERS_DELIVERED);
    /* Still connected at 5.3 on the destination. */
    g_assert_cmpuint(post(dst, 0, 4, REQUESTOFFERS, NULL, 8), ==, 0);
    take(dst, 1, ALLOFFERS_DELIVERED);
    qtest_quit(src);
    qtest_quit(dst);
    unlink(sock);
}

static void test_reset(void)
{
    QTestState *qts = start("");

    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");

    /* A reboot sends no UNLOAD: reset forgot the connection. */
    hvp_enable_hypercalls(qts);
    hvp_enable_synic(qts, 0, SINT, 0x50);
    hvp_enable_synic(qts, 1, SINT, 0x50);
    g_assert_cmpuint(post(qts, 0, 4, REQUESTOFFERS, NULL, 8), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    g_assert_cmpuint(initiate(qts, 4, 0x00050003, 1, SINT), ==, 0);
    take(qts, 1, VERSION_RESPONSE);
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
    qtest_add_func("/vmbus/conn/migration", test_migration);
    qtest_add_func("/vmbus/conn/reset", test_reset);

    return g_test_run();
}
