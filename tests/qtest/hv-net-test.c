/*
 * qtest: hv-net, the synthetic NIC (qemu-vmbus)
 *
 * The test is Linux's netvsc (vmbus-netvsc-guest.h) and the far end of the
 * NIC's netdev, a unix datagram socket: it probes the NIC at each NVSP
 * version, sends frames from send-buffer sections, GPA-direct and in
 * batches and finds them byte for byte on the socket, puts frames on the
 * socket and finds them in the receive buffer, with their checksum, VLAN
 * and hash information, uses the checksum, VLAN and segmentation offloads,
 * spreads receive traffic over subchannels by RSS, flaps the link, sends
 * malformed messages, closes and reopens the channel, resets the machine,
 * unplugs and plugs the NIC, and migrates with frames and answers the
 * guest has not taken. The /hv-net/regression/ cases are the bugs these
 * tests found, fixed.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "qtest-util.h"
#include "vmbus-netvsc-guest.h"

#define ETH_HLEN        14
#define IP4_HLEN        20
#define IP6_HLEN        40
#define TCP_HLEN        20
#define UDP_HLEN        8
#define PROTO_TCP       6
#define PROTO_UDP       17

/* The biggest frame a test puts on the wire or sends. */
#define FRAME_MAX       (64 * KiB)

static const uint8_t nic_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x0a, 0x0b, 0x0c };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x99, 0x99, 0x99 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/*
 * Frames
 * ------
 */

/* A frame to build: Ethernet, IPv4 or IPv6, TCP or UDP, a payload. */
typedef struct Frame {
    const uint8_t *dst;             /* NULL: the NIC */
    bool ip6;
    uint8_t proto;                  /* PROTO_TCP or PROTO_UDP */
    uint8_t src_ip[16], dst_ip[16];
    uint16_t sport, dport;
    uint32_t seq;
    uint32_t len;                   /* of the payload */
    uint8_t seed;                   /* the payload's pattern */
} Frame;

static uint8_t payload_byte(const Frame *fr, uint32_t i)
{
    return i * 7 + fr->seed + (i >> 8);
}

/* The one's complement sum of @len bytes, on top of @sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i + 1 < len; i += 2) {
        sum += p[i] << 8 | p[i + 1];
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* The pseudo header's sum for an L4 segment of @l4_len bytes. */
static uint32_t pseudo_sum(const uint8_t *l3, bool ip6, uint8_t proto,
                           uint32_t l4_len)
{
    uint32_t sum;

    if (ip6) {
        sum = csum_add(0, l3 + 8, 32);
    } else {
        sum = csum_add(0, l3 + 12, 8);
    }
    return sum + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

static uint32_t l3_len(const Frame *fr)
{
    return fr->ip6 ? IP6_HLEN : IP4_HLEN;
}

static uint32_t l4_hlen(const Frame *fr)
{
    return fr->proto == PROTO_TCP ? TCP_HLEN : UDP_HLEN;
}

/* Offsets of the L4 header and its checksum in the frame. */
static uint32_t l4_off(const Frame *fr)
{
    return ETH_HLEN + l3_len(fr);
}

static uint32_t csum_off(const Frame *fr)
{
    return l4_off(fr) + (fr->proto == PROTO_TCP ? 16 : 6);
}

/* Builds @fr into @buf with right checksums; returns its length. */
static uint32_t build_frame(uint8_t *buf, const Frame *fr)
{
    uint32_t l4_len = l4_hlen(fr) + fr->len;
    uint32_t len = l4_off(fr) + l4_len;
    uint8_t *l3 = buf + ETH_HLEN, *l4 = buf + l4_off(fr);

    g_assert_cmpuint(len, <=, FRAME_MAX);
    memset(buf, 0, l4_off(fr) + l4_hlen(fr));
    memcpy(buf, fr->dst ? fr->dst : nic_mac, 6);
    memcpy(buf + 6, peer_mac, 6);
    if (fr->ip6) {
        stw_be_p(buf + 12, 0x86dd);
        l3[0] = 0x60;
        stw_be_p(l3 + 4, l4_len);
        l3[6] = fr->proto;
        l3[7] = 64;
        memcpy(l3 + 8, fr->src_ip, 16);
        memcpy(l3 + 24, fr->dst_ip, 16);
    } else {
        stw_be_p(buf + 12, 0x0800);
        l3[0] = 0x45;
        stw_be_p(l3 + 2, IP4_HLEN + l4_len);
        stw_be_p(l3 + 4, 0x1234);           /* id */
        stw_be_p(l3 + 6, 0x4000);           /* don't fragment */
        l3[8] = 64;
        l3[9] = fr->proto;
        memcpy(l3 + 12, fr->src_ip, 4);
        memcpy(l3 + 16, fr->dst_ip, 4);
        stw_be_p(l3 + 10, ~csum_fold(csum_add(0, l3, IP4_HLEN)));
    }
    stw_be_p(l4, fr->sport);
    stw_be_p(l4 + 2, fr->dport);
    if (fr->proto == PROTO_TCP) {
        stl_be_p(l4 + 4, fr->seq);
        stl_be_p(l4 + 8, 0x1000);           /* ack */
        l4[12] = 5 << 4;
        l4[13] = 0x18;                      /* PSH, ACK */
        stw_be_p(l4 + 14, 0xfaf0);          /* window */
    } else {
        stw_be_p(l4 + 4, l4_len);
    }
    for (uint32_t i = 0; i < fr->len; i++) {
        l4[l4_hlen(fr) + i] = payload_byte(fr, i);
    }
    stw_be_p(buf + csum_off(fr),
             ~csum_fold(csum_add(pseudo_sum(l3, fr->ip6, fr->proto, l4_len),
                                 l4, l4_len)));
    return len;
}

/* An IPv4 TCP frame to the NIC from 10.0.0.@host:@sport. */
static Frame tcp4(uint8_t host, uint16_t sport, uint32_t len)
{
    return (Frame) {
        .proto = PROTO_TCP,
        .src_ip = { 10, 0, 0, host }, .dst_ip = { 10, 0, 0, 1 },
        .sport = sport, .dport = 80, .seq = 0x10000000, .len = len,
        .seed = host ^ sport,
    };
}

static Frame udp4(uint8_t host, uint16_t sport, uint32_t len)
{
    Frame fr = tcp4(host, sport, len);

    fr.proto = PROTO_UDP;
    fr.dport = 53;
    return fr;
}

static Frame tcp6(uint8_t host, uint16_t sport, uint32_t len)
{
    Frame fr = tcp4(host, sport, len);

    fr.ip6 = true;
    memset(fr.src_ip, 0, 16);
    memset(fr.dst_ip, 0, 16);
    fr.src_ip[0] = fr.dst_ip[0] = 0xfd;
    fr.src_ip[15] = host;
    fr.dst_ip[15] = 1;
    return fr;
}

/*
 * A frame of no IP: @len bytes to @dst, ethertype 0x88b5, numbered @n
 * (when there is room for the number).
 */
static uint32_t build_raw(uint8_t *buf, const uint8_t *dst, uint32_t len,
                          uint32_t n)
{
    g_assert_cmpuint(len, >=, ETH_HLEN);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, peer_mac, 6);
    stw_be_p(buf + 12, 0x88b5);
    if (len >= ETH_HLEN + 4) {
        stl_be_p(buf + ETH_HLEN, n);
    }
    for (uint32_t i = ETH_HLEN + 4; i < len; i++) {
        buf[i] = i ^ n;
    }
    return len;
}

/* Whether the IPv4 header of a frame has a right checksum. */
static bool ip4_csum_ok(const uint8_t *frame)
{
    return csum_fold(csum_add(0, frame + ETH_HLEN, IP4_HLEN)) == 0xffff;
}

/* Whether the L4 segment of a frame (of @len bytes) has a right sum. */
static bool l4_csum_ok(const uint8_t *frame, uint32_t len, const Frame *fr)
{
    const uint8_t *l3 = frame + ETH_HLEN;
    uint32_t l4_len = len - l4_off(fr);

    return csum_fold(csum_add(pseudo_sum(l3, fr->ip6, fr->proto, l4_len),
                              frame + l4_off(fr), l4_len)) == 0xffff;
}

/* Puts @len bytes of @frame on the wire; asserts the guest gets them. */
static NVRndis *inject(NVGuest *f, const uint8_t *frame, uint32_t len)
{
    NVRndis *m;
    const uint8_t *data;
    uint32_t got;

    nv_wire_send(f, frame, len);
    m = nv_wait_frame(f);
    data = nv_frame(m, &got);
    g_assert_cmpuint(got, ==, len);
    g_assert_cmpmem(data, got, frame, len);
    return m;
}

/* Sends @frame @via; asserts it comes out on the wire as it was. */
static void transmit(NVGuest *f, uint16_t chan, const uint8_t *frame,
                     uint32_t len, NVVia via)
{
    g_autofree uint8_t *out = g_malloc(FRAME_MAX + 1);

    g_assert_cmpuint(nv_send_frame(f, chan, frame, len, NULL, 0, via), ==,
                     NV_STAT_SUCCESS);
    g_assert_cmpuint(nv_wire_recv(f, out, FRAME_MAX + 1), ==, len);
    g_assert_cmpmem(out, len, frame, len);
}

/* The NIC carries frames both ways. */
static void assert_traffic(NVGuest *f)
{
    uint8_t frame[128];
    Frame fr = tcp4(2, 1000, 60);
    uint32_t len = build_frame(frame, &fr);

    nv_rndis_free(inject(f, frame, len));
    fr.dst = peer_mac;
    len = build_frame(frame, &fr);
    transmit(f, 0, frame, len, NV_VIA_SECTION);
    transmit(f, 0, frame, len, NV_VIA_GPA);
}

/*
 * Initialization
 * --------------
 */

typedef struct InitCase {
    const char *name;
    uint32_t version;
    const char *props;
    uint32_t link_speed;            /* Mbit/s */
    uint16_t queues;
} InitCase;

static const InitCase init_cases[] = {
    { "1", NV_VERSION_1, "", 10000, 1 },
    { "2", NV_VERSION_2, ",link-speed=1000", 1000, 1 },
    { "4", NV_VERSION_4, ",queues=4", 10000, 4 },
    { "5", NV_VERSION_5, ",queues=4", 10000, 4 },
    { "6", NV_VERSION_6, "", 10000, 1 },
    { "6.1", NV_VERSION_61, ",queues=2,link-speed=25000", 25000, 2 },
};

/* What OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES says, by its offsets. */
#define CAPS_IP4_TXCSUM     8
#define CAPS_IP6_TXCSUM     24
#define CAPS_LSO4_ENCAP     80
#define CAPS_LSO4_MAXSZ     84
#define CAPS_LSO6_ENCAP     92
#define CAPS_LSO6_OPTS      104

/*
 * netvsc's probe at one version, step by step, each answer checked as the
 * guest checks it and for what the machine was started with.
 */
