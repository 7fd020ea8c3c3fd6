/*
 * qtest: a VMBus guest's channels (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "vmbus-channel.h"

#define PAGE            4096u
#define HEADER_PFNS     26      /* (240 - 28) / 8, as Linux fills them */
#define BODY_PFNS       28      /* (240 - 16) / 8 */

/* Host messages go to the VP named at contact: VP 0 here. */
#define MSG_VP          0

uint16_t vmbus_guest_gpadl(VMBusGuest *g, uint32_t relid, uint32_t id,
                           uint64_t gpa, uint32_t npages, uint32_t *status)
{
    uint8_t msg[232] = { 0 };
    uint32_t sent, n;
    uint16_t r;
    HvpMessage m;

    /* Header: one range of whole pages, then its first page numbers. */
    n = MIN(npages, HEADER_PFNS);
    stl_le_p(msg, relid);
    stl_le_p(msg + 4, id);
    stw_le_p(msg + 8, 8 + 8 * npages);
    stw_le_p(msg + 10, 1);
    stl_le_p(msg + 12, npages * PAGE);
    stl_le_p(msg + 16, 0);
    for (uint32_t i = 0; i < n; i++) {
        stq_le_p(msg + 20 + 8 * i, gpa / PAGE + i);
    }
    r = vmbus_guest_post(g, 0, g->conn_id, VMBUS_GUEST_GPADL_HEADER, msg,
                         28 + 8 * n);
    for (sent = n; !r && sent < npages; sent += n) {
        n = MIN(npages - sent, BODY_PFNS);
        memset(msg, 0, sizeof(msg));
        stl_le_p(msg + 4, id);
        for (uint32_t i = 0; i < n; i++) {
            stq_le_p(msg + 8 + 8 * i, gpa / PAGE + sent + i);
        }
        r = vmbus_guest_post(g, 0, g->conn_id, VMBUS_GUEST_GPADL_BODY, msg,
                             16 + 8 * n);
    }
    if (r) {
        return r;
    }
    m = vmbus_guest_recv(g, MSG_VP, VMBUS_GUEST_GPADL_CREATED);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, relid);
    g_assert_cmpuint(ldl_le_p(m.payload + 12), ==, id);
    *status = ldl_le_p(m.payload + 16);
    return 0;
}

uint16_t vmbus_guest_gpadl_teardown(VMBusGuest *g, uint32_t relid,
                                    uint32_t id)
{
    uint8_t body[8];

    stl_le_p(body, relid);
    stl_le_p(body + 4, id);
    return vmbus_guest_post(g, 0, g->conn_id, VMBUS_GUEST_GPADL_TEARDOWN,
                            body, 16);
}

static void ring_init(QTestState *qts, uint64_t ctrl)
{
    qtest_memset(qts, ctrl, 0, PAGE);
    qtest_writel(qts, ctrl + VMBUS_GUEST_RING_FEATURES, 1);
}

uint32_t vmbus_guest_open(VMBusGuest *g, VMBusGuestChannel *ch, uint32_t vp)
{
    uint8_t body[140] = { 0 };
    uint32_t status;
    HvpMessage m;

    ring_init(g->qts, ch->ring_gpa);
    ring_init(g->qts, ch->ring_gpa + ch->send_pages * PAGE);
    g_assert_cmpuint(vmbus_guest_gpadl(g, ch->relid, ch->gpadl, ch->ring_gpa,
                                       ch->send_pages + ch->recv_pages,
                                       &status), ==, 0);
    g_assert_cmpuint(status, ==, 0);

    stl_le_p(body, ch->relid);
    stl_le_p(body + 4, ch->relid);
    stl_le_p(body + 8, ch->gpadl);
    stl_le_p(body + 12, vp);
    stl_le_p(body + 16, ch->send_pages);
    g_assert_cmpuint(vmbus_guest_post(g, 0, g->conn_id,
                                      VMBUS_GUEST_OPENCHANNEL, body, 148),
                     ==, 0);
    m = vmbus_guest_recv(g, MSG_VP, VMBUS_GUEST_OPENCHANNEL_RESULT);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, ch->relid);
    g_assert_cmpuint(ldl_le_p(m.payload + 12), ==, ch->relid);
    return ldl_le_p(m.payload + 16);
}

