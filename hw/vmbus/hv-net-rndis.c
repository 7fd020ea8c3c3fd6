/*
 * qemu-vmbus: hv-net's RNDIS control messages and OIDs
 *
 * INITIALIZE, QUERY, SET, RESET, KEEPALIVE and HALT come from the guest
 * inside SEND_RNDIS_PKT; the answers go back through the receive buffer
 * like frames (hv-net-rx.c), as do link status indications.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "net/eth.h"
#include "hw/vmbus/hv-net.h"
#include "hw/vmbus/vmbus-ic.h"
#include "trace.h"

/* An answer being built: header, fixed part, then the information. */
typedef struct RndisAnswer {
    uint8_t buf[HV_NET_CONTROL_MAX];
    uint32_t len;
} RndisAnswer;

static const uint32_t supported_oids[] = {
    OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS, OID_GEN_MEDIA_SUPPORTED,
    OID_GEN_MEDIA_IN_USE, OID_GEN_MAXIMUM_LOOKAHEAD,
    OID_GEN_MAXIMUM_FRAME_SIZE, OID_GEN_LINK_SPEED,
    OID_GEN_TRANSMIT_BUFFER_SPACE, OID_GEN_RECEIVE_BUFFER_SPACE,
    OID_GEN_TRANSMIT_BLOCK_SIZE, OID_GEN_RECEIVE_BLOCK_SIZE,
    OID_GEN_VENDOR_ID, OID_GEN_VENDOR_DESCRIPTION,
    OID_GEN_CURRENT_PACKET_FILTER, OID_GEN_CURRENT_LOOKAHEAD,
    OID_GEN_DRIVER_VERSION, OID_GEN_MAXIMUM_TOTAL_SIZE, OID_GEN_MAC_OPTIONS,
    OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_MAXIMUM_SEND_PACKETS,
    OID_GEN_VENDOR_DRIVER_VERSION, OID_GEN_FRIENDLY_NAME,
    OID_GEN_XMIT_OK, OID_GEN_RCV_OK, OID_GEN_XMIT_ERROR, OID_GEN_RCV_ERROR,
    OID_GEN_RCV_NO_BUFFER, OID_802_3_PERMANENT_ADDRESS,
    OID_802_3_CURRENT_ADDRESS, OID_802_3_MULTICAST_LIST,
    OID_802_3_MAXIMUM_LIST_SIZE, OID_802_3_MAC_OPTIONS,
    OID_802_3_RCV_ERROR_ALIGNMENT, OID_802_3_XMIT_ONE_COLLISION,
    OID_802_3_XMIT_MORE_COLLISIONS, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
    OID_TCP_OFFLOAD_CURRENT_CONFIG, OID_TCP_OFFLOAD_PARAMETERS,
    OID_GEN_RECEIVE_SCALE_CAPABILITIES, OID_GEN_RECEIVE_SCALE_PARAMETERS,
    OID_GEN_RNDIS_CONFIG_PARAMETER,
};

/* The largest TCP segment the guest may hand over for segmentation. */
#define HV_NET_LSO_MAX      62780
#define HV_NET_MTU          1500
#define HV_NET_MULTICAST_MAX 32

static void put_u32(uint8_t *info, uint32_t *len, uint32_t v)
{
    stl_le_p(info, v);
    *len = 4;
}

/* A counter, 32 or 64 bits wide as the guest's buffer allows. */
static void put_counter(uint8_t *info, uint32_t *len, uint32_t room,
                        uint64_t v)
{
    if (room >= 8) {
        stq_le_p(info, v);
        *len = 8;
    } else {
        put_u32(info, len, MIN(v, UINT32_MAX));
    }
}

