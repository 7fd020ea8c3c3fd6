/*
 * qtest: VMBus channel offers, hot-plug and rescind (qemu-vmbus)
 *
 * vmbus-testdev devices are the offered channels; the test is the guest.
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

/* vmbus-testdev's interface and an instance, in the wire's GUID order. */
static const uint8_t testdev_type[16] = {
    0xf0, 0x4c, 0x1c, 0x7b, 0x2b, 0x5f, 0x89, 0x4a,
    0x9d, 0x3e, 0x5e, 0x1f, 0x0c, 0x3a, 0x9b, 0x24,
};
#define INSTANCE_A "11223344-5566-7788-99aa-bbccddeeff00"
static const uint8_t instance_a[16] = {
    0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77,
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
};

static QTestState *start(VMBusGuest *g, const char *extra)
{
    QTestState *qts = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                                  " -device vmbus-bridge %s", extra);

    vmbus_guest_init(g, qts, 2, SINT);
    return qts;
}

/* True when device @id exists (qom-get answers for its path). */
static bool device_exists(QTestState *qts, const char *id)
{
    g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                           " {'path': %s, 'property': 'type'}}", path);
    bool found = qdict_haskey(rsp, "return");

    qobject_unref(rsp);
    return found;
}

/* RELID_RELEASED for @relid; returns the hypercall status. */
static uint16_t release(VMBusGuest *g, uint32_t relid)
{
    uint8_t body[4];

    stl_le_p(body, relid);
    return vmbus_guest_post(g, 0, 4, VMBUS_GUEST_RELID_RELEASED, body, 12);
}

static uint32_t offer_relid(const HvpMessage *m)
{
    return ldl_le_p(m->payload + 184);
}

static uint32_t offer_connid(const HvpMessage *m)
{
    return ldl_le_p(m->payload + 192);
}

static void test_offers(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-device vmbus-testdev,instanceid=" INSTANCE_A
                                " -device vmbus-testdev");
    HvpMessage offers[4];

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);

    g_assert_cmpmem(offers[0].payload + 8, 16, testdev_type, 16);
    g_assert_cmpmem(offers[0].payload + 24, 16, instance_a, 16);
    g_assert_cmpuint(offer_relid(&offers[0]), ==, 1);
    g_assert_cmpuint(offer_connid(&offers[0]), ==, 0x10001);
    g_assert_cmpuint(lduw_le_p(offers[0].payload + 180), ==, 0); /* primary */
    g_assert_cmpuint(offers[0].payload[189], ==, 0);     /* no monitor page */
    g_assert_cmpuint(lduw_le_p(offers[0].payload + 190), ==, 1); /* dedicated */
    g_assert_cmpuint(offers[0].size, ==, 196);
    g_assert_cmpmem(offers[1].payload + 8, 16, testdev_type, 16);
    g_assert_cmpuint(offer_relid(&offers[1]), ==, 2);
    /* A made-up instance GUID, different from the first. */
    g_assert_true(memcmp(offers[1].payload + 24, instance_a, 16));

    /* Asked again: no repeats, only ALLOFFERS_DELIVERED. */
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 0);

    /* Unload and reconnect (a driver reload): the same channel ids. */
    vmbus_guest_unload(&g);
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);
    g_assert_cmpuint(offer_relid(&offers[0]), ==, 1);
    g_assert_cmpuint(offer_relid(&offers[1]), ==, 2);

    /* And after a machine reset (a reboot). */
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    vmbus_guest_init(&g, qts, 2, SINT);
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);
    g_assert_cmpuint(offer_relid(&offers[1]), ==, 2);
    g_assert_cmpmem(offers[0].payload + 24, 16, instance_a, 16);
    qtest_quit(qts);
}

