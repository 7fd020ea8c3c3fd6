/*
 * qemu-vmbus fuzzing: hv-net (NVSP, RNDIS control and transmit)
 *
 * Starts where Linux's netvsc is once its NIC is up: NVSP 6.1 negotiated,
 * receive and send buffers shared, RNDIS initialised, packet filter set;
 * four queues, so that RSS and subchannel requests are honoured; QEMU's
 * user network answers what gets out. The input sends RNDIS messages
 * (control, OIDs, data packets with per-packet information) through
 * send-buffer sections or GPA-direct ranges, any NVSP message, and
 * completes (or not) the frames the host puts in the receive buffer.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus/vmbus-netvsc-guest.h"
#include "vmbus-fuzz.h"

enum {
    NET_OP_RNDIS_SECTION,       /* an RNDIS message in a send section */
    NET_OP_RNDIS_GPA,           /* an RNDIS message in GPA-direct ranges */
    NET_OP_NVSP,                /* any NVSP message */
    NET_OPS
};

static NVGuest nv;

static void hv_net_setup(VFuzz *f)
{
    nv_attach(&nv, f->qts);
    nv_open(&nv);
    nv_probe(&nv, NV_VERSION_61);
    nv_set_filter(&nv, NV_FILTER_DEFAULT);
    f->ch[0] = nv.ch[0];
    f->nch = 1;
    f->g = nv.g;
    f->dev = &nv;
}

static void hv_net_teardown(VFuzz *f)
{
    nv_detach(&nv);
}

static void send_rndis_pkt(VFuzz *f, uint32_t channel_type,
                           uint32_t section, uint32_t size,
                           const uint8_t *ext, uint32_t ext_len)
{
    uint8_t msg[NV_MSG_SIZE] = { 0 };

    stl_le_p(msg, NV_MSG_SEND_RNDIS_PKT);
    stl_le_p(msg + 4, channel_type);
    stl_le_p(msg + 8, section);
    stl_le_p(msg + 12, size);
    vfuzz_ring_send(f, &f->ch[0], ext ? VMBUS_GUEST_PKT_GPA_DIRECT :
                    VMBUS_GUEST_PKT_INBAND, VMBUS_GUEST_PKT_WANT_COMP,
                    ++f->trans_id, ext, ext_len, msg, sizeof(msg));
}

static void op_rndis_section(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    uint32_t section = vfuzz_u16(in);
    size_t len;
    const uint8_t *p;

    if (!(sel & 0x80) && nv.tx_nsections) {
        section %= nv.tx_nsections;
    }
    p = vfuzz_bytes(in, MIN(vfuzz_u16(in), nv.tx_section_size), &len);
    if (section < nv.tx_nsections) {
        qtest_memwrite(f->qts, NV_SEND_BUF_GPA +
                       (uint64_t)section * nv.tx_section_size, p, len);
    }
    send_rndis_pkt(f, sel & 1, sel & 0x40 ? vfuzz_u32(in) : section,
                   sel & 0x20 ? vfuzz_u32(in) : len, NULL, 0);
}

/* One to four ranges over the data area, each at any offset. */
static void op_rndis_gpa(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    int nranges = (sel >> 1 & 3) + 1;
    uint8_t ext[8 + 4 * (8 + 8 * 3)] = { 0 };
    uint32_t pos = 8;

    stl_le_p(ext + 4, nranges);
    for (int i = 0; i < nranges; i++) {
        uint32_t off = vfuzz_u16(in) % (VFUZZ_DATA_PAGES * NV_PAGE);
        size_t len;
        const uint8_t *p = vfuzz_bytes(in, MIN(vfuzz_u16(in),
                                               2 * NV_PAGE), &len);
        uint32_t npages;

        len = MIN(len, VFUZZ_DATA_PAGES * NV_PAGE - off);
        npages = DIV_ROUND_UP(off % NV_PAGE + len, NV_PAGE);
        npages = MIN(MAX(npages, 1), 3);
        qtest_memwrite(f->qts, VFUZZ_DATA_GPA + off, p, len);
        stl_le_p(ext + pos, sel & 0x80 ? vfuzz_u32(in) : len);
        stl_le_p(ext + pos + 4, off % NV_PAGE);
        pos += 8;
        for (uint32_t j = 0; j < npages; j++, pos += 8) {
            stq_le_p(ext + pos, VFUZZ_DATA_GPA / NV_PAGE +
                     (off / NV_PAGE + j) % VFUZZ_DATA_PAGES);
        }
    }
    send_rndis_pkt(f, sel & 1, NV_NO_SECTION, 0, ext, pos);
}

static void op_nvsp(VFuzz *f, VFuzzInput *in)
{
    static const uint32_t types[] = {
        NV_MSG_INIT, NV_MSG_SEND_NDIS_VERSION, NV_MSG_SEND_RECV_BUF,
        NV_MSG_REVOKE_RECV_BUF, NV_MSG_SEND_SEND_BUF, NV_MSG_REVOKE_SEND_BUF,
        NV_MSG_SEND_RNDIS_PKT, NV_MSG_SEND_RNDIS_PKT_COMPLETE,
        NV_MSG_SEND_NDIS_CONFIG, NV_MSG_SWITCH_DATA_PATH, NV_MSG_SUBCHANNEL,
    };
    uint8_t sel = vfuzz_u8(in);
    uint8_t msg[NV_MSG_SIZE] = { 0 };
    size_t len;
    const uint8_t *p;

    stl_le_p(msg, sel < ARRAY_SIZE(types) ? types[sel] : vfuzz_u32(in));
    p = vfuzz_bytes(in, sizeof(msg) - 4, &len);
    memcpy(msg + 4, p, len);
    vfuzz_ring_send(f, &f->ch[0], VMBUS_GUEST_PKT_INBAND,
                    VMBUS_GUEST_PKT_WANT_COMP, ++f->trans_id, NULL, 0, msg,
                    sizeof(msg));
}

static void hv_net_op(VFuzz *f, int op, VFuzzInput *in)
{
    switch (op) {
    case NET_OP_RNDIS_SECTION:
        op_rndis_section(f, in);
        break;
    case NET_OP_RNDIS_GPA:
        op_rndis_gpa(f, in);
        break;
    case NET_OP_NVSP:
        op_nvsp(f, in);
        break;
    }
}

static const VFuzzTarget hv_net_fuzz = {
    .name = "vmbus-hv-net",
    .description = "hv-net: NVSP, RNDIS control and OIDs, transmit with "
                   "per-packet information, receive completions",
    .args = "-netdev user,id=n0,restrict=on -device vmbus-bridge"
            " -device hv-net,netdev=n0,queues=4,mac=" NV_MAC,
    .nvps = 2,
    .ops = 1u << VFUZZ_OP_SEND | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_MEM | 1u << VFUZZ_OP_GPADL |
           1u << VFUZZ_OP_SIGNAL,
    .dev_ops = NET_OPS,
    .setup = hv_net_setup,
    .op = hv_net_op,
    .teardown = hv_net_teardown,
};

static void register_hv_net_fuzz(void)
{
    vfuzz_register(&hv_net_fuzz);
}

fuzz_target_init(register_hv_net_fuzz);
