/*
 * qemu-vmbus: the VMBus bus and the VMBus device API
 *
 * A VMBus device is a QOM device on the "vmbus" bus. Its class names the
 * interface (the class GUID the guest's driver matches); each instance has
 * an instance GUID (property "instanceid", made up at realize when not
 * given) and gets a channel id (relid) that stays the same for as long as
 * the device exists, across guest reboots. The channel manager offers the
 * device's channel to the guest when the guest asks for offers, or when the
 * device is added while the guest is connected.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_H
#define HW_VMBUS_VMBUS_H

#include "hw/qdev-core.h"
#include "qemu/uuid.h"
#include "qom/object.h"
#include "system/dma.h"
#include "hw/vmbus/vmbus-ring-proto.h"

/*
 * The bus a vmbus-bridge provides; VMBus devices plug into it. Its state is
 * the channel manager's (hw/vmbus/vmbus-internal.h).
 */
#define TYPE_VMBUS "vmbus"
OBJECT_DECLARE_SIMPLE_TYPE(VMBus, VMBUS)

/* Abstract base of every device on the VMBus (hv-net, hv-scsi, ...). */
#define TYPE_VMBUS_DEVICE "vmbus-device"
OBJECT_DECLARE_TYPE(VMBusDevice, VMBusDeviceClass, VMBUS_DEVICE)

/* Channel ids the guest accepts: 1 to 2047. */
#define VMBUS_RELID_MIN 1
#define VMBUS_RELID_MAX 2047

/* One channel of a device: its ring, its signals (hw/vmbus/vmbus-chan.c). */
typedef struct VMBusChannel VMBusChannel;

/* Guest memory the guest described and shared (hw/vmbus/vmbus-gpadl.c). */
typedef struct VMBusGpadl VMBusGpadl;

struct VMBusDevice {
    DeviceState parent_obj;

    /* Property "instanceid": the guest's name for this device. */
    QemuUUID instanceid;
    /* Property "relid": the primary channel's id; 0: the lowest free. */
    uint32_t want_relid;

    /*
     * Channel 0 is the primary, offered while the device exists, with an
     * id that stays the same across guest reboots; channels 1 and up are
     * subchannels, offered when the device asks.
     */
    uint16_t nchans;
    VMBusChannel *chans;
    VMBusChannel *chan;     /* &chans[0] */

    bool unplugging;        /* device_del: waiting for the guest */
    uint32_t mig_relid;     /* migration: the primary's channel id */
};

struct VMBusDeviceClass {
    DeviceClass parent_class;

    /* The interface: what the guest's driver matches. */
    QemuUUID classid;
    /* How many subchannels the device may offer besides its primary. */
    uint16_t max_subchannels;

    /* Realize and unrealize of the concrete device. */
    DeviceRealize vmdev_realize;
    DeviceUnrealize vmdev_unrealize;

    /*
     * The guest opened @chan (OPENCHANNEL): the ring is usable from now
     * on. A negative errno refuses the open; the guest hears it.
     */
    int (*open)(VMBusChannel *chan);
    /*
     * The guest closed @chan, or the connection ended (unload, reset,
     * unplug). The ring and the device's GPADL references are gone after
     * this returns: drop every VMBusGpadl taken with vmbus_gpadl_get().
     */
    void (*close)(VMBusChannel *chan);
    /*
     * The guest signalled @chan, or freed ring space a refused send was
     * waiting for. Runs in the main loop; also once right after open.
     */
    void (*notify)(VMBusChannel *chan);
    /*
     * Optional: whether device_del may take the device from the guest
     * now; false with @errp set refuses it.
     */
    bool (*unplug_check)(VMBusDevice *vdev, Error **errp);
};

/* Event connection ids: above the control ones (1..4) and hyperv-testdev's. */
#define VMBUS_CONNID_BASE   0x10000

/* A concrete device's vmstate includes its VMBus part with this. */
extern const VMStateDescription vmstate_vmbus_device;
#define VMSTATE_VMBUS_DEVICE(_field, _state) \
    VMSTATE_STRUCT(_field, _state, 1, vmstate_vmbus_device, VMBusDevice)

/*
 * Channels
 * --------
 * Everything below runs with the BQL held, from the callbacks above or
 * from the device's own bottom halves and timers.
 */

VMBusDevice *vmbus_channel_device(VMBusChannel *chan);
/* Channel @index of @vdev (0: the primary); NULL beyond the last. */
VMBusChannel *vmbus_device_channel(VMBusDevice *vdev, uint16_t index);
bool vmbus_channel_is_open(VMBusChannel *chan);
/* 0 for the primary, 1 and up for subchannels. */
uint16_t vmbus_channel_index(VMBusChannel *chan);
/* The channel's id (relid), 0 while a subchannel is not offered. */
uint32_t vmbus_channel_relid(VMBusChannel *chan);
/* The Hyper-V connection id on which the guest signals @chan. */
uint32_t vmbus_channel_connid(VMBusChannel *chan);

