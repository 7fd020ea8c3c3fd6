/*
 * qemu-vmbus: hv-scsi, the synthetic SCSI controller (storvsc's host)
 *
 * hv-scsi offers the VSTOR protocol on a VMBus channel and its subchannels
 * and hands each SCSI request block to QEMU's SCSI layer: the disks are
 * ordinary SCSI devices (scsi-hd, scsi-cd, scsi-block) on the controller's
 * bus "ID.0", addressed by the SRB's path (channel), target and LUN.
 *
 * hw/vmbus/hv-scsi.c is the device (QOM, SCSI bus, hot plug, migration),
 * hv-scsi-vstor.c the protocol's control operations, hv-scsi-srb.c the
 * requests.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_HV_SCSI_H
#define HW_VMBUS_HV_SCSI_H

#include "hw/scsi/scsi.h"
#include "hw/vmbus/vmbus.h"
#include "hw/vmbus/hv-scsi-proto.h"

#define TYPE_HV_SCSI "hv-scsi"
OBJECT_DECLARE_SIMPLE_TYPE(HVScsi, HV_SCSI)

/* Subchannels the class can offer; property max-subchannels bounds it. */
#define HV_SCSI_SUBCHANNELS_MAX     64
/* Requests one channel may have taken and not yet answered. */
#define HV_SCSI_CHANNEL_REQUESTS    256

/* SCSI addresses as Linux's storvsc scans them. */
#define HV_SCSI_MAX_CHANNEL     7
#define HV_SCSI_MAX_TARGET      1
#define HV_SCSI_MAX_LUN         254

/* One SRB, from the guest's packet until its completion is on the ring. */
typedef struct HVScsiReq {
    HVScsi *dev;
    uint16_t chan_index;        /* the channel it came on, answered on */
    uint32_t reply_len;         /* the completion's size */
    uint64_t trans_id;
    bool want_reply;
    struct vstor_packet pkt;    /* the request, then its completion */
    QEMUSGList sgl;             /* the data, when there is some */
    SCSIRequest *sreq;
    QTAILQ_ENTRY(HVScsiReq) next;
} HVScsiReq;

struct HVScsi {
    VMBusDevice parent_obj;

    SCSIBus bus;

    /* Properties */
    uint32_t max_transfer;
    uint16_t max_subchannels;

    /* Protocol state, kept by the primary channel. */
    uint16_t version;           /* negotiated; 0 before */
    uint8_t init_state;         /* HV_SCSI_INIT_* */
    bool rescan_pending;        /* ENUMERATE_BUS waits for ring space */

    /* Per channel: requests taken and not yet answered. */
    uint32_t *inflight;
    /* Requests the SCSI layer works on. */
    QTAILQ_HEAD(, HVScsiReq) active;
    /* Completions waiting for ring space, oldest first. */
    QTAILQ_HEAD(, HVScsiReq) done;
    uint32_t tag;
    /* Serves channels again once requests below the limit. */
    QEMUBH *kick_bh;
};

enum {
    HV_SCSI_INIT_NONE,          /* waiting for BEGIN_INITIALIZATION */
    HV_SCSI_INIT_BEGUN,         /* versions and properties asked */
    HV_SCSI_INIT_DONE,          /* END_INITIALIZATION: SRBs welcome */
};

/* hv-scsi-vstor.c: one guest packet on @chan. */
bool hv_scsi_version_known(uint16_t version);
void hv_scsi_handle_packet(HVScsi *s, VMBusChannel *chan,
                           const VMBusPacket *pkt);
/* Tells the guest to rescan its LUNs, now or when the ring has room. */
void hv_scsi_send_rescan(HVScsi *s);

/* hv-scsi-srb.c */
void hv_scsi_execute_srb(HVScsi *s, VMBusChannel *chan,
                         const VMBusPacket *pkt, HVScsiReq *req);
HVScsiReq *hv_scsi_req_new(HVScsi *s, VMBusChannel *chan,
                           const VMBusPacket *pkt);
/* Sends @req's completion, or queues it until the ring has room. */
void hv_scsi_req_finish(HVScsiReq *req);
/* Sends what waits for ring space on @chan; false if some still waits. */
bool hv_scsi_flush_done(HVScsi *s, VMBusChannel *chan);
/* Drops what @chan's guest will never see: it closed the channel. */
void hv_scsi_drop_channel(HVScsi *s, VMBusChannel *chan);
/* Cancels, unanswered, the requests of channel @chan_index (-1: all). */
void hv_scsi_cancel_all(HVScsi *s, int chan_index);
/* Whether completions for channel @chan_index wait for ring space. */
bool hv_scsi_done_waiting(HVScsi *s, uint16_t chan_index);
extern const SCSIBusInfo hv_scsi_bus_info;

#endif
