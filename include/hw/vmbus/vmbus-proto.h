/*
 * qemu-vmbus: VMBus channel-management messages on the wire
 *
 * Little-endian, as Hyper-V defines them; every size is checked below.
 * Device logic never parses these bytes itself: the channel manager copies
 * a message out of the hypercall input, checks its size against this file,
 * and hands on the copy.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_PROTO_H
#define HW_VMBUS_VMBUS_PROTO_H

/* Protocol versions, major << 16 | minor. */
#define VMBUS_VERSION_WS2008        0x0000000d  /* 0.13 */
#define VMBUS_VERSION_WIN7          0x00010001  /* 1.1 */
#define VMBUS_VERSION_WIN8          0x00020004  /* 2.4 */
#define VMBUS_VERSION_WIN8_1        0x00030000  /* 3.0 */
#define VMBUS_VERSION_WIN10         0x00040000  /* 4.0 */
#define VMBUS_VERSION_WIN10_RS3     0x00040001  /* 4.1 */
#define VMBUS_VERSION_WIN10_V5      0x00050000  /* 5.0 */
#define VMBUS_VERSION_WIN10_V5_1    0x00050001
#define VMBUS_VERSION_WIN10_V5_2    0x00050002
#define VMBUS_VERSION_WIN10_V5_3    0x00050003

/* Where guest messages go: connection 1 before 5.0, 4 from 5.0 on. */
#define VMBUS_MESSAGE_CONNECTION_ID     1
#define VMBUS_MESSAGE_CONNECTION_ID_4   4
/* Where host messages go before 5.0 (from 5.0 the guest names it). */
#define VMBUS_MESSAGE_SINT              2
/* Before 2.4: channel events shared by all channels (interrupt page). */
#define VMBUS_EVENT_CONNECTION_ID       2
/* NTSTATUS values in GPADL_CREATED, OPENCHANNEL_RESULT and the like. */
#define VMBUS_STATUS_SUCCESS                0
#define VMBUS_STATUS_UNSUCCESSFUL           0xc0000001
#define VMBUS_STATUS_CONNECTION_REFUSED     0xc0000236

/* The SynIC message type of every VMBus message. */
#define VMBUS_HV_MESSAGE_TYPE           1

enum vmbus_msgtype {
    VMBUS_MSG_INVALID = 0,
    VMBUS_MSG_OFFERCHANNEL = 1,
    VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
    VMBUS_MSG_REQUESTOFFERS = 3,
    VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
    VMBUS_MSG_OPENCHANNEL = 5,
    VMBUS_MSG_OPENCHANNEL_RESULT = 6,
    VMBUS_MSG_CLOSECHANNEL = 7,
    VMBUS_MSG_GPADL_HEADER = 8,
    VMBUS_MSG_GPADL_BODY = 9,
    VMBUS_MSG_GPADL_CREATED = 10,
    VMBUS_MSG_GPADL_TEARDOWN = 11,
    VMBUS_MSG_GPADL_TORNDOWN = 12,
    VMBUS_MSG_RELID_RELEASED = 13,
    VMBUS_MSG_INITIATE_CONTACT = 14,
    VMBUS_MSG_VERSION_RESPONSE = 15,
    VMBUS_MSG_UNLOAD = 16,
    VMBUS_MSG_UNLOAD_RESPONSE = 17,
    VMBUS_MSG_TL_CONNECT_REQUEST = 21,
    VMBUS_MSG_MODIFYCHANNEL = 22,
    VMBUS_MSG_TL_CONNECT_RESULT = 23,
    VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
    VMBUS_MSG_COUNT
};

struct vmbus_msg_header {
    uint32_t msgtype;
    uint32_t padding;
} QEMU_PACKED;

