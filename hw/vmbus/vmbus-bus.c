/*
 * qemu-vmbus: the VMBus bus and the base class of VMBus devices
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/resettable.h"
#include "migration/vmstate.h"
#include "vmbus-internal.h"

VMBus *vmbus_create(DeviceState *parent)
{
    return VMBUS(qbus_new(TYPE_VMBUS, parent, "vmbus"));
}

static void vmbus_reset_hold(Object *obj, ResetType type)
{
    vmbus_conn_reset(VMBUS(obj));
}

static void vmbus_instance_init(Object *obj)
{
    QTAILQ_INIT(&VMBUS(obj)->gpadls);
}

static char *vmbus_get_dev_path(DeviceState *dev);

static void vmbus_class_init(ObjectClass *klass, void *data)
{
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    BusClass *bc = BUS_CLASS(klass);

    rc->phases.hold = vmbus_reset_hold;
    bc->get_dev_path = vmbus_get_dev_path;
}

/* The lowest id from @lo to @hi that no channel holds and no device wants. */
static uint32_t alloc_relid(VMBus *vmbus, uint32_t lo, uint32_t hi)
{
    g_autofree unsigned long *used = bitmap_new(VMBUS_RELID_MAX + 1);
    BusChild *kid;
    long relid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        set_bit(vdev->want_relid, used);
        for (int i = 0; i < vdev->nchans; i++) {
            set_bit(vdev->chans[i].relid, used);
        }
    }
    relid = find_next_zero_bit(used, hi + 1, lo);
    return relid <= hi ? relid : 0;
}

uint32_t vmbus_alloc_subchannel_relid(VMBus *vmbus)
{
    return vmbus->max_offers < VMBUS_RELID_MAX ?
           alloc_relid(vmbus, vmbus->max_offers + 1, VMBUS_RELID_MAX) : 0;
}

/* The device that holds or wants @relid, other than @self. */
static VMBusDevice *relid_owner(VMBus *vmbus, VMBusDevice *self,
                                uint32_t relid)
{
    BusChild *kid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        if (vdev != self && vdev->nchans &&
            (vdev->want_relid == relid || vdev->chans[0].relid == relid)) {
            return vdev;
        }
    }
    return NULL;
}

/* The id for @vdev's primary: its "relid", or the lowest free one. */
static uint32_t primary_relid(VMBus *vmbus, VMBusDevice *vdev, Error **errp)
{
    VMBusDevice *owner;
    uint32_t relid;

    if (!vdev->want_relid) {
        relid = alloc_relid(vmbus, VMBUS_RELID_MIN, vmbus->max_offers);
        if (!relid) {
            error_setg(errp, "the VMBus has no channel id left");
        }
        return relid;
    }
    if (vdev->want_relid > vmbus->max_offers) {
        error_setg(errp, "relid must be from %u to %u (vmbus-bridge "
                   "property max-offers)", VMBUS_RELID_MIN, vmbus->max_offers);
        return 0;
    }
    owner = relid_owner(vmbus, vdev, vdev->want_relid);
    if (owner) {
        error_setg(errp, "relid %u is taken by device '%s'", vdev->want_relid,
                   DEVICE(owner)->id ? DEVICE(owner)->id :
                   object_get_typename(OBJECT(owner)));
        return 0;
    }
    return vdev->want_relid;
}

/*
 * Devices are told apart by their primary's id, not by their plug order:
 * a destination started after the source unplugged a device matches
 * the others by the ids that their "relid" properties give them.
 */
static char *vmbus_get_dev_path(DeviceState *dev)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);

    return g_strdup_printf("vmbus/%u", vdev->nchans ? vdev->chans[0].relid :
                           vdev->want_relid);
}

static void vmbus_device_realize(DeviceState *dev, Error **errp)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);
    VMBus *vmbus = VMBUS(qdev_get_parent_bus(dev));
    uint32_t ndevs = 0, relid;
    BusChild *kid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        ndevs += kid->child != dev;
    }
    if (ndevs >= vmbus->max_offers) {
        error_setg(errp, "the VMBus has %u devices, its maximum "
                   "(vmbus-bridge property max-offers)", ndevs);
        return;
    }
    relid = primary_relid(vmbus, vdev, errp);
    if (!relid) {
        return;
    }
    vdev->unplugging = false;
    if (qemu_uuid_is_null(&vdev->instanceid)) {
        qemu_uuid_generate(&vdev->instanceid);
    }
    vmbus_chan_init(vdev, relid);

    if (vdc->vmdev_realize) {
        Error *err = NULL;

        vdc->vmdev_realize(dev, &err);
        if (err) {
            vmbus_chan_finalize(vdev);
            error_propagate(errp, err);
        }
    }
}

