/*
 * qemu-vmbus: hv-heartbeat, the Hyper-V heartbeat integration service
 *
 * Every "interval" milliseconds of guest time the host sends a sequence
 * number; the guest's driver (Linux hv_utils, Windows' inbox one) answers
 * with the number plus one. query-vmbus-heartbeat shows the count; when
 * the guest has not answered for "timeout" milliseconds the
 * VMBUS_HEARTBEAT_LOST event fires once, until it answers again.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus.h"
#include "qapi/qapi-events-vmbus.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "hw/vmbus/vmbus-ic.h"
#include "trace.h"

#define TYPE_HV_HEARTBEAT "hv-heartbeat"
OBJECT_DECLARE_SIMPLE_TYPE(HVHeartbeat, HV_HEARTBEAT)

#define HV_HEARTBEAT_CLASSID "57164f39-9115-4e78-ab55-382f3bd5422d"

struct HVHeartbeat {
    VMBusIC parent_obj;

    /* Properties */
    uint32_t interval_ms;
    uint32_t timeout_ms;

    uint64_t seq;               /* the guest's last answer */
    uint64_t answers;
    int64_t last_answer;        /* QEMU_CLOCK_VIRTUAL, ns */
    bool lost;                  /* VMBUS_HEARTBEAT_LOST was sent */
    QEMUTimer *timer;
};

static const uint32_t heartbeat_versions[] = {
    VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0),
};

static int64_t now_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void heartbeat_arm(HVHeartbeat *hb)
{
    timer_mod(hb->timer, now_ns() + (int64_t)hb->interval_ms * SCALE_MS);
}

static void heartbeat_tick(void *opaque)
{
    HVHeartbeat *hb = opaque;
    VMBusIC *ic = VMBUS_IC(hb);
    struct vmbus_ic_heartbeat msg = { .seq_num = cpu_to_le64(hb->seq) };

    if (ic->state != VMBUS_IC_READY) {
        return;
    }
    if (!hb->lost &&
        now_ns() - hb->last_answer >= (int64_t)hb->timeout_ms * SCALE_MS) {
        g_autofree char *path = object_get_canonical_path(OBJECT(hb));

        hb->lost = true;
        trace_hv_heartbeat_lost(hb->seq);
        qapi_event_send_vmbus_heartbeat_lost(path, DEVICE(hb)->id, hb->seq);
    }
    /* One at a time: an unanswered heartbeat is not repeated. */
    vmbus_ic_request(ic, VMBUS_IC_MSG_HEARTBEAT, &msg, sizeof(msg));
    heartbeat_arm(hb);
}

static void heartbeat_ready(VMBusIC *ic)
{
    HVHeartbeat *hb = HV_HEARTBEAT(ic);

    hb->last_answer = now_ns();
    hb->lost = false;
    heartbeat_tick(hb);
}

static void heartbeat_answered(VMBusIC *ic, uint16_t msgtype,
                               uint32_t status, const uint8_t *body,
                               uint32_t len)
{
    HVHeartbeat *hb = HV_HEARTBEAT(ic);
    uint64_t seq;

    if (status != VMBUS_IC_S_OK || len < sizeof(struct vmbus_ic_heartbeat)) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-heartbeat: answer with status "
                      "0x%x and %u bytes\n", status, len);
        return;
    }
    seq = ldq_le_p(body);
    if (seq != hb->seq + 1) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-heartbeat: answer %" PRIu64
                      " to %" PRIu64 "\n", seq, hb->seq);
    }
    hb->seq = seq;
    hb->answers++;
    hb->last_answer = now_ns();
    hb->lost = false;
    trace_hv_heartbeat_answer(seq);
}

static void heartbeat_closed(VMBusIC *ic)
{
    timer_del(HV_HEARTBEAT(ic)->timer);
}