static uint32_t offload_caps(HVNet *n, uint8_t *info)
{
    struct ndis_offload off = { 0 };
    uint32_t size = n->nvsp_version >= NVSP_VERSION_5 ? NDIS_OFFLOAD_SIZE_REV3 :
                    n->nvsp_version >= NVSP_VERSION_4 ? NDIS_OFFLOAD_SIZE_REV2 :
                    NDIS_OFFLOAD_SIZE_REV1;
    uint32_t ip4 = NDIS_CSUM_IP4_OPTS | NDIS_CSUM_TCP_OPTS | NDIS_CSUM_TCP |
                   NDIS_CSUM_UDP | NDIS_CSUM_IP4_HDR;
    uint32_t ip6 = NDIS_CSUM_IP4_OPTS | NDIS_CSUM_TCP_OPTS | NDIS_CSUM_TCP |
                   NDIS_CSUM_UDP;

    off.header.type = NDIS_OBJECT_TYPE_OFFLOAD;
    off.header.rev = size == NDIS_OFFLOAD_SIZE_REV3 ? 3 :
                     size == NDIS_OFFLOAD_SIZE_REV2 ? 2 : 1;
    off.header.size = cpu_to_le16(size);
    off.csum.ip4_txenc = off.csum.ip4_rxenc = cpu_to_le32(NDIS_ENCAP_8023);
    off.csum.ip6_txenc = off.csum.ip6_rxenc = cpu_to_le32(NDIS_ENCAP_8023);
    off.csum.ip4_txcsum = off.csum.ip4_rxcsum = cpu_to_le32(ip4);
    off.csum.ip6_txcsum = off.csum.ip6_rxcsum = cpu_to_le32(ip6);
    /* QEMU's net_tx_pkt segments in software when the netdev cannot. */
    off.lsov2.ip4_encap = off.lsov2.ip6_encap = cpu_to_le32(NDIS_ENCAP_8023);
    off.lsov2.ip4_maxsz = off.lsov2.ip6_maxsz = cpu_to_le32(HV_NET_LSO_MAX);
    off.lsov2.ip4_minsg = off.lsov2.ip6_minsg = cpu_to_le32(2);
    off.lsov2.ip6_opts = cpu_to_le32(NDIS_LSOV2_IP6_EXTHDRS |
                                     NDIS_LSOV2_IP6_TCP_OPTS);
    memcpy(info, &off, size);
    return size;
}

static uint32_t rss_caps(HVNet *n, uint8_t *info)
{
    struct ndis_recv_scale_cap cap = {
        .header = {
            .type = NDIS_OBJECT_TYPE_RSS_CAPABILITIES,
            .rev = 2,
            .size = cpu_to_le16(sizeof(cap)),
        },
        .capabilities = cpu_to_le32(NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC |
                                    NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4 |
                                    NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6),
        .num_int_msg = cpu_to_le32(n->queues),
        .num_recv_que = cpu_to_le32(n->queues),
        .num_indirect_tabent = cpu_to_le16(NDIS_RSS_INDIRECTION_MAX),
    };

    memcpy(info, &cap, sizeof(cap));
    return sizeof(cap);
}

/*
 * Fills @info (room for @room bytes) for @oid; an NDIS status. @asked is
 * the guest's buffer: counters are 32 bits in a buffer of 4.
 */