static void test_init(const void *data)
{
    const InitCase *c = data;
    uint32_t v = c->version;
    uint32_t caps_size = v >= NV_VERSION_5 ? 156 : v >= NV_VERSION_4 ? 144 :
                         112;
    uint8_t msg[NV_MSG_SIZE], out[NV_QUERY_MAX], caps[156] = { 0 };
    uint8_t params[28] = { 0 }, rss[18] = { 0 };
    uint32_t len, chosen;
    NVGuest f;

    nv_boot(&f, c->props);
    nv_open(&f);
    g_assert_cmpuint(nv_nvsp_init(&f, v, v, &chosen), ==, NV_STAT_SUCCESS);
    g_assert_cmphex(chosen, ==, v);
    if (v >= NV_VERSION_2) {
        memset(msg, 0, sizeof(msg));
        stl_le_p(msg, NV_MSG_SEND_NDIS_CONFIG);
        stl_le_p(msg + 4, 1514);
        stq_le_p(msg + 12, 1 << 3);
        nv_send_nvsp(&f, 0, msg, sizeof(msg), false);
    }
    memset(msg, 0, sizeof(msg));
    stl_le_p(msg, NV_MSG_SEND_NDIS_VERSION);
    stl_le_p(msg + 4, 6);
    stl_le_p(msg + 8, v >= NV_VERSION_5 ? 30 : 1);
    nv_send_nvsp(&f, 0, msg, sizeof(msg), false);

    /* Slots that hold a whole frame with its RNDIS headers. */
    g_assert_cmpuint(nv_recv_buf(&f, NV_RECV_BUF_GPA, NV_RECV_BUF_SIZE,
                                 NV_RECV_GPADL), ==, NV_STAT_SUCCESS);
    g_assert_cmpuint(f.rx_slot_size, >=, 1514 + NV_PKT_HDR + 2 * 16);
    g_assert_cmpuint(f.rx_slot_size, ==, 1728);     /* as Hyper-V */
    g_assert_cmpuint(f.rx_nslots, ==, NV_RECV_BUF_SIZE / f.rx_slot_size);
    g_assert_cmpuint(nv_send_buf(&f, NV_SEND_BUF_GPA, NV_SEND_BUF_SIZE,
                                 NV_SEND_GPADL), ==, NV_STAT_SUCCESS);
    g_assert_cmpuint(f.tx_section_size, ==, 6144);
    g_assert_cmpuint(f.tx_nsections, ==, 170);

    nv_rndis_init(&f);
    g_assert_cmpuint(f.max_pkt_per_msg, >=, 2);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_MAXIMUM_FRAME_SIZE), ==, 1500);
    g_assert_cmphex(nv_query(&f, NV_OID_PERMANENT_ADDRESS, NULL, 0, out,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, 6);
    g_assert_cmpmem(out, 6, nic_mac, 6);
    g_assert_cmphex(nv_query(&f, NV_OID_CURRENT_ADDRESS, NULL, 0, out,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpmem(out, len, nic_mac, 6);
    /* A name in UTF-16, within the 512 bytes Linux gives it. */
    if (nv_query(&f, NV_OID_FRIENDLY_NAME, NULL, 0, out, &len) ==
        NV_RNDIS_SUCCESS) {
        g_assert_cmpuint(len % 2, ==, 0);
        g_assert_cmpuint(len, >=, 2);
        g_assert_cmpuint(out[0], >=, 0x20);
        g_assert_cmpuint(out[1], ==, 0);
    }

    /* The offload capabilities, at the size and revision Linux expects. */
    caps[0] = 0xa7;
    caps[1] = caps_size == 156 ? 3 : caps_size == 144 ? 2 : 1;
    stw_le_p(caps + 2, caps_size);
    g_assert_cmphex(nv_query(&f, NV_OID_OFFLOAD_HW_CAPS, caps, caps_size,
                             out, &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, caps_size);
    g_assert_cmphex(out[0], ==, 0xa7);
    g_assert_cmpuint(out[1], ==, caps[1]);
    g_assert_cmpuint(lduw_le_p(out + 2), ==, caps_size);
    /* TCP and UDP checksums and LSO v2, IPv4 and IPv6 (what tests use). */
    g_assert_cmphex(ldl_le_p(out + CAPS_IP4_TXCSUM) & 0x54, ==, 0x54);
    g_assert_cmphex(ldl_le_p(out + CAPS_IP6_TXCSUM) & 0x55, ==, 0x55);
    g_assert_cmphex(ldl_le_p(out + CAPS_LSO4_ENCAP) & 2, ==, 2);
    g_assert_cmpuint(ldl_le_p(out + CAPS_LSO4_MAXSZ), >=, 16000);
    g_assert_cmphex(ldl_le_p(out + CAPS_LSO6_ENCAP) & 2, ==, 2);
    g_assert_cmphex(ldl_le_p(out + CAPS_LSO6_OPTS) & 5, ==, 5);

    params[0] = 0x80;
    params[1] = 3;
    stw_le_p(params + 2, v <= NV_VERSION_4 ? 22 : 28);
    params[4] = 1;                          /* what Linux sends at least */
    g_assert_cmphex(nv_set(&f, NV_OID_OFFLOAD_PARAMETERS, params,
                           sizeof(params)), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_MEDIA_CONNECT_STATUS), ==, 0);
    /* In units of 100 bit/s */
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_LINK_SPEED), ==,
                     c->link_speed * 10000);
    rss[0] = 0x88;
    rss[1] = 2;
    stw_le_p(rss + 2, sizeof(rss));
    if (c->queues > 1) {
        g_assert_cmphex(nv_query(&f, NV_OID_RSS_CAPABILITIES, rss,
                                 sizeof(rss), out, &len), ==,
                        NV_RNDIS_SUCCESS);
        g_assert_cmpuint(len, ==, 18);
        g_assert_cmphex(out[0], ==, 0x88);
        g_assert_cmpuint(ldl_le_p(out + 12), ==, c->queues);
        g_assert_cmpuint(lduw_le_p(out + 16), >=, 1);
        g_assert_cmpuint(lduw_le_p(out + 16), <=, 256);
    } else {
        /* One queue: a failure, or fewer than two. */
        if (nv_query(&f, NV_OID_RSS_CAPABILITIES, rss, sizeof(rss), out,
                     &len) == NV_RNDIS_SUCCESS) {
            g_assert_cmpuint(len, ==, 18);
            g_assert_cmpuint(ldl_le_p(out + 12), <, 2);
        }
    }
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Versions: Linux's order of tries, ranges, and what waits for INIT.
 */
static void test_init_negotiate(void)
{
    static const uint32_t linux_order[] = {
        NV_VERSION_61, NV_VERSION_6, NV_VERSION_5, NV_VERSION_4,
        NV_VERSION_2, NV_VERSION_1,
    };
    uint8_t body[8] = { 0 };
    uint32_t chosen;
    NVComp c;
    NVGuest f;

    nv_boot(&f, "");
    nv_open(&f);
    /* No buffer before a version. */
    g_assert_cmpuint(nv_recv_buf(&f, NV_RECV_BUF_GPA, NV_RECV_BUF_SIZE,
                                 NV_RECV_GPADL), ==, NV_STAT_FAIL);
    nv_gpadl_teardown(&f, NV_RECV_GPADL);
    g_assert_cmpuint(nv_send_buf(&f, NV_SEND_BUF_GPA, NV_SEND_BUF_SIZE,
                                 NV_SEND_GPADL), ==, NV_STAT_FAIL);
    nv_gpadl_teardown(&f, NV_SEND_GPADL);

    /* A version from the future, then Linux's list: the first fits. */
    g_assert_cmpuint(nv_nvsp_init(&f, 0x00070000, 0x00070000, NULL), ==,
                     NV_STAT_FAIL);
    g_assert_cmphex(f.version, ==, 0);
    for (int i = 0; i < ARRAY_SIZE(linux_order); i++) {
        if (nv_nvsp_init(&f, linux_order[i], linux_order[i], &chosen) ==
            NV_STAT_SUCCESS) {
            break;
        }
    }
    g_assert_cmphex(f.version, ==, NV_VERSION_61);
    /* The newest version in a range; none in a range without one. */
    g_assert_cmpuint(nv_nvsp_init(&f, NV_VERSION_1, 0x00090000, &chosen),
                     ==, NV_STAT_SUCCESS);
    g_assert_cmphex(chosen, ==, NV_VERSION_61);
    g_assert_cmpuint(nv_nvsp_init(&f, NV_VERSION_2, NV_VERSION_4, &chosen),
                     ==, NV_STAT_SUCCESS);
    g_assert_cmphex(chosen, ==, NV_VERSION_4);
    g_assert_cmpuint(nv_nvsp_init(&f, 0x00040001, 0x0004ffff, NULL), ==,
                     NV_STAT_FAIL);
    g_assert_cmpuint(nv_nvsp_init(&f, NV_VERSION_61, NV_VERSION_1, NULL),
                     ==, NV_STAT_FAIL);

    /* Each buffer once. */
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    g_assert_cmpuint(nv_recv_buf(&f, NV_RECV_BUF_GPA + NV_RECV_BUF_SIZE,
                                 2 * NV_PAGE, NV_RECV_GPADL + 1), ==,
                     NV_STAT_FAIL);
    g_assert_cmpuint(nv_send_buf(&f, NV_SEND_BUF_GPA + NV_SEND_BUF_SIZE + 4096,
                                 6144, NV_SEND_GPADL + 1), ==, NV_STAT_FAIL);
    nv_gpadl_teardown(&f, NV_RECV_GPADL + 1);
    nv_gpadl_teardown(&f, NV_SEND_GPADL + 1);
    /* The switch to a VF that is not there: granted, nothing changes. */
    stl_le_p(body, 1);
    c = nv_nvsp(&f, 0, NV_MSG_SWITCH_DATA_PATH, body, 4);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SWITCH_DATA_PATH);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Transmit
 * --------
 */

/* The next frame on the wire is @len bytes of @frame. */
static void assert_wire(NVGuest *f, const uint8_t *frame, uint32_t len)
{
    g_autofree uint8_t *out = g_malloc(FRAME_MAX + 1);

    g_assert_cmpuint(nv_wire_recv(f, out, FRAME_MAX + 1), ==, len);
    g_assert_cmpmem(out, len, frame, len);
}

/* Frames of every size from a send section, one a section. */
static void test_tx_section(void)
{
    static const uint32_t sizes[] = { 14, 60, 61, 64, 1000, 1514, 6100 };
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *pkt = g_malloc(6144);
    uint32_t sent, len, msg_len, xmit, last;
    uint64_t t;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    xmit = nv_query_u32(&f, NV_OID_XMIT_OK);
    for (int i = 0; i < ARRAY_SIZE(sizes); i++) {
        len = build_raw(frame, peer_mac, sizes[i], i);
        transmit(&f, 0, frame, len, NV_VIA_SECTION);
    }
    sent = ARRAY_SIZE(sizes);

    /* The last section of the buffer, filled to its last byte. */
    g_assert_cmpuint(f.tx_section_size, ==, 6144);
    last = f.tx_nsections - 1;
    len = build_raw(frame, peer_mac, f.tx_section_size - NV_PKT_HDR, 99);
    msg_len = nv_build_packet(pkt, frame, len, NULL, 0, 0);
    g_assert_cmpuint(msg_len, ==, f.tx_section_size);
    nv_section_write(&f, last, 0, pkt, msg_len);
    t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, last, msg_len, NULL, 0);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);
    sent++;

    /* A data packet sent as control, in a section of its own size. */
    len = build_raw(frame, peer_mac, 60, 100);
    nv_build_packet(pkt, frame, len, NULL, 0, 0);
    g_assert_cmpuint(nv_wait_send(&f, 0, nv_send_rndis(&f, 0,
                                                       NV_CHANNEL_CONTROL,
                                                       pkt, NV_PKT_HDR + len,
                                                       NV_VIA_SECTION)), ==,
                     NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);
    sent++;
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_XMIT_OK), ==, xmit + sent);
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * GPA-direct packets as Linux builds them: the RNDIS message in one range
 * across a page boundary; header and frame in ranges of their own, the
 * frame's pages in any order; and part in a section, the rest in ranges.
 */
static void test_tx_gpa(void)
{
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *pkt = g_malloc(FRAME_MAX);
    const uint64_t base = NV_DATA_GPA;
    uint32_t len, msg_len;
    NVRange r[4];
    uint64_t t;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    /* One range, 100 bytes before a page ends. */
    len = build_raw(frame, peer_mac, 1514, 1);
    msg_len = nv_build_packet(pkt, frame, len, NULL, 0, 0);
    r[0] = (NVRange) { base + NV_PAGE - 100, msg_len };
    qtest_memwrite(f.qts, r[0].gpa, pkt, msg_len);
    t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, NV_NO_SECTION, 0, r, 1);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);

    /* Header; linear part over three pages; a page fragment. */
    len = build_raw(frame, peer_mac, 9000, 2);
    nv_build_packet(pkt, frame, len, NULL, 0, 0);
    r[0] = (NVRange) { base + 0x10000 + 0xf80, NV_PKT_HDR };
    r[1] = (NVRange) { base + 0x20000 + 0x800, 8000 };
    r[2] = (NVRange) { base + 0x30000 + 0x123, len - 8000 };
    qtest_memwrite(f.qts, r[0].gpa, pkt, NV_PKT_HDR);
    qtest_memwrite(f.qts, r[1].gpa, frame, 8000);
    qtest_memwrite(f.qts, r[2].gpa, frame + 8000, len - 8000);
    t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, NV_NO_SECTION, 0, r, 3);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);

    /* Partial copy: header and 100 bytes in a section, the rest GPA. */
    len = build_raw(frame, peer_mac, 3000, 3);
    msg_len = nv_build_packet(pkt, frame, len, NULL, 0, 0);
    nv_section_write(&f, 7, 0, pkt, NV_PKT_HDR + 100);
    r[0] = (NVRange) { base + 0x40000 + 0xffc, msg_len - NV_PKT_HDR - 100 };
    qtest_memwrite(f.qts, r[0].gpa, pkt + NV_PKT_HDR + 100, r[0].len);
    t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, 7, NV_PKT_HDR + 100, r, 1);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);

    /* A whole packet in the section, then the next one's header. */
    {
        uint8_t first[NV_PKT_HDR + 64 + 64];   /* room for the padding */
        uint8_t raw[64];
        uint32_t first_len, raw_len = build_raw(raw, peer_mac, 64, 4);

        first_len = nv_build_packet(first, raw, raw_len, NULL, 0,
                                    1 << f.pkt_alignment);
        len = build_raw(frame, peer_mac, 1400, 5);
        nv_build_packet(pkt, frame, len, NULL, 0, 0);
        nv_section_write(&f, 8, 0, first, first_len);
        nv_section_write(&f, 8, first_len, pkt, NV_PKT_HDR);
        r[0] = (NVRange) { base + 0x50000 + 0x10, len };
        qtest_memwrite(f.qts, r[0].gpa, frame, len);
        t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, 8,
                              first_len + NV_PKT_HDR, r, 1);
        g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
        assert_wire(&f, raw, raw_len);
        assert_wire(&f, frame, len);
    }
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Batches: as many packets as INIT_C allows in one section, each but the
 * last padded to the alignment it asked for; and a control message
 * between two frames.
 */
