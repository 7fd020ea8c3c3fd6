/*
 * qemu-vmbus: hv-net, the synthetic NIC (netvsc's host)
 *
 * hv-net offers the NVSP protocol on a VMBus channel, and subchannels for
 * more queues, in front of any QEMU netdev. The guest shares a receive
 * buffer, where the host places RNDIS messages (frames and control
 * answers) and names them in transfer-page packets, and a send buffer, from
 * whose sections (or from GPA-direct pages) it sends RNDIS messages.
 *
 * hw/vmbus/hv-net.c is the device (QOM, netdev, channels, migration),
 * hv-net-nvsp.c the NVSP messages, hv-net-rndis.c RNDIS control and OIDs,
 * hv-net-tx.c transmit and hv-net-rx.c receive.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_NET_H
#define HW_VMBUS_HV_NET_H

#include "net/net.h"
#include "hw/vmbus/vmbus.h"
#include "hw/vmbus/hv-net-proto.h"

#define TYPE_HV_NET "hv-net"
OBJECT_DECLARE_SIMPLE_TYPE(HVNet, HV_NET)

/* Channels: the primary and up to 63 subchannels, as Linux allows. */
#define HV_NET_QUEUES_MAX           64
/* The send-buffer section size the host asks for (as Hyper-V). */
#define HV_NET_SEND_SECTION_SIZE    6144
/* Frames one transfer-page packet carries at most. */
#define HV_NET_RX_BATCH             32
/* RNDIS messages one SEND_RNDIS_PKT may carry (INIT_C's max_pkt_per_msg). */
#define HV_NET_TX_BATCH             8
/* Receive-buffer slots the host uses at most (a 16 MiB buffer has 9709). */
#define HV_NET_RX_SLOTS_MAX         65536
/* The largest slot: a 64 KiB jumbo frame and its headers. */
#define HV_NET_RX_SLOT_MAX          (64 * 1024 + 256)
/* RNDIS control answers that wait for receive-buffer room. */
#define HV_NET_CONTROL_QUEUE        16
/* The largest RNDIS control answer we build. */
#define HV_NET_CONTROL_MAX          512

/* A frame or control answer placed in the receive buffer. */
typedef struct HVNetRxRange {
    uint32_t offset;
    uint32_t len;
} HVNetRxRange;

/* One transfer-page packet the guest has not completed yet. */
typedef struct HVNetRxPacket {
    uint64_t trans_id;
    uint16_t chan_index;
    uint16_t nslots;
    uint32_t slots[HV_NET_RX_BATCH];
} HVNetRxPacket;

/* Per channel: the frames gathered for the next transfer-page packet. */
typedef struct HVNetQueue {
    uint16_t nranges;
    HVNetRxRange ranges[HV_NET_RX_BATCH];
    uint32_t slots[HV_NET_RX_BATCH];
    uint32_t outstanding;           /* transfer-page packets not completed */
    bool tx_stalled;                /* stopped taking guest packets */
} HVNetQueue;

/* An RNDIS control answer waiting for receive-buffer room. */
typedef struct HVNetControl {
    uint32_t len;
    uint8_t msg[HV_NET_CONTROL_MAX];
} HVNetControl;

struct HVNet {
    VMBusDevice parent_obj;

    NICConf conf;
    NICState *nic;

    /* Properties */
    uint16_t queues;
    uint32_t link_speed_mbps;

    /* NVSP */
    uint32_t nvsp_version;          /* 0: not negotiated */
    uint32_t ndis_major, ndis_minor;
    uint32_t ndis_mtu;              /* SEND_NDIS_CONFIG: MTU + 14 */
    uint32_t rx_gpadl_id;           /* 0: none */
    VMBusGpadl *rx_gpadl;
    uint32_t rx_slot_size;          /* sub_alloc_size */
    uint32_t rx_nslots;
    uint32_t rx_free;
    unsigned long *rx_slot_used;
    uint32_t rx_next_slot;          /* where the search for a free one starts */
    uint32_t tx_gpadl_id;
    VMBusGpadl *tx_gpadl;
    uint32_t tx_nsections;
    uint16_t nsubchannels;          /* offered at the guest's request */

    /* RNDIS */
    bool rndis_ready;               /* INITIALIZE done, no HALT since */
    uint32_t packet_filter;
    bool link_up;                   /* what the guest was last told */
    uint8_t mac[6];                 /* current address */
    /* RSS */
    bool rss_enabled;
    uint32_t rss_hash_types;        /* NDIS_HASH_* */
    uint8_t rss_key[NDIS_RSS_KEY_SIZE];
    uint16_t rss_table_size;        /* entries */
    uint32_t rss_table[NDIS_RSS_INDIRECTION_MAX];
    /* Statistics */
    uint64_t tx_ok, rx_ok, tx_errors, rx_errors, rx_no_buffer;

    HVNetQueue *q;                  /* per channel */
    GHashTable *rx_pending;         /* trans_id -> HVNetRxPacket */
    uint64_t rx_trans_id;
    uint32_t ncontrol;
    HVNetControl control[HV_NET_CONTROL_QUEUE];
    QEMUBH *rx_flush_bh;            /* sends the gathered frames */
    struct NetTxPkt *tx_pkt;
    struct NetRxPkt *rx_pkt;
    uint8_t *tx_buf;                /* one SEND_RNDIS_PKT's bytes */
    uint32_t tx_buf_size;

    /* Migration only */
    bool mig_link_down;             /* the netdev link, as set_link left it */
    uint16_t mig_queues;
    uint16_t mig_nchans;
    int32_t mig_npending;
    HVNetRxPacket *mig_pending;
};

/* hv-net-nvsp.c */
void hv_net_handle_packet(HVNet *n, VMBusChannel *chan,
                          const VMBusPacket *pkt);
void hv_net_release_buffers(HVNet *n);
/* The slot size the guest's MTU asks for. */
uint32_t hv_net_rx_slot_size(HVNet *n);
/* Sets the receive buffer's slots up for GPADL @id; false if it cannot. */
bool hv_net_rx_buffer_setup(HVNet *n, VMBusChannel *chan, uint32_t id,
                            uint32_t slot_size);

/* hv-net-rndis.c */
void hv_net_rndis_control(HVNet *n, const uint8_t *msg, uint32_t len);
void hv_net_rndis_reset_state(HVNet *n);
void hv_net_indicate_link(HVNet *n);

/* hv-net-tx.c: the RNDIS messages of one SEND_RNDIS_PKT; NVSP status. */
uint32_t hv_net_transmit(HVNet *n, VMBusChannel *chan,
                         const VMBusPacket *pkt,
                         const struct nvsp_rndis_pkt *req);

/* hv-net-rx.c */
bool hv_net_rx_can_receive(HVNet *n);
ssize_t hv_net_rx_frame(HVNet *n, const uint8_t *buf, size_t size);
/* Queues an RNDIS control answer for the receive buffer. */
void hv_net_rx_control(HVNet *n, const void *msg, uint32_t len);
void hv_net_rx_flush(HVNet *n);
/* Only the control answers, when the primary's batch is empty. */
void hv_net_rx_flush_control(HVNet *n);
void hv_net_rx_completed(HVNet *n, VMBusChannel *chan,
                         const VMBusPacket *pkt);
void hv_net_rx_reset(HVNet *n);
void hv_net_rx_drop_channel(HVNet *n, uint16_t chan_index);

#endif
