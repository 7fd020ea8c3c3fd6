/*
 * qtest: hv-scsi, the synthetic SCSI controller (qemu-vmbus)
 *
 * The test is Linux's storvsc (vmbus-storvsc-guest.h): it initializes the
 * controller at each protocol version, runs SCSI commands on a raw image
 * it made itself and checks the data against the file, probes addresses
 * where nothing is, hot plugs LUNs, opens subchannels, sends malformed
 * packets, and migrates with requests whose completions wait for room or
 * for a retry.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qtest-util.h"
#include "vmbus-storvsc-guest.h"

#define IMG_SIZE        (8 * MiB)
#define IMG_BLOCKS      (IMG_SIZE / SV_SECTOR)

/* The test's disk, LUN 0; %s is the image. */
#define DISK_ARGS       "-drive if=none,id=d0,file=%s,format=raw," \
                        "cache=writethrough%s " \
                        "-device scsi-hd,bus=scsi.0,drive=d0,channel=0," \
                        "scsi-id=0,lun=0,id=lun0"

/* The same on a slow disk: blkdebug holds every read %d ms. */
#define SLOW_DISK_ARGS  "-drive if=none,id=d0,format=raw," \
                        "cache=writethrough,file.driver=blkdebug," \
                        "file.image.filename=%s," \
                        "file.inject-error.0.event=read_aio," \
                        "file.inject-error.0.errno=0," \
                        "file.inject-error.0.delay-ns=%d000000," \
                        "file.inject-error.0.immediately=on " \
                        "-device scsi-hd,bus=scsi.0,drive=d0,channel=0," \
                        "scsi-id=0,lun=0,id=lun0"

/* Where a test's commands put their data. */
#define BUF             SV_DATA_GPA

/* The byte at offset @x of the test's image. */
static uint8_t img_byte(uint64_t x)
{
    return x ^ ((x >> 9) * 0x3b) ^ (x >> 17);
}

/* Makes an image of IMG_SIZE bytes of img_byte(); returns its path. */
static char *img_create(void)
{
    g_autofree uint8_t *data = g_malloc(IMG_SIZE);
    char *path;
    int fd = g_file_open_tmp("hv-scsi-test-XXXXXX.raw", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    for (uint32_t i = 0; i < IMG_SIZE; i++) {
        data[i] = img_byte(i);
    }
    g_assert_true(g_file_set_contents(path, (char *)data, IMG_SIZE, NULL));
    return path;
}

static void img_pread(const char *path, uint64_t offset, void *buf,
                      size_t len)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, len, offset), ==, len);
    close(fd);
}

/* Asserts @len bytes of the image from @offset are still img_byte(). */
static void img_assert_pristine(const char *path, uint64_t offset,
                                size_t len)
{
    g_autofree uint8_t *data = g_malloc(len);

    img_pread(path, offset, data, len);
    for (size_t i = 0; i < len; i++) {
        if (data[i] != img_byte(offset + i)) {
            g_error("image byte %" PRIu64 " changed", offset + i);
        }
    }
}

/* Boots with one disk on a new image, initialized at @version. */
static char *start_with_disk(SVGuest *f, const char *props,
                             uint16_t version)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");

    sv_start(f, props, args, version);
    sv_clear_unit_attention(f, 0);
    return img;
}

static void finish(SVGuest *f, char *img)
{
    qtest_quit(f->qts);
    unlink(img);
    g_free(img);
}

static void assert_good(const SVPacket *p, uint32_t xfer)
{
    g_assert_cmphex(sv_pkt_status(p), ==, 0);
    g_assert_cmphex(p->data[SV_SRB_SRB_STATUS], ==, SV_SRB_SUCCESS);
    g_assert_cmphex(p->data[SV_SRB_SCSI_STATUS], ==, SV_SCSI_GOOD);
    g_assert_cmpuint(sv_pkt_xfer(p), ==, xfer);
}

/* A CHECK CONDITION whose sense says @key and @asc. */
static void assert_sense(const SVPacket *p, uint8_t key, uint8_t asc)
{
    g_assert_cmphex(sv_pkt_status(p), ==, 0);
    g_assert_cmphex(p->data[SV_SRB_SRB_STATUS], ==,
                    SV_SRB_ERROR | SV_SRB_AUTOSENSE_VALID);
    g_assert_cmphex(p->data[SV_SRB_SCSI_STATUS], ==,
                    SV_SCSI_CHECK_CONDITION);
    g_assert_cmpuint(p->data[SV_SRB_SENSE_LENGTH], >=, 14);
    g_assert_cmpuint(p->data[SV_SRB_SENSE_LENGTH], <=, SV_SENSE_SIZE);
    g_assert_cmphex(p->data[SV_SRB_CDB] & 0x7f, ==, 0x70);
    g_assert_cmphex(p->data[SV_SRB_CDB + 2] & 0xf, ==, key);
    g_assert_cmphex(p->data[SV_SRB_CDB + 12], ==, asc);
}

/* The request's answer: refused with @srb_status, nothing moved. */
static void assert_refused(SVGuest *f, VMBusGuestChannel *ch,
                           const SVRequest *r, uint8_t srb_status)
{
    SVPacket p;

    sv_srb(f, ch, r, &p);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, srb_status);
    g_assert_cmpuint(sv_pkt_xfer(&p), ==, 0);
    sv_assert_alive(f, ch);
}

static void assert_luns(SVGuest *f, uint8_t path, uint8_t target,
                        uint8_t lun, const uint16_t *want, int n)
{
    uint16_t luns[16];

    g_assert_cmpint(sv_report_luns(f, path, target, lun, BUF, luns, 16), ==,
                    n);
    for (int i = 0; i < n; i++) {
        g_assert_cmpuint(luns[i], ==, want[i]);
    }
}

/* ENUMERATE_BUS, unasked: the host's in-band packet, transaction 0. */
static void assert_rescan(SVGuest *f)
{
    SVPacket p;

    g_assert_true(sv_recv(f, &f->ch, &p));
    g_assert_cmpuint(p.type, ==, VMBUS_GUEST_PKT_INBAND);
    g_assert_cmphex(p.trans_id, ==, 0);
    g_assert_cmpuint(p.len, ==, sv_pkt_size(f));
    g_assert_cmpuint(sv_pkt_op(&p), ==, SV_OP_ENUMERATE_BUS);
}

/*
 * Initialization
 * --------------
 */

typedef struct InitCase {
    uint16_t version;
    const char *props;
    uint32_t max_transfer;
    uint16_t subchannels;
} InitCase;

static const InitCase init_cases[] = {
    { SV_VERSION_WIN6, "", 2 * MiB, 8 },
    { SV_VERSION_WIN7, ",max-transfer=1M", 1 * MiB, 8 },
    { SV_VERSION_WIN8, ",max-transfer=64K,max-subchannels=3", 64 * KiB, 3 },
    { SV_VERSION_WIN8_1, ",max-subchannels=0", 2 * MiB, 0 },
    { SV_VERSION_WIN10, "", 2 * MiB, 8 },
};

/*
 * storvsc's initialization at one version: packets before 5.1 are 48
 * bytes both ways, and subchannels come with 5.1.
 */
