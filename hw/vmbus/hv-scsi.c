/*
 * qemu-vmbus: hv-scsi, the synthetic SCSI controller
 *
 * The device: its properties, its SCSI bus, the VMBus channel callbacks,
 * hot plug of LUNs and migration. The protocol is in hv-scsi-vstor.c, the
 * requests in hv-scsi-srb.c.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "hw/hotplug.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "hw/vmbus/hv-scsi.h"
#include "trace.h"

/* What a guest may be told it can move in one request. */
#define HV_SCSI_TRANSFER_MIN    (4 * KiB)
#define HV_SCSI_TRANSFER_MAX    (8 * MiB)

static void hv_scsi_notify(VMBusChannel *chan)
{
    HVScsi *s = HV_SCSI(vmbus_channel_device(chan));
    uint16_t index = vmbus_channel_index(chan);
    VMBusPacket pkt;

    /* Answers first: nothing new is taken while some wait for room. */
    if (!hv_scsi_flush_done(s, chan)) {
        return;
    }
    if (!index && s->rescan_pending) {
        hv_scsi_send_rescan(s);
    }
    vmbus_channel_send_batch_begin(chan);
    while (s->inflight[index] < HV_SCSI_CHANNEL_REQUESTS &&
           vmbus_channel_recv(chan, &pkt)) {
        hv_scsi_handle_packet(s, chan, &pkt);
    }
    vmbus_channel_recv_done(chan);
    vmbus_channel_send_batch_end(chan);
}

/* A channel stopped at its request limit has room again. */
static void hv_scsi_kick(void *opaque)
{
    HVScsi *s = opaque;
    VMBusDevice *vdev = VMBUS_DEVICE(s);

    for (uint16_t i = 0; i < vdev->nchans; i++) {
        VMBusChannel *chan = vmbus_device_channel(vdev, i);

        if (vmbus_channel_is_open(chan)) {
            hv_scsi_notify(chan);
        }
    }
}

static void hv_scsi_close(VMBusChannel *chan)
{
    HVScsi *s = HV_SCSI(vmbus_channel_device(chan));

    hv_scsi_drop_channel(s, chan);
    if (!vmbus_channel_index(chan)) {
        s->version = 0;
        s->init_state = HV_SCSI_INIT_NONE;
        s->rescan_pending = false;
    }
}

static int hv_scsi_open(VMBusChannel *chan)
{
    /* A new primary starts a new protocol session. */
    hv_scsi_close(chan);
    return 0;
}

/* LUN hot plug: the guest rescans when told. */
static void hv_scsi_hotplug(HotplugHandler *hotplug_dev, DeviceState *dev,
                            Error **errp)
{
    if (dev->hotplugged) {
        hv_scsi_send_rescan(HV_SCSI(hotplug_dev));
    }
}

static void hv_scsi_hotunplug(HotplugHandler *hotplug_dev, DeviceState *dev,
                              Error **errp)
{
    qdev_simple_device_unplug_cb(hotplug_dev, dev, errp);
    hv_scsi_send_rescan(HV_SCSI(hotplug_dev));
}

/*
 * Linux's storvsc hangs when a controller goes while it has disks: the
 * commands it sends while removing them fail to send and are never
 * completed. Hyper-V never removes a controller; here its disks go first.
 */
static bool hv_scsi_unplug_check(VMBusDevice *vdev, Error **errp)
{
    HVScsi *s = HV_SCSI(vdev);

    if (!QTAILQ_EMPTY(&s->bus.qbus.children)) {
        error_setg(errp, "hv-scsi: remove its SCSI devices (device_del) "
                   "before the controller");
        return false;
    }
    return true;
}

static void hv_scsi_realize(DeviceState *dev, Error **errp)
{
    HVScsi *s = HV_SCSI(dev);
    VMBusDevice *vdev = VMBUS_DEVICE(dev);

    if (s->max_transfer < HV_SCSI_TRANSFER_MIN ||
        s->max_transfer > HV_SCSI_TRANSFER_MAX ||
        s->max_transfer % VMBUS_PAGE_SIZE) {
        error_setg(errp, "max-transfer must be a multiple of 4 KiB from "
                   "4 KiB to 8 MiB");
        return;
    }
    if (s->max_subchannels > HV_SCSI_SUBCHANNELS_MAX) {
        error_setg(errp, "max-subchannels must be at most %u",
                   HV_SCSI_SUBCHANNELS_MAX);
        return;
    }
    scsi_bus_init(&s->bus, sizeof(s->bus), dev, &hv_scsi_bus_info);
    qbus_set_hotplug_handler(BUS(&s->bus), OBJECT(dev));
    s->inflight = g_new0(uint32_t, vdev->nchans);
    QTAILQ_INIT(&s->active);
    QTAILQ_INIT(&s->done);
    s->kick_bh = qemu_bh_new_guarded(hv_scsi_kick, s,
                                     &dev->mem_reentrancy_guard);
}

