/*
 * qemu-vmbus: the VMBus root bridge
 *
 * The bridge is the machine-level anchor of the VMBus: a sysbus device with
 * no MMIO of its own that owns the vmbus bus and describes it in ACPI, where
 * the guest's VMBus driver (Linux hv_vmbus, Windows vmbus.sys) finds it.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/hotplug.h"
#include "hw/hyperv/hyperv.h"
#include "migration/vmstate.h"
#include "hw/vmbus/vmbus-bridge.h"
#include "vmbus-internal.h"
#include "trace.h"

VMBusBridge *vmbus_bridge_find(void)
{
    return VMBUS_BRIDGE(object_resolve_path_type("", TYPE_VMBUS_BRIDGE, NULL));
}

static void vmbus_bridge_realize(DeviceState *dev, Error **errp)
{
    VMBusBridge *bridge = VMBUS_BRIDGE(dev);
    bool ambiguous = false;

    /* The guest knows one VMBus per partition. */
    object_resolve_path_type("", TYPE_VMBUS_BRIDGE, &ambiguous);
    if (ambiguous) {
        error_setg(errp, "a machine can have at most one %s",
                   TYPE_VMBUS_BRIDGE);
        return;
    }

    /* Messages and events travel through the SynIC. */
    if (!hyperv_is_synic_enabled()) {
        error_setg(errp, "%s needs the Hyper-V SynIC: add "
                   "hv-vpindex=on,hv-synic=on to -cpu", TYPE_VMBUS_BRIDGE);
        return;
    }
    if (!bridge->max_queued_msgs ||
        bridge->max_queued_msgs > VMBUS_MSG_QUEUE_SIZE) {
        error_setg(errp, "max-queued-messages must be 1 to %u",
                   VMBUS_MSG_QUEUE_SIZE);
        return;
    }

    if (!bridge->max_offers || bridge->max_offers > VMBUS_RELID_MAX) {
        error_setg(errp, "max-offers must be 1 to %u", VMBUS_RELID_MAX);
        return;
    }
    if (!bridge->max_gpadls) {
        error_setg(errp, "max-gpadls must be at least 1");
        return;
    }

    bridge->bus = vmbus_create(dev);
    bridge->bus->max_queued_msgs = bridge->max_queued_msgs;
    bridge->bus->max_offers = bridge->max_offers;
    bridge->bus->max_gpadls = bridge->max_gpadls;
    bridge->bus->max_gpadl_mem = bridge->max_gpadl_mem;
    /* device_add and device_del on the bus come to us. */
    qbus_set_hotplug_handler(BUS(bridge->bus), OBJECT(dev));
    if (!vmbus_conn_init(bridge->bus, errp)) {
        return;
    }
    trace_vmbus_bridge_realize(bridge->irq);
}

void vmbus_bridge_build_acpi(Aml *dsdt)
{
    VMBusBridge *bridge = vmbus_bridge_find();
    Aml *scope, *dev, *crs;

    if (!bridge) {
        return;
    }

    /* Linux matches _HID "VMBus" (or "VMBUS"); Windows matches "VMBus". */
    dev = aml_device("VMBS");
    aml_append(dev, aml_name_decl("_HID", aml_string("VMBus")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(dev, aml_name_decl("_DDN", aml_string("VMBUS")));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));

    crs = aml_resource_template();
    aml_append(crs, aml_irq_no_flags(bridge->irq));
    aml_append(dev, aml_name_decl("_CRS", crs));

    scope = aml_scope("_SB");
    aml_append(scope, dev);
    aml_append(dsdt, scope);
}

static const Property vmbus_bridge_props[] = {
    DEFINE_PROP_UINT8("irq", VMBusBridge, irq, 7),
    DEFINE_PROP_UINT32("max-queued-messages", VMBusBridge, max_queued_msgs,
                       64),
    DEFINE_PROP_UINT32("max-offers", VMBusBridge, max_offers, 256),
    DEFINE_PROP_UINT32("max-gpadls", VMBusBridge, max_gpadls,
                       VMBUS_DEFAULT_MAX_GPADLS),
    DEFINE_PROP_SIZE("max-gpadl-memory", VMBusBridge, max_gpadl_mem,
                     VMBUS_DEFAULT_MAX_GPADL_MEM),
};

static void vmbus_bridge_plug(HotplugHandler *hotplug_dev, DeviceState *dev,
                              Error **errp)
{
    vmbus_conn_device_plugged(VMBUS(qdev_get_parent_bus(dev)));
}

static void vmbus_bridge_unplug_request(HotplugHandler *hotplug_dev,
                                        DeviceState *dev, Error **errp)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(dev);

    if (vdc->unplug_check && !vdc->unplug_check(VMBUS_DEVICE(dev), errp)) {
        return;
    }
    vmbus_conn_unplug_request(VMBUS(qdev_get_parent_bus(dev)),
                              VMBUS_DEVICE(dev));
}

static const VMStateDescription vmstate_vmbus_bridge = {
    .name = TYPE_VMBUS_BRIDGE,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_POINTER(bus, VMBusBridge, vmstate_vmbus, VMBus),
        VMSTATE_END_OF_LIST()
    },
};

static void vmbus_bridge_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    dc->realize = vmbus_bridge_realize;
    dc->vmsd = &vmstate_vmbus_bridge;
    dc->desc = "Hyper-V VMBus root bridge";
    dc->user_creatable = true;
    dc->hotpluggable = false;
    device_class_set_props(dc, vmbus_bridge_props);
    set_bit(DEVICE_CATEGORY_BRIDGE, dc->categories);
    hc->plug = vmbus_bridge_plug;
    hc->unplug_request = vmbus_bridge_unplug_request;
}

static const TypeInfo vmbus_bridge_type = {
    .name = TYPE_VMBUS_BRIDGE,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(VMBusBridge),
    .class_init = vmbus_bridge_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_HOTPLUG_HANDLER },
        { }
    },
};

static void vmbus_bridge_register_types(void)
{
    type_register_static(&vmbus_bridge_type);
}

type_init(vmbus_bridge_register_types)