static void test_init(const void *data)
{
    const InitCase *c = data;
    bool win8 = c->version >= SV_VERSION_WIN8;
    uint32_t size = win8 ? SV_PKT_SIZE : SV_PKT_SIZE_WIN7;
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    SVRequest inquiry = {
        .cdb = { 0x12, 0, 0, 0, 36, 0 }, .cdb_len = 6,
        .data_in = SV_DATA_READ, .xfer = 36, .buf = BUF, .buf_len = 36,
        .pkt_len = SV_PKT_SIZE,
    };
    uint8_t body[4], inq[36];
    uint16_t count;
    SVGuest f;
    SVPacket p;

    sv_boot(&f, c->props, args);
    sv_open(&f);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_BEGIN_INITIALIZATION, NULL, 0,
                          &p), ==, 0);
    g_assert_cmpuint(p.len, ==, SV_PKT_SIZE);
    stw_le_p(body, c->version);
    stw_le_p(body + 2, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROTOCOL_VERSION, body,
                          sizeof(body), &p), ==, 0);
    g_assert_cmpuint(p.len, ==, size);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROPERTIES, NULL, 0, &p),
                    ==, 0);
    g_assert_cmpuint(p.len, ==, size);
    g_assert_cmpuint(ldl_le_p(p.data + 24), ==, c->max_transfer);
    if (win8 && c->subchannels) {
        g_assert_cmpuint(lduw_le_p(p.data + 16), ==, c->subchannels);
        g_assert_cmphex(ldl_le_p(p.data + 20), ==, SV_PROPERTY_MULTI_CHANNEL);
    } else {
        g_assert_cmpuint(lduw_le_p(p.data + 16), ==, 0);
        g_assert_cmphex(ldl_le_p(p.data + 20), ==, 0);
    }
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          &p), ==, 0);
    g_assert_cmpuint(p.len, ==, size);

    /* SRBs of the version's size, the sense within it... */
    sv_clear_unit_attention(&f, 0);
    g_assert_cmpuint(sv_inquiry(&f, 0, 0, 0, BUF, inq), ==, 36);
    g_assert_cmpmem(inq + 8, 8, "QEMU    ", 8);
    /* ... and of 5.1's, as Linux sends whatever the version. */
    memset(inq, 0, sizeof(inq));
    sv_srb(&f, &f.ch, &inquiry, &p);
    assert_good(&p, 36);
    sv_buf_read(&f, &inquiry, inq, sizeof(inq));
    g_assert_cmpmem(inq + 8, 8, "QEMU    ", 8);

    /* More subchannels than offered, or any before 5.1: refused. */
    stw_le_p(&count, win8 ? c->subchannels + 1 : 1);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, &count,
                          sizeof(count), NULL), !=, 0);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/* An SRB's answer before the controller is initialized: an error. */
static void assert_srb_too_early(SVGuest *f)
{
    SVRequest tur = { .cdb_len = 6, .data_in = SV_DATA_NONE };
    SVPacket p;

    sv_srb(f, &f->ch, &tur, &p);
    g_assert_cmphex(sv_pkt_status(&p), !=, 0);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], !=, SV_SRB_SUCCESS);
}

/*
 * The order storvsc keeps, and what comes out of order: refused, and the
 * controller still initializes after. Linux tries its versions one after
 * another until one is accepted.
 */
static void test_init_order(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    uint8_t version[4] = { 0 };
    uint16_t count;
    SVGuest f;
    SVPacket p;

    stw_le_p(&count, 1);
    sv_boot(&f, "", args);
    sv_open(&f);
    /* Before BEGIN_INITIALIZATION, nothing else. */
    stw_le_p(version, SV_VERSION_WIN10);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROTOCOL_VERSION, version,
                          4, NULL), !=, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROPERTIES, NULL, 0, NULL),
                    !=, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          NULL), !=, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, &count, 2,
                          NULL), !=, 0);
    assert_srb_too_early(&f);

    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_BEGIN_INITIALIZATION, NULL, 0,
                          NULL), ==, 0);
    /* Properties and the end want a version. */
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROPERTIES, NULL, 0, NULL),
                    !=, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          NULL), !=, 0);
    /* Versions the host does not speak, answered at the full size. */
    stw_le_p(version, 0x0300);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROTOCOL_VERSION, version,
                          4, &p), !=, 0);
    g_assert_cmpuint(p.len, ==, SV_PKT_SIZE);
    stw_le_p(version, 0x0603);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROTOCOL_VERSION, version,
                          4, NULL), !=, 0);
    stw_le_p(version, SV_VERSION_WIN10);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROTOCOL_VERSION, version,
                          4, NULL), ==, 0);
    /* Not initialized before END_INITIALIZATION. */
    assert_srb_too_early(&f);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, &count, 2,
                          NULL), !=, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_QUERY_PROPERTIES, NULL, 0, NULL),
                    ==, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          NULL), ==, 0);
    /* Once is enough. */
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_END_INITIALIZATION, NULL, 0,
                          NULL), !=, 0);
    sv_assert_alive(&f, &f.ch);

    /* Starting over, as a kexec'd kernel does, at another version. */
    sv_init(&f, SV_VERSION_WIN7);
    sv_assert_alive(&f, &f.ch);

    /* A channel opened again starts a new session. */
    vmbus_guest_close(&f.g, &f.ch);
    f.ch.gpadl++;
    sv_open(&f);
    f.version = 0;
    assert_srb_too_early(&f);
    sv_init(&f, SV_VERSION_WIN10);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * Commands
 * --------
 */

/* INQUIRY, a first unit attention, READ CAPACITY (10) and (16). */
static void test_inquiry_capacity(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    SVRequest cap10 = {
        .cdb = { 0x25 }, .cdb_len = 10,
        .data_in = SV_DATA_READ, .xfer = 8, .buf = BUF, .buf_len = 8,
    };
    SVRequest cap16 = {
        .cdb = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 },
        .cdb_len = 16,
        .data_in = SV_DATA_READ, .xfer = 32, .buf = BUF, .buf_len = 32,
    };
    uint8_t data[36];
    SVGuest f;
    SVPacket p;

    sv_start(&f, "", args, SV_VERSION_WIN10);
    g_assert_cmpuint(sv_inquiry(&f, 0, 0, 0, BUF, data), ==, 36);
    g_assert_cmphex(data[0], ==, 0);                    /* a disk, here */
    g_assert_cmpmem(data + 8, 8, "QEMU    ", 8);
    g_assert_cmpmem(data + 16, 16, "QEMU HARDDISK   ", 16);

    /* The reset at power on, told once. */
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 0, &p), ==,
                    SV_SRB_ERROR | SV_SRB_AUTOSENSE_VALID);
    assert_sense(&p, 6, 0x29);
    g_assert_cmpuint(sv_pkt_xfer(&p), ==, 0);
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 0, &p), ==,
                    SV_SRB_SUCCESS);

    sv_srb(&f, &f.ch, &cap10, &p);
    assert_good(&p, 8);
    sv_buf_read(&f, &cap10, data, 8);
    g_assert_cmpuint(ldl_be_p(data), ==, IMG_BLOCKS - 1);
    g_assert_cmpuint(ldl_be_p(data + 4), ==, SV_SECTOR);

    qtest_memset(f.qts, BUF, 0xcc, 64);
    sv_srb(&f, &f.ch, &cap16, &p);
    assert_good(&p, 32);
    sv_buf_read(&f, &cap16, data, 12);
    g_assert_cmpuint(ldq_be_p(data), ==, IMG_BLOCKS - 1);
    g_assert_cmpuint(ldl_be_p(data + 8), ==, SV_SECTOR);
    g_assert_cmphex(qtest_readb(f.qts, BUF + 32), ==, 0xcc);
    finish(&f, img);
}

typedef struct RWCase {
    uint32_t lba, blocks;
    uint32_t offset;            /* in the first page */
    bool scattered;             /* pages in reverse order */
    bool cdb16;
} RWCase;

