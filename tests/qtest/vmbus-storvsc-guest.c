/*
 * qtest: the guest's side of the synthetic SCSI protocol (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "vmbus-storvsc-guest.h"

/* The synthetic SCSI interface's GUID, first field (ba6163d9-...). */
#define SV_CLASSID_DATA1    0xba6163d9u

/* srb_flags in the Windows 8 extension, as Linux sets them. */
#define SV_SRB_FLAGS_DISABLE_SYNCH_TRANSFER     0x08
#define SV_SRB_FLAGS_DATA_IN                    0x40
#define SV_SRB_FLAGS_DATA_OUT                   0x80

/* What every test boots, up to hv-scsi's properties. */
#define SV_MACHINE  "-M q35 -m 64 -smp 2 -cpu " SV_CPU \
                    " -device vmbus-bridge -device hv-scsi,id=scsi"

#define SV_INQUIRY          0x12
#define SV_REPORT_LUNS      0xa0
#define SV_TEST_UNIT_READY  0x00

void sv_boot(SVGuest *f, const char *props, const char *args)
{
    sv_attach(f, qtest_initf(SV_MACHINE "%s %s", props, args));
}

void sv_attach(SVGuest *f, QTestState *qts)
{
    HvpMessage offer;

    memset(f, 0, sizeof(*f));
    f->qts = qts;
    vmbus_guest_init(&f->g, f->qts, 2, SV_SINT);
    vmbus_guest_connect(&f->g, VMBUS_GUEST_V5_3);
    g_assert_cmpint(vmbus_guest_request_offers(&f->g, &offer, 1), ==, 1);
    g_assert_cmphex((uint32_t)ldl_le_p(offer.payload + 8), ==,
                    SV_CLASSID_DATA1);
    /* The primary's sub_channel_index */
    g_assert_cmpuint(lduw_le_p(offer.payload + 180), ==, 0);
    memcpy(f->instance, offer.payload + 24, sizeof(f->instance));
    f->ch = (VMBusGuestChannel) {
        .relid = ldl_le_p(offer.payload + 184),
        .connid = ldl_le_p(offer.payload + 192),
        .gpadl = 0x5c5100,
        .ring_gpa = SV_RING_GPA(0),
        .send_pages = SV_RING_PAGES,
        .recv_pages = SV_RING_PAGES,
    };
    f->trans_id = 0x1000;
}

void sv_open(SVGuest *f)
{
    g_assert_cmpuint(vmbus_guest_open(&f->g, &f->ch, 0), ==, 0);
}

void sv_init(SVGuest *f, uint16_t version)
{
    uint8_t body[4];
    SVPacket p;

    g_assert_cmphex(sv_op(f, &f->ch, SV_OP_BEGIN_INITIALIZATION, NULL, 0,
                          NULL), ==, 0);
    stw_le_p(body, version);
    stw_le_p(body + 2, 0);
    g_assert_cmphex(sv_op(f, &f->ch, SV_OP_QUERY_PROTOCOL_VERSION, body,
                          sizeof(body), NULL), ==, 0);
    g_assert_cmphex(f->version, ==, version);
    g_assert_cmphex(sv_op(f, &f->ch, SV_OP_QUERY_PROPERTIES, NULL, 0, &p),
                    ==, 0);
    f->max_channels = lduw_le_p(p.data + 16);
    f->prop_flags = ldl_le_p(p.data + 20);
    f->max_transfer = ldl_le_p(p.data + 24);
    g_assert_cmphex(sv_op(f, &f->ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          NULL), ==, 0);
}

void sv_start(SVGuest *f, const char *props, const char *args,
              uint16_t version)
{
    sv_boot(f, props, args);
    sv_open(f);
    sv_init(f, version);
}

QTestState *sv_boot_incoming(const char *props, const char *args,
                             const char *uri)
{
    return qtest_initf(SV_MACHINE "%s %s -incoming %s", props, args, uri);
}

void sv_switch(SVGuest *f, QTestState *qts)
{
    f->qts = qts;
    f->g.qts = qts;
}

