/*
 * qemu-vmbus: a channel's two rings, in the guest's ring GPADL
 *
 * The host reads guest->host packets and writes host->guest ones. Every
 * index the guest writes is read once per decision and checked; a packet is
 * copied out whole before its descriptor is believed, and the descriptor
 * that decided its length is the one handed on. A guest that breaks a ring
 * (an index outside the data area, a length that does not fit) gets a
 * LOG_GUEST_ERROR and a silent channel until it opens it again.
 *
 * Signals follow the ring protocol: the guest is signalled when a ring it
 * reads goes from empty to non-empty while it has not masked interrupts,
 * and when free space in a ring it writes crosses its pending send size.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/atomic.h"
#include "exec/address-spaces.h"
#include "vmbus-internal.h"
#include "trace.h"

/* The largest packet a descriptor can describe (len8 is 16 bits). */
#define VMBUS_PACKET_MAX_LEN    (UINT16_MAX * 8u)

static uint32_t ring_ld(VMBusChannel *chan, VMBusRing *ring, uint32_t field)
{
    return address_space_ldl_le(&address_space_memory,
                                vmbus_gpadl_page_gpa(chan->ring, ring->base) +
                                field, MEMTXATTRS_UNSPECIFIED, NULL);
}

static void ring_st(VMBusChannel *chan, VMBusRing *ring, uint32_t field,
                    uint32_t val)
{
    address_space_stl_le(&address_space_memory,
                         vmbus_gpadl_page_gpa(chan->ring, ring->base) + field,
                         val, MEMTXATTRS_UNSPECIFIED, NULL);
}

/*
 * Copies @len bytes at data offset @pos, wrapping at the end; false when
 * the guest memory could not be reached.
 */
static bool ring_copy(VMBusChannel *chan, VMBusRing *ring, uint32_t pos,
                      void *buf, uint32_t len, bool is_write)
{
    uint64_t data = ring->base + VMBUS_PAGE_SIZE;
    uint32_t first = MIN(len, ring->datasize - pos);

    /* Both pieces lie inside the GPADL: rings are checked at open. */
    return !vmbus_gpadl_rw(chan->ring, data + pos, buf, first, is_write) &&
           (len == first ||
            !vmbus_gpadl_rw(chan->ring, data, (uint8_t *)buf + first,
                            len - first, is_write));
}

/* Bytes the producer may still write before the ring is full. */
static uint32_t ring_free(VMBusRing *ring, uint32_t write, uint32_t read)
{
    return write >= read ? ring->datasize - (write - read) : read - write;
}

static bool index_ok(VMBusRing *ring, uint32_t index)
{
    return index < ring->datasize && !(index & 7);
}

static void ring_broken(VMBusChannel *chan, const char *what, uint32_t val)
{
    qemu_log_mask(LOG_GUEST_ERROR, "vmbus: channel %u: the guest broke its "
                  "ring (%s %u); the channel stops until it is reopened\n",
                  chan->relid, what, val);
    chan->broken = true;
}

/* Where the two rings lie in the ring GPADL; false if they do not fit. */
static bool ring_layout(VMBusChannel *chan)
{
    uint32_t pages = vmbus_gpadl_size(chan->ring) / VMBUS_PAGE_SIZE;

    /* Each ring: a control page and at least one data page. */
    if (pages < 4 || chan->send_offset < 2 ||
        chan->send_offset > pages - 2) {
        return false;
    }
    chan->rx.base = 0;
    chan->rx.datasize = (chan->send_offset - 1) * VMBUS_PAGE_SIZE;
    chan->tx.base = (uint64_t)chan->send_offset * VMBUS_PAGE_SIZE;
    chan->tx.datasize = (pages - chan->send_offset - 1) * VMBUS_PAGE_SIZE;
    return true;
}

bool vmbus_ring_open(VMBusChannel *chan)
{
    uint32_t rd, wr;

    if (!ring_layout(chan)) {
        return false;
    }
    /* The host goes on from where the guest set the indices. */
    rd = ring_ld(chan, &chan->rx, VMBUS_RING_READ_INDEX);
    wr = ring_ld(chan, &chan->tx, VMBUS_RING_WRITE_INDEX);
    if (!index_ok(&chan->rx, rd) || !index_ok(&chan->tx, wr)) {
        return false;
    }
    chan->rx.pos = chan->rx.published = rd;
    chan->tx.pos = chan->tx.published = wr;
    chan->tx_waiting = false;
    chan->broken = false;
    chan->batch = 0;
    return true;
}