static const RWCase rw_cases[] = {
    { 0, 1, 0 },
    { 2, 1, 3800 },                             /* across two pages */
    { 100, 8, 512 },
    { 1000, 64, 100, true },                    /* 17 pages */
    { IMG_BLOCKS - 8, 8, 4000, false, true },   /* the last blocks */
    { 4096, 4096, 0 },                          /* 2 MiB, the most */
    { 10000, 4096, 1000, true, true },          /* the same on 513 pages */
};

#define RW_MAX_PAGES    (2 * MiB / SV_PAGE + 1)

static void rw_request(SVRequest *r, const RWCase *c, bool write,
                       uint64_t *pfns)
{
    uint32_t len = c->blocks * SV_SECTOR;

    memset(r, 0, sizeof(*r));
    if (c->cdb16) {
        sv_cdb_rw16(r, write, c->lba, c->blocks);
    } else {
        sv_cdb_rw10(r, write, c->lba, c->blocks);
    }
    r->buf_len = len;
    if (c->scattered) {
        uint32_t n = DIV_ROUND_UP(c->offset + len, SV_PAGE);

        /* No page follows the one before it. */
        for (uint32_t i = 0; i < n; i++) {
            pfns[i] = BUF / SV_PAGE + n - 1 - i;
        }
        r->pfns = pfns;
        r->buf = c->offset;
    } else {
        r->buf = BUF + c->offset;
    }
}

/* What the test writes at byte @i of case @c. */
static uint8_t written_byte(const RWCase *c, uint32_t i)
{
    return (i * 7 + c->lba) ^ 0xa5;
}

/*
 * READ and WRITE (10) and (16), from one block to the most a request may
 * move, on ranges with an offset and on pages in any order; the data
 * checked against the image file, the guest memory around the range
 * untouched.
 */
static void test_read_write(void)
{
    SVGuest f;
    char *img = start_with_disk(&f, "", SV_VERSION_WIN10);
    g_autofree uint64_t *pfns = g_new(uint64_t, RW_MAX_PAGES);
    g_autofree uint8_t *buf = g_malloc(2 * MiB);
    g_autofree uint8_t *want = g_malloc(2 * MiB);
    SVRequest r = { 0 };
    SVPacket p;

    g_assert_cmpuint(f.max_transfer, ==, 2 * MiB);
    for (int i = 0; i < ARRAY_SIZE(rw_cases); i++) {
        const RWCase *c = &rw_cases[i];
        uint32_t len = c->blocks * SV_SECTOR;

        rw_request(&r, c, false, pfns);
        qtest_memset(f.qts, BUF, 0xcc, RW_MAX_PAGES * SV_PAGE + SV_PAGE);
        sv_srb(&f, &f.ch, &r, &p);
        assert_good(&p, len);
        sv_buf_read(&f, &r, buf, len);
        for (uint32_t j = 0; j < len; j++) {
            want[j] = img_byte((uint64_t)c->lba * SV_SECTOR + j);
        }
        g_assert_cmpmem(buf, len, want, len);
        if (!c->scattered) {
            g_assert_cmphex(qtest_readb(f.qts, BUF + c->offset + len), ==,
                            0xcc);
            if (c->offset) {
                g_assert_cmphex(qtest_readb(f.qts, BUF + c->offset - 1), ==,
                                0xcc);
            }
        }
    }

    for (int i = 0; i < ARRAY_SIZE(rw_cases); i++) {
        const RWCase *c = &rw_cases[i];
        uint64_t at = (uint64_t)c->lba * SV_SECTOR;
        uint32_t len = c->blocks * SV_SECTOR;

        for (uint32_t j = 0; j < len; j++) {
            buf[j] = written_byte(c, j);
        }
        rw_request(&r, c, true, pfns);
        sv_buf_write(&f, &r, buf, len);
        sv_srb(&f, &f.ch, &r, &p);
        assert_good(&p, len);
        /* In the file (write-through), and nothing beside it. */
        img_pread(img, at, want, len);
        g_assert_cmpmem(want, len, buf, len);
        if (c->lba) {
            img_assert_pristine(img, at - SV_SECTOR, SV_SECTOR);
        }
        if (c->lba + c->blocks < IMG_BLOCKS) {
            img_assert_pristine(img, at + len, SV_SECTOR);
        }
        /* Read back through the controller. */
        rw_request(&r, c, false, pfns);
        qtest_memset(f.qts, BUF, 0, RW_MAX_PAGES * SV_PAGE);
        sv_srb(&f, &f.ch, &r, &p);
        assert_good(&p, len);
        sv_buf_read(&f, &r, want, len);
        g_assert_cmpmem(want, len, buf, len);
    }

    /* A buffer larger than the CDB moves: the completion says how much. */
    sv_cdb_rw10(&r, false, 7, 1);
    r.xfer = SV_PAGE;
    r.buf = BUF;
    r.buf_len = SV_PAGE;
    r.pfns = NULL;
    qtest_memset(f.qts, BUF, 0xcc, SV_PAGE);
    sv_srb(&f, &f.ch, &r, &p);
    assert_good(&p, SV_SECTOR);
    g_assert_cmphex(qtest_readb(f.qts, BUF + SV_SECTOR - 1), ==,
                    img_byte(8 * SV_SECTOR - 1));
    g_assert_cmphex(qtest_readb(f.qts, BUF + SV_SECTOR), ==, 0xcc);

    /* The disk's own errors: sense, as much as the guest asked for. */
    sv_cdb_rw10(&r, false, IMG_BLOCKS, 1);
    r.buf = BUF;
    r.buf_len = SV_SECTOR;
    r.pfns = NULL;
    sv_srb(&f, &f.ch, &r, &p);
    assert_sense(&p, 5, 0x21);                  /* LBA out of range */
    r.sense_len = 8;
    sv_srb(&f, &f.ch, &r, &p);
    g_assert_cmphex(p.data[SV_SRB_SCSI_STATUS], ==, SV_SCSI_CHECK_CONDITION);
    g_assert_cmpuint(p.data[SV_SRB_SENSE_LENGTH], ==, 8);
    g_assert_cmphex(p.data[SV_SRB_CDB + 2] & 0xf, ==, 5);
    r.sense_len = 0xff;
    sv_srb(&f, &f.ch, &r, &p);
    assert_sense(&p, 5, 0x21);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * Addresses where nothing is: Linux scans every path and target, and
 * expects INQUIRY to answer "no device", REPORT LUNS an empty list and
 * other commands INVALID_LUN.
 */
static void test_absent(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(
        DISK_ARGS " -blockdev driver=null-co,node-name=n2,size=1048576,"
        "read-zeroes=on -device scsi-hd,bus=scsi.0,drive=n2,channel=0,"
        "scsi-id=0,lun=2", img, "");
    static const uint16_t present[] = { 0, 2 };
    static const uint8_t nowhere[][3] = {
        { 3, 1, 0 }, { 0, 1, 0 }, { 7, 0, 0 }, { 1, 0, 2 },
    };
    uint8_t data[36];
    SVRequest read = { .buf = BUF, .buf_len = SV_SECTOR };
    SVGuest f;
    SVPacket p;

    sv_start(&f, "", args, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    for (int i = 0; i < ARRAY_SIZE(nowhere); i++) {
        const uint8_t *a = nowhere[i];

        g_assert_cmpuint(sv_inquiry(&f, a[0], a[1], a[2], BUF, data), ==,
                         36);
        g_assert_cmphex(data[0], ==, 0x7f);
        assert_luns(&f, a[0], a[1], a[2], NULL, 0);
        g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, a[0], a[1], a[2], &p),
                        ==, SV_SRB_INVALID_LUN);
    }

    /* A target that is there, a LUN that is not. */
    g_assert_cmpuint(sv_inquiry(&f, 0, 0, 5, BUF, data), ==, 36);
    g_assert_cmphex(data[0], ==, 0x7f);
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 5, &p), ==,
                    SV_SRB_INVALID_LUN);
    sv_cdb_rw10(&read, false, 0, 1);
    read.lun = 5;
    qtest_memset(f.qts, BUF, 0xcc, SV_SECTOR);
    sv_srb(&f, &f.ch, &read, &p);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, SV_SRB_INVALID_LUN);
    g_assert_cmpuint(sv_pkt_xfer(&p), ==, 0);
    g_assert_cmphex(qtest_readb(f.qts, BUF), ==, 0xcc);
    read.path = 3;
    read.target = 1;
    read.lun = 0;
    sv_srb(&f, &f.ch, &read, &p);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, SV_SRB_INVALID_LUN);

    /* The target lists its LUNs, asked on LUN 0 (as SPC wants). */
    assert_luns(&f, 0, 0, 0, present, 2);
    memset(&read, 0, sizeof(read));
    read.lun = 5;
    read.cdb[0] = 0xa0;
    read.cdb[9] = 0x80;
    read.cdb_len = 12;
    read.data_in = SV_DATA_READ;
    read.xfer = 128;
    read.buf = BUF;
    read.buf_len = 128;
    sv_srb(&f, &f.ch, &read, &p);
    assert_sense(&p, 5, 0x25);                  /* LUN not supported */
    g_assert_cmpuint(sv_inquiry(&f, 0, 0, 2, BUF, data), ==, 36);
    g_assert_cmphex(data[0], ==, 0);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/* RESET_LUN, RESET_BUS and RESET_ADAPTER: the disk reports its reset. */
