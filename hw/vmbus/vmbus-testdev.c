/*
 * qemu-vmbus: a VMBus device for qtests
 *
 * Offers one channel of its own interface GUID and does nothing else yet;
 * the channel manager's tests use it to see offers, hot-plug and rescind.
 * Built only with the test devices (CONFIG_TEST_DEVICES), as hyperv-testdev.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "migration/vmstate.h"
#include "hw/vmbus/vmbus.h"

#define TYPE_VMBUS_TESTDEV "vmbus-testdev"
OBJECT_DECLARE_SIMPLE_TYPE(VMBusTestDev, VMBUS_TESTDEV)

/* The test interface GUID. */
#define VMBUS_TESTDEV_CLASSID "7b1c4cf0-5f2b-4a89-9d3e-5e1f0c3a9b24"

struct VMBusTestDev {
    VMBusDevice parent_obj;
};

static const VMStateDescription vmstate_vmbus_testdev = {
    .name = TYPE_VMBUS_TESTDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_DEVICE(parent_obj, VMBusTestDev),
        VMSTATE_END_OF_LIST()
    },
};

static void vmbus_testdev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    qemu_uuid_parse(VMBUS_TESTDEV_CLASSID, &vdc->classid);
    dc->desc = "VMBus device for qtests";
    dc->vmsd = &vmstate_vmbus_testdev;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vmbus_testdev_type = {
    .name = TYPE_VMBUS_TESTDEV,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(VMBusTestDev),
    .class_init = vmbus_testdev_class_init,
};

static void vmbus_testdev_register_types(void)
{
    type_register_static(&vmbus_testdev_type);
}

type_init(vmbus_testdev_register_types)