VMBusGuestChannel sv_take_subchannel(SVGuest *f, uint16_t index)
{
    HvpMessage m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_OFFERCHANNEL);

    /* The controller's interface and instance, and the index. */
    g_assert_cmphex((uint32_t)ldl_le_p(m.payload + 8), ==,
                    SV_CLASSID_DATA1);
    g_assert_cmpmem(m.payload + 24, 16, f->instance, 16);
    g_assert_cmpuint(lduw_le_p(m.payload + 180), ==, index);
    return (VMBusGuestChannel) {
        .relid = ldl_le_p(m.payload + 184),
        .connid = ldl_le_p(m.payload + 192),
        .gpadl = f->ch.gpadl + index,
        .ring_gpa = SV_RING_GPA(index),
        .send_pages = SV_RING_PAGES,
        .recv_pages = SV_RING_PAGES,
    };
}

uint32_t sv_pkt_size(SVGuest *f)
{
    return f->version && f->version < SV_VERSION_WIN8 ? SV_PKT_SIZE_WIN7 :
           SV_PKT_SIZE;
}

void sv_pkt_build(uint8_t *pkt, uint32_t op, const void *body,
                  uint32_t body_len)
{
    g_assert_cmpuint(body_len, <=, SV_PKT_SIZE - SV_PKT_HEADER);
    memset(pkt, 0, SV_PKT_SIZE);
    stl_le_p(pkt, op);
    stl_le_p(pkt + 4, SV_FLAG_REQUEST_COMPLETION);
    if (body_len) {
        memcpy(pkt + SV_PKT_HEADER, body, body_len);
    }
}

bool sv_try_send(SVGuest *f, VMBusGuestChannel *ch, uint64_t trans_id,
                 const void *ext, uint32_t ext_len, const void *pkt,
                 uint32_t len)
{
    return vmbus_guest_send(&f->g, ch,
                            ext ? VMBUS_GUEST_PKT_GPA_DIRECT :
                            VMBUS_GUEST_PKT_INBAND,
                            VMBUS_GUEST_PKT_WANT_COMP, trans_id, ext,
                            ext_len, pkt, len);
}

uint64_t sv_send(SVGuest *f, VMBusGuestChannel *ch, const void *ext,
                 uint32_t ext_len, const void *pkt, uint32_t len,
                 bool no_reply)
{
    uint64_t id = ++f->trans_id;

    g_assert_true(vmbus_guest_send(&f->g, ch,
                                   ext ? VMBUS_GUEST_PKT_GPA_DIRECT :
                                   VMBUS_GUEST_PKT_INBAND,
                                   no_reply ? 0 : VMBUS_GUEST_PKT_WANT_COMP,
                                   id, ext, ext_len, pkt, len));
    return id;
}

bool sv_recv(SVGuest *f, VMBusGuestChannel *ch, SVPacket *p)
{
    g_autofree VMBusGuestPacket *pkt = g_new0(VMBusGuestPacket, 1);

    if (!vmbus_guest_recv_pkt(&f->g, ch, pkt)) {
        return false;
    }
    memset(p, 0, sizeof(*p));
    p->type = pkt->type;
    p->trans_id = pkt->trans_id;
    p->len = pkt->len;
    g_assert_cmpuint(p->len, <=, sizeof(p->data));
    memcpy(p->data, pkt->data, p->len);
    return true;
}

void sv_wait_completion(SVGuest *f, VMBusGuestChannel *ch,
                        uint64_t trans_id, SVPacket *p)
{
    g_assert_true(sv_recv(f, ch, p));
    g_assert_cmpuint(p->type, ==, VMBUS_GUEST_PKT_COMP);
    g_assert_cmphex(p->trans_id, ==, trans_id);
    g_assert_cmpuint(p->len, >=, SV_PKT_HEADER);
    g_assert_cmpuint(sv_pkt_op(p), ==, SV_OP_COMPLETE_IO);
}