static void test_reset(void)
{
    static const uint32_t ops[] = {
        SV_OP_RESET_LUN, SV_OP_RESET_BUS, SV_OP_RESET_ADAPTER,
    };
    SVGuest f;
    char *img = start_with_disk(&f, "", SV_VERSION_WIN10);
    uint8_t srb[SV_PKT_SIZE - SV_PKT_HEADER] = { 0 };
    SVPacket p;

    for (int i = 0; i < ARRAY_SIZE(ops); i++) {
        g_assert_cmphex(sv_op(&f, &f.ch, ops[i], srb, sizeof(srb), NULL), ==,
                        0);
        g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 0, &p), ==,
                        SV_SRB_ERROR | SV_SRB_AUTOSENSE_VALID);
        assert_sense(&p, 6, 0x29);
        sv_clear_unit_attention(&f, 0);
    }
    /* A LUN reset for another LUN leaves this one alone. */
    srb[SV_SRB_LUN - SV_PKT_HEADER] = 5;
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_RESET_LUN, srb, sizeof(srb), NULL),
                    ==, 0);
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 0, &p), ==,
                    SV_SRB_SUCCESS);
    finish(&f, img);
}

/*
 * Hot plug
 * --------
 */

static void add_lun(SVGuest *f, int lun)
{
    g_autofree char *node = g_strdup_printf("n%d", lun);
    g_autofree char *id = g_strdup_printf("lun%d", lun);

    qtest_qmp_assert_success(f->qts, "{'execute': 'blockdev-add',"
                             " 'arguments': {'driver': 'null-co',"
                             " 'node-name': %s, 'size': 4194304,"
                             " 'read-zeroes': true}}", node);
    qtest_qmp_assert_success(f->qts, "{'execute': 'device_add',"
                             " 'arguments': {'driver': 'scsi-hd',"
                             " 'id': %s, 'bus': 'scsi.0', 'drive': %s,"
                             " 'channel': 0, 'scsi-id': 0, 'lun': %d}}",
                             id, node, lun);
}

static void del_lun(SVGuest *f, int lun)
{
    g_autofree char *id = g_strdup_printf("lun%d", lun);

    qtest_qmp_assert_success(f->qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': %s}}", id);
    qtest_qmp_eventwait(f->qts, "DEVICE_DELETED");
}

/*
 * A LUN added or removed: the host tells the guest to rescan with an
 * unasked ENUMERATE_BUS, once the guest is initialized.
 */
static void test_hotplug(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    static const uint16_t before[] = { 0, 2 }, after[] = { 0, 1, 2 };
    SVRequest cap10 = {
        .lun = 1, .cdb = { 0x25 }, .cdb_len = 10,
        .data_in = SV_DATA_READ, .xfer = 8, .buf = BUF, .buf_len = 8,
    };
    uint8_t data[36];
    SVGuest f;
    SVPacket p;

    sv_boot(&f, "", args);
    sv_open(&f);
    /* Before initialization: the guest scans then, nothing is said. */
    add_lun(&f, 2);
    sv_assert_quiet(&f, &f.ch);
    sv_init(&f, SV_VERSION_WIN10);
    sv_assert_quiet(&f, &f.ch);
    assert_luns(&f, 0, 0, 0, before, 2);

    add_lun(&f, 1);
    assert_rescan(&f);
    assert_luns(&f, 0, 0, 0, after, 3);
    g_assert_cmpuint(sv_inquiry(&f, 0, 0, 1, BUF, data), ==, 36);
    g_assert_cmphex(data[0], ==, 0);
    sv_clear_unit_attention(&f, 1);
    sv_srb(&f, &f.ch, &cap10, &p);
    assert_good(&p, 8);
    sv_buf_read(&f, &cap10, data, 8);
    g_assert_cmpuint(ldl_be_p(data), ==, 4 * MiB / SV_SECTOR - 1);

    del_lun(&f, 1);
    assert_rescan(&f);
    assert_luns(&f, 0, 0, 0, before, 2);
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 1, &p), ==,
                    SV_SRB_INVALID_LUN);
    sv_assert_quiet(&f, &f.ch);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * Subchannels
 * -----------
 */

/* An empty SynIC message slot on VP 0: no offer came. */
static void assert_no_offer(SVGuest *f)
{
    g_usleep(50 * 1000);
    g_assert_cmpuint(qtest_readl(f->qts, HVP_SIMP(0) + SV_SINT * 256), ==,
                     0);
}

static void read_on(SVGuest *f, VMBusGuestChannel *ch, uint32_t lba,
                    uint64_t gpa, SVRequest *r)
{
    memset(r, 0, sizeof(*r));
    sv_cdb_rw10(r, false, lba, 8);
    r->buf = gpa;
    r->buf_len = 8 * SV_SECTOR;
    qtest_memset(f->qts, gpa, 0, r->buf_len);
}

static void assert_read_data(SVGuest *f, const SVRequest *r, uint32_t lba)
{
    g_autofree uint8_t *data = g_malloc(r->xfer);

    sv_buf_read(f, r, data, r->xfer);
    for (uint32_t i = 0; i < r->xfer; i++) {
        g_assert_cmphex(data[i], ==,
                        img_byte((uint64_t)lba * SV_SECTOR + i));
    }
}

/*
 * CREATE_SUB_CHANNELS: offers up to max-subchannels; each subchannel
 * carries SRBs, answered where they came, and nothing else.
 */