bool vmbus_ring_restore(VMBusChannel *chan)
{
    return ring_layout(chan) &&
           index_ok(&chan->rx, chan->rx.pos) &&
           index_ok(&chan->rx, chan->rx.published) &&
           index_ok(&chan->tx, chan->tx.pos) &&
           index_ok(&chan->tx, chan->tx.published);
}

bool vmbus_channel_recv(VMBusChannel *chan, VMBusPacket *pkt)
{
    VMBusRing *ring = &chan->rx;
    struct vmbus_packet_desc desc;
    uint32_t write, used, consumed, avail, len, off;

    if (!chan->open || chan->broken) {
        return false;
    }
    write = ring_ld(chan, ring, VMBUS_RING_WRITE_INDEX);
    if (!index_ok(ring, write)) {
        ring_broken(chan, "write index", write);
        return false;
    }
    /*
     * Count from the read index the guest last saw: a guest that moves
     * its write index past it cannot make the host read the ring round
     * and round in one go.
     */
    used = ring->datasize - ring_free(ring, write, ring->published);
    consumed = ring->datasize - ring_free(ring, ring->pos, ring->published);
    if (used < consumed) {
        ring_broken(chan, "write index", write);
        return false;
    }
    avail = used - consumed;
    if (!avail) {
        return false;
    }
    /* Data before the index was written before it. */
    smp_rmb();
    if (avail < sizeof(desc) + VMBUS_PACKET_TRAILER_SIZE) {
        ring_broken(chan, "bytes in the ring", avail);
        return false;
    }
    if (!ring_copy(chan, ring, ring->pos, &desc, sizeof(desc), false)) {
        ring_broken(chan, "unreachable ring at", ring->pos);
        return false;
    }
    len = le16_to_cpu(desc.len8) * 8;
    off = le16_to_cpu(desc.offset8) * 8;
    if (len < sizeof(desc) || off < sizeof(desc) || off > len ||
        len > avail - VMBUS_PACKET_TRAILER_SIZE) {
        ring_broken(chan, "packet length", len);
        return false;
    }
    if (chan->bounce_size < len) {
        chan->bounce = g_realloc(chan->bounce, len);
        chan->bounce_size = len;
    }
    if (!ring_copy(chan, ring, ring->pos, chan->bounce, len, false)) {
        ring_broken(chan, "unreachable ring at", ring->pos);
        return false;
    }
    /* The descriptor that was checked is the one that counts. */
    memcpy(chan->bounce, &desc, sizeof(desc));
    ring->pos = (ring->pos + len + VMBUS_PACKET_TRAILER_SIZE) %
                ring->datasize;

    pkt->type = le16_to_cpu(desc.type);
    pkt->flags = le16_to_cpu(desc.flags);
    pkt->trans_id = le64_to_cpu(desc.trans_id);
    pkt->ext = chan->bounce + sizeof(desc);
    pkt->ext_len = off - sizeof(desc);
    pkt->data = chan->bounce + off;
    pkt->len = len - off;
    trace_vmbus_host_ring_recv(chan->relid, pkt->type, pkt->len,
                          pkt->trans_id);
    return true;
}

void vmbus_channel_recv_done(VMBusChannel *chan)
{
    VMBusRing *ring = &chan->rx;
    uint32_t old = ring->published, pending, write;

    if (!chan->open || chan->broken || ring->pos == old) {
        return;
    }
    /* Every byte was copied out before the guest may reuse it. */
    smp_mb();
    ring_st(chan, ring, VMBUS_RING_READ_INDEX, ring->pos);
    ring->published = ring->pos;
    /* The new read index is visible before the guest's state is read. */
    smp_mb();

    /*
     * A guest that wrote after the last read saw the old read index, not
     * an empty ring, so it did not signal: look again for it.
     */
    write = ring_ld(chan, ring, VMBUS_RING_WRITE_INDEX);
    if (write != ring->pos) {
        qemu_bh_schedule(chan->kick_bh);
    }

    /* A guest waiting for room asked to hear when it has enough. */
    if (!(ring_ld(chan, ring, VMBUS_RING_FEATURE_BITS) &
          VMBUS_RING_FEAT_PENDING_SEND_SZ)) {
        return;
    }
    pending = ring_ld(chan, ring, VMBUS_RING_PENDING_SEND_SZ);
    if (pending && index_ok(ring, write) &&
        ring_free(ring, write, old) <= pending &&
        ring_free(ring, write, ring->pos) > pending) {
        vmbus_chan_signal_guest(chan);
    }
}

