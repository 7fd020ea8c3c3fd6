/*
 * qtest: the guest's side of the synthetic NIC's protocols (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <poll.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "vmbus-netvsc-guest.h"

/* The synthetic NIC's interface GUID, first field (f8615163-...). */
#define NV_CLASSID_DATA1    0xf8615163u

/* What every test boots, up to the netdev and hv-net's properties. */
#define NV_MACHINE  "-M q35 -m 64 -smp 2 -cpu " NV_CPU " -device vmbus-bridge"
#define NV_NETDEV   "-netdev dgram,id=n0,local.type=unix,local.path=%s," \
                    "remote.type=unix,remote.path=%s " \
                    "-device hv-net,netdev=n0,id=net0,mac=" NV_MAC "%s"

/* Waits poll this often, this many times, before a test gives up. */
#define NV_POLL_US      1000
#define NV_POLL_MAX     10000

static char *sock_name(const char *what)
{
    static unsigned count;

    return g_strdup_printf("%s/hv-net-%d-%u-%s.sock", g_get_tmp_dir(),
                           getpid(), count++, what);
}

static void sock_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    g_assert_cmpuint(strlen(path), <, sizeof(sa->sun_path));
    strcpy(sa->sun_path, path);
}

/* The guest's session state: what a new connection starts without. */
static void forget_session(NVGuest *f)
{
    g_queue_clear_full(&f->rndis, (GDestroyNotify)nv_rndis_free);
    g_queue_clear_full(&f->comps, g_free);
    g_array_set_size(f->held, 0);
    memset(f->open, 0, sizeof(f->open));
    f->hold = false;
    f->version = 0;
    f->rx_size = 0;
    f->tx_nsections = 0;
}

/* The primary's offer: the NIC's interface, index 0. */
static void take_primary(NVGuest *f, const HvpMessage *offer)
{
    uint32_t gpadl = f->ch[0].gpadl ? f->ch[0].gpadl + 0x100 : 0x4e7000;

    g_assert_cmphex((uint32_t)ldl_le_p(offer->payload + 8), ==,
                    NV_CLASSID_DATA1);
    g_assert_cmpuint(lduw_le_p(offer->payload + 180), ==, 0);
    memcpy(f->instance, offer->payload + 24, sizeof(f->instance));
    f->ch[0] = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer->payload + 184),
        .connid = ldl_le_p(offer->payload + 192),
        .gpadl = gpadl,
        .ring_gpa = NV_RING_GPA(0),
        .send_pages = NV_RING_PAGES,
        .recv_pages = NV_RING_PAGES,
    };
}

void nv_reconnect(NVGuest *f)
{
    HvpMessage offer;

    forget_session(f);
    vmbus_guest_init(&f->g, f->qts, 2, NV_SINT);
    vmbus_guest_connect(&f->g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f->g, &offer, 1), ==, 1);
    take_primary(f, &offer);
}

void nv_take_offer(NVGuest *f)
{
    HvpMessage offer = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_OFFERCHANNEL);

    forget_session(f);
    take_primary(f, &offer);
}

static void nv_state_init(NVGuest *f)
{
    memset(f, 0, sizeof(*f));
    g_queue_init(&f->rndis);
    g_queue_init(&f->comps);
    f->held = g_array_new(false, false, sizeof(NVHeld));
    f->sock = -1;
    f->trans_id = 0x1000;
}

void nv_attach(NVGuest *f, QTestState *qts)
{
    nv_state_init(f);
    f->qts = qts;
    nv_reconnect(f);
}

void nv_detach(NVGuest *f)
{
    forget_session(f);
    g_array_free(f->held, true);
    f->held = NULL;
}

void nv_boot(NVGuest *f, const char *props)
{
    struct sockaddr_un sa;

    nv_state_init(f);

    /* The test's end of the wire, there before QEMU sends to it. */
    f->sock_path = sock_name("test");
    f->qemu_path = sock_name("qemu");
    f->sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    g_assert_cmpint(f->sock, >=, 0);
    sock_addr(&sa, f->sock_path);
    unlink(f->sock_path);
    g_assert_cmpint(bind(f->sock, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    0);

    f->qts = qtest_initf(NV_MACHINE " " NV_NETDEV, f->qemu_path,
                         f->sock_path, props);
    nv_reconnect(f);
}

void nv_open(NVGuest *f)
{
    nv_open_channel(f, 0, 0);
}

void nv_open_channel(NVGuest *f, uint16_t index, uint32_t vp)
{
    g_assert_cmpuint(vmbus_guest_open(&f->g, &f->ch[index], vp), ==, 0);
    f->open[index] = true;
}

void nv_take_subchannel(NVGuest *f, uint16_t index)
{
    HvpMessage m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_OFFERCHANNEL);

    g_assert_cmpuint(index, <, NV_MAX_CHANNELS);
    /* The NIC's interface and instance, and the index. */
    g_assert_cmphex((uint32_t)ldl_le_p(m.payload + 8), ==, NV_CLASSID_DATA1);
    g_assert_cmpmem(m.payload + 24, 16, f->instance, 16);
    g_assert_cmpuint(lduw_le_p(m.payload + 180), ==, index);
    f->ch[index] = (VMBusGuestChannel) {
        .relid = ldl_le_p(m.payload + 184),
        .connid = ldl_le_p(m.payload + 192),
        .gpadl = f->ch[0].gpadl + index,
        .ring_gpa = NV_RING_GPA(index),
        .send_pages = NV_RING_PAGES,
        .recv_pages = NV_RING_PAGES,
    };
}

