/*
 * qemu-vmbus: GPADLs, the guest memory a guest shares with a channel
 *
 * GPADL_HEADER names the channel, the guest's handle and the size of a
 * range buffer; the buffer arrives in the header and in GPADL_BODY
 * messages. Once whole it is parsed into segments, each page checked to be
 * guest RAM, and the guest hears GPADL_CREATED. A malformed header or body
 * fails its hypercall and leaves nothing behind; a buffer that is whole but
 * wrong gets GPADL_CREATED with a failure status.
 *
 * Rings and devices hold references; a teardown waits for the last one
 * before the guest hears GPADL_TORNDOWN, so a guest never gets its pages
 * back while the host can still touch them.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "migration/vmstate.h"
#include "hw/hyperv/hyperv-proto.h"
#include "vmbus-internal.h"
#include "trace.h"

/* The most page numbers the range buffer can hold beside its ranges. */
static uint64_t gpadl_max_pages(const VMBusGpadl *gpadl)
{
    return gpadl->buflen / sizeof(uint64_t) - gpadl->rangecount;
}

VMBusGpadl *vmbus_gpadl_find(VMBus *vmbus, uint32_t id)
{
    VMBusGpadl *gpadl;

    QTAILQ_FOREACH(gpadl, &vmbus->gpadls, link) {
        if (gpadl->id == id) {
            return gpadl;
        }
    }
    return NULL;
}

/* Takes @gpadl out of the table; it no longer counts against limits. */
static void gpadl_unlink(VMBusGpadl *gpadl)
{
    VMBus *vmbus = gpadl->vmbus;

    QTAILQ_REMOVE(&vmbus->gpadls, gpadl, link);
    vmbus->ngpadls--;
    vmbus->gpadl_mem -= gpadl_max_pages(gpadl) * VMBUS_PAGE_SIZE;
    gpadl->forgotten = true;
}

static void gpadl_free(VMBusGpadl *gpadl)
{
    if (!gpadl->forgotten) {
        gpadl_unlink(gpadl);
    }
    g_free(gpadl->rangebuf);
    g_free(gpadl->segs);
    g_free(gpadl);
}

static bool torndown_send(VMBusGpadl *gpadl)
{
    struct vmbus_msg_gpadl_torndown msg = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_GPADL_TORNDOWN),
        .gpadl = cpu_to_le32(gpadl->id),
    };

    if (!vmbus_conn_send(gpadl->vmbus, &msg, sizeof(msg))) {
        return false;
    }
    trace_vmbus_host_gpadl_torndown(gpadl->id);
    gpadl_free(gpadl);
    return true;
}

bool vmbus_gpadl_pump(VMBus *vmbus)
{
    VMBusGpadl *gpadl, *next;

    QTAILQ_FOREACH_SAFE(gpadl, &vmbus->gpadls, link, next) {
        if (gpadl->teardown && !gpadl->refs && !torndown_send(gpadl)) {
            return false;
        }
    }
    return true;
}

void vmbus_gpadl_ref(VMBusGpadl *gpadl)
{
    gpadl->refs++;
}

void vmbus_gpadl_put(VMBusGpadl *gpadl)
{
    assert(gpadl->refs);
    if (--gpadl->refs) {
        return;
    }
    if (gpadl->forgotten) {
        gpadl_free(gpadl);
    } else if (gpadl->teardown) {
        /* Waited for its last user; a full queue delays it to the pump. */
        vmbus_conn_pump(gpadl->vmbus);
    }
}

/*
 * Forgets the GPADLs of channel @relid (0: every one): the guest will not
 * hear of them again. One still in use is freed when its user lets go.
 */
void vmbus_gpadl_forget(VMBus *vmbus, uint32_t relid)
{
    VMBusGpadl *gpadl, *next;

    QTAILQ_FOREACH_SAFE(gpadl, &vmbus->gpadls, link, next) {
        if (relid && gpadl->relid != relid) {
            continue;
        }
        gpadl_unlink(gpadl);
        if (!gpadl->refs) {
            gpadl_free(gpadl);
        }
    }
}

/* Whether [gpa, gpa + 4 KiB) is guest RAM the host may read and write. */
bool vmbus_gpa_range_is_ram(uint64_t gpa, uint64_t len)
{
    MemoryRegionSection sec;
    bool ok;

    /* No x86 machine has guest-physical addresses of 52 bits or more. */
    if (!len || gpa >> 52 || len > (1ULL << 52) - gpa) {
        return false;
    }
    sec = memory_region_find(get_system_memory(), gpa, len);
    if (!sec.mr) {
        return false;
    }
    ok = memory_region_is_ram(sec.mr) && !sec.readonly &&
         !memory_region_is_ram_device(sec.mr) &&
         int128_get64(sec.size) == len;
    memory_region_unref(sec.mr);
    return ok;
}

