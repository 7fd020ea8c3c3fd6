/*
 * qemu-vmbus: hv-shutdown, the Hyper-V guest shutdown integration service
 *
 * vmbus-shutdown-guest (QMP) sends the guest a shutdown or reboot request
 * with flags, a reason code, a timeout and a message; the guest's driver
 * (Linux hv_utils, Windows' inbox one) answers, and then acts on its own.
 * The answer comes back as VMBUS_SHUTDOWN_ANSWERED. With powerdown=on,
 * system_powerdown sends the same request besides the ACPI event.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus.h"
#include "qapi/qapi-events-vmbus.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "hw/vmbus/vmbus-ic.h"
#include "trace.h"

#define TYPE_HV_SHUTDOWN "hv-shutdown"
OBJECT_DECLARE_SIMPLE_TYPE(HVShutdown, HV_SHUTDOWN)

#define HV_SHUTDOWN_CLASSID "0e0b6031-5213-4934-818b-38d90ced39db"

struct HVShutdown {
    VMBusIC parent_obj;

    bool powerdown;             /* property: system_powerdown asks too */
    Notifier powerdown_notifier;
};

/* What Linux and Windows accept; 3.2 adds a hibernate flag never sent. */
static const uint32_t shutdown_versions[] = {
    VMBUS_IC_VERSION(3, 2), VMBUS_IC_VERSION(3, 1), VMBUS_IC_VERSION(3, 0),
    VMBUS_IC_VERSION(1, 0),
};

static bool shutdown_request(HVShutdown *sd, bool reboot, bool force,
                             uint32_t reason, uint32_t timeout,
                             const char *message, Error **errp)
{
    VMBusIC *ic = VMBUS_IC(sd);
    struct vmbus_ic_shutdown msg = {
        .reason_code = cpu_to_le32(reason),
        .timeout_seconds = cpu_to_le32(timeout),
        .flags = cpu_to_le32((force ? VMBUS_SHUTDOWN_FLAG_FORCE : 0) |
                             (reboot ? VMBUS_SHUTDOWN_FLAG_RESTART : 0)),
    };

    if (ic->state != VMBUS_IC_READY) {
        error_setg(errp, "the guest has not started its shutdown service");
        return false;
    }
    if (vmbus_ic_busy(ic)) {
        error_setg(errp, "a request still waits for the guest's answer");
        return false;
    }
    if (message && !vmbus_ic_put_utf16("message", message, msg.message,
                                       sizeof(msg.message), errp)) {
        return false;
    }
    trace_hv_shutdown_request(reboot, force, reason);
    return vmbus_ic_request(ic, VMBUS_IC_MSG_SHUTDOWN, &msg, sizeof(msg));
}

void qmp_vmbus_shutdown_guest(const char *id, bool has_reboot, bool reboot,
                              bool has_force, bool force, bool has_reason,
                              uint32_t reason, bool has_timeout,
                              uint32_t timeout, const char *message,
                              Error **errp)
{
    VMBusIC *ic = vmbus_ic_find(TYPE_HV_SHUTDOWN, id, errp);

    if (ic) {
        shutdown_request(HV_SHUTDOWN(ic), reboot, force, reason, timeout,
                         message, errp);
    }
}

static void shutdown_powerdown(Notifier *n, void *opaque)
{
    HVShutdown *sd = container_of(n, HVShutdown, powerdown_notifier);
    Error *err = NULL;

    /* ACPI has the request too: a guest without the service still hears. */
    if (!shutdown_request(sd, false, false, 0, 0, NULL, &err)) {
        trace_hv_shutdown_powerdown_skipped(error_get_pretty(err));
        error_free(err);
    }
}

static void shutdown_answered(VMBusIC *ic, uint16_t msgtype,
                              uint32_t status, const uint8_t *body,
                              uint32_t len)
{
    g_autofree char *path = object_get_canonical_path(OBJECT(ic));

    trace_hv_shutdown_answer(status);
    qapi_event_send_vmbus_shutdown_answered(path, DEVICE(ic)->id,
                                            status == VMBUS_IC_S_OK, status);
}

/* No answer: tell the client as if the guest had refused. */
static void shutdown_failed(VMBusIC *ic, uint16_t msgtype)
{
    shutdown_answered(ic, msgtype, VMBUS_IC_E_FAIL, NULL, 0);
}

static void shutdown_realize(DeviceState *dev, Error **errp)
{
    HVShutdown *sd = HV_SHUTDOWN(dev);

    if (sd->powerdown) {
        sd->powerdown_notifier.notify = shutdown_powerdown;
        qemu_register_powerdown_notifier(&sd->powerdown_notifier);
    }
}

static void shutdown_unrealize(DeviceState *dev)
{
    HVShutdown *sd = HV_SHUTDOWN(dev);

    if (sd->powerdown) {
        notifier_remove(&sd->powerdown_notifier);
    }
}

static const VMStateDescription vmstate_hv_shutdown = {
    .name = TYPE_HV_SHUTDOWN,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HVShutdown),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hv_shutdown_props[] = {
    DEFINE_PROP_BOOL("powerdown", HVShutdown, powerdown, false),
};

static void hv_shutdown_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *icc = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse(HV_SHUTDOWN_CLASSID, &vdc->classid);
    vdc->vmdev_realize = shutdown_realize;
    vdc->vmdev_unrealize = shutdown_unrealize;
    icc->versions = shutdown_versions;
    icc->nversions = ARRAY_SIZE(shutdown_versions);
    icc->answered = shutdown_answered;
    icc->failed = shutdown_failed;
    dc->desc = "Hyper-V guest shutdown integration service";
    dc->vmsd = &vmstate_hv_shutdown;
    device_class_set_props(dc, hv_shutdown_props);
    object_class_property_set_description(klass, "powerdown",
        "system_powerdown also asks the guest through this service");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo hv_shutdown_type = {
    .name = TYPE_HV_SHUTDOWN,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HVShutdown),
    .class_init = hv_shutdown_class_init,
};

static void hv_shutdown_register_types(void)
{
    type_register_static(&hv_shutdown_type);
}

type_init(hv_shutdown_register_types)
