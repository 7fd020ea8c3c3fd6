/*
 * qtest: VMBus channels and rings (qemu-vmbus)
 *
 * The test is the guest; vmbus-testdev is the device on the channel and
 * answers through the whole device API (see hw/vmbus/vmbus-testdev.c).
 * Besides the protocol working, each test checks that a malformed request
 * gets its error and leaves host and device usable.
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
#include "vmbus-testdev-guest.h"

static void test_open_echo(void)
{
    TDGuest f;
    VMBusGuestPacket pkt;
    uint8_t hello[40];

    td_setup_open(&f, "");
    /* A request the guest wants no answer to gets none. */
    memset(hello, 0x5a, sizeof(hello));
    stl_le_p(hello, TD_ECHO);
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   1, NULL, 0, hello, sizeof(hello)));
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &f.ch, 0));
    /* Many round trips: the rings wrap several times. */
    for (int i = 0; i < 300; i++) {
        g_autofree VMBusGuestPacket *rep =
            td_request(&f, VMBUS_GUEST_PKT_INBAND, NULL, 0, TD_ECHO, i, 0);

        g_assert_cmpuint(ldl_le_p(rep->data + 4), ==, i);
    }
    g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));

    /* Close, then open again on a new ring GPADL. */
    vmbus_guest_close(&f.g, &f.ch);
    f.ch.gpadl++;
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 1), ==, 0);
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &f.ch, 1));
    qtest_quit(f.qts);
}

/* OPENCHANNEL with these fields; returns OPENCHANNEL_RESULT's status. */
static uint32_t open_raw(TDGuest *f, uint32_t gpadl, uint32_t vp,
                         uint32_t send_offset)
{
    uint8_t body[140] = { 0 };
    HvpMessage m;

    stl_le_p(body, f->ch.relid);
    stl_le_p(body + 4, 9);
    stl_le_p(body + 8, gpadl);
    stl_le_p(body + 12, vp);
    stl_le_p(body + 16, send_offset);
    g_assert_cmpuint(vmbus_guest_post(&f->g, 0, f->g.conn_id,
                                      VMBUS_GUEST_OPENCHANNEL, body, 148),
                     ==, 0);
    m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_OPENCHANNEL_RESULT);
    g_assert_cmpuint(ldl_le_p(m.payload + 12), ==, 9);
    return ldl_le_p(m.payload + 16);
}

static void test_open_errors(void)
{
    TDGuest f;
    uint32_t status;
    uint8_t body[140] = { 0 };

    td_setup(&f, "");
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x50,
                                       VMBUS_GUEST_MEM, 8, &status), ==, 0);
    g_assert_cmpuint(open_raw(&f, 0x51, 0, 4), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(open_raw(&f, 0x50, 0, 1), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(open_raw(&f, 0x50, 0, 7), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(open_raw(&f, 0x50, 0, 0xffffffff), ==,
                     TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(open_raw(&f, 0x50, 5, 4), ==, TD_STATUS_UNSUCCESSFUL);
    /* Ring indices outside the ring. */
    qtest_writel(f.qts, VMBUS_GUEST_MEM + 4, 3 * TD_PAGE);
    g_assert_cmpuint(open_raw(&f, 0x50, 0, 4), ==, TD_STATUS_UNSUCCESSFUL);
    qtest_writel(f.qts, VMBUS_GUEST_MEM + 4, 0);
    /* A channel that was not offered is refused at the hypercall. */
    stl_le_p(body, 99);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_OPENCHANNEL, body, 148),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    /* Right at last; a second open of an open channel fails. */
    g_assert_cmpuint(open_raw(&f, 0x50, 1, 4), ==, 0);
    g_assert_cmpuint(open_raw(&f, 0x50, 1, 4), ==, TD_STATUS_UNSUCCESSFUL);
    td_assert_echo(&f);
    qtest_quit(f.qts);
}

static void test_open_refused(void)
{
    QTestState *qts = qtest_init("-M q35 -m 64 -cpu " TD_CPU
                                 " -device vmbus-bridge"
                                 " -device vmbus-testdev,refuse-open=on");
    TDGuest f = { .qts = qts };
    HvpMessage offer;

    vmbus_guest_init(&f.g, qts, 1, TD_SINT);
    vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
    f.ch = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer.payload + 184),
        .connid = ldl_le_p(offer.payload + 192),
        .gpadl = 7, .ring_gpa = VMBUS_GUEST_MEM,
        .send_pages = 2, .recv_pages = 2,
    };
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==,
                     TD_STATUS_UNSUCCESSFUL);
    /* The ring GPADL is free to go. */
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, 7), ==, 0);
    vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    qtest_quit(qts);
}

