/*
 * qtest: the guest's side of the synthetic NIC's protocols (qemu-vmbus)
 *
 * What Linux's netvsc does with hv-net (hw/vmbus/hv-net*.c): boots a
 * machine with the NIC on a datagram netdev whose other end is a socket of
 * the test, opens the channel, negotiates NVSP at a chosen version, shares
 * a receive and a send buffer, runs RNDIS, sends frames from send-buffer
 * sections and as GPA-direct packets, and takes what the host places in the
 * receive buffer from transfer-page packets, checking each as the guest
 * does. The wire format is spelt out here on its own, from the guest's
 * point of view, not taken from the device's header.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_VMBUS_NETVSC_GUEST_H
#define QTEST_VMBUS_NETVSC_GUEST_H

#include "qemu/bswap.h"
#include "vmbus-channel.h"

#define NV_CPU      "qemu64,hv-vpindex=on,hv-synic=on"
#define NV_SINT     2
#define NV_PAGE     4096u

/* The NIC's MAC address, as the machine is started with it. */
#define NV_MAC      "52:54:00:12:34:56"

/* The primary and up to 7 subchannels. */
#define NV_MAX_CHANNELS     8

/*
 * Guest memory (64 MiB): the partition's pages below 8 MiB, channel rings
 * from 8 MiB (256 KiB for each channel), the receive buffer from 16 MiB
 * and the send buffer from 20 MiB (4 MiB each at most), RNDIS messages
 * sent GPA-direct from 24 MiB, and 32 MiB on free for the tests.
 */
#define NV_RING_GPA(index)  (VMBUS_GUEST_MEM + (index) * 0x40000ull)
#define NV_RING_PAGES       16
#define NV_RECV_BUF_GPA     0x1000000ull
#define NV_SEND_BUF_GPA     0x1400000ull
#define NV_BUF_MAX          0x400000u
#define NV_SCRATCH_GPA      0x1800000ull
#define NV_SCRATCH_SIZE     0x800000u
#define NV_DATA_GPA         0x2000000ull

/* The buffers Linux shares by default (the receive one made smaller). */
#define NV_RECV_BUF_SIZE    (1024 * 1024)
#define NV_SEND_BUF_SIZE    (170 * 6144)
#define NV_RECV_GPADL       0xe1000
#define NV_SEND_GPADL       0xe2000

/* NVSP versions */
#define NV_VERSION_1        0x00000002
#define NV_VERSION_2        0x00030002
#define NV_VERSION_4        0x00040000
#define NV_VERSION_5        0x00050000
#define NV_VERSION_6        0x00060000
#define NV_VERSION_61       0x00060001

/* NVSP messages; every one is 40 bytes. */
#define NV_MSG_SIZE         40
enum {
    NV_MSG_INIT = 1,
    NV_MSG_INIT_COMPLETE = 2,
    NV_MSG_SEND_NDIS_VERSION = 100,
    NV_MSG_SEND_RECV_BUF = 101,
    NV_MSG_SEND_RECV_BUF_COMPLETE = 102,
    NV_MSG_REVOKE_RECV_BUF = 103,
    NV_MSG_SEND_SEND_BUF = 104,
    NV_MSG_SEND_SEND_BUF_COMPLETE = 105,
    NV_MSG_REVOKE_SEND_BUF = 106,
    NV_MSG_SEND_RNDIS_PKT = 107,
    NV_MSG_SEND_RNDIS_PKT_COMPLETE = 108,
    NV_MSG_SEND_NDIS_CONFIG = 125,
    NV_MSG_SWITCH_DATA_PATH = 129,
    NV_MSG_SUBCHANNEL = 133,
};

#define NV_STAT_SUCCESS     1
#define NV_STAT_FAIL        2
#define NV_STAT_INVALID_RNDIS_PKT   5

#define NV_RECV_BUF_ID      0xcafe
#define NV_NO_SECTION       0xffffffffu
#define NV_CHANNEL_DATA     0
#define NV_CHANNEL_CONTROL  1

