/*
 * qemu-vmbus: the channel manager's own state (not for device code)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VMBUS_VMBUS_INTERNAL_H
#define HW_VMBUS_VMBUS_INTERNAL_H

#include "qemu/event_notifier.h"
#include "qemu/units.h"
#include "system/runstate.h"
#include "hw/hyperv/hyperv.h"
#include "hw/vmbus/vmbus.h"
#include "hw/vmbus/vmbus-proto.h"
#include "qapi/qapi-types-vmbus.h"

/* Room for host->guest control messages waiting for the guest's slot. */
#define VMBUS_MSG_QUEUE_SIZE    256
#define VMBUS_MSG_MAX_SIZE      240
/* Dropped routes whose staged message may still wait for an EOM. */
#define VMBUS_MAX_DEAD_ROUTES   4

typedef struct VMBusOutMsg {
    uint32_t size;
    uint8_t data[VMBUS_MSG_MAX_SIZE];
} VMBusOutMsg;

/* One piece of a GPADL: guest-physical bytes [gpa, gpa + len). */
typedef struct VMBusGpadlSeg {
    uint64_t gpa;
    uint64_t start;         /* its offset in the GPADL */
    uint32_t len;
} VMBusGpadlSeg;

struct VMBusGpadl {
    QTAILQ_ENTRY(VMBusGpadl) link;
    VMBus *vmbus;
    uint32_t id;
    uint32_t relid;         /* the channel it was created for */

    /* The range buffer, as GPADL_HEADER and GPADL_BODY bring it. */
    uint32_t rangecount;
    uint32_t buflen;
    uint32_t filled;
    uint8_t *rangebuf;

    bool created;           /* GPADL_CREATED(success) is on its way */
    bool teardown;          /* the guest asked; TORNDOWN once unused */
    uint32_t refs;          /* channel rings and devices using it */
    bool forgotten;         /* out of the table, freed on the last put */

    /* Rebuilt from the range buffer when complete. */
    uint32_t nsegs;
    VMBusGpadlSeg *segs;
    uint64_t size;
};

/* One direction of a channel's ring. */
typedef struct VMBusRing {
    uint64_t base;          /* GPADL offset of its control page */
    uint32_t datasize;
    uint32_t pos;           /* the host's next read or write */
    uint32_t published;     /* what the guest was last shown of pos */
} VMBusRing;

struct VMBusChannel {
    VMBusDevice *dev;
    uint16_t index;         /* 0: the primary */

    /* Its offer */
    uint32_t relid;         /* 0: a subchannel not offered */
    bool offered;           /* the guest has the offer */
    bool rescinding;        /* taken back: waiting for RELID_RELEASED */
    bool rescind_sent;      /* ... and the guest has been told */

    bool open;
    bool broken;            /* the guest broke the ring: silent until reopen */
    uint32_t openid;
    uint32_t ring_gpadl_id;
    uint32_t send_offset;   /* pages: where the host->guest ring starts */
    uint32_t target_vp;
    VMBusRing rx;           /* guest->host */
    VMBusRing tx;           /* host->guest */
    bool tx_waiting;        /* pending_send_sz set in the host->guest ring */
    uint32_t batch;         /* depth of vmbus_channel_send_batch_begin() */

    /* Not migrated: rebuilt while opening */
    VMBusGpadl *ring;
    HvSintRoute *route;     /* the target VP's SINT, for channel events */
    EventNotifier notifier; /* the guest's HvSignalEvent */
    bool listening;         /* notifier set up and registered */
    QEMUBH *kick_bh;        /* the first notify after open */
    uint8_t *bounce;        /* private copy of the packet being read */
    uint32_t bounce_size;
};

/* The context of one SINT route's message callback. */
typedef struct VMBusRouteCtx VMBusRouteCtx;

struct VMBus {
    BusState parent_obj;

    /* Properties */
    uint32_t max_queued_msgs;
    uint32_t max_offers;
    uint32_t max_gpadls;
    uint64_t max_gpadl_mem;

    /* Connection, as negotiated by INITIATE_CONTACT */
    uint32_t state;             /* VMBusState (qapi/vmbus.json) */
    uint32_t version;
    uint32_t target_vp;
    uint32_t msg_sint;
    uint32_t msg_conn_id;       /* where the guest posts after contact */
    uint64_t int_page;          /* before 2.4: channel event bits */

    /* Offers: the guest asked; ALLOFFERS_DELIVERED still to send. */
    bool offers_requested;
    bool alloffers_pending;

    /* GPADLs, and the guest memory they may cover (bytes) */
    QTAILQ_HEAD(, VMBusGpadl) gpadls;
    uint32_t ngpadls;
    uint64_t gpadl_mem;

    /* Host->guest control messages, oldest first */
    uint32_t out_head;
    uint32_t out_count;
    VMBusOutMsg out[VMBUS_MSG_QUEUE_SIZE];

    /* Not migrated: rebuilt from the above */
    EventNotifier legacy_events;    /* connection 2, before 2.4 */
    bool legacy_listening;
    VMChangeStateEntry *vm_change;
    HvSintRoute *route;
    VMBusRouteCtx *route_ctx;
    bool posting;               /* the head is staged in hw/hyperv */
    /* Dropped routes whose staged message has not called back yet. */
    uint32_t dead_routes;
};

extern const VMStateDescription vmstate_vmbus;

/* Default limits (vmbus-bridge properties). */
#define VMBUS_DEFAULT_MAX_GPADLS        4096
#define VMBUS_DEFAULT_MAX_GPADL_MEM     (1280 * MiB)    /* as Hyper-V */