static uint32_t query_oid(HVNet *n, uint32_t oid, uint8_t *info,
                          uint32_t room, uint32_t asked, uint32_t *len)
{
    *len = 0;
    switch (oid) {
    case OID_GEN_SUPPORTED_LIST:
        for (int i = 0; i < ARRAY_SIZE(supported_oids); i++) {
            stl_le_p(info + 4 * i, supported_oids[i]);
        }
        *len = sizeof(supported_oids);
        break;
    case OID_GEN_HARDWARE_STATUS:           /* ready */
    case OID_GEN_MEDIA_SUPPORTED:           /* 802.3 */
    case OID_GEN_MEDIA_IN_USE:
    case OID_802_3_MAC_OPTIONS:
    case OID_802_3_RCV_ERROR_ALIGNMENT:
    case OID_802_3_XMIT_ONE_COLLISION:
    case OID_802_3_XMIT_MORE_COLLISIONS:
        put_u32(info, len, 0);
        break;
    case OID_GEN_MAXIMUM_LOOKAHEAD:
    case OID_GEN_CURRENT_LOOKAHEAD:
    case OID_GEN_MAXIMUM_FRAME_SIZE:
        put_u32(info, len, HV_NET_MTU);
        break;
    case OID_GEN_MAXIMUM_TOTAL_SIZE:
    case OID_GEN_TRANSMIT_BLOCK_SIZE:
    case OID_GEN_RECEIVE_BLOCK_SIZE:
        put_u32(info, len, HV_NET_MTU + ETH_HLEN);
        break;
    case OID_GEN_LINK_SPEED:                /* in 100 bit/s */
        put_u32(info, len, n->link_speed_mbps * 10000);
        break;
    case OID_GEN_TRANSMIT_BUFFER_SPACE:
        put_u32(info, len, n->tx_nsections * HV_NET_SEND_SECTION_SIZE);
        break;
    case OID_GEN_RECEIVE_BUFFER_SPACE:
        put_u32(info, len, n->rx_nslots * n->rx_slot_size);
        break;
    case OID_GEN_VENDOR_ID:                 /* QEMU's OUI */
        put_u32(info, len, 0x525400);
        break;
    case OID_GEN_VENDOR_DESCRIPTION:
        *len = strlen("QEMU hv-net") + 1;
        memcpy(info, "QEMU hv-net", *len);
        break;
    case OID_GEN_FRIENDLY_NAME:
        *len = vmbus_ic_put_utf16("name", "QEMU Hyper-V Network Adapter",
                                  info, room, NULL);
        break;
    case OID_GEN_CURRENT_PACKET_FILTER:
        put_u32(info, len, n->packet_filter);
        break;
    case OID_GEN_DRIVER_VERSION:
        stw_le_p(info, 0x0600);
        *len = 2;
        break;
    case OID_GEN_VENDOR_DRIVER_VERSION:
        put_u32(info, len, 0x00010000);
        break;
    case OID_GEN_MAC_OPTIONS:               /* copy lookahead, serialized */
        put_u32(info, len, 0x3);
        break;
    case OID_GEN_MEDIA_CONNECT_STATUS:      /* 0: connected */
        put_u32(info, len, !n->link_up);
        break;
    case OID_GEN_MAXIMUM_SEND_PACKETS:
        put_u32(info, len, HV_NET_TX_BATCH);
        break;
    case OID_GEN_XMIT_OK:
        put_counter(info, len, asked, n->tx_ok);
        break;
    case OID_GEN_RCV_OK:
        put_counter(info, len, asked, n->rx_ok);
        break;
    case OID_GEN_XMIT_ERROR:
        put_counter(info, len, asked, n->tx_errors);
        break;
    case OID_GEN_RCV_ERROR:
        put_counter(info, len, asked, n->rx_errors);
        break;
    case OID_GEN_RCV_NO_BUFFER:
        put_counter(info, len, asked, n->rx_no_buffer);
        break;
    case OID_802_3_PERMANENT_ADDRESS:
        memcpy(info, n->conf.macaddr.a, ETH_ALEN);
        *len = ETH_ALEN;
        break;
    case OID_802_3_CURRENT_ADDRESS:
        memcpy(info, n->mac, ETH_ALEN);
        *len = ETH_ALEN;
        break;
    case OID_802_3_MULTICAST_LIST:          /* every multicast is taken */
        break;
    case OID_802_3_MAXIMUM_LIST_SIZE:
        put_u32(info, len, HV_NET_MULTICAST_MAX);
        break;
    case OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
    case OID_TCP_OFFLOAD_CURRENT_CONFIG:
        *len = offload_caps(n, info);
        break;
    case OID_GEN_RECEIVE_SCALE_CAPABILITIES:
        if (n->queues < 2) {
            return RNDIS_STATUS_NOT_SUPPORTED;
        }
        *len = rss_caps(n, info);
        break;
    default:
        return RNDIS_STATUS_NOT_SUPPORTED;
    }
    return RNDIS_STATUS_SUCCESS;
}