/* The guest's COMP for a transfer-page packet: type 108, status. */
#define NV_XFER_PAGES       7

/* RNDIS messages */
enum {
    NV_RNDIS_PACKET = 1,
    NV_RNDIS_INIT = 2,
    NV_RNDIS_HALT = 3,
    NV_RNDIS_QUERY = 4,
    NV_RNDIS_SET = 5,
    NV_RNDIS_RESET = 6,
    NV_RNDIS_INDICATE = 7,
    NV_RNDIS_KEEPALIVE = 8,
};
#define NV_RNDIS_COMPLETION     0x80000000u

#define NV_RNDIS_SUCCESS            0x00000000u
#define NV_RNDIS_NOT_SUPPORTED      0xc00000bbu
#define NV_RNDIS_MEDIA_CONNECT      0x4001000bu
#define NV_RNDIS_MEDIA_DISCONNECT   0x4001000cu

/* An RNDIS data packet: 8-byte header, 36-byte packet header, PPIs. */
#define NV_PKT_HDR          44
#define NV_PPI_HDR          12

/* Per-packet information */
enum {
    NV_PPI_CSUM = 0,
    NV_PPI_LSO = 2,
    NV_PPI_VLAN = 6,
    NV_PPI_HASH = 8,
};
/* Checksum, transmit */
#define NV_TXCSUM_IPV4      (1u << 0)
#define NV_TXCSUM_IPV6      (1u << 1)
#define NV_TXCSUM_TCP       (1u << 2)
#define NV_TXCSUM_UDP       (1u << 3)
#define NV_TXCSUM_OFFSET(o) ((uint32_t)(o) << 16)
/* Checksum, receive */
#define NV_RXCSUM_TCP_FAILED    (1u << 0)
#define NV_RXCSUM_UDP_FAILED    (1u << 1)
#define NV_RXCSUM_IP_FAILED     (1u << 2)
#define NV_RXCSUM_TCP_OK        (1u << 3)
#define NV_RXCSUM_UDP_OK        (1u << 4)
#define NV_RXCSUM_IP_OK         (1u << 5)
/* LSO v2: MSS, TCP header offset, v2, IPv6 */
#define NV_LSO(mss, off)    ((mss) | (uint32_t)(off) << 20 | 1u << 30)
#define NV_LSO_IPV6         (1u << 31)

/* OIDs */
#define NV_OID_SUPPORTED_LIST           0x00010101
#define NV_OID_MAXIMUM_FRAME_SIZE       0x00010106
#define NV_OID_LINK_SPEED               0x00010107
#define NV_OID_CURRENT_PACKET_FILTER    0x0001010e
#define NV_OID_MEDIA_CONNECT_STATUS     0x00010114
#define NV_OID_RSS_CAPABILITIES         0x00010203
#define NV_OID_RSS_PARAMETERS           0x00010204
#define NV_OID_FRIENDLY_NAME            0x00020216
#define NV_OID_CONFIG_PARAMETER         0x0001021b
#define NV_OID_XMIT_OK                  0x00020101
#define NV_OID_RCV_OK                   0x00020102
#define NV_OID_PERMANENT_ADDRESS        0x01010101
#define NV_OID_CURRENT_ADDRESS          0x01010102
#define NV_OID_OFFLOAD_PARAMETERS       0xfc01020c
#define NV_OID_OFFLOAD_HW_CAPS          0xfc01020d

/* The packet filter Linux sets: directed, all multicast, broadcast. */
#define NV_FILTER_DEFAULT   0x0d

/* QUERY and SET: header and request (req_id, oid, length, offset, vc). */
#define NV_QUERY_HDR        28
/* The room Linux gives a query's answer at most. */
#define NV_QUERY_MAX        512