/*
 * A GPA-direct request over @n ranges given as (offset, length) pairs on
 * consecutive pages from @first_pfn; the packet claims @claimed ranges.
 */
static uint32_t gpa_direct(TDGuest *f, uint32_t cmd, const uint32_t *ranges,
                           int n, uint32_t claimed, uint64_t first_pfn,
                           uint32_t *len, uint32_t *sum)
{
    uint8_t ext[512];
    uint32_t pos = 8;
    uint64_t pfn = first_pfn;
    g_autofree VMBusGuestPacket *pkt = NULL;

    stl_le_p(ext, 0);
    stl_le_p(ext + 4, claimed);
    for (int r = 0; r < n; r++) {
        uint32_t off = ranges[2 * r], l = ranges[2 * r + 1];
        uint32_t npages = DIV_ROUND_UP(off + l, TD_PAGE);

        stl_le_p(ext + pos, l);
        stl_le_p(ext + pos + 4, off);
        pos += 8;
        for (uint32_t i = 0; i < npages; i++, pos += 8) {
            stq_le_p(ext + pos, pfn++);
        }
    }
    pkt = td_request(f, VMBUS_GUEST_PKT_GPA_DIRECT, ext, pos, cmd, 0, 0);
    *len = ldl_le_p(pkt->data + 8);
    *sum = ldl_le_p(pkt->data + 12);
    return ldl_le_p(pkt->data + 4);
}

/* The byte the test put at offset @x of its DMA buffer. */
static uint8_t pattern(uint32_t x)
{
    return x * 7;
}

static uint32_t pattern_sum(uint32_t from, uint32_t len)
{
    uint32_t sum = 0;

    for (uint32_t i = from; i < from + len; i++) {
        sum += pattern(i);
    }
    return sum;
}

static void test_gpa_direct(void)
{
    TDGuest f;
    uint64_t buf = 0x1000000;
    /* page 0 | pages 1-2 | pages 3-4 */
    uint32_t ranges[] = { 100, 50, 4000, 200, 0, 8192 };
    uint32_t len, sum;
    uint8_t data[5 * TD_PAGE];

    td_setup_open(&f, "");
    for (int i = 0; i < sizeof(data); i++) {
        data[i] = pattern(i);
    }
    qtest_memwrite(f.qts, buf, data, sizeof(data));
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 3, 3, buf / TD_PAGE, &len,
                                &sum), ==, 0);
    g_assert_cmpuint(len, ==, 50 + 200 + 8192);
    g_assert_cmpuint(sum, ==, pattern_sum(100, 50) +
                     pattern_sum(TD_PAGE + 4000, 200) +
                     pattern_sum(3 * TD_PAGE, 2 * TD_PAGE));

    /* WRITE: the device's DMA lands where the range says, nowhere else. */
    qtest_memset(f.qts, buf, 0xee, 2 * TD_PAGE);
    g_assert_cmpuint(gpa_direct(&f, TD_WRITE, ranges, 1, 1, buf / TD_PAGE, &len,
                                &sum), ==, 0);
    g_assert_cmpuint(qtest_readb(f.qts, buf + 99), ==, 0xee);
    g_assert_cmpuint(qtest_readb(f.qts, buf + 100), ==, 0);
    g_assert_cmpuint(qtest_readb(f.qts, buf + 149), ==, 49);
    g_assert_cmpuint(qtest_readb(f.qts, buf + 150), ==, 0xee);

    /* Ranges outside RAM, or malformed: refused, device fine. */
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 1, 1, 0xfee00, &len,
                                &sum), ==, 1);
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 1, 1, 1ull << 40, &len,
                                &sum), ==, 1);
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 3, 40, buf / TD_PAGE, &len,
                                &sum), ==, 1);
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 3, 0x7fffffff,
                                buf / TD_PAGE, &len, &sum), ==, 1);
    ranges[0] = TD_PAGE;
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 1, 1, buf / TD_PAGE, &len,
                                &sum), ==, 1);
    /* An empty range, which netvsc sends, lists a page and moves nothing. */
    ranges[0] = 100;
    ranges[1] = 0;
    g_assert_cmpuint(gpa_direct(&f, TD_SUM, ranges, 1, 1, buf / TD_PAGE, &len,
                                &sum), ==, 0);
    g_assert_cmpuint(len, ==, 0);
    td_assert_echo(&f);
    qtest_quit(f.qts);
}