void nv_finish(NVGuest *f)
{
    qtest_quit(f->qts);
    close(f->sock);
    unlink(f->sock_path);
    unlink(f->qemu_path);
    if (f->mig_path) {
        unlink(f->mig_path);
    }
    g_free(f->sock_path);
    g_free(f->qemu_path);
    g_free(f->mig_path);
    nv_detach(f);
}

QTestState *nv_boot_incoming(NVGuest *f, const char *props, const char *uri)
{
    g_assert_null(f->mig_path);
    f->mig_path = sock_name("dest");
    return qtest_initf(NV_MACHINE " " NV_NETDEV " -incoming %s",
                       f->mig_path, f->sock_path, props, uri);
}

void nv_switch(NVGuest *f, QTestState *qts)
{
    char *old = f->qemu_path;

    f->qts = qts;
    f->g.qts = qts;
    /* Frames go to the destination's netdev from now on. */
    f->qemu_path = f->mig_path;
    f->mig_path = old;
}

/*
 * NVSP
 * ----
 */

uint64_t nv_send_nvsp(NVGuest *f, uint16_t chan, const void *msg,
                      uint32_t len, bool want_comp)
{
    uint64_t id = ++f->trans_id;

    g_assert_true(f->open[chan]);
    for (int i = 0; !vmbus_guest_send(&f->g, &f->ch[chan],
                                      VMBUS_GUEST_PKT_INBAND,
                                      want_comp ? VMBUS_GUEST_PKT_WANT_COMP :
                                      0, id, NULL, 0, msg, len); i++) {
        /* The host answers as fast as the guest reads. */
        g_assert_cmpint(i, <, NV_POLL_MAX);
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    return id;
}

/* Takes the completion for @trans_id out of the ones that came. */
static bool take_comp(NVGuest *f, uint64_t trans_id, NVComp *c)
{
    for (GList *l = f->comps.head; l; l = l->next) {
        NVComp *p = l->data;

        if (p->trans_id == trans_id) {
            *c = *p;
            g_free(p);
            g_queue_delete_link(&f->comps, l);
            return true;
        }
    }
    return false;
}

bool nv_try_comp(NVGuest *f, uint64_t trans_id, int rounds, NVComp *c)
{
    for (int i = 0; !take_comp(f, trans_id, c); i++) {
        if (i == rounds) {
            return false;
        }
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    return true;
}

NVComp nv_wait_comp(NVGuest *f, uint16_t chan, uint64_t trans_id)
{
    NVComp c;

    for (int i = 0; !take_comp(f, trans_id, &c); i++) {
        if (i == NV_POLL_MAX) {
            g_error("no completion for transaction 0x%" PRIx64, trans_id);
        }
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    g_assert_cmpuint(c.chan, ==, chan);
    return c;
}

NVComp nv_nvsp(NVGuest *f, uint16_t chan, uint32_t type, const void *body,
               uint32_t body_len)
{
    uint8_t msg[NV_MSG_SIZE] = { 0 };

    g_assert_cmpuint(body_len, <=, NV_MSG_SIZE - 4);
    stl_le_p(msg, type);
    if (body_len) {
        memcpy(msg + 4, body, body_len);
    }
    return nv_wait_comp(f, chan, nv_send_nvsp(f, chan, msg, sizeof(msg),
                                              true));
}

uint32_t nv_nvsp_init(NVGuest *f, uint32_t min, uint32_t max,
                      uint32_t *chosen)
{
    uint8_t body[8];
    NVComp c;
    uint32_t status;

    stl_le_p(body, min);
    stl_le_p(body + 4, max);
    c = nv_nvsp(f, 0, NV_MSG_INIT, body, sizeof(body));
    /* The whole message: 6.1 rejects an INIT_COMPLETE under 28 bytes. */
    g_assert_cmpuint(c.len, ==, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_INIT_COMPLETE);
    status = ldl_le_p(c.data + 12);
    if (status == NV_STAT_SUCCESS) {
        f->version = ldl_le_p(c.data + 4);
    }
    if (chosen) {
        *chosen = ldl_le_p(c.data + 4);
    }
    return status;
}

void nv_gpadl(NVGuest *f, uint32_t id, uint64_t gpa, uint32_t size)
{
    uint32_t status;

    g_assert_cmpuint(vmbus_guest_gpadl(&f->g, f->ch[0].relid, id, gpa,
                                       DIV_ROUND_UP(size, NV_PAGE), &status),
                     ==, 0);
    g_assert_cmpuint(status, ==, 0);
}

void nv_gpadl_teardown(NVGuest *f, uint32_t id)
{
    HvpMessage m;

    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f->g, f->ch[0].relid, id),
                     ==, 0);
    m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, id);
}

