/*
 * qemu-vmbus: query-vmbus and info vmbus
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
#include "vmbus-internal.h"

VMBusInfo *qmp_query_vmbus(Error **errp)
{
    VMBusBridge *bridge = vmbus_bridge_find();
    VMBus *vmbus;
    VMBusInfo *info;
    BusChild *kid;

    if (!bridge || !bridge->bus) {
        error_setg(errp, "the machine has no %s", TYPE_VMBUS_BRIDGE);
        return NULL;
    }
    vmbus = bridge->bus;
    info = g_new0(VMBusInfo, 1);
    info->state = vmbus->state;
    info->version = vmbus->version;
    info->target_vp = vmbus->target_vp;
    info->message_sint = vmbus->msg_sint;
    info->message_connection_id = vmbus->msg_conn_id;
    info->queued_messages = vmbus->out_count;
    info->max_queued_messages = vmbus->max_queued_msgs;
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);

        for (int i = 0; i < vdev->nchans; i++) {
            info->channels += vdev->chans[i].offered;
            info->open_channels += vdev->chans[i].open;
        }
    }
    info->gpadls = vmbus->ngpadls;
    info->gpadl_memory = vmbus->gpadl_mem;
    return info;
}

void hmp_info_vmbus(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    g_autoptr(VMBusInfo) info = qmp_query_vmbus(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    monitor_printf(mon, "VMBus: %s", VMBusState_str(info->state));
    if (info->version) {
        monitor_printf(mon, ", version %u.%u", info->version >> 16,
                       info->version & 0xffff);
    }
    monitor_printf(mon, "\n  control messages: to VP %u SINT %u, from "
                   "connection %u\n  queued: %u of %u\n", info->target_vp,
                   info->message_sint, info->message_connection_id,
                   info->queued_messages, info->max_queued_messages);
    monitor_printf(mon, "  channels: %u offered, %u open\n  GPADLs: %u, "
                   "%" PRIu64 " bytes\n", info->channels,
                   info->open_channels, info->gpadls, info->gpadl_memory);
}
