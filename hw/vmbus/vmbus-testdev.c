/*
 * qemu-vmbus: a VMBus device for qtests
 *
 * Offers one channel of its own interface GUID and answers a small
 * protocol through the whole device API, so that the channel manager's
 * tests reach rings, completions, GPA-direct DMA and device-held GPADLs:
 *
 *   in-band ECHO     -> completion with the same body
 *   in-band FILL n s -> n in-band packets of s bytes, as the ring has room
 *   in-band HOLD id  -> takes GPADL id (vmbus_gpadl_get); RELEASE lets go
 *   in-band READ o l -> sum of l bytes at o in the held GPADL
 *   in-band SUBCHANNELS n -> offers subchannels 1..n (at most 3)
 *   in-band XFER id n -> a transfer-page packet: pageset id, n ranges
 *   GPA-direct SUM   -> sum of the bytes the ranges name
 *   GPA-direct WRITE -> fills the ranges with their offsets' low bytes
 *
 * Built only with the test devices (CONFIG_TEST_DEVICES), as hyperv-testdev.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "migration/vmstate.h"
#include "hw/qdev-properties.h"
#include "system/dma.h"
#include "hw/vmbus/vmbus.h"

#define TYPE_VMBUS_TESTDEV "vmbus-testdev"
OBJECT_DECLARE_SIMPLE_TYPE(VMBusTestDev, VMBUS_TESTDEV)

/* The test interface GUID. */
#define VMBUS_TESTDEV_CLASSID "7b1c4cf0-5f2b-4a89-9d3e-5e1f0c3a9b24"

enum {
    TESTDEV_ECHO = 1,
    TESTDEV_FILL = 2,
    TESTDEV_HOLD = 3,
    TESTDEV_READ = 4,
    TESTDEV_RELEASE = 5,
    TESTDEV_SUM = 6,
    TESTDEV_WRITE = 7,
    TESTDEV_SUBCHANNELS = 8,
    TESTDEV_XFER = 9,
};

/* Every request starts with this. */
typedef struct TestDevRequest {
    uint32_t cmd;
    uint32_t arg[2];
} TestDevRequest;

/* Every completion but ECHO's is this. */
typedef struct TestDevReply {
    uint32_t cmd;
    uint32_t status;        /* 0: done */
    uint32_t len;
    uint32_t sum;
} TestDevReply;

/* The most one GPA-direct request may move. */
#define TESTDEV_MAX_DMA     (64 * KiB)
/* The largest packet the device sends: an ECHO of a whole packet. */
#define TESTDEV_MAX_REPLY   4096

struct VMBusTestDev {
    VMBusDevice parent_obj;

    bool refuse_open;       /* property: open fails, as a device may */

    uint32_t fill_left;     /* FILL packets still to send */
    uint32_t fill_size;
    uint32_t fill_seq;
    uint32_t held_id;       /* 0: none */
    VMBusGpadl *held;
};

static int testdev_open(VMBusChannel *chan)
{
    VMBusTestDev *td = VMBUS_TESTDEV(vmbus_channel_device(chan));

    return td->refuse_open ? -EPERM : 0;
}

static void testdev_release(VMBusTestDev *td)
{
    if (td->held) {
        vmbus_gpadl_put(td->held);
        td->held = NULL;
    }
    td->held_id = 0;
}

static void testdev_close(VMBusChannel *chan)
{
    VMBusTestDev *td = VMBUS_TESTDEV(vmbus_channel_device(chan));

    /* The device's state lives with its primary channel. */
    if (!vmbus_channel_index(chan)) {
        testdev_release(td);
        td->fill_left = 0;
    }
}

static uint32_t sum_bytes(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    while (len--) {
        sum += *p++;
    }
    return sum;
}

