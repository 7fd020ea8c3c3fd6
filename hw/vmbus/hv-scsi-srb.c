/*
 * qemu-vmbus: hv-scsi's requests, from SRB to completion
 *
 * An EXECUTE_SRB packet becomes a SCSIRequest on the device its path,
 * target and LUN name, with the packet's GPA-direct range as the request's
 * scatter-gather list, so that the SCSI layer moves data straight between
 * the image and guest memory. The completion carries the SCSI status, the
 * sense data and the bytes moved, and goes back on the channel the
 * request came on.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/error-report.h"
#include "migration/qemu-file-types.h"
#include "migration/qemu-file.h"
#include "scsi/constants.h"
#include "hw/vmbus/hv-scsi.h"
#include "trace.h"

HVScsiReq *hv_scsi_req_new(HVScsi *s, VMBusChannel *chan,
                           const VMBusPacket *pkt)
{
    HVScsiReq *req = g_new0(HVScsiReq, 1);

    req->dev = s;
    req->chan_index = vmbus_channel_index(chan);
    req->trans_id = pkt->trans_id;
    req->want_reply = pkt->flags & VMBUS_PACKET_FLAG_REQUEST_COMPLETION;
    req->reply_len = vstor_packet_size(s->version);
    memcpy(&req->pkt, pkt->data, MIN(pkt->len, sizeof(req->pkt)));
    s->inflight[req->chan_index]++;
    return req;
}

static void hv_scsi_req_free(HVScsiReq *req)
{
    HVScsi *s = req->dev;

    qemu_sglist_destroy(&req->sgl);
    assert(s->inflight[req->chan_index]);
    /* A channel that stopped taking requests at its limit resumes. */
    if (s->inflight[req->chan_index]-- == HV_SCSI_CHANNEL_REQUESTS) {
        qemu_bh_schedule(s->kick_bh);
    }
    g_free(req);
}

bool hv_scsi_done_waiting(HVScsi *s, uint16_t chan_index)
{
    HVScsiReq *req;

    QTAILQ_FOREACH(req, &s->done, next) {
        if (req->chan_index == chan_index) {
            return true;
        }
    }
    return false;
}

void hv_scsi_req_finish(HVScsiReq *req)
{
    HVScsi *s = req->dev;
    VMBusChannel *chan = vmbus_device_channel(VMBUS_DEVICE(s),
                                              req->chan_index);
    int ret;

    if (req->sreq) {
        req->sreq->hba_private = NULL;
        scsi_req_unref(req->sreq);
        req->sreq = NULL;
        QTAILQ_REMOVE(&s->active, req, next);
    }
    req->pkt.operation = cpu_to_le32(VSTOR_OP_COMPLETE_IO);
    req->pkt.flags = 0;
    if (!req->want_reply || !chan || !vmbus_channel_is_open(chan)) {
        hv_scsi_req_free(req);
        return;
    }
    /*
     * Behind completions that wait for room, never before them: a send
     * that fits would take back the host's request to hear of room.
     */
    ret = hv_scsi_done_waiting(s, req->chan_index) ? -ENOSPC :
          vmbus_channel_complete(chan, req->trans_id, &req->pkt,
                                 req->reply_len);
    if (ret == -ENOSPC) {
        /* The guest reads its ring again: notify sends it then. */
        QTAILQ_INSERT_TAIL(&s->done, req, next);
        return;
    }
    hv_scsi_req_free(req);
}

bool hv_scsi_flush_done(HVScsi *s, VMBusChannel *chan)
{
    uint16_t index = vmbus_channel_index(chan);
    HVScsiReq *req, *next;

    QTAILQ_FOREACH_SAFE(req, &s->done, next, next) {
        int ret;

        if (req->chan_index != index) {
            continue;
        }
        ret = vmbus_channel_complete(chan, req->trans_id, &req->pkt,
                                     req->reply_len);
        if (ret == -ENOSPC) {
            return false;
        }
        QTAILQ_REMOVE(&s->done, req, next);
        hv_scsi_req_free(req);
    }
    return true;
}

/* The first request the SCSI layer works on for @chan_index, or NULL. */
static HVScsiReq *first_active(HVScsi *s, int chan_index)
{
    HVScsiReq *req;

    QTAILQ_FOREACH(req, &s->active, next) {
        if (chan_index < 0 || req->chan_index == chan_index) {
            return req;
        }
    }
    return NULL;
}

void hv_scsi_cancel_all(HVScsi *s, int chan_index)
{
    HVScsiReq *req;

    /*
     * Cancelling waits for the block layer, which may complete and free
     * other requests meanwhile: start from the head each time. Nobody
     * hears of them: the guest closed the channel.
     */
    while ((req = first_active(s, chan_index))) {
        req->want_reply = false;
        scsi_req_cancel(req->sreq);
    }
}