static void vmbus_device_unrealize(DeviceState *dev)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBus *vmbus = VMBUS(qdev_get_parent_bus(dev));

    /* Whatever the guest left open or shared goes with the device. */
    for (int i = 0; i < vdev->nchans; i++) {
        if (vdev->chans[i].relid) {
            vmbus_gpadl_forget(vmbus, vdev->chans[i].relid);
        }
    }
    vmbus_chan_finalize(vdev);
    if (vdc->vmdev_unrealize) {
        vdc->vmdev_unrealize(dev);
    }
}

static const Property vmbus_device_props[] = {
    DEFINE_PROP_UUID_NODEFAULT("instanceid", VMBusDevice, instanceid),
    DEFINE_PROP_UINT32("relid", VMBusDevice, want_relid, 0),
};

static int vmbus_device_pre_load(void *opaque)
{
    VMBusDevice *vdev = opaque;

    /* This side's own channel id, to hold the source's against. */
    vdev->mig_relid = vdev->chans[0].relid;
    return 0;
}

/* Whether @relid is a valid id that no other channel on the bus holds. */
static bool relid_unique(VMBus *vmbus, VMBusChannel *chan)
{
    BusChild *kid;

    if (chan->relid < VMBUS_RELID_MIN || chan->relid > VMBUS_RELID_MAX) {
        return false;
    }
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        for (int i = 0; i < vdev->nchans; i++) {
            if (&vdev->chans[i] != chan &&
                vdev->chans[i].relid == chan->relid) {
                return false;
            }
        }
    }
    return true;
}

static int vmbus_device_post_load(void *opaque, int version_id)
{
    VMBusDevice *vdev = opaque;
    VMBus *vmbus = VMBUS(qdev_get_parent_bus(DEVICE(vdev)));

    /*
     * Both sides number primaries in plug order: the source's id must be
     * the one this side gave the device. Subchannel ids come from the
     * source and must not collide.
     */
    if (vdev->chans[0].relid != vdev->mig_relid) {
        return -EINVAL;
    }
    for (int i = 0; i < vdev->nchans; i++) {
        VMBusChannel *c = &vdev->chans[i];

        if ((c->relid && !relid_unique(vmbus, c)) ||
            (!c->relid && (c->offered || c->rescinding || c->open)) ||
            (c->rescind_sent && !c->rescinding)) {
            return -EINVAL;
        }
    }
    return 0;
}

const VMStateDescription vmstate_vmbus_device = {
    .name = TYPE_VMBUS_DEVICE,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = vmbus_device_pre_load,
    .post_load = vmbus_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(instanceid.data, VMBusDevice, 16),
        VMSTATE_BOOL(unplugging, VMBusDevice),
        VMSTATE_STRUCT_VARRAY_POINTER_UINT16(chans, VMBusDevice, nchans,
                                             vmstate_vmbus_channel,
                                             VMBusChannel),
        VMSTATE_END_OF_LIST()
    },
};

static void vmbus_device_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_VMBUS;
    dc->realize = vmbus_device_realize;
    dc->unrealize = vmbus_device_unrealize;
    device_class_set_props(dc, vmbus_device_props);
    object_class_property_set_description(klass, "relid",
        "the primary channel's id, 1 to vmbus-bridge's max-offers "
        "(0, the default: the lowest free one)");
}

static const TypeInfo vmbus_types[] = {
    {
        .name = TYPE_VMBUS,
        .parent = TYPE_BUS,
        .instance_size = sizeof(VMBus),
        .instance_init = vmbus_instance_init,
        .class_init = vmbus_class_init,
    },
    {
        .name = TYPE_VMBUS_DEVICE,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(VMBusDevice),
        .class_size = sizeof(VMBusDeviceClass),
        .class_init = vmbus_device_class_init,
        .abstract = true,
    },
};

DEFINE_TYPES(vmbus_types)