static void test_tx_batch(void)
{
    g_autofree uint8_t *sec = g_malloc0(6144);
    uint8_t frames[8][256], *query;
    uint32_t lens[8], pos = 0, align, req;
    uint64_t t;
    NVRndis *m;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    align = 1 << f.pkt_alignment;
    g_assert_cmpuint(f.max_pkt_per_msg, >=, 8);
    for (int i = 0; i < 8; i++) {
        lens[i] = build_raw(frames[i], peer_mac, 60 + i * 13, i);
        pos += nv_build_packet(sec + pos, frames[i], lens[i], NULL, 0,
                               i < 7 ? align : 0);
        if (i < 7) {
            g_assert_cmpuint(pos % align, ==, 0);
        }
    }
    nv_section_write(&f, 3, 0, sec, pos);
    t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA, 3, pos, NULL, 0);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    for (int i = 0; i < 8; i++) {
        assert_wire(&f, frames[i], lens[i]);
    }

    /* Frame, QUERY (padded too), frame: GPA-direct this time. */
    req = ++f.req_id;
    memset(sec, 0, 6144);
    pos = nv_build_packet(sec, frames[0], lens[0], NULL, 0, align);
    query = sec + pos;
    stl_le_p(query, NV_RNDIS_QUERY);
    stl_le_p(query + 4, ROUND_UP(NV_QUERY_HDR, align));
    stl_le_p(query + 8, req);
    stl_le_p(query + 12, NV_OID_MEDIA_CONNECT_STATUS);
    stl_le_p(query + 20, 20);
    pos += ROUND_UP(NV_QUERY_HDR, align);
    pos += nv_build_packet(sec + pos, frames[1], lens[1], NULL, 0, 0);
    t = nv_send_rndis(&f, 0, NV_CHANNEL_DATA, sec, pos, NV_VIA_GPA);
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    assert_wire(&f, frames[0], lens[0]);
    assert_wire(&f, frames[1], lens[1]);
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, req);
    g_assert_cmphex(ldl_le_p(m->data + 12), ==, NV_RNDIS_SUCCESS);
    nv_rndis_free(m);
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/* An IEEE 802.1Q PPI: the tag goes on the wire, checksums still right. */
static void test_tx_vlan(void)
{
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *want = g_malloc(FRAME_MAX);
    Frame fr = tcp4(2, 4000, 500);
    NVPpi ppi[2] = {
        /* priority 5, VLAN 100 */
        { NV_PPI_VLAN, 5 | 100 << 4 },
        { NV_PPI_CSUM, NV_TXCSUM_IPV4 | NV_TXCSUM_TCP | NV_TXCSUM_OFFSET(34) },
    };
    uint32_t len;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    fr.dst = peer_mac;
    len = build_frame(frame, &fr);
    /* What the wire carries: the tag after the addresses. */
    memcpy(want, frame, 12);
    stw_be_p(want + 12, 0x8100);
    stw_be_p(want + 14, 5 << 13 | 100);
    memcpy(want + 16, frame + 12, len - 12);
    stw_be_p(frame + csum_off(&fr), 0);
    for (NVVia via = NV_VIA_GPA; via <= NV_VIA_SECTION; via++) {
        g_assert_cmpuint(nv_send_frame(&f, 0, frame, len, ppi, 2, via), ==,
                         NV_STAT_SUCCESS);
        assert_wire(&f, want, len + 4);
    }
    /* CFI, VLAN 4095, priority 0; no checksum asked. */
    ppi[0].value = 8 | 4095 << 4;
    stw_be_p(want + 14, 1 << 12 | 4095);
    len = build_frame(frame, &fr);
    g_assert_cmpuint(nv_send_frame(&f, 0, frame, len, ppi, 1, NV_VIA_GPA), ==,
                     NV_STAT_SUCCESS);
    assert_wire(&f, want, len + 4);
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Offloads
 * --------
 */

typedef struct CsumCase {
    Frame (*make)(uint8_t host, uint16_t sport, uint32_t len);
    uint32_t flags;
    bool pseudo;                    /* the field holds the pseudo sum */
} CsumCase;

/*
 * TCP and UDP checksums over IPv4 and IPv6, the field zero or holding
 * the pseudo header's sum as Linux leaves it: right on the wire.
 */
static void test_tx_csum(void)
{
    static const CsumCase cases[] = {
        { tcp4, NV_TXCSUM_IPV4 | NV_TXCSUM_TCP | NV_TXCSUM_OFFSET(34) },
        { tcp4, NV_TXCSUM_IPV4 | NV_TXCSUM_TCP | NV_TXCSUM_OFFSET(34),
          true },
        { udp4, NV_TXCSUM_IPV4 | NV_TXCSUM_UDP },
        { udp4, NV_TXCSUM_IPV4 | NV_TXCSUM_UDP, true },
        { tcp6, NV_TXCSUM_IPV6 | NV_TXCSUM_TCP | NV_TXCSUM_OFFSET(54) },
        { tcp6, NV_TXCSUM_IPV6 | NV_TXCSUM_TCP | NV_TXCSUM_OFFSET(54),
          true },
    };
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *want = g_malloc(FRAME_MAX);
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        const CsumCase *c = &cases[i];
        Frame fr = c->make(3, 5000 + i, 1000 + i * 111);
        NVPpi ppi = { NV_PPI_CSUM, c->flags };
        uint32_t len, l4_len;

        fr.dst = peer_mac;
        len = build_frame(want, &fr);
        memcpy(frame, want, len);
        l4_len = len - l4_off(&fr);
        stw_be_p(frame + csum_off(&fr),
                 c->pseudo ? csum_fold(pseudo_sum(frame + ETH_HLEN, fr.ip6,
                                                  fr.proto, l4_len)) : 0);
        g_assert_cmpuint(nv_send_frame(&f, 0, frame, len, &ppi, 1,
                                       i % 2 ? NV_VIA_GPA :
                                       NV_VIA_SECTION), ==,
                         NV_STAT_SUCCESS);
        assert_wire(&f, want, len);
    }
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Sends @frame as Linux does with large ones: a range for the RNDIS
 * header and its PPIs, one for the frame across pages.
 */
static void send_split(NVGuest *f, const uint8_t *frame, uint32_t len,
                       const NVPpi *ppis, int nppis)
{
    g_autofree uint8_t *pkt = g_malloc(NV_PKT_HDR + 16 * nppis + len);
    uint32_t hdr = NV_PKT_HDR + 16 * nppis;
    NVRange r[2] = {
        { NV_DATA_GPA + 0x3fe0, hdr },
        { NV_DATA_GPA + 0x10000 + 0x42, len },
    };

    nv_build_packet(pkt, frame, len, ppis, nppis, 0);
    qtest_memwrite(f->qts, r[0].gpa, pkt, hdr);
    qtest_memwrite(f->qts, r[1].gpa, frame, len);
    g_assert_cmpuint(nv_wait_send(f, 0, nv_send_rndis_raw(f, 0,
                                                          NV_CHANNEL_DATA,
                                                          NV_NO_SECTION, 0,
                                                          r, 2)), ==,
                     NV_STAT_SUCCESS);
}

/*
 * Takes the segments of an LSO of @fr (built in @orig) off the wire:
 * MSS-sized but the last, each with its own lengths, IP id and sequence
 * number, all checksums right, the payload in order.
 */
static void assert_segments(NVGuest *f, const Frame *fr, const uint8_t *orig,
                            uint32_t mss)
{
    g_autofree uint8_t *seg = g_malloc(FRAME_MAX + 1);
    uint32_t hdr = l4_off(fr) + TCP_HLEN;
    uint32_t nsegs = DIV_ROUND_UP(fr->len, mss);

    for (uint32_t i = 0; i < nsegs; i++) {
        uint32_t off = i * mss, plen = MIN(mss, fr->len - off);
        uint32_t len = nv_wire_recv(f, seg, FRAME_MAX + 1);
        const uint8_t *l3 = seg + ETH_HLEN, *l4 = seg + l4_off(fr);

        g_assert_cmpuint(len, ==, hdr + plen);
        g_assert_cmpmem(seg, 14, orig, 14);
        if (fr->ip6) {
            g_assert_cmpuint(lduw_be_p(l3 + 4), ==, TCP_HLEN + plen);
            g_assert_cmpmem(l3 + 8, 32, orig + ETH_HLEN + 8, 32);
        } else {
            g_assert_cmpuint(lduw_be_p(l3 + 2), ==, IP4_HLEN + TCP_HLEN +
                             plen);
            g_assert_cmpuint(lduw_be_p(l3 + 4), ==, 0x1234 + i);
            g_assert_true(ip4_csum_ok(seg));
            g_assert_cmpmem(l3 + 12, 8, orig + ETH_HLEN + 12, 8);
        }
        g_assert_cmpuint(ldl_be_p(l4 + 4), ==, fr->seq + off);
        g_assert_cmpuint(lduw_be_p(l4), ==, fr->sport);
        g_assert_true(l4_csum_ok(seg, len, fr));
        g_assert_cmpmem(seg + hdr, plen, orig + hdr + off, plen);
    }
}

/*
 * LSO v2 as Linux hands it over: IP length (and IPv4 checksum) zero, the
 * TCP checksum the pseudo header's sum without a length.
 */
static void test_tx_lso(void)
{
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *orig = g_malloc(FRAME_MAX);
    Frame fr = tcp4(4, 6000, 10000);
    NVPpi ppi = { NV_PPI_LSO, NV_LSO(1448, 34) };
    uint32_t len;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    fr.dst = peer_mac;
    len = build_frame(orig, &fr);
    memcpy(frame, orig, len);
    stw_be_p(frame + ETH_HLEN + 2, 0);
    stw_be_p(frame + ETH_HLEN + 10, 0);
    stw_be_p(frame + csum_off(&fr),
             csum_fold(pseudo_sum(frame + ETH_HLEN, false, PROTO_TCP, 0)));
    send_split(&f, frame, len, &ppi, 1);
    assert_segments(&f, &fr, orig, 1448);

    /* IPv6, a smaller MSS, the payload length zero. */
    fr = tcp6(4, 6001, 5000);
    fr.dst = peer_mac;
    len = build_frame(orig, &fr);
    memcpy(frame, orig, len);
    stw_be_p(frame + ETH_HLEN + 4, 0);
    stw_be_p(frame + csum_off(&fr),
             csum_fold(pseudo_sum(frame + ETH_HLEN, true, PROTO_TCP, 0)));
    ppi.value = NV_LSO(1220, 54) | NV_LSO_IPV6;
    send_split(&f, frame, len, &ppi, 1);
    assert_segments(&f, &fr, orig, 1220);

    /* The largest the NIC takes, as one frame of 62780 bytes. */
    fr = tcp4(4, 6002, 62780 - 54);
    fr.dst = peer_mac;
    len = build_frame(orig, &fr);
    memcpy(frame, orig, len);
    stw_be_p(frame + ETH_HLEN + 2, 0);
    stw_be_p(frame + ETH_HLEN + 10, 0);
    stw_be_p(frame + csum_off(&fr),
             csum_fold(pseudo_sum(frame + ETH_HLEN, false, PROTO_TCP, 0)));
    ppi.value = NV_LSO(1448, 34);
    send_split(&f, frame, len, &ppi, 1);
    assert_segments(&f, &fr, orig, 1448);
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Receive
 * -------
 */

/* The checksum PPI of @m, with @ok and not @bad set (0 if none came). */
static uint32_t rx_csum(const NVRndis *m)
{
    uint32_t v = 0;

    nv_ppi(m, NV_PPI_CSUM, &v);
    return v;
}

static void assert_rx_csum(NVGuest *f, const uint8_t *frame, uint32_t len,
                           uint32_t want, uint32_t mask)
{
    NVRndis *m = inject(f, frame, len);

    g_assert_cmphex(rx_csum(m) & mask, ==, want);
    g_assert_cmpuint(m->chan, ==, 0);
    nv_rndis_free(m);
}

/*
 * Frames from the wire, in order, byte for byte, where the guest looks:
 * data_offset and data_len inside the range, and the checksum PPI saying
 * what the host verified.
 */
static void test_rx(void)
{
    const uint32_t l4_mask = NV_RXCSUM_TCP_OK | NV_RXCSUM_TCP_FAILED |
                             NV_RXCSUM_UDP_OK | NV_RXCSUM_UDP_FAILED;
    const uint32_t ip_mask = NV_RXCSUM_IP_OK | NV_RXCSUM_IP_FAILED;
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    uint32_t len, rcv, n = 0;
    NVRndis *m;
    Frame fr;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    rcv = nv_query_u32(&f, NV_OID_RCV_OK);
    /* No IP: no PPI at all. */
    len = build_raw(frame, bcast_mac, 60, 1);
    m = inject(&f, frame, len);
    g_assert_cmpuint(ldl_le_p(m->data + 32), ==, 0);
    g_assert_cmpuint(ldl_le_p(m->data + 8), ==, 36);
    nv_rndis_free(m);
    len = build_raw(frame, nic_mac, 1514, 2);
    nv_rndis_free(inject(&f, frame, len));
    n += 2;

    /* Good checksums */
    fr = tcp4(5, 1234, 1000);
    len = build_frame(frame, &fr);
    assert_rx_csum(&f, frame, len, NV_RXCSUM_TCP_OK, l4_mask);
    assert_rx_csum(&f, frame, len, NV_RXCSUM_IP_OK, ip_mask);
    fr = udp4(5, 1234, 333);
    len = build_frame(frame, &fr);
    assert_rx_csum(&f, frame, len, NV_RXCSUM_UDP_OK | NV_RXCSUM_IP_OK,
                   l4_mask | ip_mask);
    fr = tcp6(5, 1234, 1400);
    len = build_frame(frame, &fr);
    assert_rx_csum(&f, frame, len, NV_RXCSUM_TCP_OK, l4_mask | ip_mask);
    fr = tcp4(5, 1235, 0);
    len = build_frame(frame, &fr);
    /* A bare ACK padded to 60 bytes with junk: the IP length counts. */
    memset(frame + len, 0xee, 60 - len);
    assert_rx_csum(&f, frame, 60, NV_RXCSUM_TCP_OK, l4_mask);
    n += 5;

    /* Bad ones */
    fr = tcp4(6, 1234, 1000);
    len = build_frame(frame, &fr);
    frame[len - 1] ^= 0x40;
    assert_rx_csum(&f, frame, len, NV_RXCSUM_TCP_FAILED, l4_mask);
    fr = udp4(6, 1234, 1000);
    len = build_frame(frame, &fr);
    frame[len - 7] ^= 1;
    assert_rx_csum(&f, frame, len, NV_RXCSUM_UDP_FAILED, l4_mask);
    fr = tcp6(6, 1234, 100);
    len = build_frame(frame, &fr);
    frame[csum_off(&fr)] ^= 0x80;
    assert_rx_csum(&f, frame, len, NV_RXCSUM_TCP_FAILED, l4_mask);
    fr = tcp4(6, 1235, 100);
    len = build_frame(frame, &fr);
    frame[ETH_HLEN + 10] ^= 1;
    assert_rx_csum(&f, frame, len, NV_RXCSUM_IP_FAILED, ip_mask);
    n += 4;

    /*
     * The packet filter (directed, all multicast, broadcast): another
     * host's frame is not taken, a multicast one is. Frames are taken in
     * order, so the next that comes says the one before was dropped.
     */
    len = build_raw(frame, other_mac, 100, 3);
    nv_wire_send(&f, frame, len);
    len = build_raw(frame, (const uint8_t *)"\x01\x00\x5e\x00\x00\x01", 100,
                    4);
    nv_rndis_free(inject(&f, frame, len));
    n++;
    /* Directed only; then promiscuous. */
    nv_set_filter(&f, 0x01);
    len = build_raw(frame, bcast_mac, 100, 5);
    nv_wire_send(&f, frame, len);
    len = build_raw(frame, nic_mac, 100, 6);
    nv_rndis_free(inject(&f, frame, len));
    n++;
    nv_set_filter(&f, 0x20);
    len = build_raw(frame, other_mac, 100, 7);
    nv_rndis_free(inject(&f, frame, len));
    n++;
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_RCV_OK), ==, rcv + n);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Makes the host stop sending on the primary: NVSP requests whose
 * completions the guest leaves in its ring (recv_pages 2) until no more
 * than @room bytes are free. Returns how many; the first is @first.
 */
static uint32_t fill_ring(NVGuest *f, uint32_t room, uint64_t *first)
{
    VMBusGuestChannel *ch = &f->ch[0];
    uint32_t datasize = (ch->recv_pages - 1) * NV_PAGE;
    uint8_t msg[NV_MSG_SIZE] = { 0 };
    uint32_t n = 0;

    g_assert_cmpuint(ch->recv_pages, ==, 2);
    stl_le_p(msg, NV_MSG_SWITCH_DATA_PATH);
    *first = f->trans_id + 1;
    for (;;) {
        uint32_t w = vmbus_guest_recv_ring_get(&f->g, ch,
                                               VMBUS_GUEST_RING_WRITE);
        uint32_t r = vmbus_guest_recv_ring_get(&f->g, ch,
                                               VMBUS_GUEST_RING_READ);
        uint32_t free = w >= r ? datasize - (w - r) : r - w;

        if (free <= room) {
            return n;
        }
        nv_send_nvsp(f, 0, msg, sizeof(msg), true);
        n++;
        /* Its completion lands: the ring has 64 bytes less. */
        for (int i = 0; vmbus_guest_recv_ring_get(&f->g, ch,
                                                  VMBUS_GUEST_RING_WRITE) ==
                        w; i++) {
            g_assert_cmpint(i, <, 5000);
            g_usleep(1000);
        }
    }
}

/* Takes the fill_ring() completions. */
static void claim_fill(NVGuest *f, uint64_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        NVComp c = nv_wait_comp(f, 0, first + i);

        g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SWITCH_DATA_PATH);
        g_assert_cmpuint(ldl_le_p(c.data + 4), ==, NV_STAT_SUCCESS);
    }
}

/* A raw frame numbered @n to the NIC, @len bytes. */
static uint32_t numbered(uint8_t *buf, uint32_t n, uint32_t len)
{
    return build_raw(buf, nic_mac, len, n);
}