typedef struct NVGuest {
    QTestState *qts;
    VMBusGuest g;
    /* The primary, then the subchannels by index. */
    VMBusGuestChannel ch[NV_MAX_CHANNELS];
    bool open[NV_MAX_CHANNELS];
    uint8_t instance[16];
    uint32_t version;           /* NVSP, 0 before INIT succeeded */
    uint64_t trans_id;          /* the last one used */
    uint32_t req_id;            /* the last RNDIS request id */

    /* nv_probe()'s receive buffer size and MTU (0: the defaults). */
    uint32_t probe_rx_size;
    uint32_t probe_mtu;

    /* The receive buffer, and its one section as the host cut it. */
    uint32_t rx_gpadl;
    uint32_t rx_size;
    uint32_t rx_slot_size;      /* sub_alloc_size */
    uint32_t rx_nslots;
    /* The send buffer */
    uint32_t tx_gpadl;
    uint32_t tx_size;
    uint32_t tx_section_size;
    uint32_t tx_nsections;
    uint32_t next_section;
    uint32_t scratch_pos;

    /* What INIT_COMPLETE said */
    uint32_t max_pkt_per_msg;
    uint32_t pkt_alignment;

    /* Host packets taken but not claimed by the test yet. */
    GQueue rndis;               /* NVRndis *, in the order they came */
    GQueue comps;               /* NVComp * */
    /* Transfer-page packets: completed as they come, unless held. */
    bool hold;
    GArray *held;               /* NVHeld */
    uint32_t xfer_packets;
    uint32_t xfer_ranges;
    uint32_t xfer_max_ranges;

    /* The netdev's other end */
    int sock;
    char *sock_path;            /* the test's, where QEMU sends */
    char *qemu_path;            /* QEMU's, where the test sends */
    char *mig_path;             /* a migration destination's */
} NVGuest;

/* One RNDIS message the host named in a transfer-page packet. */
typedef struct NVRndis {
    uint16_t chan;              /* the channel the packet came on */
    uint64_t trans_id;          /* the packet's */
    uint32_t offset;            /* in the receive buffer */
    uint32_t len;               /* the range's byte_count */
    uint8_t *data;
} NVRndis;

/* An NVSP completion the host sent for one of the guest's messages. */
typedef struct NVComp {
    uint16_t chan;
    uint64_t trans_id;
    uint32_t len;
    uint8_t data[NV_MSG_SIZE];
} NVComp;

typedef struct NVHeld {
    uint16_t chan;
    uint64_t trans_id;
} NVHeld;

/* A range of guest memory a GPA-direct packet names. */
typedef struct NVRange {
    uint64_t gpa;
    uint32_t len;
} NVRange;

/* How an RNDIS message travels. */
typedef enum NVVia {
    NV_VIA_GPA,                 /* GPA-direct, one range, as Linux */
    NV_VIA_SECTION,             /* copied into a send-buffer section */
} NVVia;

/* A per-packet information record, of one u32 of data. */
typedef struct NVPpi {
    uint32_t type;
    uint32_t value;
} NVPpi;

/*
 * Boots q35 (64 MiB, 2 VPs) with a vmbus-bridge and hv-net id "net0",
 * mac NV_MAC, on a unix datagram netdev "n0" whose other end is the test's
 * socket, with the properties @props (",queues=4"; "" for none); connects
 * at 5.3 and takes the offer. The primary's rings are not open yet:
 * NV_RING_PAGES + NV_RING_PAGES at NV_RING_GPA(0), which a test may
 * change before nv_open().
 */
void nv_boot(NVGuest *f, const char *props);
/*
 * nv_boot() for a QEMU that is already running with an hv-net (the fuzzer's):
 * connects and takes the offer. nv_detach() frees what nv_attach() took.
 */
void nv_attach(NVGuest *f, QTestState *qts);
void nv_detach(NVGuest *f);
/*
 * After a machine reset: the partition set up again, connected at 5.3,
 * the offer taken; everything of the last session forgotten.
 */
void nv_reconnect(NVGuest *f);
/* Takes a new NIC's offer (after device_add), as nv_reconnect() does. */
void nv_take_offer(NVGuest *f);
/* Opens the primary channel, events to VP 0. */
void nv_open(NVGuest *f);
/*
 * What Linux's probe does at NVSP @version: INIT, NDIS_CONFIG (from 3.2),
 * NDIS_VERSION, the receive buffer (probe_rx_size bytes, by default
 * NV_RECV_BUF_SIZE) and the send buffer, RNDIS INIT, the queries and the
 * offload parameters. Asserts each step succeeds.
 */