void hv_scsi_drop_channel(HVScsi *s, VMBusChannel *chan)
{
    uint16_t index = vmbus_channel_index(chan);
    HVScsiReq *req, *next;

    hv_scsi_cancel_all(s, index);
    QTAILQ_FOREACH_SAFE(req, &s->done, next, next) {
        if (req->chan_index == index) {
            QTAILQ_REMOVE(&s->done, req, next);
            hv_scsi_req_free(req);
        }
    }
}

/* Ends @req without the SCSI layer: @srb_status says why. */
static void srb_fail(HVScsiReq *req, uint8_t srb_status, uint32_t status)
{
    struct vstor_srb *srb = &req->pkt.srb;

    trace_hv_scsi_srb_done(req->trans_id, srb_status, 0, 0);
    req->pkt.status = cpu_to_le32(status);
    srb->srb_status = srb_status;
    srb->scsi_status = GOOD;
    srb->sense_info_length = 0;
    srb->data_transfer_length = 0;
    hv_scsi_req_finish(req);
}

/* Keeps the first @size bytes of @sgl. */
static void sgl_truncate(QEMUSGList *sgl, dma_addr_t size)
{
    dma_addr_t left = size;
    int i;

    if (sgl->size <= size) {
        return;
    }
    for (i = 0; i < sgl->nsg && left; i++) {
        sgl->sg[i].len = MIN(sgl->sg[i].len, left);
        left -= sgl->sg[i].len;
    }
    sgl->nsg = i;
    sgl->size = size;
}

/* What Linux and Windows expect of an address where nothing is. */
static void srb_absent(HVScsiReq *req, const uint8_t *cdb)
{
    uint8_t data[36] = { 0 };
    uint32_t len = 0;

    switch (cdb[0]) {
    case INQUIRY:
        /* Peripheral qualifier 3: no device can be here. */
        data[0] = 0x7f;
        data[2] = 5;                /* SPC-3 */
        data[3] = 2;                /* response data format */
        data[4] = sizeof(data) - 5;
        len = MIN(sizeof(data), lduw_be_p(cdb + 3));
        break;
    case REPORT_LUNS:
        len = 8;                    /* an empty list */
        break;
    default:
        srb_fail(req, SRB_STATUS_INVALID_LUN, VSTOR_STATUS_SUCCESS);
        return;
    }
    len = MIN(len, req->sgl.size);
    dma_buf_read(data, len, NULL, &req->sgl, MEMTXATTRS_UNSPECIFIED);
    req->pkt.status = 0;
    req->pkt.srb.srb_status = SRB_STATUS_SUCCESS;
    req->pkt.srb.scsi_status = GOOD;
    req->pkt.srb.sense_info_length = 0;
    req->pkt.srb.data_transfer_length = cpu_to_le32(len);
    trace_hv_scsi_srb_done(req->trans_id, SRB_STATUS_SUCCESS, GOOD, len);
    hv_scsi_req_finish(req);
}

/* Target emulation answers these for a LUN absent beside present ones. */
static bool srb_for_target(uint8_t opcode)
{
    return opcode == INQUIRY || opcode == REPORT_LUNS ||
           opcode == REQUEST_SENSE;
}

