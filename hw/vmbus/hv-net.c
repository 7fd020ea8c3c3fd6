/*
 * qemu-vmbus: hv-net, the synthetic NIC
 *
 * The device: properties, the netdev, the VMBus channel callbacks, link
 * state and migration. NVSP is in hv-net-nvsp.c, RNDIS control in
 * hv-net-rndis.c, the data paths in hv-net-tx.c and hv-net-rx.c.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "net/eth.h"
#include "system/system.h"
#include "hw/vmbus/hv-net.h"
#include "hw/net/net_rx_pkt.h"
#include "hw/net/net_tx_pkt.h"
#include "trace.h"

/* The bytes one SEND_RNDIS_PKT may carry: a section, then an LSO frame. */
#define HV_NET_TX_BUF_SIZE  (HV_NET_SEND_SECTION_SIZE + 64 * KiB + 4 * KiB)
/* Fragments of one frame in net_tx_pkt: it is one buffer. */
#define HV_NET_TX_FRAGS     4

static void hv_net_notify(VMBusChannel *chan)
{
    HVNet *n = HV_NET(vmbus_channel_device(chan));
    VMBusPacket pkt;

    /* Frames and answers that waited for this ring first. */
    hv_net_rx_flush(n);
    /* Room for the NVSP completion before a packet is taken. */
    while (vmbus_channel_can_send(chan, 0, NVSP_MSG_SIZE) &&
           vmbus_channel_recv(chan, &pkt)) {
        hv_net_handle_packet(n, chan, &pkt);
    }
    vmbus_channel_recv_done(chan);
    if (hv_net_rx_can_receive(n)) {
        qemu_flush_queued_packets(qemu_get_queue(n->nic));
    }
}

static void hv_net_rx_flush_bh(void *opaque)
{
    HVNet *n = opaque;

    hv_net_rx_flush(n);
    if (hv_net_rx_can_receive(n)) {
        qemu_flush_queued_packets(qemu_get_queue(n->nic));
    }
}

static void hv_net_close(VMBusChannel *chan)
{
    HVNet *n = HV_NET(vmbus_channel_device(chan));
    uint16_t index = vmbus_channel_index(chan);

    hv_net_rx_drop_channel(n, index);
    if (!index) {
        /* The guest starts over: NVSP, buffers, RNDIS. */
        hv_net_release_buffers(n);
        hv_net_rndis_reset_state(n);
        n->nvsp_version = 0;
        n->ndis_mtu = 0;
        n->nsubchannels = 0;
    }
}

static int hv_net_open(VMBusChannel *chan)
{
    hv_net_close(chan);
    return 0;
}

static bool hv_net_can_receive(NetClientState *nc)
{
    return hv_net_rx_can_receive(qemu_get_nic_opaque(nc));
}

static ssize_t hv_net_receive(NetClientState *nc, const uint8_t *buf,
                              size_t size)
{
    return hv_net_rx_frame(qemu_get_nic_opaque(nc), buf, size);
}

static void hv_net_link_changed(NetClientState *nc)
{
    hv_net_indicate_link(qemu_get_nic_opaque(nc));
}

static NetClientInfo hv_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = hv_net_can_receive,
    .receive = hv_net_receive,
    .link_status_changed = hv_net_link_changed,
};

