/*
 * qemu-vmbus: channels: open, close, retarget, and their signals
 *
 * OPENCHANNEL names a created GPADL of the channel's own as its ring, the
 * page where the host->guest ring starts, and the VP that takes the
 * channel's events. Anything wrong, or a device that refuses, gets
 * OPENCHANNEL_RESULT with a failure status and leaves the channel closed.
 *
 * Events: the guest signals with HvSignalEvent on the channel's connection
 * id, which wakes an EventNotifier in the main loop; the host sets the
 * channel's bit in the target VP's event flags (from 2.4 on), or in the
 * guest's interrupt page and then flag 0 (before).
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/atomic.h"
#include "exec/address-spaces.h"
#include "migration/vmstate.h"
#include "hw/hyperv/hyperv-proto.h"
#include "vmbus-internal.h"
#include "trace.h"

static VMBus *chan_bus(VMBusChannel *chan)
{
    return VMBUS(qdev_get_parent_bus(DEVICE(chan->dev)));
}

VMBusDevice *vmbus_channel_device(VMBusChannel *chan)
{
    return chan->dev;
}

VMBusChannel *vmbus_device_channel(VMBusDevice *vdev, uint16_t index)
{
    return index < vdev->nchans ? &vdev->chans[index] : NULL;
}

bool vmbus_channel_is_open(VMBusChannel *chan)
{
    return chan->open;
}

uint16_t vmbus_channel_index(VMBusChannel *chan)
{
    return chan->index;
}

uint32_t vmbus_channel_relid(VMBusChannel *chan)
{
    return chan->relid;
}

uint32_t vmbus_channel_connid(VMBusChannel *chan)
{
    return VMBUS_CONNID_BASE + chan->relid;
}

/* Whether the guest's interrupt page is a page of RAM. */
static bool int_page_ok(VMBus *vmbus)
{
    return !(vmbus->int_page & (VMBUS_PAGE_SIZE - 1)) &&
           vmbus_gpa_page_is_ram(vmbus->int_page);
}

/* Before 2.4 the guest finds channel events in its interrupt page. */
static void signal_int_page(VMBus *vmbus, uint32_t relid)
{
    hwaddr len = sizeof(uint32_t);
    uint32_t *word;

    if (!int_page_ok(vmbus)) {
        return;
    }
    word = address_space_map(&address_space_memory,
                             vmbus->int_page + relid / 32 * 4, &len, true,
                             MEMTXATTRS_UNSPECIFIED);
    if (!word) {
        return;
    }
    if (len == sizeof(uint32_t)) {
        qatomic_or(word, cpu_to_le32(1u << (relid % 32)));
    }
    address_space_unmap(&address_space_memory, word, len, true, len);
}

void vmbus_chan_signal_guest(VMBusChannel *chan)
{
    VMBus *vmbus = chan_bus(chan);
    uint32_t relid = chan->relid;
    int r;

    if (!chan->route) {
        return;
    }
    if (vmbus->version < VMBUS_VERSION_WIN8) {
        signal_int_page(vmbus, relid);
        relid = 0;
    }
    r = hyperv_set_event_flag(chan->route, relid);
    trace_vmbus_host_chan_signal(chan->relid, chan->target_vp, r);
}

void vmbus_chan_notify(VMBusChannel *chan)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);

    if (chan->open && vdc->notify) {
        vdc->notify(chan);
    }
}

static void chan_event_cb(EventNotifier *e)
{
    VMBusChannel *chan = container_of(e, VMBusChannel, notifier);

    if (event_notifier_test_and_clear(e)) {
        vmbus_chan_notify(chan);
    }
}

/*
 * Right after open (and migration): the device may have something to say,
 * and a signal due before the guest was listening must not be lost.
 */
static void chan_kick_bh(void *opaque)
{
    VMBusChannel *chan = opaque;

    if (chan->open && !chan->broken && chan->tx.pos != chan->tx.published) {
        vmbus_ring_publish(chan);
    }
    vmbus_chan_notify(chan);
}

/*
 * Before 2.4 a guest may set channel bits in the second half of its
 * interrupt page and signal connection 2; each bit is taken atomically.
 */
static void legacy_event_cb(EventNotifier *e)
{
    VMBus *vmbus = container_of(e, VMBus, legacy_events);
    hwaddr base = vmbus->int_page + VMBUS_PAGE_SIZE / 2;

    if (!event_notifier_test_and_clear(e) || !int_page_ok(vmbus)) {
        return;
    }
    for (uint32_t w = 0; w <= VMBUS_RELID_MAX / 32; w++) {
        hwaddr len = sizeof(uint32_t);
        uint32_t *word = address_space_map(&address_space_memory,
                                           base + w * 4, &len, true,
                                           MEMTXATTRS_UNSPECIFIED);
        uint32_t bits = 0;

        if (word && len == sizeof(uint32_t)) {
            bits = le32_to_cpu(qatomic_xchg(word, 0));
        }
        if (word) {
            address_space_unmap(&address_space_memory, word, len, true, len);
        }
        while (bits) {
            VMBusChannel *chan = vmbus_conn_channel(vmbus,
                                                    w * 32 + ctz32(bits));

            bits &= bits - 1;
            if (chan && chan->open) {
                vmbus_chan_notify(chan);
            }
        }
    }
}

