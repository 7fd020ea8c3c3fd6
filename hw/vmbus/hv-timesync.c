/*
 * qemu-vmbus: hv-timesync, the Hyper-V time synchronization service
 *
 * The host sends its wall-clock time, in 100 ns units since 1601 as
 * Windows counts, with the guest's reference time at the moment of the
 * sample (from version 4.0), so the guest can add the delay until it reads
 * the message. A SYNC sample goes when the guest opens the channel and
 * whenever the VM runs again after a stop (migration, savevm, stop/cont):
 * guests set their clock from it. SAMPLE samples follow every
 * "sample-interval" ms of guest time for guests that discipline their
 * clock (Windows, Linux's PTP clock "hyperv").
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "hw/vmbus/vmbus-ic.h"
#include "hw/vmbus/hv-reftime.h"
#include "trace.h"

#define TYPE_HV_TIMESYNC "hv-timesync"
OBJECT_DECLARE_SIMPLE_TYPE(HVTimeSync, HV_TIMESYNC)

#define HV_TIMESYNC_CLASSID "9527e630-d0ae-497b-adce-e80ab0175caf"

struct HVTimeSync {
    VMBusIC parent_obj;

    uint32_t sample_interval_ms;    /* property; 0: SYNC samples only */

    bool sync_due;                  /* a SYNC waits for its turn */
    uint64_t samples;               /* answered */
    QEMUTimer *timer;
    VMChangeStateEntry *vmstate_change;
};

static const uint32_t timesync_versions[] = {
    VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0),
};

/* Sends a sample now if the channel is free; false if it is not. */
static bool timesync_send(HVTimeSync *ts, uint8_t flags)
{
    VMBusIC *ic = VMBUS_IC(ts);
    uint64_t now = qemu_clock_get_ns(QEMU_CLOCK_HOST) / 100 +
                   VMBUS_TIMESYNC_EPOCH_DELTA;

    if (ic->state != VMBUS_IC_READY || vmbus_ic_busy(ic)) {
        return false;
    }
    trace_hv_timesync_sample(flags, now);
    if (ic->version >= VMBUS_IC_VERSION(4, 0)) {
        struct vmbus_ic_timesync_ref d = {
            .parent_time = cpu_to_le64(now),
            .vm_reference_time = cpu_to_le64(hv_reference_counter()),
            .flags = flags,
        };

        return vmbus_ic_request(ic, VMBUS_IC_MSG_TIMESYNC, &d, sizeof(d));
    } else {
        struct vmbus_ic_timesync d = {
            .parent_time = cpu_to_le64(now),
            .flags = flags,
        };

        return vmbus_ic_request(ic, VMBUS_IC_MSG_TIMESYNC, &d, sizeof(d));
    }
}

/* The next sample: a SYNC that waited, or a periodic SAMPLE. */
static void timesync_next(HVTimeSync *ts, bool periodic)
{
    if (ts->sync_due) {
        if (timesync_send(ts, VMBUS_TIMESYNC_FLAG_SYNC)) {
            ts->sync_due = false;
        }
    } else if (periodic) {
        timesync_send(ts, VMBUS_TIMESYNC_FLAG_SAMPLE);
    }
}

static void timesync_tick(void *opaque)
{
    HVTimeSync *ts = opaque;

    if (VMBUS_IC(ts)->state != VMBUS_IC_READY) {
        return;
    }
    timesync_next(ts, true);
    if (ts->sample_interval_ms) {
        timer_mod(ts->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  (int64_t)ts->sample_interval_ms * SCALE_MS);
    }
}

static void timesync_ready(VMBusIC *ic)
{
    HVTimeSync *ts = HV_TIMESYNC(ic);

    ts->sync_due = true;
    timesync_next(ts, false);
    if (ts->sample_interval_ms) {
        timer_mod(ts->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  (int64_t)ts->sample_interval_ms * SCALE_MS);
    }
}

static void timesync_answered(VMBusIC *ic, uint16_t msgtype,
                              uint32_t status, const uint8_t *body,
                              uint32_t len)
{
    HVTimeSync *ts = HV_TIMESYNC(ic);

    if (status != VMBUS_IC_S_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-timesync: the guest refused a "
                      "sample (0x%x)\n", status);
    }
    ts->samples++;
    /* A SYNC that found a sample in flight goes now. */
    timesync_next(ts, false);
}

/* A sample that got no answer: a SYNC that waited goes now. */
static void timesync_failed(VMBusIC *ic, uint16_t msgtype)
{
    timesync_next(HV_TIMESYNC(ic), false);
}

static void timesync_closed(VMBusIC *ic)
{
    HVTimeSync *ts = HV_TIMESYNC(ic);

    ts->sync_due = false;
    timer_del(ts->timer);
}

/* The VM ran again after a stop: its clock stood still, set it again. */
static void timesync_vm_change(void *opaque, bool running, RunState state)
{
    HVTimeSync *ts = opaque;

    if (running && VMBUS_IC(ts)->state == VMBUS_IC_READY) {
        ts->sync_due = true;
        timesync_next(ts, false);
    }
}

static void timesync_realize(DeviceState *dev, Error **errp)
{
    HVTimeSync *ts = HV_TIMESYNC(dev);

    ts->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, timesync_tick, ts);
    ts->vmstate_change = qemu_add_vm_change_state_handler(timesync_vm_change,
                                                          ts);
}

static void timesync_unrealize(DeviceState *dev)
{
    HVTimeSync *ts = HV_TIMESYNC(dev);

    qemu_del_vm_change_state_handler(ts->vmstate_change);
    timer_free(ts->timer);
    ts->timer = NULL;
}

static const VMStateDescription vmstate_hv_timesync = {
    .name = TYPE_HV_TIMESYNC,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HVTimeSync),
        VMSTATE_BOOL(sync_due, HVTimeSync),
        VMSTATE_UINT64(samples, HVTimeSync),
        VMSTATE_TIMER_PTR(timer, HVTimeSync),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hv_timesync_props[] = {
    DEFINE_PROP_UINT32("sample-interval", HVTimeSync, sample_interval_ms,
                       5000),
};

static void hv_timesync_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *icc = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse(HV_TIMESYNC_CLASSID, &vdc->classid);
    vdc->vmdev_realize = timesync_realize;
    vdc->vmdev_unrealize = timesync_unrealize;
    icc->versions = timesync_versions;
    icc->nversions = ARRAY_SIZE(timesync_versions);
    icc->ready = timesync_ready;
    icc->answered = timesync_answered;
    icc->failed = timesync_failed;
    icc->closed = timesync_closed;
    dc->desc = "Hyper-V time synchronization integration service";
    dc->vmsd = &vmstate_hv_timesync;
    device_class_set_props(dc, hv_timesync_props);
    object_class_property_set_description(klass, "sample-interval",
        "milliseconds of guest time between time samples (0: none, only "
        "the samples that set the clock at open and after a stop)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo hv_timesync_type = {
    .name = TYPE_HV_TIMESYNC,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HVTimeSync),
    .class_init = hv_timesync_class_init,
};

static void hv_timesync_register_types(void)
{
    type_register_static(&hv_timesync_type);
}

type_init(hv_timesync_register_types)