/* Whether @total bytes fit now; if not, asks the guest to say when. */
static bool ring_room(VMBusChannel *chan, uint32_t total)
{
    VMBusRing *ring = &chan->tx;

    for (int pass = 0; pass < 2; pass++) {
        uint32_t read = ring_ld(chan, ring, VMBUS_RING_READ_INDEX);

        if (!index_ok(ring, read)) {
            ring_broken(chan, "read index", read);
            return false;
        }
        /* Never fill the ring: full and empty must stay apart. */
        if (ring_free(ring, ring->pos, read) > total) {
            if (chan->tx_waiting) {
                ring_st(chan, ring, VMBUS_RING_PENDING_SEND_SZ, 0);
                chan->tx_waiting = false;
            }
            return true;
        }
        if (pass) {
            break;
        }
        /* Wake me with room to spare, not for every packet. */
        ring_st(chan, ring, VMBUS_RING_PENDING_SEND_SZ,
                MAX(total, ring->datasize / 4));
        chan->tx_waiting = true;
        /* The guest may have read everything meanwhile: look again. */
        smp_mb();
    }
    trace_vmbus_host_ring_full(chan->relid, total);
    return false;
}

static uint32_t packet_total(uint32_t ext_len, uint32_t len)
{
    return ROUND_UP(sizeof(struct vmbus_packet_desc) + ext_len + len, 8) +
           VMBUS_PACKET_TRAILER_SIZE;
}

bool vmbus_channel_can_send(VMBusChannel *chan, uint32_t ext_len,
                            uint32_t len)
{
    uint32_t total = packet_total(ext_len, len);

    return chan->open && !chan->broken && total < chan->tx.datasize &&
           ring_room(chan, total);
}

/* Writes @len bytes at the private write position and moves it on. */
static void ring_put(VMBusChannel *chan, const void *buf, uint32_t len)
{
    VMBusRing *ring = &chan->tx;

    /* A write that misses goes unseen: the guest never gets the index. */
    if (!ring_copy(chan, ring, ring->pos, (void *)buf, len, true)) {
        chan->broken = true;
    }
    ring->pos = (ring->pos + len) % ring->datasize;
}

int vmbus_channel_send(VMBusChannel *chan, uint16_t type, uint16_t flags,
                       uint64_t trans_id, const void *ext, uint32_t ext_len,
                       const void *data, uint32_t len)
{
    static const uint8_t zeroes[8];
    uint32_t hdr = sizeof(struct vmbus_packet_desc) + ext_len;
    uint32_t total = packet_total(ext_len, len);
    uint32_t pktlen = total - VMBUS_PACKET_TRAILER_SIZE;
    struct vmbus_packet_desc desc = {
        .type = cpu_to_le16(type),
        .offset8 = cpu_to_le16(hdr / 8),
        .len8 = cpu_to_le16(pktlen / 8),
        .flags = cpu_to_le16(flags),
        .trans_id = cpu_to_le64(trans_id),
    };
    uint64_t trailer = cpu_to_le64((uint64_t)chan->tx.pos << 32);

    assert(!(ext_len % 8));
    if (!chan->open || chan->broken) {
        return -EIO;
    }
    if (pktlen > VMBUS_PACKET_MAX_LEN || total >= chan->tx.datasize) {
        return -EMSGSIZE;
    }
    if (!ring_room(chan, total)) {
        return chan->broken ? -EIO : -ENOSPC;
    }
    ring_put(chan, &desc, sizeof(desc));
    ring_put(chan, ext, ext_len);
    ring_put(chan, data, len);
    ring_put(chan, zeroes, pktlen - hdr - len);
    ring_put(chan, &trailer, sizeof(trailer));
    if (chan->broken) {
        ring_broken(chan, "unreachable ring at", chan->tx.pos);
        return -EIO;
    }
    trace_vmbus_host_ring_send(chan->relid, type, len, trans_id);

    if (!chan->batch) {
        vmbus_ring_publish(chan);
    }
    return 0;
}