void vmbus_chan_legacy_events(VMBus *vmbus, bool on)
{
    if (on == vmbus->legacy_listening) {
        return;
    }
    if (on) {
        if (event_notifier_init(&vmbus->legacy_events, 0) < 0) {
            return;
        }
        if (hyperv_set_event_flag_handler(VMBUS_EVENT_CONNECTION_ID,
                                          &vmbus->legacy_events)) {
            event_notifier_cleanup(&vmbus->legacy_events);
            return;
        }
        event_notifier_set_handler(&vmbus->legacy_events, legacy_event_cb);
    } else {
        event_notifier_set_handler(&vmbus->legacy_events, NULL);
        hyperv_set_event_flag_handler(VMBUS_EVENT_CONNECTION_ID, NULL);
        event_notifier_cleanup(&vmbus->legacy_events);
    }
    vmbus->legacy_listening = on;
}

static HvSintRoute *chan_route(VMBus *vmbus, uint32_t vp)
{
    return hyperv_sint_route_new(vp, vmbus->version < VMBUS_VERSION_WIN8 ?
                                 VMBUS_MESSAGE_SINT : vmbus->msg_sint,
                                 NULL, NULL);
}

/* Everything the channel holds while open; undoes a partial open too. */
static void chan_release(VMBusChannel *chan)
{
    if (chan->route) {
        hyperv_sint_route_unref(chan->route);
        chan->route = NULL;
    }
    if (chan->listening) {
        event_notifier_set_handler(&chan->notifier, NULL);
        hyperv_set_event_flag_handler(vmbus_channel_connid(chan), NULL);
        event_notifier_cleanup(&chan->notifier);
        chan->listening = false;
    }
    if (chan->kick_bh) {
        qemu_bh_delete(chan->kick_bh);
        chan->kick_bh = NULL;
    }
    if (chan->ring) {
        vmbus_gpadl_put(chan->ring);
        chan->ring = NULL;
    }
    g_free(chan->bounce);
    chan->bounce = NULL;
    chan->bounce_size = 0;
    chan->open = false;
}

/*
 * Takes the ring GPADL, the route and the event; a reason when that fails.
 * A migrated channel keeps a ring whose teardown waits for its close.
 */
static const char *chan_attach(VMBusChannel *chan, bool restoring)
{
    VMBus *vmbus = chan_bus(chan);
    VMBusGpadl *gpadl = vmbus_gpadl_find(vmbus, chan->ring_gpadl_id);

    if (!gpadl || !gpadl->created || (gpadl->teardown && !restoring) ||
        gpadl->relid != chan->relid) {
        return "names no GPADL of this channel";
    }
    if (!vmbus_gpadl_is_paged(gpadl)) {
        return "names a GPADL that is not whole pages";
    }
    vmbus_gpadl_ref(gpadl);
    chan->ring = gpadl;

    chan->route = chan_route(vmbus, chan->target_vp);
    if (!chan->route) {
        return "names a VP that cannot take events";
    }
    chan->kick_bh = qemu_bh_new_guarded(
        chan_kick_bh, chan, &DEVICE(chan->dev)->mem_reentrancy_guard);
    if (event_notifier_init(&chan->notifier, 0) < 0) {
        return "cannot get an event notifier";
    }
    if (hyperv_set_event_flag_handler(vmbus_channel_connid(chan),
                                      &chan->notifier)) {
        event_notifier_cleanup(&chan->notifier);
        return "cannot take its connection id";
    }
    event_notifier_set_handler(&chan->notifier, chan_event_cb);
    chan->listening = true;
    return NULL;
}

static bool result_send(VMBus *vmbus, uint32_t relid, uint32_t openid,
                        uint32_t status)
{
    struct vmbus_msg_open_result msg = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_OPENCHANNEL_RESULT),
        .child_relid = cpu_to_le32(relid),
        .openid = cpu_to_le32(openid),
        .status = cpu_to_le32(status),
    };

    return vmbus_conn_send(vmbus, &msg, sizeof(msg));
}