bool vmbus_gpa_page_is_ram(uint64_t gpa)
{
    return vmbus_gpa_range_is_ram(gpa, VMBUS_PAGE_SIZE);
}

/* Turns the whole range buffer into segments; false if it is wrong. */
static bool gpadl_parse(VMBusGpadl *gpadl)
{
    const uint8_t *buf = gpadl->rangebuf;
    uint32_t pos = 0, nsegs = 0;

    gpadl->segs = g_new(VMBusGpadlSeg, gpadl_max_pages(gpadl));
    gpadl->size = 0;
    for (uint32_t r = 0; r < gpadl->rangecount; r++) {
        uint32_t count, offset;
        uint64_t npages;

        if (gpadl->buflen - pos < sizeof(struct vmbus_gpa_range)) {
            return false;
        }
        count = ldl_le_p(buf + pos);
        offset = ldl_le_p(buf + pos + 4);
        pos += sizeof(struct vmbus_gpa_range);
        npages = DIV_ROUND_UP((uint64_t)offset + count, VMBUS_PAGE_SIZE);
        /* The array holds every page number the buffer has room for. */
        if (!count || offset >= VMBUS_PAGE_SIZE ||
            npages > (gpadl->buflen - pos) / sizeof(uint64_t) ||
            npages > gpadl_max_pages(gpadl) - nsegs) {
            return false;
        }
        for (uint64_t i = 0; i < npages; i++) {
            uint64_t pfn = ldq_le_p(buf + pos);
            uint32_t skip = i ? 0 : offset;
            VMBusGpadlSeg *seg = &gpadl->segs[nsegs++];

            pos += sizeof(uint64_t);
            if (pfn > UINT64_MAX / VMBUS_PAGE_SIZE ||
                !vmbus_gpa_page_is_ram(pfn * VMBUS_PAGE_SIZE)) {
                return false;
            }
            seg->gpa = pfn * VMBUS_PAGE_SIZE + skip;
            seg->start = gpadl->size;
            seg->len = MIN(VMBUS_PAGE_SIZE - skip, count);
            count -= seg->len;
            gpadl->size += seg->len;
        }
    }
    gpadl->nsegs = nsegs;
    return pos == gpadl->buflen;
}

/* The range buffer is whole: check it and tell the guest. */
static void gpadl_complete(VMBusGpadl *gpadl)
{
    struct vmbus_msg_gpadl_created msg = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_GPADL_CREATED),
        .child_relid = cpu_to_le32(gpadl->relid),
        .gpadl = cpu_to_le32(gpadl->id),
    };
    bool ok = gpadl_parse(gpadl);

    trace_vmbus_host_gpadl_created(gpadl->id, gpadl->relid, gpadl->nsegs,
                              gpadl->size, ok);
    if (!ok) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: GPADL 0x%x: its ranges are "
                      "malformed or name memory that is not guest RAM\n",
                      gpadl->id);
        msg.status = cpu_to_le32(VMBUS_STATUS_UNSUCCESSFUL);
    }
    /* The caller made sure of the room. */
    vmbus_conn_send(gpadl->vmbus, &msg, sizeof(msg));
    if (ok) {
        gpadl->created = true;
    } else {
        gpadl_free(gpadl);
    }
}

/* Appends the next bytes of the range buffer; extra bytes are padding. */
static void gpadl_fill(VMBusGpadl *gpadl, const uint8_t *data, uint32_t len)
{
    len = MIN(len, gpadl->buflen - gpadl->filled);
    memcpy(gpadl->rangebuf + gpadl->filled, data, len);
    gpadl->filled += len;
    if (gpadl->filled == gpadl->buflen) {
        gpadl_complete(gpadl);
    }
}