void vmbus_guest_close(VMBusGuest *g, VMBusGuestChannel *ch)
{
    uint8_t body[4];
    HvpMessage m;

    stl_le_p(body, ch->relid);
    g_assert_cmpuint(vmbus_guest_post(g, 0, g->conn_id,
                                      VMBUS_GUEST_CLOSECHANNEL, body, 12),
                     ==, 0);
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(g, ch->relid, ch->gpadl),
                     ==, 0);
    m = vmbus_guest_recv(g, MSG_VP, VMBUS_GUEST_GPADL_TORNDOWN);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, ch->gpadl);
}

static uint64_t send_ctrl(VMBusGuestChannel *ch)
{
    return ch->ring_gpa;
}

static uint64_t recv_ctrl(VMBusGuestChannel *ch)
{
    return ch->ring_gpa + ch->send_pages * PAGE;
}

uint32_t vmbus_guest_send_ring_get(VMBusGuest *g, VMBusGuestChannel *ch,
                                   uint32_t field)
{
    return qtest_readl(g->qts, send_ctrl(ch) + field);
}

void vmbus_guest_send_ring_set(VMBusGuest *g, VMBusGuestChannel *ch,
                               uint32_t field, uint32_t val)
{
    qtest_writel(g->qts, send_ctrl(ch) + field, val);
}

uint32_t vmbus_guest_recv_ring_get(VMBusGuest *g, VMBusGuestChannel *ch,
                                   uint32_t field)
{
    return qtest_readl(g->qts, recv_ctrl(ch) + field);
}

void vmbus_guest_recv_ring_set(VMBusGuest *g, VMBusGuestChannel *ch,
                               uint32_t field, uint32_t val)
{
    qtest_writel(g->qts, recv_ctrl(ch) + field, val);
}

/* Copies into or out of a ring's data area, wrapping at its end. */
static void ring_rw(QTestState *qts, uint64_t ctrl, uint32_t datasize,
                    uint32_t pos, void *buf, uint32_t len, bool write)
{
    uint32_t first = MIN(len, datasize - pos);
    uint8_t *p = buf;

    if (write) {
        qtest_memwrite(qts, ctrl + PAGE + pos, p, first);
        qtest_memwrite(qts, ctrl + PAGE, p + first, len - first);
    } else {
        qtest_memread(qts, ctrl + PAGE + pos, p, first);
        qtest_memread(qts, ctrl + PAGE, p + first, len - first);
    }
}

/*
 * HvSignalEvent for @ch; before 2.4 on connection 2, with the channel's
 * bit set in the second half of the interrupt page, as WS2008 guests do.
 */
static void signal_host(VMBusGuest *g, VMBusGuestChannel *ch)
{
    uint64_t word = g->int_page + PAGE / 2 + ch->relid / 32 * 4;

    if (g->version >= 0x00020004) {
        g_assert_cmpuint(hvp_signal_event(g->qts, 0, ch->connid, 0), ==, 0);
        return;
    }
    qtest_writel(g->qts, word,
                 qtest_readl(g->qts, word) | 1u << (ch->relid % 32));
    g_assert_cmpuint(hvp_signal_event(g->qts, 0, 2, 0), ==, 0);
}

static uint32_t ring_free(uint32_t datasize, uint32_t write, uint32_t read)
{
    return write >= read ? datasize - (write - read) : read - write;
}

bool vmbus_guest_ring_put(VMBusGuest *g, VMBusGuestChannel *ch,
                          uint16_t type, uint16_t flags, uint64_t trans_id,
                          const void *ext, uint32_t ext_len,
                          const void *data, uint32_t len, bool *signal)
{
    uint32_t datasize = (ch->send_pages - 1) * PAGE;
    uint32_t hdr = 16 + ROUND_UP(ext_len, 8);
    uint32_t pktlen = ROUND_UP(hdr + len, 8);
    uint32_t write = vmbus_guest_send_ring_get(g, ch, VMBUS_GUEST_RING_WRITE);
    uint32_t read = vmbus_guest_send_ring_get(g, ch, VMBUS_GUEST_RING_READ);
    g_autofree uint8_t *pkt = NULL;

    /* Indices as a guest trusts them: in the ring, quadword aligned. */
    if (write >= datasize || read >= datasize || (write | read) & 7 ||
        pktlen > 0xffff * 8 || ring_free(datasize, write, read) <= pktlen + 8) {
        return false;
    }
    pkt = g_malloc0(pktlen + 8);
    stw_le_p(pkt, type);
    stw_le_p(pkt + 2, hdr / 8);
    stw_le_p(pkt + 4, pktlen / 8);
    stw_le_p(pkt + 6, flags);
    stq_le_p(pkt + 8, trans_id);
    if (ext_len) {
        memcpy(pkt + 16, ext, ext_len);
    }
    if (len) {
        memcpy(pkt + hdr, data, len);
    }
    stq_le_p(pkt + pktlen, (uint64_t)write << 32);
    ring_rw(g->qts, send_ctrl(ch), datasize, write, pkt, pktlen + 8, true);
    vmbus_guest_send_ring_set(g, ch, VMBUS_GUEST_RING_WRITE,
                              (write + pktlen + 8) % datasize);
    /* As hv_signal_on_write(): only a host that had caught up. */
    *signal = !vmbus_guest_send_ring_get(g, ch, VMBUS_GUEST_RING_MASK) &&
              vmbus_guest_send_ring_get(g, ch, VMBUS_GUEST_RING_READ) == write;
    return true;
}