static void hv_net_realize(DeviceState *dev, Error **errp)
{
    HVNet *n = HV_NET(dev);
    VMBusDevice *vdev = VMBUS_DEVICE(dev);

    if (n->queues < 1 || n->queues > HV_NET_QUEUES_MAX) {
        error_setg(errp, "queues must be from 1 to %u", HV_NET_QUEUES_MAX);
        return;
    }
    /* OID_GEN_LINK_SPEED is a 32-bit count of 100 bit/s units. */
    if (n->link_speed_mbps < 1 || n->link_speed_mbps > UINT32_MAX / 10000) {
        error_setg(errp, "link-speed must be from 1 to %u (Mbit/s)",
                   UINT32_MAX / 10000);
        return;
    }
    qemu_macaddr_default_if_unset(&n->conf.macaddr);
    n->nic = qemu_new_nic(&hv_net_info, &n->conf,
                          object_get_typename(OBJECT(dev)), dev->id,
                          &dev->mem_reentrancy_guard, n);
    qemu_format_nic_info_str(qemu_get_queue(n->nic), n->conf.macaddr.a);
    n->q = g_new0(HVNetQueue, vdev->nchans);
    n->mig_nchans = vdev->nchans;
    n->rx_pending = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                          NULL, g_free);
    n->rx_flush_bh = qemu_bh_new_guarded(hv_net_rx_flush_bh, n,
                                         &dev->mem_reentrancy_guard);
    net_tx_pkt_init(&n->tx_pkt, HV_NET_TX_FRAGS);
    net_rx_pkt_init(&n->rx_pkt);
    n->tx_buf_size = HV_NET_TX_BUF_SIZE;
    n->tx_buf = g_malloc(n->tx_buf_size);
    hv_net_rndis_reset_state(n);
}

static void hv_net_unrealize(DeviceState *dev)
{
    HVNet *n = HV_NET(dev);

    /* The channels are closed: the buffers went with the primary. */
    hv_net_release_buffers(n);
    qemu_bh_delete(n->rx_flush_bh);
    g_hash_table_destroy(n->rx_pending);
    net_tx_pkt_uninit(n->tx_pkt);
    net_rx_pkt_uninit(n->rx_pkt);
    g_free(n->tx_buf);
    g_free(n->q);
    qemu_del_nic(n->nic);
}

/*
 * Migration: the receive packets the guest has not completed travel as an
 * array; the slot bitmap is rebuilt from them and the gathered frames.
 */
static int hv_net_pre_save(void *opaque)
{
    HVNet *n = opaque;
    GHashTableIter it;
    HVNetRxPacket *p;
    int32_t i = 0;

    n->mig_queues = n->queues;
    n->mig_link_down = qemu_get_queue(n->nic)->link_down;
    g_free(n->mig_pending);
    n->mig_npending = g_hash_table_size(n->rx_pending);
    n->mig_pending = g_new(HVNetRxPacket, n->mig_npending);
    g_hash_table_iter_init(&it, n->rx_pending);
    while (g_hash_table_iter_next(&it, NULL, (void **)&p)) {
        n->mig_pending[i++] = *p;
    }
    return 0;
}

static int hv_net_post_save(void *opaque)
{
    HVNet *n = opaque;

    g_free(n->mig_pending);
    n->mig_pending = NULL;
    return 0;
}

/* Marks @slot used; false if it is out of range or used twice. */
static bool claim_slot(HVNet *n, uint32_t slot)
{
    if (slot >= n->rx_nslots || test_bit(slot, n->rx_slot_used)) {
        return false;
    }
    set_bit(slot, n->rx_slot_used);
    n->rx_free--;
    return true;
}

