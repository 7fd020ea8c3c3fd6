/*
 * qtest: the guest's side of vmbus-testdev's protocol (qemu-vmbus)
 *
 * vmbus-testdev (hw/vmbus/vmbus-testdev.c) answers a small protocol over
 * the whole VMBus device API; these helpers boot a machine with one,
 * connect, open its channel and send it requests.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_TESTDEV_GUEST_H
#define QTEST_VMBUS_TESTDEV_GUEST_H

#include "vmbus-channel.h"

#define TD_CPU "qemu64,hv-vpindex=on,hv-synic=on"
#define TD_SINT 2
#define TD_PAGE 4096u
#define TD_STATUS_UNSUCCESSFUL 0xc0000001

/* vmbus-testdev's requests */
enum {
    TD_ECHO = 1, TD_FILL = 2, TD_HOLD = 3, TD_READ = 4, TD_RELEASE = 5,
    TD_SUM = 6, TD_WRITE = 7, TD_SUBCHANNELS = 8, TD_XFER = 9,
};

typedef struct TDGuest {
    QTestState *qts;
    VMBusGuest g;
    VMBusGuestChannel ch;
} TDGuest;

/*
 * Boots with a vmbus-bridge (+ @extra properties) and one vmbus-testdev
 * (id "td"), connects at 5.3 and takes its offer.
 */
void td_setup(TDGuest *f, const char *extra);
/* ... and opens its channel (4 + 4 ring pages at VMBUS_GUEST_MEM). */
void td_setup_open(TDGuest *f, const char *extra);
/* A request with completion on @ch; returns the completion (g_free it). */
VMBusGuestPacket *td_request_on(TDGuest *f, VMBusGuestChannel *ch,
                                uint16_t type, const void *ext,
                                uint32_t ext_len, uint32_t cmd, uint32_t a0,
                                uint32_t a1);
VMBusGuestPacket *td_request(TDGuest *f, uint16_t type, const void *ext,
                             uint32_t ext_len, uint32_t cmd, uint32_t a0,
                             uint32_t a1);
/* An in-band request; returns the reply's status word (and its sum). */
uint32_t td_inband(TDGuest *f, uint32_t cmd, uint32_t a0, uint32_t a1,
                   uint32_t *sum);
/* @ch answers an ECHO: the device is alive and usable there. */
void td_assert_echo_on(TDGuest *f, VMBusGuestChannel *ch);
void td_assert_echo(TDGuest *f);

#endif