static void hv_scsi_unrealize(DeviceState *dev)
{
    HVScsi *s = HV_SCSI(dev);
    HVScsiReq *req, *next;

    /* The channels are closed; the LUNs went first, with their requests. */
    hv_scsi_cancel_all(s, -1);
    QTAILQ_FOREACH_SAFE(req, &s->done, next, next) {
        QTAILQ_REMOVE(&s->done, req, next);
        hv_scsi_req_finish(req);
    }
    qbus_set_hotplug_handler(BUS(&s->bus), NULL);
    qemu_bh_delete(s->kick_bh);
    g_free(s->inflight);
}

static int hv_scsi_done_post_load(void *opaque, int version_id)
{
    HVScsiReq *req = opaque;

    return req->reply_len <= sizeof(req->pkt) ? 0 : -EINVAL;
}

/* A completion that waits for ring space. */
static const VMStateDescription vmstate_hv_scsi_done = {
    .name = "hv-scsi/completion",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hv_scsi_done_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(chan_index, HVScsiReq),
        VMSTATE_UINT32(reply_len, HVScsiReq),
        VMSTATE_UINT64(trans_id, HVScsiReq),
        VMSTATE_BUFFER_UNSAFE(pkt, HVScsiReq, 0, sizeof(struct vstor_packet)),
        VMSTATE_END_OF_LIST()
    },
};

static int hv_scsi_post_load(void *opaque, int version_id)
{
    HVScsi *s = opaque;
    VMBusDevice *vdev = VMBUS_DEVICE(s);
    HVScsiReq *req;

    if ((s->version && !hv_scsi_version_known(s->version)) ||
        s->init_state > HV_SCSI_INIT_DONE) {
        return -EINVAL;
    }
    /* The loaded list's entries hold only what was sent. */
    QTAILQ_FOREACH(req, &s->done, next) {
        if (req->chan_index >= vdev->nchans) {
            return -EINVAL;
        }
        req->dev = s;
        req->want_reply = true;
        req->sreq = NULL;
        memset(&req->sgl, 0, sizeof(req->sgl));
        s->inflight[req->chan_index]++;
    }
    return 0;
}

static const VMStateDescription vmstate_hv_scsi = {
    .name = TYPE_HV_SCSI,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hv_scsi_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_DEVICE(parent_obj, HVScsi),
        VMSTATE_UINT16(version, HVScsi),
        VMSTATE_UINT8(init_state, HVScsi),
        VMSTATE_BOOL(rescan_pending, HVScsi),
        VMSTATE_UINT32(tag, HVScsi),
        VMSTATE_QTAILQ_V(done, HVScsi, 1, vmstate_hv_scsi_done, HVScsiReq,
                         next),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hv_scsi_props[] = {
    DEFINE_PROP_SIZE32("max-transfer", HVScsi, max_transfer, 2 * MiB),
    DEFINE_PROP_UINT16("max-subchannels", HVScsi, max_subchannels, 8),
};

static void hv_scsi_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    qemu_uuid_parse(HV_SCSI_CLASSID, &vdc->classid);
    vdc->max_subchannels = HV_SCSI_SUBCHANNELS_MAX;
    vdc->vmdev_realize = hv_scsi_realize;
    vdc->vmdev_unrealize = hv_scsi_unrealize;
    vdc->open = hv_scsi_open;
    vdc->close = hv_scsi_close;
    vdc->notify = hv_scsi_notify;
    vdc->unplug_check = hv_scsi_unplug_check;
    hc->plug = hv_scsi_hotplug;
    hc->unplug = hv_scsi_hotunplug;
    dc->desc = "Hyper-V synthetic SCSI controller (storvsc)";
    dc->vmsd = &vmstate_hv_scsi;
    device_class_set_props(dc, hv_scsi_props);
    object_class_property_set_description(klass, "max-transfer",
        "Most bytes one request may move (4 KiB to 8 MiB, page multiple)");
    object_class_property_set_description(klass, "max-subchannels",
        "Most subchannels offered to the guest besides the primary (0-64)");
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
}

static const TypeInfo hv_scsi_type = {
    .name = TYPE_HV_SCSI,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(HVScsi),
    .class_init = hv_scsi_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_HOTPLUG_HANDLER },
        { }
    },
};

static void hv_scsi_register_types(void)
{
    type_register_static(&hv_scsi_type);
}

type_init(hv_scsi_register_types)
