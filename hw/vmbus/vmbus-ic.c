/*
 * qemu-vmbus: the integration-component framework
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "hw/vmbus/vmbus-ic.h"
#include "trace.h"

/* Framework versions offered: Linux and Windows take one of these. */
static const uint32_t ic_frameworks[] = {
    VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0),
};

static const char *ic_name(VMBusIC *ic)
{
    return object_get_typename(OBJECT(ic));
}

/* The request in flight is over without an answer: the next may go. */
static void ic_fail(VMBusIC *ic)
{
    VMBusICClass *icc = VMBUS_IC_GET_CLASS(ic);
    uint16_t msgtype = ic->req_type;

    trace_vmbus_ic_failed(ic_name(ic), msgtype, ic->trans_id);
    ic->trans_id = 0;
    timer_del(ic->timeout);
    if (msgtype == VMBUS_IC_MSG_NEGOTIATE) {
        ic->state = VMBUS_IC_UNSUPPORTED;
    } else if (icc->failed) {
        icc->failed(ic, msgtype);
    }
}

static void ic_timeout(void *opaque)
{
    VMBusIC *ic = opaque;

    if (ic->trans_id) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: no answer to request %u in %u "
                      "ms\n", ic_name(ic), ic->req_type,
                      VMBUS_IC_REQUEST_TIMEOUT_MS);
        ic_fail(ic);
    }
}

/* Sends the request in flight if it still waits; false if the ring is full. */
static bool ic_flush(VMBusIC *ic)
{
    VMBusChannel *chan = VMBUS_DEVICE(ic)->chan;
    int r;

    if (!ic->trans_id || ic->sent) {
        return true;
    }
    r = vmbus_channel_send(chan, VMBUS_PACKET_DATA_INBAND,
                           VMBUS_PACKET_FLAG_REQUEST_COMPLETION,
                           ic->trans_id, NULL, 0, ic->req, ic->req_len);
    trace_vmbus_ic_request(ic_name(ic), ic->req_type, ic->trans_id, r);
    if (r == -ENOSPC) {
        return false;
    }
    if (r) {
        /* A broken channel: nobody will answer until it is reopened. */
        ic_fail(ic);
        return true;
    }
    ic->sent = true;
    return true;
}

/*
 * Builds the request in flight; the caller checked there is none and
 * sends it with ic_flush().
 */
static void ic_send(VMBusIC *ic, uint16_t msgtype, uint32_t version,
                    const void *body, uint32_t len)
{
    struct vmbus_ic_msg hdr = {
        .pipe.msgsize = cpu_to_le32(sizeof(hdr.ic) + len),
        .ic.framework.major = cpu_to_le16(ic->framework >> 16),
        .ic.framework.minor = cpu_to_le16(ic->framework & 0xffff),
        .ic.msgtype = cpu_to_le16(msgtype),
        .ic.msgversion.major = cpu_to_le16(version >> 16),
        .ic.msgversion.minor = cpu_to_le16(version & 0xffff),
        .ic.msgsize = cpu_to_le16(len),
        .ic.flags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST,
    };

    assert(!ic->trans_id && sizeof(hdr) + len <= sizeof(ic->req));
    ic->trans_id = ++ic->next_trans_id;
    hdr.ic.transaction_id = ic->trans_id;
    memset(ic->req, 0, sizeof(ic->req));
    memcpy(ic->req, &hdr, sizeof(hdr));
    memcpy(ic->req + sizeof(hdr), body, len);
    ic->req_type = msgtype;
    ic->req_len = ROUND_UP(sizeof(hdr) + len, 8);
    ic->sent = false;
    /*
     * NEGOTIATE waits as long as the guest likes: Linux holds it back until
     * its KVP daemon runs (55 s), and nothing else can go meanwhile.
     */
    if (msgtype != VMBUS_IC_MSG_NEGOTIATE) {
        timer_mod(ic->timeout, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  VMBUS_IC_REQUEST_TIMEOUT_MS);
    }
}

bool vmbus_ic_request(VMBusIC *ic, uint16_t msgtype, const void *body,
                      uint32_t len)
{
    if (ic->state != VMBUS_IC_READY || ic->trans_id ||
        sizeof(struct vmbus_ic_msg) + len > VMBUS_IC_MAX_MSG) {
        return false;
    }
    ic_send(ic, msgtype, ic->version, body, len);
    ic_flush(ic);
    return true;
}