static void assert_numbered(NVRndis *m, uint32_t n, uint32_t len)
{
    uint8_t want[1514];
    const uint8_t *data;
    uint32_t got;

    numbered(want, n, len);
    data = nv_frame(m, &got);
    g_assert_cmpuint(got, ==, len);
    g_assert_cmpmem(data, got, want, len);
}

/*
 * Frames that come while the guest's ring is full wait, and then go
 * together, many in one transfer-page packet.
 */
static void test_rx_batch(void)
{
    uint8_t frame[1514];
    uint32_t nfill, packets;
    uint64_t first;
    NVGuest f;

    nv_boot(&f, "");
    f.ch[0].recv_pages = 2;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);

    nfill = fill_ring(&f, 64, &first);
    for (uint32_t i = 0; i < 20; i++) {
        nv_wire_send(&f, frame, numbered(frame, i, 100 + i));
        /*
         * A few at a time, within what the socket queues: a full socket
         * would have the guest read its ring while it waits.
         */
        if (i % 5 == 4) {
            nv_wire_wait_taken(&f);
        }
    }
    /* The host took them all, and could send none. */
    packets = f.xfer_packets;
    claim_fill(&f, first, nfill);
    for (uint32_t i = 0; i < 20; i++) {
        NVRndis *m = nv_wait_frame(&f);

        assert_numbered(m, i, 100 + i);
        nv_rndis_free(m);
    }
    g_assert_cmpuint(f.xfer_packets, ==, packets + 1);
    g_assert_cmpuint(f.xfer_max_ranges, ==, 20);

    /* A burst with the ring open: all come, in order. */
    for (uint32_t i = 0; i < 100; i++) {
        nv_wire_send(&f, frame, numbered(frame, 100 + i, 60 + i));
    }
    for (uint32_t i = 0; i < 100; i++) {
        NVRndis *m = nv_wait_frame(&f);

        assert_numbered(m, 100 + i, 60 + i);
        nv_rndis_free(m);
    }
    nv_assert_quiet(&f);
    nv_finish(&f);
}

static uint32_t send_msg(NVGuest *f, const void *msg, uint32_t len,
                         uint32_t channel_type, NVVia via);
static uint32_t build_request(uint8_t *msg, NVGuest *f, uint32_t type,
                              uint32_t oid, uint32_t buflen, uint32_t off,
                              uint32_t info_len);

/*
 * 802.1Q-tagged frames from the wire: the guest gets the frame without
 * its tag and the tag as a VLAN PPI (priority, CFI, id), the checksums
 * verified on what the tag carries.
 */
static void test_rx_vlan(void)
{
    static const uint16_t tcis[] = {
        5 << 13 | 100, 1 << 12 | 4095, 7 << 13 | 1 << 12 | 1, 0,
    };
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    g_autofree uint8_t *tagged = g_malloc(FRAME_MAX);
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    for (int i = 0; i < ARRAY_SIZE(tcis); i++) {
        Frame fr = i % 2 ? udp4(7, 100 + i, 1400) : tcp4(7, 100 + i, 1400);
        uint32_t len = build_frame(frame, &fr), got, v;
        uint16_t tci = tcis[i];
        const uint8_t *data;
        NVRndis *m;

        memcpy(tagged, frame, 12);
        stw_be_p(tagged + 12, 0x8100);
        stw_be_p(tagged + 14, tci);
        memcpy(tagged + 16, frame + 12, len - 12);
        nv_wire_send(&f, tagged, len + 4);
        m = nv_wait_frame(&f);
        data = nv_frame(m, &got);
        g_assert_cmpuint(got, ==, len);
        g_assert_cmpmem(data, got, frame, len);
        g_assert_true(nv_ppi(m, NV_PPI_VLAN, &v));
        g_assert_cmphex(v & 7, ==, tci >> 13);
        g_assert_cmphex(v >> 3 & 1, ==, tci >> 12 & 1);
        g_assert_cmphex(v >> 4 & 0xfff, ==, tci & 0xfff);
        g_assert_cmphex(rx_csum(m) & (NV_RXCSUM_TCP_OK | NV_RXCSUM_UDP_OK),
                        ==, i % 2 ? NV_RXCSUM_UDP_OK : NV_RXCSUM_TCP_OK);
        nv_rndis_free(m);
    }
    /* A tag and nothing after it but the ethertype. */
    build_raw(tagged, nic_mac, 18, 0);
    stw_be_p(tagged + 12, 0x8100);
    stw_be_p(tagged + 14, 42);
    stw_be_p(tagged + 16, 0x88b5);
    {
        NVRndis *m;
        uint32_t got, v;
        const uint8_t *data;

        nv_wire_send(&f, tagged, 18);
        m = nv_wait_frame(&f);
        data = nv_frame(m, &got);
        g_assert_cmpuint(got, ==, 14);
        g_assert_cmpmem(data, 12, tagged, 12);
        g_assert_cmphex(lduw_be_p(data + 12), ==, 0x88b5);
        g_assert_true(nv_ppi(m, NV_PPI_VLAN, &v));
        g_assert_cmphex(v, ==, 42 << 4);
        nv_rndis_free(m);
    }
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * A receive buffer of a few slots, the guest holding what it got: the
 * host waits for completions, loses nothing, and goes on in order.
 */
static void test_rx_overflow(void)
{
    uint8_t frame[1514], query[NV_QUERY_HDR];
    GHashTable *offsets = g_hash_table_new(NULL, NULL);
    uint32_t n = 0;
    NVRndis *m;
    NVGuest f;

    nv_boot(&f, "");
    f.probe_rx_size = 4 * NV_PAGE;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    g_assert_cmpuint(f.rx_nslots, >=, 2);
    g_assert_cmpuint(f.rx_nslots, <=, 16);

    f.hold = true;
    for (; n < f.rx_nslots; n++) {
        nv_wire_send(&f, frame, numbered(frame, n, 1514));
        m = nv_wait_frame(&f);
        assert_numbered(m, n, 1514);
        /* A slot of its own. */
        g_assert_false(g_hash_table_contains(offsets,
                                             GUINT_TO_POINTER(m->offset)));
        g_hash_table_add(offsets, GUINT_TO_POINTER(m->offset));
        nv_rndis_free(m);
    }
    /* No room: these wait in QEMU and on the socket... */
    for (uint32_t i = 0; i < 5; i++) {
        nv_wire_send(&f, frame, numbered(frame, n + i, 1514));
    }
    /* ... and so does an answer; the request is completed at once. */
    build_request(query, &f, NV_RNDIS_QUERY, NV_OID_MEDIA_CONNECT_STATUS, 0,
                  20, 0);
    g_assert_cmpuint(send_msg(&f, query, sizeof(query), NV_CHANNEL_CONTROL,
                              NV_VIA_GPA), ==, NV_STAT_SUCCESS);
    nv_assert_quiet(&f);
    f.hold = false;
    nv_complete_held(&f);
    /* The answer before the frames that waited. */
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, f.req_id);
    g_assert_cmphex(ldl_le_p(m->data + 12), ==, NV_RNDIS_SUCCESS);
    nv_rndis_free(m);
    for (uint32_t i = 0; i < 5; i++, n++) {
        m = nv_wait_frame(&f);
        assert_numbered(m, n, 1514);
        nv_rndis_free(m);
    }
    /* Many buffers' worth, taken as they come. */
    for (uint32_t i = 0; i < 200; i++) {
        nv_wire_send(&f, frame, numbered(frame, n + i, 60 + i * 7));
    }
    for (uint32_t i = 0; i < 200; i++) {
        m = nv_wait_frame(&f);
        assert_numbered(m, n + i, 60 + i * 7);
        nv_rndis_free(m);
    }
    nv_assert_alive(&f);
    nv_assert_quiet(&f);
    g_hash_table_destroy(offsets);
    nv_finish(&f);
}

/*
 * RNDIS requests while the guest holds every receive slot: each is
 * completed at once, the answers wait for room, at most 16 of them (the
 * rest dropped, as documented), and come in order once the guest
 * completes; the NIC goes on.
 */
static void test_rx_control_flood(void)
{
    uint8_t frame[1514], query[NV_QUERY_HDR];
    uint32_t first;
    NVGuest f;

    nv_boot(&f, "");
    f.probe_rx_size = 4 * NV_PAGE;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    f.hold = true;
    for (uint32_t n = 0; n < f.rx_nslots; n++) {
        nv_wire_send(&f, frame, numbered(frame, n, 600));
        nv_rndis_free(nv_wait_frame(&f));
    }
    first = f.req_id + 1;
    for (int i = 0; i < 20; i++) {
        build_request(query, &f, NV_RNDIS_QUERY, NV_OID_LINK_SPEED, 0, 20, 0);
        g_assert_cmpuint(send_msg(&f, query, sizeof(query),
                                  NV_CHANNEL_CONTROL, i % 2 ? NV_VIA_GPA :
                                  NV_VIA_SECTION), ==, NV_STAT_SUCCESS);
    }
    nv_assert_quiet(&f);
    f.hold = false;
    nv_complete_held(&f);
    for (uint32_t i = 0; i < 16; i++) {
        NVRndis *m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION,
                                   0);

        g_assert_cmpuint(ldl_le_p(m->data + 8), ==, first + i);
        nv_rndis_free(m);
    }
    nv_assert_alive(&f);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * RSS
 * ---
 */

/* Microsoft's key for its Toeplitz verification vectors (Linux's old). */
static const uint8_t ms_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
    0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
    0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The Toeplitz hash of @len bytes of @in with @key (40 bytes). */
static uint32_t toeplitz(const uint8_t *key, const uint8_t *in, int len)
{
    uint32_t hash = 0, window = ldl_be_p(key);

    g_assert_cmpint(len + 4, <=, 40);
    for (int i = 0; i < len; i++) {
        for (int b = 7; b >= 0; b--) {
            if (in[i] & (1 << b)) {
                hash ^= window;
            }
            window = window << 1 | (key[i + 4] >> b & 1);
        }
    }
    return hash;
}

/* The RSS hash of @fr: addresses, then ports for TCP. */
static uint32_t rss_hash(const uint8_t *key, const Frame *fr)
{
    uint8_t in[36];
    int alen = fr->ip6 ? 16 : 4, len = 2 * alen;

    memcpy(in, fr->src_ip, alen);
    memcpy(in + alen, fr->dst_ip, alen);
    if (fr->proto == PROTO_TCP) {
        stw_be_p(in + len, fr->sport);
        stw_be_p(in + len + 2, fr->dport);
        len += 4;
    }
    return toeplitz(key, in, len);
}

static void test_toeplitz_vectors(void)
{
    Frame fr = {
        .proto = PROTO_TCP,
        .src_ip = { 66, 9, 149, 187 }, .dst_ip = { 161, 142, 100, 80 },
        .sport = 2794, .dport = 1766,
    };

    /* From Microsoft's "Verifying the RSS Hash Calculation". */
    g_assert_cmphex(rss_hash(ms_key, &fr), ==, 0x51ccc178);
    fr.proto = PROTO_UDP;
    g_assert_cmphex(rss_hash(ms_key, &fr), ==, 0x323e8fc2);
}

#define RSS_TABLE   128

/* OID_GEN_RECEIVE_SCALE_PARAMETERS as netvsc builds it; its length. */
static uint32_t build_rss(uint8_t *buf, uint16_t flag, const uint32_t *table,
                          const uint8_t *key)
{
    uint32_t tab = 40, keyoff = 40 + 4 * RSS_TABLE;

    memset(buf, 0, keyoff + 40);
    buf[0] = 0x89;
    buf[1] = 2;
    stw_le_p(buf + 2, 40);
    stw_le_p(buf + 4, flag);
    stl_le_p(buf + 8, 0x1701);              /* Toeplitz, v4, v6, TCP */
    stw_le_p(buf + 12, 4 * RSS_TABLE);
    stl_le_p(buf + 16, tab);
    stw_le_p(buf + 20, 40);
    stl_le_p(buf + 24, keyoff);
    for (int i = 0; i < RSS_TABLE; i++) {
        stl_le_p(buf + tab + 4 * i, table[i]);
    }
    memcpy(buf + keyoff, key, 40);
    return keyoff + 40;
}

/* SUBCHANNEL for @count; returns the status, the count in *@got. */
static uint32_t ask_subchannels(NVGuest *f, uint32_t op, uint32_t count,
                                uint32_t *got)
{
    uint8_t body[8];
    NVComp c;

    stl_le_p(body, op);
    stl_le_p(body + 4, count);
    c = nv_nvsp(f, 0, NV_MSG_SUBCHANNEL, body, sizeof(body));
    g_assert_cmpuint(c.len, ==, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SUBCHANNEL);
    *got = ldl_le_p(c.data + 8);
    return ldl_le_p(c.data + 4);
}

/* An empty SynIC message slot on VP 0: no offer came. */
static void assert_no_offer(NVGuest *f)
{
    g_usleep(50 * 1000);
    g_assert_cmpuint(qtest_readl(f->qts, HVP_SIMP(0) + NV_SINT * 256), ==,
                     0);
}

/* Injects @fr; asserts it comes on @chan with the hash PPI @hash. */
static void assert_steered(NVGuest *f, const Frame *fr, uint16_t chan,
                           bool hashed, uint32_t hash)
{
    uint8_t frame[1514];
    uint32_t len = build_frame(frame, fr), v;
    NVRndis *m = inject(f, frame, len);

    g_assert_cmpuint(m->chan, ==, chan);
    g_assert_cmpint(nv_ppi(m, NV_PPI_HASH, &v), ==, hashed);
    if (hashed) {
        g_assert_cmphex(v, ==, hash);
    }
    nv_rndis_free(m);
}

/* The RSS test's flows: TCP and UDP over IPv4 and IPv6. */
static Frame rss_flow(int i)
{
    Frame (*make[])(uint8_t, uint16_t, uint32_t) = { tcp4, tcp4, udp4, tcp6 };

    return make[i % 4](2 + i % 11, 1000 + 37 * i, 40 + i);
}

/* Checks 48 flows land where @table says; returns a mask of channels. */
static uint32_t check_flows(NVGuest *f, const uint8_t *key,
                            const uint32_t *table, uint32_t open_mask)
{
    uint32_t seen = 0;

    for (int i = 0; i < 48; i++) {
        Frame fr = rss_flow(i);
        uint32_t hash = rss_hash(key, &fr);
        uint32_t chan = table[hash % RSS_TABLE];

        if (!(open_mask & 1 << chan)) {
            chan = 0;
        }
        seen |= 1 << chan;
        assert_steered(f, &fr, chan, true, hash);
    }
    return seen;
}

/*
 * Four queues: three subchannels offered and opened; RSS parameters as
 * Linux sets them; each flow on the channel the indirection table gives
 * its Toeplitz hash, with that hash; other traffic on the primary.
 */
