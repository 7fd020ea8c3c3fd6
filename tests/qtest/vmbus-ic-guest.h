/*
 * qtest: the guest side of VMBus integration services (qemu-vmbus)
 *
 * What Linux's hv_utils does with an integration-service channel: open it,
 * answer the host's NEGOTIATE with a chosen framework and service version,
 * take the host's requests and answer them in the same buffer.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_IC_GUEST_H
#define QTEST_VMBUS_IC_GUEST_H

#include "vmbus-channel.h"

#define IC_HDR          28      /* pipe header + IC header */
#define IC_NEGOTIATE    0
#define IC_HEARTBEAT    1
#define IC_KVP          2
#define IC_SHUTDOWN     3
#define IC_TIMESYNC     4
#define IC_S_OK         0
#define IC_E_FAIL       0x80004005

typedef struct ICGuest {
    QTestState *qts;
    VMBusGuest g;
    VMBusGuestChannel ch;
} ICGuest;

/*
 * Boots a one-VP q35 machine with a vmbus-bridge and @devices (one VMBus
 * device), connects at 5.3 and opens the device's channel.
 */
void ic_guest_start(ICGuest *f, const char *devices);

/* Opens the channel again, on a new ring GPADL. */
void ic_guest_reopen(ICGuest *f);

/* Takes the host's next request, checked to be of @type. */
void ic_guest_take(ICGuest *f, VMBusGuestPacket *pkt, uint16_t type);

/* Answers @pkt with @status, as hv_utils does (same buffer, flags). */
void ic_guest_answer(ICGuest *f, VMBusGuestPacket *pkt, uint32_t status);

/*
 * Takes NEGOTIATE, checks that the host offers frameworks 3.0 and 1.0 and
 * the @n service versions @offered (VMBus IC versions, major << 16 |
 * minor), and answers choosing @fw and @ver (0 and 0: nothing in common).
 */
void ic_guest_negotiate(ICGuest *f, const uint32_t *offered, int n,
                        uint32_t fw, uint32_t ver);

#endif