static int hv_net_post_load(void *opaque, int version_id)
{
    HVNet *n = opaque;
    VMBusDevice *vdev = VMBUS_DEVICE(n);
    uint32_t nslots = n->rx_nslots, slot_size = n->rx_slot_size;
    int ret = -EINVAL;

    n->rx_nslots = 0;
    if (n->rx_gpadl_id) {
        /* The slots the guest was told of, whatever its MTU is now. */
        if (slot_size < 64 || slot_size > HV_NET_RX_SLOT_MAX ||
            !hv_net_rx_buffer_setup(n, vdev->chan, n->rx_gpadl_id,
                                    slot_size) ||
            n->rx_nslots != nslots) {
            goto out;
        }
    }
    if (n->tx_gpadl_id) {
        n->tx_gpadl = vmbus_gpadl_get(vdev->chan, n->tx_gpadl_id);
        if (!n->tx_gpadl) {
            goto out;
        }
        n->tx_nsections = vmbus_gpadl_size(n->tx_gpadl) /
                          HV_NET_SEND_SECTION_SIZE;
    }
    if (n->ncontrol > HV_NET_CONTROL_QUEUE || n->queues != n->mig_queues ||
        n->nsubchannels >= vdev->nchans ||
        n->rss_table_size > NDIS_RSS_INDIRECTION_MAX) {
        goto out;
    }
    for (uint32_t i = 0; i < n->ncontrol; i++) {
        if (n->control[i].len > HV_NET_CONTROL_MAX) {
            goto out;
        }
    }
    for (uint16_t i = 0; i < vdev->nchans; i++) {
        HVNetQueue *q = &n->q[i];

        if (q->nranges > HV_NET_RX_BATCH) {
            goto out;
        }
        for (int j = 0; j < q->nranges; j++) {
            if (!claim_slot(n, q->slots[j])) {
                goto out;
            }
        }
    }
    for (int32_t i = 0; i < n->mig_npending; i++) {
        HVNetRxPacket *p = &n->mig_pending[i];

        if (p->chan_index >= vdev->nchans || p->nslots > HV_NET_RX_BATCH ||
            p->trans_id > n->rx_trans_id ||
            g_hash_table_contains(n->rx_pending, &p->trans_id)) {
            goto out;
        }
        p = g_memdup2(p, sizeof(*p));
        g_hash_table_replace(n->rx_pending, &p->trans_id, p);
        for (int j = 0; j < p->nslots; j++) {
            if (!claim_slot(n, p->slots[j])) {
                goto out;
            }
        }
    }
    /* set_link's state is the NIC's, as virtio-net and e1000 keep it. */
    qemu_get_queue(n->nic)->link_down = n->mig_link_down;
    ret = 0;
out:
    g_free(n->mig_pending);
    n->mig_pending = NULL;
    return ret;
}

/* Before the array is allocated from the stream's count. */
static bool hv_net_npending_ok(void *opaque, int version_id)
{
    HVNet *n = opaque;

    return n->mig_npending >= 0 && n->mig_npending <= HV_NET_RX_SLOTS_MAX;
}