/* vmbus-conn.c: queues a host->guest message; false when full. */
bool vmbus_conn_send(VMBus *vmbus, const void *msg, uint32_t size);
/* Room for @n more messages in the queue. */
bool vmbus_conn_has_room(VMBus *vmbus, uint32_t n);
/* Sends what waited for queue room (torndowns, rescinds, offers). */
void vmbus_conn_pump(VMBus *vmbus);
/* vmbus-offers.c: REQUESTOFFERS and RELID_RELEASED; a TLFS status. */
uint16_t vmbus_offers_request(VMBus *vmbus);
uint16_t vmbus_offers_relid_released(VMBus *vmbus, const void *msg);
/* The connection ended: channels close, offers and GPADLs are forgotten. */
void vmbus_offers_forget(VMBus *vmbus);
/* The channel @relid, or NULL. */
VMBusChannel *vmbus_conn_channel(VMBus *vmbus, uint32_t relid);
/* Takes @chan's offer back; the pump retries when the queue is full. */
void vmbus_conn_rescind(VMBus *vmbus, VMBusChannel *chan);

/*
 * vmbus-bus.c: channel ids. Primaries take ids 1 to max-offers, in plug
 * order or as their "relid" property says; subchannels take the ids above.
 * So a device's id never depends on what subchannels other devices opened,
 * and a destination given the same devices (and relids) gives the same ids.
 */
uint32_t vmbus_alloc_subchannel_relid(VMBus *vmbus);

/* vmbus-gpadl.c: the GPADL messages; a TLFS status for the hypercall. */
uint16_t vmbus_gpadl_header(VMBus *vmbus, const void *msg, uint32_t size);
uint16_t vmbus_gpadl_body(VMBus *vmbus, const void *msg, uint32_t size);
uint16_t vmbus_gpadl_teardown(VMBus *vmbus, const void *msg);
/* Sends the GPADL_TORNDOWNs that waited for room; false if some still do. */
bool vmbus_gpadl_pump(VMBus *vmbus);
/* Forgets the GPADLs of channel @relid (0: all), unused ones at once. */
void vmbus_gpadl_forget(VMBus *vmbus, uint32_t relid);
VMBusGpadl *vmbus_gpadl_find(VMBus *vmbus, uint32_t id);
void vmbus_gpadl_ref(VMBusGpadl *gpadl);
/* Whether the GPADL is whole pages (what a ring needs). */
bool vmbus_gpadl_is_paged(VMBusGpadl *gpadl);
int vmbus_gpadl_rw(VMBusGpadl *gpadl, uint64_t offset, void *buf,
                   uint64_t len, bool is_write);
/* The guest-physical page that holds @offset (paged GPADLs). */
uint64_t vmbus_gpadl_page_gpa(VMBusGpadl *gpadl, uint64_t offset);
extern const VMStateDescription vmstate_vmbus_gpadl;
bool vmbus_gpa_page_is_ram(uint64_t gpa);
/* Whether [@gpa, @gpa + @len) is writable guest RAM in one region. */
bool vmbus_gpa_range_is_ram(uint64_t gpa, uint64_t len);
int vmbus_gpadl_post_load(VMBus *vmbus);

/* vmbus-chan.c: the channel messages; a TLFS status for the hypercall. */
uint16_t vmbus_chan_open_msg(VMBus *vmbus, const void *msg);
uint16_t vmbus_chan_close_msg(VMBus *vmbus, const void *msg);
uint16_t vmbus_chan_modify_msg(VMBus *vmbus, const void *msg);
void vmbus_chan_init(VMBusDevice *vdev, uint32_t relid);
/* Closes @vdev's channels without telling the guest (reset, unplug). */
void vmbus_chan_close_all(VMBusDevice *vdev);
/* Each open channel gets a notify and a due signal (VM running again). */
void vmbus_chan_kick_all(VMBusDevice *vdev);
/* The guest is done with @chan's id: whatever it left goes. */
void vmbus_chan_released(VMBusChannel *chan);
void vmbus_chan_finalize(VMBusDevice *vdev);
/* Raises the channel's event in the guest. */
void vmbus_chan_signal_guest(VMBusChannel *chan);
/* The guest signalled @chan: the device hears of it. */
void vmbus_chan_notify(VMBusChannel *chan);
/* Before 2.4, guests signal every channel on one connection id. */
void vmbus_chan_legacy_events(VMBus *vmbus, bool on);
extern const VMStateDescription vmstate_vmbus_channel;

/* vmbus-ring.c: sets the rings up at open; false if the guest's are bad. */
bool vmbus_ring_open(VMBusChannel *chan);
/* After migration: checks the migrated positions against the rings. */
bool vmbus_ring_restore(VMBusChannel *chan);
/* Shows the guest what was sent (end of a batch, open). */
void vmbus_ring_publish(VMBusChannel *chan);

/* Registers the guest message handlers (connection ids 1 and 4). */
bool vmbus_conn_init(VMBus *vmbus, Error **errp);
/* Machine reset: no connection, no queued messages. */
void vmbus_conn_reset(VMBus *vmbus);

/* A device was plugged: offer it if the guest is listening. */
void vmbus_conn_device_plugged(VMBus *vmbus);

/*
 * device_del: rescinds the offer if the guest has it, and unplugs the
 * device once the guest released the channel id; at once otherwise.
 */
void vmbus_conn_unplug_request(VMBus *vmbus, VMBusDevice *vdev);

#endif