static void test_hotplug(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-device vmbus-testdev,id=d1");
    HvpMessage offers[4], m;

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 1);

    /* device_add while the guest listens: an offer, the next channel id. */
    qtest_qmp_device_add(qts, "vmbus-testdev", "d2", "{}");
    m = vmbus_guest_recv(&g, 0, VMBUS_GUEST_OFFERCHANNEL);
    g_assert_cmpuint(offer_relid(&m), ==, 2);

    /* device_del: rescind, and gone once the guest releases the id. */
    qtest_qmp_assert_success(qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'd1'}}");
    m = vmbus_guest_recv(&g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 1);
    g_assert_true(device_exists(qts, "d1"));
    g_assert_cmpuint(release(&g, 1), ==, 0);
    qtest_qmp_eventwait(qts, "DEVICE_DELETED");
    g_assert_false(device_exists(qts, "d1"));

    /* The freed id goes to the next device. */
    qtest_qmp_device_add(qts, "vmbus-testdev", "d3", "{}");
    m = vmbus_guest_recv(&g, 0, VMBUS_GUEST_OFFERCHANNEL);
    g_assert_cmpuint(offer_relid(&m), ==, 1);

    /* A release for a channel that was not rescinded changes nothing. */
    g_assert_cmpuint(release(&g, 2), ==, 0);
    g_assert_true(device_exists(qts, "d2"));
    qtest_quit(qts);
}

static void test_rescind_queue_full(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-global vmbus-bridge.max-queued-messages=1"
                                " -device vmbus-testdev,id=d1");
    HvpMessage offers[2], m;
    uint8_t tl[32] = { 0 };

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 2), ==, 1);

    /* The guest leaves its slot full and the queue holds one more. */
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                      VMBUS_GUEST_TL_CONNECT_REQUEST, tl, 40),
                     ==, 0);
    g_usleep(50 * 1000);
    g_assert_cmpuint(vmbus_guest_post(&g, 0, 4,
                                      VMBUS_GUEST_TL_CONNECT_REQUEST, tl, 40),
                     ==, 0);

    /* device_del must wait for room: the guest still has the offer. */
    qtest_qmp_assert_success(qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'd1'}}");
    g_usleep(100 * 1000);
    g_assert_true(device_exists(qts, "d1"));

    vmbus_guest_recv(&g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
    vmbus_guest_recv(&g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
    m = vmbus_guest_recv(&g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 1);
    g_assert_true(device_exists(qts, "d1"));
    g_assert_cmpuint(release(&g, 1), ==, 0);
    qtest_qmp_eventwait(qts, "DEVICE_DELETED");
    g_assert_false(device_exists(qts, "d1"));
    qtest_quit(qts);
}

static void test_unplug_unconnected(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-device vmbus-testdev,id=d1");
    HvpMessage offers[2];

    /* No guest connection: nothing to rescind, the device goes at once. */
    qtest_qmp_device_del(qts, "d1");
    g_assert_false(device_exists(qts, "d1"));

    /* A device added before the guest asks is offered when it asks. */
    qtest_qmp_device_add(qts, "vmbus-testdev", "d2", "{}");
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 2), ==, 1);
    qtest_quit(qts);
}

static void test_offers_flow_control(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-global vmbus-bridge.max-queued-messages=1"
                                " -device vmbus-testdev -device vmbus-testdev"
                                " -device vmbus-testdev -device vmbus-testdev"
                                " -device vmbus-testdev");
    HvpMessage offers[8];

    /* Five offers and the end marker through a queue of one. */
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 8), ==, 5);
    for (int i = 0; i < 5; i++) {
        g_assert_cmpuint(offer_relid(&offers[i]), ==, i + 1);
    }
    qtest_quit(qts);
}

static void test_max_offers(void)
{
    assert_startup_fails("-M q35 -cpu " HV_CPU
                         " -device vmbus-bridge,max-offers=2"
                         " -device vmbus-testdev -device vmbus-testdev"
                         " -device vmbus-testdev",
                         "the VMBus has 2 devices, its maximum");
}