static const VMStateDescription vmstate_hv_net_rx_packet = {
    .name = "hv-net/rx-packet",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(trans_id, HVNetRxPacket),
        VMSTATE_UINT16(chan_index, HVNetRxPacket),
        VMSTATE_UINT16(nslots, HVNetRxPacket),
        VMSTATE_UINT32_ARRAY(slots, HVNetRxPacket, HV_NET_RX_BATCH),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hv_net_range = {
    .name = "hv-net/range",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(offset, HVNetRxRange),
        VMSTATE_UINT32(len, HVNetRxRange),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hv_net_queue = {
    .name = "hv-net/queue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(nranges, HVNetQueue),
        VMSTATE_STRUCT_ARRAY(ranges, HVNetQueue, HV_NET_RX_BATCH, 1,
                             vmstate_hv_net_range, HVNetRxRange),
        VMSTATE_UINT32_ARRAY(slots, HVNetQueue, HV_NET_RX_BATCH),
        VMSTATE_UINT32(outstanding, HVNetQueue),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hv_net_control = {
    .name = "hv-net/control",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(len, HVNetControl),
        VMSTATE_UINT8_ARRAY(msg, HVNetControl, HV_NET_CONTROL_MAX),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hv_net = {
    .name = TYPE_HV_NET,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = hv_net_pre_save,
    .post_save = hv_net_post_save,
    .post_load = hv_net_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_DEVICE(parent_obj, HVNet),
        VMSTATE_UINT16(mig_queues, HVNet),
        VMSTATE_UINT32(nvsp_version, HVNet),
        VMSTATE_UINT32(ndis_major, HVNet),
        VMSTATE_UINT32(ndis_minor, HVNet),
        VMSTATE_UINT32(ndis_mtu, HVNet),
        VMSTATE_UINT32(rx_gpadl_id, HVNet),
        VMSTATE_UINT32(rx_slot_size, HVNet),
        VMSTATE_UINT32(rx_nslots, HVNet),
        VMSTATE_UINT32(tx_gpadl_id, HVNet),
        VMSTATE_UINT16(nsubchannels, HVNet),
        VMSTATE_BOOL(rndis_ready, HVNet),
        VMSTATE_UINT32(packet_filter, HVNet),
        VMSTATE_BOOL(link_up, HVNet),
        VMSTATE_BOOL(mig_link_down, HVNet),
        VMSTATE_UINT8_ARRAY(mac, HVNet, ETH_ALEN),
        VMSTATE_BOOL(rss_enabled, HVNet),
        VMSTATE_UINT32(rss_hash_types, HVNet),
        VMSTATE_UINT8_ARRAY(rss_key, HVNet, NDIS_RSS_KEY_SIZE),
        VMSTATE_UINT16(rss_table_size, HVNet),
        VMSTATE_UINT32_ARRAY(rss_table, HVNet, NDIS_RSS_INDIRECTION_MAX),
        VMSTATE_UINT64(tx_ok, HVNet),
        VMSTATE_UINT64(rx_ok, HVNet),
        VMSTATE_UINT64(tx_errors, HVNet),
        VMSTATE_UINT64(rx_errors, HVNet),
        VMSTATE_UINT64(rx_no_buffer, HVNet),
        VMSTATE_UINT64(rx_trans_id, HVNet),
        VMSTATE_UINT16_EQUAL(mig_nchans, HVNet, NULL),
        VMSTATE_STRUCT_VARRAY_POINTER_UINT16(q, HVNet, mig_nchans,
                                             vmstate_hv_net_queue,
                                             HVNetQueue),
        VMSTATE_UINT32(ncontrol, HVNet),
        VMSTATE_STRUCT_ARRAY(control, HVNet, HV_NET_CONTROL_QUEUE, 1,
                             vmstate_hv_net_control, HVNetControl),
        VMSTATE_INT32(mig_npending, HVNet),
        VMSTATE_VALIDATE("pending receive packets", hv_net_npending_ok),
        VMSTATE_STRUCT_VARRAY_ALLOC(mig_pending, HVNet, mig_npending, 1,
                                    vmstate_hv_net_rx_packet,
                                    HVNetRxPacket),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hv_net_props[] = {
    DEFINE_NIC_PROPERTIES(HVNet, conf),
    DEFINE_PROP_UINT16("queues", HVNet, queues, 1),
    DEFINE_PROP_UINT32("link-speed", HVNet, link_speed_mbps, 10000),
};

static void hv_net_instance_init(Object *obj)
{
    HVNet *n = HV_NET(obj);

    device_add_bootindex_property(obj, &n->conf.bootindex, "bootindex",
                                  "/ethernet-phy@0", DEVICE(n));
}

static void hv_net_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    qemu_uuid_parse(HV_NET_CLASSID, &vdc->classid);
    vdc->max_subchannels = HV_NET_QUEUES_MAX - 1;
    vdc->vmdev_realize = hv_net_realize;
    vdc->vmdev_unrealize = hv_net_unrealize;
    vdc->open = hv_net_open;
    vdc->close = hv_net_close;
    vdc->notify = hv_net_notify;
    dc->desc = "Hyper-V synthetic network adapter (netvsc)";
    dc->vmsd = &vmstate_hv_net;
    device_class_set_props(dc, hv_net_props);
    object_class_property_set_description(klass, "queues",
        "Channels (queues) the guest may use, 1 to 64: RSS spreads receive "
        "traffic over them");
    object_class_property_set_description(klass, "link-speed",
        "Link speed the guest is told, in Mbit/s");
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo hv_net_type = {
    .name = TYPE_HV_NET,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(HVNet),
    .instance_init = hv_net_instance_init,
    .class_init = hv_net_class_init,
};

static void hv_net_register_types(void)
{
    type_register_static(&hv_net_type);
}

type_init(hv_net_register_types)
