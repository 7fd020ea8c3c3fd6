/*
 * qemu-vmbus: VMBus ring buffers and packets on the wire
 *
 * A channel's ring GPADL holds two rings: pages [0, send_offset) carry
 * guest->host packets, pages [send_offset, end) host->guest ones. Each ring
 * starts with a control page; the data area follows. Indices are byte
 * offsets into the data area, multiples of 8. Little-endian throughout.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_RING_PROTO_H
#define HW_VMBUS_VMBUS_RING_PROTO_H

#define VMBUS_PAGE_SIZE         4096u

/* The control page, at the start of each ring. */
#define VMBUS_RING_WRITE_INDEX      0x00    /* written by the producer */
#define VMBUS_RING_READ_INDEX       0x04    /* written by the consumer */
#define VMBUS_RING_INTERRUPT_MASK   0x08    /* consumer: "do not signal" */
#define VMBUS_RING_PENDING_SEND_SZ  0x0c    /* producer: "wake me at" */
#define VMBUS_RING_FEATURE_BITS     0x40
#define VMBUS_RING_FEAT_PENDING_SEND_SZ     (1u << 0)

/* Packet types (the ones a VMBus channel carries). */
enum vmbus_packet_type {
    VMBUS_PACKET_DATA_INBAND = 0x6,
    VMBUS_PACKET_DATA_USING_XFER_PAGES = 0x7,
    VMBUS_PACKET_DATA_USING_GPA_DIRECT = 0x9,
    VMBUS_PACKET_COMP = 0xb,
};

/* Descriptor flag: the sender wants a completion packet. */
#define VMBUS_PACKET_FLAG_REQUEST_COMPLETION    1

/* Every packet starts with this; offset8 and len8 count 8-byte units. */
struct vmbus_packet_desc {
    uint16_t type;
    uint16_t offset8;       /* where the body starts */
    uint16_t len8;          /* the whole packet, trailer excluded */
    uint16_t flags;
    uint64_t trans_id;
} QEMU_PACKED;

/* After each packet: the producer's write index before it, << 32. */
#define VMBUS_PACKET_TRAILER_SIZE   8

/* GPA-direct packets: descriptor, this, then the ranges. */
struct vmbus_gpa_direct_header {
    uint32_t reserved;
    uint32_t rangecount;
} QEMU_PACKED;

/* One GPA-direct range; its page numbers follow it. */
struct vmbus_gpa_direct_range {
    uint32_t len;
    uint32_t offset;        /* into the first page, < 4096 */
    /* uint64_t pfn[DIV_ROUND_UP(offset + len, 4096)] */
} QEMU_PACKED;

/* Transfer-page packets (host->guest): descriptor, this, the ranges. */
struct vmbus_xfer_page_header {
    uint16_t xfer_pageset_id;
    uint8_t sender_owns_set;
    uint8_t reserved;
    uint32_t range_cnt;
} QEMU_PACKED;

struct vmbus_xfer_page_range {
    uint32_t byte_count;
    uint32_t byte_offset;
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct vmbus_packet_desc) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_gpa_direct_header) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_gpa_direct_range) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_xfer_page_header) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_xfer_page_range) != 8);

#endif
