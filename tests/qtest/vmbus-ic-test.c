/*
 * qtest: what every integration service does alike (qemu-vmbus)
 *
 * hv-heartbeat, hv-shutdown, hv-timesync and hv-kvp: each describes all
 * its properties, negotiates its versions, survives device_del and
 * device_add while the guest runs, and a machine reset.
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
#include "vmbus-ic-guest.h"

typedef struct Service {
    const char *type;
    uint32_t versions[4];
    int nversions;
} Service;

static const Service services[] = {
    { "hv-heartbeat", { 0x30000, 0x10000 }, 2 },
    { "hv-shutdown", { 0x30002, 0x30001, 0x30000, 0x10000 }, 4 },
    { "hv-timesync", { 0x40000, 0x30000, 0x10000 }, 3 },
    { "hv-kvp", { 0x40000, 0x30000, 0x10000 }, 3 },
};

/* -device TYPE,help describes every property. */
static void test_properties(const void *data)
{
    const Service *s = data;
    QTestState *qts = qtest_init("-M q35");
    QDict *rsp = qtest_qmp(qts, "{'execute': 'device-list-properties',"
                           " 'arguments': {'typename': %s}}", s->type);
    QList *props = qdict_get_qlist(rsp, "return");
    const QListEntry *e;

    g_assert_nonnull(props);
    QLIST_FOREACH_ENTRY(props, e) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(e));

        g_assert_true(qdict_haskey(p, "description"));
    }
    qobject_unref(rsp);
    qtest_quit(qts);
}

static uint32_t released(ICGuest *f)
{
    HvpMessage m = vmbus_guest_recv(&f->g, 0,
                                    VMBUS_GUEST_RESCIND_CHANNELOFFER);
    uint8_t body[4];

    memcpy(body, m.payload + 8, 4);
    g_assert_cmpuint(vmbus_guest_post(&f->g, 0, f->g.conn_id,
                                      VMBUS_GUEST_RELID_RELEASED, body, 12),
                     ==, 0);
    return ldl_le_p(body);
}

/* Negotiated, unplugged, plugged again, reset: it works each time. */
static void test_lifecycle(const void *data)
{
    const Service *s = data;
    g_autofree char *dev = g_strdup_printf("-device %s,id=ic", s->type);
    ICGuest f;
    HvpMessage m;

    ic_guest_start(&f, dev);
    ic_guest_negotiate(&f, s->versions, s->nversions, 0x30000,
                       s->versions[0]);
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'ic'}}");
    g_assert_cmpuint(released(&f), ==, f.ch.relid);
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");

    qtest_qmp_assert_success(f.qts, "{'execute': 'device_add', 'arguments':"
                             " {'driver': %s, 'id': 'ic'}}", s->type);
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_OFFERCHANNEL);
    f.ch.relid = ldl_le_p(m.payload + 184);
    f.ch.connid = ldl_le_p(m.payload + 192);
    ic_guest_reopen(&f);
    ic_guest_negotiate(&f, s->versions, s->nversions, 0x10000,
                       s->versions[s->nversions - 1]);

    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    vmbus_guest_init(&f.g, f.qts, 1, 2);
    vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &m, 1), ==, 1);
    ic_guest_reopen(&f);
    ic_guest_negotiate(&f, s->versions, s->nversions, 0x30000,
                       s->versions[0]);
    qtest_quit(f.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < ARRAY_SIZE(services); i++) {
        g_autofree char *p = g_strdup_printf("/vmbus/ic/%s/properties",
                                             services[i].type);
        g_autofree char *l = g_strdup_printf("/vmbus/ic/%s/lifecycle",
                                             services[i].type);

        qtest_add_data_func(p, &services[i], test_properties);
        qtest_add_data_func(l, &services[i], test_lifecycle);
    }
    return g_test_run();
}