/* NEGOTIATE: our frameworks, then the service's versions. */
static void ic_negotiate(VMBusIC *ic)
{
    VMBusICClass *icc = VMBUS_IC_GET_CLASS(ic);
    uint8_t body[sizeof(struct vmbus_ic_negotiate) +
                 4 * (ARRAY_SIZE(ic_frameworks) + 8)] = { 0 };
    uint32_t n = 0;

    assert(icc->nversions <= 8);
    stw_le_p(body, ARRAY_SIZE(ic_frameworks));
    stw_le_p(body + 2, icc->nversions);
    for (int i = 0; i < ARRAY_SIZE(ic_frameworks); i++, n++) {
        stw_le_p(body + 8 + 4 * n, ic_frameworks[i] >> 16);
        stw_le_p(body + 10 + 4 * n, ic_frameworks[i] & 0xffff);
    }
    for (unsigned i = 0; i < icc->nversions; i++, n++) {
        stw_le_p(body + 8 + 4 * n, icc->versions[i] >> 16);
        stw_le_p(body + 10 + 4 * n, icc->versions[i] & 0xffff);
    }
    ic->state = VMBUS_IC_NEGOTIATING;
    ic->framework = VMBUS_IC_VERSION(1, 0);
    ic_send(ic, VMBUS_IC_MSG_NEGOTIATE, VMBUS_IC_VERSION(1, 0), body,
            sizeof(struct vmbus_ic_negotiate) + 4 * n);
}

static bool offered(const uint32_t *list, unsigned n, uint32_t version)
{
    for (unsigned i = 0; i < n; i++) {
        if (list[i] == version) {
            return true;
        }
    }
    return false;
}

/* The guest's answer to NEGOTIATE: one framework and one version. */
static void ic_negotiated(VMBusIC *ic, const uint8_t *body, uint32_t len)
{
    VMBusICClass *icc = VMBUS_IC_GET_CLASS(ic);
    uint32_t fw, ver;

    if (len < sizeof(struct vmbus_ic_negotiate) + 8 ||
        lduw_le_p(body) != 1 || lduw_le_p(body + 2) != 1) {
        /* 0 and 0 is how the guest says it found nothing in common. */
        trace_vmbus_ic_negotiated(ic_name(ic), 0, 0);
        ic->state = VMBUS_IC_UNSUPPORTED;
        return;
    }
    fw = VMBUS_IC_VERSION(lduw_le_p(body + 8), lduw_le_p(body + 10));
    ver = VMBUS_IC_VERSION(lduw_le_p(body + 12), lduw_le_p(body + 14));
    if (!offered(ic_frameworks, ARRAY_SIZE(ic_frameworks), fw) ||
        !offered(icc->versions, icc->nversions, ver)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: the guest chose versions 0x%x "
                      "and 0x%x, which were not offered\n", ic_name(ic), fw,
                      ver);
        ic->state = VMBUS_IC_UNSUPPORTED;
        return;
    }
    trace_vmbus_ic_negotiated(ic_name(ic), fw, ver);
    ic->framework = fw;
    ic->version = ver;
    ic->state = VMBUS_IC_READY;
    if (icc->ready) {
        icc->ready(ic);
    }
}

/* One guest packet: the answer to the request in flight, or a mistake. */
static void ic_packet(VMBusIC *ic, const VMBusPacket *pkt)
{
    VMBusICClass *icc = VMBUS_IC_GET_CLASS(ic);
    struct vmbus_ic_msg hdr;
    uint16_t msgtype, bodylen;
    uint32_t status;

    if (pkt->type != VMBUS_PACKET_DATA_INBAND || pkt->len < sizeof(hdr) ||
        !ic->trans_id || pkt->trans_id != ic->trans_id) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: unexpected packet (type %u, %u "
                      "bytes, transaction 0x%" PRIx64 ")\n", ic_name(ic),
                      pkt->type, pkt->len, pkt->trans_id);
        return;
    }
    memcpy(&hdr, pkt->data, sizeof(hdr));
    msgtype = le16_to_cpu(hdr.ic.msgtype);
    bodylen = le16_to_cpu(hdr.ic.msgsize);
    status = le32_to_cpu(hdr.ic.status);
    if (!(hdr.ic.flags & VMBUS_IC_FLAG_RESPONSE) ||
        msgtype != ic->req_type) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: answer of type %u flags 0x%x "
                      "to a request of type %u\n", ic_name(ic), msgtype,
                      hdr.ic.flags, ic->req_type);
        return;
    }
    /* The answer is the request's buffer: its body is where ours was. */
    bodylen = MIN(bodylen, pkt->len - sizeof(hdr));
    ic->trans_id = 0;
    timer_del(ic->timeout);
    trace_vmbus_ic_answer(ic_name(ic), msgtype, status, bodylen);
    if (msgtype == VMBUS_IC_MSG_NEGOTIATE) {
        /* Linux sets msgsize 16 whatever the lists; read what came. */
        ic_negotiated(ic, pkt->data + sizeof(hdr), pkt->len - sizeof(hdr));
    } else if (icc->answered) {
        icc->answered(ic, msgtype, status, pkt->data + sizeof(hdr), bodylen);
    }
}

