/*
 * qemu-vmbus: ACPI hook when the VMBus host is not built in
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/vmbus/vmbus-bridge.h"

void vmbus_bridge_build_acpi(Aml *dsdt)
{
}