/* Host packet types: in-band, completion, and transfer-page. */
static void test_xfer_pages(void)
{
    TDGuest f;
    VMBusGuestPacket pkt;
    uint8_t req[12];

    td_setup_open(&f, "");
    stl_le_p(req, TD_XFER);
    stl_le_p(req + 4, 0xcafe);
    stl_le_p(req + 8, 3);
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0, 77,
                                   NULL, 0, req, sizeof(req)));
    g_assert_true(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
    g_assert_cmpuint(pkt.type, ==, 7);
    g_assert_cmpuint(pkt.trans_id, ==, 0x5000 + 0xcafe);
    /* The body follows the header and its three ranges. */
    g_assert_cmpuint(pkt.len, ==, 8);
    g_assert_cmpuint(ldq_le_p(pkt.data), ==, 77);
    /* Too many ranges for the device: refused, the channel fine. */
    stl_le_p(req + 8, 9);
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0, 78,
                                   NULL, 0, req, sizeof(req)));
    td_assert_echo(&f);
    qtest_quit(f.qts);
}

/* The host fills the guest's ring, waits for room, and loses nothing. */
static void test_flow_control(void)
{
    TDGuest f;
    VMBusGuestPacket pkt;
    uint32_t n = 200;

    td_setup_open(&f, "");
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   1, NULL, 0,
                                   (uint8_t[12]) { TD_FILL, 0, 0, 0,
                                                   n, 0, 0, 0,
                                                   0xe8, 3, 0, 0 }, 12));
    for (uint32_t i = 0; i < n; i++) {
        g_assert_true(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
        g_assert_cmpuint(pkt.type, ==, VMBUS_GUEST_PKT_INBAND);
        g_assert_cmpuint(pkt.trans_id, ==, i);
        g_assert_cmpuint(pkt.len, ==, 1000);
        g_assert_cmpuint(pkt.data[999], ==, i & 0xff);
    }
    g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
    td_assert_echo(&f);

    /* Empty packets (the fuzzer's find: UB in the test device). */
    g_assert_true(vmbus_guest_send(&f.g, &f.ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   2, NULL, 0,
                                   (uint8_t[12]) { TD_FILL, 0, 0, 0,
                                                   3, 0, 0, 0 }, 12));
    for (uint32_t i = 0; i < 3; i++) {
        g_assert_true(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
        g_assert_cmpuint(pkt.len, ==, 0);
    }
    qtest_quit(f.qts);
}

/* A guest that breaks its ring silences the channel until it reopens. */
static void test_broken_ring(void)
{
    TDGuest f;
    VMBusGuestPacket pkt;

    td_setup_open(&f, "");
    /* A write index outside the data area. */
    vmbus_guest_send_ring_set(&f.g, &f.ch, VMBUS_GUEST_RING_WRITE, 5 * TD_PAGE);
    g_assert_cmpuint(hvp_signal_event(f.qts, 0, f.ch.connid, 0), ==, 0);
    g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
    vmbus_guest_close(&f.g, &f.ch);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    td_assert_echo(&f);

    /* A packet longer than the bytes in the ring. */
    {
        uint8_t desc[16] = { 6, 0, 2, 0, 0xff, 0, 1, 0 };
        uint32_t w = vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_WRITE);

        qtest_memwrite(f.qts, VMBUS_GUEST_MEM + TD_PAGE + w, desc,
                       sizeof(desc));
        vmbus_guest_send_ring_set(&f.g, &f.ch, VMBUS_GUEST_RING_WRITE,
                                  w + 24);
        g_assert_cmpuint(hvp_signal_event(f.qts, 0, f.ch.connid, 0), ==, 0);
        g_assert_false(vmbus_guest_recv_pkt(&f.g, &f.ch, &pkt));
    }
    vmbus_guest_close(&f.g, &f.ch);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    td_assert_echo(&f);
    qtest_quit(f.qts);
}