struct vmbus_msg_initiate_contact {
    struct vmbus_msg_header header;
    uint32_t version_requested;
    uint32_t target_vcpu;
    union {
        uint64_t interrupt_page;    /* before 5.0 */
        struct {
            uint8_t msg_sint;       /* from 5.0 */
            uint8_t msg_vtl;
            uint8_t reserved[6];
        };
    };
    uint64_t monitor_page1;
    uint64_t monitor_page2;
} QEMU_PACKED;

struct vmbus_msg_version_response {
    struct vmbus_msg_header header;
    uint8_t version_supported;
    uint8_t connection_state;
    uint16_t padding;
    uint32_t msg_conn_id;
} QEMU_PACKED;

struct vmbus_msg_offer_channel {
    struct vmbus_msg_header header;
    uint8_t if_type[16];
    uint8_t if_instance[16];
    uint64_t reserved1;
    uint64_t reserved2;
    uint16_t chn_flags;
    uint16_t mmio_megabytes;
    uint8_t user_def[120];
    uint16_t sub_channel_index;
    uint16_t reserved3;
    uint32_t child_relid;
    uint8_t monitorid;
    uint8_t monitor_allocated;
    uint16_t is_dedicated_interrupt;
    uint32_t connection_id;
} QEMU_PACKED;

struct vmbus_msg_rescind_offer {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} QEMU_PACKED;

struct vmbus_msg_open_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t openid;
    uint32_t ring_gpadl;
    uint32_t target_vp;
    uint32_t ring_send_offset;      /* in pages: where host->guest starts */
    uint8_t user_data[120];
} QEMU_PACKED;

struct vmbus_msg_open_result {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t openid;
    uint32_t status;
} QEMU_PACKED;

struct vmbus_msg_close_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} QEMU_PACKED;

struct vmbus_gpa_range {
    uint32_t byte_count;
    uint32_t byte_offset;
    /* uint64_t pfn_array[] follows */
} QEMU_PACKED;

struct vmbus_msg_gpadl_header {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
    uint16_t range_buflen;
    uint16_t rangecount;
    /* struct vmbus_gpa_range range[] follows */
} QEMU_PACKED;

struct vmbus_msg_gpadl_body {
    struct vmbus_msg_header header;
    uint32_t msgnumber;
    uint32_t gpadl;
    /* uint64_t pfn_array[] follows */
} QEMU_PACKED;

struct vmbus_msg_gpadl_created {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
    uint32_t status;
} QEMU_PACKED;

struct vmbus_msg_gpadl_teardown {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t gpadl;
} QEMU_PACKED;

struct vmbus_msg_gpadl_torndown {
    struct vmbus_msg_header header;
    uint32_t gpadl;
} QEMU_PACKED;

struct vmbus_msg_relid_released {
    struct vmbus_msg_header header;
    uint32_t child_relid;
} QEMU_PACKED;

struct vmbus_msg_modify_channel {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t target_vp;
} QEMU_PACKED;

struct vmbus_msg_modify_channel_response {
    struct vmbus_msg_header header;
    uint32_t child_relid;
    uint32_t status;
} QEMU_PACKED;

struct vmbus_msg_tl_connect_request {
    struct vmbus_msg_header header;
    uint8_t guest_endpoint_id[16];
    uint8_t host_service_id[16];
} QEMU_PACKED;

struct vmbus_msg_tl_connect_result {
    struct vmbus_msg_header header;
    uint8_t service_id[16];
    uint8_t endpoint_id[16];
    uint32_t status;
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_header) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_initiate_contact) != 40);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_version_response) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_offer_channel) != 196);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_rescind_offer) != 12);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_open_channel) != 148);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_open_result) != 20);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_close_channel) != 12);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_gpadl_header) != 20);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_gpa_range) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_gpadl_body) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_gpadl_created) != 20);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_gpadl_teardown) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_gpadl_torndown) != 12);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_relid_released) != 12);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_modify_channel) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_modify_channel_response) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_tl_connect_request) != 40);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_msg_tl_connect_result) != 44);

#endif