/* SUM and WRITE: DMA through QEMU's helpers over the packet's ranges. */
static void testdev_dma(VMBusTestDev *td, VMBusChannel *chan,
                        const VMBusPacket *pkt, uint32_t cmd,
                        TestDevReply *rep)
{
    QEMUSGList sgl;
    g_autofree uint8_t *buf = NULL;

    rep->status = 1;
    if (vmbus_packet_map_sgl(chan, pkt, &sgl)) {
        return;
    }
    if (sgl.size <= TESTDEV_MAX_DMA) {
        buf = g_malloc(sgl.size);
        /* dma_buf_write() moves guest memory into buf, _read() back. */
        if (cmd == TESTDEV_SUM) {
            dma_buf_write(buf, sgl.size, NULL, &sgl, MEMTXATTRS_UNSPECIFIED);
            rep->sum = sum_bytes(buf, sgl.size);
        } else {
            for (size_t i = 0; i < sgl.size; i++) {
                buf[i] = i;
            }
            dma_buf_read(buf, sgl.size, NULL, &sgl, MEMTXATTRS_UNSPECIFIED);
        }
        rep->len = sgl.size;
        rep->status = 0;
    }
    qemu_sglist_destroy(&sgl);
}

static void testdev_read(VMBusTestDev *td, uint32_t off, uint32_t len,
                         TestDevReply *rep)
{
    g_autofree uint8_t *buf = NULL;

    rep->status = 1;
    if (!td->held || len > TESTDEV_MAX_DMA) {
        return;
    }
    buf = g_malloc(len);
    if (!vmbus_gpadl_read(td->held, off, buf, len)) {
        rep->status = 0;
        rep->len = len;
        rep->sum = sum_bytes(buf, len);
    }
}

/* Sends what FILL still owes on the primary; stops when the ring is full. */
static void testdev_fill(VMBusTestDev *td, VMBusChannel *chan)
{
    g_autofree uint8_t *body = NULL;

    if (vmbus_channel_index(chan) || !td->fill_left) {
        return;
    }
    /* FILL may ask for empty packets: still a buffer to memset. */
    body = g_malloc(MAX(td->fill_size, 1));
    vmbus_channel_send_batch_begin(chan);
    while (td->fill_left) {
        memset(body, td->fill_seq, td->fill_size);
        if (vmbus_channel_send(chan, VMBUS_PACKET_DATA_INBAND, 0,
                               td->fill_seq, NULL, 0, body,
                               td->fill_size)) {
            break;
        }
        td->fill_seq++;
        td->fill_left--;
    }
    vmbus_channel_send_batch_end(chan);
}

/*
 * A transfer-page packet, as netvsc's receive path sends them: the ranges
 * (i * 100, 10 + i) of pageset @id, then the requester's id as the body.
 */
static uint32_t testdev_xfer(VMBusChannel *chan, uint64_t trans_id,
                             uint32_t id, uint32_t n)
{
    uint8_t ext[sizeof(struct vmbus_xfer_page_header) +
                8 * sizeof(struct vmbus_xfer_page_range)] = { 0 };
    struct vmbus_xfer_page_header *h = (void *)ext;
    uint64_t body = cpu_to_le64(trans_id);

    if (n > 8) {
        return 1;
    }
    h->xfer_pageset_id = cpu_to_le16(id);
    h->range_cnt = cpu_to_le32(n);
    for (uint32_t i = 0; i < n; i++) {
        struct vmbus_xfer_page_range *r = (void *)(ext + sizeof(*h) +
                                                   i * sizeof(*r));

        r->byte_count = cpu_to_le32(10 + i);
        r->byte_offset = cpu_to_le32(i * 100);
    }
    return vmbus_channel_send(chan, VMBUS_PACKET_DATA_USING_XFER_PAGES, 0,
                              0x5000 + id, ext, sizeof(*h) + n * 8, &body,
                              sizeof(body)) ? 1 : 0;
}