uint32_t nv_recv_buf(NVGuest *f, uint64_t gpa, uint32_t size, uint32_t gpadl)
{
    uint8_t body[8] = { 0 };
    uint32_t status;
    NVComp c;

    g_assert_cmpuint(size, <=, NV_BUF_MAX);
    qtest_memset(f->qts, gpa, 0, size);
    nv_gpadl(f, gpadl, gpa, size);
    stl_le_p(body, gpadl);
    stw_le_p(body + 4, NV_RECV_BUF_ID);
    c = nv_nvsp(f, 0, NV_MSG_SEND_RECV_BUF, body, sizeof(body));
    g_assert_cmpuint(c.len, ==, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SEND_RECV_BUF_COMPLETE);
    status = ldl_le_p(c.data + 4);
    if (status != NV_STAT_SUCCESS) {
        return status;
    }
    /* What netvsc_init_buf() insists on. */
    g_assert_cmpuint(ldl_le_p(c.data + 8), ==, 1);
    g_assert_cmpuint(ldl_le_p(c.data + 12), ==, 0);
    f->rx_gpadl = gpadl;
    f->rx_size = ROUND_UP(size, NV_PAGE);
    f->rx_slot_size = ldl_le_p(c.data + 16);
    f->rx_nslots = ldl_le_p(c.data + 20);
    g_assert_cmpuint(f->rx_slot_size, >=, 68);
    g_assert_cmpuint(f->rx_nslots, >=, 1);
    g_assert_cmpuint((uint64_t)f->rx_slot_size * f->rx_nslots, <=,
                     f->rx_size);
    g_assert_cmpuint(ldl_le_p(c.data + 24), ==,
                     f->rx_slot_size * f->rx_nslots);
    return status;
}

uint32_t nv_send_buf(NVGuest *f, uint64_t gpa, uint32_t size, uint32_t gpadl)
{
    uint8_t body[8] = { 0 };
    uint32_t status;
    NVComp c;

    g_assert_cmpuint(size, <=, NV_BUF_MAX);
    nv_gpadl(f, gpadl, gpa, size);
    stl_le_p(body, gpadl);
    stw_le_p(body + 4, 0);
    c = nv_nvsp(f, 0, NV_MSG_SEND_SEND_BUF, body, sizeof(body));
    g_assert_cmpuint(c.len, ==, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SEND_SEND_BUF_COMPLETE);
    status = ldl_le_p(c.data + 4);
    if (status != NV_STAT_SUCCESS) {
        return status;
    }
    f->tx_gpadl = gpadl;
    f->tx_size = size;
    f->tx_section_size = ldl_le_p(c.data + 8);
    g_assert_cmpuint(f->tx_section_size, >=, 68);
    f->tx_nsections = size / f->tx_section_size;
    f->next_section = 0;
    return status;
}