static void test_subchannels(void)
{
    static const uint32_t ops[] = {
        SV_OP_BEGIN_INITIALIZATION, SV_OP_QUERY_PROTOCOL_VERSION,
        SV_OP_QUERY_PROPERTIES, SV_OP_END_INITIALIZATION,
        SV_OP_CREATE_SUB_CHANNELS, SV_OP_RESET_BUS, SV_OP_RESET_LUN, 99,
    };
    SVGuest f;
    char *img = start_with_disk(&f, ",max-subchannels=2", SV_VERSION_WIN10);
    VMBusGuestChannel sc[3];
    uint8_t body[SV_PKT_SIZE - SV_PKT_HEADER] = { 0 };
    uint64_t id[3];
    SVRequest r[3] = { 0 };
    SVPacket p;

    g_assert_cmpuint(f.max_channels, ==, 2);
    g_assert_cmphex(f.prop_flags & SV_PROPERTY_MULTI_CHANNEL, ==,
                    SV_PROPERTY_MULTI_CHANNEL);
    stw_le_p(body, 3);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, body, 2,
                          NULL), !=, 0);
    stw_le_p(body, 0);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, body, 2,
                          NULL), !=, 0);
    assert_no_offer(&f);

    stw_le_p(body, 2);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, body, 2,
                          NULL), ==, 0);
    sc[0] = f.ch;
    sc[1] = sv_take_subchannel(&f, 1);
    sc[2] = sv_take_subchannel(&f, 2);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc[1], 1), ==, 0);
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc[2], 0), ==, 0);

    /* An SRB on each, answered on its own channel, events on its VP. */
    sv_assert_alive(&f, &sc[1]);
    g_assert_true(vmbus_guest_event(&f.g, &sc[1], 1));
    sv_assert_alive(&f, &sc[2]);
    g_assert_true(vmbus_guest_event(&f.g, &sc[2], 0));
    sv_assert_quiet(&f, &f.ch);

    /* All three at once. */
    for (int i = 0; i < 3; i++) {
        read_on(&f, &sc[i], 64 * i, BUF + i * 0x10000, &r[i]);
        id[i] = sv_srb_send(&f, &sc[i], &r[i]);
    }
    for (int i = 2; i >= 0; i--) {
        sv_wait_completion(&f, &sc[i], id[i], &p);
        assert_good(&p, 8 * SV_SECTOR);
        assert_read_data(&f, &r[i], 64 * i);
        sv_assert_quiet(&f, &sc[i]);
    }

    /* Only SRBs on a subchannel; the controller stays initialized. */
    for (int i = 0; i < ARRAY_SIZE(ops); i++) {
        stw_le_p(body, ops[i] == SV_OP_CREATE_SUB_CHANNELS ? 1 :
                 SV_VERSION_WIN10);
        g_assert_cmphex(sv_op(&f, &sc[1], ops[i], body, sizeof(body), NULL),
                        !=, 0);
    }
    g_assert_cmphex(sv_test_unit_ready(&f, &sc[1], 0, 0, 0, &p), ==,
                    SV_SRB_SUCCESS);
    sv_assert_alive(&f, &f.ch);

    /* Asking again offers nothing new. */
    stw_le_p(body, 2);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, body, 2,
                          NULL), ==, 0);
    assert_no_offer(&f);

    /* A subchannel closed leaves the rest alone. */
    vmbus_guest_close(&f.g, &sc[2]);
    sv_assert_alive(&f, &sc[1]);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * Malformed input
 * ---------------
 */

/* A VSTOR packet of @len bytes; returns the completion's status. */
static uint32_t send_short(SVGuest *f, uint32_t op, uint32_t len,
                           SVPacket *p)
{
    uint8_t pkt[SV_PKT_SIZE];
    SVRequest tur = { .cdb_len = 6, .data_in = SV_DATA_NONE };
    uint64_t id;

    sv_srb_build(f, &tur, pkt);
    stl_le_p(pkt, op);
    id = sv_send(f, &f->ch, NULL, 0, pkt, len, false);
    sv_wait_completion(f, &f->ch, id, p);
    g_assert_cmpuint(p->len, ==, sv_pkt_size(f));
    return sv_pkt_status(p);
}

/*
 * Every malformed request gets an answer that refuses it, moves no data,
 * and leaves the controller serving.
 */
static void test_malformed(void)
{
    /* Packets are whole quadwords: what the host sees is rounded up. */
    static const uint32_t short_lens[] = { 0, 4, 8 };
    static const uint32_t srb_lens[] = { 12, 24, 40 };
    static const uint32_t bad_ops[] = {
        SV_OP_COMPLETE_IO, SV_OP_REMOVE_DEVICE, SV_OP_ENUMERATE_BUS,
        SV_OP_FCHBA_DATA, 14, 99, 0xffffffff,
    };
    SVGuest f;
    char *img = start_with_disk(&f, ",max-transfer=64K", SV_VERSION_WIN10);
    uint8_t pkt[SV_PKT_SIZE], ext[16];
    SVRequest r = { 0 };
    SVPacket p;
    uint64_t id;

    g_assert_cmpuint(f.max_transfer, ==, 64 * KiB);
    /* Packets shorter than the VSTOR header. */
    for (int i = 0; i < ARRAY_SIZE(short_lens); i++) {
        g_assert_cmphex(send_short(&f, SV_OP_EXECUTE_SRB, short_lens[i], &p),
                        !=, 0);
        sv_assert_alive(&f, &f.ch);
    }
    /* SRB packets without the whole SRB. */
    for (int i = 0; i < ARRAY_SIZE(srb_lens); i++) {
        g_assert_cmphex(send_short(&f, SV_OP_EXECUTE_SRB, srb_lens[i], &p),
                        !=, 0);
        g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==,
                        SV_SRB_INVALID_REQUEST);
        sv_assert_alive(&f, &f.ch);
    }
    /* CREATE_SUB_CHANNELS without its count. */
    g_assert_cmphex(send_short(&f, SV_OP_CREATE_SUB_CHANNELS, 12, &p), !=, 0);
    /* Operations the host does not take. */
    for (int i = 0; i < ARRAY_SIZE(bad_ops); i++) {
        g_assert_cmphex(sv_op(&f, &f.ch, bad_ops[i], NULL, 0, NULL), !=, 0);
        sv_assert_alive(&f, &f.ch);
    }

    /* CDBs of no bytes or more than 16; a direction that is none. */
    sv_cdb_rw10(&r, false, 0, 1);
    r.buf = BUF;
    r.buf_len = SV_SECTOR;
    r.cdb_len = 0;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.cdb_len = 17;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.cdb_len = 10;
    r.data_in = 3;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);

    /* More than max-transfer, with a buffer to match. */
    sv_cdb_rw10(&r, false, 0, 64 * KiB / SV_SECTOR + 1);
    r.buf_len = r.xfer;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    /* Exactly max-transfer is fine. */
    sv_cdb_rw10(&r, false, 0, 64 * KiB / SV_SECTOR);
    r.buf_len = r.xfer;
    sv_srb(&f, &f.ch, &r, &p);
    assert_good(&p, 64 * KiB);

    /* Ranges beyond RAM and on the local APIC. */
    sv_cdb_rw10(&r, false, 0, 1);
    r.buf_len = SV_SECTOR;
    r.buf = 0x100000ull * SV_PAGE;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.buf = 0xfee00ull * SV_PAGE;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    /* A range across the end of RAM. */
    r.buf = 64 * MiB - 256;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.buf = BUF;

    /* A buffer smaller than the SRB says, or than the CDB moves. */
    qtest_memset(f.qts, BUF, 0xcc, 2 * SV_PAGE);
    sv_cdb_rw10(&r, false, 0, 8);
    r.buf_len = SV_SECTOR;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.xfer = SV_SECTOR;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    for (int i = 0; i < 2 * SV_PAGE; i += 64) {
        g_assert_cmphex(qtest_readb(f.qts, BUF + i), ==, 0xcc);
    }

    /* A direction other than the CDB's. */
    sv_cdb_rw10(&r, false, 0, 1);
    r.data_in = SV_DATA_WRITE;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    sv_cdb_rw10(&r, true, 0, 1);
    r.data_in = SV_DATA_READ;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    sv_cdb_rw10(&r, true, 0, 1);
    r.data_in = SV_DATA_NONE;
    r.xfer = 0;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);

    /* Data to move and no GPA-direct range: in-band, or none in it. */
    sv_cdb_rw10(&r, false, 0, 1);
    r.buf_len = 0;
    assert_refused(&f, &f.ch, &r, SV_SRB_INVALID_REQUEST);
    r.buf_len = SV_SECTOR;
    stl_le_p(ext, 0);
    stl_le_p(ext + 4, 0);
    stq_le_p(ext + 8, 0);
    id = sv_send(&f, &f.ch, ext, sizeof(ext), pkt, sv_srb_build(&f, &r, pkt),
                 false);
    sv_wait_completion(&f, &f.ch, id, &p);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, SV_SRB_INVALID_REQUEST);
    /* A range that claims more pages than the packet has. */
    stl_le_p(ext + 4, 1);
    stl_le_p(ext + 8, SV_SECTOR);
    stl_le_p(ext + 12, 0);
    id = sv_send(&f, &f.ch, ext, sizeof(ext), pkt, sv_srb_build(&f, &r, pkt),
                 false);
    sv_wait_completion(&f, &f.ch, id, &p);
    g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, SV_SRB_INVALID_REQUEST);
    sv_assert_alive(&f, &f.ch);

    /* A request that wants no answer gets none. */
    sv_cdb_rw10(&r, false, 0, 1);
    sv_send(&f, &f.ch, NULL, 0, pkt, sv_srb_build(&f, &r, pkt), true);
    sv_assert_alive(&f, &f.ch);
    sv_assert_quiet(&f, &f.ch);

    /* No write landed anywhere. */
    img_assert_pristine(img, 0, IMG_SIZE);
    finish(&f, img);
}