/*
 * Offers subchannels 1..@count (at most the class's max_subchannels), the
 * way a device's protocol asks for them (netvsc, storvsc): each is a
 * channel the guest opens like the primary, with its own ring and events,
 * and the device's callbacks serve it. Offers stay until the guest closes
 * the primary, then they are rescinded. 0, or -EINVAL for too many, -EIO
 * when the primary is not open, -EBUSY while an earlier set is still being
 * rescinded, -ENOSPC when channel ids ran out.
 */
int vmbus_device_offer_subchannels(VMBusDevice *vdev, uint16_t count);

/*
 * A guest->host packet. Its bytes are a private copy of the ring; they stay
 * valid until the next vmbus_channel_recv() or vmbus_channel_recv_done().
 */
typedef struct VMBusPacket {
    uint16_t type;              /* enum vmbus_packet_type */
    uint16_t flags;             /* VMBUS_PACKET_FLAG_* */
    uint64_t trans_id;
    const uint8_t *ext;         /* between descriptor and body */
    uint32_t ext_len;
    const uint8_t *data;        /* the body */
    uint32_t len;
} VMBusPacket;

/*
 * Takes the next guest packet into @pkt; false when the ring is empty, the
 * channel is closed or the guest broke the ring (logged; the channel then
 * stays silent until the guest opens it again). Consumed packets go back
 * to the guest with vmbus_channel_recv_done(), one or many at a time.
 */
bool vmbus_channel_recv(VMBusChannel *chan, VMBusPacket *pkt);
void vmbus_channel_recv_done(VMBusChannel *chan);

/*
 * Sends a packet: descriptor, @ext_len bytes of extended header (a multiple
 * of 8), @len bytes of body. -ENOSPC when the ring lacks room: the device's
 * notify runs once the guest has made enough. -EIO when the channel is
 * closed or broken.
 */
int vmbus_channel_send(VMBusChannel *chan, uint16_t type, uint16_t flags,
                       uint64_t trans_id, const void *ext, uint32_t ext_len,
                       const void *data, uint32_t len);

/* Whether a packet of this shape fits now; if not, as -ENOSPC above. */
bool vmbus_channel_can_send(VMBusChannel *chan, uint32_t ext_len,
                            uint32_t len);

/* A completion (VMBUS_PACKET_COMP) for the guest's @trans_id. */
static inline int vmbus_channel_complete(VMBusChannel *chan,
                                         uint64_t trans_id,
                                         const void *data, uint32_t len)
{
    return vmbus_channel_send(chan, VMBUS_PACKET_COMP, 0, trans_id, NULL, 0,
                              data, len);
}

/*
 * Between begin and end, sends publish nothing: the guest sees the whole
 * batch at end, with at most one signal.
 */
void vmbus_channel_send_batch_begin(VMBusChannel *chan);
void vmbus_channel_send_batch_end(VMBusChannel *chan);

/*
 * The guest memory a GPA-direct packet names, as a scatter-gather list for
 * QEMU's DMA helpers (dma_buf_read(), dma_blk_io(), ...). Every range is
 * checked to be guest RAM; -EINVAL (logged) for a malformed packet. The
 * caller destroys @sgl.
 */
int vmbus_packet_map_sgl(VMBusChannel *chan, const VMBusPacket *pkt,
                         QEMUSGList *sgl);

/*
 * GPADLs the guest names in the device's own protocol (receive and send
 * buffers). vmbus_gpadl_get() returns a GPADL of @chan's device that is
 * fully created, with a reference: its memory stays shared, a guest
 * teardown waiting, until vmbus_gpadl_put(). NULL if there is none.
 */
VMBusGpadl *vmbus_gpadl_get(VMBusChannel *chan, uint32_t id);
void vmbus_gpadl_put(VMBusGpadl *gpadl);
uint64_t vmbus_gpadl_size(VMBusGpadl *gpadl);
/* Copies to or from the GPADL at @offset; -EINVAL outside it. */
int vmbus_gpadl_read(VMBusGpadl *gpadl, uint64_t offset, void *buf,
                     uint64_t len);
int vmbus_gpadl_write(VMBusGpadl *gpadl, uint64_t offset, const void *buf,
                      uint64_t len);

/* Creates the VMBus bus as a child of @parent (the bridge). */
VMBus *vmbus_create(DeviceState *parent);

#endif
