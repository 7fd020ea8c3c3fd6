/*
 * qemu-vmbus: hv-net's receive path
 *
 * The receive buffer the guest shared is cut into equal slots. A frame
 * from the netdev, or an RNDIS control answer, goes into a free slot as an
 * RNDIS message; frames gathered on a channel go to the guest together in
 * one transfer-page packet, whose ranges name their slots. The slots come
 * back free when the guest completes that packet. With RSS on, each frame
 * goes to the channel the guest's indirection table gives its Toeplitz
 * hash.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/log.h"
#include "net/eth.h"
#include "hw/vmbus/hv-net.h"
#include "hw/net/net_rx_pkt.h"
#include "trace.h"

/* RNDIS header, packet header and at most three per-packet records. */
#define RX_HEADER_MAX   (8 + sizeof(struct rndis_packet) + 3 * 16)

static bool slot_alloc(HVNet *n, uint32_t *slot)
{
    unsigned long i;

    if (!n->rx_free) {
        return false;
    }
    i = find_next_zero_bit(n->rx_slot_used, n->rx_nslots, n->rx_next_slot);
    if (i >= n->rx_nslots) {
        i = find_first_zero_bit(n->rx_slot_used, n->rx_nslots);
    }
    assert(i < n->rx_nslots);
    set_bit(i, n->rx_slot_used);
    n->rx_free--;
    n->rx_next_slot = (i + 1) % n->rx_nslots;
    *slot = i;
    return true;
}

static void slot_free(HVNet *n, uint32_t slot)
{
    if (slot < n->rx_nslots && test_and_clear_bit(slot, n->rx_slot_used)) {
        n->rx_free++;
    }
}

/* Sends @idx's gathered frames; false while its ring has no room. */
static bool flush_queue(HVNet *n, uint16_t idx)
{
    HVNetQueue *q = &n->q[idx];
    VMBusChannel *chan = vmbus_device_channel(VMBUS_DEVICE(n), idx);
    uint8_t ext[sizeof(struct vmbus_xfer_page_header) +
                HV_NET_RX_BATCH * sizeof(struct vmbus_xfer_page_range)];
    struct vmbus_xfer_page_header *h = (void *)ext;
    struct vmbus_xfer_page_range *r = (void *)(ext + sizeof(*h));
    struct nvsp_message msg = {
        .msg_type = cpu_to_le32(NVSP_MSG1_SEND_RNDIS_PKT),
    };
    HVNetRxPacket *p;
    int ret;

    if (!q->nranges) {
        return true;
    }
    memset(h, 0, sizeof(*h));
    h->xfer_pageset_id = cpu_to_le16(NVSP_RECV_BUF_ID);
    h->range_cnt = cpu_to_le32(q->nranges);
    for (int i = 0; i < q->nranges; i++) {
        r[i].byte_count = cpu_to_le32(q->ranges[i].len);
        r[i].byte_offset = cpu_to_le32(q->ranges[i].offset);
    }
    ret = vmbus_channel_send(chan, VMBUS_PACKET_DATA_USING_XFER_PAGES,
                             VMBUS_PACKET_FLAG_REQUEST_COMPLETION,
                             n->rx_trans_id + 1, ext,
                             sizeof(*h) + q->nranges * sizeof(*r),
                             &msg, sizeof(msg));
    if (ret == -ENOSPC) {
        return false;
    }
    trace_hv_net_rx_packet(idx, n->rx_trans_id + 1, q->nranges, ret);
    if (ret) {
        /* The channel is gone: so are its frames. */
        for (int i = 0; i < q->nranges; i++) {
            slot_free(n, q->slots[i]);
        }
        n->rx_errors += q->nranges;
        q->nranges = 0;
        return true;
    }
    p = g_new(HVNetRxPacket, 1);
    p->trans_id = ++n->rx_trans_id;
    p->chan_index = idx;
    p->nslots = q->nranges;
    memcpy(p->slots, q->slots, q->nranges * sizeof(p->slots[0]));
    g_hash_table_replace(n->rx_pending, &p->trans_id, p);
    q->outstanding++;
    q->nranges = 0;
    return true;
}

