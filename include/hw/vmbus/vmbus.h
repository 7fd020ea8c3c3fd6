/*
 * qemu-vmbus: the VMBus bus and the VMBus device API
 *
 * A VMBus device is a QOM device on the "vmbus" bus. Its class names the
 * interface (the class GUID the guest's driver matches); each instance has
 * an instance GUID (property "instanceid", made up at realize when not
 * given) and gets a channel id (relid) that stays the same for as long as
 * the device exists, across guest reboots. The channel manager offers the
 * device's channel to the guest when the guest asks for offers, or when the
 * device is added while the guest is connected.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_H
#define HW_VMBUS_VMBUS_H

#include "hw/qdev-core.h"
#include "qemu/uuid.h"
#include "qom/object.h"

/*
 * The bus a vmbus-bridge provides; VMBus devices plug into it. Its state is
 * the channel manager's (hw/vmbus/vmbus-internal.h).
 */
#define TYPE_VMBUS "vmbus"
OBJECT_DECLARE_SIMPLE_TYPE(VMBus, VMBUS)

/* Abstract base of every device on the VMBus (hv-net, hv-scsi, ...). */
#define TYPE_VMBUS_DEVICE "vmbus-device"
OBJECT_DECLARE_TYPE(VMBusDevice, VMBusDeviceClass, VMBUS_DEVICE)

/* Channel ids the guest accepts: 1 to 2047. */
#define VMBUS_RELID_MIN 1
#define VMBUS_RELID_MAX 2047

struct VMBusDevice {
    DeviceState parent_obj;

    /* Property "instanceid": the guest's name for this device. */
    QemuUUID instanceid;

    /* Set by the bus at plug time; stable while the device exists. */
    uint32_t relid;         /* channel id, 1..2047 */
    bool offered;           /* the current guest connection has its offer */
    bool rescinding;        /* device_del: waiting for RELID_RELEASED */
    bool rescind_sent;      /* ... and the guest has been told */
    uint32_t mig_relid;     /* migration: the source's channel id */
};

struct VMBusDeviceClass {
    DeviceClass parent_class;

    /* The interface: what the guest's driver matches. */
    QemuUUID classid;

    /* Realize and unrealize of the concrete device. */
    DeviceRealize vmdev_realize;
    DeviceUnrealize vmdev_unrealize;
};

/* Event connection ids: above the control ones (1..4) and hyperv-testdev's. */
#define VMBUS_CONNID_BASE   0x10000

/* The Hyper-V connection id on which the guest signals @vdev's channel. */
static inline uint32_t vmbus_device_connid(const VMBusDevice *vdev)
{
    return VMBUS_CONNID_BASE + vdev->relid;
}

/* A concrete device's vmstate includes its VMBus part with this. */
extern const VMStateDescription vmstate_vmbus_device;
#define VMSTATE_VMBUS_DEVICE(_field, _state) \
    VMSTATE_STRUCT(_field, _state, 1, vmstate_vmbus_device, VMBusDevice)

/* Creates the VMBus bus as a child of @parent (the bridge). */
VMBus *vmbus_create(DeviceState *parent);

#endif
