/*
 * qemu-vmbus: the integration-component framework for VMBus devices
 *
 * An integration service (heartbeat, shutdown, time sync, KVP) is a VMBus
 * device whose host asks and whose guest answers. This base class opens
 * every conversation with version negotiation (framework and service
 * versions), then carries one request at a time: it sends, keeps the
 * request while the ring is full, checks the answer against it, and hands
 * the service the answer's body. Anything else the guest sends is logged
 * and dropped, and the device keeps working.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_IC_H
#define HW_VMBUS_VMBUS_IC_H

#include "hw/vmbus/vmbus.h"
#include "hw/vmbus/vmbus-ic-proto.h"

#define TYPE_VMBUS_IC "vmbus-ic"
OBJECT_DECLARE_TYPE(VMBusIC, VMBusICClass, VMBUS_IC)

/* The largest IC message, headers included (a page, as guests read). */
#define VMBUS_IC_MAX_MSG    4096

/*
 * How long a request may wait for its answer (ms of guest time): Linux
 * answers within 30 s even when its daemon does not (HV_UTIL_TIMEOUT).
 */
#define VMBUS_IC_REQUEST_TIMEOUT_MS 60000

typedef enum VMBusICState {
    VMBUS_IC_CLOSED,        /* the guest has not opened the channel */
    VMBUS_IC_NEGOTIATING,   /* waiting for the guest's versions */
    VMBUS_IC_READY,         /* versions agreed: requests may go */
    VMBUS_IC_UNSUPPORTED,   /* the guest took none of our versions */
} VMBusICState;

struct VMBusIC {
    VMBusDevice parent_obj;

    uint32_t state;             /* VMBusICState */
    uint32_t framework;         /* agreed, VMBUS_IC_VERSION() */
    uint32_t version;           /* agreed service version */
    uint64_t next_trans_id;

    /* The request in flight; none when trans_id is 0. */
    uint64_t trans_id;
    bool sent;                  /* false: waits for ring space */
    uint16_t req_type;
    uint32_t req_len;
    uint8_t req[VMBUS_IC_MAX_MSG];
    QEMUTimer *timeout;         /* the request in flight gets no answer */
};

struct VMBusICClass {
    VMBusDeviceClass parent_class;

    /* Service versions offered, best first (VMBUS_IC_VERSION()). */
    const uint32_t *versions;
    unsigned nversions;

    /* Versions agreed: the service may send its first request. */
    void (*ready)(VMBusIC *ic);
    /*
     * The guest answered the request of @msgtype in flight, with @status
     * and the @len bytes of @body (a copy, valid during the call).
     */
    void (*answered)(VMBusIC *ic, uint16_t msgtype, uint32_t status,
                     const uint8_t *body, uint32_t len);
    /*
     * The request of @msgtype in flight got no answer in time, or could
     * not be sent (the guest broke the channel); the next may go.
     */
    void (*failed)(VMBusIC *ic, uint16_t msgtype);
    /* The channel closed: forget what was in flight. */
    void (*closed)(VMBusIC *ic);
};

/*
 * Sends a request of @msgtype with @len bytes of @body; false if versions
 * are not agreed yet, a request is in flight, or it is too large.
 */
bool vmbus_ic_request(VMBusIC *ic, uint16_t msgtype, const void *body,
                      uint32_t len);

/* Whether a request waits for its answer. */
static inline bool vmbus_ic_busy(VMBusIC *ic)
{
    return ic->trans_id != 0;
}

/*
 * UTF-8 @s into @buf of @size bytes as NUL-terminated UTF-16LE, as the
 * services' strings travel; its size in bytes with the NUL, or 0 (error
 * set, naming @what) when it is not UTF-8 or does not fit.
 */
uint32_t vmbus_ic_put_utf16(const char *what, const char *s, void *buf,
                            uint32_t size, Error **errp);

/*
 * For QMP commands: the device of @type with id @id, or the only one of
 * @type when @id is NULL; an error naming what is wrong otherwise.
 */
VMBusIC *vmbus_ic_find(const char *type, const char *id, Error **errp);

extern const VMStateDescription vmstate_vmbus_ic;
#define VMSTATE_VMBUS_IC(_field, _state) \
    VMSTATE_STRUCT(_field, _state, 1, vmstate_vmbus_ic, VMBusIC)

#endif