uint16_t vmbus_gpadl_header(VMBus *vmbus, const void *buf, uint32_t size)
{
    const struct vmbus_msg_gpadl_header *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    uint32_t id = le32_to_cpu(msg->gpadl);
    uint32_t buflen = le16_to_cpu(msg->range_buflen);
    uint32_t rangecount = le16_to_cpu(msg->rangecount);
    VMBusChannel *chan = vmbus_conn_channel(vmbus, relid);
    uint64_t mem;
    VMBusGpadl *gpadl;
    const char *why = NULL;

    if (!chan || !chan->offered || chan->rescinding) {
        why = "names a channel the guest was not offered";
    } else if (vmbus_gpadl_find(vmbus, id)) {
        why = "reuses a handle in use";
    } else if (!rangecount || buflen % sizeof(uint64_t) ||
               buflen / (2 * sizeof(uint64_t)) < rangecount) {
        why = "has a malformed range buffer";
    }
    mem = ((uint64_t)buflen / sizeof(uint64_t) - rangecount) * VMBUS_PAGE_SIZE;
    if (!why && vmbus->ngpadls >= vmbus->max_gpadls) {
        why = "is one GPADL more than allowed (vmbus-bridge max-gpadls)";
    } else if (!why && mem > vmbus->max_gpadl_mem - vmbus->gpadl_mem) {
        why = "shares more memory than allowed "
              "(vmbus-bridge max-gpadl-memory)";
    }
    if (why) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: GPADL_HEADER 0x%x for channel "
                      "%u %s\n", id, relid, why);
        return HV_STATUS_INVALID_PARAMETER;
    }
    /* A header that completes the GPADL sends GPADL_CREATED. */
    if (!vmbus_conn_has_room(vmbus, 1)) {
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }

    gpadl = g_new0(VMBusGpadl, 1);
    gpadl->vmbus = vmbus;
    gpadl->id = id;
    gpadl->relid = relid;
    gpadl->rangecount = rangecount;
    gpadl->buflen = buflen;
    gpadl->rangebuf = g_malloc0(buflen);
    QTAILQ_INSERT_TAIL(&vmbus->gpadls, gpadl, link);
    vmbus->ngpadls++;
    vmbus->gpadl_mem += mem;
    trace_vmbus_host_gpadl_header(id, relid, rangecount, buflen);

    gpadl_fill(gpadl, (const uint8_t *)buf + sizeof(*msg),
               size - sizeof(*msg));
    return HV_STATUS_SUCCESS;
}

uint16_t vmbus_gpadl_body(VMBus *vmbus, const void *buf, uint32_t size)
{
    const struct vmbus_msg_gpadl_body *msg = buf;
    uint32_t id = le32_to_cpu(msg->gpadl);
    VMBusGpadl *gpadl = vmbus_gpadl_find(vmbus, id);

    if (!gpadl || gpadl->filled == gpadl->buflen) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: GPADL_BODY for GPADL 0x%x, "
                      "which is not being created\n", id);
        return HV_STATUS_INVALID_PARAMETER;
    }
    if (!vmbus_conn_has_room(vmbus, 1)) {
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    gpadl_fill(gpadl, (const uint8_t *)buf + sizeof(*msg),
               size - sizeof(*msg));
    return HV_STATUS_SUCCESS;
}

uint16_t vmbus_gpadl_teardown(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_gpadl_teardown *msg = buf;
    uint32_t relid = le32_to_cpu(msg->child_relid);
    uint32_t id = le32_to_cpu(msg->gpadl);
    VMBusGpadl *gpadl = vmbus_gpadl_find(vmbus, id);

    if (!gpadl || gpadl->relid != relid || gpadl->teardown) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: GPADL_TEARDOWN of GPADL 0x%x "
                      "of channel %u, which does not exist\n", id, relid);
        return HV_STATUS_INVALID_PARAMETER;
    }
    trace_vmbus_host_gpadl_teardown(id, relid, gpadl->refs);
    if (!gpadl->created) {
        /* Still being described: nothing uses it, drop it now. */
        if (!vmbus_conn_has_room(vmbus, 1)) {
            return HV_STATUS_INSUFFICIENT_BUFFERS;
        }
        torndown_send(gpadl);
        return HV_STATUS_SUCCESS;
    }
    gpadl->teardown = true;
    vmbus_conn_pump(vmbus);
    return HV_STATUS_SUCCESS;
}

bool vmbus_gpadl_is_paged(VMBusGpadl *gpadl)
{
    for (uint32_t i = 0; i < gpadl->nsegs; i++) {
        if (gpadl->segs[i].len != VMBUS_PAGE_SIZE) {
            return false;
        }
    }
    return true;
}

/* The segment that holds @offset (< size). */
static VMBusGpadlSeg *gpadl_seg(VMBusGpadl *gpadl, uint64_t offset)
{
    uint32_t lo = 0, hi = gpadl->nsegs;

    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (gpadl->segs[mid].start <= offset) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return &gpadl->segs[lo];
}

uint64_t vmbus_gpadl_page_gpa(VMBusGpadl *gpadl, uint64_t offset)
{
    return gpadl->segs[offset / VMBUS_PAGE_SIZE].gpa;
}

int vmbus_gpadl_rw(VMBusGpadl *gpadl, uint64_t offset, void *buf,
                   uint64_t len, bool is_write)
{
    uint8_t *p = buf;

    if (offset > gpadl->size || len > gpadl->size - offset) {
        return -EINVAL;
    }
    while (len) {
        VMBusGpadlSeg *seg = gpadl_seg(gpadl, offset);
        uint64_t in = offset - seg->start;
        uint64_t chunk = MIN(len, seg->len - in);

        if (address_space_rw(&address_space_memory, seg->gpa + in,
                             MEMTXATTRS_UNSPECIFIED, p, chunk,
                             is_write) != MEMTX_OK) {
            return -EIO;
        }
        p += chunk;
        offset += chunk;
        len -= chunk;
    }
    return 0;
}