/* UNLOAD with a channel open and GPADLs out: a fresh start after it. */
static void test_unload_reconnect(void)
{
    TDGuest f;
    HvpMessage offer;

    td_setup_open(&f, "");
    g_assert_cmpuint(td_inband(&f, TD_HOLD, f.ch.gpadl, 0, NULL), ==, 0);
    vmbus_guest_unload(&f.g);
    vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
    /* The same handle again: the old one was forgotten. */
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    td_assert_echo(&f);

    /* A machine reset does the same. */
    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    vmbus_guest_init(&f.g, f.qts, 2, TD_SINT);
    vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    td_assert_echo(&f);
    qtest_quit(f.qts);
}

static uint32_t modify(TDGuest *f, uint32_t vp)
{
    uint8_t body[8];
    HvpMessage m;

    stl_le_p(body, f->ch.relid);
    stl_le_p(body + 4, vp);
    g_assert_cmpuint(vmbus_guest_post(&f->g, 0, f->g.conn_id,
                                      VMBUS_GUEST_MODIFYCHANNEL, body, 16),
                     ==, 0);
    m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_MODIFYCHANNEL_RESPONSE);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, f->ch.relid);
    return ldl_le_p(m.payload + 12);
}

static void test_modify_channel(void)
{
    TDGuest f;

    td_setup_open(&f, "");
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &f.ch, 0));
    g_assert_cmpuint(modify(&f, 1), ==, 0);
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &f.ch, 1));
    g_assert_false(vmbus_guest_event(&f.g, &f.ch, 0));
    g_assert_cmpuint(modify(&f, 9), ==, TD_STATUS_UNSUCCESSFUL);
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &f.ch, 1));
    qtest_quit(f.qts);
}

/* An open channel, a held GPADL and the rings' state survive migration. */
static void test_migrate_open(void)
{
    TDGuest f;
    QTestState *dst;
    uint32_t status, sum;
    g_autofree char *uri = g_strdup_printf("unix:%s/vmbus-chan-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());

    td_setup_open(&f, "");
    for (int i = 0; i < 20; i++) {
        td_assert_echo(&f);
    }
    qtest_memset(f.qts, 0x2000000, 1, TD_PAGE);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x99, 0x2000000, 1,
                                       &status), ==, 0);
    g_assert_cmpuint(td_inband(&f, TD_HOLD, 0x99, 0, NULL), ==, 0);

    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " TD_CPU
                      " -device vmbus-bridge -device vmbus-testdev,id=td"
                      " -incoming %s", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    f.qts = dst;
    f.g.qts = dst;

    td_assert_echo(&f);
    g_assert_cmpuint(td_inband(&f, TD_READ, 0, TD_PAGE, &sum), ==, 0);
    g_assert_cmpuint(sum, ==, TD_PAGE);
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, 0x99), ==,
                     0);
    g_assert_cmpuint(td_inband(&f, TD_RELEASE, 0, 0, NULL), ==, 0);
    vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    vmbus_guest_close(&f.g, &f.ch);
    qtest_quit(dst);
}

/* device_del of an open channel whose guest never closes it. */
static void test_unplug_open(void)
{
    TDGuest f;
    HvpMessage m;
    uint8_t body[4];
    uint32_t status;

    td_setup_open(&f, "");
    g_assert_cmpuint(td_inband(&f, TD_HOLD, f.ch.gpadl, 0, NULL), ==, 0);
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'td'}}");
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, f.ch.relid);
    /* A rescinded channel cannot be opened or given GPADLs. */
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x42,
                                       VMBUS_GUEST_MEM, 1, &status), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    stl_le_p(body, f.ch.relid);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_RELID_RELEASED, body, 12),
                     ==, 0);
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");
    g_assert_cmpuint(hvp_signal_event(f.qts, 0, f.ch.connid, 0), ==,
                     HVP_STATUS_INVALID_CONNECTION_ID);
    qtest_quit(f.qts);
}

/* Takes subchannel @index's offer; returns its channel, ring at @gpa. */
static VMBusGuestChannel take_subchannel(TDGuest *f, uint16_t index,
                                         uint64_t gpa)
{
    HvpMessage m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_OFFERCHANNEL);

    g_assert_cmpuint(lduw_le_p(m.payload + 180), ==, index);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 0x7b1c4cf0);
    return (VMBusGuestChannel) {
        .relid = ldl_le_p(m.payload + 184),
        .connid = ldl_le_p(m.payload + 192),
        .gpadl = 0x3000 + ldl_le_p(m.payload + 184),
        .ring_gpa = gpa, .send_pages = 4, .recv_pages = 4,
    };
}

/* Subchannels take ids above those of primaries (max-offers, 256). */
#define SUB_RELID   257

