/*
 * qemu-vmbus: hv-net's NVSP messages
 *
 * The guest negotiates a version (one INIT per version, newest first),
 * tells its NDIS version and MTU, shares its receive and send buffers as
 * GPADLs, asks for subchannels, and sends RNDIS messages in
 * SEND_RNDIS_PKT. Every message that asks for a completion gets one, with
 * NVSP_STAT_FAIL when it was wrong.
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
#include "trace.h"

static const uint32_t nvsp_versions[] = {
    NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5, NVSP_VERSION_4,
    NVSP_VERSION_2, NVSP_VERSION_1,
};

/* Room in a receive-buffer slot for RNDIS headers and per-packet info. */
#define HV_NET_RX_OVERHEAD  128
/* The smallest slot: a 1514-byte frame, VLAN tag, headers (as Hyper-V). */
#define HV_NET_RX_SLOT_MIN  1728

static uint32_t nvsp_init(HVNet *n, const struct nvsp_message *msg,
                          struct nvsp_message *rsp)
{
    uint32_t min = le32_to_cpu(msg->init.min_protocol_ver);
    uint32_t max = le32_to_cpu(msg->init.max_protocol_ver);

    rsp->msg_type = cpu_to_le32(NVSP_MSG_INIT_COMPLETE);
    for (int i = 0; i < ARRAY_SIZE(nvsp_versions); i++) {
        if (nvsp_versions[i] >= min && nvsp_versions[i] <= max) {
            n->nvsp_version = nvsp_versions[i];
            rsp->init_complete.negotiated_protocol_ver =
                cpu_to_le32(n->nvsp_version);
            trace_hv_net_nvsp_version(min, max, n->nvsp_version);
            return NVSP_STAT_SUCCESS;
        }
    }
    trace_hv_net_nvsp_version(min, max, 0);
    return NVSP_STAT_FAIL;
}

static void release_rx_buffer(HVNet *n)
{
    hv_net_rx_reset(n);
    if (n->rx_gpadl) {
        vmbus_gpadl_put(n->rx_gpadl);
        n->rx_gpadl = NULL;
    }
    n->rx_gpadl_id = 0;
    g_free(n->rx_slot_used);
    n->rx_slot_used = NULL;
    n->rx_nslots = 0;
    n->rx_free = 0;
}

static void release_tx_buffer(HVNet *n)
{
    if (n->tx_gpadl) {
        vmbus_gpadl_put(n->tx_gpadl);
        n->tx_gpadl = NULL;
    }
    n->tx_gpadl_id = 0;
    n->tx_nsections = 0;
}

void hv_net_release_buffers(HVNet *n)
{
    release_rx_buffer(n);
    release_tx_buffer(n);
}

uint32_t hv_net_rx_slot_size(HVNet *n)
{
    uint32_t mtu = MAX(n->ndis_mtu, ETH_HLEN + 1500);

    return MAX(HV_NET_RX_SLOT_MIN, ROUND_UP(mtu + 4 + HV_NET_RX_OVERHEAD, 64));
}

bool hv_net_rx_buffer_setup(HVNet *n, VMBusChannel *chan, uint32_t id,
                            uint32_t slot_size)
{
    uint64_t size;

    n->rx_gpadl = vmbus_gpadl_get(chan, id);
    if (!n->rx_gpadl) {
        return false;
    }
    size = vmbus_gpadl_size(n->rx_gpadl);
    n->rx_slot_size = slot_size;
    /* More slots than this only cost memory: the guest gets no more. */
    n->rx_nslots = MIN(size / n->rx_slot_size, HV_NET_RX_SLOTS_MAX);
    if (!n->rx_nslots) {
        vmbus_gpadl_put(n->rx_gpadl);
        n->rx_gpadl = NULL;
        return false;
    }
    n->rx_gpadl_id = id;
    n->rx_slot_used = bitmap_new(n->rx_nslots);
    n->rx_free = n->rx_nslots;
    n->rx_next_slot = 0;
    return true;
}

static uint32_t nvsp_recv_buf(HVNet *n, VMBusChannel *chan,
                              const struct nvsp_message *msg,
                              struct nvsp_message *rsp)
{
    uint32_t id = le32_to_cpu(msg->buf.gpadl_handle);
    struct nvsp_recv_buf_section *sec = &rsp->recv_buf_complete.sections[0];

    rsp->msg_type = cpu_to_le32(NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
    if (!n->nvsp_version || n->rx_gpadl || vmbus_channel_index(chan) ||
        !hv_net_rx_buffer_setup(n, chan, id, hv_net_rx_slot_size(n))) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: receive buffer GPADL %u "
                      "refused\n", id);
        return NVSP_STAT_FAIL;
    }
    trace_hv_net_buffer("receive", id, vmbus_gpadl_size(n->rx_gpadl),
                        n->rx_slot_size, n->rx_nslots);
    rsp->recv_buf_complete.num_sections = cpu_to_le32(1);
    sec->offset = 0;
    sec->sub_alloc_size = cpu_to_le32(n->rx_slot_size);
    sec->num_sub_allocs = cpu_to_le32(n->rx_nslots);
    sec->end_offset = cpu_to_le32(n->rx_slot_size * n->rx_nslots);
    return NVSP_STAT_SUCCESS;
}

static uint32_t nvsp_send_buf(HVNet *n, VMBusChannel *chan,
                              const struct nvsp_message *msg,
                              struct nvsp_message *rsp)
{
    uint32_t id = le32_to_cpu(msg->buf.gpadl_handle);