uint64_t nv_send_rndis_raw(NVGuest *f, uint16_t chan, uint32_t channel_type,
                           uint32_t section, uint32_t section_size,
                           const NVRange *ranges, int nranges)
{
    uint8_t msg[NV_MSG_SIZE] = { 0 };
    g_autofree uint8_t *ext = NULL;
    uint32_t ext_len = 8;
    uint64_t id = ++f->trans_id;

    stl_le_p(msg, NV_MSG_SEND_RNDIS_PKT);
    stl_le_p(msg + 4, channel_type);
    stl_le_p(msg + 8, section);
    stl_le_p(msg + 12, section_size);
    for (int i = 0; i < nranges; i++) {
        uint32_t off = ranges[i].gpa % NV_PAGE;

        ext_len += 8 + 8 * DIV_ROUND_UP(off + ranges[i].len, NV_PAGE);
    }
    ext = g_malloc0(ext_len);
    /* vmbus_gpa_direct: reserved, rangecount, then the ranges. */
    stl_le_p(ext + 4, nranges);
    for (int i = 0, pos = 8; i < nranges; i++) {
        uint32_t off = ranges[i].gpa % NV_PAGE;
        uint32_t n = DIV_ROUND_UP(off + ranges[i].len, NV_PAGE);

        stl_le_p(ext + pos, ranges[i].len);
        stl_le_p(ext + pos + 4, off);
        pos += 8;
        for (uint32_t j = 0; j < n; j++, pos += 8) {
            stq_le_p(ext + pos, ranges[i].gpa / NV_PAGE + j);
        }
    }
    g_assert_true(f->open[chan]);
    for (int i = 0; !vmbus_guest_send(&f->g, &f->ch[chan],
                                      nranges ? VMBUS_GUEST_PKT_GPA_DIRECT :
                                      VMBUS_GUEST_PKT_INBAND,
                                      VMBUS_GUEST_PKT_WANT_COMP, id,
                                      nranges ? ext : NULL,
                                      nranges ? ext_len : 0, msg,
                                      sizeof(msg)); i++) {
        g_assert_cmpint(i, <, NV_POLL_MAX);
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    return id;
}

void nv_section_write(NVGuest *f, uint32_t index, uint32_t off,
                      const void *data, uint32_t len)
{
    g_assert_cmpuint(index, <, f->tx_nsections);
    g_assert_cmpuint(off + len, <=, f->tx_section_size);
    qtest_memwrite(f->qts, NV_SEND_BUF_GPA +
                   (uint64_t)index * f->tx_section_size + off, data, len);
}

uint64_t nv_scratch(NVGuest *f, uint32_t len, uint32_t align)
{
    uint32_t pos = ROUND_UP(f->scratch_pos, align);

    g_assert_cmpuint(len, <=, NV_SCRATCH_SIZE);
    if (pos + len > NV_SCRATCH_SIZE) {
        pos = 0;
    }
    f->scratch_pos = pos + len;
    return NV_SCRATCH_GPA + pos;
}

uint64_t nv_send_rndis(NVGuest *f, uint16_t chan, uint32_t channel_type,
                       const void *msg, uint32_t len, NVVia via)
{
    NVRange r;
    uint32_t index;

    if (via == NV_VIA_SECTION) {
        index = f->next_section++ % f->tx_nsections;
        nv_section_write(f, index, 0, msg, len);
        return nv_send_rndis_raw(f, chan, channel_type, index, len, NULL, 0);
    }
    /* Eight-byte aligned, as kmalloc'd: some cross a page. */
    r.gpa = nv_scratch(f, len, 8);
    r.len = len;
    qtest_memwrite(f->qts, r.gpa, msg, len);
    return nv_send_rndis_raw(f, chan, channel_type, NV_NO_SECTION, 0, &r, 1);
}

uint32_t nv_wait_send(NVGuest *f, uint16_t chan, uint64_t trans_id)
{
    NVComp c = nv_wait_comp(f, chan, trans_id);

    g_assert_cmpuint(c.len, >=, 8);
    g_assert_cmpuint(ldl_le_p(c.data), ==, NV_MSG_SEND_RNDIS_PKT_COMPLETE);
    return ldl_le_p(c.data + 4);
}

/*
 * The host's packets
 * ------------------
 */

/* The per-packet information of a data packet, as rndis_get_ppi() walks. */
static void check_ppis(const uint8_t *m, uint32_t count)
{
    uint32_t data_off = ldl_le_p(m + 8);
    uint32_t off = ldl_le_p(m + 28), len = ldl_le_p(m + 32);

    if (!len) {
        g_assert_cmpuint(off, ==, 0);
        return;
    }
    g_assert_cmpuint(off, >=, 36);
    g_assert_cmpuint(off, <=, count - 8);
    g_assert_cmpuint(len, <=, count - 8 - off);
    /* Between the packet header and the frame. */
    g_assert_cmpuint(off + len, <=, data_off);
    for (uint32_t pos = 0; pos < len;) {
        uint32_t size, ppi_off;

        g_assert_cmpuint(len - pos, >=, NV_PPI_HDR);
        size = ldl_le_p(m + 8 + off + pos);
        ppi_off = ldl_le_p(m + 8 + off + pos + 8);
        /* What would make the guest loop forever. */
        g_assert_cmpuint(size, >, 0);
        g_assert_cmpuint(ppi_off, <, size);
        g_assert_cmpuint(ppi_off, >=, NV_PPI_HDR);
        g_assert_cmpuint(size, <=, len - pos);
        pos += size;
    }
}

/* One range of a transfer-page packet, checked as Linux checks it. */
static NVRndis *take_range(NVGuest *f, uint16_t chan, uint64_t trans_id,
                           uint32_t count, uint32_t offset)
{
    NVRndis *m = g_new0(NVRndis, 1);
    uint32_t msg_len;

    g_assert_cmpuint(count, >=, 8);
    g_assert_cmpuint((uint64_t)offset + count, <=, f->rx_size);
    g_assert_cmpuint(count, <=, f->rx_slot_size);
    m->chan = chan;
    m->trans_id = trans_id;
    m->offset = offset;
    m->len = count;
    m->data = g_malloc(count);
    qtest_memread(f->qts, NV_RECV_BUF_GPA + offset, m->data, count);
    msg_len = ldl_le_p(m->data + 4);
    g_assert_cmpuint(msg_len, >=, 8);
    g_assert_cmpuint(msg_len, <=, count);
    if (ldl_le_p(m->data) == NV_RNDIS_PACKET) {
        uint32_t data_off = ldl_le_p(m->data + 8);
        uint32_t data_len = ldl_le_p(m->data + 12);

        g_assert_cmpuint(msg_len, >=, NV_PKT_HDR);
        g_assert_cmpuint(data_off, <, count - 8);
        g_assert_cmpuint(count - 8 - data_off, >=, data_len);
        check_ppis(m->data, count);
    }
    return m;
}

static void take_xfer(NVGuest *f, uint16_t chan, const VMBusGuestPacket *pkt)
{
    uint32_t nranges;

    /* The guest completes each; Hyper-V asks it to. */
    g_assert_cmphex(pkt->flags, ==, VMBUS_GUEST_PKT_WANT_COMP);
    g_assert_cmpuint(pkt->ext_len, >=, 8);
    g_assert_cmphex(lduw_le_p(pkt->ext), ==, NV_RECV_BUF_ID);
    nranges = ldl_le_p(pkt->ext + 4);
    g_assert_cmpuint(nranges, >=, 1);
    /* offset8 * 8 >= 24 + 8 * range_cnt, and >= 32 for 6.1 */
    g_assert_cmpuint(pkt->ext_len, >=, 8 + 8 * nranges);
    g_assert_cmpuint(pkt->len, >=, NV_MSG_SIZE);
    g_assert_cmpuint(ldl_le_p(pkt->data), ==, NV_MSG_SEND_RNDIS_PKT);
    g_assert_cmpuint(f->rx_size, >, 0);
    for (uint32_t i = 0; i < nranges; i++) {
        g_queue_push_tail(&f->rndis,
                          take_range(f, chan, pkt->trans_id,
                                     ldl_le_p(pkt->ext + 8 + 8 * i),
                                     ldl_le_p(pkt->ext + 12 + 8 * i)));
    }
    f->xfer_packets++;
    f->xfer_ranges += nranges;
    f->xfer_max_ranges = MAX(f->xfer_max_ranges, nranges);
    if (f->hold) {
        NVHeld h = { .chan = chan, .trans_id = pkt->trans_id };

        g_array_append_val(f->held, h);
    } else {
        nv_complete_xfer(f, chan, pkt->trans_id, NV_STAT_SUCCESS);
    }
}

static bool ring_empty(NVGuest *f, uint16_t chan)
{
    VMBusGuestChannel *ch = &f->ch[chan];

    return vmbus_guest_recv_ring_get(&f->g, ch, VMBUS_GUEST_RING_WRITE) ==
           vmbus_guest_recv_ring_get(&f->g, ch, VMBUS_GUEST_RING_READ);
}

int nv_pump(NVGuest *f)
{
    g_autofree VMBusGuestPacket *pkt = g_new0(VMBusGuestPacket, 1);
    int n = 0;

    for (uint16_t c = 0; c < NV_MAX_CHANNELS; c++) {
        while (f->open[c] && !ring_empty(f, c)) {
            g_assert_true(vmbus_guest_recv_pkt(&f->g, &f->ch[c], pkt));
            n++;
            if (pkt->type == VMBUS_GUEST_PKT_COMP) {
                NVComp *comp = g_new0(NVComp, 1);

                comp->chan = c;
                comp->trans_id = pkt->trans_id;
                comp->len = pkt->len;
                g_assert_cmpuint(pkt->len, <=, sizeof(comp->data));
                memcpy(comp->data, pkt->data, pkt->len);
                g_queue_push_tail(&f->comps, comp);
            } else if (pkt->type == NV_XFER_PAGES) {
                take_xfer(f, c, pkt);
            } else {
                g_error("host packet of type %u on channel %u", pkt->type,
                        c);
            }
        }
    }
    return n;
}

void nv_complete_xfer(NVGuest *f, uint16_t chan, uint64_t trans_id,
                      uint32_t status)
{
    uint8_t body[8];

    stl_le_p(body, NV_MSG_SEND_RNDIS_PKT_COMPLETE);
    stl_le_p(body + 4, status);
    g_assert_true(vmbus_guest_send(&f->g, &f->ch[chan], VMBUS_GUEST_PKT_COMP,
                                   0, trans_id, NULL, 0, body,
                                   sizeof(body)));
}

void nv_complete_held(NVGuest *f)
{
    for (guint i = 0; i < f->held->len; i++) {
        NVHeld *h = &g_array_index(f->held, NVHeld, i);

        nv_complete_xfer(f, h->chan, h->trans_id, NV_STAT_SUCCESS);
    }
    g_array_set_size(f->held, 0);
}

void nv_rndis_free(NVRndis *m)
{
    if (m) {
        g_free(m->data);
        g_free(m);
    }
}

NVRndis *nv_take_rndis(NVGuest *f, uint32_t type, uint32_t req_id)
{
    for (GList *l = f->rndis.head; l; l = l->next) {
        NVRndis *m = l->data;

        if (ldl_le_p(m->data) == type &&
            (!req_id || (m->len >= 12 && ldl_le_p(m->data + 8) == req_id))) {
            g_queue_delete_link(&f->rndis, l);
            return m;
        }
    }
    return NULL;
}

NVRndis *nv_try_rndis(NVGuest *f, uint32_t type, uint32_t req_id)
{
    for (int i = 0; i <= NV_POLL_MAX; i++) {
        NVRndis *m = nv_take_rndis(f, type, req_id);

        if (m) {
            return m;
        }
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    return NULL;
}

NVRndis *nv_wait_rndis(NVGuest *f, uint32_t type, uint32_t req_id)
{
    NVRndis *m = nv_try_rndis(f, type, req_id);

    if (!m) {
        g_error("no RNDIS message 0x%x (request %u) came", type, req_id);
    }
    return m;
}

NVRndis *nv_wait_frame(NVGuest *f)
{
    return nv_wait_rndis(f, NV_RNDIS_PACKET, 0);
}

const uint8_t *nv_frame(const NVRndis *m, uint32_t *len)
{
    g_assert_cmpuint(ldl_le_p(m->data), ==, NV_RNDIS_PACKET);
    *len = ldl_le_p(m->data + 12);
    return m->data + 8 + ldl_le_p(m->data + 8);
}

bool nv_ppi(const NVRndis *m, uint32_t type, uint32_t *value)
{
    uint32_t off = ldl_le_p(m->data + 28), len = ldl_le_p(m->data + 32);

    /* take_range() checked the records. */
    for (uint32_t pos = 0; pos < len;) {
        const uint8_t *p = m->data + 8 + off + pos;

        if ((ldl_le_p(p + 4) & 0x7fffffff) == type) {
            g_assert_cmpuint(ldl_le_p(p) - ldl_le_p(p + 8), >=, 4);
            *value = ldl_le_p(p + ldl_le_p(p + 8));
            return true;
        }
        pos += ldl_le_p(p);
    }
    return false;
}

void nv_assert_quiet(NVGuest *f)
{
    /* A few round trips through the main loop, then nothing new. */
    for (int i = 0; i < 10; i++) {
        hvp_idle(10 * 1000);
        g_assert_cmpint(nv_pump(f), ==, 0);
    }
    if (!g_queue_is_empty(&f->rndis)) {
        NVRndis *m = g_queue_peek_head(&f->rndis);

        g_error("%u RNDIS messages unclaimed, the first of type 0x%x",
                g_queue_get_length(&f->rndis), ldl_le_p(m->data));
    }
    g_assert_cmpuint(g_queue_get_length(&f->comps), ==, 0);
}

/*
 * RNDIS control
 * -------------
 */

void nv_rndis_init(NVGuest *f)
{
    uint8_t msg[24];
    uint32_t id = ++f->req_id;
    uint64_t t;
    NVRndis *m;

    stl_le_p(msg, NV_RNDIS_INIT);
    stl_le_p(msg + 4, sizeof(msg));
    stl_le_p(msg + 8, id);
    stl_le_p(msg + 12, 1);                  /* RNDIS 1.0 */
    stl_le_p(msg + 16, 0);
    stl_le_p(msg + 20, 0x4000);             /* max_xfer_size */
    t = nv_send_rndis(f, 0, NV_CHANNEL_CONTROL, msg, sizeof(msg), NV_VIA_GPA);
    g_assert_cmpuint(nv_wait_send(f, 0, t), ==, NV_STAT_SUCCESS);
    m = nv_wait_rndis(f, NV_RNDIS_INIT | NV_RNDIS_COMPLETION, id);
    g_assert_cmpuint(ldl_le_p(m->data + 4), >=, 8 + 44);
    g_assert_cmphex(ldl_le_p(m->data + 12), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(ldl_le_p(m->data + 16), ==, 1);        /* major */
    g_assert_cmpuint(ldl_le_p(m->data + 28), ==, 0);        /* 802.3 */
    f->max_pkt_per_msg = ldl_le_p(m->data + 32);
    f->pkt_alignment = ldl_le_p(m->data + 40);
    g_assert_cmpuint(f->max_pkt_per_msg, >=, 1);
    g_assert_cmpuint(f->pkt_alignment, <=, 12);
    nv_rndis_free(m);
}

/*
 * QUERY or SET of @oid with @len bytes of @info, over the control path as
 * Linux sends them; returns the host's completion message.
 */
static NVRndis *oid_request(NVGuest *f, uint32_t type, uint32_t oid,
                            const void *info, uint32_t len)
{
    g_autofree uint8_t *msg = g_malloc0(NV_QUERY_HDR + len);
    uint32_t id = ++f->req_id;
    uint64_t t;

    stl_le_p(msg, type);
    stl_le_p(msg + 4, NV_QUERY_HDR + len);
    stl_le_p(msg + 8, id);
    stl_le_p(msg + 12, oid);
    stl_le_p(msg + 16, len);
    stl_le_p(msg + 20, 20);                 /* from req_id */
    if (len) {
        memcpy(msg + NV_QUERY_HDR, info, len);
    }
    t = nv_send_rndis(f, 0, NV_CHANNEL_CONTROL, msg, NV_QUERY_HDR + len,
                      NV_VIA_GPA);
    g_assert_cmpuint(nv_wait_send(f, 0, t), ==, NV_STAT_SUCCESS);
    return nv_wait_rndis(f, type | NV_RNDIS_COMPLETION, id);
}

uint32_t nv_query(NVGuest *f, uint32_t oid, const void *in, uint32_t in_len,
                  void *out, uint32_t *out_len)
{
    NVRndis *m = oid_request(f, NV_RNDIS_QUERY, oid, in, in_len);
    uint32_t mlen = ldl_le_p(m->data + 4);
    uint32_t status, len, off;

    g_assert_cmpuint(mlen, >=, 24);
    status = ldl_le_p(m->data + 12);
    len = ldl_le_p(m->data + 16);
    off = ldl_le_p(m->data + 20);
    /* rndis_filter_query_device(): from req_id, after the header, inside */
    g_assert_cmpuint(off, >=, 16);
    g_assert_cmpuint(off, <=, mlen - 8);
    g_assert_cmpuint(len, <=, mlen - 8 - off);
    g_assert_cmpuint(len, <=, NV_QUERY_MAX);
    if (out) {
        memcpy(out, m->data + 8 + off, len);
    }
    *out_len = len;
    nv_rndis_free(m);
    return status;
}

uint32_t nv_query_u32(NVGuest *f, uint32_t oid)
{
    uint8_t out[NV_QUERY_MAX];
    uint32_t len;

    g_assert_cmphex(nv_query(f, oid, NULL, 0, out, &len), ==,
                    NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, 4);
    return ldl_le_p(out);
}

uint32_t nv_set(NVGuest *f, uint32_t oid, const void *info, uint32_t len)
{
    NVRndis *m = oid_request(f, NV_RNDIS_SET, oid, info, len);
    uint32_t status;

    g_assert_cmpuint(ldl_le_p(m->data + 4), >=, 16);
    status = ldl_le_p(m->data + 12);
    nv_rndis_free(m);
    return status;
}

void nv_assert_alive(NVGuest *f)
{
    uint8_t mac[NV_QUERY_MAX];
    uint32_t len;

    g_assert_cmphex(nv_query(f, NV_OID_PERMANENT_ADDRESS, NULL, 0, mac,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, 6);
    g_assert_cmpmem(mac, 6, "\x52\x54\x00\x12\x34\x56", 6);
}

/* The capabilities Linux's netvsc asks for at each NVSP version. */
static uint64_t ndis_config_caps(uint32_t version)
{
    uint64_t caps = 1 << 3;                 /* ieee8021q */

    if (version >= NV_VERSION_5) {
        caps |= 1 << 2 | 1 << 5;            /* sriov, teaming */
    }
    if (version >= NV_VERSION_61) {
        caps |= 1 << 7;                     /* rsc */
    }
    return caps;
}

void nv_probe(NVGuest *f, uint32_t version)
{
    uint8_t msg[NV_MSG_SIZE], out[NV_QUERY_MAX], caps[156] = { 0 };
    uint8_t params[28] = { 0 }, rss[18] = { 0 };
    uint32_t len, chosen, size;

    g_assert_cmpuint(nv_nvsp_init(f, version, version, &chosen), ==,
                     NV_STAT_SUCCESS);
    g_assert_cmphex(chosen, ==, version);
    if (version >= NV_VERSION_2) {
        memset(msg, 0, sizeof(msg));
        stl_le_p(msg, NV_MSG_SEND_NDIS_CONFIG);
        stl_le_p(msg + 4, (f->probe_mtu ? f->probe_mtu : 1500) + 14);
        stq_le_p(msg + 12, ndis_config_caps(version));
        nv_send_nvsp(f, 0, msg, sizeof(msg), false);
    }
    memset(msg, 0, sizeof(msg));
    stl_le_p(msg, NV_MSG_SEND_NDIS_VERSION);
    stl_le_p(msg + 4, 6);
    stl_le_p(msg + 8, version >= NV_VERSION_5 ? 30 : 1);
    nv_send_nvsp(f, 0, msg, sizeof(msg), false);
    g_assert_cmpuint(nv_recv_buf(f, NV_RECV_BUF_GPA,
                                 f->probe_rx_size ? f->probe_rx_size :
                                 NV_RECV_BUF_SIZE, NV_RECV_GPADL), ==,
                     NV_STAT_SUCCESS);
    g_assert_cmpuint(nv_send_buf(f, NV_SEND_BUF_GPA, NV_SEND_BUF_SIZE,
                                 NV_SEND_GPADL), ==, NV_STAT_SUCCESS);

    nv_rndis_init(f);
    nv_query_u32(f, NV_OID_MAXIMUM_FRAME_SIZE);
    g_assert_cmphex(nv_query(f, NV_OID_PERMANENT_ADDRESS, NULL, 0, out,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, ==, 6);
    /* Optional: a name, or a failure. */
    nv_query(f, NV_OID_FRIENDLY_NAME, NULL, 0, out, &len);
    /* The offload capabilities: a header Linux accepts. */
    size = version >= NV_VERSION_5 ? 156 : version >= NV_VERSION_4 ? 144 :
           112;
    caps[0] = 0xa7;
    caps[1] = version >= NV_VERSION_5 ? 3 : version >= NV_VERSION_4 ? 2 : 1;
    stw_le_p(caps + 2, size);
    g_assert_cmphex(nv_query(f, NV_OID_OFFLOAD_HW_CAPS, caps, size, out,
                             &len), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(len, >=, 112);
    g_assert_cmpuint(len, <=, 156);
    g_assert_cmphex(out[0], ==, 0xa7);
    g_assert_cmpuint(out[1], >=, 1);
    g_assert_cmpuint(lduw_le_p(out + 2), >=, 112);
    g_assert_cmpuint(lduw_le_p(out + 2), <=, len);
    /* Every offload on (as Linux, when advertised). */
    params[0] = 0x80;
    params[1] = 3;
    stw_le_p(params + 2, version <= NV_VERSION_4 ? 22 : 28);
    memset(params + 4, 4, 5);               /* checksums: TX and RX */
    params[11] = params[12] = 2;            /* LSO v2 */
    g_assert_cmphex(nv_set(f, NV_OID_OFFLOAD_PARAMETERS, params,
                           sizeof(params)), ==, NV_RNDIS_SUCCESS);
    g_assert_cmpuint(nv_query_u32(f, NV_OID_MEDIA_CONNECT_STATUS), <=, 1);
    if (version >= NV_VERSION_5) {
        nv_query_u32(f, NV_OID_LINK_SPEED);
        rss[0] = 0x88;
        rss[1] = 2;
        stw_le_p(rss + 2, sizeof(rss));
        nv_query(f, NV_OID_RSS_CAPABILITIES, rss, sizeof(rss), out, &len);
        g_assert_cmpuint(len, <=, sizeof(rss));
    }
}

void nv_set_filter(NVGuest *f, uint32_t filter)
{
    uint8_t info[4];

    stl_le_p(info, filter);
    g_assert_cmphex(nv_set(f, NV_OID_CURRENT_PACKET_FILTER, info,
                           sizeof(info)), ==, NV_RNDIS_SUCCESS);
}

void nv_start(NVGuest *f, const char *props, uint32_t version)
{
    nv_boot(f, props);
    nv_open(f);
    nv_probe(f, version);
    nv_set_filter(f, NV_FILTER_DEFAULT);
}

/*
 * Frames
 * ------
 */

uint32_t nv_build_packet(uint8_t *buf, const void *frame, uint32_t len,
                         const NVPpi *ppis, int nppis, uint32_t align)
{
    uint32_t ppi_len = nppis * (NV_PPI_HDR + 4);
    uint32_t msg_len = NV_PKT_HDR + ppi_len + len;
    uint32_t padded = align ? ROUND_UP(msg_len, align) : msg_len;

    memset(buf, 0, padded);
    stl_le_p(buf, NV_RNDIS_PACKET);
    stl_le_p(buf + 4, padded);
    /* Offsets from the packet header, at 8. */
    stl_le_p(buf + 8, 36 + ppi_len);
    stl_le_p(buf + 12, len);
    stl_le_p(buf + 28, nppis ? 36 : 0);
    stl_le_p(buf + 32, ppi_len);
    for (int i = 0; i < nppis; i++) {
        uint8_t *p = buf + NV_PKT_HDR + i * (NV_PPI_HDR + 4);

        stl_le_p(p, NV_PPI_HDR + 4);
        stl_le_p(p + 4, ppis[i].type);
        stl_le_p(p + 8, NV_PPI_HDR);
        stl_le_p(p + 12, ppis[i].value);
    }
    memcpy(buf + NV_PKT_HDR + ppi_len, frame, len);
    return padded;
}

uint32_t nv_send_frame(NVGuest *f, uint16_t chan, const void *frame,
                       uint32_t len, const NVPpi *ppis, int nppis,
                       NVVia via)
{
    g_autofree uint8_t *buf = g_malloc(NV_PKT_HDR + 16 * nppis + len + 8);
    uint32_t msg_len = nv_build_packet(buf, frame, len, ppis, nppis, 0);

    return nv_wait_send(f, chan, nv_send_rndis(f, chan, NV_CHANNEL_DATA, buf,
                                               msg_len, via));
}

void nv_wire_send(NVGuest *f, const void *frame, uint32_t len)
{
    struct sockaddr_un sa;
    ssize_t ret;

    sock_addr(&sa, f->qemu_path);
    for (int i = 0;; i++) {
        ret = sendto(f->sock, frame, len, MSG_DONTWAIT,
                     (struct sockaddr *)&sa, sizeof(sa));
        if (ret >= 0 || errno != EAGAIN) {
            break;
        }
        /* QEMU reads as fast as the guest takes frames. */
        g_assert_cmpint(i, <, NV_POLL_MAX);
        if (!nv_pump(f)) {
            hvp_idle(NV_POLL_US);
        }
    }
    g_assert_cmpint(ret, ==, len);
}

/* QEMU's RARP announcing the NIC after a migration, not the guest's. */
static bool is_announce(const uint8_t *frame, ssize_t len)
{
    return len >= 14 && lduw_be_p(frame + 12) == 0x8035;
}

uint32_t nv_wire_recv(NVGuest *f, void *buf, uint32_t size)
{
    struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
    ssize_t ret;

    for (int i = 0;; i++) {
        ret = recv(f->sock, buf, size, MSG_DONTWAIT);
        if (ret >= 0 && is_announce(buf, ret)) {
            continue;
        }
        if (ret >= 0 || errno != EAGAIN) {
            break;
        }
        if (i == NV_POLL_MAX) {
            g_error("no frame came on the wire");
        }
        /* Completions the host waits to send, meanwhile. */
        if (!nv_pump(f)) {
            poll(&pfd, 1, 1);
        }
    }
    g_assert_cmpint(ret, >, 0);
    g_assert_cmpint(ret, <, size);
    return ret;
}

void nv_wire_assert_empty(NVGuest *f)
{
    uint8_t buf[16];
    ssize_t ret;

    for (int i = 0; i < 10; i++) {
        hvp_idle(10 * 1000);
        nv_pump(f);
    }
    do {
        ret = recv(f->sock, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
    } while (ret >= 0 && is_announce(buf, ret));
    g_assert_cmpint(ret, ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);
}

void nv_wire_wait_taken(NVGuest *f)
{
    int queued = 0;

    /* A datagram counts against its sender until the reader took it. */
    for (int i = 0; i < NV_POLL_MAX; i++) {
        g_assert_cmpint(ioctl(f->sock, SIOCOUTQ, &queued), ==, 0);
        if (!queued) {
            return;
        }
        hvp_idle(NV_POLL_US);
    }
    g_error("QEMU left %d bytes of frames unread", queued);
}