static void test_rss(void)
{
    g_autofree uint8_t *params = g_malloc(40 + 4 * RSS_TABLE + 40);
    uint32_t table[RSS_TABLE], got, len;
    uint8_t key[40], frame[128];
    Frame fr = tcp4(9, 999, 10);
    NVGuest f;

    nv_start(&f, ",queues=4", NV_VERSION_61);
    for (int i = 0; i < 40; i++) {
        key[i] = ms_key[(i + 7) % 40] ^ (i * 0x1d);
    }
    for (int i = 0; i < RSS_TABLE; i++) {
        table[i] = (i * 5 + i / 16) % 4;
    }
    /* Before RSS: all on the primary, no hash. */
    assert_steered(&f, &fr, 0, false, 0);

    /* More than there are queues for: as many as there are. */
    g_assert_cmpuint(ask_subchannels(&f, 1, 7, &got), ==, NV_STAT_SUCCESS);
    g_assert_cmpuint(got, ==, 3);
    for (uint16_t i = 1; i <= 3; i++) {
        nv_take_subchannel(&f, i);
    }
    for (uint16_t i = 1; i <= 3; i++) {
        nv_open_channel(&f, i, i % 2);
    }
    assert_no_offer(&f);
    len = build_rss(params, 0x10, table, key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    assert_steered(&f, &fr, 0, false, 0);
    len = build_rss(params, 0, table, key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    g_assert_cmphex(check_flows(&f, key, table, 0xf), ==, 0xf);
    /* No IP, no hash: the primary. */
    nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 64, 1)));

    /* Asking again offers nothing more; the channels go on. */
    ask_subchannels(&f, 1, 3, &got);
    assert_no_offer(&f);
    /* A control request on a subchannel: answered on the primary. */
    {
        uint8_t query[NV_QUERY_HDR];
        NVRndis *m;
        uint64_t t;

        build_request(query, &f, NV_RNDIS_QUERY, NV_OID_MEDIA_CONNECT_STATUS,
                      0, 20, 0);
        t = nv_send_rndis(&f, 2, NV_CHANNEL_CONTROL, query, sizeof(query),
                          NV_VIA_GPA);
        g_assert_cmpuint(nv_wait_send(&f, 2, t), ==, NV_STAT_SUCCESS);
        m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION,
                          f.req_id);
        g_assert_cmpuint(m->chan, ==, 0);
        nv_rndis_free(m);
    }

    /* Transmit on each subchannel, completed there. */
    fr.dst = peer_mac;
    len = build_frame(frame, &fr);
    for (uint16_t i = 1; i <= 3; i++) {
        transmit(&f, i, frame, len, i % 2 ? NV_VIA_GPA : NV_VIA_SECTION);
    }

    /* Another table and key: followed at once. */
    for (int i = 0; i < RSS_TABLE; i++) {
        table[i] = 3 - i % 4;
    }
    memcpy(key, ms_key, sizeof(key));
    len = build_rss(params, 0, table, key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    g_assert_cmphex(check_flows(&f, key, table, 0xf), ==, 0xf);

    /* A subchannel closed: its flows come on the primary. */
    vmbus_guest_close(&f.g, &f.ch[3]);
    f.open[3] = false;
    g_assert_cmphex(check_flows(&f, key, table, 0x7), ==, 0x7);
    /* RSS off: the primary, no hash. */
    len = build_rss(params, 0x10, table, key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    fr = rss_flow(5);
    assert_steered(&f, &fr, 0, false, 0);
    nv_assert_alive(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Link state
 * ----------
 */

static void set_link(NVGuest *f, const char *name, bool up)
{
    qtest_qmp_assert_success(f->qts, "{'execute': 'set_link',"
                             " 'arguments': {'name': %s, 'up': %i}}",
                             name, up);
}

static void assert_indication(NVGuest *f, uint32_t status)
{
    NVRndis *m = nv_wait_rndis(f, NV_RNDIS_INDICATE, 0);

    g_assert_cmpuint(ldl_le_p(m->data + 4), >=, 20);
    g_assert_cmphex(ldl_le_p(m->data + 8), ==, status);
    g_assert_cmpuint(ldl_le_p(m->data + 12), ==, 0);
    g_assert_cmpuint(m->chan, ==, 0);
    nv_rndis_free(m);
}

/*
 * set_link, of the NIC or of its netdev: the guest is told each change
 * once, and the connect status query agrees.
 */
static void test_link(void)
{
    static const char *const names[] = { "net0", "n0" };
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    for (int i = 0; i < ARRAY_SIZE(names); i++) {
        set_link(&f, names[i], false);
        assert_indication(&f, NV_RNDIS_MEDIA_DISCONNECT);
        g_assert_cmpuint(nv_query_u32(&f, NV_OID_MEDIA_CONNECT_STATUS), ==,
                         1);
        set_link(&f, names[i], false);
        nv_assert_quiet(&f);
        set_link(&f, names[i], true);
        assert_indication(&f, NV_RNDIS_MEDIA_CONNECT);
        g_assert_cmpuint(nv_query_u32(&f, NV_OID_MEDIA_CONNECT_STATUS), ==,
                         0);
        set_link(&f, names[i], true);
        nv_assert_quiet(&f);
    }
    assert_traffic(&f);
    nv_finish(&f);

    /* Down before RNDIS: the query says so, nothing is indicated. */
    nv_boot(&f, "");
    set_link(&f, "net0", false);
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_MEDIA_CONNECT_STATUS), ==, 1);
    nv_assert_quiet(&f);
    set_link(&f, "net0", true);
    assert_indication(&f, NV_RNDIS_MEDIA_CONNECT);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * OIDs
 * ----
 */

/* "NetworkAddress" = @mac, as rndis_filter_set_device_mac() sets it. */
static uint32_t set_mac(NVGuest *f, const char *mac)
{
    static const char name[] = "NetworkAddress";
    uint8_t info[20 + 28 + 24] = { 0 };

    stl_le_p(info, 20);
    stl_le_p(info + 4, 28);
    stl_le_p(info + 8, 2);                  /* a string */
    stl_le_p(info + 12, 48);
    stl_le_p(info + 16, 24);
    for (int i = 0; i < 14; i++) {
        stw_le_p(info + 20 + 2 * i, name[i]);
    }
    for (int i = 0; i < 12; i++) {
        stw_le_p(info + 48 + 2 * i, mac[i]);
    }
    return nv_set(f, NV_OID_CONFIG_PARAMETER, info, sizeof(info));
}

/*
 * Every OID the NIC lists is answered; counters count; the guest's MAC
 * change takes effect; KEEPALIVE and RESET are answered.
 */
static void test_oids(void)
{
    static const uint8_t new_mac[6] = { 0x02, 0x12, 0x34, 0x56, 0x78, 0x9a };
    uint8_t list[NV_QUERY_MAX], out[NV_QUERY_MAX], msg[16] = { 0 };
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    uint32_t len, n, req;
    uint64_t xmit;
    NVRndis *m;
    NVGuest f;

    nv_start(&f, ",queues=2", NV_VERSION_61);
    g_assert_cmphex(nv_query(&f, NV_OID_SUPPORTED_LIST, NULL, 0, list, &n),
                    ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(n % 4, ==, 0);
    g_assert_cmpuint(n, >=, 4 * 20);
    for (uint32_t i = 0; i < n; i += 4) {
        uint32_t oid = ldl_le_p(list + i);

        /* Those that are only set. */
        if (oid == NV_OID_RSS_PARAMETERS || oid == NV_OID_CONFIG_PARAMETER ||
            oid == NV_OID_OFFLOAD_PARAMETERS) {
            continue;
        }
        if (nv_query(&f, oid, NULL, 0, out, &len) != NV_RNDIS_SUCCESS) {
            g_error("listed OID 0x%08x not answered", oid);
        }
    }

    /* Counters, 32 or 64 bits as the buffer the guest gives. */
    g_assert_cmphex(nv_query(&f, NV_OID_XMIT_OK, msg, 8, out, &len), ==,
                    NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, 8);
    xmit = ldq_le_p(out);
    assert_traffic(&f);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_XMIT_OK), ==, xmit + 2);

    /* A MAC the guest sets: frames for it come, for the old one not. */
    g_assert_cmphex(set_mac(&f, "02123456789A"), ==, NV_RNDIS_SUCCESS);
    g_assert_cmphex(nv_query(&f, NV_OID_CURRENT_ADDRESS, NULL, 0, out, &len),
                    ==, NV_RNDIS_SUCCESS);
    g_assert_cmpmem(out, len, new_mac, 6);
    g_assert_cmphex(nv_query(&f, NV_OID_PERMANENT_ADDRESS, NULL, 0, out,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpmem(out, len, nic_mac, 6);
    nv_wire_send(&f, frame, build_raw(frame, nic_mac, 80, 1));
    nv_rndis_free(inject(&f, frame, build_raw(frame, new_mac, 80, 2)));
    g_assert_cmphex(set_mac(&f, "02123456789G"), !=, NV_RNDIS_SUCCESS);
    g_assert_cmphex(set_mac(&f, "525400123456"), ==, NV_RNDIS_SUCCESS);
    nv_wire_send(&f, frame, build_raw(frame, new_mac, 80, 3));
    nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 80, 4)));

    /* KEEPALIVE and RESET */
    req = ++f.req_id;
    stl_le_p(msg, NV_RNDIS_KEEPALIVE);
    stl_le_p(msg + 4, 12);
    stl_le_p(msg + 8, req);
    g_assert_cmpuint(nv_wait_send(&f, 0, nv_send_rndis(&f, 0,
                                                       NV_CHANNEL_CONTROL,
                                                       msg, 12,
                                                       NV_VIA_GPA)), ==,
                     NV_STAT_SUCCESS);
    m = nv_wait_rndis(&f, NV_RNDIS_KEEPALIVE | NV_RNDIS_COMPLETION, req);
    g_assert_cmphex(ldl_le_p(m->data + 12), ==, NV_RNDIS_SUCCESS);
    nv_rndis_free(m);
    stl_le_p(msg, NV_RNDIS_RESET);
    stl_le_p(msg + 8, 0);
    g_assert_cmpuint(nv_wait_send(&f, 0, nv_send_rndis(&f, 0,
                                                       NV_CHANNEL_CONTROL,
                                                       msg, 12,
                                                       NV_VIA_SECTION)), ==,
                     NV_STAT_SUCCESS);
    m = nv_wait_rndis(&f, NV_RNDIS_RESET | NV_RNDIS_COMPLETION, 0);
    g_assert_cmphex(ldl_le_p(m->data + 8), ==, NV_RNDIS_SUCCESS);
    nv_rndis_free(m);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Flow control
 * ------------
 */

/*
 * More frames than the guest's ring holds completions for: the host stops
 * taking them while it has no room for the answer, and goes on when the
 * guest reads; every frame goes out once, in order, every one completed.
 */
static void test_tx_flow_control(void)
{
    const uint32_t n = 300;
    g_autofree uint64_t *ids = g_new(uint64_t, n);
    uint8_t frame[256], pkt[NV_PKT_HDR + 256];
    uint32_t len;
    NVGuest f;

    nv_boot(&f, "");
    f.ch[0].recv_pages = 2;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    for (uint32_t i = 0; i < n; i++) {
        len = build_raw(frame, peer_mac, 60 + i % 150, i);
        len = nv_build_packet(pkt, frame, len, NULL, 0, 0);
        /* Sections are not reused before their completion. */
        nv_section_write(&f, i % f.tx_nsections, 0, pkt, len);
        ids[i] = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA,
                                   i % f.tx_nsections, len, NULL, 0);
        if (i % f.tx_nsections == f.tx_nsections - 1) {
            for (uint32_t j = i + 1 - f.tx_nsections; j <= i; j++) {
                g_assert_cmpuint(nv_wait_send(&f, 0, ids[j]), ==,
                                 NV_STAT_SUCCESS);
            }
        }
    }
    for (uint32_t i = n - n % f.tx_nsections; i < n; i++) {
        g_assert_cmpuint(nv_wait_send(&f, 0, ids[i]), ==, NV_STAT_SUCCESS);
    }
    for (uint32_t i = 0; i < n; i++) {
        len = build_raw(frame, peer_mac, 60 + i % 150, i);
        assert_wire(&f, frame, len);
    }
    nv_wire_assert_empty(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Malformed input
 * ---------------
 */

/* The NIC still sends: @n's frame is the next on the wire. */
static void assert_sends(NVGuest *f, uint32_t n)
{
    uint8_t frame[128];
    uint32_t len = build_raw(frame, peer_mac, 90, n);

    transmit(f, 0, frame, len, n % 2 ? NV_VIA_GPA : NV_VIA_SECTION);
}

/* An NVSP message of @len bytes; asserts its completion refuses it. */
static void assert_nvsp_refused(NVGuest *f, uint16_t chan, const void *msg,
                                uint32_t len)
{
    NVComp c = nv_wait_comp(f, chan, nv_send_nvsp(f, chan, msg, len, true));

    g_assert_cmpuint(c.len, ==, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(c.data + 4), !=, NV_STAT_SUCCESS);
    if (ldl_le_p(c.data) == NV_MSG_INIT_COMPLETE) {
        g_assert_cmpuint(ldl_le_p(c.data + 12), !=, NV_STAT_SUCCESS);
    }
}

/*
 * NVSP messages that are short, of no known type, or name what is not
 * there: refused, each with a completion, and the NIC goes on.
 */
static void test_malformed_nvsp(void)
{
    static const uint32_t short_lens[] = { 0, 8, 16, 32 };
    static const uint32_t short_types[] = {
        NV_MSG_INIT, NV_MSG_SEND_RECV_BUF, NV_MSG_SEND_RNDIS_PKT,
        NV_MSG_SUBCHANNEL,
    };
    static const uint32_t bad_types[] = {
        0, NV_MSG_INIT_COMPLETE, 3, 99, NV_MSG_SEND_RNDIS_PKT_COMPLETE, 109,
        128, 134, 0xffffffff,
    };
    static const uint32_t bad_sections[][2] = {
        { 170, 100 }, { 0xfffffffe, 100 }, { 0, 6145 }, { 0, 0 },
        { 169, 0xffffffff },
    };
    uint8_t msg[NV_MSG_SIZE], frame[512], pkt[NV_PKT_HDR + 128];
    uint32_t got, n = 0, len;
    NVGuest f;

    nv_start(&f, ",queues=4", NV_VERSION_61);
    /* A good SEND_RNDIS_PKT in section 0, but for its length. */
    len = nv_build_packet(pkt, frame, build_raw(frame, peer_mac, 80, 1000),
                          NULL, 0, 0);
    nv_section_write(&f, 0, 0, pkt, len);
    for (int i = 0; i < ARRAY_SIZE(short_types); i++) {
        for (int j = 0; j < ARRAY_SIZE(short_lens); j++) {
            memset(msg, 0, sizeof(msg));
            stl_le_p(msg, short_types[i]);
            stl_le_p(msg + 4, short_types[i] == NV_MSG_INIT ? NV_VERSION_1 :
                     short_types[i] == NV_MSG_SEND_RECV_BUF ? NV_RECV_GPADL :
                     1);
            stl_le_p(msg + 8, short_types[i] == NV_MSG_INIT ? NV_VERSION_1 :
                     0);
            stl_le_p(msg + 12, len);
            assert_nvsp_refused(&f, 0, msg, short_lens[j]);
        }
        assert_sends(&f, n++);
    }
    nv_assert_alive(&f);
    for (int i = 0; i < ARRAY_SIZE(bad_types); i++) {
        memset(msg, 0, sizeof(msg));
        stl_le_p(msg, bad_types[i]);
        assert_nvsp_refused(&f, 0, msg, sizeof(msg));
    }
    assert_sends(&f, n++);

    /* Sections outside the send buffer or too big; none at all. */
    for (int i = 0; i < ARRAY_SIZE(bad_sections); i++) {
        uint64_t t = nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA,
                                       bad_sections[i][0],
                                       bad_sections[i][1], NULL, 0);

        g_assert_cmpuint(nv_wait_send(&f, 0, t), !=, NV_STAT_SUCCESS);
        assert_sends(&f, n++);
    }

    /* Subchannels: no other operation, not none, not from a subchannel. */
    g_assert_cmpuint(ask_subchannels(&f, 2, 1, &got), !=, NV_STAT_SUCCESS);
    g_assert_cmpuint(ask_subchannels(&f, 1, 0, &got), !=, NV_STAT_SUCCESS);
    assert_no_offer(&f);
    g_assert_cmpuint(ask_subchannels(&f, 1, 1, &got), ==, NV_STAT_SUCCESS);
    g_assert_cmpuint(got, ==, 1);
    nv_take_subchannel(&f, 1);
    nv_open_channel(&f, 1, 1);
    memset(msg, 0, sizeof(msg));
    stl_le_p(msg, NV_MSG_SUBCHANNEL);
    stl_le_p(msg + 4, 1);
    stl_le_p(msg + 8, 2);
    assert_nvsp_refused(&f, 1, msg, sizeof(msg));
    /* Nor buffers from a subchannel. */
    stl_le_p(msg, NV_MSG_SEND_RECV_BUF);
    stl_le_p(msg + 4, NV_RECV_GPADL);
    stl_le_p(msg + 8, NV_RECV_BUF_ID);
    assert_nvsp_refused(&f, 1, msg, sizeof(msg));
    assert_no_offer(&f);

    /*
     * Completions the host cannot match: unknown, twice, on another
     * channel than the packet's. The held frame's slot stays its own.
     */
    nv_complete_xfer(&f, 0, 0xdeadbeef, NV_STAT_SUCCESS);
    nv_complete_xfer(&f, 1, 0x1, NV_STAT_SUCCESS);
    f.hold = true;
    {
        g_autofree uint8_t *copy = NULL;
        NVRndis *m;
        NVHeld h;

        m = inject(&f, frame, build_raw(frame, nic_mac, 200, 1));
        h = g_array_index(f.held, NVHeld, 0);
        g_array_set_size(f.held, 0);
        nv_complete_xfer(&f, 1, h.trans_id, NV_STAT_SUCCESS);
        f.hold = false;
        for (int i = 0; i < 3; i++) {
            nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 300,
                                                      2 + i)));
        }
        copy = g_malloc(m->len);
        qtest_memread(f.qts, NV_RECV_BUF_GPA + m->offset, copy, m->len);
        g_assert_cmpmem(copy, m->len, m->data, m->len);
        nv_complete_xfer(&f, 0, h.trans_id, NV_STAT_SUCCESS);
        nv_complete_xfer(&f, 0, h.trans_id, NV_STAT_SUCCESS);
        nv_rndis_free(m);
    }
    /* A completion that says the guest could not take it. */
    f.hold = true;
    nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 200, 9)));
    nv_complete_xfer(&f, 0, g_array_index(f.held, NVHeld, 0).trans_id,
                     NV_STAT_FAIL);
    g_array_set_size(f.held, 0);
    f.hold = false;
    assert_traffic(&f);
    nv_assert_alive(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);

    /* Before the buffers: GPADLs that are not there, a section. */
    nv_boot(&f, "");
    nv_open(&f);
    g_assert_cmpuint(nv_nvsp_init(&f, NV_VERSION_61, NV_VERSION_61, NULL),
                     ==, NV_STAT_SUCCESS);
    memset(msg, 0, sizeof(msg));
    stl_le_p(msg, NV_MSG_SEND_RECV_BUF);
    stl_le_p(msg + 4, 0x777);
    stl_le_p(msg + 8, NV_RECV_BUF_ID);
    assert_nvsp_refused(&f, 0, msg, sizeof(msg));
    stl_le_p(msg, NV_MSG_SEND_SEND_BUF);
    stl_le_p(msg + 8, 0);
    assert_nvsp_refused(&f, 0, msg, sizeof(msg));
    g_assert_cmpuint(nv_wait_send(&f, 0, nv_send_rndis_raw(&f, 0,
                                                           NV_CHANNEL_DATA,
                                                           0, 100, NULL, 0)),
                     !=, NV_STAT_SUCCESS);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);

    /* Subchannels before 5: refused, none offered. */
    nv_start(&f, ",queues=4", NV_VERSION_4);
    g_assert_cmpuint(ask_subchannels(&f, 1, 3, &got), !=, NV_STAT_SUCCESS);
    assert_no_offer(&f);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
    /* One queue: nothing to offer. */
    nv_start(&f, "", NV_VERSION_61);
    g_assert_cmpuint(ask_subchannels(&f, 1, 3, &got), !=, NV_STAT_SUCCESS);
    assert_no_offer(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/* Sends @len bytes of RNDIS @msg; returns the NVSP status. */
static uint32_t send_msg(NVGuest *f, const void *msg, uint32_t len,
                         uint32_t channel_type, NVVia via)
{
    return nv_wait_send(f, 0, nv_send_rndis(f, 0, channel_type, msg, len,
                                            via));
}

/*
 * Request @req_id of @type got no answer that says it was done: the NIC
 * answered a later one, so it is not coming late.
 */
static void assert_not_done(NVGuest *f, uint32_t type, uint32_t req_id)
{
    NVRndis *m;

    nv_assert_alive(f);
    m = nv_take_rndis(f, type | NV_RNDIS_COMPLETION, req_id);
    if (m) {
        g_assert_cmphex(ldl_le_p(m->data + 12), !=, NV_RNDIS_SUCCESS);
        nv_rndis_free(m);
    }
}

/* A QUERY or SET of @oid with @info_len bytes and the fields given. */
static uint32_t build_request(uint8_t *msg, NVGuest *f, uint32_t type,
                              uint32_t oid, uint32_t buflen, uint32_t off,
                              uint32_t info_len)
{
    memset(msg, 0, NV_QUERY_HDR + info_len);
    stl_le_p(msg, type);
    stl_le_p(msg + 4, NV_QUERY_HDR + info_len);
    stl_le_p(msg + 8, ++f->req_id);
    stl_le_p(msg + 12, oid);
    stl_le_p(msg + 16, buflen);
    stl_le_p(msg + 20, off);
    return NV_QUERY_HDR + info_len;
}

typedef struct BadPacket {
    const char *what;
    uint32_t field;                 /* offset in the message */
    uint32_t value;
} BadPacket;

/*
 * RNDIS messages that lie about their lengths and offsets, data packets
 * whose frame or per-packet information is outside them or whose records
 * would loop, control requests whose information is outside them: none
 * goes on the wire or is answered as done, the host does not hang, and
 * the NIC goes on.
 */
static void test_malformed_rndis(void)
{
    /* A packet with one PPI: header 44, PPI 44..60, frame from 60. */
    static const BadPacket bad[] = {
        { "msg_len 0", 4, 0 },
        { "msg_len 4", 4, 4 },
        { "msg_len past the bytes", 4, 1000 },
        { "data_offset past the message", 8, 0x1000 },
        { "data_len past the message", 12, 0x1000 },
        { "data_offset wrapping", 8, 0xfffffff0 },
        { "data_len wrapping", 12, 0xffffffc0 },
        { "frame shorter than a header", 12, 10 },
        { "PPI offset past the message", 28, 0x1000 },
        { "PPI length past the message", 32, 0x1000 },
        { "PPI length wrapping", 32, 0xfffffff8 },
        { "PPI size 0", NV_PKT_HDR, 0 },
        { "PPI size under its header", NV_PKT_HDR, 8 },
        { "PPI size past the PPIs", NV_PKT_HDR, 32 },
        { "PPI data offset past its size", NV_PKT_HDR + 8, 100 },
        { "PPI data offset in its header", NV_PKT_HDR + 8, 4 },
    };
    uint8_t frame[128], pkt[512], msg[NV_QUERY_HDR + 64];
    NVPpi ppi = { NV_PPI_VLAN, 0 };
    uint32_t len, plen, n = 0, req;
    NVRndis *m;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    len = build_raw(frame, peer_mac, 100, 7777);
    for (int i = 0; i < ARRAY_SIZE(bad); i++) {
        NVVia via = i % 2 ? NV_VIA_GPA : NV_VIA_SECTION;

        plen = nv_build_packet(pkt, frame, len, &ppi, 1, 0);
        stl_le_p(pkt + bad[i].field, bad[i].value);
        g_test_message("%s", bad[i].what);
        g_assert_cmpuint(send_msg(&f, pkt, plen, NV_CHANNEL_DATA, via), !=,
                         NV_STAT_SUCCESS);
        assert_sends(&f, n++);
    }
    /* A good packet, then a bad one in the same batch: the first goes. */
    plen = nv_build_packet(pkt, frame, len, NULL, 0, 8);
    stl_le_p(pkt + plen, NV_RNDIS_PACKET);
    stl_le_p(pkt + plen + 4, 0);
    g_assert_cmpuint(send_msg(&f, pkt, plen + 8, NV_CHANNEL_DATA,
                              NV_VIA_SECTION), !=, NV_STAT_SUCCESS);
    assert_wire(&f, frame, len);
    assert_sends(&f, n++);

    /* QUERY and SET with their information outside the message */
    build_request(msg, &f, NV_RNDIS_QUERY, NV_OID_PERMANENT_ADDRESS, 4, 1000,
                  4);
    req = f.req_id;
    send_msg(&f, msg, NV_QUERY_HDR + 4, NV_CHANNEL_CONTROL, NV_VIA_GPA);
    assert_not_done(&f, NV_RNDIS_QUERY, req);
    build_request(msg, &f, NV_RNDIS_QUERY, NV_OID_PERMANENT_ADDRESS,
                  0xffffffff, 20, 4);
    req = f.req_id;
    send_msg(&f, msg, NV_QUERY_HDR + 4, NV_CHANNEL_CONTROL, NV_VIA_SECTION);
    assert_not_done(&f, NV_RNDIS_QUERY, req);
    build_request(msg, &f, NV_RNDIS_SET, NV_OID_CURRENT_PACKET_FILTER, 4,
                  0xfffffff0, 4);
    req = f.req_id;
    send_msg(&f, msg, NV_QUERY_HDR + 4, NV_CHANNEL_CONTROL, NV_VIA_GPA);
    assert_not_done(&f, NV_RNDIS_SET, req);
    build_request(msg, &f, NV_RNDIS_SET, NV_OID_CURRENT_PACKET_FILTER, 8, 20,
                  4);
    req = f.req_id;
    send_msg(&f, msg, NV_QUERY_HDR + 4, NV_CHANNEL_CONTROL, NV_VIA_GPA);
    assert_not_done(&f, NV_RNDIS_SET, req);
    /* Shorter than a request: nothing to answer. */
    build_request(msg, &f, NV_RNDIS_QUERY, NV_OID_PERMANENT_ADDRESS, 0, 20,
                  0);
    req = f.req_id;
    stl_le_p(msg + 4, 16);
    send_msg(&f, msg, 16, NV_CHANNEL_CONTROL, NV_VIA_GPA);
    assert_not_done(&f, NV_RNDIS_QUERY, req);
    memset(msg, 0, 16);
    req = ++f.req_id;
    stl_le_p(msg, NV_RNDIS_INIT);
    stl_le_p(msg + 4, 12);
    stl_le_p(msg + 8, req);
    send_msg(&f, msg, 12, NV_CHANNEL_CONTROL, NV_VIA_GPA);
    assert_not_done(&f, NV_RNDIS_INIT, req);
    /* Of no known type */
    stl_le_p(msg, 0x55);
    send_msg(&f, msg, 12, NV_CHANNEL_CONTROL, NV_VIA_SECTION);
    stl_le_p(msg, 0x80000002);
    send_msg(&f, msg, 12, NV_CHANNEL_CONTROL, NV_VIA_SECTION);
    nv_assert_alive(&f);

    /* OIDs the NIC does not have */
    g_assert_cmphex(nv_query(&f, 0x0badf00d, NULL, 0, msg, &len), ==,
                    NV_RNDIS_NOT_SUPPORTED);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmphex(nv_set(&f, 0x0badf00d, "abcd", 4), ==,
                    NV_RNDIS_NOT_SUPPORTED);
    g_assert_cmphex(nv_set(&f, NV_OID_PERMANENT_ADDRESS, nic_mac, 6), !=,
                    NV_RNDIS_SUCCESS);
    /* Settings that are wrong: refused. */
    g_assert_cmphex(nv_set(&f, NV_OID_CURRENT_PACKET_FILTER, "\x0d", 1), !=,
                    NV_RNDIS_SUCCESS);
    memset(msg, 0, sizeof(msg));
    msg[0] = 0x12;
    msg[1] = 3;
    stw_le_p(msg + 2, 28);
    g_assert_cmphex(nv_set(&f, NV_OID_OFFLOAD_PARAMETERS, msg, 28), !=,
                    NV_RNDIS_SUCCESS);
    msg[0] = 0x80;
    g_assert_cmphex(nv_set(&f, NV_OID_OFFLOAD_PARAMETERS, msg, 8), !=,
                    NV_RNDIS_SUCCESS);
    {
        g_autofree uint8_t *rss = g_malloc(40 + 4 * RSS_TABLE + 40);
        uint32_t table[RSS_TABLE] = { 0 };
        uint32_t rlen = build_rss(rss, 0, table, ms_key);

        g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, rss, 20), !=,
                        NV_RNDIS_SUCCESS);
        stl_le_p(rss + 16, rlen);               /* table past the end */
        g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, rss, rlen), !=,
                        NV_RNDIS_SUCCESS);
        build_rss(rss, 0, table, ms_key);
        stl_le_p(rss + 24, 0xfffffff0);         /* key wrapping */
        g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, rss, rlen), !=,
                        NV_RNDIS_SUCCESS);
        build_rss(rss, 0, table, ms_key);
        stw_le_p(rss + 20, 16);                 /* a short key */
        g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, rss, rlen), !=,
                        NV_RNDIS_SUCCESS);
        build_rss(rss, 0, table, ms_key);
        stw_le_p(rss + 12, 6);                  /* a table of 1.5 */
        g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, rss, rlen), !=,
                        NV_RNDIS_SUCCESS);
    }
    {
        uint8_t cfg[20] = { 0 };

        stl_le_p(cfg, 1000);                    /* name past the end */
        stl_le_p(cfg + 4, 28);
        g_assert_cmphex(nv_set(&f, NV_OID_CONFIG_PARAMETER, cfg,
                               sizeof(cfg)), !=, NV_RNDIS_SUCCESS);
        g_assert_cmphex(nv_set(&f, NV_OID_CONFIG_PARAMETER, cfg, 8), !=,
                        NV_RNDIS_SUCCESS);
    }
    /* The filter the guest set is still the one. */
    m = inject(&f, frame, build_raw(frame, bcast_mac, 64, 1));
    nv_rndis_free(m);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Channel close and reopen
 * ------------------------
 */

