/*
 * qemu-vmbus fuzzing: hv-scsi (VSTOR operations, SRBs and data ranges)
 *
 * Starts where Linux's storvsc is after probing: VSTOR 6.2 initialised on
 * the primary channel, a disk at LUN 0 and a CD at LUN 1. The input sends
 * VSTOR packets of any content, inband or with a GPA-direct range over the
 * data area (any length, offset and page list), and takes or leaves the
 * completions.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus/vmbus-storvsc-guest.h"
#include "vmbus-fuzz.h"

#define MAX_PFNS    33

static SVGuest sv;

static void hv_scsi_setup(VFuzz *f)
{
    sv_attach(&sv, f->qts);
    sv_open(&sv);
    sv_init(&sv, 0x0602);
    f->ch[0] = sv.ch;
    f->nch = 1;
    f->g = sv.g;
    f->dev = &sv;
}

/* A VSTOR packet, with a GPA-direct range when the selector asks. */
static void op_vstor(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    uint8_t pkt[SV_PKT_SIZE] = { 0 };
    uint8_t ext[16 + 8 * MAX_PFNS] = { 0 };
    uint32_t npfns = 0;
    size_t len;
    const uint8_t *p = vfuzz_bytes(in, sizeof(pkt), &len);

    memcpy(pkt, p, len);
    if (sel & 1) {
        uint32_t count = vfuzz_u32(in), off = vfuzz_u16(in);

        npfns = vfuzz_u8(in) % (MAX_PFNS + 1);
        stl_le_p(ext + 4, 1);
        stl_le_p(ext + 8, sel & 0x80 ? count : count % (MAX_PFNS * 4096));
        stl_le_p(ext + 12, sel & 0x40 ? off : off % 4096);
        for (uint32_t i = 0; i < npfns; i++) {
            uint8_t page = vfuzz_u8(in);

            /* Data-area pages, or (rarely) any page number at all. */
            stq_le_p(ext + 16 + 8 * i, page == 0xff ? vfuzz_u64(in) :
                     VFUZZ_DATA_GPA / 4096 + page % VFUZZ_DATA_PAGES);
        }
    }
    vfuzz_ring_send(f, &f->ch[0], sel & 1 ? VMBUS_GUEST_PKT_GPA_DIRECT :
                    VMBUS_GUEST_PKT_INBAND, VMBUS_GUEST_PKT_WANT_COMP,
                    ++f->trans_id, sel & 1 ? ext : NULL,
                    sel & 1 ? 16 + 8 * npfns : 0, pkt,
                    sel & 2 ? SV_PKT_SIZE_WIN7 : SV_PKT_SIZE);
}

static void hv_scsi_op(VFuzz *f, int op, VFuzzInput *in)
{
    op_vstor(f, in);
}

static const VFuzzTarget hv_scsi_fuzz = {
    .name = "vmbus-hv-scsi",
    .description = "hv-scsi: VSTOR operations, SRBs and their data ranges",
    .args = "-device vmbus-bridge -device hv-scsi,id=scsi"
            " -drive if=none,id=d0,driver=null-co,read-zeroes=on,size=64M"
            " -device scsi-hd,bus=scsi.0,lun=0,drive=d0"
            " -drive if=none,id=d1,driver=null-co,read-zeroes=on,size=4M"
            " -device scsi-cd,bus=scsi.0,lun=1,drive=d1",
    .nvps = 2,
    .ops = 1u << VFUZZ_OP_SEND | 1u << VFUZZ_OP_DRAIN |
           1u << VFUZZ_OP_RUN | 1u << VFUZZ_OP_MEM | 1u << VFUZZ_OP_SIGNAL,
    .dev_ops = 1,
    .setup = hv_scsi_setup,
    .op = hv_scsi_op,
};

static void register_hv_scsi_fuzz(void)
{
    vfuzz_register(&hv_scsi_fuzz);
}

fuzz_target_init(register_hv_scsi_fuzz);