/* Every channel's frames, then the control answers that wait. */
void hv_net_rx_flush(HVNet *n)
{
    VMBusDevice *vdev = VMBUS_DEVICE(n);

    /* Only the primary and the subchannels the guest was given. */
    for (uint16_t i = 0; i <= n->nsubchannels; i++) {
        if (vmbus_channel_is_open(vmbus_device_channel(vdev, i))) {
            flush_queue(n, i);
        }
    }
    hv_net_rx_flush_control(n);
}

void hv_net_rx_flush_control(HVNet *n)
{
    while (n->ncontrol && n->rx_gpadl && !n->q[0].nranges) {
        HVNetControl *c = &n->control[0];
        uint32_t slot;

        if (!slot_alloc(n, &slot)) {
            break;
        }
        vmbus_gpadl_write(n->rx_gpadl, (uint64_t)slot * n->rx_slot_size,
                          c->msg, c->len);
        n->q[0].slots[0] = slot;
        n->q[0].ranges[0].offset = slot * n->rx_slot_size;
        n->q[0].ranges[0].len = c->len;
        n->q[0].nranges = 1;
        n->ncontrol--;
        memmove(&n->control[0], &n->control[1],
                n->ncontrol * sizeof(n->control[0]));
        /* Each answer goes alone, on the primary channel. */
        flush_queue(n, 0);
    }
}

void hv_net_rx_control(HVNet *n, const void *msg, uint32_t len)
{
    assert(len <= HV_NET_CONTROL_MAX);
    if (n->ncontrol == HV_NET_CONTROL_QUEUE) {
        /* A guest that sends requests and never takes the answers. */
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: %u RNDIS answers wait for "
                      "the receive buffer; one more is dropped\n",
                      n->ncontrol);
        return;
    }
    memcpy(n->control[n->ncontrol].msg, msg, len);
    n->control[n->ncontrol].len = len;
    n->ncontrol++;
    /*
     * Not now: the request's NVSP completion has the ring room notify()
     * made sure of; the answer goes when the packet is done, or later.
     */
    qemu_bh_schedule(n->rx_flush_bh);
}

bool hv_net_rx_can_receive(HVNet *n)
{
    VMBusDevice *vdev = VMBUS_DEVICE(n);

    if (!n->rndis_ready || !n->packet_filter || !n->rx_gpadl ||
        !n->rx_free || n->ncontrol ||
        !vmbus_channel_is_open(vdev->chan)) {
        return false;
    }
    for (uint16_t i = 0; i <= n->nsubchannels; i++) {
        if (n->q[i].nranges == HV_NET_RX_BATCH) {
            return false;
        }
    }
    return true;
}

/* Whether the guest's packet filter takes a frame for @dst. */
static bool filter_accepts(HVNet *n, const uint8_t *dst)
{
    uint32_t f = n->packet_filter;

    if (f & NDIS_PACKET_TYPE_PROMISCUOUS) {
        return true;
    }
    if (is_broadcast_ether_addr(dst)) {
        return f & NDIS_PACKET_TYPE_BROADCAST;
    }
    if (is_multicast_ether_addr(dst)) {
        return f & (NDIS_PACKET_TYPE_MULTICAST |
                    NDIS_PACKET_TYPE_ALL_MULTICAST);
    }
    return (f & NDIS_PACKET_TYPE_DIRECTED) && !memcmp(dst, n->mac, ETH_ALEN);
}

