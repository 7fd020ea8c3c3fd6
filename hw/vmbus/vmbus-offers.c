/*
 * qemu-vmbus: offers: which channels the guest has, and taking them back
 *
 * Each channel (a device's primary, or a subchannel it asked for) is
 * offered once per guest connection, in channel-id order, as the queue has
 * room; ALLOFFERS_DELIVERED follows when the guest asked. device_del and a
 * primary's close rescind channels; RELID_RELEASED ends a rescind, and the
 * device goes once the guest has released all of its channels.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/hyperv/hyperv-proto.h"
#include "vmbus-internal.h"
#include "trace.h"

static void unplug_bh(void *opaque)
{
    object_unparent(OBJECT(opaque));
    object_unref(OBJECT(opaque));
}

/* Unplugs @vdev from the main loop, not from the guest's hypercall. */
static void vmbus_device_unplug_later(VMBusDevice *vdev)
{
    object_ref(OBJECT(vdev));
    aio_bh_schedule_oneshot(qemu_get_aio_context(), unplug_bh, vdev);
}

/* Whether the guest still has, or still holds, any of @vdev's offers. */
static bool device_offered(VMBusDevice *vdev)
{
    for (int i = 0; i < vdev->nchans; i++) {
        if (vdev->chans[i].offered) {
            return true;
        }
    }
    return false;
}

static void offer_fill(VMBusChannel *chan, struct vmbus_msg_offer_channel *o)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);
    QemuUUID type = qemu_uuid_bswap(vdc->classid);
    QemuUUID instance = qemu_uuid_bswap(chan->dev->instanceid);

    /* GUIDs go in Microsoft's mixed-endian order; subchannels share them. */
    memset(o, 0, sizeof(*o));
    o->header.msgtype = cpu_to_le32(VMBUS_MSG_OFFERCHANNEL);
    memcpy(o->if_type, type.data, sizeof(o->if_type));
    memcpy(o->if_instance, instance.data, sizeof(o->if_instance));
    o->sub_channel_index = cpu_to_le16(chan->index);
    o->child_relid = cpu_to_le32(chan->relid);
    o->connection_id = cpu_to_le32(vmbus_channel_connid(chan));
    o->is_dedicated_interrupt = cpu_to_le16(1);
}

/* Takes @chan's offer back; false while the queue has no room. */
static bool rescind_send(VMBus *vmbus, VMBusChannel *chan)
{
    struct vmbus_msg_rescind_offer rescind = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_RESCIND_CHANNELOFFER),
        .child_relid = cpu_to_le32(chan->relid),
    };

    if (!vmbus_conn_send(vmbus, &rescind, sizeof(rescind))) {
        return false;
    }
    trace_vmbus_conn_rescind(chan->relid);
    chan->rescind_sent = true;
    return true;
}

void vmbus_conn_rescind(VMBus *vmbus, VMBusChannel *chan)
{
    if (chan->rescinding) {
        return;
    }
    /*
     * The guest has the offer: take it back and wait for RELID_RELEASED.
     * A full queue only delays the rescind: the pump sends it once the
     * guest's EOMs made room.
     */
    if (chan->offered && vmbus->state == VMBUS_STATE_CONNECTED) {
        chan->rescinding = true;
        rescind_send(vmbus, chan);
    } else if (chan->index) {
        /* Never offered: the subchannel just goes. */
        chan->offered = false;
        chan->relid = 0;
    }
}

/* The channel with the lowest id whose offer the guest does not have. */
static VMBusChannel *next_offer(VMBus *vmbus)
{
    VMBusChannel *best = NULL;
    BusChild *kid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *d = VMBUS_DEVICE(kid->child);

        /* Channels exist from realize (plug runs just before it ends). */
        for (int i = 0; i < d->nchans && !d->unplugging; i++) {
            VMBusChannel *c = &d->chans[i];

            if (c->relid && !c->offered && !c->rescinding &&
                (!best || c->relid < best->relid)) {
                best = c;
            }
        }
    }
    return best;
}

/*
 * Sends what waited for room in the queue: GPADL_TORNDOWNs, rescinds, then
 * the offers the guest does not have yet and ALLOFFERS_DELIVERED if the
 * guest asked. Runs again as the queue drains or channels come.
 */