static uint32_t set_offload(HVNet *n, const uint8_t *info, uint32_t len)
{
    struct ndis_offload_params p = { 0 };

    if (len < offsetof(struct ndis_offload_params, flags) ||
        info[0] != NDIS_OBJECT_TYPE_DEFAULT) {
        return RNDIS_STATUS_INVALID_DATA;
    }
    memcpy(&p, info, MIN(len, sizeof(p)));
    /*
     * Nothing to keep: the guest asks for each offload per frame, in its
     * per-packet information, and only for those it switched on here.
     */
    trace_hv_net_offload(p.tcp_ip_v4_csum, p.udp_ip_v4_csum,
                         p.tcp_ip_v6_csum, p.udp_ip_v6_csum, p.lso_v2_ipv4,
                         p.lso_v2_ipv6);
    return RNDIS_STATUS_SUCCESS;
}

static uint32_t set_rss(HVNet *n, const uint8_t *info, uint32_t len)
{
    struct ndis_recv_scale_param p;
    uint32_t tab_off, tab_len, key_off, key_len;

    if (len < sizeof(p) || info[0] != NDIS_OBJECT_TYPE_RSS_PARAMETERS) {
        return RNDIS_STATUS_INVALID_DATA;
    }
    memcpy(&p, info, sizeof(p));
    if (le16_to_cpu(p.flag) & NDIS_RSS_PARAM_FLAG_DISABLE_RSS) {
        n->rss_enabled = false;
        trace_hv_net_rss(false, 0, 0);
        return RNDIS_STATUS_SUCCESS;
    }
    tab_off = le32_to_cpu(p.indirection_table_offset);
    tab_len = le16_to_cpu(p.indirection_table_size);
    key_off = le32_to_cpu(p.hashkey_offset);
    key_len = le16_to_cpu(p.hashkey_size);
    if (tab_len < 4 || tab_len % 4 ||
        tab_len > 4 * NDIS_RSS_INDIRECTION_MAX ||
        tab_off > len || tab_len > len - tab_off ||
        key_len != NDIS_RSS_KEY_SIZE || key_off > len ||
        key_len > len - key_off) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: malformed RSS parameters "
                      "(table %u at %u, key %u at %u, in %u bytes)\n",
                      tab_len, tab_off, key_len, key_off, len);
        return RNDIS_STATUS_INVALID_DATA;
    }
    n->rss_table_size = tab_len / 4;
    for (int i = 0; i < n->rss_table_size; i++) {
        n->rss_table[i] = ldl_le_p(info + tab_off + 4 * i);
    }
    memcpy(n->rss_key, info + key_off, NDIS_RSS_KEY_SIZE);
    n->rss_hash_types = le32_to_cpu(p.hashinfo);
    n->rss_enabled = true;
    trace_hv_net_rss(true, n->rss_hash_types, n->rss_table_size);
    return RNDIS_STATUS_SUCCESS;
}

/* RNDIS_CONFIG_PARAMETER "NetworkAddress": the guest sets its MAC. */
static uint32_t set_config_param(HVNet *n, const uint8_t *info, uint32_t len)
{
    static const char name[] = "NetworkAddress";
    uint32_t name_off, name_len, val_off, val_len;
    uint8_t mac[ETH_ALEN];

    if (len < 20) {
        return RNDIS_STATUS_INVALID_DATA;
    }
    name_off = ldl_le_p(info);
    name_len = ldl_le_p(info + 4);
    val_off = ldl_le_p(info + 12);
    val_len = ldl_le_p(info + 16);
    if (name_off > len || name_len > len - name_off ||
        val_off > len || val_len > len - val_off ||
        name_len != 2 * strlen(name) || val_len < 2 * 2 * ETH_ALEN) {
        return RNDIS_STATUS_INVALID_DATA;
    }
    for (int i = 0; i < strlen(name); i++) {
        if (lduw_le_p(info + name_off + 2 * i) != name[i]) {
            return RNDIS_STATUS_NOT_SUPPORTED;
        }
    }
    for (int i = 0; i < 2 * ETH_ALEN; i++) {
        uint16_t c = lduw_le_p(info + val_off + 2 * i);
        int d = c >= '0' && c <= '9' ? c - '0' :
                c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        if (d < 0) {
            return RNDIS_STATUS_INVALID_DATA;
        }
        mac[i / 2] = (i % 2) ? (mac[i / 2] << 4) | d : d;
    }
    memcpy(n->mac, mac, ETH_ALEN);
    qemu_format_nic_info_str(qemu_get_queue(n->nic), n->mac);
    return RNDIS_STATUS_SUCCESS;
}

