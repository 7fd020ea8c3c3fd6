/*
 * qtest: the guest side of VMBus integration services (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "vmbus-ic-guest.h"

#define HV_CPU "qemu64,hv-vpindex=on,hv-synic=on,hv-time=on"
#define SINT 2

void ic_guest_start(ICGuest *f, const char *devices)
{
    HvpMessage offer;

    f->qts = qtest_initf("-M q35 -m 64 -smp 1 -cpu " HV_CPU
                         " -device vmbus-bridge %s", devices);
    vmbus_guest_init(&f->g, f->qts, 1, SINT);
    vmbus_guest_connect(&f->g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f->g, &offer, 1), ==, 1);
    f->ch = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer.payload + 184),
        .connid = ldl_le_p(offer.payload + 192),
        .gpadl = 0xe1e10, .ring_gpa = VMBUS_GUEST_MEM,
        .send_pages = 4, .recv_pages = 4,
    };
    g_assert_cmpuint(vmbus_guest_open(&f->g, &f->ch, 0), ==, 0);
}

void ic_guest_reopen(ICGuest *f)
{
    f->ch.gpadl++;
    g_assert_cmpuint(vmbus_guest_open(&f->g, &f->ch, 0), ==, 0);
}

void ic_guest_take(ICGuest *f, VMBusGuestPacket *pkt, uint16_t type)
{
    g_assert_true(vmbus_guest_recv_pkt(&f->g, &f->ch, pkt));
    g_assert_cmpuint(pkt->type, ==, VMBUS_GUEST_PKT_INBAND);
    g_assert_cmpuint(pkt->len, >=, IC_HDR);
    g_assert_cmpuint(lduw_le_p(pkt->data + 12), ==, type);
    g_assert_cmpuint(pkt->data[25], ==, 3);     /* transaction, request */
}

void ic_guest_answer(ICGuest *f, VMBusGuestPacket *pkt, uint32_t status)
{
    stl_le_p(pkt->data + 20, status);
    pkt->data[25] = 1 | 4;                      /* transaction, response */
    g_assert_true(vmbus_guest_send(&f->g, &f->ch, VMBUS_GUEST_PKT_INBAND, 0,
                                   pkt->trans_id, NULL, 0, pkt->data,
                                   pkt->len));
}

void ic_guest_negotiate(ICGuest *f, const uint32_t *offered, int n,
                        uint32_t fw, uint32_t ver)
{
    VMBusGuestPacket pkt;
    uint8_t *neg;

    ic_guest_take(f, &pkt, IC_NEGOTIATE);
    neg = pkt.data + IC_HDR;
    g_assert_cmpuint(lduw_le_p(neg), ==, 2);
    g_assert_cmpuint(lduw_le_p(neg + 2), ==, n);
    g_assert_cmpuint(ldl_le_p(neg + 8), ==, 3);
    g_assert_cmpuint(ldl_le_p(neg + 12), ==, 1);
    for (int i = 0; i < n; i++) {
        g_assert_cmpuint(lduw_le_p(neg + 16 + 4 * i), ==, offered[i] >> 16);
        g_assert_cmpuint(lduw_le_p(neg + 18 + 4 * i), ==,
                         offered[i] & 0xffff);
    }
    /* As vmbus_prep_negotiate_resp(): counts 1 and 1, then the choice. */
    stw_le_p(neg, fw ? 1 : 0);
    stw_le_p(neg + 2, fw ? 1 : 0);
    stw_le_p(neg + 8, fw >> 16);
    stw_le_p(neg + 10, fw);
    stw_le_p(neg + 12, ver >> 16);
    stw_le_p(neg + 14, ver);
    stw_le_p(pkt.data + 18, 16);
    ic_guest_answer(f, &pkt, IC_S_OK);
}