uint16_t vmbus_chan_open_msg(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_open_channel *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    uint32_t openid = le32_to_cpu(msg->openid);
    VMBusChannel *chan = vmbus_conn_channel(vmbus, relid);
    VMBusDeviceClass *vdc;
    const char *why = NULL;
    int r;

    if (!chan || !chan->offered || chan->rescinding) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: OPENCHANNEL for channel %u, "
                      "which the guest was not offered\n", relid);
        return HV_STATUS_INVALID_PARAMETER;
    }
    if (!vmbus_conn_has_room(vmbus, 1)) {
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);
    if (chan->open) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: OPENCHANNEL for channel %u, "
                      "which is open\n", relid);
        result_send(vmbus, relid, openid, VMBUS_STATUS_UNSUCCESSFUL);
        return HV_STATUS_SUCCESS;
    }

    chan->openid = openid;
    chan->ring_gpadl_id = le32_to_cpu(msg->ring_gpadl);
    chan->send_offset = le32_to_cpu(msg->ring_send_offset);
    /* Before 2.4 channel events go to VP 0. */
    chan->target_vp = vmbus->version < VMBUS_VERSION_WIN8 ?
                      0 : le32_to_cpu(msg->target_vp);

    why = chan_attach(chan, false);
    if (!why && !vmbus_ring_open(chan)) {
        why = "has ring sizes or indices that do not fit its GPADL";
    }
    if (!why) {
        chan->open = true;
        r = vdc->open ? vdc->open(chan) : 0;
        if (r < 0) {
            why = "was refused by the device";
        }
    }
    trace_vmbus_host_chan_open(relid, chan->ring_gpadl_id, chan->send_offset,
                          chan->target_vp, !why);
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: OPENCHANNEL for channel %u "
                      "%s\n", relid, why);
        chan_release(chan);
        result_send(vmbus, relid, openid, VMBUS_STATUS_UNSUCCESSFUL);
        return HV_STATUS_SUCCESS;
    }
    result_send(vmbus, relid, openid, 0);
    qemu_bh_schedule(chan->kick_bh);
    return HV_STATUS_SUCCESS;
}

static void chan_close(VMBusChannel *chan)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);

    if (!chan->open) {
        return;
    }
    trace_vmbus_host_chan_close(chan->relid);
    if (vdc->close) {
        vdc->close(chan);
    }
    chan_release(chan);
}

uint16_t vmbus_chan_close_msg(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_close_channel *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    VMBusChannel *chan = vmbus_conn_channel(vmbus, relid);
    VMBusDevice *vdev;

    /* A rescinded channel is still closed by its guest driver. */
    if (!chan || !chan->offered || !chan->open) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: CLOSECHANNEL for channel %u, "
                      "which is not open\n", relid);
        return HV_STATUS_INVALID_PARAMETER;
    }
    chan_close(chan);
    if (chan->index) {
        return HV_STATUS_SUCCESS;
    }
    /* Subchannels live as long as their primary is open. */
    vdev = chan->dev;
    for (int i = 1; i < vdev->nchans; i++) {
        chan_close(&vdev->chans[i]);
        if (vdev->chans[i].relid) {
            vmbus_conn_rescind(vmbus, &vdev->chans[i]);
        }
    }
    return HV_STATUS_SUCCESS;
}

uint16_t vmbus_chan_modify_msg(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_modify_channel *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    uint32_t vp = le32_to_cpu(msg->target_vp);
    VMBusChannel *chan = vmbus_conn_channel(vmbus, relid);
    struct vmbus_msg_modify_channel_response rsp = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_MODIFYCHANNEL_RESPONSE),
        .child_relid = cpu_to_le32(relid),
    };
    bool reply = vmbus->version >= VMBUS_VERSION_WIN10_V5_3;
    HvSintRoute *route = NULL;

    if (vmbus->version < VMBUS_VERSION_WIN10_RS3) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: MODIFYCHANNEL needs protocol "
                      "4.1, the guest connected at 0x%x\n", vmbus->version);
        return HV_STATUS_INVALID_PARAMETER;
    }
    if (!chan || !chan->offered) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: MODIFYCHANNEL for channel %u, "
                      "which the guest was not offered\n", relid);
        return HV_STATUS_INVALID_PARAMETER;
    }
    if (reply && !vmbus_conn_has_room(vmbus, 1)) {
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    if (chan->open) {
        route = chan_route(vmbus, vp);
    }
    trace_vmbus_host_chan_modify(relid, vp, !!route);
    if (route) {
        hyperv_sint_route_unref(chan->route);
        chan->route = route;
        chan->target_vp = vp;
        /* An event the old VP took may still be due: the device checks. */
        qemu_bh_schedule(chan->kick_bh);
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: MODIFYCHANNEL of channel %u "
                      "to VP %u: the channel is closed or the VP absent\n",
                      relid, vp);
        rsp.status = cpu_to_le32(VMBUS_STATUS_UNSUCCESSFUL);
    }
    if (reply) {
        vmbus_conn_send(vmbus, &rsp, sizeof(rsp));
    }
    return HV_STATUS_SUCCESS;
}

