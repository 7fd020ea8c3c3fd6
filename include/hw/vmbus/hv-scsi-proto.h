/*
 * qemu-vmbus: the synthetic SCSI protocol (VSTOR) on the wire
 *
 * Every message is a vstor packet: an operation, flags and a status, then
 * an operation's body. The guest sends requests as in-band packets, or as
 * GPA-direct packets when an SRB moves data; the host answers each with a
 * COMPLETE_IO packet carrying the guest's transaction id. Little-endian.
 *
 * Protocols before Windows 8 (5.1) have a 16 byte shorter SRB, and so a
 * 16 byte shorter packet, in both directions.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_SCSI_PROTO_H
#define HW_VMBUS_HV_SCSI_PROTO_H

/* The synthetic SCSI controller's interface (what storvsc matches). */
#define HV_SCSI_CLASSID "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"

/* A protocol version as major << 8 | minor. */
#define VSTOR_VERSION(major, minor)     ((major) << 8 | (minor))
#define VSTOR_VERSION_WIN6      VSTOR_VERSION(2, 0)     /* Vista, 2008 */
#define VSTOR_VERSION_WIN7      VSTOR_VERSION(4, 2)
#define VSTOR_VERSION_WIN8      VSTOR_VERSION(5, 1)
#define VSTOR_VERSION_WIN8_1    VSTOR_VERSION(6, 0)
#define VSTOR_VERSION_WIN10     VSTOR_VERSION(6, 2)

enum vstor_operation {
    VSTOR_OP_COMPLETE_IO = 1,
    VSTOR_OP_REMOVE_DEVICE = 2,
    VSTOR_OP_EXECUTE_SRB = 3,
    VSTOR_OP_RESET_LUN = 4,
    VSTOR_OP_RESET_ADAPTER = 5,
    VSTOR_OP_RESET_BUS = 6,
    VSTOR_OP_BEGIN_INITIALIZATION = 7,
    VSTOR_OP_END_INITIALIZATION = 8,
    VSTOR_OP_QUERY_PROTOCOL_VERSION = 9,
    VSTOR_OP_QUERY_PROPERTIES = 10,
    VSTOR_OP_ENUMERATE_BUS = 11,
    VSTOR_OP_FCHBA_DATA = 12,
    VSTOR_OP_CREATE_SUB_CHANNELS = 13,
};

/* vstor packet flags */
#define VSTOR_FLAG_REQUEST_COMPLETION   1

/* NTSTATUS values in a packet's status. */
#define VSTOR_STATUS_SUCCESS                    0
#define VSTOR_STATUS_UNSUCCESSFUL               0xc0000001
#define VSTOR_STATUS_INVALID_PARAMETER          0xc000000d
#define VSTOR_STATUS_INVALID_DEVICE_REQUEST     0xc0000010
#define VSTOR_STATUS_INVALID_DEVICE_STATE       0xc0000184

/* SRB status: what became of the request, beside the SCSI status. */
#define SRB_STATUS_SUCCESS              0x01
#define SRB_STATUS_ABORTED              0x02
#define SRB_STATUS_ERROR                0x04
#define SRB_STATUS_INVALID_REQUEST      0x06
#define SRB_STATUS_DATA_OVERRUN         0x12
#define SRB_STATUS_INVALID_LUN          0x20
#define SRB_STATUS_AUTOSENSE_VALID      0x80

/* SRB data directions */
#define SRB_DATA_WRITE      0
#define SRB_DATA_READ       1
#define SRB_DATA_NONE       2

#define VSTOR_CDB_MAX       16
#define VSTOR_SENSE_MAX     20

/* The SCSI request block (vmscsi_request). */
struct vstor_srb {
    uint16_t length;
    uint8_t srb_status;
    uint8_t scsi_status;
    uint8_t port_number;
    uint8_t path_id;
    uint8_t target_id;
    uint8_t lun;
    uint8_t cdb_length;
    uint8_t sense_info_length;
    uint8_t data_in;
    uint8_t reserved;
    uint32_t data_transfer_length;
    union {
        uint8_t cdb[VSTOR_CDB_MAX];
        uint8_t sense[VSTOR_SENSE_MAX];
    };
    /* From 5.1 (Windows 8) on: */
    uint16_t reserve;
    uint8_t queue_tag;
    uint8_t queue_action;
    uint32_t srb_flags;
    uint32_t time_out_value;
    uint32_t queue_sort_key;
} QEMU_PACKED;

/* The SRB's extension from 5.1 on: what older packets lack. */
#define VSTOR_SRB_WIN8_EXTENSION    16

/* QUERY_PROPERTIES' answer (vmstorage_channel_properties). */
struct vstor_channel_properties {
    uint32_t reserved;
    uint16_t max_channel_cnt;
    uint16_t reserved1;
    uint32_t flags;
    uint32_t max_transfer_bytes;
    uint64_t reserved2;
} QEMU_PACKED;

#define VSTOR_PROPERTY_MULTI_CHANNEL    1

struct vstor_protocol_version {
    uint16_t major_minor;
    uint16_t revision;
} QEMU_PACKED;

struct vstor_packet {
    uint32_t operation;         /* enum vstor_operation */
    uint32_t flags;             /* VSTOR_FLAG_* */
    uint32_t status;            /* VSTOR_STATUS_* */
    union {
        struct vstor_srb srb;
        struct vstor_channel_properties properties;
        struct vstor_protocol_version version;
        uint16_t sub_channel_count;
        uint8_t raw[52];
    };
} QEMU_PACKED;

/* The packet's header: what every operation carries. */
#define VSTOR_PACKET_HEADER     12

QEMU_BUILD_BUG_ON(sizeof(struct vstor_srb) != 52);
QEMU_BUILD_BUG_ON(sizeof(struct vstor_channel_properties) != 24);
QEMU_BUILD_BUG_ON(sizeof(struct vstor_protocol_version) != 4);
QEMU_BUILD_BUG_ON(sizeof(struct vstor_packet) != 64);
QEMU_BUILD_BUG_ON(offsetof(struct vstor_packet, srb.cdb) != 28);
QEMU_BUILD_BUG_ON(offsetof(struct vstor_packet, srb.srb_flags) != 52);

/* The size of a packet, both ways, at protocol @version (0: none yet). */
static inline uint32_t vstor_packet_size(uint16_t version)
{
    return version && version < VSTOR_VERSION_WIN8 ?
           sizeof(struct vstor_packet) - VSTOR_SRB_WIN8_EXTENSION :
           sizeof(struct vstor_packet);
}

#endif