static NetRxPktRssType rss_type(HVNet *n, bool ip4, bool ip6,
                                EthL4HdrProto l4)
{
    uint32_t t = n->rss_hash_types;

    if (ip4 && l4 == ETH_L4_HDR_PROTO_TCP && (t & NDIS_HASH_TCP_IPV4)) {
        return NetPktRssIpV4Tcp;
    }
    if (ip6 && l4 == ETH_L4_HDR_PROTO_TCP && (t & NDIS_HASH_TCP_IPV6)) {
        return NetPktRssIpV6Tcp;
    }
    if (ip4 && (t & NDIS_HASH_IPV4)) {
        return NetPktRssIpV4;
    }
    if (ip6 && (t & NDIS_HASH_IPV6)) {
        return NetPktRssIpV6;
    }
    return -1;
}

/* Appends a per-packet record of @type with @val; its size. */
static uint32_t put_ppi(uint8_t *p, uint32_t type, uint32_t val)
{
    stl_le_p(p, 16);
    stl_le_p(p + 4, type);
    stl_le_p(p + 8, 12);
    stl_le_p(p + 12, val);
    return 16;
}

ssize_t hv_net_rx_frame(HVNet *n, const uint8_t *buf, size_t size)
{
    VMBusDevice *vdev = VMBUS_DEVICE(n);
    uint8_t hdr[RX_HEADER_MAX];
    uint32_t ppi_len = 0, csum = 0, vlan_strip = 0, slot, total;
    uint64_t data;
    uint16_t idx = 0;
    bool ip4, ip6, valid;
    EthL4HdrProto l4;
    HVNetQueue *q;

    if (size < ETH_HLEN || !filter_accepts(n, buf)) {
        return size;
    }
    if (!hv_net_rx_can_receive(n)) {
        return 0;
    }
    /* Attaching parses the headers too. */
    net_rx_pkt_attach_data(n->rx_pkt, buf, size, false);
    net_rx_pkt_get_protocols(n->rx_pkt, &ip4, &ip6, &l4);

    /* What the host checked, so that the guest need not. */
    if (ip4 && net_rx_pkt_validate_l3_csum(n->rx_pkt, &valid)) {
        csum |= valid ? RNDIS_RXCSUM_IP_OK : RNDIS_RXCSUM_IP_FAILED;
    }
    if ((l4 == ETH_L4_HDR_PROTO_TCP || l4 == ETH_L4_HDR_PROTO_UDP) &&
        net_rx_pkt_validate_l4_csum(n->rx_pkt, &valid)) {
        bool tcp = l4 == ETH_L4_HDR_PROTO_TCP;

        csum |= valid ? (tcp ? RNDIS_RXCSUM_TCP_OK : RNDIS_RXCSUM_UDP_OK) :
                        (tcp ? RNDIS_RXCSUM_TCP_FAILED :
                               RNDIS_RXCSUM_UDP_FAILED);
    }
    if (csum) {
        ppi_len += put_ppi(hdr + 44 + ppi_len, RNDIS_PPI_TCPIP_CHKSUM, csum);
    }
    if (n->rss_enabled && n->rss_table_size) {
        NetRxPktRssType type = rss_type(n, ip4, ip6, l4);

        if ((int)type >= 0) {
            uint32_t hash = net_rx_pkt_calc_rss_hash(n->rx_pkt, type,
                                                     n->rss_key);
            uint32_t want = n->rss_table[hash % n->rss_table_size];

            ppi_len += put_ppi(hdr + 44 + ppi_len, RNDIS_PPI_HASH_VALUE,
                               hash);
            if (want <= n->nsubchannels &&
                vmbus_channel_is_open(vmbus_device_channel(vdev, want))) {
                idx = want;
            }
        }
    }

    /* An 802.1Q tag goes to the guest as per-packet information. */
    if (size >= ETH_HLEN + 4 && lduw_be_p(buf + 12) == ETH_P_VLAN) {
        uint16_t tci = lduw_be_p(buf + 14);

        ppi_len += put_ppi(hdr + 44 + ppi_len, RNDIS_PPI_VLAN,
                           (tci & 0xfff) << 4 | (tci >> 13) |
                           (tci >> 12 & 1) << 3);
        vlan_strip = 4;
    }

    total = 44 + ppi_len + size - vlan_strip;
    if (total > n->rx_slot_size) {
        n->rx_errors++;
        return size;
    }
    stl_le_p(hdr, RNDIS_MSG_PACKET);
    stl_le_p(hdr + 4, total);
    /* Offsets from the packet header at 8. */
    stl_le_p(hdr + 8, 36 + ppi_len);                /* data_offset */
    stl_le_p(hdr + 12, size - vlan_strip);          /* data_len */
    memset(hdr + 16, 0, 12);                        /* no OOB data */
    stl_le_p(hdr + 28, ppi_len ? 36 : 0);           /* per_pkt_info */
    stl_le_p(hdr + 32, ppi_len);
    memset(hdr + 36, 0, 8);

    if (!slot_alloc(n, &slot)) {
        return 0;
    }
    vmbus_gpadl_write(n->rx_gpadl, (uint64_t)slot * n->rx_slot_size, hdr,
                      44 + ppi_len);
    data = (uint64_t)slot * n->rx_slot_size + 44 + ppi_len;
    /* The addresses, then what follows the tag. */
    vmbus_gpadl_write(n->rx_gpadl, data, buf, 2 * ETH_ALEN);
    vmbus_gpadl_write(n->rx_gpadl, data + 2 * ETH_ALEN,
                      buf + 2 * ETH_ALEN + vlan_strip,
                      size - 2 * ETH_ALEN - vlan_strip);
    q = &n->q[idx];
    q->slots[q->nranges] = slot;
    q->ranges[q->nranges].offset = slot * n->rx_slot_size;
    q->ranges[q->nranges].len = total;
    q->nranges++;
    n->rx_ok++;
    if (q->nranges == HV_NET_RX_BATCH) {
        flush_queue(n, idx);
    } else {
        qemu_bh_schedule(n->rx_flush_bh);
    }
    return size;
}

