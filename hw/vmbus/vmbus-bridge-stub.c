/*
 * qemu-vmbus: ACPI and monitor hooks when the VMBus host is not built in
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "hw/vmbus/vmbus-bridge.h"

void vmbus_bridge_build_acpi(Aml *dsdt)
{
}

VMBusInfo *qmp_query_vmbus(Error **errp)
{
    error_setg(errp, "this QEMU has no VMBus host");
    return NULL;
}

void hmp_info_vmbus(Monitor *mon, const QDict *qdict)
{
    monitor_printf(mon, "this QEMU has no VMBus host\n");
}

VMBusHeartbeatInfoList *qmp_query_vmbus_heartbeat(Error **errp)
{
    return NULL;
}

void qmp_vmbus_shutdown_guest(const char *id, bool has_reboot, bool reboot,
                              bool has_force, bool force, bool has_reason,
                              uint32_t reason, bool has_timeout,
                              uint32_t timeout, const char *message,
                              Error **errp)
{
    error_setg(errp, "this QEMU has no VMBus host");
}

VMBusKvpRequest *qmp_vmbus_kvp(const char *id, VMBusKvpOperation operation,
                               VMBusKvpPool pool, const char *key,
                               const char *value, Error **errp)
{
    error_setg(errp, "this QEMU has no VMBus host");
    return NULL;
}
