/*
 * qtest: the guest's side of the synthetic SCSI protocol (qemu-vmbus)
 *
 * What Linux's storvsc does with hv-scsi (hw/vmbus/hv-scsi*.c): boots a
 * machine with the controller and its disks, opens the channel, runs the
 * VSTOR initialization at a chosen protocol version and sends SCSI request
 * blocks, in-band when they move no data and as GPA-direct packets with
 * one page range when they do. The wire format is spelt out here on its
 * own, from the guest's point of view, not taken from the device's header.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_STORVSC_GUEST_H
#define QTEST_VMBUS_STORVSC_GUEST_H

#include "qemu/bswap.h"
#include "vmbus-channel.h"

#define SV_CPU      "qemu64,hv-vpindex=on,hv-synic=on"
#define SV_SINT     2
#define SV_PAGE     4096u
#define SV_SECTOR   512u

/*
 * Guest memory (64 MiB): the partition's pages below 8 MiB, channel rings
 * from 8 MiB (256 KiB for each channel), data buffers from 16 MiB.
 */
#define SV_RING_GPA(index)  (VMBUS_GUEST_MEM + (index) * 0x40000ull)
#define SV_RING_PAGES       16
#define SV_DATA_GPA         0x1000000ull

/* Protocol versions, major << 8 | minor. */
#define SV_VERSION_WIN6     0x0200
#define SV_VERSION_WIN7     0x0402
#define SV_VERSION_WIN8     0x0501
#define SV_VERSION_WIN8_1   0x0600
#define SV_VERSION_WIN10    0x0602

/* VSTOR operations */
enum {
    SV_OP_COMPLETE_IO = 1,
    SV_OP_REMOVE_DEVICE = 2,
    SV_OP_EXECUTE_SRB = 3,
    SV_OP_RESET_LUN = 4,
    SV_OP_RESET_ADAPTER = 5,
    SV_OP_RESET_BUS = 6,
    SV_OP_BEGIN_INITIALIZATION = 7,
    SV_OP_END_INITIALIZATION = 8,
    SV_OP_QUERY_PROTOCOL_VERSION = 9,
    SV_OP_QUERY_PROPERTIES = 10,
    SV_OP_ENUMERATE_BUS = 11,
    SV_OP_FCHBA_DATA = 12,
    SV_OP_CREATE_SUB_CHANNELS = 13,
};

#define SV_FLAG_REQUEST_COMPLETION  1
#define SV_PROPERTY_MULTI_CHANNEL   1

/* A packet: operation, flags, status, then the body (the SRB) from 12. */
#define SV_PKT_HEADER       12
#define SV_PKT_SIZE         64      /* from 5.1 on */
#define SV_PKT_SIZE_WIN7    48      /* before: no Windows 8 extension */

/* SRB fields, as offsets in the packet. */
#define SV_SRB_LENGTH       12
#define SV_SRB_SRB_STATUS   14
#define SV_SRB_SCSI_STATUS  15
#define SV_SRB_PORT         16
#define SV_SRB_PATH         17
#define SV_SRB_TARGET       18
#define SV_SRB_LUN          19
#define SV_SRB_CDB_LENGTH   20
#define SV_SRB_SENSE_LENGTH 21
#define SV_SRB_DATA_IN      22
#define SV_SRB_XFER_LENGTH  24
#define SV_SRB_CDB          28      /* the sense data, in the answer */
#define SV_SRB_FLAGS        52
#define SV_SRB_TIMEOUT      56

#define SV_SRB_SIZE         0x34    /* what Linux puts in srb.length */
#define SV_SENSE_SIZE       20

/* SRB status */
#define SV_SRB_SUCCESS          0x01
#define SV_SRB_ABORTED          0x02
#define SV_SRB_ERROR            0x04
#define SV_SRB_INVALID_REQUEST  0x06
#define SV_SRB_INVALID_LUN      0x20
#define SV_SRB_AUTOSENSE_VALID  0x80

/* SRB data_in: the direction data moves. */
#define SV_DATA_WRITE   0
#define SV_DATA_READ    1
#define SV_DATA_NONE    2

