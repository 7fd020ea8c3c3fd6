/*
 * qtest: the guest's side of vmbus-testdev's protocol (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "vmbus-testdev-guest.h"


/* Boots, connects at 5.3 and takes the one testdev's offer. */
void td_setup(TDGuest *f, const char *extra)
{
    HvpMessage offer;

    f->qts = qtest_initf("-M q35 -m 64 -smp 2 -cpu " TD_CPU
                         " -device vmbus-bridge%s -device vmbus-testdev,id=td",
                         extra);
    vmbus_guest_init(&f->g, f->qts, 2, TD_SINT);
    vmbus_guest_connect(&f->g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f->g, &offer, 1), ==, 1);
    f->ch = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer.payload + 184),
        .connid = ldl_le_p(offer.payload + 192),
        .gpadl = 0xe1e10,
        .ring_gpa = VMBUS_GUEST_MEM,
        .send_pages = 4,
        .recv_pages = 4,
    };
}

void td_setup_open(TDGuest *f, const char *extra)
{
    td_setup(f, extra);
    g_assert_cmpuint(vmbus_guest_open(&f->g, &f->ch, 0), ==, 0);
}

/* A request with completion on @ch; returns the completion's body. */
VMBusGuestPacket *td_request_on(TDGuest *f, VMBusGuestChannel *ch,
                                    uint16_t type, const void *ext,
                                    uint32_t ext_len, uint32_t cmd,
                                    uint32_t a0, uint32_t a1)
{
    static uint64_t trans_id = 100;
    VMBusGuestPacket *pkt = g_new0(VMBusGuestPacket, 1);
    uint8_t body[12];

    stl_le_p(body, cmd);
    stl_le_p(body + 4, a0);
    stl_le_p(body + 8, a1);
    trans_id++;
    g_assert_true(vmbus_guest_send(&f->g, ch, type,
                                   VMBUS_GUEST_PKT_WANT_COMP, trans_id,
                                   ext, ext_len, body, sizeof(body)));
    g_assert_true(vmbus_guest_recv_pkt(&f->g, ch, pkt));
    g_assert_cmpuint(pkt->type, ==, VMBUS_GUEST_PKT_COMP);
    g_assert_cmpuint(pkt->trans_id, ==, trans_id);
    return pkt;
}

VMBusGuestPacket *td_request(TDGuest *f, uint16_t type, const void *ext,
                                 uint32_t ext_len, uint32_t cmd,
                                 uint32_t a0, uint32_t a1)
{
    return td_request_on(f, &f->ch, type, ext, ext_len, cmd, a0, a1);
}

/* An in-band request; returns the reply's status word. */
uint32_t td_inband(TDGuest *f, uint32_t cmd, uint32_t a0, uint32_t a1,
                       uint32_t *sum)
{
    g_autofree VMBusGuestPacket *pkt =
        td_request(f, VMBUS_GUEST_PKT_INBAND, NULL, 0, cmd, a0, a1);

    g_assert_cmpuint(ldl_le_p(pkt->data), ==, cmd);
    if (sum) {
        *sum = ldl_le_p(pkt->data + 12);
    }
    return ldl_le_p(pkt->data + 4);
}

/* @ch answers an ECHO: the device is alive and usable there. */
void td_assert_echo_on(TDGuest *f, VMBusGuestChannel *ch)
{
    g_autofree VMBusGuestPacket *pkt =
        td_request_on(f, ch, VMBUS_GUEST_PKT_INBAND, NULL, 0, TD_ECHO, 0xabcd,
                   7);

    g_assert_cmpuint(pkt->len, ==, 16);
    g_assert_cmpuint(ldl_le_p(pkt->data + 4), ==, 0xabcd);
}

void td_assert_echo(TDGuest *f)
{
    td_assert_echo_on(f, &f->ch);
}

