/*
 * qemu-vmbus: hv-net's transmit path
 *
 * A SEND_RNDIS_PKT names its bytes as a send-buffer section, GPA-direct
 * ranges, or both (the section first). Those bytes hold one or more RNDIS
 * messages back to back: data packets, whose frames go to the netdev
 * through QEMU's net_tx_pkt with the offloads their per-packet information
 * asks for, and control messages (hv-net-rndis.c).
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "net/eth.h"
#include "hw/vmbus/hv-net.h"
#include "hw/net/net_tx_pkt.h"
#include "trace.h"

/* What one frame's per-packet information asks for. */
typedef struct TxInfo {
    uint32_t csum;                  /* RNDIS_TXCSUM_* */
    uint32_t lso;                   /* LSO v2 word */
    uint32_t vlan;                  /* priority 2:0, CFI 3, id 15:4 */
    bool has_vlan;
} TxInfo;

static void tx_frag_nop(void *opaque, void *base, size_t len)
{
}

static bool parse_ppi(const uint8_t *ppi, uint32_t len, TxInfo *info)
{
    uint32_t pos = 0;

    while (pos < len) {
        uint32_t size, type, off;

        if (len - pos < sizeof(struct rndis_ppi)) {
            return false;
        }
        size = ldl_le_p(ppi + pos);
        type = ldl_le_p(ppi + pos + 4) & 0x7fffffff;
        off = ldl_le_p(ppi + pos + 8);
        if (size < sizeof(struct rndis_ppi) || size > len - pos ||
            off < sizeof(struct rndis_ppi) || off > size) {
            return false;
        }
        if (size - off >= 4) {
            uint32_t v = ldl_le_p(ppi + pos + off);

            switch (type) {
            case RNDIS_PPI_TCPIP_CHKSUM:
                info->csum = v;
                break;
            case RNDIS_PPI_LSO:
                info->lso = v;
                break;
            case RNDIS_PPI_VLAN:
                info->vlan = v;
                info->has_vlan = true;
                break;
            }
        }
        pos += size;
    }
    return true;
}

/* The offloads the guest asked of this frame, done in net_tx_pkt. */
static bool tx_offload(HVNet *n, const TxInfo *info)
{
    struct NetTxPkt *pkt = n->tx_pkt;
    uint32_t mss = RNDIS_LSO_MSS(info->lso);

    if (mss) {
        if (!net_tx_pkt_build_vheader(pkt, true, true, mss)) {
            return false;
        }
        /* The guest left the IP length zero: fill it, and checksums. */
        if (info->lso & RNDIS_LSO_IPV6) {
            net_tx_pkt_fix_ip6_payload_len(pkt);
        }
        net_tx_pkt_update_ip_checksums(pkt);
        return true;
    }
    if ((info->csum & (RNDIS_TXCSUM_TCP | RNDIS_TXCSUM_UDP)) &&
        !net_tx_pkt_build_vheader(pkt, false, true, 0)) {
        return false;
    }
    if ((info->csum & RNDIS_TXCSUM_IP_HEADER) &&
        (info->csum & RNDIS_TXCSUM_IPV4)) {
        net_tx_pkt_update_ip_hdr_checksum(pkt);
    }
    return true;
}