static VMBusHeartbeatState heartbeat_state(HVHeartbeat *hb)
{
    switch (VMBUS_IC(hb)->state) {
    case VMBUS_IC_NEGOTIATING:
        return VMBUS_HEARTBEAT_STATE_NEGOTIATING;
    case VMBUS_IC_READY:
        return hb->lost ? VMBUS_HEARTBEAT_STATE_LOST :
               VMBUS_HEARTBEAT_STATE_ALIVE;
    case VMBUS_IC_UNSUPPORTED:
        return VMBUS_HEARTBEAT_STATE_UNSUPPORTED;
    default:
        return VMBUS_HEARTBEAT_STATE_CLOSED;
    }
}

static int heartbeat_info(Object *obj, void *opaque)
{
    VMBusHeartbeatInfoList ***tail = opaque;
    HVHeartbeat *hb;
    VMBusHeartbeatInfo *info;

    if (!object_dynamic_cast(obj, TYPE_HV_HEARTBEAT)) {
        return 0;
    }
    hb = HV_HEARTBEAT(obj);
    info = g_new0(VMBusHeartbeatInfo, 1);
    info->qom_path = object_get_canonical_path(obj);
    info->id = g_strdup(DEVICE(obj)->id);
    info->state = heartbeat_state(hb);
    info->sequence = hb->seq;
    info->answers = hb->answers;
    info->version = VMBUS_IC(hb)->version;
    QAPI_LIST_APPEND(*tail, info);
    return 0;
}

VMBusHeartbeatInfoList *qmp_query_vmbus_heartbeat(Error **errp)
{
    VMBusHeartbeatInfoList *list = NULL, **tail = &list;

    object_child_foreach_recursive(object_get_root(), heartbeat_info, &tail);
    return list;
}

static void heartbeat_realize(DeviceState *dev, Error **errp)
{
    HVHeartbeat *hb = HV_HEARTBEAT(dev);

    /* A timeout within one interval would call every heartbeat lost. */
    if (!hb->interval_ms || hb->timeout_ms <= hb->interval_ms) {
        error_setg(errp, "interval must be at least 1 ms and timeout longer "
                   "than interval");
        return;
    }
    hb->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, heartbeat_tick, hb);
}

static void heartbeat_unrealize(DeviceState *dev)
{
    HVHeartbeat *hb = HV_HEARTBEAT(dev);

    timer_free(hb->timer);
    hb->timer = NULL;
}

static const VMStateDescription vmstate_hv_heartbeat = {
    .name = TYPE_HV_HEARTBEAT,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HVHeartbeat),
        VMSTATE_UINT64(seq, HVHeartbeat),
        VMSTATE_UINT64(answers, HVHeartbeat),
        VMSTATE_INT64(last_answer, HVHeartbeat),
        VMSTATE_BOOL(lost, HVHeartbeat),
        VMSTATE_TIMER_PTR(timer, HVHeartbeat),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hv_heartbeat_props[] = {
    DEFINE_PROP_UINT32("interval", HVHeartbeat, interval_ms, 1000),
    DEFINE_PROP_UINT32("timeout", HVHeartbeat, timeout_ms, 10000),
};

static void hv_heartbeat_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *icc = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse(HV_HEARTBEAT_CLASSID, &vdc->classid);
    vdc->vmdev_realize = heartbeat_realize;
    vdc->vmdev_unrealize = heartbeat_unrealize;
    icc->versions = heartbeat_versions;
    icc->nversions = ARRAY_SIZE(heartbeat_versions);
    icc->ready = heartbeat_ready;
    icc->answered = heartbeat_answered;
    icc->closed = heartbeat_closed;
    dc->desc = "Hyper-V heartbeat integration service";
    dc->vmsd = &vmstate_hv_heartbeat;
    device_class_set_props(dc, hv_heartbeat_props);
    object_class_property_set_description(klass, "interval",
        "milliseconds of guest time between heartbeats");
    object_class_property_set_description(klass, "timeout",
        "milliseconds without an answer before VMBUS_HEARTBEAT_LOST");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo hv_heartbeat_type = {
    .name = TYPE_HV_HEARTBEAT,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HVHeartbeat),
    .class_init = hv_heartbeat_class_init,
};

static void hv_heartbeat_register_types(void)
{
    type_register_static(&hv_heartbeat_type);
}

type_init(hv_heartbeat_register_types)
