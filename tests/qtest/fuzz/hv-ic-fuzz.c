/*
 * qemu-vmbus fuzzing: the integration services
 *
 * Starts with the heartbeat, shutdown, time sync and KVP channels open and
 * not negotiated. The input answers the host's NEGOTIATE as hv_utils does
 * (choosing among the offered versions) or with versions of its own,
 * answers the host's requests in their own buffers with any status and
 * body, makes the host send shutdown and KVP requests (the QMP commands),
 * sends packets of its own, and lets the services' timers run.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

#define IC_HDR          28      /* pipe header + IC header */
#define IC_NEG_MIN      (IC_HDR + 16)
#define IC_ANSWER_MAX   4096

enum {
    IC_OP_NEGOTIATE,    /* answer the last NEGOTIATE */
    IC_OP_ANSWER,       /* answer the last request, any status and body */
    IC_OP_HOST,         /* a host request: KVP, shutdown, heartbeat query */
    IC_OPS
};

/* The last packet drained from the input's channel, to answer in place. */
static VMBusGuestPacket *last_request(VFuzz *f, uint8_t sel, int *chan)
{
    *chan = sel % f->nch;
    return f->last[*chan].len >= IC_HDR ? &f->last[*chan] : NULL;
}

static void answer(VFuzz *f, int chan, uint64_t trans_id, uint8_t *data,
                   uint32_t len)
{
    vfuzz_ring_send(f, &f->ch[chan], VMBUS_GUEST_PKT_INBAND, 0, trans_id,
                    NULL, 0, data, len);
}

/* As vmbus_prep_negotiate_resp(): counts 1 and 1, then the choice. */
static void op_negotiate(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    int chan;
    VMBusGuestPacket *req = last_request(f, sel, &chan);
    g_autofree uint8_t *data = NULL;
    uint32_t len, nfw, nver, listed, fw, ver;
    uint8_t *neg;

    if (!req) {
        return;
    }
    len = MAX(req->len, IC_NEG_MIN);
    data = g_malloc0(len);
    memcpy(data, req->data, req->len);
    neg = data + IC_HDR;
    nfw = lduw_le_p(neg);
    nver = lduw_le_p(neg + 2);
    listed = (req->len - MIN(req->len, IC_HDR + 8)) / 4;
    if ((sel & 0x80) || !nfw || !nver || nfw + nver > listed) {
        /* Counts and versions of the input's own. */
        stw_le_p(neg, vfuzz_u16(in));
        stw_le_p(neg + 2, vfuzz_u16(in));
        fw = vfuzz_u32(in);
        ver = vfuzz_u32(in);
    } else {
        stw_le_p(neg, 1);
        stw_le_p(neg + 2, 1);
        fw = ldl_le_p(neg + 8 + 4 * (vfuzz_u8(in) % nfw));
        ver = ldl_le_p(neg + 8 + 4 * (nfw + vfuzz_u8(in) % nver));
    }
    stl_le_p(neg + 8, fw);
    stl_le_p(neg + 12, ver);
    data[25] = 1 | 4;                   /* transaction, response */
    answer(f, chan, sel & 0x40 ? vfuzz_u64(in) : req->trans_id, data, len);
}

/* The request's own buffer back, with what the input writes over it. */
static void op_answer(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    int chan;
    VMBusGuestPacket *req = last_request(f, sel, &chan);
    g_autofree uint8_t *data = NULL;
    uint32_t pos, len;
    size_t n;
    const uint8_t *p;

    if (!req) {
        return;
    }
    data = g_malloc0(IC_ANSWER_MAX);
    len = MIN(req->len, IC_ANSWER_MAX);
    memcpy(data, req->data, len);
    data[25] = sel & 0x40 ? vfuzz_u8(in) : 1 | 4;
    stl_le_p(data + 20, sel & 0x20 ? vfuzz_u32(in) : 0);
    if (sel & 0x10) {
        pos = vfuzz_u16(in) % IC_ANSWER_MAX;
        p = vfuzz_bytes(in, IC_ANSWER_MAX - pos, &n);
        memcpy(data + pos, p, n);
        len = MAX(len, pos + n);
    }
    if (sel & 0x08) {
        len = MAX(vfuzz_u16(in) % IC_ANSWER_MAX, IC_HDR);
    }
    answer(f, chan, sel & 0x80 ? vfuzz_u64(in) : req->trans_id, data, len);
}

/* A string of the input's, not necessarily UTF-8; NULL when empty. */
static char *input_string(VFuzzInput *in, size_t max)
{
    size_t len;
    const uint8_t *p = vfuzz_bytes(in, vfuzz_u16(in) % max, &len);

    return len ? g_strndup((const char *)p, len) : NULL;
}

/* What the monitor can ask of the services. */
static void op_host(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    Error *err = NULL;

    switch (sel % 3) {
    case 0: {
        VMBusKvpOperation op = vfuzz_u8(in) % VMBUS_KVP_OP__MAX;
        VMBusKvpPool pool = vfuzz_u8(in) % VMBUS_KVP_POOL__MAX;
        g_autofree char *key = input_string(in, 600);
        g_autofree char *value = input_string(in, 2100);

        qapi_free_VMBusKvpRequest(qmp_vmbus_kvp(NULL, op, pool, key, value,
                                                &err));
        break;
    }
    case 1: {
        uint32_t reason = vfuzz_u32(in), timeout = vfuzz_u32(in);
        g_autofree char *message = input_string(in, 600);

        qmp_vmbus_shutdown_guest(NULL, true, sel & 0x10, true, sel & 0x20,
                                 sel & 0x40, reason, sel & 0x80, timeout,
                                 message, &err);
        break;
    }
    default:
        qapi_free_VMBusHeartbeatInfoList(qmp_query_vmbus_heartbeat(&err));
        break;
    }
    error_free(err);
}

static void hv_ic_op(VFuzz *f, int op, VFuzzInput *in)
{
    switch (op) {
    case IC_OP_NEGOTIATE:
        op_negotiate(f, in);
        break;
    case IC_OP_ANSWER:
        op_answer(f, in);
        break;
    case IC_OP_HOST:
        op_host(f, in);
        break;
    }
}

static const VFuzzTarget hv_ic_fuzz = {
    .name = "vmbus-hv-ic",
    .description = "Integration services: heartbeat, shutdown, timesync, KVP",
    .args = "-device vmbus-bridge -device hv-heartbeat -device hv-shutdown"
            " -device hv-timesync -device hv-kvp",
    .nvps = 1,
    .ops = 1u << VFUZZ_OP_SEND | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_SIGNAL | 1u << VFUZZ_OP_RING,
    .dev_ops = IC_OPS,
    .channels = 4,
    .ring_pages = 4,
    .keep_packets = true,
    .op = hv_ic_op,
};

static void register_hv_ic_fuzz(void)
{
    vfuzz_register(&hv_ic_fuzz);
}

fuzz_target_init(register_hv_ic_fuzz);
