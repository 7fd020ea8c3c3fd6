/*
 * qemu-vmbus: the channel manager's own state (not for device code)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_INTERNAL_H
#define HW_VMBUS_VMBUS_INTERNAL_H

#include "hw/hyperv/hyperv.h"
#include "hw/vmbus/vmbus.h"
#include "hw/vmbus/vmbus-proto.h"
#include "qapi/qapi-types-vmbus.h"

/* Room for host->guest control messages waiting for the guest's slot. */
#define VMBUS_MSG_QUEUE_SIZE    256
#define VMBUS_MSG_MAX_SIZE      240

typedef struct VMBusOutMsg {
    uint32_t size;
    uint8_t data[VMBUS_MSG_MAX_SIZE];
} VMBusOutMsg;

/* The context of one SINT route's message callback. */
typedef struct VMBusRouteCtx VMBusRouteCtx;

struct VMBus {
    BusState parent_obj;

    /* Properties */
    uint32_t max_queued_msgs;
    uint32_t max_offers;

    /* Connection, as negotiated by INITIATE_CONTACT */
    uint32_t state;             /* VMBusState (qapi/vmbus.json) */
    uint32_t version;
    uint32_t target_vp;
    uint32_t msg_sint;
    uint32_t msg_conn_id;       /* where the guest posts after contact */

    /* Offers: the guest asked; ALLOFFERS_DELIVERED still to send. */
    bool offers_requested;
    bool alloffers_pending;

    /* Host->guest control messages, oldest first */
    uint32_t out_head;
    uint32_t out_count;
    VMBusOutMsg out[VMBUS_MSG_QUEUE_SIZE];

    /* Not migrated: rebuilt from the above */
    HvSintRoute *route;
    VMBusRouteCtx *route_ctx;
    bool posting;               /* the head is staged in hw/hyperv */
    /* Dropped routes whose staged message has not called back yet. */
    uint32_t dead_routes;
};

extern const VMStateDescription vmstate_vmbus;

/* Registers the guest message handlers (connection ids 1 and 4). */
bool vmbus_conn_init(VMBus *vmbus, Error **errp);
/* Machine reset: no connection, no queued messages. */
void vmbus_conn_reset(VMBus *vmbus);

/* A device was plugged: offer it if the guest is listening. */
void vmbus_conn_device_plugged(VMBus *vmbus);

/*
 * device_del: rescinds the offer if the guest has it, and unplugs the
 * device once the guest released the channel id; at once otherwise.
 */
void vmbus_conn_unplug_request(VMBus *vmbus, VMBusDevice *vdev);

#endif
