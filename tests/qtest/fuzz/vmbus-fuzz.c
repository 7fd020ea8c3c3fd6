/*
 * qemu-vmbus fuzzing: the engine the per-layer targets share
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/main-loop.h"
#include "hw/core/cpu.h"
#include "qemu/module.h"
#include "tests/qtest/fuzz/fuzz.h"
#include "vmbus-fuzz.h"

#define PAGE                4096u
#define HV_POST_MESSAGE     0x5c
#define HV_SIGNAL_EVENT     0x5d
#define HV_FAST             (1ull << 16)
#define MAX_ACTIONS         256     /* per input, so that none runs long */

static const VFuzzTarget *vfuzz_target;

/*
 * Input
 * -----
 */

uint8_t vfuzz_u8(VFuzzInput *in)
{
    uint8_t v = 0;

    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

uint16_t vfuzz_u16(VFuzzInput *in)
{
    return vfuzz_u8(in) | (uint16_t)vfuzz_u8(in) << 8;
}

uint32_t vfuzz_u32(VFuzzInput *in)
{
    return vfuzz_u16(in) | (uint32_t)vfuzz_u16(in) << 16;
}

uint64_t vfuzz_u64(VFuzzInput *in)
{
    return vfuzz_u32(in) | (uint64_t)vfuzz_u32(in) << 32;
}

const uint8_t *vfuzz_bytes(VFuzzInput *in, size_t max, size_t *len)
{
    const uint8_t *p = in->p;

    *len = MIN(max, in->n);
    in->p += *len;
    in->n -= *len;
    return p;
}

/*
 * The host's side runs in this process: the guest drivers' waits run its
 * main loop, and then wait until every vCPU thread has run the work queued
 * for it (SynIC message delivery runs there). Waiting for the work, not for
 * a while, keeps a wait's length independent of the machine's load: a
 * fuzzer sharing its cores with builds once gave up on an offer that a
 * starved vCPU thread had not yet copied into the message page. Short naps
 * while the host makes progress (disk I/O runs in other threads); the
 * driver's own pace once a wait drags on with nothing happening.
 */
static unsigned idle_streak;

static void vcpu_work_done(CPUState *cs, run_on_cpu_data data)
{
}

static void vfuzz_idle(unsigned us)
{
    CPUState *cs;

    idle_streak = g_main_context_pending(NULL) ? 0 : idle_streak + 1;
    flush_events(NULL);
    CPU_FOREACH(cs) {
        /* Queued after whatever the host queued: done means all done. */
        run_on_cpu(cs, vcpu_work_done, RUN_ON_CPU_NULL);
    }
    bql_unlock();
    g_usleep(idle_streak < 200 ? 10 : MIN(us, 1000));
    bql_lock();
    flush_events(NULL);
}

/*
 * Guest actions that assert nothing about the host
 * -------------------------------------------------
 */

static const char *hv_call(VFuzz *f, const char *op, uint32_t vp,
                           uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t val;

    return qtest_hv_call(f->qts, op, vp % f->nvps, a0, a1, a2, &val);
}

static void post(VFuzz *f, uint32_t vp, uint32_t conn, uint32_t type,
                 const uint8_t *payload, uint32_t size)
{
    uint8_t in[256] = { 0 };

    vp %= f->nvps;
    size = MIN(size, 240);
    stl_le_p(in, conn);
    stl_le_p(in + 8, type);
    stl_le_p(in + 12, size);
    memcpy(in + 16, payload, size);
    qtest_memwrite(f->qts, HVP_INPUT_PAGE(vp), in, sizeof(in));
    hv_call(f, "hypercall", vp, HV_POST_MESSAGE, HVP_INPUT_PAGE(vp), 0);
}

void vfuzz_signal(VFuzz *f, VMBusGuestChannel *ch)
{
    hv_call(f, "hypercall", 0, HV_SIGNAL_EVENT | HV_FAST, ch->connid, 0);
}

static uint32_t ring_datasize(uint32_t pages)
{
    return (pages - 1) * PAGE;
}

static uint32_t ring_free(uint32_t size, uint32_t write, uint32_t read)
{
    return write >= read ? size - (write - read) : read - write;
}

static void ring_read(VFuzz *f, uint64_t ctrl, uint32_t size, uint32_t pos,
                      void *buf, uint32_t len)
{
    uint32_t first = MIN(len, size - pos);

    qtest_memread(f->qts, ctrl + PAGE + pos, buf, first);
    qtest_memread(f->qts, ctrl + PAGE, (uint8_t *)buf + first, len - first);
}

/* Ring indices as a guest would trust them: in the ring, 8-byte aligned. */
static bool index_ok(uint32_t idx, uint32_t size)
{
    return idx < size && !(idx & 7);
}

bool vfuzz_ring_send(VFuzz *f, VMBusGuestChannel *ch, uint16_t type,
                     uint16_t flags, uint64_t trans_id, const void *ext,
                     uint32_t ext_len, const void *data, uint32_t len)
{
    bool signal;

    if (!vmbus_guest_ring_put(&f->g, ch, type, flags, trans_id, ext, ext_len,
                              data, len, &signal)) {
        return false;
    }
    if (signal) {
        vfuzz_signal(f, ch);
    }
    return true;
}

/* Copies the packet at @read (descriptor @desc) for the target to answer. */
static void keep_packet(VFuzz *f, VMBusGuestPacket *pkt, uint64_t ctrl,
                        uint32_t size, uint32_t read, const uint8_t *desc,
                        uint32_t off, uint32_t len)
{
    pkt->type = lduw_le_p(desc);
    pkt->flags = lduw_le_p(desc + 6);
    pkt->trans_id = ldq_le_p(desc + 8);
    pkt->len = MIN(len - off, sizeof(pkt->data));
    pkt->ext_len = 0;
    ring_read(f, ctrl, size, (read + off) % size, pkt->data, pkt->len);
}

/*
 * Takes what the host put in @ch's ring; completes the packets that want
 * it (transfer-page packets as netvsc does, with NVSP's RNDIS completion).
 * A descriptor no guest would accept empties the ring.
 */
static void drain_channel(VFuzz *f, int chan, uint32_t status)
{
    VMBusGuestChannel *ch = &f->ch[chan];
    uint64_t ctrl = ch->ring_gpa + ch->send_pages * PAGE;
    uint32_t size = ring_datasize(ch->recv_pages);
    uint8_t desc[16], comp[8];

    for (int i = 0; i < 64; i++) {
        uint32_t write = qtest_readl(f->qts, ctrl + VMBUS_GUEST_RING_WRITE);
        uint32_t read = qtest_readl(f->qts, ctrl + VMBUS_GUEST_RING_READ);
        uint32_t used, off, len, pending;
        uint16_t type, flags;

        if (!index_ok(write, size) || !index_ok(read, size)) {
            return;
        }
        if (write == read) {
            break;
        }
        used = size - ring_free(size, write, read);
        ring_read(f, ctrl, size, read, desc, sizeof(desc));
        type = lduw_le_p(desc);
        off = lduw_le_p(desc + 2) * 8;
        len = lduw_le_p(desc + 4) * 8;
        flags = lduw_le_p(desc + 6);
        if (off < 16 || len < off || len + 8 > used) {
            qtest_writel(f->qts, ctrl + VMBUS_GUEST_RING_READ, write);
            break;
        }
        if (f->last) {
            keep_packet(f, &f->last[chan], ctrl, size, read, desc, off, len);
        }
        qtest_writel(f->qts, ctrl + VMBUS_GUEST_RING_READ,
                     (read + len + 8) % size);
        pending = qtest_readl(f->qts, ctrl + VMBUS_GUEST_RING_PENDING);
        if (pending) {
            vfuzz_signal(f, ch);
        }
        if (type == 7 || (flags & VMBUS_GUEST_PKT_WANT_COMP)) {
            stl_le_p(comp, 108);        /* NVSP RNDIS packet complete */
            stl_le_p(comp + 4, status);
            vfuzz_ring_send(f, ch, VMBUS_GUEST_PKT_COMP, 0,
                            ldq_le_p(desc + 8), NULL, 0, comp, sizeof(comp));
        }
    }
}

static void drain(VFuzz *f, uint32_t status)
{
    for (int vp = 0; vp < f->nvps; vp++) {
        uint64_t slot = HVP_SIMP(vp) + f->g.sint * 256;

        /* As hvp_consume_message(), whatever the MSRs now say. */
        if (qtest_readl(f->qts, slot)) {
            qtest_writel(f->qts, slot, 0);
            if (qtest_readb(f->qts, slot + 5) & 1) {
                hv_call(f, "wrmsr", vp, 0x40000084, 0, 0);
            }
        }
    }
    for (int i = 0; i < f->nch; i++) {
        drain_channel(f, i, status);
    }
}

/*
 * The actions
 * -----------
 */

static VMBusGuestChannel *pick_channel(VFuzz *f, uint8_t sel)
{
    return f->nch ? &f->ch[sel % f->nch] : NULL;
}

static void op_post(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    uint32_t conn = sel & 0x80 ? vfuzz_u32(in) : f->g.conn_id;
    uint32_t type = sel & 0x40 ? vfuzz_u32(in) : 1;
    size_t len;
    const uint8_t *p = vfuzz_bytes(in, vfuzz_u8(in), &len);

    post(f, sel & 7, conn, type, p, len);
}

static void op_signal(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    VMBusGuestChannel *ch = pick_channel(f, sel);
    uint64_t conn = (sel & 0x80) || !ch ? vfuzz_u32(in) : ch->connid;
    uint64_t flag = vfuzz_u16(in);

    hv_call(f, "hypercall", sel >> 4, HV_SIGNAL_EVENT | HV_FAST,
            conn | flag << 32, 0);
}

static void op_send(VFuzz *f, VFuzzInput *in)
{
    static const uint16_t types[] = { 6, 9, 0xb, 7 };
    uint8_t sel = vfuzz_u8(in);
    VMBusGuestChannel *ch = pick_channel(f, sel);
    uint16_t type = sel & 0x80 ? vfuzz_u16(in) : types[(sel >> 3) & 3];
    uint16_t flags = vfuzz_u8(in);
    size_t ext_len, len;
    const uint8_t *ext = vfuzz_bytes(in, vfuzz_u8(in), &ext_len);
    const uint8_t *data = vfuzz_bytes(in, vfuzz_u16(in) % 8192, &len);

    if (ch) {
        vfuzz_ring_send(f, ch, type, flags, ++f->trans_id, ext, ext_len,
                        data, len);
    }
}

static void op_ring(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    VMBusGuestChannel *ch = pick_channel(f, sel);
    uint16_t off = vfuzz_u16(in);
    size_t len;
    const uint8_t *p = vfuzz_bytes(in, vfuzz_u8(in), &len);
    uint32_t pages;

    if (!ch) {
        return;
    }
    /* Either ring, its control page first; bytes never leave the ring. */
    pages = ch->send_pages + ch->recv_pages;
    off %= pages * PAGE;
    len = MIN(len, pages * PAGE - off);
    qtest_memwrite(f->qts, ch->ring_gpa + off, p, len);
    if (sel & 0x80) {
        vfuzz_signal(f, ch);
    }
}

static void op_mem(VFuzz *f, VFuzzInput *in)
{
    uint32_t off = vfuzz_u32(in) % (VFUZZ_DATA_PAGES * PAGE);
    size_t len;
    const uint8_t *p = vfuzz_bytes(in, vfuzz_u16(in), &len);

    len = MIN(len, VFUZZ_DATA_PAGES * PAGE - off);
    qtest_memwrite(f->qts, VFUZZ_DATA_GPA + off, p, len);
}

static void op_run(VFuzz *f, VFuzzInput *in)
{
    uint8_t ms = vfuzz_u8(in);

    flush_events(f->qts);
    if (ms) {
        qtest_clock_step(f->qts, ms * 1000000ll);
        flush_events(f->qts);
    }
}

/* A GPADL over pages of the data area, split as Linux splits one. */
static void op_gpadl(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    VMBusGuestChannel *ch = pick_channel(f, sel);
    uint32_t relid = (sel & 0x80) || !ch ? vfuzz_u32(in) : ch->relid;
    uint32_t id = vfuzz_u32(in);
    uint32_t npages = vfuzz_u8(in) % 64 + 1;
    uint32_t first = vfuzz_u8(in), sent, n;
    uint8_t msg[232] = { 0 };

    n = MIN(npages, 26);
    stl_le_p(msg, relid);
    stl_le_p(msg + 4, id);
    stw_le_p(msg + 8, 8 + 8 * npages);
    stw_le_p(msg + 10, 1);
    stl_le_p(msg + 12, npages * PAGE);
    for (uint32_t i = 0; i < n; i++) {
        stq_le_p(msg + 20 + 8 * i, VFUZZ_DATA_GPA / PAGE +
                 (first + i) % VFUZZ_DATA_PAGES);
    }
    vmbus_guest_post(&f->g, 0, f->g.conn_id, VMBUS_GUEST_GPADL_HEADER, msg,
                     28 + 8 * n);
    for (sent = n; sent < npages; sent += n) {
        n = MIN(npages - sent, 28);
        memset(msg, 0, sizeof(msg));
        stl_le_p(msg + 4, id);
        for (uint32_t i = 0; i < n; i++) {
            stq_le_p(msg + 8 + 8 * i, VFUZZ_DATA_GPA / PAGE +
                     (first + sent + i) % VFUZZ_DATA_PAGES);
        }
        vmbus_guest_post(&f->g, 0, f->g.conn_id, VMBUS_GUEST_GPADL_BODY, msg,
                         16 + 8 * n);
    }
}

/* The synthetic MSRs, then any MSR at all. */
static const uint32_t hv_msrs[] = {
    0x40000000, 0x40000001, 0x40000002, 0x40000003, 0x40000010,
    0x40000020, 0x40000021, 0x40000022, 0x40000023, 0x40000070,
    0x40000071, 0x40000072, 0x40000073, 0x40000080, 0x40000081,
    0x40000082, 0x40000083, 0x40000084, 0x40000090, 0x40000091,
    0x40000092, 0x40000093, 0x40000095, 0x4000009f, 0x400000b0,
    0x400000b1, 0x40000100, 0x40000105,
};

static void op_msr(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    uint8_t which = vfuzz_u8(in);
    uint32_t msr = which < ARRAY_SIZE(hv_msrs) ? hv_msrs[which] :
                   vfuzz_u32(in);

    if (sel & 0x80) {
        hv_call(f, "wrmsr", sel & 7, msr, vfuzz_u64(in), 0);
    } else {
        hv_call(f, "rdmsr", sel & 7, msr, 0, 0);
    }
}

static void op_hcall(VFuzz *f, VFuzzInput *in)
{
    uint8_t sel = vfuzz_u8(in);
    uint32_t vp = (sel & 7) % f->nvps;
    uint64_t control = vfuzz_u64(in);
    uint64_t gin = HVP_INPUT_PAGE(vp), gout = HVP_INPUT_PAGE(vp) + 0x800;
    size_t len;
    const uint8_t *p;

    if (sel & 0x80) {           /* anything, even outside RAM */
        gin = vfuzz_u64(in);
        gout = vfuzz_u64(in);
    } else {
        p = vfuzz_bytes(in, vfuzz_u8(in), &len);
        qtest_memwrite(f->qts, gin, p, len);
    }
    hv_call(f, "hypercall", vp, control, gin, gout);
}

static void run_input(VFuzz *f, const VFuzzTarget *t, VFuzzInput *in)
{
    int nops = VFUZZ_OP_COMMON + t->dev_ops;

    for (int i = 0; in->n && i < MAX_ACTIONS; i++) {
        int op = vfuzz_u8(in) % nops;

        if (op >= VFUZZ_OP_COMMON) {
            t->op(f, op - VFUZZ_OP_COMMON, in);
            continue;
        }
        if (!(t->ops & (1u << op))) {
            continue;
        }
        switch (op) {
        case VFUZZ_OP_POST:
            op_post(f, in);
            break;
        case VFUZZ_OP_SIGNAL:
            op_signal(f, in);
            break;
        case VFUZZ_OP_SEND:
            op_send(f, in);
            break;
        case VFUZZ_OP_RING:
            op_ring(f, in);
            break;
        case VFUZZ_OP_MEM:
            op_mem(f, in);
            break;
        case VFUZZ_OP_DRAIN:
            drain(f, vfuzz_u8(in) ? 2 : 1);
            break;
        case VFUZZ_OP_RUN:
            op_run(f, in);
            break;
        case VFUZZ_OP_GPADL:
            op_gpadl(f, in);
            break;
        case VFUZZ_OP_MSR:
            op_msr(f, in);
            break;
        case VFUZZ_OP_HCALL:
            op_hcall(f, in);
            break;
        }
    }
}

/*
 * Setups
 * ------
 */

/* Connects at VMBus 5.3, takes every offer, opens up to @max of them. */
static void connect_and_open(VFuzz *f, int max, uint32_t pages)
{
    HvpMessage offers[VFUZZ_MAX_CHANNELS];
    int n;

    vmbus_guest_connect(&f->g, VMBUS_GUEST_V5_3);
    n = vmbus_guest_request_offers(&f->g, offers, ARRAY_SIZE(offers));
    for (int i = 0; i < n && f->nch < max; i++) {
        VMBusGuestChannel *ch = &f->ch[f->nch++];

        *ch = (VMBusGuestChannel) {
            .relid = ldl_le_p(offers[i].payload + 184),
            .connid = ldl_le_p(offers[i].payload + 192),
            .gpadl = 0xf000 + i,
            .ring_gpa = VMBUS_GUEST_MEM + i * 2 * pages * PAGE,
            .send_pages = pages,
            .recv_pages = pages,
        };
        g_assert_cmpuint(vmbus_guest_open(&f->g, ch, 0), ==, 0);
    }
}

/*
 * The framework's callbacks
 * -------------------------
 */

static GString *vfuzz_cmdline(FuzzTarget *ft)
{
    GString *cmd = g_string_new(NULL);

    vfuzz_target = ft->opaque;
    hvp_idle_hook = vfuzz_idle;
    g_string_printf(cmd, TARGET_NAME " -machine q35,accel=qtest -m 64"
                    " -smp %d -cpu qemu64,hv-vpindex=on,hv-synic=on"
                    " -display none -nodefaults %s",
                    vfuzz_target->nvps, vfuzz_target->args);
    return cmd;
}

static void vfuzz_one(QTestState *qts, const unsigned char *data,
                      size_t size)
{
    const VFuzzTarget *t = vfuzz_target;
    VFuzzInput in = { .p = data, .n = size };
    VFuzz f = { .qts = qts, .nvps = t->nvps, .trans_id = 0x1000 };

    idle_streak = 0;
    if (t->keep_packets) {
        f.last = g_new0(VMBusGuestPacket, VFUZZ_MAX_CHANNELS);
    }
    vmbus_guest_init(&f.g, qts, t->nvps, 2);
    if (t->setup) {
        t->setup(&f);
    } else if (t->channels) {
        connect_and_open(&f, t->channels, t->ring_pages);
    }
    run_input(&f, t, &in);
    flush_events(qts);
    if (t->teardown) {
        t->teardown(&f);
    }
    fuzz_reset(qts);
    flush_events(qts);
    g_free(f.last);
}

void vfuzz_register(const VFuzzTarget *t)
{
    fuzz_add_target(&(FuzzTarget) {
        .name = t->name,
        .description = t->description,
        .get_init_cmdline = vfuzz_cmdline,
        .fuzz = vfuzz_one,
        .opaque = (void *)t,
    });
}
