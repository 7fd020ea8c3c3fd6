/*
 * qemu-vmbus: hv-scsi's VSTOR control operations
 *
 * The guest initializes the controller on its primary channel with
 * BEGIN_INITIALIZATION, one QUERY_PROTOCOL_VERSION per version it speaks
 * until one is accepted, QUERY_PROPERTIES and END_INITIALIZATION; then it
 * may ask for subchannels. Every request that wants a completion gets a
 * COMPLETE_IO, with an error status if it was wrong; none is left pending.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/vmbus/hv-scsi.h"
#include "trace.h"

static const uint16_t hv_scsi_versions[] = {
    VSTOR_VERSION_WIN6, VSTOR_VERSION_WIN7, VSTOR_VERSION_WIN8,
    VSTOR_VERSION_WIN8_1, VSTOR_VERSION_WIN10,
};

bool hv_scsi_version_known(uint16_t version)
{
    for (int i = 0; i < ARRAY_SIZE(hv_scsi_versions); i++) {
        if (hv_scsi_versions[i] == version) {
            return true;
        }
    }
    return false;
}

/* The bytes an operation's body needs after the packet header. */
static uint32_t op_body_size(uint32_t op)
{
    switch (op) {
    case VSTOR_OP_QUERY_PROTOCOL_VERSION:
        return sizeof(struct vstor_protocol_version);
    case VSTOR_OP_CREATE_SUB_CHANNELS:
        return sizeof(uint16_t);
    case VSTOR_OP_RESET_LUN:
        /* The SRB's address: path, target and LUN. */
        return offsetof(struct vstor_srb, lun) + 1;
    default:
        return 0;
    }
}

static uint32_t op_version(HVScsi *s, HVScsiReq *req)
{
    uint16_t version = le16_to_cpu(req->pkt.version.major_minor);

    if (s->init_state != HV_SCSI_INIT_BEGUN) {
        return VSTOR_STATUS_INVALID_DEVICE_STATE;
    }
    trace_hv_scsi_version(version, hv_scsi_version_known(version));
    if (!hv_scsi_version_known(version)) {
        /* Not an error: the guest tries an older one next. */
        return VSTOR_STATUS_UNSUCCESSFUL;
    }
    s->version = version;
    req->reply_len = vstor_packet_size(version);
    return VSTOR_STATUS_SUCCESS;
}

static uint32_t op_properties(HVScsi *s, HVScsiReq *req)
{
    struct vstor_channel_properties *p = &req->pkt.properties;

    if (s->init_state != HV_SCSI_INIT_BEGUN || !s->version) {
        return VSTOR_STATUS_INVALID_DEVICE_STATE;
    }
    memset(p, 0, sizeof(*p));
    /* Subchannels came with Windows 8's protocol. */
    if (s->max_subchannels && s->version >= VSTOR_VERSION_WIN8) {
        p->max_channel_cnt = cpu_to_le16(s->max_subchannels);
        p->flags = cpu_to_le32(VSTOR_PROPERTY_MULTI_CHANNEL);
    }
    p->max_transfer_bytes = cpu_to_le32(s->max_transfer);
    return VSTOR_STATUS_SUCCESS;
}

static uint32_t op_subchannels(HVScsi *s, VMBusChannel *chan,
                               HVScsiReq *req)
{
    uint16_t count = le16_to_cpu(req->pkt.sub_channel_count);
    int ret;

    if (s->init_state != HV_SCSI_INIT_DONE ||
        s->version < VSTOR_VERSION_WIN8) {
        return VSTOR_STATUS_INVALID_DEVICE_STATE;
    }
    if (!count || count > s->max_subchannels) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: %u subchannels asked, "
                      "at most %u offered\n", count, s->max_subchannels);
        return VSTOR_STATUS_INVALID_PARAMETER;
    }
    ret = vmbus_device_offer_subchannels(VMBUS_DEVICE(s), count);
    trace_hv_scsi_subchannels(count, ret);
    return ret ? VSTOR_STATUS_UNSUCCESSFUL : VSTOR_STATUS_SUCCESS;
}

/*
 * RESET_LUN, RESET_BUS and RESET_ADAPTER: requests in flight on the
 * devices concerned end as aborted, before the reset's own completion.
 */