    rsp->msg_type = cpu_to_le32(NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
    if (!n->nvsp_version || n->tx_gpadl || vmbus_channel_index(chan)) {
        goto fail;
    }
    n->tx_gpadl = vmbus_gpadl_get(chan, id);
    if (!n->tx_gpadl) {
        goto fail;
    }
    n->tx_gpadl_id = id;
    n->tx_nsections = MIN(vmbus_gpadl_size(n->tx_gpadl) /
                          HV_NET_SEND_SECTION_SIZE, UINT32_MAX);
    trace_hv_net_buffer("send", id, vmbus_gpadl_size(n->tx_gpadl),
                        HV_NET_SEND_SECTION_SIZE, n->tx_nsections);
    rsp->send_buf_complete.section_size =
        cpu_to_le32(HV_NET_SEND_SECTION_SIZE);
    return NVSP_STAT_SUCCESS;

fail:
    qemu_log_mask(LOG_GUEST_ERROR, "hv-net: send buffer GPADL %u refused\n",
                  id);
    return NVSP_STAT_FAIL;
}

static uint32_t nvsp_subchannels(HVNet *n, VMBusChannel *chan,
                                 const struct nvsp_message *msg,
                                 struct nvsp_message *rsp)
{
    uint32_t op = le32_to_cpu(msg->subchannel.op_or_status);
    uint32_t count = le32_to_cpu(msg->subchannel.num_subchannels);
    int ret;

    rsp->msg_type = cpu_to_le32(NVSP_MSG5_SUBCHANNEL);
    if (n->nvsp_version < NVSP_VERSION_5 || vmbus_channel_index(chan) ||
        op != NVSP_SUBCHANNEL_ALLOCATE || !count) {
        return NVSP_STAT_FAIL;
    }
    /* Fewer than asked is allowed; the guest then uses what it got. */
    count = MIN(count, n->queues - 1);
    if (!count) {
        return NVSP_STAT_FAIL;
    }
    ret = vmbus_device_offer_subchannels(VMBUS_DEVICE(n), count);
    trace_hv_net_subchannels(count, ret);
    if (ret) {
        return NVSP_STAT_FAIL;
    }
    /* Channels offered earlier stay offered: the most ever asked for. */
    n->nsubchannels = MAX(n->nsubchannels, count);
    rsp->subchannel.num_subchannels = cpu_to_le32(count);
    return NVSP_STAT_SUCCESS;
}

void hv_net_handle_packet(HVNet *n, VMBusChannel *chan,
                          const VMBusPacket *pkt)
{
    struct nvsp_message msg = { 0 }, rsp = { 0 };
    bool reply = pkt->flags & VMBUS_PACKET_FLAG_REQUEST_COMPLETION;
    uint32_t type, status = NVSP_STAT_FAIL;

    if (pkt->type == VMBUS_PACKET_COMP) {
        hv_net_rx_completed(n, chan, pkt);
        return;
    }
    memcpy(&msg, pkt->data, MIN(pkt->len, sizeof(msg)));
    type = le32_to_cpu(msg.msg_type);
    trace_hv_net_nvsp(vmbus_channel_index(chan), type, pkt->trans_id,
                      pkt->len);
    /* Every message the guest sends has the same fixed size. */
    if (pkt->len < sizeof(msg)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: NVSP message %u of %u "
                      "bytes\n", type, pkt->len);
        rsp.msg_type = msg.msg_type;
        goto done;
    }

    switch (type) {
    case NVSP_MSG_INIT:
        status = nvsp_init(n, &msg, &rsp);
        rsp.init_complete.status = cpu_to_le32(status);
        status = 0;         /* in init_complete, not after the type */
        break;
    case NVSP_MSG1_SEND_NDIS_VERSION:
        n->ndis_major = le32_to_cpu(msg.ndis_version[0]);
        n->ndis_minor = le32_to_cpu(msg.ndis_version[1]);
        goto acknowledged;
    case NVSP_MSG2_SEND_NDIS_CONFIG:
        /* The MTU with the Ethernet header; only a receive slot cares. */
        n->ndis_mtu = MIN(le32_to_cpu(msg.mtu), 65535 + ETH_HLEN);
        goto acknowledged;
    case NVSP_MSG1_SEND_RECV_BUF:
        status = nvsp_recv_buf(n, chan, &msg, &rsp);
        break;
    case NVSP_MSG1_SEND_SEND_BUF:
        status = nvsp_send_buf(n, chan, &msg, &rsp);
        break;
    case NVSP_MSG1_REVOKE_RECV_BUF:
        release_rx_buffer(n);
        goto acknowledged;
    case NVSP_MSG1_REVOKE_SEND_BUF:
        release_tx_buffer(n);
        goto acknowledged;
    case NVSP_MSG1_SEND_RNDIS_PKT:
        rsp.msg_type = cpu_to_le32(NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
        status = hv_net_transmit(n, chan, pkt, &msg.rndis_pkt);
        break;
    case NVSP_MSG5_SUBCHANNEL:
        status = nvsp_subchannels(n, chan, &msg, &rsp);
        break;
    case NVSP_MSG4_SWITCH_DATA_PATH:
        /* There is no VF: the synthetic path stays, whatever is asked. */
        rsp.msg_type = msg.msg_type;
        status = NVSP_STAT_SUCCESS;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "hv-net: unknown NVSP message %u\n",
                      type);
        rsp.msg_type = msg.msg_type;
    }

    goto done;

acknowledged:
    /* Messages without an answer of their own: an empty one if asked. */
    rsp.msg_type = msg.msg_type;
    status = NVSP_STAT_SUCCESS;
done:
    if (status) {
        rsp.status = cpu_to_le32(status);
    }
    if (reply) {
        /* notify() made sure one fits before it took the packet. */
        vmbus_channel_complete(chan, pkt->trans_id, &rsp, sizeof(rsp));
    }
    /* RNDIS answers go after the completion: they wait for room. */
    hv_net_rx_flush_control(n);
}