/*
 * What netvsc does on an MTU change or module unload, then probes again:
 * HALT (completed, no answer), the buffers revoked and their GPADLs torn
 * down, the channel closed; the new session's receive slots hold the new
 * MTU's frames. Then a close without all that, frames held by the guest:
 * nothing of the old session comes in the next.
 */
static void test_reopen(void)
{
    g_autofree uint8_t *frame = g_malloc(FRAME_MAX);
    uint8_t msg[NV_MSG_SIZE], halt[12];
    uint32_t len;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    assert_traffic(&f);
    memset(halt, 0, sizeof(halt));
    stl_le_p(halt, NV_RNDIS_HALT);
    stl_le_p(halt + 4, sizeof(halt));
    stl_le_p(halt + 8, ++f.req_id);
    g_assert_cmpuint(send_msg(&f, halt, sizeof(halt), NV_CHANNEL_CONTROL,
                              NV_VIA_GPA), ==, NV_STAT_SUCCESS);
    memset(msg, 0, sizeof(msg));
    stl_le_p(msg, NV_MSG_REVOKE_RECV_BUF);
    stw_le_p(msg + 4, NV_RECV_BUF_ID);
    nv_send_nvsp(&f, 0, msg, sizeof(msg), false);
    stl_le_p(msg, NV_MSG_REVOKE_SEND_BUF);
    stw_le_p(msg + 4, 0);
    nv_send_nvsp(&f, 0, msg, sizeof(msg), false);
    /* Both GPADLs let go; no frame taken meanwhile. */
    nv_gpadl_teardown(&f, NV_RECV_GPADL);
    nv_gpadl_teardown(&f, NV_SEND_GPADL);
    len = build_raw(frame, nic_mac, 100, 1);
    nv_wire_send(&f, frame, len);
    nv_assert_quiet(&f);
    vmbus_guest_close(&f.g, &f.ch[0]);
    f.open[0] = false;

    /* Jumbo frames, at another version */
    f.ch[0].gpadl++;
    f.probe_mtu = 9000;
    nv_open(&f);
    f.version = 0;
    nv_probe(&f, NV_VERSION_6);
    g_assert_cmpuint(f.rx_slot_size, >=, 9014 + NV_PKT_HDR + 2 * 16);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    /* The frame from before the close, if it waited: nothing else. */
    len = build_raw(frame, nic_mac, 9014, 2);
    nv_wire_send(&f, frame, len);
    for (;;) {
        NVRndis *m = nv_wait_frame(&f);
        const uint8_t *data;
        uint32_t got;

        data = nv_frame(m, &got);
        if (got == 100) {
            nv_rndis_free(m);
            continue;
        }
        g_assert_cmpuint(got, ==, len);
        g_assert_cmpmem(data, got, frame, len);
        nv_rndis_free(m);
        break;
    }
    len = build_raw(frame, peer_mac, 9014, 3);
    transmit(&f, 0, frame, len, NV_VIA_GPA);

    /* Closed with frames held and buffers shared (VMBus 4.0 order). */
    f.hold = true;
    for (uint32_t i = 0; i < 3; i++) {
        len = build_raw(frame, nic_mac, 500, 10 + i);
        nv_rndis_free(inject(&f, frame, len));
    }
    vmbus_guest_close(&f.g, &f.ch[0]);
    f.open[0] = false;
    nv_gpadl_teardown(&f, NV_RECV_GPADL);
    nv_gpadl_teardown(&f, NV_SEND_GPADL);
    g_array_set_size(f.held, 0);
    f.hold = false;
    f.ch[0].gpadl++;
    f.probe_mtu = 0;
    nv_open(&f);
    f.version = 0;
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    nv_assert_quiet(&f);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/* RELID_RELEASED for a rescinded channel. */
static void release_relid(NVGuest *f, uint32_t relid)
{
    uint8_t body[4];

    stl_le_p(body, relid);
    g_assert_cmpuint(vmbus_guest_post(&f->g, 0, f->g.conn_id,
                                      VMBUS_GUEST_RELID_RELEASED, body, 12),
                     ==, 0);
}

/*
 * A machine reset with the channels open, a subchannel, frames held and
 * RSS on: the guest connects again and finds a NIC that starts over (no
 * version, no buffers, one queue until it asks), and that works.
 */
static void test_reset(void)
{
    g_autofree uint8_t *params = g_malloc(40 + 4 * RSS_TABLE + 40);
    uint32_t table[RSS_TABLE], got, len;
    uint8_t frame[128], msg[NV_MSG_SIZE] = { 0 };
    Frame fr = tcp4(3, 3333, 100);
    NVGuest f;

    nv_start(&f, ",queues=2", NV_VERSION_61);
    g_assert_cmpuint(ask_subchannels(&f, 1, 1, &got), ==, NV_STAT_SUCCESS);
    nv_take_subchannel(&f, 1);
    nv_open_channel(&f, 1, 1);
    for (int i = 0; i < RSS_TABLE; i++) {
        table[i] = 1;
    }
    len = build_rss(params, 0, table, ms_key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    f.hold = true;
    assert_steered(&f, &fr, 1, true, rss_hash(ms_key, &fr));
    nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 100, 1)));

    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    nv_reconnect(&f);
    nv_open(&f);
    /* Nothing before INIT: no buffer, no subchannel. */
    stl_le_p(msg, NV_MSG_SEND_RECV_BUF);
    stl_le_p(msg + 4, NV_RECV_GPADL);
    stw_le_p(msg + 8, NV_RECV_BUF_ID);
    assert_nvsp_refused(&f, 0, msg, sizeof(msg));
    nv_probe(&f, NV_VERSION_5);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    /* RSS is off until set again: the primary, no hash. */
    assert_steered(&f, &fr, 0, false, 0);
    g_assert_cmpuint(ask_subchannels(&f, 1, 1, &got), ==, NV_STAT_SUCCESS);
    nv_take_subchannel(&f, 1);
    nv_open_channel(&f, 1, 0);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    assert_steered(&f, &fr, 1, true, rss_hash(ms_key, &fr));
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * device_del with both channels open and frames held: both offers are
 * rescinded, the NIC goes once the guest released them. A new one on the
 * same netdev, with an instance GUID given, works.
 */
