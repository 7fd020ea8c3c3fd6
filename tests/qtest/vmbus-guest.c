/*
 * qtest: a VMBus guest driver (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "vmbus-guest.h"

/* Host messages go to VP 0 before 2.4, else to the VP the guest named. */
static uint32_t answer_vp(uint32_t version, uint32_t vp)
{
    return version < 0x00020004 ? 0 : vp;
}

void vmbus_guest_init(VMBusGuest *g, QTestState *qts, int nvps, uint8_t sint)
{
    memset(g, 0, sizeof(*g));
    g->qts = qts;
    g->nvps = nvps;
    g->sint = sint;
    g->int_page = VMBUS_GUEST_INT_PAGE;
    hvp_enable_hypercalls(qts);
    for (int vp = 0; vp < nvps; vp++) {
        hvp_enable_synic(qts, vp, sint, 0x50);
    }
}

uint16_t vmbus_guest_post(VMBusGuest *g, uint32_t vp, uint32_t conn,
                          uint32_t msgtype, const void *body, uint32_t size)
{
    uint8_t buf[240] = { 0 };

    g_assert_cmpuint(size, <=, sizeof(buf));
    stl_le_p(buf, msgtype);
    if (body && size > 8) {
        memcpy(buf + 8, body, size - 8);
    }
    return hvp_post_message(g->qts, vp, conn, 1, buf, size);
}

HvpMessage vmbus_guest_recv(VMBusGuest *g, uint32_t vp, uint32_t msgtype)
{
    HvpMessage m;

    g_assert_true(hvp_wait_message(g->qts, vp, g->sint, &m));
    g_assert_cmpuint(m.type, ==, 1);
    g_assert_cmpuint(ldl_le_p(m.payload), ==, msgtype);
    hvp_consume_message(g->qts, vp, g->sint);
    return m;
}

uint16_t vmbus_guest_contact(VMBusGuest *g, uint32_t version, uint32_t conn,
                             uint32_t vp, bool *accepted)
{
    uint8_t body[32] = { 0 };
    bool v5 = version >= 0x00050000;
    uint16_t status;
    HvpMessage m;

    stl_le_p(body, version);
    stl_le_p(body + 4, vp);
    if (v5) {
        body[8] = g->sint;
    } else {
        stq_le_p(body + 8, g->int_page);
    }
    if (!conn) {
        conn = v5 ? 4 : 1;
    }
    status = vmbus_guest_post(g, 0, conn, VMBUS_GUEST_INITIATE_CONTACT,
                              body, 40);
    g->version = 0;
    if (status) {
        return status;
    }
    m = vmbus_guest_recv(g, answer_vp(version, vp),
                         VMBUS_GUEST_VERSION_RESPONSE);
    if (m.payload[8]) {
        g->version = version;
        g->conn_id = v5 ? ldl_le_p(m.payload + 12) : 1;
    }
    if (accepted) {
        *accepted = m.payload[8];
    }
    return status;
}

void vmbus_guest_connect(VMBusGuest *g, uint32_t version)
{
    bool accepted;
    uint16_t status;

    /*
     * As Linux's vmbus_post_msg(): INSUFFICIENT_BUFFERS says "again later"
     * (the host still waits for answers of an earlier connection to be
     * taken or dropped).
     */
    for (int i = 0; i < 100; i++) {
        status = vmbus_guest_contact(g, version, 0, 0, &accepted);
        if (status != HVP_STATUS_INSUFFICIENT_BUFFERS) {
            break;
        }
        hvp_idle(10 * 1000);
    }
    g_assert_cmpuint(status, ==, 0);
    g_assert_true(accepted);
}

int vmbus_guest_request_offers(VMBusGuest *g, HvpMessage *offers, int max)
{
    uint32_t vp = answer_vp(g->version, 0);
    int n = 0;

    g_assert_cmpuint(vmbus_guest_post(g, 0, g->conn_id,
                                      VMBUS_GUEST_REQUESTOFFERS, NULL, 8),
                     ==, 0);
    for (;;) {
        HvpMessage m;

        g_assert_true(hvp_wait_message(g->qts, vp, g->sint, &m));
        hvp_consume_message(g->qts, vp, g->sint);
        if (ldl_le_p(m.payload) == VMBUS_GUEST_ALLOFFERS_DELIVERED) {
            return n;
        }
        g_assert_cmpuint(ldl_le_p(m.payload), ==, VMBUS_GUEST_OFFERCHANNEL);
        g_assert_cmpint(n, <, max);
        offers[n++] = m;
    }
}

void vmbus_guest_unload(VMBusGuest *g)
{
    g_assert_cmpuint(vmbus_guest_post(g, 0, g->conn_id, VMBUS_GUEST_UNLOAD,
                                      NULL, 8), ==, 0);
    vmbus_guest_recv(g, answer_vp(g->version, 0), VMBUS_GUEST_UNLOAD_RESPONSE);
    g->version = 0;
}