void hv_scsi_execute_srb(HVScsi *s, VMBusChannel *chan,
                         const VMBusPacket *pkt, HVScsiReq *req)
{
    struct vstor_srb *srb = &req->pkt.srb;
    uint32_t need = vstor_packet_size(s->version);
    uint8_t cdb[VSTOR_CDB_MAX];
    uint32_t len;
    SCSIDevice *d;
    SCSIRequest *sreq;
    int mode;

    /* Linux sends the 5.1 SRB whatever the version: only need the old. */
    need = MIN(need, sizeof(struct vstor_packet) - VSTOR_SRB_WIN8_EXTENSION);
    qemu_sglist_init(&req->sgl, DEVICE(s), 0, &address_space_memory);
    if (s->init_state != HV_SCSI_INIT_DONE) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: SRB before the end of "
                      "initialization\n");
        srb_fail(req, SRB_STATUS_INVALID_REQUEST,
                 VSTOR_STATUS_INVALID_DEVICE_STATE);
        return;
    }
    if (pkt->len < need) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: SRB packet of %u bytes, "
                      "%u needed\n", pkt->len, need);
        srb_fail(req, SRB_STATUS_INVALID_REQUEST,
                 VSTOR_STATUS_INVALID_PARAMETER);
        return;
    }
    len = le32_to_cpu(srb->data_transfer_length);
    trace_hv_scsi_srb(req->chan_index, srb->path_id, srb->target_id,
                      srb->lun, srb->cdb[0], srb->data_in, len);
    if (!srb->cdb_length || srb->cdb_length > VSTOR_CDB_MAX ||
        srb->data_in > SRB_DATA_NONE || len > s->max_transfer) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: malformed SRB (CDB of %u "
                      "bytes, direction %u, %u bytes of data)\n",
                      srb->cdb_length, srb->data_in, len);
        srb_fail(req, SRB_STATUS_INVALID_REQUEST, VSTOR_STATUS_SUCCESS);
        return;
    }
    if (srb->data_in != SRB_DATA_NONE && len) {
        qemu_sglist_destroy(&req->sgl);
        if (vmbus_packet_map_sgl(chan, pkt, &req->sgl)) {
            qemu_sglist_init(&req->sgl, DEVICE(s), 0, &address_space_memory);
            srb_fail(req, SRB_STATUS_INVALID_REQUEST, VSTOR_STATUS_SUCCESS);
            return;
        }
        if (req->sgl.size < len) {
            qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: SRB of %u bytes with "
                          "%" PRIu64 " bytes of buffer\n", len,
                          (uint64_t)req->sgl.size);
            srb_fail(req, SRB_STATUS_INVALID_REQUEST, VSTOR_STATUS_SUCCESS);
            return;
        }
        sgl_truncate(&req->sgl, len);
    }
    /* The completion's sense overwrites the CDB. */
    memcpy(cdb, srb->cdb, sizeof(cdb));
    srb->sense_info_length = MIN(srb->sense_info_length, VSTOR_SENSE_MAX);

    d = scsi_device_get(&s->bus, srb->path_id, srb->target_id, srb->lun);
    if (!d) {
        srb_absent(req, cdb);
        return;
    }
    if (d->lun != srb->lun && !srb_for_target(cdb[0])) {
        object_unref(OBJECT(d));
        srb_fail(req, SRB_STATUS_INVALID_LUN, VSTOR_STATUS_SUCCESS);
        return;
    }
    sreq = scsi_req_new(d, s->tag++, srb->lun, cdb, srb->cdb_length, req);
    object_unref(OBJECT(d));

    mode = srb->data_in == SRB_DATA_READ ? SCSI_XFER_FROM_DEV :
           srb->data_in == SRB_DATA_WRITE ? SCSI_XFER_TO_DEV : SCSI_XFER_NONE;
    if (sreq->cmd.mode != SCSI_XFER_NONE &&
        (sreq->cmd.mode != mode || sreq->cmd.xfer > req->sgl.size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-scsi: SRB for CDB 0x%02x moves "
                      "%zu bytes %s, its buffer is %u bytes %s\n", cdb[0],
                      sreq->cmd.xfer,
                      sreq->cmd.mode == SCSI_XFER_FROM_DEV ? "in" : "out",
                      len, srb->data_in == SRB_DATA_READ ? "in" :
                      srb->data_in == SRB_DATA_WRITE ? "out" : "none");
        scsi_req_unref(sreq);
        srb_fail(req, SRB_STATUS_INVALID_REQUEST, VSTOR_STATUS_SUCCESS);
        return;
    }
    sgl_truncate(&req->sgl, sreq->cmd.mode == SCSI_XFER_NONE ? 0 :
                 sreq->cmd.xfer);
    req->sreq = sreq;
    QTAILQ_INSERT_TAIL(&s->active, req, next);
    if (scsi_req_enqueue(sreq)) {
        scsi_req_continue(sreq);
    }
}

/* SCSIBusInfo callbacks */

static void hv_scsi_complete(SCSIRequest *sreq, size_t resid)
{
    HVScsiReq *req = sreq->hba_private;
    struct vstor_srb *srb;
    uint32_t done;

    if (!req || sreq->io_canceled) {
        return;
    }
    srb = &req->pkt.srb;
    done = req->sgl.size - MIN(resid, req->sgl.size);
    req->pkt.status = 0;
    srb->scsi_status = sreq->status;
    srb->data_transfer_length = cpu_to_le32(done);
    if (sreq->status == CHECK_CONDITION) {
        uint8_t sense[SCSI_SENSE_BUF_SIZE];
        int n = scsi_req_get_sense(sreq, sense, sizeof(sense));

        n = MIN(n, srb->sense_info_length);
        memset(srb->sense, 0, sizeof(srb->sense));
        memcpy(srb->sense, sense, n);
        srb->sense_info_length = n;
        srb->srb_status = SRB_STATUS_ERROR |
                          (n ? SRB_STATUS_AUTOSENSE_VALID : 0);
    } else {
        /* GOOD, and BUSY or TASK SET FULL for the guest to retry. */
        srb->srb_status = SRB_STATUS_SUCCESS;
        srb->sense_info_length = 0;
    }
    trace_hv_scsi_srb_done(req->trans_id, srb->srb_status, srb->scsi_status,
                           done);
    hv_scsi_req_finish(req);
}