static void op_reset(HVScsi *s, HVScsiReq *req, uint32_t op)
{
    const struct vstor_srb *srb = &req->pkt.srb;
    BusChild *kid;

    QTAILQ_FOREACH(kid, &s->bus.qbus.children, sibling) {
        SCSIDevice *d = SCSI_DEVICE(kid->child);

        if (op == VSTOR_OP_RESET_LUN &&
            (d->channel != srb->path_id || d->id != srb->target_id ||
             d->lun != srb->lun)) {
            continue;
        }
        device_cold_reset(DEVICE(d));
    }
}

void hv_scsi_handle_packet(HVScsi *s, VMBusChannel *chan,
                           const VMBusPacket *pkt)
{
    HVScsiReq *req = hv_scsi_req_new(s, chan, pkt);
    uint32_t op = le32_to_cpu(req->pkt.operation);
    uint32_t status = VSTOR_STATUS_SUCCESS;

    trace_hv_scsi_packet(vmbus_channel_index(chan), op, pkt->trans_id,
                         pkt->len);
    if (pkt->len < VSTOR_PACKET_HEADER + op_body_size(op)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: operation %u in a packet "
                      "of %u bytes\n", op, pkt->len);
        status = VSTOR_STATUS_INVALID_PARAMETER;
        goto done;
    }
    if (op == VSTOR_OP_EXECUTE_SRB) {
        hv_scsi_execute_srb(s, chan, pkt, req);
        return;
    }
    if (vmbus_channel_index(chan)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: operation %u on a "
                      "subchannel\n", op);
        status = VSTOR_STATUS_INVALID_DEVICE_REQUEST;
        goto done;
    }

    switch (op) {
    case VSTOR_OP_BEGIN_INITIALIZATION:
        /* A guest may start over, as after kexec. */
        s->init_state = HV_SCSI_INIT_BEGUN;
        s->version = 0;
        break;
    case VSTOR_OP_QUERY_PROTOCOL_VERSION:
        status = op_version(s, req);
        break;
    case VSTOR_OP_QUERY_PROPERTIES:
        status = op_properties(s, req);
        break;
    case VSTOR_OP_END_INITIALIZATION:
        if (s->init_state != HV_SCSI_INIT_BEGUN || !s->version) {
            status = VSTOR_STATUS_INVALID_DEVICE_STATE;
            break;
        }
        s->init_state = HV_SCSI_INIT_DONE;
        break;
    case VSTOR_OP_CREATE_SUB_CHANNELS:
        status = op_subchannels(s, chan, req);
        break;
    case VSTOR_OP_RESET_LUN:
    case VSTOR_OP_RESET_BUS:
    case VSTOR_OP_RESET_ADAPTER:
        if (s->init_state != HV_SCSI_INIT_DONE) {
            status = VSTOR_STATUS_INVALID_DEVICE_STATE;
            break;
        }
        op_reset(s, req, op);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: unknown operation %u\n",
                      op);
        status = VSTOR_STATUS_INVALID_DEVICE_REQUEST;
    }
    if (status == VSTOR_STATUS_INVALID_DEVICE_STATE) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: operation %u out of "
                      "order (initialization state %u)\n", op,
                      s->init_state);
    }
done:
    req->pkt.status = cpu_to_le32(status);
    hv_scsi_req_finish(req);
}

void hv_scsi_send_rescan(HVScsi *s)
{
    VMBusChannel *chan = VMBUS_DEVICE(s)->chan;
    struct vstor_packet pkt = {
        .operation = cpu_to_le32(VSTOR_OP_ENUMERATE_BUS),
    };

    s->rescan_pending = false;
    if (!vmbus_channel_is_open(chan) || s->init_state != HV_SCSI_INIT_DONE) {
        /* The guest scans when it initializes. */
        return;
    }
    trace_hv_scsi_rescan();
    /* After the completions that wait for room: notify sends it then. */
    if (hv_scsi_done_waiting(s, 0) ||
        vmbus_channel_send(chan, VMBUS_PACKET_DATA_INBAND, 0, 0, NULL, 0,
                           &pkt, vstor_packet_size(s->version)) == -ENOSPC) {
        s->rescan_pending = true;
    }
}