/* SCSI status */
#define SV_SCSI_GOOD                0x00
#define SV_SCSI_CHECK_CONDITION     0x02

typedef struct SVGuest {
    QTestState *qts;
    VMBusGuest g;
    VMBusGuestChannel ch;       /* the primary */
    uint8_t instance[16];       /* the controller's instance GUID */
    uint16_t version;           /* negotiated, 0 before */
    uint64_t trans_id;          /* the last one used */
    /* What QUERY_PROPERTIES said. */
    uint16_t max_channels;
    uint32_t prop_flags;
    uint32_t max_transfer;
} SVGuest;

/* A host packet, as the guest took it from its ring. */
typedef struct SVPacket {
    uint16_t type;              /* VMBUS_GUEST_PKT_* */
    uint64_t trans_id;
    uint32_t len;               /* of the VSTOR packet */
    uint8_t data[SV_PKT_SIZE];  /* the VSTOR packet, zero beyond len */
} SVPacket;

static inline uint32_t sv_pkt_op(const SVPacket *p)
{
    return ldl_le_p(p->data);
}

static inline uint32_t sv_pkt_status(const SVPacket *p)
{
    return ldl_le_p(p->data + 8);
}

static inline uint32_t sv_pkt_xfer(const SVPacket *p)
{
    return ldl_le_p(p->data + SV_SRB_XFER_LENGTH);
}

/* One SCSI request. */
typedef struct SVRequest {
    uint8_t path, target, lun;
    uint8_t cdb[16];
    uint8_t cdb_len;
    uint8_t data_in;            /* SV_DATA_* */
    uint32_t xfer;              /* data_transfer_length */
    /*
     * The data buffer, one GPA-direct range: @buf_len bytes from @buf on
     * consecutive pages, or, with @pfns, from offset @buf in page pfns[0]
     * on the pages @pfns names. @buf_len 0: an in-band packet.
     */
    uint64_t buf;
    uint32_t buf_len;
    const uint64_t *pfns;
    /* Zero: as Linux sends them. */
    uint8_t sense_len;          /* 0: SV_SENSE_SIZE */
    uint32_t pkt_len;           /* 0: the version's packet size */
} SVRequest;

/*
 * Boots q35 (64 MiB, 2 VPs) with a vmbus-bridge and hv-scsi id "scsi"
 * with the properties @props (",max-transfer=..."; "" for none), then
 * @args (drives and disks); connects at 5.3 and takes the offer. The
 * primary's rings are not open yet: SV_RING_PAGES + SV_RING_PAGES at
 * SV_RING_GPA(0), which a test may change before sv_open().
 */
void sv_boot(SVGuest *f, const char *props, const char *args);
/* sv_boot() for a QEMU that is already running (the fuzzer's). */
void sv_attach(SVGuest *f, QTestState *qts);
/* Opens the primary channel, events to VP 0. */
void sv_open(SVGuest *f);
/*
 * The initialization storvsc runs: BEGIN_INITIALIZATION,
 * QUERY_PROTOCOL_VERSION @version, QUERY_PROPERTIES, END_INITIALIZATION;
 * asserts each succeeds and keeps the properties.
 */
void sv_init(SVGuest *f, uint16_t version);
/* All three. */
void sv_start(SVGuest *f, const char *props, const char *args,
              uint16_t version);
/* A machine as sv_boot() starts it, waiting for migration from @uri. */
QTestState *sv_boot_incoming(const char *props, const char *args,
                             const char *uri);
/* The test goes on with @qts (the destination of a migration). */
void sv_switch(SVGuest *f, QTestState *qts);
/*
 * Takes subchannel @index's offer (after CREATE_SUB_CHANNELS); returns
 * its channel, rings at SV_RING_GPA(@index), not open yet.
 */
VMBusGuestChannel sv_take_subchannel(SVGuest *f, uint16_t index);

/* The packet size at the negotiated version, both ways. */
uint32_t sv_pkt_size(SVGuest *f);

/* Builds a VSTOR packet: @op, completion wanted, @body at 12. */
void sv_pkt_build(uint8_t *pkt, uint32_t op, const void *body,
                  uint32_t body_len);