void sv_assert_quiet(SVGuest *f, VMBusGuestChannel *ch)
{
    /* A few round trips through the main loop, then an empty ring. */
    for (int i = 0; i < 10; i++) {
        g_assert_cmpuint(vmbus_guest_recv_ring_get(&f->g, ch,
                                                   VMBUS_GUEST_RING_WRITE),
                         ==, vmbus_guest_recv_ring_get(&f->g, ch,
                                                       VMBUS_GUEST_RING_READ));
        hvp_idle(10 * 1000);
    }
}

uint32_t sv_op(SVGuest *f, VMBusGuestChannel *ch, uint32_t op,
               const void *body, uint32_t body_len, SVPacket *reply)
{
    uint8_t pkt[SV_PKT_SIZE];
    uint32_t size = sv_pkt_size(f);
    SVPacket local;
    SVPacket *p = reply ? reply : &local;
    uint64_t id;

    sv_pkt_build(pkt, op, body, body_len);
    id = sv_send(f, ch, NULL, 0, pkt, size, false);
    sv_wait_completion(f, ch, id, p);
    /* The answer comes at the size of the version it settles. */
    if (ch != &f->ch) {
        /* Subchannels settle nothing. */
    } else if (op == SV_OP_BEGIN_INITIALIZATION) {
        f->version = 0;
    } else if (op == SV_OP_QUERY_PROTOCOL_VERSION && !sv_pkt_status(p)) {
        f->version = lduw_le_p(body);
        size = sv_pkt_size(f);
    }
    g_assert_cmpuint(p->len, ==, size);
    return sv_pkt_status(p);
}

uint32_t sv_srb_build(SVGuest *f, const SVRequest *r, uint8_t *pkt)
{
    uint32_t flags = SV_SRB_FLAGS_DISABLE_SYNCH_TRANSFER;

    if (r->data_in == SV_DATA_READ) {
        flags |= SV_SRB_FLAGS_DATA_IN;
    } else if (r->data_in == SV_DATA_WRITE) {
        flags |= SV_SRB_FLAGS_DATA_OUT;
    }
    sv_pkt_build(pkt, SV_OP_EXECUTE_SRB, NULL, 0);
    stw_le_p(pkt + SV_SRB_LENGTH, SV_SRB_SIZE);
    pkt[SV_SRB_PORT] = 2;
    pkt[SV_SRB_PATH] = r->path;
    pkt[SV_SRB_TARGET] = r->target;
    pkt[SV_SRB_LUN] = r->lun;
    pkt[SV_SRB_CDB_LENGTH] = r->cdb_len;
    pkt[SV_SRB_SENSE_LENGTH] = r->sense_len ? r->sense_len : SV_SENSE_SIZE;
    pkt[SV_SRB_DATA_IN] = r->data_in;
    stl_le_p(pkt + SV_SRB_XFER_LENGTH, r->xfer);
    memcpy(pkt + SV_SRB_CDB, r->cdb, MIN(r->cdb_len, sizeof(r->cdb)));
    /* The Windows 8 extension, whatever the version (as Linux does). */
    stl_le_p(pkt + SV_SRB_FLAGS, flags);
    stl_le_p(pkt + SV_SRB_TIMEOUT, 60);
    return r->pkt_len ? r->pkt_len : sv_pkt_size(f);
}

/* The range's offset in its first page, and how many pages it spans. */
static uint32_t range_offset(const SVRequest *r)
{
    return r->pfns ? r->buf : r->buf % SV_PAGE;
}

static uint32_t range_pages(const SVRequest *r)
{
    return DIV_ROUND_UP(range_offset(r) + r->buf_len, SV_PAGE);
}

static uint64_t range_pfn(const SVRequest *r, uint32_t i)
{
    return r->pfns ? r->pfns[i] : r->buf / SV_PAGE + i;
}

uint32_t sv_srb_ext(const SVRequest *r, uint8_t *ext)
{
    uint32_t n = range_pages(r);

    /* vmbus_gpa_direct: reserved, rangecount, then the one range. */
    stl_le_p(ext, 0);
    stl_le_p(ext + 4, 1);
    stl_le_p(ext + 8, r->buf_len);
    stl_le_p(ext + 12, range_offset(r));
    for (uint32_t i = 0; i < n; i++) {
        stq_le_p(ext + 16 + 8 * i, range_pfn(r, i));
    }
    return 16 + 8 * n;
}