static uint16_t post_relid(TDGuest *f, uint32_t msgtype, uint32_t relid)
{
    uint8_t body[4];

    stl_le_p(body, relid);
    return vmbus_guest_post(&f->g, 0, f->g.conn_id, msgtype, body, 12);
}

static void test_subchannels(void)
{
    TDGuest f;
    VMBusGuestChannel sc1, sc2;
    HvpMessage m;

    td_setup_open(&f, "");
    g_assert_cmpuint(td_inband(&f, TD_SUBCHANNELS, 4, 0, NULL), ==, EINVAL);
    g_assert_cmpuint(td_inband(&f, TD_SUBCHANNELS, 2, 0, NULL), ==, 0);
    sc1 = take_subchannel(&f, 1, 0x1800000);
    sc2 = take_subchannel(&f, 2, 0x1900000);
    g_assert_cmpuint(sc1.relid, ==, SUB_RELID);
    g_assert_cmpuint(sc2.relid, ==, SUB_RELID + 1);
    g_assert_cmpuint(sc1.connid, ==, 0x10000 + sc1.relid);

    /*
     * A device plugged now takes the next primary id, whatever ids the
     * subchannels hold: a migration destination started with both devices
     * gives them the same ids.
     */
    qtest_qmp_device_add(f.qts, "vmbus-testdev", "td2", "{}");
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_OFFERCHANNEL);
    g_assert_cmpuint(ldl_le_p(m.payload + 184), ==, f.ch.relid + 1);

    /* Each subchannel: its own ring and events, the device's service. */
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc1, 1), ==, 0);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc2, 0), ==, 0);
    td_assert_echo_on(&f, &sc1);
    td_assert_echo_on(&f, &sc2);
    td_assert_echo(&f);
    g_assert_true(vmbus_guest_event(&f.g, &sc1, 1));
    g_assert_true(vmbus_guest_event(&f.g, &sc2, 0));
    /* Asking again offers nothing new. */
    g_assert_cmpuint(td_inband(&f, TD_SUBCHANNELS, 2, 0, NULL), ==, 0);
    g_assert_cmpuint(qtest_readl(f.qts, HVP_SIMP(0) + TD_SINT * 256), ==, 0);

    /* Closing a subchannel leaves the rest alone. */
    vmbus_guest_close(&f.g, &sc2);
    td_assert_echo_on(&f, &sc1);

    /* The primary closes first (a hostile order): all are rescinded. */
    g_assert_cmpuint(post_relid(&f, VMBUS_GUEST_CLOSECHANNEL, f.ch.relid),
                     ==, 0);
    for (int i = 1; i <= 2; i++) {
        m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
        g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, SUB_RELID + i - 1);
    }
    g_assert_cmpuint(post_relid(&f, VMBUS_GUEST_CLOSECHANNEL, sc1.relid), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(post_relid(&f, VMBUS_GUEST_RELID_RELEASED, sc1.relid),
                     ==, 0);
    g_assert_cmpuint(post_relid(&f, VMBUS_GUEST_RELID_RELEASED, sc2.relid),
                     ==, 0);
    /* Released: its ring GPADL went with it. */
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, sc1.relid, sc1.gpadl),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid,
                                                f.ch.gpadl), ==, 0);
    vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);

    /* Subchannels need an open primary; reopened, they come again. */
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    g_assert_cmpuint(td_inband(&f, TD_SUBCHANNELS, 1, 0, NULL), ==, 0);
    sc1 = take_subchannel(&f, 1, 0x1800000);
    g_assert_cmpuint(sc1.relid, ==, SUB_RELID);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc1, 0), ==, 0);
    td_assert_echo_on(&f, &sc1);

    /* device_del takes every channel back. */
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'td'}}");
    for (int i = 0; i < 2; i++) {
        m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
        g_assert_cmpuint(post_relid(&f, VMBUS_GUEST_RELID_RELEASED,
                                    ldl_le_p(m.payload + 8)), ==, 0);
    }
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");
    qtest_quit(f.qts);
}