static void ic_notify(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));
    VMBusPacket pkt;

    if (!ic_flush(ic)) {
        return;
    }
    while (vmbus_channel_recv(chan, &pkt)) {
        ic_packet(ic, &pkt);
    }
    vmbus_channel_recv_done(chan);
    /* An answer may have let the service send its next request. */
    ic_flush(ic);
}

static int ic_open(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));

    /* NEGOTIATE goes at the first notify, after OPENCHANNEL_RESULT. */
    ic->trans_id = 0;
    ic_negotiate(ic);
    return 0;
}

static void ic_close(VMBusChannel *chan)
{
    VMBusIC *ic = VMBUS_IC(vmbus_channel_device(chan));
    VMBusICClass *icc = VMBUS_IC_GET_CLASS(ic);

    ic->state = VMBUS_IC_CLOSED;
    ic->trans_id = 0;
    timer_del(ic->timeout);
    if (icc->closed) {
        icc->closed(ic);
    }
}

uint32_t vmbus_ic_put_utf16(const char *what, const char *s, void *buf,
                            uint32_t size, Error **errp)
{
    g_autofree gunichar2 *u = NULL;
    uint8_t *p = buf;
    glong n = 0;

    u = g_utf8_to_utf16(s, -1, NULL, &n, NULL);
    if (!u || (n + 1) * 2 > size) {
        error_setg(errp, "the %s must be valid UTF-8 of at most %u UTF-16 "
                   "units", what, size / 2 - 1);
        return 0;
    }
    for (glong i = 0; i < n; i++) {
        stw_le_p(p + 2 * i, u[i]);
    }
    stw_le_p(p + 2 * n, 0);
    return (n + 1) * 2;
}

typedef struct ICFind {
    const char *type;
    const char *id;
    VMBusIC *found;
    int count;
} ICFind;

static int ic_find_one(Object *obj, void *opaque)
{
    ICFind *f = opaque;

    if (object_dynamic_cast(obj, f->type) &&
        (!f->id || !g_strcmp0(DEVICE(obj)->id, f->id))) {
        f->found = VMBUS_IC(obj);
        f->count++;
    }
    return 0;
}

VMBusIC *vmbus_ic_find(const char *type, const char *id, Error **errp)
{
    ICFind f = { .type = type, .id = id };

    object_child_foreach_recursive(object_get_root(), ic_find_one, &f);
    if (!f.count) {
        error_setg(errp, id ? "no %s with id '%s'" : "the machine has no %s",
                   type, id);
        return NULL;
    }
    if (f.count > 1) {
        error_setg(errp, "the machine has several %s devices: name one with "
                   "'id'", type);
        return NULL;
    }
    return f.found;
}

static int ic_post_load(void *opaque, int version_id)
{
    VMBusIC *ic = opaque;

    if (ic->req_len > VMBUS_IC_MAX_MSG || ic->state > VMBUS_IC_UNSUPPORTED) {
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_vmbus_ic = {
    .name = TYPE_VMBUS_IC,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ic_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_DEVICE(parent_obj, VMBusIC),
        VMSTATE_UINT32(state, VMBusIC),
        VMSTATE_UINT32(framework, VMBusIC),
        VMSTATE_UINT32(version, VMBusIC),
        VMSTATE_UINT64(next_trans_id, VMBusIC),
        VMSTATE_UINT64(trans_id, VMBusIC),
        VMSTATE_BOOL(sent, VMBusIC),
        VMSTATE_UINT16(req_type, VMBusIC),
        VMSTATE_UINT32(req_len, VMBusIC),
        VMSTATE_UINT8_ARRAY(req, VMBusIC, VMBUS_IC_MAX_MSG),
        VMSTATE_TIMER_PTR(timeout, VMBusIC),
        VMSTATE_END_OF_LIST()
    },
};

static void vmbus_ic_class_init(ObjectClass *klass, void *data)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    vdc->open = ic_open;
    vdc->close = ic_close;
    vdc->notify = ic_notify;
}

static void vmbus_ic_instance_init(Object *obj)
{
    VMBusIC *ic = VMBUS_IC(obj);

    ic->timeout = timer_new_ms(QEMU_CLOCK_VIRTUAL, ic_timeout, ic);
}

static void vmbus_ic_instance_finalize(Object *obj)
{
    timer_free(VMBUS_IC(obj)->timeout);
}

static const TypeInfo vmbus_ic_type = {
    .name = TYPE_VMBUS_IC,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(VMBusIC),
    .instance_init = vmbus_ic_instance_init,
    .instance_finalize = vmbus_ic_instance_finalize,
    .class_size = sizeof(VMBusICClass),
    .class_init = vmbus_ic_class_init,
    .abstract = true,
};

static void vmbus_ic_register_types(void)
{
    type_register_static(&vmbus_ic_type);
}

type_init(vmbus_ic_register_types)