/*
 * Sends @len bytes of @pkt as an in-band packet with REQUEST_COMPLETION
 * (unless @no_reply) under a new transaction id, which it returns; with
 * @ext, a GPA-direct packet (@ext: header and range). Asserts there was
 * room in the ring.
 */
uint64_t sv_send(SVGuest *f, VMBusGuestChannel *ch, const void *ext,
                 uint32_t ext_len, const void *pkt, uint32_t len,
                 bool no_reply);
/* As sv_send(), false when the ring has no room. */
bool sv_try_send(SVGuest *f, VMBusGuestChannel *ch, uint64_t trans_id,
                 const void *ext, uint32_t ext_len, const void *pkt,
                 uint32_t len);

/* Takes the next host packet on @ch; false if none came in a while. */
bool sv_recv(SVGuest *f, VMBusGuestChannel *ch, SVPacket *p);
/* Takes the next host packet: the COMPLETE_IO for @trans_id. */
void sv_wait_completion(SVGuest *f, VMBusGuestChannel *ch,
                        uint64_t trans_id, SVPacket *p);
/* Nothing more comes on @ch. */
void sv_assert_quiet(SVGuest *f, VMBusGuestChannel *ch);

/*
 * An in-band request of @op with @body on @ch, as the init sequence and
 * CREATE_SUB_CHANNELS are sent; returns the completion's status. On the
 * primary, BEGIN_INITIALIZATION and an accepted QUERY_PROTOCOL_VERSION
 * set the version the next packets are sized for.
 */
uint32_t sv_op(SVGuest *f, VMBusGuestChannel *ch, uint32_t op,
               const void *body, uint32_t body_len, SVPacket *reply);

/* Builds @r's EXECUTE_SRB packet into @pkt; returns its length. */
uint32_t sv_srb_build(SVGuest *f, const SVRequest *r, uint8_t *pkt);
/* Builds @r's GPA-direct header and range into @ext; returns its length. */
uint32_t sv_srb_ext(const SVRequest *r, uint8_t *ext);
/* Sends @r on @ch; returns its transaction id. */
uint64_t sv_srb_send(SVGuest *f, VMBusGuestChannel *ch, const SVRequest *r);
/* Sends @r on @ch and takes its completion into @reply. */
void sv_srb(SVGuest *f, VMBusGuestChannel *ch, const SVRequest *r,
            SVPacket *reply);

/* Guest memory through a range's pages (@pfns; NULL: from @buf on). */
void sv_buf_write(SVGuest *f, const SVRequest *r, const void *data,
                  uint32_t len);
void sv_buf_read(SVGuest *f, const SVRequest *r, void *data, uint32_t len);

/*
 * SCSI commands on the primary, to path 0 target 0 @lun unless said;
 * each asserts SRB status SUCCESS and SCSI GOOD.
 */
/* INQUIRY (36 bytes) to @path @target @lun at @gpa; returns its length. */
uint32_t sv_inquiry(SVGuest *f, uint8_t path, uint8_t target, uint8_t lun,
                    uint64_t gpa, uint8_t *data);
/* REPORT LUNS at @gpa; returns how many LUNs, their numbers in @luns. */
int sv_report_luns(SVGuest *f, uint8_t path, uint8_t target,
                   uint8_t lun, uint64_t gpa, uint16_t *luns, int max);
/* TEST UNIT READY; returns the SRB status, its answer in @reply. */
uint8_t sv_test_unit_ready(SVGuest *f, VMBusGuestChannel *ch, uint8_t path,
                           uint8_t target, uint8_t lun, SVPacket *reply);
/* TEST UNIT READY until no unit attention is left; asserts it is ready. */
void sv_clear_unit_attention(SVGuest *f, uint8_t lun);
/* A good INQUIRY of LUN 0 on @ch: the device still serves requests. */
void sv_assert_alive(SVGuest *f, VMBusGuestChannel *ch);

/* READ(10) / WRITE(10) CDBs for @nblocks 512-byte blocks from @lba. */
void sv_cdb_rw10(SVRequest *r, bool write, uint32_t lba, uint16_t nblocks);
void sv_cdb_rw16(SVRequest *r, bool write, uint64_t lba, uint32_t nblocks);

#endif