void hv_net_rx_completed(HVNet *n, VMBusChannel *chan,
                         const VMBusPacket *pkt)
{
    uint64_t trans_id = pkt->trans_id;
    HVNetRxPacket *p = g_hash_table_lookup(n->rx_pending, &trans_id);

    if (!p || p->chan_index != vmbus_channel_index(chan)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: completion for unknown "
                      "receive packet 0x%" PRIx64 "\n", trans_id);
        return;
    }
    for (int i = 0; i < p->nslots; i++) {
        slot_free(n, p->slots[i]);
    }
    n->q[p->chan_index].outstanding--;
    g_hash_table_remove(n->rx_pending, &trans_id);
    hv_net_rx_flush(n);
    qemu_flush_queued_packets(qemu_get_queue(n->nic));
}

void hv_net_rx_drop_channel(HVNet *n, uint16_t chan_index)
{
    GHashTableIter it;
    HVNetRxPacket *p;
    HVNetQueue *q = &n->q[chan_index];

    /* What the guest will never complete now. */
    g_hash_table_iter_init(&it, n->rx_pending);
    while (g_hash_table_iter_next(&it, NULL, (void **)&p)) {
        if (p->chan_index == chan_index) {
            for (int i = 0; i < p->nslots; i++) {
                slot_free(n, p->slots[i]);
            }
            g_hash_table_iter_remove(&it);
        }
    }
    for (int i = 0; i < q->nranges; i++) {
        slot_free(n, q->slots[i]);
    }
    q->nranges = 0;
    q->outstanding = 0;
}

void hv_net_rx_reset(HVNet *n)
{
    VMBusDevice *vdev = VMBUS_DEVICE(n);

    g_hash_table_remove_all(n->rx_pending);
    for (uint16_t i = 0; i < vdev->nchans; i++) {
        n->q[i].nranges = 0;
        n->q[i].outstanding = 0;
    }
    n->ncontrol = 0;
    if (n->rx_slot_used) {
        bitmap_zero(n->rx_slot_used, n->rx_nslots);
    }
    n->rx_free = n->rx_nslots;
}