void nv_probe(NVGuest *f, uint32_t version);
/* Sets the packet filter (as netvsc's open does); asserts SET_C says 0. */
void nv_set_filter(NVGuest *f, uint32_t filter);
/* nv_boot(), nv_open(), nv_probe() and the default packet filter. */
void nv_start(NVGuest *f, const char *props, uint32_t version);
/* Quits the machine, closes and removes the sockets, frees. */
void nv_finish(NVGuest *f);

/* A machine as nv_boot() starts it, on a netdev of its own, incoming. */
QTestState *nv_boot_incoming(NVGuest *f, const char *props,
                             const char *uri);
/* The test goes on with @qts, the migration's destination. */
void nv_switch(NVGuest *f, QTestState *qts);

/*
 * Takes subchannel @index's offer (after SUBCHANNEL); its rings at
 * NV_RING_GPA(@index), not open yet.
 */
void nv_take_subchannel(NVGuest *f, uint16_t index);
/* Opens channel @index, events to @vp. */
void nv_open_channel(NVGuest *f, uint16_t index, uint32_t vp);

/*
 * NVSP
 * ----
 */

/* Sends @len bytes of @msg in-band on @chan; returns its transaction. */
uint64_t nv_send_nvsp(NVGuest *f, uint16_t chan, const void *msg,
                      uint32_t len, bool want_comp);
/* Takes the host's completion for @trans_id on @chan (waits for it). */
NVComp nv_wait_comp(NVGuest *f, uint16_t chan, uint64_t trans_id);
/* The same, waiting @rounds rounds at most; false if none came. */
bool nv_try_comp(NVGuest *f, uint64_t trans_id, int rounds, NVComp *c);
/* An NVSP message of @type with @body from byte 4, completion wanted. */
NVComp nv_nvsp(NVGuest *f, uint16_t chan, uint32_t type, const void *body,
               uint32_t body_len);
/* INIT for [@min, @max]; returns the status, the version in *@chosen. */
uint32_t nv_nvsp_init(NVGuest *f, uint32_t min, uint32_t max,
                      uint32_t *chosen);
/*
 * A GPADL for @size bytes at @gpa, then SEND_RECV_BUF (or SEND_SEND_BUF)
 * naming @gpadl; returns the completion's status and keeps the section.
 */
uint32_t nv_recv_buf(NVGuest *f, uint64_t gpa, uint32_t size,
                     uint32_t gpadl);
uint32_t nv_send_buf(NVGuest *f, uint64_t gpa, uint32_t size,
                     uint32_t gpadl);
/* Creates GPADL @id for @size bytes at @gpa on the primary. */
void nv_gpadl(NVGuest *f, uint32_t id, uint64_t gpa, uint32_t size);
/* Tears GPADL @id down; asserts the host lets it go. */
void nv_gpadl_teardown(NVGuest *f, uint32_t id);

/*
 * SEND_RNDIS_PKT on @chan with @section/@section_size and @nranges
 * GPA-direct ranges (an in-band packet when none); returns the transaction.
 */
uint64_t nv_send_rndis_raw(NVGuest *f, uint16_t chan, uint32_t channel_type,
                           uint32_t section, uint32_t section_size,
                           const NVRange *ranges, int nranges);
/* Sends RNDIS bytes @msg as @via says; returns the transaction. */
uint64_t nv_send_rndis(NVGuest *f, uint16_t chan, uint32_t channel_type,
                       const void *msg, uint32_t len, NVVia via);
/* The SEND_RNDIS_PKT_COMPLETE for @trans_id on @chan: its status. */
uint32_t nv_wait_send(NVGuest *f, uint16_t chan, uint64_t trans_id);
/* Writes @len bytes into send section @index from byte @off of it. */
void nv_section_write(NVGuest *f, uint32_t index, uint32_t off,
                      const void *data, uint32_t len);