bool vmbus_guest_send(VMBusGuest *g, VMBusGuestChannel *ch, uint16_t type,
                      uint16_t flags, uint64_t trans_id, const void *ext,
                      uint32_t ext_len, const void *data, uint32_t len)
{
    bool signal;

    if (!vmbus_guest_ring_put(g, ch, type, flags, trans_id, ext, ext_len,
                              data, len, &signal)) {
        return false;
    }
    if (signal) {
        signal_host(g, ch);
    }
    return true;
}

bool vmbus_guest_recv_pkt(VMBusGuest *g, VMBusGuestChannel *ch,
                          VMBusGuestPacket *pkt)
{
    uint32_t datasize = (ch->recv_pages - 1) * PAGE;
    uint32_t read = vmbus_guest_recv_ring_get(g, ch, VMBUS_GUEST_RING_READ);
    uint32_t write = 0, len, off, next, pending;
    uint8_t desc[16];
    int i;

    /* The host writes from the main loop: give it a moment. */
    for (i = 0; i < 500; i++) {
        write = vmbus_guest_recv_ring_get(g, ch, VMBUS_GUEST_RING_WRITE);
        if (write != read) {
            break;
        }
        hvp_idle(10 * 1000);
    }
    if (write == read) {
        return false;
    }
    ring_rw(g->qts, recv_ctrl(ch), datasize, read, desc, 16, false);
    off = lduw_le_p(desc + 2) * 8;
    len = lduw_le_p(desc + 4) * 8;
    g_assert_cmpuint(off, >=, 16);
    g_assert_cmpuint(len, >=, off);
    g_assert_cmpuint(len - off, <=, sizeof(pkt->data));
    pkt->type = lduw_le_p(desc);
    pkt->flags = lduw_le_p(desc + 6);
    pkt->trans_id = ldq_le_p(desc + 8);
    pkt->len = len - off;
    ring_rw(g->qts, recv_ctrl(ch), datasize, (read + off) % datasize,
            pkt->data, pkt->len, false);
    /* Transfer-page and GPA-direct headers, for the tests that look. */
    pkt->ext_len = off - 16;
    g_assert_cmpuint(pkt->ext_len, <=, sizeof(pkt->ext));
    ring_rw(g->qts, recv_ctrl(ch), datasize, (read + 16) % datasize,
            pkt->ext, pkt->ext_len, false);

    next = (read + len + 8) % datasize;
    vmbus_guest_recv_ring_set(g, ch, VMBUS_GUEST_RING_READ, next);
    /* As hv_pkt_iter_close(): wake a host waiting for this much room. */
    pending = vmbus_guest_recv_ring_get(g, ch, VMBUS_GUEST_RING_PENDING);
    if (pending && ring_free(datasize, write, read) <= pending &&
        ring_free(datasize, write, next) > pending) {
        signal_host(g, ch);
    }
    return true;
}

bool vmbus_guest_event(VMBusGuest *g, VMBusGuestChannel *ch, uint32_t vp)
{
    uint64_t word = g->int_page + ch->relid / 32 * 4;
    uint32_t bits, bit = 1u << (ch->relid % 32);

    if (g->version >= 0x00020004) {
        return hvp_test_and_clear_event(g->qts, vp, g->sint, ch->relid);
    }
    /* Before 2.4: flag 0 says "look at the interrupt page". */
    if (!hvp_test_and_clear_event(g->qts, vp, g->sint, 0)) {
        return false;
    }
    bits = qtest_readl(g->qts, word);
    qtest_writel(g->qts, word, bits & ~bit);
    return bits & bit;
}