uint64_t sv_srb_send(SVGuest *f, VMBusGuestChannel *ch, const SVRequest *r)
{
    uint8_t pkt[SV_PKT_SIZE];
    uint32_t len = sv_srb_build(f, r, pkt);
    g_autofree uint8_t *ext = NULL;
    uint32_t ext_len = 0;

    if (r->buf_len) {
        ext = g_malloc(16 + 8 * range_pages(r));
        ext_len = sv_srb_ext(r, ext);
    }
    return sv_send(f, ch, ext, ext_len, pkt, len, false);
}

void sv_srb(SVGuest *f, VMBusGuestChannel *ch, const SVRequest *r,
            SVPacket *reply)
{
    uint64_t id = sv_srb_send(f, ch, r);

    sv_wait_completion(f, ch, id, reply);
    g_assert_cmpuint(reply->len, ==, sv_pkt_size(f));
}

/* Copies between @data and the range's bytes, page by page. */
static void buf_rw(SVGuest *f, const SVRequest *r, void *data, uint32_t len,
                   bool write)
{
    uint32_t off = range_offset(r), done = 0;
    uint8_t *p = data;

    g_assert_cmpuint(len, <=, r->buf_len);
    for (uint32_t i = 0; done < len; i++) {
        uint64_t gpa = range_pfn(r, i) * SV_PAGE + (i ? 0 : off);
        uint32_t chunk = MIN(len - done, SV_PAGE - (i ? 0 : off));

        if (write) {
            qtest_bufwrite(f->qts, gpa, p + done, chunk);
        } else {
            qtest_bufread(f->qts, gpa, p + done, chunk);
        }
        done += chunk;
    }
}

void sv_buf_write(SVGuest *f, const SVRequest *r, const void *data,
                  uint32_t len)
{
    buf_rw(f, r, (void *)data, len, true);
}

void sv_buf_read(SVGuest *f, const SVRequest *r, void *data, uint32_t len)
{
    buf_rw(f, r, data, len, false);
}

static void assert_good(const SVPacket *p)
{
    g_assert_cmphex(sv_pkt_status(p), ==, 0);
    g_assert_cmphex(p->data[SV_SRB_SRB_STATUS], ==, SV_SRB_SUCCESS);
    g_assert_cmphex(p->data[SV_SRB_SCSI_STATUS], ==, SV_SCSI_GOOD);
}

uint32_t sv_inquiry(SVGuest *f, uint8_t path, uint8_t target, uint8_t lun,
                    uint64_t gpa, uint8_t *data)
{
    SVRequest r = {
        .path = path, .target = target, .lun = lun,
        .cdb = { SV_INQUIRY, 0, 0, 0, 36, 0 }, .cdb_len = 6,
        .data_in = SV_DATA_READ, .xfer = 36, .buf = gpa, .buf_len = 36,
    };
    SVPacket p;

    qtest_memset(f->qts, gpa, 0xcc, 36);
    sv_srb(f, &f->ch, &r, &p);
    assert_good(&p);
    sv_buf_read(f, &r, data, 36);
    return sv_pkt_xfer(&p);
}

int sv_report_luns(SVGuest *f, uint8_t path, uint8_t target,
                   uint8_t lun, uint64_t gpa, uint16_t *luns, int max)
{
    SVRequest r = {
        .path = path, .target = target, .lun = lun,
        .cdb = { SV_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0 },
        .cdb_len = 12, .data_in = SV_DATA_READ, .xfer = 256, .buf = gpa,
        .buf_len = 256,
    };
    uint8_t data[256];
    uint32_t list;
    SVPacket p;

    qtest_memset(f->qts, gpa, 0xcc, sizeof(data));
    sv_srb(f, &f->ch, &r, &p);
    assert_good(&p);
    sv_buf_read(f, &r, data, sizeof(data));
    list = ldl_be_p(data);
    g_assert_cmpuint(list % 8, ==, 0);
    /* All of it, and the completion says how much that was. */
    g_assert_cmpuint(sv_pkt_xfer(&p), ==, 8 + list);
    g_assert_cmpuint(list / 8, <=, max);
    for (uint32_t i = 0; i < list / 8; i++) {
        /* Single level, peripheral device addressing. */
        g_assert_cmpuint(ldq_be_p(data + 8 + 8 * i) & 0xc000ffffffffffffull,
                         ==, 0);
        luns[i] = lduw_be_p(data + 8 + 8 * i) & 0x3fff;
    }
    return list / 8;
}