/* An RNDIS_MSG_PACKET of @len bytes at @msg. */
static bool tx_frame(HVNet *n, uint8_t *msg, uint32_t len)
{
    uint8_t *p = msg + 8;
    uint32_t rlen = len - 8;
    uint32_t data_off, data_len, ppi_off, ppi_len;
    TxInfo info = { 0 };
    bool ok;

    if (len < 8 + sizeof(struct rndis_packet)) {
        return false;
    }
    data_off = ldl_le_p(p);
    data_len = ldl_le_p(p + 4);
    ppi_off = ldl_le_p(p + 20);
    ppi_len = ldl_le_p(p + 24);
    if (data_off > rlen || data_len > rlen - data_off ||
        data_len < ETH_HLEN || data_len > ETH_MAX_IP_DGRAM_LEN + ETH_HLEN ||
        (ppi_len && (ppi_off > rlen || ppi_len > rlen - ppi_off)) ||
        !parse_ppi(p + ppi_off, ppi_len, &info)) {
        return false;
    }
    trace_hv_net_tx_frame(data_len, info.csum, info.lso, info.vlan);
    net_tx_pkt_reset(n->tx_pkt, tx_frag_nop, NULL);
    ok = net_tx_pkt_add_raw_fragment(n->tx_pkt, p + data_off, data_len) &&
         net_tx_pkt_parse(n->tx_pkt);
    if (ok && info.has_vlan) {
        net_tx_pkt_setup_vlan_header(n->tx_pkt,
                                     (info.vlan >> 4 & 0xfff) |
                                     (info.vlan & 7) << 13 |
                                     (info.vlan & 8) << 9);
    }
    ok = ok && tx_offload(n, &info) &&
         net_tx_pkt_send(n->tx_pkt, qemu_get_queue(n->nic));
    net_tx_pkt_reset(n->tx_pkt, tx_frag_nop, NULL);
    if (ok) {
        n->tx_ok++;
    } else {
        n->tx_errors++;
    }
    return true;
}

/* Copies the packet's bytes into tx_buf: section, then ranges. */
static int64_t gather(HVNet *n, VMBusChannel *chan, const VMBusPacket *pkt,
                      const struct nvsp_rndis_pkt *req)
{
    uint32_t index = le32_to_cpu(req->send_buf_section_index);
    uint32_t size = le32_to_cpu(req->send_buf_section_size);
    uint64_t total = 0;

    if (index != NVSP_NO_SECTION) {
        if (!n->tx_gpadl || index >= n->tx_nsections ||
            size > HV_NET_SEND_SECTION_SIZE ||
            vmbus_gpadl_read(n->tx_gpadl,
                             (uint64_t)index * HV_NET_SEND_SECTION_SIZE,
                             n->tx_buf, size)) {
            qemu_log_mask(LOG_GUEST_ERROR, "hv-net: send section %u "
                          "(%u bytes) is not in the send buffer\n", index,
                          size);
            return -1;
        }
        total = size;
    }
    if (pkt->type == VMBUS_PACKET_DATA_USING_GPA_DIRECT) {
        QEMUSGList sgl;

        if (vmbus_packet_map_sgl(chan, pkt, &sgl)) {
            return -1;
        }
        if (sgl.size > n->tx_buf_size - total) {
            qemu_log_mask(LOG_GUEST_ERROR, "hv-net: RNDIS packet of %"
                          PRIu64 " bytes\n", total + sgl.size);
            qemu_sglist_destroy(&sgl);
            return -1;
        }
        /* dma_buf_write() moves guest memory into the buffer. */
        dma_buf_write(n->tx_buf + total, sgl.size, NULL, &sgl,
                      MEMTXATTRS_UNSPECIFIED);
        total += sgl.size;
        qemu_sglist_destroy(&sgl);
    }
    return total;
}

uint32_t hv_net_transmit(HVNet *n, VMBusChannel *chan,
                         const VMBusPacket *pkt,
                         const struct nvsp_rndis_pkt *req)
{
    int64_t total = gather(n, chan, pkt, req);
    uint32_t off = 0;

    if (total <= 0) {
        return NVSP_STAT_FAIL;
    }
    while (off < total) {
        uint8_t *msg = n->tx_buf + off;
        uint32_t type, len;

        if (total - off < sizeof(struct rndis_msg_hdr)) {
            goto bad;
        }
        type = ldl_le_p(msg);
        len = ldl_le_p(msg + 4);
        if (len < sizeof(struct rndis_msg_hdr) || len > total - off) {
            goto bad;
        }
        if (type == RNDIS_MSG_PACKET) {
            if (!tx_frame(n, msg, len)) {
                goto bad;
            }
        } else {
            hv_net_rndis_control(n, msg, len);
        }
        off += len;
    }
    return NVSP_STAT_SUCCESS;

bad:
    qemu_log_mask(LOG_GUEST_ERROR, "hv-net: malformed RNDIS message at "
                  "byte %u of %" PRId64 "\n", off, total);
    n->tx_errors++;
    return NVSP_STAT_INVALID_RNDIS_PKT;
}