/* A free place for @len bytes in the scratch area, @align-aligned. */
uint64_t nv_scratch(NVGuest *f, uint32_t len, uint32_t align);

/*
 * The host's packets
 * ------------------
 */

/*
 * Takes every packet waiting on the open channels: completions and RNDIS
 * messages are kept for the test, each checked as Linux checks it, and
 * transfer-page packets completed (or held). Returns how many it took.
 */
int nv_pump(NVGuest *f);
/*
 * Waits for an RNDIS message of @type (with @req_id, for answers: 0 for
 * any) and takes it; NULL if none came in a while. nv_rndis_free() it.
 */
NVRndis *nv_try_rndis(NVGuest *f, uint32_t type, uint32_t req_id);
NVRndis *nv_wait_rndis(NVGuest *f, uint32_t type, uint32_t req_id);
/* Takes such a message if one came already, without waiting. */
NVRndis *nv_take_rndis(NVGuest *f, uint32_t type, uint32_t req_id);
/* The next data packet (in the order they came). */
NVRndis *nv_wait_frame(NVGuest *f);
void nv_rndis_free(NVRndis *m);
/* The frame in a data packet, and a PPI's value (false: none). */
const uint8_t *nv_frame(const NVRndis *m, uint32_t *len);
bool nv_ppi(const NVRndis *m, uint32_t type, uint32_t *value);
/* Completes the held transfer-page packets. */
void nv_complete_held(NVGuest *f);
/* Completes one transfer-page packet (@status 1: taken). */
void nv_complete_xfer(NVGuest *f, uint16_t chan, uint64_t trans_id,
                      uint32_t status);
/* Nothing unclaimed came, and nothing more comes for a little while. */
void nv_assert_quiet(NVGuest *f);

/*
 * RNDIS control
 * -------------
 */

/* INIT; asserts INIT_C's fields and keeps its batching limits. */
void nv_rndis_init(NVGuest *f);
/*
 * QUERY @oid with @in_len bytes of @in as its information buffer (as
 * Linux sends some), sent GPA-direct; returns QUERY_C's status, the
 * information in @out (NV_QUERY_MAX bytes) and its length in *@out_len.
 */
uint32_t nv_query(NVGuest *f, uint32_t oid, const void *in, uint32_t in_len,
                  void *out, uint32_t *out_len);
/* A u32 QUERY; asserts status 0 and 4 bytes. */
uint32_t nv_query_u32(NVGuest *f, uint32_t oid);
/* SET @oid to @len bytes of @info; returns SET_C's status. */
uint32_t nv_set(NVGuest *f, uint32_t oid, const void *info, uint32_t len);
/* A QUERY of the MAC: the NIC still answers. */
void nv_assert_alive(NVGuest *f);

/*
 * Frames
 * ------
 */

/*
 * Builds an RNDIS data packet of @frame with @ppis into @buf, padded to
 * @align (0: none); returns its length (msg_len).
 */
uint32_t nv_build_packet(uint8_t *buf, const void *frame, uint32_t len,
                         const NVPpi *ppis, int nppis, uint32_t align);
/* Sends @frame on @chan as @via says; returns the NVSP status. */
uint32_t nv_send_frame(NVGuest *f, uint16_t chan, const void *frame,
                       uint32_t len, const NVPpi *ppis, int nppis,
                       NVVia via);

/* Puts @frame on the wire towards the NIC. */
void nv_wire_send(NVGuest *f, const void *frame, uint32_t len);
/*
 * Takes the next frame off the wire; its length (asserts one came). QEMU's
 * own RARP announcements after a migration are skipped.
 */
uint32_t nv_wire_recv(NVGuest *f, void *buf, uint32_t size);
/* The test's socket has nothing for a while. */
void nv_wire_assert_empty(NVGuest *f);
/* Waits until QEMU took every frame the test sent. */
void nv_wire_wait_taken(NVGuest *f);

#endif