void vmbus_ring_publish(VMBusChannel *chan)
{
    VMBusRing *ring = &chan->tx;
    uint32_t old = ring->published;

    if (!chan->open || chan->broken || ring->pos == old) {
        return;
    }
    /* The packets before the index that shows them. */
    smp_wmb();
    ring_st(chan, ring, VMBUS_RING_WRITE_INDEX, ring->pos);
    ring->published = ring->pos;
    /* The write index is visible before the reader's state is read. */
    smp_mb();
    /* Signal a reader that had caught up, unless it is draining anyway. */
    if (!ring_ld(chan, ring, VMBUS_RING_INTERRUPT_MASK) &&
        ring_ld(chan, ring, VMBUS_RING_READ_INDEX) == old) {
        vmbus_chan_signal_guest(chan);
    }
}

void vmbus_channel_send_batch_begin(VMBusChannel *chan)
{
    chan->batch++;
}

void vmbus_channel_send_batch_end(VMBusChannel *chan)
{
    assert(chan->batch);
    if (!--chan->batch) {
        vmbus_ring_publish(chan);
    }
}

/* Pages that follow each other in guest memory make one entry. */
static void sgl_add_merged(QEMUSGList *sgl, dma_addr_t base, dma_addr_t len)
{
    ScatterGatherEntry *last = sgl->nsg ? &sgl->sg[sgl->nsg - 1] : NULL;

    if (last && last->base + last->len == base) {
        last->len += len;
        sgl->size += len;
    } else {
        qemu_sglist_add(sgl, base, len);
    }
}

/*
 * Whether an entry is guest RAM: one lookup for the whole entry, page by
 * page only where it spans more than one memory region.
 */
static bool sgl_entry_is_ram(const ScatterGatherEntry *e)
{
    uint64_t a = e->base, end = e->base + e->len;

    if (vmbus_gpa_range_is_ram(e->base, e->len)) {
        return true;
    }
    while (a < end) {
        uint64_t next = MIN(ROUND_DOWN(a, VMBUS_PAGE_SIZE) + VMBUS_PAGE_SIZE,
                            end);

        if (!vmbus_gpa_range_is_ram(a, next - a)) {
            return false;
        }
        a = next;
    }
    return true;
}

int vmbus_packet_map_sgl(VMBusChannel *chan, const VMBusPacket *pkt,
                         QEMUSGList *sgl)
{
    uint32_t pos = sizeof(struct vmbus_gpa_direct_header);
    uint32_t nranges;

    if (pkt->type != VMBUS_PACKET_DATA_USING_GPA_DIRECT ||
        pkt->ext_len < pos) {
        goto bad;
    }
    nranges = ldl_le_p(pkt->ext + 4);
    qemu_sglist_init(sgl, DEVICE(chan->dev), 1, &address_space_memory);
    for (uint32_t r = 0; r < nranges; r++) {
        uint32_t len, offset;
        uint64_t npages;

        if (pkt->ext_len - pos < sizeof(struct vmbus_gpa_direct_range)) {
            goto bad_sgl;
        }
        len = ldl_le_p(pkt->ext + pos);
        offset = ldl_le_p(pkt->ext + pos + 4);
        pos += sizeof(struct vmbus_gpa_direct_range);
        npages = DIV_ROUND_UP((uint64_t)offset + len, VMBUS_PAGE_SIZE);
        if (offset >= VMBUS_PAGE_SIZE ||
            npages > (pkt->ext_len - pos) / sizeof(uint64_t)) {
            goto bad_sgl;
        }
        if (!len) {
            /* netvsc lists a page for an empty range: nothing to move. */
            pos += npages * sizeof(uint64_t);
            continue;
        }
        for (uint64_t i = 0; i < npages; i++) {
            uint64_t pfn = ldq_le_p(pkt->ext + pos);
            uint32_t skip = i ? 0 : offset;
            uint32_t chunk = MIN(VMBUS_PAGE_SIZE - skip, len);

            pos += sizeof(uint64_t);
            if (pfn >= (1ULL << 52) / VMBUS_PAGE_SIZE) {
                goto bad_sgl;
            }
            sgl_add_merged(sgl, pfn * VMBUS_PAGE_SIZE + skip, chunk);
            len -= chunk;
        }
    }
    for (int i = 0; i < sgl->nsg; i++) {
        if (!sgl_entry_is_ram(&sgl->sg[i])) {
            goto bad_sgl;
        }
    }
    return 0;

bad_sgl:
    qemu_sglist_destroy(sgl);
bad:
    qemu_log_mask(LOG_GUEST_ERROR, "vmbus: channel %u: malformed GPA-direct "
                  "packet (transaction 0x%" PRIx64 ")\n", chan->relid,
                  pkt->trans_id);
    return -EINVAL;
}