/* An open subchannel survives migration. */
static void test_subchannel_migrate(void)
{
    TDGuest f;
    VMBusGuestChannel sc1;
    QTestState *dst;
    g_autofree char *uri = g_strdup_printf("unix:%s/vmbus-sc-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());

    td_setup_open(&f, "");
    g_assert_cmpuint(td_inband(&f, TD_SUBCHANNELS, 1, 0, NULL), ==, 0);
    sc1 = take_subchannel(&f, 1, 0x1800000);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc1, 1), ==, 0);
    td_assert_echo_on(&f, &sc1);
    dst = qtest_initf("-M q35 -m 64 -smp 2 -cpu " TD_CPU
                      " -device vmbus-bridge -device vmbus-testdev,id=td"
                      " -incoming %s", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    f.qts = f.g.qts = dst;
    td_assert_echo_on(&f, &sc1);
    g_assert_true(vmbus_guest_event(&f.g, &sc1, 1));
    td_assert_echo(&f);
    vmbus_guest_close(&f.g, &sc1);
    qtest_quit(dst);
}

/* Guest->host message types, with their sizes. */
static const struct {
    uint32_t type, size;
} guest_msgs[] = {
    { VMBUS_GUEST_REQUESTOFFERS, 8 },
    { VMBUS_GUEST_OPENCHANNEL, 148 },
    { VMBUS_GUEST_CLOSECHANNEL, 12 },
    { VMBUS_GUEST_GPADL_HEADER, 20 },
    { VMBUS_GUEST_GPADL_BODY, 16 },
    { VMBUS_GUEST_GPADL_TEARDOWN, 16 },
    { VMBUS_GUEST_RELID_RELEASED, 12 },
    { VMBUS_GUEST_TL_CONNECT_REQUEST, 40 },
    { VMBUS_GUEST_MODIFYCHANNEL, 16 },
    { VMBUS_GUEST_UNLOAD, 8 },
};

/* Posts message @i, zero but for the channel id @relid where it has one. */
static uint16_t post_zero(TDGuest *f, int i, uint32_t conn, uint32_t relid,
                          int shorten)
{
    uint8_t body[232] = { 0 };

    if (guest_msgs[i].size >= 12 &&
        guest_msgs[i].type != VMBUS_GUEST_TL_CONNECT_REQUEST) {
        stl_le_p(body, relid);
    }
    return vmbus_guest_post(&f->g, 0, conn, guest_msgs[i].type, body,
                            guest_msgs[i].size - shorten);
}

static void assert_query(TDGuest *f, const char *state, int64_t channels,
                         int64_t open, int64_t gpadls)
{
    QDict *rsp = qtest_qmp(f->qts, "{'execute': 'query-vmbus'}");
    QDict *q = qdict_get_qdict(rsp, "return");
    g_autofree char *hmp = qtest_hmp(f->qts, "info vmbus");

    g_assert_cmpstr(qdict_get_str(q, "state"), ==, state);
    g_assert_cmpint(qdict_get_int(q, "channels"), ==, channels);
    g_assert_cmpint(qdict_get_int(q, "open-channels"), ==, open);
    g_assert_cmpint(qdict_get_int(q, "gpadls"), ==, gpadls);
    g_assert_cmpint(qdict_get_int(q, "queued-messages"), ==, 0);
    g_assert_nonnull(strstr(hmp, "VMBus: "));
    qobject_unref(rsp);
}

/* Takes what the host answered to message @i in the connected state. */
static void take_answer(TDGuest *f, uint32_t type)
{
    switch (type) {
    case VMBUS_GUEST_REQUESTOFFERS:
        vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_ALLOFFERS_DELIVERED);
        break;
    case VMBUS_GUEST_OPENCHANNEL: {
        HvpMessage m = vmbus_guest_recv(&f->g, 0,
                                        VMBUS_GUEST_OPENCHANNEL_RESULT);

        g_assert_cmpuint((uint32_t)ldl_le_p(m.payload + 16), ==,
                         TD_STATUS_UNSUCCESSFUL);
        break;
    }
    case VMBUS_GUEST_TL_CONNECT_REQUEST:
        vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_TL_CONNECT_RESULT);
        break;
    case VMBUS_GUEST_MODIFYCHANNEL:
        vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_MODIFYCHANNEL_RESPONSE);
        break;
    case VMBUS_GUEST_UNLOAD:
        vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_UNLOAD_RESPONSE);
        break;
    }
}

/*
 * Every guest message, truncated and whole, before contact, connected
 * with a channel open, and after UNLOAD: each gets its status or answer,
 * and the bus stays usable and its accounting sane.
 */