static void hv_scsi_cancel(SCSIRequest *sreq)
{
    HVScsiReq *req = sreq->hba_private;

    if (req) {
        srb_fail(req, SRB_STATUS_ABORTED, VSTOR_STATUS_SUCCESS);
    }
}

static QEMUSGList *hv_scsi_get_sg_list(SCSIRequest *sreq)
{
    HVScsiReq *req = sreq->hba_private;

    return &req->sgl;
}

/* Passthrough devices (scsi-generic, scsi-block) move what the SRB says. */
static int hv_scsi_parse_cdb(SCSIDevice *dev, SCSICommand *cmd, uint8_t *buf,
                             size_t buf_len, void *hba_private)
{
    HVScsiReq *req = hba_private;
    uint8_t data_in;

    if (!req) {
        /* A request reloaded after migration: QEMU's parse stands. */
        return cmd->len ? 0 : -1;
    }
    data_in = req->pkt.srb.data_in;
    if (!cmd->len) {
        /* A command QEMU does not know: as long as the SRB says. */
        cmd->len = MIN(buf_len, sizeof(cmd->buf));
        memcpy(cmd->buf, buf, cmd->len);
    }
    cmd->xfer = req->sgl.size;
    cmd->mode = !cmd->xfer ? SCSI_XFER_NONE :
                data_in == SRB_DATA_READ ? SCSI_XFER_FROM_DEV :
                SCSI_XFER_TO_DEV;
    return 0;
}

/*
 * Migration: a request the SCSI layer keeps (one that waits for a retry)
 * goes with its packet and its guest ranges.
 */
static void hv_scsi_save_request(QEMUFile *f, SCSIRequest *sreq)
{
    HVScsiReq *req = sreq->hba_private;

    qemu_put_be16(f, req->chan_index);
    qemu_put_be64(f, req->trans_id);
    qemu_put_byte(f, req->want_reply);
    qemu_put_be32(f, req->reply_len);
    qemu_put_buffer(f, (uint8_t *)&req->pkt, sizeof(req->pkt));
    qemu_put_be32(f, req->sgl.nsg);
    for (int i = 0; i < req->sgl.nsg; i++) {
        qemu_put_be64(f, req->sgl.sg[i].base);
        qemu_put_be64(f, req->sgl.sg[i].len);
    }
}

static void *hv_scsi_load_request(QEMUFile *f, SCSIRequest *sreq)
{
    HVScsi *s = container_of(sreq->bus, HVScsi, bus);
    HVScsiReq *req = g_new0(HVScsiReq, 1);
    uint32_t nsg;
    bool bad;

    req->dev = s;
    req->chan_index = qemu_get_be16(f);
    req->trans_id = qemu_get_be64(f);
    req->want_reply = qemu_get_byte(f);
    req->reply_len = qemu_get_be32(f);
    qemu_get_buffer(f, (uint8_t *)&req->pkt, sizeof(req->pkt));
    nsg = qemu_get_be32(f);
    req->pkt.srb.sense_info_length = MIN(req->pkt.srb.sense_info_length,
                                         VSTOR_SENSE_MAX);
    bad = req->chan_index >= VMBUS_DEVICE(s)->nchans ||
          req->reply_len > sizeof(req->pkt) ||
          nsg > s->max_transfer / VMBUS_PAGE_SIZE + 1;
    qemu_sglist_init(&req->sgl, DEVICE(s), bad ? 0 : nsg,
                     &address_space_memory);
    for (uint32_t i = 0; i < nsg && !bad; i++) {
        uint64_t base = qemu_get_be64(f);
        uint64_t len = qemu_get_be64(f);

        qemu_sglist_add(&req->sgl, base, len);
        bad = req->sgl.size > s->max_transfer;
    }
    if (bad) {
        /* Run it on no memory and tell nobody; the load fails anyway. */
        error_report("hv-scsi: invalid request in the migration stream");
        qemu_file_set_error(f, -EINVAL);
        qemu_sglist_destroy(&req->sgl);
        qemu_sglist_init(&req->sgl, DEVICE(s), 0, &address_space_memory);
        req->chan_index = 0;
        req->want_reply = false;
    }
    s->inflight[req->chan_index]++;
    scsi_req_ref(sreq);
    req->sreq = sreq;
    QTAILQ_INSERT_TAIL(&s->active, req, next);
    return req;
}

const SCSIBusInfo hv_scsi_bus_info = {
    .tcq = true,
    .max_channel = HV_SCSI_MAX_CHANNEL,
    .max_target = HV_SCSI_MAX_TARGET,
    .max_lun = HV_SCSI_MAX_LUN,
    .complete = hv_scsi_complete,
    .cancel = hv_scsi_cancel,
    .get_sg_list = hv_scsi_get_sg_list,
    .parse_cdb = hv_scsi_parse_cdb,
    .save_request = hv_scsi_save_request,
    .load_request = hv_scsi_load_request,
};