static void test_hotplug(void)
{
    /* 12345678-9abc-def0-1122-334455667788, as the offer carries it */
    static const uint8_t instance[16] = {
        0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    };
    uint32_t relids[2], got;
    uint8_t frame[128];
    NVGuest f;

    nv_start(&f, ",queues=2", NV_VERSION_61);
    g_assert_cmpuint(ask_subchannels(&f, 1, 1, &got), ==, NV_STAT_SUCCESS);
    nv_take_subchannel(&f, 1);
    nv_open_channel(&f, 1, 1);
    f.hold = true;
    nv_rndis_free(inject(&f, frame, build_raw(frame, nic_mac, 100, 1)));
    relids[0] = f.ch[0].relid;
    relids[1] = f.ch[1].relid;

    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'net0'}}");
    for (int i = 0; i < 2; i++) {
        HvpMessage m = vmbus_guest_recv(&f.g, 0,
                                        VMBUS_GUEST_RESCIND_CHANNELOFFER);
        uint32_t relid = ldl_le_p(m.payload + 8);

        g_assert_true(relid == relids[0] || relid == relids[1]);
        release_relid(&f, relid);
    }
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");
    /* Frames meanwhile go nowhere. */
    nv_wire_send(&f, frame, build_raw(frame, nic_mac, 100, 2));

    qtest_qmp_assert_success(f.qts, "{'execute': 'device_add', 'arguments':"
                             " {'driver': 'hv-net', 'id': 'net1',"
                             " 'netdev': 'n0', 'mac': '" NV_MAC "',"
                             " 'instanceid':"
                             " '12345678-9abc-def0-1122-334455667788'}}");
    nv_take_offer(&f);
    g_assert_cmpmem(f.instance, 16, instance, 16);
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Migration
 * ---------
 */

/* The receive buffer still holds what @m read from it. */
static void assert_rx_intact(NVGuest *f, const NVRndis *m)
{
    g_autofree uint8_t *now = g_malloc(m->len);

    qtest_memread(f->qts, NV_RECV_BUF_GPA + m->offset, now, m->len);
    g_assert_cmpmem(now, m->len, m->data, m->len);
}

/*
 * Frames the guest holds, frames the host gathered while the guest's
 * ring was full, and a QUERY the host had not taken yet, migrate: on the
 * destination the held frames' slots are not reused before the guest
 * completes them, the gathered ones and the answer come, and both paths
 * go on.
 */
static void test_migrate(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-net-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());
    uint8_t frame[1514], query[NV_QUERY_HDR];
    NVRndis *held[3], *m;
    uint32_t nfill, rcv, req;
    uint64_t first, t;
    QTestState *dst;
    NVGuest f;

    nv_boot(&f, "");
    f.ch[0].recv_pages = 2;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    rcv = nv_query_u32(&f, NV_OID_RCV_OK);
    f.hold = true;
    for (uint32_t i = 0; i < 3; i++) {
        nv_wire_send(&f, frame, numbered(frame, i, 1000 + i));
        held[i] = nv_wait_frame(&f);
        assert_numbered(held[i], i, 1000 + i);
    }
    nfill = fill_ring(&f, 64, &first);
    for (uint32_t i = 3; i < 8; i++) {
        nv_wire_send(&f, frame, numbered(frame, i, 1000 + i));
    }
    nv_wire_wait_taken(&f);
    build_request(query, &f, NV_RNDIS_QUERY, NV_OID_MEDIA_CONNECT_STATUS, 0,
                  20, 0);
    req = f.req_id;
    t = nv_send_rndis(&f, 0, NV_CHANNEL_CONTROL, query, sizeof(query),
                      NV_VIA_GPA);

    dst = nv_boot_incoming(&f, "", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    nv_switch(&f, dst);

    claim_fill(&f, first, nfill);
    for (uint32_t i = 3; i < 8; i++) {
        m = nv_wait_frame(&f);
        assert_numbered(m, i, 1000 + i);
        nv_rndis_free(m);
    }
    g_assert_cmpuint(nv_wait_send(&f, 0, t), ==, NV_STAT_SUCCESS);
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, req);
    g_assert_cmphex(ldl_le_p(m->data + 12), ==, NV_RNDIS_SUCCESS);
    nv_rndis_free(m);
    /* More frames while the first three are held: their slots stay. */
    f.hold = false;
    for (uint32_t i = 8; i < 20; i++) {
        nv_wire_send(&f, frame, numbered(frame, i, 1500));
        m = nv_wait_frame(&f);
        assert_numbered(m, i, 1500);
        nv_rndis_free(m);
    }
    for (int i = 0; i < 3; i++) {
        assert_rx_intact(&f, held[i]);
        nv_rndis_free(held[i]);
    }
    nv_complete_held(&f);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_RCV_OK), ==, rcv + 20);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Answers and a link indication waiting for receive-buffer room (the
 * guest holds every slot) migrate, and come once the guest completes.
 */
static void test_migrate_control(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-net-mig-ctl-%d.sock",
                                           g_get_tmp_dir(), getpid());
    uint8_t frame[1514], query[NV_QUERY_HDR];
    uint32_t req[2], n;
    QTestState *dst;
    NVRndis *m;
    NVGuest f;

    nv_boot(&f, "");
    f.probe_rx_size = 4 * NV_PAGE;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    f.hold = true;
    for (n = 0; n < f.rx_nslots; n++) {
        nv_wire_send(&f, frame, numbered(frame, n, 700));
        nv_rndis_free(nv_wait_frame(&f));
    }
    for (int i = 0; i < 2; i++) {
        build_request(query, &f, NV_RNDIS_QUERY,
                      i ? NV_OID_MEDIA_CONNECT_STATUS : NV_OID_LINK_SPEED, 0,
                      20, 0);
        req[i] = f.req_id;
        g_assert_cmpuint(send_msg(&f, query, sizeof(query),
                                  NV_CHANNEL_CONTROL, NV_VIA_GPA), ==,
                         NV_STAT_SUCCESS);
    }
    set_link(&f, "net0", false);
    nv_assert_quiet(&f);

    dst = nv_boot_incoming(&f, "", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    nv_switch(&f, dst);
    /* The link as the source left it. */
    set_link(&f, "net0", false);
    f.hold = false;
    nv_complete_held(&f);
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, req[0]);
    g_assert_cmpuint(ldl_le_p(m->data + 24), ==, 10000 * 10000);
    nv_rndis_free(m);
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, req[1]);
    g_assert_cmpuint(ldl_le_p(m->data + 24), ==, 0);
    nv_rndis_free(m);
    assert_indication(&f, NV_RNDIS_MEDIA_DISCONNECT);
    set_link(&f, "net0", true);
    assert_indication(&f, NV_RNDIS_MEDIA_CONNECT);
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Two queues with RSS on and a frame held on each channel: the
 * destination steers as the source did, and takes completions on each.
 */