/* Operation 0 is no operation either. */
static void test_malformed_op_zero(void)
{
    SVGuest f;
    char *img = start_with_disk(&f, "", SV_VERSION_WIN10);

    g_assert_cmphex(sv_op(&f, &f.ch, 0, NULL, 0, NULL), !=, 0);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * Flow control and migration
 * --------------------------
 */

/* Every READS-th request of a burst reads a block; the others are TURs. */
#define READS       10

static void burst_request(SVRequest *r, uint64_t buf, uint32_t i)
{
    memset(r, 0, sizeof(*r));
    if (i % READS) {
        r->cdb_len = 6;
        r->data_in = SV_DATA_NONE;
        return;
    }
    sv_cdb_rw10(r, false, i, 1);
    r->buf = buf + (uint64_t)i * SV_SECTOR;
    r->buf_len = SV_SECTOR;
}

/*
 * Sends @n requests on @ch without reading a completion, reads into
 * @buf on; returns the first's transaction id (the rest follow it).
 */
static uint64_t burst(SVGuest *f, VMBusGuestChannel *ch, uint64_t buf,
                      uint32_t n)
{
    uint64_t first = f->trans_id + 1;
    SVRequest r = { 0 };

    for (uint32_t i = 0; i < n; i++) {
        burst_request(&r, buf, i);
        if (r.buf_len) {
            qtest_memset(f->qts, r.buf, 0, r.buf_len);
        }
        g_assert_cmphex(sv_srb_send(f, ch, &r), ==, first + i);
    }
    return first;
}

/* Waits until the host stops taking requests from @ch. */
static void wait_host_stopped(SVGuest *f, VMBusGuestChannel *ch)
{
    uint32_t last = ~0u;

    for (int same = 0, i = 0; same < 10; i++) {
        uint32_t read = vmbus_guest_send_ring_get(&f->g, ch,
                                                  VMBUS_GUEST_RING_READ);

        g_assert_cmpint(i, <, 1000);
        same = read == last ? same + 1 : 0;
        last = read;
        g_usleep(10 * 1000);
    }
}

/* Waits until disk d0 completed @n reads (by its block statistics). */
static void wait_reads_done(SVGuest *f, int64_t n)
{
    for (int i = 0; i < 500; i++) {
        QDict *rsp = qtest_qmp(f->qts, "{'execute': 'query-blockstats'}");
        QList *list = qdict_get_qlist(rsp, "return");
        QDict *dev = qobject_to(QDict, qlist_peek(list));
        int64_t done = qdict_get_int(qdict_get_qdict(dev, "stats"),
                                     "rd_operations");

        qobject_unref(rsp);
        if (done >= n) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/*
 * Reads what comes on @ch until the @n requests from @first are all
 * answered, each once; returns how many ENUMERATE_BUS came meanwhile.
 */
static int drain(SVGuest *f, VMBusGuestChannel *ch, uint64_t buf,
                 uint64_t first, uint32_t n)
{
    g_autofree bool *seen = g_new0(bool, n);
    uint32_t answered = 0;
    int rescans = 0;
    SVRequest r = { 0 };
    SVPacket p;

    while (answered < n) {
        uint64_t i;

        g_assert_true(sv_recv(f, ch, &p));
        if (p.type == VMBUS_GUEST_PKT_INBAND) {
            g_assert_cmphex(p.trans_id, ==, 0);
            g_assert_cmpuint(sv_pkt_op(&p), ==, SV_OP_ENUMERATE_BUS);
            rescans++;
            continue;
        }
        g_assert_cmpuint(p.type, ==, VMBUS_GUEST_PKT_COMP);
        g_assert_cmpuint(sv_pkt_op(&p), ==, SV_OP_COMPLETE_IO);
        g_assert_cmpuint(p.trans_id, >=, first);
        g_assert_cmpuint(p.trans_id, <, first + n);
        i = p.trans_id - first;
        g_assert_false(seen[i]);
        seen[i] = true;
        answered++;
        burst_request(&r, buf, i);
        assert_good(&p, r.xfer);
        if (r.xfer) {
            assert_read_data(f, &r, i);
        }
    }
    sv_assert_quiet(f, ch);
    return rescans;
}

/*
 * A reset with requests in flight: they end aborted (unless they beat
 * the reset, on a busy host), before the reset's own completion; the disk
 * then reports its reset.
 */
static void test_reset_busy(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(SLOW_DISK_ARGS, img, 1000);
    uint8_t pkt[SV_PKT_SIZE];
    uint64_t first, reset_id;
    SVRequest r = { 0 };
    SVPacket p;
    SVGuest f;

    sv_start(&f, "", args, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    first = f.trans_id + 1;
    for (int i = 0; i < 4; i++) {
        read_on(&f, &f.ch, 8 * i, BUF + i * SV_PAGE, &r);
        sv_srb_send(&f, &f.ch, &r);
    }
    wait_host_stopped(&f, &f.ch);
    /* RESET_LUN of 0:0:0 (a zero SRB). */
    sv_pkt_build(pkt, SV_OP_RESET_LUN, NULL, 0);
    reset_id = sv_send(&f, &f.ch, NULL, 0, pkt, SV_PKT_SIZE, false);
    for (uint64_t i = 0; i < 4; i++) {
        g_assert_true(sv_recv(&f, &f.ch, &p));
        g_assert_cmpuint(p.type, ==, VMBUS_GUEST_PKT_COMP);
        g_assert_cmpuint(p.trans_id, >=, first);
        g_assert_cmpuint(p.trans_id, <, first + 4);
        g_assert_cmphex(sv_pkt_status(&p), ==, 0);
        if (p.data[SV_SRB_SRB_STATUS] == SV_SRB_SUCCESS) {
            assert_good(&p, 8 * SV_SECTOR);
            continue;
        }
        g_assert_cmphex(p.data[SV_SRB_SRB_STATUS], ==, SV_SRB_ABORTED);
        g_assert_cmpuint(sv_pkt_xfer(&p), ==, 0);
    }
    sv_wait_completion(&f, &f.ch, reset_id, &p);
    g_assert_cmphex(sv_pkt_status(&p), ==, 0);
    g_assert_cmphex(sv_test_unit_ready(&f, &f.ch, 0, 0, 0, &p), ==,
                    SV_SRB_ERROR | SV_SRB_AUTOSENSE_VALID);
    assert_sense(&p, 6, 0x29);
    read_on(&f, &f.ch, 16, BUF, &r);
    sv_srb(&f, &f.ch, &r, &p);
    assert_good(&p, r.xfer);
    assert_read_data(&f, &r, 16);
    sv_assert_quiet(&f, &f.ch);
    finish(&f, img);
}

/*
 * device_del of the controller is refused while it has a disk (Linux's
 * storvsc hangs otherwise). The disk goes with a request in flight on the
 * primary; then the controller, its channels open and completions waiting
 * for room on a subchannel: the offers are rescinded, the controller goes
 * once the guest released them.
 */
static void test_unplug(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(SLOW_DISK_ARGS, img, 300);
    SVRequest tur = { .cdb_len = 6, .data_in = SV_DATA_NONE };
    VMBusGuestChannel sc;
    uint16_t count;
    SVRequest r = { 0 };
    SVGuest f;
    HvpMessage m;
    QDict *ev, *rsp;

    sv_start(&f, ",max-subchannels=1", args, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    stw_le_p(&count, 1);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, &count,
                          sizeof(count), NULL), ==, 0);
    sc = sv_take_subchannel(&f, 1);
    sc.recv_pages = 2;
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc, 1), ==, 0);
    for (int i = 0; i < 50; i++) {
        sv_srb_send(&f, &sc, &tur);
    }
    read_on(&f, &f.ch, 0, BUF, &r);
    sv_srb_send(&f, &f.ch, &r);
    wait_host_stopped(&f, &sc);
    wait_host_stopped(&f, &f.ch);

    rsp = qtest_qmp(f.qts, "{'execute': 'device_del',"
                    " 'arguments': {'id': 'scsi'}}");
    g_assert_true(qdict_haskey(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "SCSI devices"));
    qobject_unref(rsp);
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'lun0'}}");
    qtest_qmp_eventwait(f.qts, "DEVICE_DELETED");
    qtest_qmp_assert_success(f.qts, "{'execute': 'device_del',"
                             " 'arguments': {'id': 'scsi'}}");
    for (int i = 0; i < 2; i++) {
        uint8_t body[4];

        m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_RESCIND_CHANNELOFFER);
        g_assert_true(ldl_le_p(m.payload + 8) == f.ch.relid ||
                      ldl_le_p(m.payload + 8) == sc.relid);
        memcpy(body, m.payload + 8, 4);
        g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                          VMBUS_GUEST_RELID_RELEASED, body,
                                          12), ==, 0);
    }
    for (bool gone = false; !gone; qobject_unref(ev)) {
        QDict *data;

        ev = qtest_qmp_eventwait_ref(f.qts, "DEVICE_DELETED");
        data = qdict_get_qdict(ev, "data");
        gone = qdict_haskey(data, "device") &&
               !strcmp(qdict_get_str(data, "device"), "scsi");
    }
    /* The machine goes on without it. */
    qtest_qmp_assert_success(f.qts, "{'execute': 'query-status'}");
    finish(&f, img);
}