VMBusGpadl *vmbus_gpadl_get(VMBusChannel *chan, uint32_t id)
{
    VMBusGpadl *gpadl = vmbus_gpadl_find(VMBUS(qdev_get_parent_bus(
                                               DEVICE(chan->dev))), id);
    VMBusChannel *owner;

    /* Any channel of the device may have created it. */
    if (!gpadl || !gpadl->created || gpadl->teardown) {
        return NULL;
    }
    owner = vmbus_conn_channel(gpadl->vmbus, gpadl->relid);
    if (!owner || owner->dev != chan->dev) {
        return NULL;
    }
    vmbus_gpadl_ref(gpadl);
    return gpadl;
}

uint64_t vmbus_gpadl_size(VMBusGpadl *gpadl)
{
    return gpadl->size;
}

int vmbus_gpadl_read(VMBusGpadl *gpadl, uint64_t offset, void *buf,
                     uint64_t len)
{
    return vmbus_gpadl_rw(gpadl, offset, buf, len, false);
}

int vmbus_gpadl_write(VMBusGpadl *gpadl, uint64_t offset, const void *buf,
                      uint64_t len)
{
    return vmbus_gpadl_rw(gpadl, offset, (void *)buf, len, true);
}

/*
 * Migration: the list comes back, then each GPADL is parsed again. The
 * bridge loads before the devices on its bus, whose channels and own
 * state then take their references again.
 */
int vmbus_gpadl_post_load(VMBus *vmbus)
{
    VMBusGpadl *gpadl, *next, *other;

    vmbus->ngpadls = 0;
    vmbus->gpadl_mem = 0;
    QTAILQ_FOREACH_SAFE(gpadl, &vmbus->gpadls, link, next) {
        /* Loaded elements are not zeroed: set what is not migrated. */
        gpadl->vmbus = vmbus;
        gpadl->refs = 0;
        gpadl->forgotten = false;
        gpadl->segs = NULL;
        gpadl->nsegs = 0;
        gpadl->size = 0;
        if (gpadl->filled > gpadl->buflen || !gpadl->rangecount ||
            gpadl->buflen > UINT16_MAX || gpadl->buflen % 8 ||
            gpadl->buflen / 16 < gpadl->rangecount ||
            gpadl->created != (gpadl->filled == gpadl->buflen) ||
            (gpadl->teardown && !gpadl->created)) {
            return -EINVAL;
        }
        if (gpadl->created && !gpadl_parse(gpadl)) {
            return -EINVAL;
        }
        QTAILQ_FOREACH(other, &vmbus->gpadls, link) {
            if (other != gpadl && other->id == gpadl->id) {
                return -EINVAL;
            }
        }
        vmbus->ngpadls++;
        vmbus->gpadl_mem += gpadl_max_pages(gpadl) * VMBUS_PAGE_SIZE;
    }
    /* This side's limits hold too. */
    if (vmbus->ngpadls > vmbus->max_gpadls ||
        vmbus->gpadl_mem > vmbus->max_gpadl_mem) {
        return -EINVAL;
    }
    return 0;
}

/* Before the range buffer is allocated from the stream's size. */
static bool gpadl_buflen_ok(void *opaque, int version_id)
{
    return ((VMBusGpadl *)opaque)->buflen <= UINT16_MAX;
}

/* A loaded element starts as uninitialised memory: clear it first. */
static int gpadl_pre_load(void *opaque)
{
    memset(opaque, 0, sizeof(VMBusGpadl));
    return 0;
}

const VMStateDescription vmstate_vmbus_gpadl = {
    .name = "vmbus/gpadl",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = gpadl_pre_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(id, VMBusGpadl),
        VMSTATE_UINT32(relid, VMBusGpadl),
        VMSTATE_UINT32(rangecount, VMBusGpadl),
        VMSTATE_UINT32(buflen, VMBusGpadl),
        VMSTATE_UINT32(filled, VMBusGpadl),
        VMSTATE_VALIDATE("buflen", gpadl_buflen_ok),
        VMSTATE_VBUFFER_ALLOC_UINT32(rangebuf, VMBusGpadl, 1, NULL, buflen),
        VMSTATE_BOOL(created, VMBusGpadl),
        VMSTATE_BOOL(teardown, VMBusGpadl),
        VMSTATE_END_OF_LIST()
    },
};
