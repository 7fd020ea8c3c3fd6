/*
 * qemu-vmbus: the VMBus bus and the base class of VMBus devices
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_H
#define HW_VMBUS_VMBUS_H

#include "hw/qdev-core.h"
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

struct VMBusDevice {
    DeviceState parent_obj;
};

struct VMBusDeviceClass {
    DeviceClass parent_class;

    /* Realize and unrealize of the concrete device. */
    DeviceRealize vmdev_realize;
    DeviceUnrealize vmdev_unrealize;
};

/* Creates the VMBus bus as a child of @parent (the bridge). */
VMBus *vmbus_create(DeviceState *parent);

#endif
