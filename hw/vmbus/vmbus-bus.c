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

static void vmbus_class_init(ObjectClass *klass, void *data)
{
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    rc->phases.hold = vmbus_reset_hold;
}

/* The lowest channel id no other device on @vmbus holds. */
static uint32_t vmbus_free_relid(VMBus *vmbus, VMBusDevice *self)
{
    g_autofree unsigned long *used = bitmap_new(VMBUS_RELID_MAX + 1);
    BusChild *kid;
    long relid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        if (vdev != self && vdev->relid) {
            set_bit(vdev->relid, used);
        }
    }
    relid = find_next_zero_bit(used, VMBUS_RELID_MAX + 1, VMBUS_RELID_MIN);
    return relid <= VMBUS_RELID_MAX ? relid : 0;
}

static void vmbus_device_realize(DeviceState *dev, Error **errp)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);
    VMBus *vmbus = VMBUS(qdev_get_parent_bus(dev));
    uint32_t ndevs = 0;
    BusChild *kid;

    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        ndevs += kid->child != dev;
    }
    if (ndevs >= vmbus->max_offers) {
        error_setg(errp, "the VMBus has %u devices, its maximum "
                   "(vmbus-bridge property max-offers)", ndevs);
        return;
    }
    vdev->relid = vmbus_free_relid(vmbus, vdev);
    assert(vdev->relid);
    vdev->offered = false;
    if (qemu_uuid_is_null(&vdev->instanceid)) {
        qemu_uuid_generate(&vdev->instanceid);
    }

    vmbus_chan_init(vdev);

    if (vdc->vmdev_realize) {
        Error *err = NULL;

        vdc->vmdev_realize(dev, &err);
        if (err) {
            vmbus_chan_finalize(vdev);
            vdev->relid = 0;
            error_propagate(errp, err);
        }
    }
}

static void vmbus_device_unrealize(DeviceState *dev)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);
    VMBusDevice *vdev = VMBUS_DEVICE(dev);

    /* Whatever the guest left open or shared goes with the device. */
    vmbus_chan_finalize(vdev);
    vmbus_gpadl_forget(VMBUS(qdev_get_parent_bus(dev)), vdev->relid);
    if (vdc->vmdev_unrealize) {
        vdc->vmdev_unrealize(dev);
    }
    vdev->relid = 0;
}

static const Property vmbus_device_props[] = {
    DEFINE_PROP_UUID_NODEFAULT("instanceid", VMBusDevice, instanceid),
};

static int vmbus_device_pre_save(void *opaque)
{
    VMBusDevice *vdev = opaque;

    vdev->mig_relid = vdev->relid;
    return 0;
}

static int vmbus_device_post_load(void *opaque, int version_id)
{
    VMBusDevice *vdev = opaque;

    /*
     * Both sides number channels in plug order: the source's id must be
     * the one this side gave the device (which also rules out duplicates).
     */
    if (vdev->mig_relid != vdev->relid ||
        (vdev->rescind_sent && !vdev->rescinding)) {
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_vmbus_device = {
    .name = TYPE_VMBUS_DEVICE,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = vmbus_device_pre_save,
    .post_load = vmbus_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(instanceid.data, VMBusDevice, 16),
        VMSTATE_UINT32(mig_relid, VMBusDevice),
        VMSTATE_BOOL(offered, VMBusDevice),
        VMSTATE_BOOL(rescinding, VMBusDevice),
        VMSTATE_BOOL(rescind_sent, VMBusDevice),
        VMSTATE_STRUCT_POINTER(chan, VMBusDevice, vmstate_vmbus_channel,
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