static void test_every_message(void)
{
    TDGuest f;
    HvpMessage offer;
    static const uint16_t connected_status[] = {
        [VMBUS_GUEST_REQUESTOFFERS] = 0,
        [VMBUS_GUEST_OPENCHANNEL] = 0,      /* answered: open is refused */
        [VMBUS_GUEST_CLOSECHANNEL] = HVP_STATUS_INVALID_PARAMETER,
        [VMBUS_GUEST_GPADL_HEADER] = HVP_STATUS_INVALID_PARAMETER,
        [VMBUS_GUEST_GPADL_BODY] = HVP_STATUS_INVALID_PARAMETER,
        [VMBUS_GUEST_GPADL_TEARDOWN] = HVP_STATUS_INVALID_PARAMETER,
        [VMBUS_GUEST_RELID_RELEASED] = 0,   /* logged, ignored */
        [VMBUS_GUEST_TL_CONNECT_REQUEST] = 0,
        [VMBUS_GUEST_MODIFYCHANNEL] = 0,    /* answered with a failure */
        [VMBUS_GUEST_UNLOAD] = 0,
    };

    td_setup(&f, "");
    vmbus_guest_unload(&f.g);
    for (int round = 0; round < 2; round++) {
        /* Disconnected (before contact, then after UNLOAD). */
        for (int i = 0; i < ARRAY_SIZE(guest_msgs); i++) {
            g_assert_cmpuint(post_zero(&f, i, 4, 1, 1), ==,
                             HVP_STATUS_INVALID_HYPERCALL_INPUT);
            g_assert_cmpuint(post_zero(&f, i, 4, 1, 0), ==,
                             HVP_STATUS_INVALID_CONNECTION_ID);
            g_assert_cmpuint(post_zero(&f, i, 1, 1, 0), ==,
                             HVP_STATUS_INVALID_CONNECTION_ID);
        }
        assert_query(&f, "disconnected", 0, 0, 0);

        /* Connected, the channel offered and open; channel id 1 or 7. */
        vmbus_guest_connect(&f.g, VMBUS_GUEST_V5_3);
        g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
        g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
        for (int i = 0; i < ARRAY_SIZE(guest_msgs) - 1; i++) {
            uint32_t type = guest_msgs[i].type;

            g_assert_cmpuint(post_zero(&f, i, 4, 7, 1), ==,
                             HVP_STATUS_INVALID_HYPERCALL_INPUT);
            g_assert_cmpuint(post_zero(&f, i, 1, 7, 0), ==,
                             HVP_STATUS_INVALID_CONNECTION_ID);
            g_assert_cmpuint(post_zero(&f, i, 4, 7, 0), ==,
                             type == VMBUS_GUEST_OPENCHANNEL ||
                             type == VMBUS_GUEST_MODIFYCHANNEL ?
                             HVP_STATUS_INVALID_PARAMETER :
                             connected_status[type]);
            take_answer(&f, type == VMBUS_GUEST_OPENCHANNEL ||
                        type == VMBUS_GUEST_MODIFYCHANNEL ? 0 : type);
            /* The open channel's id: a second open, a modify to VP 0... */
            if (type != VMBUS_GUEST_CLOSECHANNEL &&
                type != VMBUS_GUEST_RELID_RELEASED) {
                g_assert_cmpuint(post_zero(&f, i, 4, f.ch.relid, 0), ==,
                                 connected_status[type]);
                take_answer(&f, type);
            }
            td_assert_echo(&f);
        }
        assert_query(&f, "connected", 1, 1, 1);
        /* UNLOAD closes the channel and forgets the GPADL. */
        g_assert_cmpuint(post_zero(&f, ARRAY_SIZE(guest_msgs) - 1, 4, 0, 0),
                         ==, 0);
        take_answer(&f, VMBUS_GUEST_UNLOAD);
        assert_query(&f, "disconnected", 0, 0, 0);
    }
    qtest_quit(f.qts);
}

/* Channels at each protocol version, including the pre-2.4 signals. */
static void test_versions(const void *data)
{
    uint32_t version = GPOINTER_TO_UINT(data);
    TDGuest f;
    HvpMessage offer;

    f.qts = qtest_init("-M q35 -m 64 -smp 2 -cpu " TD_CPU
                       " -device vmbus-bridge -device vmbus-testdev,id=td");
    vmbus_guest_init(&f.g, f.qts, 2, TD_SINT);
    vmbus_guest_connect(&f.g, version);
    g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
    f.ch = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer.payload + 184),
        .connid = ldl_le_p(offer.payload + 192),
        .gpadl = 0xe1e10, .ring_gpa = VMBUS_GUEST_MEM,
        .send_pages = 4, .recv_pages = 4,
    };
    /* Before 2.4 channel events go to VP 0 whatever the guest names. */
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 1), ==, 0);
    for (int i = 0; i < 3; i++) {
        td_assert_echo(&f);
        g_assert_true(vmbus_guest_event(&f.g, &f.ch,
                                        version < 0x00020004 ? 0 : 1));
    }
    vmbus_guest_close(&f.g, &f.ch);
    qtest_quit(f.qts);
}

