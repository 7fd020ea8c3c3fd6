/*
 * qtest: a VMBus guest's channels: GPADLs, open and close, rings
 * (qemu-vmbus)
 *
 * What a guest kernel's channel code does, over vmbus-guest.h: describes
 * guest pages in GPADL_HEADER and GPADL_BODY messages as Linux splits
 * them, opens a channel on a ring GPADL, and reads and writes the rings by
 * the ring protocol (indices, interrupt mask, pending send size, signals).
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_CHANNEL_H
#define QTEST_VMBUS_CHANNEL_H

#include "vmbus-guest.h"

enum {
    VMBUS_GUEST_OPENCHANNEL_RESULT = 6,
    VMBUS_GUEST_CLOSECHANNEL = 7,
    VMBUS_GUEST_GPADL_BODY = 9,
    VMBUS_GUEST_GPADL_CREATED = 10,
    VMBUS_GUEST_GPADL_TEARDOWN = 11,
    VMBUS_GUEST_GPADL_TORNDOWN = 12,
    VMBUS_GUEST_MODIFYCHANNEL = 22,
    VMBUS_GUEST_MODIFYCHANNEL_RESPONSE = 24,
};

/* Packet types and flags. */
#define VMBUS_GUEST_PKT_INBAND      0x6
#define VMBUS_GUEST_PKT_GPA_DIRECT  0x9
#define VMBUS_GUEST_PKT_COMP        0xb
#define VMBUS_GUEST_PKT_WANT_COMP   1

/* Ring control page fields. */
#define VMBUS_GUEST_RING_WRITE      0x00
#define VMBUS_GUEST_RING_READ       0x04
#define VMBUS_GUEST_RING_MASK       0x08
#define VMBUS_GUEST_RING_PENDING    0x0c
#define VMBUS_GUEST_RING_FEATURES   0x40

/* Where tests put guest memory for channels (the machine has 64 MiB). */
#define VMBUS_GUEST_MEM         0x800000ull

typedef struct VMBusGuestChannel {
    uint32_t relid;
    uint32_t connid;
    uint32_t gpadl;
    uint64_t ring_gpa;
    uint32_t send_pages;    /* guest->host ring, control page included */
    uint32_t recv_pages;    /* host->guest ring, control page included */
} VMBusGuestChannel;

typedef struct VMBusGuestPacket {
    uint16_t type;
    uint16_t flags;
    uint64_t trans_id;
    uint32_t len;           /* of data */
    uint8_t data[8192];
    uint32_t ext_len;       /* between the descriptor and the data */
    uint8_t ext[512];
} VMBusGuestPacket;

/*
 * Describes @npages contiguous pages at @gpa as GPADL @id of channel
 * @relid, in a header and as many bodies as Linux would send. Returns the
 * first failing hypercall status, else 0 and *@status from GPADL_CREATED.
 */
uint16_t vmbus_guest_gpadl(VMBusGuest *g, uint32_t relid, uint32_t id,
                           uint64_t gpa, uint32_t npages, uint32_t *status);

/* GPADL_TEARDOWN; returns the hypercall status. */
uint16_t vmbus_guest_gpadl_teardown(VMBusGuest *g, uint32_t relid,
                                    uint32_t id);

/*
 * Sets up both rings at @ch->ring_gpa, their GPADL, and OPENCHANNEL with
 * events to @vp. Returns OPENCHANNEL_RESULT's status (0: open).
 */
uint32_t vmbus_guest_open(VMBusGuest *g, VMBusGuestChannel *ch, uint32_t vp);

/* CLOSECHANNEL, then the ring GPADL's teardown and its TORNDOWN. */
void vmbus_guest_close(VMBusGuest *g, VMBusGuestChannel *ch);

/* Reads or writes a control page field of the send (host-read) ring. */
uint32_t vmbus_guest_send_ring_get(VMBusGuest *g, VMBusGuestChannel *ch,
                                   uint32_t field);
void vmbus_guest_send_ring_set(VMBusGuest *g, VMBusGuestChannel *ch,
                               uint32_t field, uint32_t val);
/* The same for the receive (host-written) ring. */
uint32_t vmbus_guest_recv_ring_get(VMBusGuest *g, VMBusGuestChannel *ch,
                                   uint32_t field);
void vmbus_guest_recv_ring_set(VMBusGuest *g, VMBusGuestChannel *ch,
                               uint32_t field, uint32_t val);

/*
 * Writes a packet into @ch's guest-to-host ring; false when the ring's
 * indices are not ones a guest would trust, or there is no room. *@signal:
 * whether the host must be signalled (it had caught up and not masked).
 */
bool vmbus_guest_ring_put(VMBusGuest *g, VMBusGuestChannel *ch,
                          uint16_t type, uint16_t flags, uint64_t trans_id,
                          const void *ext, uint32_t ext_len,
                          const void *data, uint32_t len, bool *signal);

/*
 * Writes a packet to the send ring, signalling the host as Linux does
 * (ring was empty, host not masking). False when the ring is full.
 */
bool vmbus_guest_send(VMBusGuest *g, VMBusGuestChannel *ch, uint16_t type,
                      uint16_t flags, uint64_t trans_id, const void *ext,
                      uint32_t ext_len, const void *data, uint32_t len);

/*
 * Takes the next host packet, waiting up to a few seconds; signals the
 * host when freed space crosses its pending send size. False if none.
 */
bool vmbus_guest_recv_pkt(VMBusGuest *g, VMBusGuestChannel *ch,
                          VMBusGuestPacket *pkt);

/* Whether the host raised @ch's event on @vp (clears it). */
bool vmbus_guest_event(VMBusGuest *g, VMBusGuestChannel *ch, uint32_t vp);

#endif