static uint32_t set_oid(HVNet *n, uint32_t oid, const uint8_t *info,
                        uint32_t len)
{
    switch (oid) {
    case OID_GEN_CURRENT_PACKET_FILTER:
        if (len < 4) {
            return RNDIS_STATUS_INVALID_LENGTH;
        }
        n->packet_filter = ldl_le_p(info);
        /* Not now: the request's completion needs the ring room. */
        qemu_bh_schedule(n->rx_flush_bh);
        return RNDIS_STATUS_SUCCESS;
    case OID_GEN_CURRENT_LOOKAHEAD:
        return len < 4 ? RNDIS_STATUS_INVALID_LENGTH : RNDIS_STATUS_SUCCESS;
    case OID_802_3_MULTICAST_LIST:
        return len % ETH_ALEN || len > ETH_ALEN * HV_NET_MULTICAST_MAX ?
               RNDIS_STATUS_INVALID_LENGTH : RNDIS_STATUS_SUCCESS;
    case OID_TCP_OFFLOAD_PARAMETERS:
        return set_offload(n, info, len);
    case OID_GEN_RECEIVE_SCALE_PARAMETERS:
        return set_rss(n, info, len);
    case OID_GEN_RNDIS_CONFIG_PARAMETER:
        return set_config_param(n, info, len);
    default:
        return RNDIS_STATUS_NOT_SUPPORTED;
    }
}

static void answer(HVNet *n, RndisAnswer *a, uint32_t type)
{
    stl_le_p(a->buf, type);
    stl_le_p(a->buf + 4, a->len);
    hv_net_rx_control(n, a->buf, a->len);
}

/* Where QUERY and SET's information is; false if outside the message. */
static bool info_buffer(const uint8_t *msg, uint32_t len, uint32_t *off,
                        uint32_t *info_len)
{
    const uint32_t base = 8;        /* offsets count from req_id */

    *info_len = ldl_le_p(msg + base + 8);
    *off = ldl_le_p(msg + base + 12);
    if (!*info_len) {
        return true;
    }
    return *off <= len - base && *info_len <= len - base - *off;
}

