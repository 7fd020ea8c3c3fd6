/*
 * qtest: a VMBus guest driver (qemu-vmbus)
 *
 * Does what a guest kernel's VMBus driver does, over the partition helpers
 * of hv-partition.h: connects at a chosen version, requests offers,
 * unloads, and sends and receives raw channel-management messages for the
 * tests that need to misbehave.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_GUEST_H
#define QTEST_VMBUS_GUEST_H

#include "hv-partition.h"

/* Channel-management message types the driver and tests use. */
enum {
    VMBUS_GUEST_OFFERCHANNEL = 1,
    VMBUS_GUEST_RESCIND_CHANNELOFFER = 2,
    VMBUS_GUEST_REQUESTOFFERS = 3,
    VMBUS_GUEST_ALLOFFERS_DELIVERED = 4,
    VMBUS_GUEST_OPENCHANNEL = 5,
    VMBUS_GUEST_GPADL_HEADER = 8,
    VMBUS_GUEST_RELID_RELEASED = 13,
    VMBUS_GUEST_INITIATE_CONTACT = 14,
    VMBUS_GUEST_VERSION_RESPONSE = 15,
    VMBUS_GUEST_UNLOAD = 16,
    VMBUS_GUEST_UNLOAD_RESPONSE = 17,
    VMBUS_GUEST_TL_CONNECT_REQUEST = 21,
    VMBUS_GUEST_TL_CONNECT_RESULT = 23,
};

#define VMBUS_GUEST_V5_3    0x00050003

/* The interrupt page versions before 5.0 name (before 2.4 they use it). */
#define VMBUS_GUEST_INT_PAGE    0x500000ull

typedef struct VMBusGuest {
    QTestState *qts;
    int nvps;
    uint8_t sint;           /* where the host's messages arrive */
    uint32_t version;       /* 0 while not connected */
    uint32_t conn_id;       /* where the guest posts */
    uint64_t int_page;      /* named in contact before 5.0 */
} VMBusGuest;

/* Enables hypercalls and SINT @sint (vector 0x50) on @nvps VPs. */
void vmbus_guest_init(VMBusGuest *g, QTestState *qts, int nvps, uint8_t sint);

/*
 * INITIATE_CONTACT at @version, naming @vp and the guest's SINT, posted on
 * connection @conn (0: the version's own). Returns the hypercall status;
 * *@accepted (if given) tells what VERSION_RESPONSE said.
 */
uint16_t vmbus_guest_contact(VMBusGuest *g, uint32_t version, uint32_t conn,
                             uint32_t vp, bool *accepted);

/* Connects at @version, naming VP 0; asserts it is accepted. */
void vmbus_guest_connect(VMBusGuest *g, uint32_t version);

/* Posts a message of @size bytes: @msgtype, then @body from byte 8. */
uint16_t vmbus_guest_post(VMBusGuest *g, uint32_t vp, uint32_t conn,
                          uint32_t msgtype, const void *body, uint32_t size);

/* Takes the next host message on @vp; asserts its type is @msgtype. */
HvpMessage vmbus_guest_recv(VMBusGuest *g, uint32_t vp, uint32_t msgtype);

/*
 * REQUESTOFFERS; collects up to @max offers (raw OFFERCHANNEL messages)
 * until ALLOFFERS_DELIVERED; returns how many came.
 */
int vmbus_guest_request_offers(VMBusGuest *g, HvpMessage *offers, int max);

/* UNLOAD, and waits for UNLOAD_RESPONSE. */
void vmbus_guest_unload(VMBusGuest *g);

#endif