/*
 * The guest closes the channel with requests in flight, as a driver
 * unloaded with I/O outstanding: the host drops them, the next session on
 * the channel starts clean. blkdebug holds the first READ 1 s and the
 * second 400 ms, so the second completes while the host waits for the
 * first one's cancellation.
 */
static void test_close_busy(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,format=raw,cache=writethrough,"
        "file.driver=blkdebug,file.image.filename=%s,"
        "file.inject-error.0.event=read_aio,file.inject-error.0.errno=0,"
        "file.inject-error.0.sector=16,"
        "file.inject-error.0.delay-ns=1000000000,"
        "file.inject-error.0.immediately=on,"
        "file.inject-error.1.event=read_aio,file.inject-error.1.errno=0,"
        "file.inject-error.1.sector=64,"
        "file.inject-error.1.delay-ns=400000000,"
        "file.inject-error.1.immediately=on "
        "-device scsi-hd,bus=scsi.0,drive=d0,channel=0,scsi-id=0,lun=0,"
        "id=lun0", img);
    SVRequest r = { 0 };
    SVPacket p;
    SVGuest f;

    sv_start(&f, "", args, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    read_on(&f, &f.ch, 16, BUF, &r);
    sv_srb_send(&f, &f.ch, &r);
    read_on(&f, &f.ch, 64, BUF + SV_PAGE, &r);
    sv_srb_send(&f, &f.ch, &r);
    /* The host took both; neither is answered yet. */
    wait_host_stopped(&f, &f.ch);
    g_assert_cmpuint(vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_READ), ==,
                     vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_WRITE));
    vmbus_guest_close(&f.g, &f.ch);

    /* Nothing of the old session comes in the new one. */
    f.ch.gpadl++;
    sv_open(&f);
    f.version = 0;
    sv_init(&f, SV_VERSION_WIN10);
    sv_assert_alive(&f, &f.ch);
    read_on(&f, &f.ch, 0, BUF, &r);
    sv_srb(&f, &f.ch, &r, &p);
    assert_good(&p, r.xfer);
    assert_read_data(&f, &r, 0);
    sv_assert_quiet(&f, &f.ch);
    finish(&f, img);
}

/*
 * More requests than the host takes at once (256 a channel) and than the
 * guest's ring holds answers for: the host holds the completions until
 * the guest makes room, then takes the rest; a rescan waits its turn.
 */
static void test_flow_control(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    uint64_t first;
    SVGuest f;

    sv_boot(&f, "", args);
    f.ch.recv_pages = 2;
    sv_open(&f);
    sv_init(&f, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);

    first = burst(&f, &f.ch, BUF, 400);
    wait_host_stopped(&f, &f.ch);
    /* Requests left in the ring: the host stopped at its limit. */
    g_assert_cmpuint(vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_READ), !=,
                     vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_WRITE));
    add_lun(&f, 1);
    g_assert_cmpint(drain(&f, &f.ch, BUF, first, 400), ==, 1);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

/*
 * A completion that comes while older ones wait for ring space must not
 * overtake them: the guest, like Linux, signals the host only when its
 * reads free the room the host asked for, and a host that sends past its
 * queue no longer asks. A TUR burst fills the ring while a slow READ is in
 * flight; the guest reads a little, the READ completes, the guest reads
 * on: every completion comes.
 */