void hv_net_rndis_control(HVNet *n, const uint8_t *msg, uint32_t len)
{
    uint32_t type = ldl_le_p(msg);
    uint32_t req_id = len >= 12 ? ldl_le_p(msg + 8) : 0;
    RndisAnswer a = { .len = 8 };
    uint32_t off, info_len, status;

    trace_hv_net_rndis(type, req_id, len >= 16 ? ldl_le_p(msg + 12) : 0);
    switch (type) {
    case RNDIS_MSG_INIT:
        if (len < 8 + sizeof(struct rndis_init_request)) {
            stl_le_p(a.buf + 8, req_id);
            stl_le_p(a.buf + 12, RNDIS_STATUS_INVALID_DATA);
            a.len = 8 + sizeof(struct rndis_init_complete);
            memset(a.buf + 16, 0, a.len - 16);
            answer(n, &a, RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
            break;
        }
        n->rndis_ready = true;
        stl_le_p(a.buf + 8, req_id);
        stl_le_p(a.buf + 12, RNDIS_STATUS_SUCCESS);
        stl_le_p(a.buf + 16, 1);                    /* version 1.0 */
        stl_le_p(a.buf + 20, 0);
        stl_le_p(a.buf + 24, 1);                    /* connectionless */
        stl_le_p(a.buf + 28, 0);                    /* 802.3 */
        stl_le_p(a.buf + 32, HV_NET_TX_BATCH);
        stl_le_p(a.buf + 36, HV_NET_SEND_SECTION_SIZE);
        stl_le_p(a.buf + 40, 3);                    /* 8-byte alignment */
        a.len = 8 + sizeof(struct rndis_init_complete);
        answer(n, &a, RNDIS_MSG_INIT | RNDIS_MSG_COMPLETION);
        /* The guest starts from the link state it queries next. */
        n->link_up = !qemu_get_queue(n->nic)->link_down;
        return;
    case RNDIS_MSG_HALT:
        n->rndis_ready = false;
        n->packet_filter = 0;
        return;
    case RNDIS_MSG_QUERY:
        if (len < 8 + sizeof(struct rndis_query_request) ||
            !info_buffer(msg, len, &off, &info_len)) {
            /* An empty answer with the failure: the guest waits for one. */
            stl_le_p(a.buf + 8, req_id);
            stl_le_p(a.buf + 12, RNDIS_STATUS_INVALID_DATA);
            stl_le_p(a.buf + 16, 0);
            stl_le_p(a.buf + 20, 16);
            a.len = 24;
            answer(n, &a, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
            break;
        }
        status = query_oid(n, ldl_le_p(msg + 12), a.buf + 24,
                           sizeof(a.buf) - 24, info_len, &info_len);
        stl_le_p(a.buf + 8, req_id);
        stl_le_p(a.buf + 12, status);
        stl_le_p(a.buf + 16, info_len);
        stl_le_p(a.buf + 20, 16);
        a.len = 24 + info_len;
        answer(n, &a, RNDIS_MSG_QUERY | RNDIS_MSG_COMPLETION);
        return;
    case RNDIS_MSG_SET:
        if (len < 8 + sizeof(struct rndis_query_request) ||
            !info_buffer(msg, len, &off, &info_len)) {
            stl_le_p(a.buf + 8, req_id);
            stl_le_p(a.buf + 12, RNDIS_STATUS_INVALID_DATA);
            a.len = 16;
            answer(n, &a, RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
            break;
        }
        status = set_oid(n, ldl_le_p(msg + 12), msg + 8 + off, info_len);
        trace_hv_net_rndis_set(ldl_le_p(msg + 12), status);
        stl_le_p(a.buf + 8, req_id);
        stl_le_p(a.buf + 12, status);
        a.len = 16;
        answer(n, &a, RNDIS_MSG_SET | RNDIS_MSG_COMPLETION);
        return;
    case RNDIS_MSG_RESET:
        stl_le_p(a.buf + 8, RNDIS_STATUS_SUCCESS);
        stl_le_p(a.buf + 12, 0);
        a.len = 16;
        answer(n, &a, RNDIS_MSG_RESET | RNDIS_MSG_COMPLETION);
        return;
    case RNDIS_MSG_KEEPALIVE:
        if (len < 12) {
            break;
        }
        stl_le_p(a.buf + 8, req_id);
        stl_le_p(a.buf + 12, RNDIS_STATUS_SUCCESS);
        a.len = 16;
        answer(n, &a, RNDIS_MSG_KEEPALIVE | RNDIS_MSG_COMPLETION);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "hv-net: malformed or unknown RNDIS "
                  "message 0x%x of %u bytes\n", type, len);
}

void hv_net_rndis_reset_state(HVNet *n)
{
    n->rndis_ready = false;
    n->packet_filter = 0;
    n->rss_enabled = false;
    memcpy(n->mac, n->conf.macaddr.a, ETH_ALEN);
}

void hv_net_indicate_link(HVNet *n)
{
    RndisAnswer a = { .len = 20 };
    bool up = !qemu_get_queue(n->nic)->link_down;

    if (!n->rndis_ready || up == n->link_up) {
        return;
    }
    n->link_up = up;
    trace_hv_net_link(up);
    stl_le_p(a.buf + 8, up ? RNDIS_STATUS_MEDIA_CONNECT :
                            RNDIS_STATUS_MEDIA_DISCONNECT);
    stl_le_p(a.buf + 12, 0);
    stl_le_p(a.buf + 16, 0);
    answer(n, &a, RNDIS_MSG_INDICATE);
}