uint8_t sv_test_unit_ready(SVGuest *f, VMBusGuestChannel *ch, uint8_t path,
                           uint8_t target, uint8_t lun, SVPacket *reply)
{
    SVRequest r = {
        .path = path, .target = target, .lun = lun,
        .cdb = { SV_TEST_UNIT_READY }, .cdb_len = 6,
        .data_in = SV_DATA_NONE,
    };
    SVPacket local;
    SVPacket *p = reply ? reply : &local;

    sv_srb(f, ch, &r, p);
    g_assert_cmphex(sv_pkt_status(p), ==, 0);
    return p->data[SV_SRB_SRB_STATUS];
}

void sv_clear_unit_attention(SVGuest *f, uint8_t lun)
{
    SVPacket p;

    for (int i = 0; i < 4; i++) {
        uint8_t srb_status = sv_test_unit_ready(f, &f->ch, 0, 0, lun, &p);

        if (srb_status == SV_SRB_SUCCESS) {
            g_assert_cmphex(p.data[SV_SRB_SCSI_STATUS], ==, SV_SCSI_GOOD);
            return;
        }
        /* CHECK CONDITION with sense: key UNIT ATTENTION. */
        g_assert_cmphex(srb_status, ==,
                        SV_SRB_ERROR | SV_SRB_AUTOSENSE_VALID);
        g_assert_cmphex(p.data[SV_SRB_SCSI_STATUS], ==,
                        SV_SCSI_CHECK_CONDITION);
        g_assert_cmphex(p.data[SV_SRB_CDB] & 0x7f, ==, 0x70);
        g_assert_cmphex(p.data[SV_SRB_CDB + 2] & 0xf, ==, 6);
    }
    g_assert_not_reached();
}

void sv_assert_alive(SVGuest *f, VMBusGuestChannel *ch)
{
    SVRequest r = {
        .cdb = { SV_INQUIRY, 0, 0, 0, 36, 0 }, .cdb_len = 6,
        .data_in = SV_DATA_READ, .xfer = 36,
        .buf = SV_DATA_GPA + 0x3f0000, .buf_len = 36,
    };
    uint8_t data[36];
    SVPacket p;

    qtest_memset(f->qts, r.buf, 0, sizeof(data));
    sv_srb(f, ch, &r, &p);
    assert_good(&p);
    g_assert_cmpuint(sv_pkt_xfer(&p), ==, 36);
    sv_buf_read(f, &r, data, sizeof(data));
    g_assert_cmpmem(data + 8, 4, "QEMU", 4);
}

void sv_cdb_rw10(SVRequest *r, bool write, uint32_t lba, uint16_t nblocks)
{
    memset(r->cdb, 0, sizeof(r->cdb));
    r->cdb[0] = write ? 0x2a : 0x28;
    stl_be_p(r->cdb + 2, lba);
    stw_be_p(r->cdb + 7, nblocks);
    r->cdb_len = 10;
    r->data_in = write ? SV_DATA_WRITE : SV_DATA_READ;
    r->xfer = nblocks * SV_SECTOR;
}

void sv_cdb_rw16(SVRequest *r, bool write, uint64_t lba, uint32_t nblocks)
{
    memset(r->cdb, 0, sizeof(r->cdb));
    r->cdb[0] = write ? 0x8a : 0x88;
    stq_be_p(r->cdb + 2, lba);
    stl_be_p(r->cdb + 10, nblocks);
    r->cdb_len = 16;
    r->data_in = write ? SV_DATA_WRITE : SV_DATA_READ;
    r->xfer = nblocks * SV_SECTOR;
}
