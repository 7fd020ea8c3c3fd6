/*
 * qemu-vmbus: the VMBus bus and the base class of VMBus devices
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/resettable.h"
#include "vmbus-internal.h"

VMBus *vmbus_create(DeviceState *parent)
{
    return VMBUS(qbus_new(TYPE_VMBUS, parent, "vmbus"));
}

static void vmbus_reset_hold(Object *obj, ResetType type)
{
    vmbus_conn_reset(VMBUS(obj));
}

static void vmbus_class_init(ObjectClass *klass, void *data)
{
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    rc->phases.hold = vmbus_reset_hold;
}

static void vmbus_device_realize(DeviceState *dev, Error **errp)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);

    if (vdc->vmdev_realize) {
        vdc->vmdev_realize(dev, errp);
    }
}

static void vmbus_device_unrealize(DeviceState *dev)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);

    if (vdc->vmdev_unrealize) {
        vdc->vmdev_unrealize(dev);
    }
}

static void vmbus_device_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_VMBUS;
    dc->realize = vmbus_device_realize;
    dc->unrealize = vmbus_device_unrealize;
}

static const TypeInfo vmbus_types[] = {
    {
        .name = TYPE_VMBUS,
        .parent = TYPE_BUS,
        .instance_size = sizeof(VMBus),
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
