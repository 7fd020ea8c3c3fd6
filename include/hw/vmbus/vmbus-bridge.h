/*
 * qemu-vmbus: the VMBus root bridge
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_BRIDGE_H
#define HW_VMBUS_VMBUS_BRIDGE_H

#include "hw/sysbus.h"
#include "hw/acpi/aml-build.h"
#include "hw/vmbus/vmbus.h"
#include "qom/object.h"

#define TYPE_VMBUS_BRIDGE "vmbus-bridge"
OBJECT_DECLARE_SIMPLE_TYPE(VMBusBridge, VMBUS_BRIDGE)

struct VMBusBridge {
    SysBusDevice parent_obj;

    /* Interrupt line named in the ACPI node's _CRS. */
    uint8_t irq;
    /* How many host->guest control messages may wait for the guest. */
    uint32_t max_queued_msgs;
    /* How many devices (channel offers) the bus takes. */
    uint32_t max_offers;
    /* How many GPADLs the guest may create, and how much memory they span. */
    uint32_t max_gpadls;
    uint64_t max_gpadl_mem;

    VMBus *bus;
};

/* The machine's bridge, or NULL when there is none. */
VMBusBridge *vmbus_bridge_find(void);

/*
 * Appends the VMBus ACPI device to @dsdt when the machine has a bridge;
 * called by the PC machines' DSDT builder.
 */
void vmbus_bridge_build_acpi(Aml *dsdt);

#endif