static void test_flow_overtake(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(SLOW_DISK_ARGS, img, 1000);
    const uint32_t n = 50;
    g_autofree bool *seen = g_new0(bool, n + 1);
    SVRequest tur = { .cdb_len = 6, .data_in = SV_DATA_NONE };
    uint64_t read_id;
    SVRequest r = { 0 };
    SVPacket p;
    SVGuest f;

    sv_boot(&f, "", args);
    f.ch.recv_pages = 2;
    sv_open(&f);
    sv_init(&f, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);

    read_on(&f, &f.ch, 0, BUF, &r);
    read_id = sv_srb_send(&f, &f.ch, &r);
    for (uint32_t i = 0; i < n; i++) {
        sv_srb_send(&f, &f.ch, &tur);
    }
    wait_host_stopped(&f, &f.ch);
    /* Fewer bytes read than the host asked to be told about. */
    for (int i = 0; i < 3; i++) {
        g_assert_true(sv_recv(&f, &f.ch, &p));
        g_assert_false(seen[p.trans_id - read_id]);
        seen[p.trans_id - read_id] = true;
    }
    /* The READ completes meanwhile. */
    wait_reads_done(&f, 1);
    for (uint32_t got = 3; got < n + 1; got++) {
        g_assert_true(sv_recv(&f, &f.ch, &p));
        g_assert_cmpuint(p.type, ==, VMBUS_GUEST_PKT_COMP);
        g_assert_cmpuint(p.trans_id, >=, read_id);
        g_assert_cmpuint(p.trans_id, <=, read_id + n);
        g_assert_false(seen[p.trans_id - read_id]);
        seen[p.trans_id - read_id] = true;
        assert_good(&p, p.trans_id == read_id ? r.xfer : 0);
    }
    assert_read_data(&f, &r, 0);
    sv_assert_quiet(&f, &f.ch);
    finish(&f, img);
}

/*
 * Completions waiting for ring space, on the primary and a subchannel,
 * and requests the host has not taken yet, migrate: on the destination
 * every request is answered once, where it came.
 */
static void test_migrate_queued(void)
{
    char *img = img_create();
    g_autofree char *args = g_strdup_printf(DISK_ARGS, img, "");
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-scsi-mig-%d.sock",
                                           g_get_tmp_dir(), getpid());
    const char *props = ",max-subchannels=1";
    VMBusGuestChannel sc;
    uint64_t first, first_sc;
    uint16_t count;
    QTestState *dst;
    SVGuest f;

    sv_boot(&f, props, args);
    f.ch.recv_pages = 2;
    sv_open(&f);
    sv_init(&f, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    stw_le_p(&count, 1);
    g_assert_cmphex(sv_op(&f, &f.ch, SV_OP_CREATE_SUB_CHANNELS, &count,
                          sizeof(count), NULL), ==, 0);
    sc = sv_take_subchannel(&f, 1);
    sc.recv_pages = 2;
    g_assert_cmpuint(vmbus_guest_open(&f.g, &sc, 1), ==, 0);

    first = burst(&f, &f.ch, BUF, 400);
    first_sc = burst(&f, &sc, BUF + MiB, 100);
    wait_host_stopped(&f, &f.ch);
    wait_host_stopped(&f, &sc);
    g_assert_cmpuint(vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_READ), !=,
                     vmbus_guest_send_ring_get(&f.g, &f.ch,
                                               VMBUS_GUEST_RING_WRITE));

    dst = sv_boot_incoming(props, args, uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    sv_switch(&f, dst);

    g_assert_cmpint(drain(&f, &sc, BUF + MiB, first_sc, 100), ==, 0);
    g_assert_cmpint(drain(&f, &f.ch, BUF, first, 400), ==, 0);
    sv_assert_alive(&f, &f.ch);
    sv_assert_alive(&f, &sc);
    finish(&f, img);
}

/*
 * A read that fails with rerror=stop (blkdebug fails the first read of
 * its sector: scsi-hd reads sector 0 itself, to guess a geometry) waits
 * in the SCSI layer for a retry
 * and migrates with its SRB; the destination's clean disk serves it after
 * cont, and the completion carries the data.
 */
static void test_migrate_retry(void)
{
    char *img = img_create();
    g_autofree char *src_args = g_strdup_printf(
        "-drive if=none,id=d0,format=raw,cache=writethrough,rerror=stop,"
        "werror=stop,file.driver=blkdebug,file.image.filename=%s,"
        "file.inject-error.0.event=read_aio,file.inject-error.0.once=on,"
        "file.inject-error.0.sector=300 "
        "-device scsi-hd,bus=scsi.0,drive=d0,channel=0,scsi-id=0,lun=0,"
        "id=lun0", img);
    g_autofree char *dst_args = g_strdup_printf(DISK_ARGS, img,
                                                ",rerror=stop,werror=stop");
    g_autofree char *uri = g_strdup_printf("unix:%s/hv-scsi-retry-%d.sock",
                                           g_get_tmp_dir(), getpid());
    QTestState *dst;
    QDict *rsp;
    SVRequest r = { 0 };
    SVPacket p;
    SVGuest f;
    uint64_t id;

    sv_start(&f, "", src_args, SV_VERSION_WIN10);
    sv_clear_unit_attention(&f, 0);
    memset(&r, 0, sizeof(r));
    sv_cdb_rw10(&r, false, 300, 16);
    r.buf = BUF + 200;
    r.buf_len = r.xfer;
    qtest_memset(f.qts, BUF, 0, 3 * SV_PAGE);
    id = sv_srb_send(&f, &f.ch, &r);
    qtest_qmp_eventwait(f.qts, "STOP");
    rsp = qtest_qmp(f.qts, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"), "status"),
                    ==, "io-error");
    qobject_unref(rsp);
    sv_assert_quiet(&f, &f.ch);

    dst = sv_boot_incoming("", dst_args, uri);
    migrate_and_wait(f.qts, dst, uri);
    qtest_quit(f.qts);
    sv_switch(&f, dst);
    sv_assert_quiet(&f, &f.ch);
    qtest_qmp_assert_success(dst, "{'execute': 'cont'}");
    sv_wait_completion(&f, &f.ch, id, &p);
    assert_good(&p, 16 * SV_SECTOR);
    assert_read_data(&f, &r, 300);
    sv_assert_quiet(&f, &f.ch);
    sv_assert_alive(&f, &f.ch);
    finish(&f, img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < ARRAY_SIZE(init_cases); i++) {
        g_autofree char *name = g_strdup_printf("/hv-scsi/init/%u.%u",
                                                init_cases[i].version >> 8,
                                                init_cases[i].version & 0xff);

        qtest_add_data_func(name, &init_cases[i], test_init);
    }
    qtest_add_func("/hv-scsi/init/order", test_init_order);
    qtest_add_func("/hv-scsi/inquiry-capacity", test_inquiry_capacity);
    qtest_add_func("/hv-scsi/read-write", test_read_write);
    qtest_add_func("/hv-scsi/absent", test_absent);
    qtest_add_func("/hv-scsi/reset", test_reset);
    qtest_add_func("/hv-scsi/hotplug", test_hotplug);
    qtest_add_func("/hv-scsi/subchannels", test_subchannels);
    qtest_add_func("/hv-scsi/malformed", test_malformed);
    qtest_add_func("/hv-scsi/reset-busy", test_reset_busy);
    qtest_add_func("/hv-scsi/unplug", test_unplug);
    qtest_add_func("/hv-scsi/flow-control", test_flow_control);
    qtest_add_func("/hv-scsi/migrate/queued", test_migrate_queued);
    qtest_add_func("/hv-scsi/migrate/retry", test_migrate_retry);
    /* Suites of their own: GLib runs them after the cases above. */
    qtest_add_func("/hv-scsi/malformed/op-zero", test_malformed_op_zero);
    qtest_add_func("/hv-scsi/flow-control/overtake", test_flow_overtake);
    qtest_add_func("/hv-scsi/close/busy", test_close_busy);
    return g_test_run();
}