void vmbus_chan_init(VMBusDevice *vdev, uint32_t relid)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);

    vdev->nchans = 1 + vdc->max_subchannels;
    vdev->chans = g_new0(VMBusChannel, vdev->nchans);
    for (int i = 0; i < vdev->nchans; i++) {
        vdev->chans[i].dev = vdev;
        vdev->chans[i].index = i;
    }
    vdev->chan = &vdev->chans[0];
    vdev->chan->relid = relid;
}

void vmbus_chan_kick_all(VMBusDevice *vdev)
{
    for (int i = 0; i < vdev->nchans; i++) {
        if (vdev->chans[i].open) {
            qemu_bh_schedule(vdev->chans[i].kick_bh);
        }
    }
}

void vmbus_chan_close_all(VMBusDevice *vdev)
{
    /* Subchannels first, as guests do. */
    for (int i = vdev->nchans - 1; i >= 0; i--) {
        chan_close(&vdev->chans[i]);
    }
}

void vmbus_chan_finalize(VMBusDevice *vdev)
{
    vmbus_chan_close_all(vdev);
    g_free(vdev->chans);
    vdev->chans = NULL;
    vdev->chan = NULL;
    vdev->nchans = 0;
}

void vmbus_chan_released(VMBusChannel *chan)
{
    VMBusDevice *vdev = chan->dev;

    /* A guest may release an id without closing or tearing down. */
    if (!chan->index) {
        /* Subchannels do not outlive their primary. */
        for (int i = vdev->nchans - 1; i > 0; i--) {
            chan_close(&vdev->chans[i]);
        }
    }
    chan_close(chan);
    vmbus_gpadl_forget(chan_bus(chan), chan->relid);
    if (chan->index) {
        chan->relid = 0;
    }
}

int vmbus_device_offer_subchannels(VMBusDevice *vdev, uint16_t count)
{
    VMBus *vmbus = VMBUS(qdev_get_parent_bus(DEVICE(vdev)));

    if (count >= vdev->nchans) {
        return -EINVAL;
    }
    if (!vdev->chan->open || vdev->unplugging ||
        vmbus->state != VMBUS_STATE_CONNECTED) {
        return -EIO;
    }
    for (int i = 1; i <= count; i++) {
        if (vdev->chans[i].rescinding) {
            return -EBUSY;
        }
    }
    for (int i = 1; i <= count; i++) {
        VMBusChannel *sc = &vdev->chans[i];

        if (!sc->relid) {
            sc->relid = vmbus_alloc_subchannel_relid(vmbus);
            if (!sc->relid) {
                /* All or nothing: the ones just given ids go back. */
                while (--i > 0) {
                    if (!vdev->chans[i].offered) {
                        vdev->chans[i].relid = 0;
                    }
                }
                return -ENOSPC;
            }
            trace_vmbus_host_chan_subchannel(vdev->chan->relid, i,
                                             sc->relid);
        }
    }
    vmbus_conn_pump(vmbus);
    return 0;
}

static int chan_post_load(void *opaque, int version_id)
{
    VMBusChannel *chan = opaque;

    if (chan->relid > VMBUS_RELID_MAX || (chan->open && !chan->offered)) {
        return -EINVAL;
    }
    if (!chan->open) {
        return 0;
    }
    if (chan_attach(chan, true) || !vmbus_ring_restore(chan)) {
        chan_release(chan);
        return -EINVAL;
    }
    /* The bus kicks it when the VM runs, once every device is loaded. */
    chan->batch = 0;
    return 0;
}

static int chan_pre_load(void *opaque)
{
    /* A channel open here before the load (not expected) is closed. */
    chan_close(opaque);
    return 0;
}

const VMStateDescription vmstate_vmbus_channel = {
    .name = "vmbus/channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = chan_pre_load,
    .post_load = chan_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(relid, VMBusChannel),
        VMSTATE_BOOL(offered, VMBusChannel),
        VMSTATE_BOOL(rescinding, VMBusChannel),
        VMSTATE_BOOL(rescind_sent, VMBusChannel),
        VMSTATE_BOOL(open, VMBusChannel),
        VMSTATE_BOOL(broken, VMBusChannel),
        VMSTATE_UINT32(openid, VMBusChannel),
        VMSTATE_UINT32(ring_gpadl_id, VMBusChannel),
        VMSTATE_UINT32(send_offset, VMBusChannel),
        VMSTATE_UINT32(target_vp, VMBusChannel),
        VMSTATE_UINT32(rx.pos, VMBusChannel),
        VMSTATE_UINT32(rx.published, VMBusChannel),
        VMSTATE_UINT32(tx.pos, VMBusChannel),
        VMSTATE_UINT32(tx.published, VMBusChannel),
        VMSTATE_BOOL(tx_waiting, VMBusChannel),
        VMSTATE_END_OF_LIST()
    },
};