void vmbus_conn_pump(VMBus *vmbus)
{
    struct vmbus_msg_offer_channel offer;
    struct vmbus_msg_header done = {
        .msgtype = cpu_to_le32(VMBUS_MSG_ALLOFFERS_DELIVERED),
    };
    VMBusChannel *chan;
    BusChild *kid;

    if (vmbus->state != VMBUS_STATE_CONNECTED || !vmbus_gpadl_pump(vmbus) ||
        !vmbus->offers_requested) {
        return;
    }
    /* Rescinds that found the queue full go first. */
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *d = VMBUS_DEVICE(kid->child);

        for (int i = 0; i < d->nchans; i++) {
            VMBusChannel *c = &d->chans[i];

            if (c->rescinding && !c->rescind_sent && !rescind_send(vmbus, c)) {
                return;
            }
        }
    }
    /* In channel id order, each only once. */
    while ((chan = next_offer(vmbus))) {
        offer_fill(chan, &offer);
        if (!vmbus_conn_send(vmbus, &offer, sizeof(offer))) {
            return;
        }
        trace_vmbus_conn_offer(chan->relid, vmbus_channel_connid(chan));
        chan->offered = true;
    }
    if (vmbus->alloffers_pending &&
        vmbus_conn_send(vmbus, &done, sizeof(done))) {
        vmbus->alloffers_pending = false;
    }
}

/*
 * The guest connection ended: channels close, GPADLs, offers and
 * subchannels are forgotten, pending unplugs complete.
 */
void vmbus_offers_forget(VMBus *vmbus)
{
    BusChild *kid, *next;

    vmbus->offers_requested = false;
    vmbus->alloffers_pending = false;
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        vmbus_chan_close_all(VMBUS_DEVICE(kid->child));
    }
    vmbus_gpadl_forget(vmbus, 0);
    QTAILQ_FOREACH_SAFE(kid, &BUS(vmbus)->children, sibling, next) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        for (int i = 0; i < vdev->nchans; i++) {
            VMBusChannel *c = &vdev->chans[i];

            c->offered = c->rescinding = c->rescind_sent = false;
            if (c->index) {
                c->relid = 0;
            }
        }
        if (vdev->unplugging) {
            vmbus_device_unplug_later(vdev);
        }
    }
}

uint16_t vmbus_offers_request(VMBus *vmbus)
{
    /* Offers already made are not repeated; ALLOFFERS_DELIVERED is. */
    vmbus->offers_requested = true;
    vmbus->alloffers_pending = true;
    vmbus_conn_pump(vmbus);
    return HV_STATUS_SUCCESS;
}

VMBusChannel *vmbus_conn_channel(VMBus *vmbus, uint32_t relid)
{
    BusChild *kid;

    if (!relid) {
        return NULL;
    }
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        for (int i = 0; i < vdev->nchans; i++) {
            if (vdev->chans[i].relid == relid) {
                return &vdev->chans[i];
            }
        }
    }
    return NULL;
}

uint16_t vmbus_offers_relid_released(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_relid_released *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    VMBusChannel *chan = vmbus_conn_channel(vmbus, relid);
    VMBusDevice *vdev;

    if (!chan || !chan->rescinding) {
        /* Also what a guest sends when it could not use an offer. */
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: RELID_RELEASED for channel %u, "
                      "which was not rescinded\n", relid);
        return HV_STATUS_SUCCESS;
    }
    trace_vmbus_conn_relid_released(relid);
    vdev = chan->dev;
    chan->offered = chan->rescinding = chan->rescind_sent = false;
    vmbus_chan_released(chan);
    if (vdev->unplugging && !device_offered(vdev)) {
        vmbus_device_unplug_later(vdev);
    }
    return HV_STATUS_SUCCESS;
}

void vmbus_conn_device_plugged(VMBus *vmbus)
{
    vmbus_conn_pump(vmbus);
}

void vmbus_conn_unplug_request(VMBus *vmbus, VMBusDevice *vdev)
{
    if (vdev->unplugging) {
        return;
    }
    vdev->unplugging = true;
    /* Every channel the guest has is taken back; then the device goes. */
    for (int i = 0; i < vdev->nchans; i++) {
        vmbus_conn_rescind(vmbus, &vdev->chans[i]);
    }
    if (!device_offered(vdev)) {
        vmbus_device_unplug_later(vdev);
    }
}