/*
 * Before 2.4 the guest names its interrupt page: one that is not a page
 * of RAM (unaligned, or MMIO) is never touched, and the channel still
 * carries packets.
 */
static void test_bad_int_page(void)
{
    static const uint64_t pages[] = { VMBUS_GUEST_INT_PAGE + 8, 0xfee00000 };

    for (int i = 0; i < ARRAY_SIZE(pages); i++) {
        TDGuest f;
        HvpMessage offer;

        f.qts = qtest_init("-M q35 -m 64 -smp 2 -cpu " TD_CPU
                           " -device vmbus-bridge -device vmbus-testdev");
        vmbus_guest_init(&f.g, f.qts, 2, TD_SINT);
        f.g.int_page = pages[i];
        qtest_memset(f.qts, VMBUS_GUEST_INT_PAGE, 0, TD_PAGE);
        vmbus_guest_connect(&f.g, 0x00010001);
        g_assert_cmpint(vmbus_guest_request_offers(&f.g, &offer, 1), ==, 1);
        f.ch = (VMBusGuestChannel) {
            .relid = ldl_le_p(offer.payload + 184),
            .connid = ldl_le_p(offer.payload + 192),
            .gpadl = 1, .ring_gpa = VMBUS_GUEST_MEM,
            .send_pages = 4, .recv_pages = 4,
        };
        g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
        /* The guest signals on its dedicated connection id. */
        f.g.version = 0x00020004;
        td_assert_echo(&f);
        f.g.version = 0x00010001;
        /* Flag 0 is raised; the page the guest named stays untouched. */
        g_assert_true(hvp_test_and_clear_event(f.qts, 0, TD_SINT, 0));
        g_assert_cmpuint(qtest_readq(f.qts, VMBUS_GUEST_INT_PAGE), ==, 0);
        g_assert_cmpuint(qtest_readq(f.qts, VMBUS_GUEST_INT_PAGE + 8), ==,
                         0);
        qtest_quit(f.qts);
    }
}

int main(int argc, char **argv)
{
    static const uint32_t versions[] = {
        0x0000000d, 0x00010001, 0x00020004, 0x00030000, 0x00040000,
        0x00040001, 0x00050000, 0x00050001, 0x00050002, 0x00050003,
    };

    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < ARRAY_SIZE(versions); i++) {
        g_autofree char *name = g_strdup_printf("/vmbus/channel/version/"
                                                "%u.%u", versions[i] >> 16,
                                                versions[i] & 0xffff);

        qtest_add_data_func(name, GUINT_TO_POINTER(versions[i]),
                            test_versions);
    }
    qtest_add_func("/vmbus/channel/open-echo", test_open_echo);
    qtest_add_func("/vmbus/channel/open-errors", test_open_errors);
    qtest_add_func("/vmbus/channel/open-refused", test_open_refused);
    qtest_add_func("/vmbus/channel/gpa-direct", test_gpa_direct);
    qtest_add_func("/vmbus/channel/flow-control", test_flow_control);
    qtest_add_func("/vmbus/channel/xfer-pages", test_xfer_pages);
    qtest_add_func("/vmbus/channel/broken-ring", test_broken_ring);
    qtest_add_func("/vmbus/channel/unload-reconnect", test_unload_reconnect);
    qtest_add_func("/vmbus/channel/modify", test_modify_channel);
    qtest_add_func("/vmbus/channel/migrate-open", test_migrate_open);
    qtest_add_func("/vmbus/channel/unplug-open", test_unplug_open);
    qtest_add_func("/vmbus/channel/bad-int-page", test_bad_int_page);
    qtest_add_func("/vmbus/channel/every-message", test_every_message);
    qtest_add_func("/vmbus/channel/subchannels", test_subchannels);
    qtest_add_func("/vmbus/channel/subchannel-migrate",
                   test_subchannel_migrate);
    return g_test_run();
}
