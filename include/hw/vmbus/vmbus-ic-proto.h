/*
 * qemu-vmbus: integration-component (IC) messages on the wire
 *
 * Each integration service (heartbeat, shutdown, time sync, KVP) carries
 * its messages as in-band packets: a pipe header, an IC header, then the
 * service's body. The host asks, the guest answers in the same buffer with
 * the response flag set and the host's transaction id. Little-endian.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_IC_PROTO_H
#define HW_VMBUS_VMBUS_IC_PROTO_H

/* A version as major << 16 | minor. */
#define VMBUS_IC_VERSION(major, minor)  ((major) << 16 | (minor))

enum vmbus_ic_msgtype {
    VMBUS_IC_MSG_NEGOTIATE = 0,
    VMBUS_IC_MSG_HEARTBEAT = 1,
    VMBUS_IC_MSG_KVPEXCHANGE = 2,
    VMBUS_IC_MSG_SHUTDOWN = 3,
    VMBUS_IC_MSG_TIMESYNC = 4,
};

/* icflags */
#define VMBUS_IC_FLAG_TRANSACTION   1
#define VMBUS_IC_FLAG_REQUEST       2
#define VMBUS_IC_FLAG_RESPONSE      4

/* HRESULTs in the status field. */
#define VMBUS_IC_S_OK               0x00000000
#define VMBUS_IC_E_FAIL             0x80004005
#define VMBUS_IC_S_CONT             0x80070103  /* KVP: no more items */

struct vmbus_ic_version {
    uint16_t major;
    uint16_t minor;
} QEMU_PACKED;

struct vmbus_ic_pipe_header {
    uint32_t flags;
    uint32_t msgsize;       /* the bytes after this header */
} QEMU_PACKED;

struct vmbus_ic_header {
    struct vmbus_ic_version framework;
    uint16_t msgtype;
    struct vmbus_ic_version msgversion;
    uint16_t msgsize;       /* the body's bytes */
    uint32_t status;
    uint8_t transaction_id;
    uint8_t flags;
    uint8_t reserved[2];
} QEMU_PACKED;

/* Both headers: where every service's body starts. */
struct vmbus_ic_msg {
    struct vmbus_ic_pipe_header pipe;
    struct vmbus_ic_header ic;
} QEMU_PACKED;

/* NEGOTIATE: counts, then framework versions, then service versions. */
struct vmbus_ic_negotiate {
    uint16_t framework_count;
    uint16_t service_count;
    uint32_t reserved;
    /* struct vmbus_ic_version versions[framework_count + service_count] */
} QEMU_PACKED;

/* Linux refuses more versions than this in either list. */
#define VMBUS_IC_MAX_VERSIONS       100

struct vmbus_ic_heartbeat {
    uint64_t seq_num;
    uint32_t reserved[8];
} QEMU_PACKED;

/* SHUTDOWN; the message is UTF-16LE, NUL-terminated. */
#define VMBUS_SHUTDOWN_FLAG_FORCE   1
#define VMBUS_SHUTDOWN_FLAG_RESTART 2

struct vmbus_ic_shutdown {
    uint32_t reason_code;
    uint32_t timeout_seconds;
    uint32_t flags;
    uint16_t message[1024];
} QEMU_PACKED;

/* TIMESYNC: 100 ns units since 1601-01-01 UTC. */
#define VMBUS_TIMESYNC_EPOCH_DELTA  116444736000000000ull
#define VMBUS_TIMESYNC_FLAG_SYNC    1   /* set the clock */
#define VMBUS_TIMESYNC_FLAG_SAMPLE  2   /* discipline it */

/* Before 4.0 */
struct vmbus_ic_timesync {
    uint64_t parent_time;
    uint64_t child_time;
    uint64_t round_trip_time;
    uint8_t flags;
} QEMU_PACKED;

/* From 4.0: with the guest's reference time at the sample. */
struct vmbus_ic_timesync_ref {
    uint64_t parent_time;
    uint64_t vm_reference_time;
    uint8_t flags;
    uint8_t leap_flags;
    uint8_t stratum;
    uint8_t reserved[3];
} QEMU_PACKED;

/* KVPEXCHANGE: keys and values are UTF-16LE; sizes in bytes with NUL. */
#define VMBUS_KVP_MAX_KEY_SIZE      512
#define VMBUS_KVP_MAX_VALUE_SIZE    2048

enum vmbus_kvp_op {
    VMBUS_KVP_GET = 0,
    VMBUS_KVP_SET = 1,
    VMBUS_KVP_DELETE = 2,
    VMBUS_KVP_ENUMERATE = 3,
};

#define VMBUS_KVP_REG_SZ            1   /* value_type: a string */

struct vmbus_kvp_value {
    uint32_t value_type;
    uint32_t key_size;
    uint32_t value_size;
    uint8_t key[VMBUS_KVP_MAX_KEY_SIZE];
    uint8_t value[VMBUS_KVP_MAX_VALUE_SIZE];
} QEMU_PACKED;

struct vmbus_kvp_msg {
    uint8_t operation;
    uint8_t pool;
    uint16_t pad;
    union {
        struct vmbus_kvp_value data;            /* GET, SET */
        struct {
            uint32_t key_size;
            uint8_t key[VMBUS_KVP_MAX_KEY_SIZE];
        } QEMU_PACKED del;                      /* DELETE */
        struct {
            uint32_t index;
            struct vmbus_kvp_value data;
        } QEMU_PACKED enumerate;                /* ENUMERATE */
    };
} QEMU_PACKED;

QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_version) != 4);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_pipe_header) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_header) != 20);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_msg) != 28);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_negotiate) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_heartbeat) != 40);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_shutdown) != 2060);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_timesync) != 25);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_ic_timesync_ref) != 22);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_kvp_value) != 2572);
QEMU_BUILD_BUG_ON(sizeof(struct vmbus_kvp_msg) != 2580);

#endif