static void test_migrate_rss(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-net-mig-rss-%d.sock",
                                           g_get_tmp_dir(), getpid());
    g_autofree uint8_t *params = g_malloc(40 + 4 * RSS_TABLE + 40);
    uint32_t table[RSS_TABLE], got, len;
    NVRndis *held[2] = { NULL, NULL };
    uint8_t frame[128];
    QTestState *dst;
    NVGuest f;

    nv_start(&f, ",queues=2", NV_VERSION_61);
    g_assert_cmpuint(ask_subchannels(&f, 1, 1, &got), ==, NV_STAT_SUCCESS);
    g_assert_cmpuint(got, ==, 1);
    nv_take_subchannel(&f, 1);
    nv_open_channel(&f, 1, 1);
    for (int i = 0; i < RSS_TABLE; i++) {
        table[i] = i % 2;
    }
    len = build_rss(params, 0, table, ms_key);
    g_assert_cmphex(nv_set(&f, NV_OID_RSS_PARAMETERS, params, len), ==,
                    NV_RNDIS_SUCCESS);
    f.hold = true;
    for (int i = 0; !held[0] || !held[1]; i++) {
        Frame fr = rss_flow(i);
        uint32_t chan = table[rss_hash(ms_key, &fr) % RSS_TABLE];
        NVRndis *m;

        g_assert_cmpint(i, <, 48);
        len = build_frame(frame, &fr);
        m = inject(&f, frame, len);
        g_assert_cmpuint(m->chan, ==, chan);
        if (held[chan]) {
            nv_rndis_free(m);
        } else {
            held[chan] = m;
        }
    }

    dst = nv_boot_incoming(&f, ",queues=2", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    nv_switch(&f, dst);
    f.hold = false;
    g_assert_cmphex(check_flows(&f, ms_key, table, 0x3), ==, 0x3);
    for (int i = 0; i < 2; i++) {
        assert_rx_intact(&f, held[i]);
        nv_rndis_free(held[i]);
    }
    nv_complete_held(&f);
    {
        Frame fr = tcp4(2, 3000, 64);

        fr.dst = peer_mac;
        len = build_frame(frame, &fr);
        transmit(&f, 1, frame, len, NV_VIA_SECTION);
    }
    assert_traffic(&f);
    nv_assert_quiet(&f);
    nv_finish(&f);
}

/*
 * Regressions
 * -----------
 *
 * Device bugs these tests found. They report with g_test_fail() rather
 * than abort, so that the ones after still run.
 */

/*
 * An RNDIS request that comes when the guest's ring has room for its
 * NVSP completion and for the answer's transfer-page packet, but not for
 * both: the host takes the request (there is room for the completion),
 * sends the answer first, and has no room left for the completion,
 * which it drops. Linux waits for that completion forever (the send
 * counts as outstanding: HALT and channel close hang).
 */
static void test_bug_completion_room(void)
{
    uint8_t query[NV_QUERY_HDR];
    uint32_t nfill, req;
    uint64_t first, t;
    NVRndis *m;
    NVComp c;
    NVGuest f;

    nv_boot(&f, "");
    f.ch[0].recv_pages = 2;
    nv_open(&f);
    nv_probe(&f, NV_VERSION_61);
    nv_set_filter(&f, NV_FILTER_DEFAULT);
    /* 128 bytes free: a completion (64) or an answer (80), not both. */
    nfill = fill_ring(&f, 128, &first);
    build_request(query, &f, NV_RNDIS_QUERY, NV_OID_MEDIA_CONNECT_STATUS, 0,
                  20, 0);
    req = f.req_id;
    t = nv_send_rndis(&f, 0, NV_CHANNEL_CONTROL, query, sizeof(query),
                      NV_VIA_GPA);
    claim_fill(&f, first, nfill);
    m = nv_wait_rndis(&f, NV_RNDIS_QUERY | NV_RNDIS_COMPLETION, req);
    nv_rndis_free(m);
    /* Sent with the answer, or never: a few rounds are plenty. */
    if (!nv_try_comp(&f, t, 200, &c)) {
        g_test_message("hv-net: the SEND_RNDIS_PKT completion for "
                       "transaction 0x%" PRIx64 " was dropped", t);
        g_test_fail();
    }
    nv_finish(&f);
}

/*
 * The link set down on the source, then migrated: the guest was told it
 * is down, and the destination must keep it so (as virtio-net and e1000
 * restore nc->link_down from their state), dropping frames until it comes
 * up and telling the guest when it does. hv-net leaves the destination's
 * link up, so frames reach a guest that believes it has no carrier, and
 * the connect status query contradicts the link.
 */
static void test_bug_migrate_link(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-net-mig-lnk-%d.sock",
                                           g_get_tmp_dir(), getpid());
    uint8_t frame[128];
    QTestState *dst;
    NVRndis *m;
    const uint8_t *data;
    uint32_t len;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    set_link(&f, "net0", false);
    assert_indication(&f, NV_RNDIS_MEDIA_DISCONNECT);
    dst = nv_boot_incoming(&f, "", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    nv_switch(&f, dst);
    g_assert_cmpuint(nv_query_u32(&f, NV_OID_MEDIA_CONNECT_STATUS), ==, 1);
    /* Down: this one is dropped... */
    nv_wire_send(&f, frame, build_raw(frame, nic_mac, 64, 1));
    nv_wire_wait_taken(&f);
    set_link(&f, "net0", true);
    assert_indication(&f, NV_RNDIS_MEDIA_CONNECT);
    /* ... and this is the first the guest gets. */
    nv_wire_send(&f, frame, build_raw(frame, nic_mac, 64, 2));
    m = nv_wait_frame(&f);
    data = nv_frame(m, &len);
    if (ldl_be_p(data + ETH_HLEN) != 2) {
        g_test_message("a frame reached the guest on the destination while "
                       "the link was down");
        g_test_fail();
        nv_rndis_free(nv_wait_frame(&f));
    }
    nv_rndis_free(m);
    nv_finish(&f);
}

/*
 * A guest that sends NDIS_CONFIG with a jumbo MTU after its receive
 * buffer was set up (review finding): the slots it was told of stay, and
 * migration goes through with them.
 */
static void test_bug_mtu_after_buffer(void)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-net-mig-mtu-%d.sock",
                                           g_get_tmp_dir(), getpid());
    uint8_t msg[40] = { 0 }, frame[128];
    QTestState *dst;
    NVRndis *m;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    stl_le_p(msg, NV_MSG_SEND_NDIS_CONFIG);
    stl_le_p(msg + 4, 9014);
    nv_send_nvsp(&f, 0, msg, sizeof(msg), false);
    nv_assert_alive(&f);
    dst = nv_boot_incoming(&f, "", uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    nv_switch(&f, dst);
    nv_wire_send(&f, frame, build_raw(frame, nic_mac, 64, 7));
    m = nv_wait_frame(&f);
    nv_rndis_free(m);
    nv_assert_alive(&f);
    nv_finish(&f);
}

/*
 * RNDIS requests whose information lies outside the message, or that are
 * too short for their fields but carry a request id: docs/devices/hv-net.rst
 * says a bad RNDIS request gets its NDIS status, and Linux waits for the
 * answer to every request without a timeout; hv-net logs and answers
 * nothing.
 */
static void test_bug_rndis_unanswered(void)
{
    static const struct {
        uint32_t type, buflen, off, len;
    } bad[] = {
        { NV_RNDIS_QUERY, 4, 1000, NV_QUERY_HDR + 4 },
        { NV_RNDIS_QUERY, 0xffffffff, 20, NV_QUERY_HDR + 4 },
        { NV_RNDIS_SET, 4, 0xfffffff0, NV_QUERY_HDR + 4 },
        { NV_RNDIS_SET, 8, 20, NV_QUERY_HDR + 4 },
        { NV_RNDIS_INIT, 0, 0, 12 },
    };
    uint8_t msg[NV_QUERY_HDR + 4];
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    for (int i = 0; i < ARRAY_SIZE(bad); i++) {
        uint32_t req;
        NVRndis *m;

        build_request(msg, &f, bad[i].type, NV_OID_CURRENT_PACKET_FILTER,
                      bad[i].buflen, bad[i].off, 4);
        req = f.req_id;
        stl_le_p(msg + 4, bad[i].len);
        send_msg(&f, msg, bad[i].len, NV_CHANNEL_CONTROL, NV_VIA_GPA);
        /* A later request answered: this one's answer came, or never. */
        nv_assert_alive(&f);
        m = nv_take_rndis(&f, bad[i].type | NV_RNDIS_COMPLETION, req);
        if (!m) {
            g_test_message("malformed RNDIS message 0x%x (request %u): "
                           "no answer", bad[i].type, req);
            g_test_fail();
        } else {
            g_assert_cmphex(ldl_le_p(m->data + 12), !=, NV_RNDIS_SUCCESS);
            nv_rndis_free(m);
        }
    }
    nv_finish(&f);
}

/*
 * GPA-direct ranges of no bytes, as netvsc's init_page_array() makes for
 * an skb with no linear data: the range still names the page of its
 * offset. The frame in the other ranges must go out.
 */
static void test_bug_empty_range(void)
{
    uint8_t frame[256], pkt[NV_PKT_HDR + 256];
    uint32_t len, status;
    NVRange r[3];
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    len = build_raw(frame, peer_mac, 200, 1);
    nv_build_packet(pkt, frame, len, NULL, 0, 0);
    r[0] = (NVRange) { NV_DATA_GPA + 0x100, NV_PKT_HDR };
    r[1] = (NVRange) { NV_DATA_GPA + 0x1234, 0 };
    r[2] = (NVRange) { NV_DATA_GPA + 0x2040, len };
    qtest_memwrite(f.qts, r[0].gpa, pkt, NV_PKT_HDR);
    qtest_memwrite(f.qts, r[2].gpa, frame, len);
    status = nv_wait_send(&f, 0, nv_send_rndis_raw(&f, 0, NV_CHANNEL_DATA,
                                                   NV_NO_SECTION, 0, r, 3));
    if (status != NV_STAT_SUCCESS) {
        g_test_message("a GPA-direct packet with an empty range: NVSP "
                       "status %u, the frame was dropped", status);
        g_test_fail();
    } else {
        assert_wire(&f, frame, len);
    }
    nv_finish(&f);
}

/*
 * NVSP messages that need no answer, sent asking for a completion: hv-net
 * says every message that asks for one gets one (a VMBus rule the other
 * devices keep), but NDIS_VERSION, NDIS_CONFIG and the revokes get none.
 */
static void test_bug_no_completion(void)
{
    static const uint32_t types[] = {
        NV_MSG_SEND_NDIS_VERSION, NV_MSG_SEND_NDIS_CONFIG,
        NV_MSG_REVOKE_SEND_BUF,
    };
    uint8_t msg[NV_MSG_SIZE] = { 0 };
    NVComp c;
    NVGuest f;

    nv_start(&f, "", NV_VERSION_61);
    for (int i = 0; i < ARRAY_SIZE(types); i++) {
        uint64_t t;

        memset(msg, 0, sizeof(msg));
        stl_le_p(msg, types[i]);
        stl_le_p(msg + 4, types[i] == NV_MSG_SEND_NDIS_VERSION ? 6 : 1514);
        stl_le_p(msg + 8, types[i] == NV_MSG_SEND_NDIS_VERSION ? 30 : 0);
        t = nv_send_nvsp(&f, 0, msg, sizeof(msg), true);
        /* The host answers in order: a later request's answer first. */
        stl_le_p(msg, NV_MSG_SWITCH_DATA_PATH);
        nv_wait_comp(&f, 0, nv_send_nvsp(&f, 0, msg, sizeof(msg), true));
        if (!nv_try_comp(&f, t, 10, &c)) {
            g_test_message("NVSP message %u asked for a completion and got "
                           "none", types[i]);
            g_test_fail();
        }
    }
    nv_finish(&f);
}

/* Properties out of range stop QEMU with a message naming them. */
static void test_bad_properties(void)
{
    static const struct {
        const char *props, *message;
    } cases[] = {
        { "queues=0", "queues must be from 1 to 64" },
        { "queues=65", "queues must be from 1 to 64" },
        { "link-speed=0", "link-speed must be from 1 to 429496" },
        /* 429497 Mbit/s no longer fits OID_GEN_LINK_SPEED's 32 bits */
        { "link-speed=429497", "link-speed must be from 1 to 429496" },
    };

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *args = g_strdup_printf(
            "-M q35 -cpu qemu64,hv-vpindex=on,hv-synic=on"
            " -device vmbus-bridge -netdev user,id=n0"
            " -device hv-net,netdev=n0,%s", cases[i].props);

        assert_startup_fails(args, cases[i].message);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < ARRAY_SIZE(init_cases); i++) {
        g_autofree char *name = g_strdup_printf("/hv-net/init/%s",
                                                init_cases[i].name);

        qtest_add_data_func(name, &init_cases[i], test_init);
    }
    qtest_add_func("/hv-net/init/negotiate", test_init_negotiate);
    qtest_add_func("/hv-net/init/bad-properties", test_bad_properties);
    qtest_add_func("/hv-net/tx/section", test_tx_section);
    qtest_add_func("/hv-net/tx/gpa-direct", test_tx_gpa);
    qtest_add_func("/hv-net/tx/batch", test_tx_batch);
    qtest_add_func("/hv-net/tx/vlan", test_tx_vlan);
    qtest_add_func("/hv-net/tx/checksum", test_tx_csum);
    qtest_add_func("/hv-net/tx/lso", test_tx_lso);
    qtest_add_func("/hv-net/tx/flow-control", test_tx_flow_control);
    qtest_add_func("/hv-net/rx/frames", test_rx);
    qtest_add_func("/hv-net/rx/batch", test_rx_batch);
    qtest_add_func("/hv-net/rx/overflow", test_rx_overflow);
    qtest_add_func("/hv-net/rx/vlan", test_rx_vlan);
    qtest_add_func("/hv-net/rx/control-flood", test_rx_control_flood);
    qtest_add_func("/hv-net/rss/toeplitz", test_toeplitz_vectors);
    qtest_add_func("/hv-net/rss/steering", test_rss);
    qtest_add_func("/hv-net/link", test_link);
    qtest_add_func("/hv-net/oids", test_oids);
    qtest_add_func("/hv-net/malformed/nvsp", test_malformed_nvsp);
    qtest_add_func("/hv-net/malformed/rndis", test_malformed_rndis);
    qtest_add_func("/hv-net/reopen", test_reopen);
    qtest_add_func("/hv-net/reset", test_reset);
    qtest_add_func("/hv-net/hotplug", test_hotplug);
    qtest_add_func("/hv-net/migrate/held", test_migrate);
    qtest_add_func("/hv-net/migrate/rss", test_migrate_rss);
    qtest_add_func("/hv-net/migrate/control", test_migrate_control);
    /* Last: a suite of its own, which GLib runs after the others. */
    qtest_add_func("/hv-net/regression/completion-room",
                   test_bug_completion_room);
    qtest_add_func("/hv-net/regression/empty-gpa-range", test_bug_empty_range);
    qtest_add_func("/hv-net/regression/no-completion", test_bug_no_completion);
    qtest_add_func("/hv-net/regression/migrate-link-down",
                   test_bug_migrate_link);
    qtest_add_func("/hv-net/regression/mtu-after-buffer",
                   test_bug_mtu_after_buffer);
    qtest_add_func("/hv-net/regression/rndis-unanswered",
                   test_bug_rndis_unanswered);
    return g_test_run();
}