static void test_migration(void)
{
    g_autofree char *sock = g_strdup_printf("%s/vmbus-offers-mig-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree char *incoming = g_strdup_printf(
        "-device vmbus-testdev,id=d1,instanceid=" INSTANCE_A
        " -device vmbus-testdev,id=d2 -incoming %s", uri);
    VMBusGuest g, d;
    QTestState *src = start(&g, "-device vmbus-testdev,id=d1,instanceid="
                                INSTANCE_A " -device vmbus-testdev,id=d2");
    QTestState *dst;
    HvpMessage offers[4], m;

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);

    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU
                      " -device vmbus-bridge %s", incoming);
    migrate_and_wait(src, dst, uri);
    d = g;
    d.qts = dst;

    /* The destination knows the guest has the offers: it rescinds. */
    qtest_qmp_assert_success(dst, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'd2'}}");
    m = vmbus_guest_recv(&d, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 2);
    g_assert_cmpuint(release(&d, 2), ==, 0);
    qtest_qmp_eventwait(dst, "DEVICE_DELETED");

    /* And offers new devices with the next free id. */
    qtest_qmp_device_add(dst, "vmbus-testdev", "d3", "{}");
    m = vmbus_guest_recv(&d, 0, VMBUS_GUEST_OFFERCHANNEL);
    g_assert_cmpuint(offer_relid(&m), ==, 2);
    qtest_quit(src);
    qtest_quit(dst);
    unlink(sock);
}

/* "relid" names a primary's channel id; a taken or too large one is refused. */
static void test_relid_property(void)
{
    VMBusGuest g;
    QTestState *qts = start(&g, "-device vmbus-testdev,id=d1,relid=7"
                                " -device vmbus-testdev,id=d2");
    HvpMessage offers[4];
    QDict *rsp;

    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    /* Offered in channel id order: d2 took the lowest free id. */
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);
    g_assert_cmpuint(offer_relid(&offers[0]), ==, 1);
    g_assert_cmpuint(offer_relid(&offers[1]), ==, 7);

    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments':"
                    " {'driver': 'vmbus-testdev', 'id': 'd3', 'relid': 7}}");
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"),
                            "relid 7 is taken by device 'd1'"));
    qobject_unref(rsp);
    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments':"
                    " {'driver': 'vmbus-testdev', 'id': 'd3',"
                    " 'relid': 257}}");
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"),
                            "relid must be from 1 to 256"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/*
 * After a device in the middle went away, a destination given the others
 * (the later ones with their ids as "relid") takes the migration: devices
 * are matched by channel id, not by plug order.
 */
static void test_migration_after_unplug(void)
{
    g_autofree char *sock = g_strdup_printf("%s/vmbus-offers-mig2-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    VMBusGuest g, d;
    QTestState *src = start(&g, "-device vmbus-testdev,id=d1"
                                " -device vmbus-testdev,id=d2"
                                " -device vmbus-testdev,id=d3");
    QTestState *dst;
    HvpMessage offers[4], m;

    qtest_qmp_device_del(src, "d2");
    vmbus_guest_connect(&g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&g, offers, 4), ==, 2);
    g_assert_cmpuint(offer_relid(&offers[0]), ==, 1);
    g_assert_cmpuint(offer_relid(&offers[1]), ==, 3);

    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " HV_CPU " -device"
                      " vmbus-bridge -device vmbus-testdev,id=d1 -device"
                      " vmbus-testdev,id=d3,relid=3 -incoming %s", uri);
    migrate_and_wait(src, dst, uri);
    d = g;
    d.qts = dst;

    /* The gap is free for a new device; d3 is still channel 3. */
    qtest_qmp_device_add(dst, "vmbus-testdev", "d4", "{}");
    m = vmbus_guest_recv(&d, 0, VMBUS_GUEST_OFFERCHANNEL);
    g_assert_cmpuint(offer_relid(&m), ==, 2);
    qtest_qmp_assert_success(dst, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'd3'}}");
    m = vmbus_guest_recv(&d, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 3);
    qtest_quit(src);
    qtest_quit(dst);
    unlink(sock);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vmbus/offers/offers", test_offers);
    qtest_add_func("/vmbus/offers/hotplug", test_hotplug);
    qtest_add_func("/vmbus/offers/rescind-queue-full",
                   test_rescind_queue_full);
    qtest_add_func("/vmbus/offers/unplug-unconnected",
                   test_unplug_unconnected);
    qtest_add_func("/vmbus/offers/flow-control", test_offers_flow_control);
    qtest_add_func("/vmbus/offers/max-offers", test_max_offers);
    qtest_add_func("/vmbus/offers/migration", test_migration);
    qtest_add_func("/vmbus/offers/relid-property", test_relid_property);
    qtest_add_func("/vmbus/offers/migration-after-unplug",
                   test_migration_after_unplug);

    return g_test_run();
}