static void testdev_request(VMBusTestDev *td, VMBusChannel *chan,
                            const VMBusPacket *pkt)
{
    uint8_t raw[sizeof(TestDevRequest)] = { 0 };
    TestDevRequest req;
    TestDevReply rep = { 0 };

    memcpy(raw, pkt->data, MIN(pkt->len, sizeof(raw)));
    req.cmd = ldl_le_p(raw);
    req.arg[0] = ldl_le_p(raw + 4);
    req.arg[1] = ldl_le_p(raw + 8);
    rep.cmd = req.cmd;

    if (pkt->type == VMBUS_PACKET_DATA_USING_GPA_DIRECT &&
        (req.cmd == TESTDEV_SUM || req.cmd == TESTDEV_WRITE)) {
        testdev_dma(td, chan, pkt, req.cmd, &rep);
    } else if (pkt->type != VMBUS_PACKET_DATA_INBAND) {
        rep.status = 1;
    } else {
        switch (req.cmd) {
        case TESTDEV_ECHO:
            if (pkt->flags & VMBUS_PACKET_FLAG_REQUEST_COMPLETION) {
                vmbus_channel_complete(chan, pkt->trans_id, pkt->data,
                                       MIN(pkt->len, TESTDEV_MAX_REPLY));
            }
            return;
        case TESTDEV_FILL:
            td->fill_left = req.arg[0];
            td->fill_size = MIN(req.arg[1], TESTDEV_MAX_REPLY);
            td->fill_seq = 0;
            break;
        case TESTDEV_HOLD:
            testdev_release(td);
            td->held = vmbus_gpadl_get(chan, req.arg[0]);
            td->held_id = td->held ? req.arg[0] : 0;
            rep.status = !td->held;
            break;
        case TESTDEV_READ:
            testdev_read(td, req.arg[0], req.arg[1], &rep);
            break;
        case TESTDEV_RELEASE:
            testdev_release(td);
            break;
        case TESTDEV_XFER:
            rep.status = testdev_xfer(chan, pkt->trans_id, req.arg[0],
                                      req.arg[1]);
            break;
        case TESTDEV_SUBCHANNELS:
            rep.status = -vmbus_device_offer_subchannels(
                vmbus_channel_device(chan), req.arg[0]);
            break;
        default:
            rep.status = 1;
        }
    }
    if (pkt->flags & VMBUS_PACKET_FLAG_REQUEST_COMPLETION) {
        rep.cmd = cpu_to_le32(rep.cmd);
        rep.status = cpu_to_le32(rep.status);
        rep.len = cpu_to_le32(rep.len);
        rep.sum = cpu_to_le32(rep.sum);
        vmbus_channel_complete(chan, pkt->trans_id, &rep, sizeof(rep));
    }
}

static void testdev_notify(VMBusChannel *chan)
{
    VMBusTestDev *td = VMBUS_TESTDEV(vmbus_channel_device(chan));
    VMBusPacket pkt;

    testdev_fill(td, chan);
    /* Room for the answer first: completions never wait. */
    while ((vmbus_channel_index(chan) || !td->fill_left) &&
           vmbus_channel_can_send(chan, 0, TESTDEV_MAX_REPLY) &&
           vmbus_channel_recv(chan, &pkt)) {
        testdev_request(td, chan, &pkt);
        testdev_fill(td, chan);
    }
    vmbus_channel_recv_done(chan);
}

static int testdev_post_load(void *opaque, int version_id)
{
    VMBusTestDev *td = opaque;
    VMBusDevice *vdev = VMBUS_DEVICE(td);

    if (td->held_id) {
        td->held = vmbus_gpadl_get(vdev->chan, td->held_id);
        if (!td->held) {
            return -EINVAL;
        }
    }
    return td->fill_size > TESTDEV_MAX_REPLY ? -EINVAL : 0;
}

static const VMStateDescription vmstate_vmbus_testdev = {
    .name = TYPE_VMBUS_TESTDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = testdev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_DEVICE(parent_obj, VMBusTestDev),
        VMSTATE_UINT32(fill_left, VMBusTestDev),
        VMSTATE_UINT32(fill_size, VMBusTestDev),
        VMSTATE_UINT32(fill_seq, VMBusTestDev),
        VMSTATE_UINT32(held_id, VMBusTestDev),
        VMSTATE_END_OF_LIST()
    },
};

static const Property vmbus_testdev_props[] = {
    DEFINE_PROP_BOOL("refuse-open", VMBusTestDev, refuse_open, false),
};

static void vmbus_testdev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);

    qemu_uuid_parse(VMBUS_TESTDEV_CLASSID, &vdc->classid);
    vdc->max_subchannels = 3;
    vdc->open = testdev_open;
    vdc->close = testdev_close;
    vdc->notify = testdev_notify;
    dc->desc = "VMBus device for qtests";
    dc->vmsd = &vmstate_vmbus_testdev;
    device_class_set_props(dc, vmbus_testdev_props);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vmbus_testdev_type = {
    .name = TYPE_VMBUS_TESTDEV,
    .parent = TYPE_VMBUS_DEVICE,
    .instance_size = sizeof(VMBusTestDev),
    .class_init = vmbus_testdev_class_init,
};

static void vmbus_testdev_register_types(void)
{
    type_register_static(&vmbus_testdev_type);
}

type_init(vmbus_testdev_register_types)
