/*
 * qemu-vmbus: the VMBus connection, its version and its control messages
 *
 * Guest messages arrive through HvPostMessage on connection 1 (before 5.0)
 * or 4 (from 5.0), as a copy the hypercall layer already bounded to 240
 * bytes; each is checked against its size in vmbus-proto.h before use. Host
 * messages wait in a bounded queue and go, one at a time, to the SINT and VP
 * that INITIATE_CONTACT named; a busy slot is retried on the guest's EOM.
 *
 * A hypercall that carries a malformed, unknown or out-of-state message
 * fails with a TLFS status: the guest's sender gets an error at once
 * instead of waiting for an answer that will not come.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "hw/hyperv/hyperv-proto.h"
#include "vmbus-internal.h"
#include "trace.h"

struct VMBusRouteCtx {
    VMBus *vmbus;
    bool dead;                  /* the route was dropped while posting */
};

static const uint32_t vmbus_versions[] = {
    VMBUS_VERSION_WS2008, VMBUS_VERSION_WIN7, VMBUS_VERSION_WIN8,
    VMBUS_VERSION_WIN8_1, VMBUS_VERSION_WIN10, VMBUS_VERSION_WIN10_RS3,
    VMBUS_VERSION_WIN10_V5, VMBUS_VERSION_WIN10_V5_1,
    VMBUS_VERSION_WIN10_V5_2, VMBUS_VERSION_WIN10_V5_3,
};

static bool version_known(uint32_t version)
{
    for (int i = 0; i < ARRAY_SIZE(vmbus_versions); i++) {
        if (vmbus_versions[i] == version) {
            return true;
        }
    }
    return false;
}

static void vmbus_kick(VMBus *vmbus);

static void vmbus_kick_bh(void *opaque)
{
    vmbus_conn_pump(opaque);
    vmbus_kick(opaque);
}

static void vmbus_kick_later(VMBus *vmbus)
{
    aio_bh_schedule_oneshot(qemu_get_aio_context(), vmbus_kick_bh, vmbus);
}

static void route_release(VMBus *vmbus)
{
    if (!vmbus->route) {
        return;
    }
    /* A staged message still calls back: let that find the context dead. */
    if (vmbus->posting) {
        vmbus->route_ctx->dead = true;
        vmbus->dead_routes++;
    } else {
        g_free(vmbus->route_ctx);
    }
    hyperv_sint_route_unref(vmbus->route);
    vmbus->route = NULL;
    vmbus->route_ctx = NULL;
    vmbus->posting = false;
}

static void out_drop_all(VMBus *vmbus)
{
    vmbus->out_head = 0;
    vmbus->out_count = 0;
}

static void out_pop(VMBus *vmbus)
{
    vmbus->out_head = (vmbus->out_head + 1) % VMBUS_MSG_QUEUE_SIZE;
    vmbus->out_count--;
}

/* After a message left the queue: finish an unload once it drained. */
static void out_drained_check(VMBus *vmbus)
{
    if (vmbus->state == VMBUS_STATE_UNLOADING && !vmbus->out_count) {
        trace_vmbus_conn_state(vmbus->state, VMBUS_STATE_DISCONNECTED);
        vmbus->state = VMBUS_STATE_DISCONNECTED;
        route_release(vmbus);
    }
}

/* hw/hyperv reports on the head message (from a bottom half). */
static void vmbus_msg_cb(void *data, int status)
{
    VMBusRouteCtx *ctx = data;
    VMBus *vmbus = ctx->vmbus;

    if (ctx->dead) {
        vmbus->dead_routes--;
        g_free(ctx);
        return;
    }
    vmbus->posting = false;
    assert(vmbus->out_count);

    if (status == -EAGAIN) {
        /* The slot was busy; the guest has freed it (EOM): try again. */
        trace_vmbus_conn_msg_retry(ldl_le_p(vmbus->out[vmbus->out_head].data));
    } else {
        if (status) {
            qemu_log_mask(LOG_GUEST_ERROR, "vmbus: message %u lost: the "
                          "guest's SynIC cannot take it (%d)\n",
                          ldl_le_p(vmbus->out[vmbus->out_head].data), status);
        }
        out_pop(vmbus);
        out_drained_check(vmbus);
        vmbus_conn_pump(vmbus);
    }
    /* hw/hyperv frees its staging area only after this callback. */
    vmbus_kick_later(vmbus);
}

static void vmbus_kick(VMBus *vmbus)
{
    struct hyperv_message hmsg = { 0 };
    VMBusOutMsg *m;
    int r;

    if (vmbus->posting || !vmbus->out_count || !vmbus->route) {
        return;
    }
    m = &vmbus->out[vmbus->out_head];
    hmsg.header.message_type = VMBUS_HV_MESSAGE_TYPE;
    hmsg.header.payload_size = m->size;
    memcpy(hmsg.payload, m->data, m->size);

    r = hyperv_post_msg(vmbus->route, &hmsg);
    if (r == 0) {
        vmbus->posting = true;
        trace_vmbus_conn_msg_post(ldl_le_p(m->data), m->size);
    } else {
        /* The route's staging area is still being released: shortly. */
        assert(r == -EAGAIN);
        vmbus_kick_later(vmbus);
    }
}

bool vmbus_conn_has_room(VMBus *vmbus, uint32_t n)
{
    return vmbus->out_count + n <= vmbus->max_queued_msgs;
}

bool vmbus_conn_send(VMBus *vmbus, const void *msg, uint32_t size)
{
    VMBusOutMsg *m;

    assert(size >= sizeof(struct vmbus_msg_header) &&
           size <= VMBUS_MSG_MAX_SIZE);
    if (vmbus->out_count >= vmbus->max_queued_msgs) {
        return false;
    }
    m = &vmbus->out[(vmbus->out_head + vmbus->out_count) %
                    VMBUS_MSG_QUEUE_SIZE];
    m->size = size;
    memcpy(m->data, msg, size);
    memset(m->data + size, 0, sizeof(m->data) - size);
    vmbus->out_count++;
    vmbus_kick(vmbus);
    return true;
}

static bool route_create(VMBus *vmbus)
{
    VMBusRouteCtx *ctx = g_new0(VMBusRouteCtx, 1);

    ctx->vmbus = vmbus;
    vmbus->route = hyperv_sint_route_new(vmbus->target_vp, vmbus->msg_sint,
                                         vmbus_msg_cb, ctx);
    if (!vmbus->route) {
        g_free(ctx);
        return false;
    }
    vmbus->route_ctx = ctx;
    return true;
}

static uint16_t handle_initiate_contact(VMBus *vmbus, uint32_t conn_id,
                                        const void *buf, uint32_t size)
{
    const struct vmbus_msg_initiate_contact *ic = buf;
    struct vmbus_msg_version_response rsp = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_VERSION_RESPONSE),
    };
    uint32_t version = le32_to_cpu(ic->version_requested);
    bool v5 = version >= VMBUS_VERSION_WIN10_V5;
    bool ok;

    if (size < sizeof(*ic)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: INITIATE_CONTACT of %u bytes\n",
                      size);
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    }
    /*
     * Earlier answers still wait for the guest's EOM, each on a route of
     * its own: a few may (a guest that reset while one was staged, whose
     * SINT may never be acknowledged under KVM), more would pile up. The
     * guest retries this status.
     */
    if (vmbus->dead_routes >= VMBUS_MAX_DEAD_ROUTES) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: INITIATE_CONTACT while an "
                      "earlier answer waits for EOM\n");
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }

    /*
     * Every contact starts afresh (next version tried, kexec, kdump); the
     * old connection ends first, so closing its channels sends nothing.
     */
    vmbus->state = VMBUS_STATE_DISCONNECTED;
    route_release(vmbus);
    vmbus_offers_forget(vmbus);
    out_drop_all(vmbus);

    /* Each version's rules: where the answer goes, and from where. */
    vmbus->version = version;
    vmbus->target_vp = version < VMBUS_VERSION_WIN8 ?
                       0 : le32_to_cpu(ic->target_vcpu);
    vmbus->msg_sint = v5 ? ic->msg_sint : VMBUS_MESSAGE_SINT;
    vmbus->msg_conn_id = v5 ? VMBUS_MESSAGE_CONNECTION_ID_4 :
                         VMBUS_MESSAGE_CONNECTION_ID;
    vmbus->int_page = v5 ? 0 : le64_to_cpu(ic->interrupt_page);
    ok = version_known(version) && conn_id == vmbus->msg_conn_id &&
         (!v5 || !ic->msg_vtl);

    trace_vmbus_conn_initiate_contact(version, conn_id, vmbus->target_vp,
                                 vmbus->msg_sint, ok);
    vmbus_chan_legacy_events(vmbus, ok && version < VMBUS_VERSION_WIN8);
    if (!route_create(vmbus)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: INITIATE_CONTACT names VP %u "
                      "SINT %u, which cannot take messages\n",
                      vmbus->target_vp, vmbus->msg_sint);
        return HV_STATUS_INVALID_PARAMETER;
    }

    rsp.version_supported = ok;
    if (ok) {
        rsp.msg_conn_id = cpu_to_le32(v5 ? vmbus->msg_conn_id : 0);
        trace_vmbus_conn_state(vmbus->state, VMBUS_STATE_CONNECTED);
        vmbus->state = VMBUS_STATE_CONNECTED;
    }
    vmbus_conn_send(vmbus, &rsp, sizeof(rsp));
    return HV_STATUS_SUCCESS;
}

static uint16_t handle_unload(VMBus *vmbus)
{
    struct vmbus_msg_header rsp = {
        .msgtype = cpu_to_le32(VMBUS_MSG_UNLOAD_RESPONSE),
    };

    if (!vmbus_conn_send(vmbus, &rsp, sizeof(rsp))) {
        return HV_STATUS_INSUFFICIENT_BUFFERS;
    }
    trace_vmbus_conn_state(vmbus->state, VMBUS_STATE_UNLOADING);
    vmbus->state = VMBUS_STATE_UNLOADING;
    vmbus_chan_legacy_events(vmbus, false);
    vmbus_offers_forget(vmbus);
    out_drained_check(vmbus);
    return HV_STATUS_SUCCESS;
}

static uint16_t handle_tl_connect(VMBus *vmbus, const void *buf)
{
    const struct vmbus_msg_tl_connect_request *req = buf;
    struct vmbus_msg_tl_connect_result rsp = {
        .header.msgtype = cpu_to_le32(VMBUS_MSG_TL_CONNECT_RESULT),
        .status = cpu_to_le32(VMBUS_STATUS_CONNECTION_REFUSED),
    };

    /* No hv_sock services here: the guest hears so. */
    memcpy(rsp.service_id, req->host_service_id, sizeof(rsp.service_id));
    memcpy(rsp.endpoint_id, req->guest_endpoint_id, sizeof(rsp.endpoint_id));
    return vmbus_conn_send(vmbus, &rsp, sizeof(rsp)) ?
           HV_STATUS_SUCCESS : HV_STATUS_INSUFFICIENT_BUFFERS;
}

/* The smallest valid size of each guest->host message. */
static uint32_t guest_msg_min_size(uint32_t msgtype)
{
    switch (msgtype) {
    case VMBUS_MSG_REQUESTOFFERS:
    case VMBUS_MSG_UNLOAD:
        return sizeof(struct vmbus_msg_header);
    case VMBUS_MSG_OPENCHANNEL:
        return sizeof(struct vmbus_msg_open_channel);
    case VMBUS_MSG_CLOSECHANNEL:
        return sizeof(struct vmbus_msg_close_channel);
    case VMBUS_MSG_GPADL_HEADER:
        return sizeof(struct vmbus_msg_gpadl_header);
    case VMBUS_MSG_GPADL_BODY:
        return sizeof(struct vmbus_msg_gpadl_body);
    case VMBUS_MSG_GPADL_TEARDOWN:
        return sizeof(struct vmbus_msg_gpadl_teardown);
    case VMBUS_MSG_RELID_RELEASED:
        return sizeof(struct vmbus_msg_relid_released);
    case VMBUS_MSG_TL_CONNECT_REQUEST:
        return sizeof(struct vmbus_msg_tl_connect_request);
    case VMBUS_MSG_MODIFYCHANNEL:
        return sizeof(struct vmbus_msg_modify_channel);
    default:
        return 0;       /* not a guest->host message */
    }
}

static uint16_t vmbus_msg_dispatch(VMBus *vmbus, uint32_t conn_id,
                                   uint32_t msgtype, const uint8_t *buf,
                                   uint32_t size);

/*
 * HvPostMessage reaches us on the vCPU thread: with the BQL under TCG and
 * qtest, without it from KVM's Hyper-V exit. Everything below needs it.
 */
static uint16_t vmbus_msg_handler(const struct hyperv_post_message_input *in,
                                  void *data)
{
    VMBus *vmbus = data;
    uint8_t buf[VMBUS_MSG_MAX_SIZE] = { 0 };
    uint32_t size = in->payload_size;
    uint32_t conn_id = in->connection_id & HV_CONNECTION_ID_MASK;
    uint32_t msgtype;

    /* The hypercall layer bounded the size; the copy is ours alone. */
    assert(size <= sizeof(buf));
    memcpy(buf, in->payload, size);
    if (in->message_type != VMBUS_HV_MESSAGE_TYPE ||
        size < sizeof(struct vmbus_msg_header)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: message of type %u and %u "
                      "bytes is not a VMBus message\n", in->message_type, size);
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    }
    msgtype = ldl_le_p(buf);
    trace_vmbus_conn_msg_recv(msgtype, size, conn_id);

    if (bql_locked()) {
        return vmbus_msg_dispatch(vmbus, conn_id, msgtype, buf, size);
    } else {
        uint16_t status;

        bql_lock();
        status = vmbus_msg_dispatch(vmbus, conn_id, msgtype, buf, size);
        bql_unlock();
        return status;
    }
}

static uint16_t vmbus_msg_dispatch(VMBus *vmbus, uint32_t conn_id,
                                   uint32_t msgtype, const uint8_t *buf,
                                   uint32_t size)
{
    uint32_t min;

    if (msgtype == VMBUS_MSG_INITIATE_CONTACT) {
        return handle_initiate_contact(vmbus, conn_id, buf, size);
    }

    min = guest_msg_min_size(msgtype);
    if (!min || size < min) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: message %u of %u bytes is "
                      "unknown or truncated\n", msgtype, size);
        return HV_STATUS_INVALID_HYPERCALL_INPUT;
    }
    if (vmbus->state != VMBUS_STATE_CONNECTED ||
        conn_id != vmbus->msg_conn_id) {
        qemu_log_mask(LOG_GUEST_ERROR, "vmbus: message %u on connection %u "
                      "while not connected there\n", msgtype, conn_id);
        return HV_STATUS_INVALID_CONNECTION_ID;
    }

    switch (msgtype) {
    case VMBUS_MSG_REQUESTOFFERS:
        return vmbus_offers_request(vmbus);
    case VMBUS_MSG_UNLOAD:
        return handle_unload(vmbus);
    case VMBUS_MSG_TL_CONNECT_REQUEST:
        return handle_tl_connect(vmbus, buf);
    case VMBUS_MSG_RELID_RELEASED:
        return vmbus_offers_relid_released(vmbus, buf);
    case VMBUS_MSG_GPADL_HEADER:
        return vmbus_gpadl_header(vmbus, buf, size);
    case VMBUS_MSG_GPADL_BODY:
        return vmbus_gpadl_body(vmbus, buf, size);
    case VMBUS_MSG_GPADL_TEARDOWN:
        return vmbus_gpadl_teardown(vmbus, buf);
    case VMBUS_MSG_OPENCHANNEL:
        return vmbus_chan_open_msg(vmbus, buf);
    case VMBUS_MSG_CLOSECHANNEL:
        return vmbus_chan_close_msg(vmbus, buf);
    case VMBUS_MSG_MODIFYCHANNEL:
        return vmbus_chan_modify_msg(vmbus, buf);
    default:
        g_assert_not_reached();
    }
}

/*
 * The VM runs (again): after an incoming migration, queued messages, due
 * torndowns and the channels' pending signals go now that every device
 * has loaded; after a stop, nothing is lost by looking again.
 */
static void vmbus_vm_change(void *opaque, bool running, RunState state)
{
    VMBus *vmbus = opaque;
    BusChild *kid;

    if (!running) {
        return;
    }
    vmbus_kick_later(vmbus);
    QTAILQ_FOREACH(kid, &BUS(vmbus)->children, sibling) {
        vmbus_chan_kick_all(VMBUS_DEVICE(kid->child));
    }
}

bool vmbus_conn_init(VMBus *vmbus, Error **errp)
{
    static const uint32_t conn_ids[] = {
        VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4,
    };

    for (int i = 0; i < ARRAY_SIZE(conn_ids); i++) {
        int r = hyperv_set_msg_handler(conn_ids[i], vmbus_msg_handler, vmbus);

        if (r) {
            error_setg_errno(errp, -r, "cannot take Hyper-V message "
                             "connection %u", conn_ids[i]);
            return false;
        }
    }
    vmbus->vm_change = qemu_add_vm_change_state_handler(vmbus_vm_change,
                                                        vmbus);
    return true;
}

void vmbus_conn_reset(VMBus *vmbus)
{
    vmbus_chan_legacy_events(vmbus, false);
    vmbus->state = VMBUS_STATE_DISCONNECTED;
    route_release(vmbus);
    vmbus_offers_forget(vmbus);
    out_drop_all(vmbus);
    vmbus->version = 0;
}

static int vmbus_post_load(void *opaque, int version_id)
{
    VMBus *vmbus = opaque;
    int r;

    if (vmbus->out_head >= VMBUS_MSG_QUEUE_SIZE ||
        vmbus->out_count > vmbus->max_queued_msgs ||
        vmbus->state >= VMBUS_STATE__MAX) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < vmbus->out_count; i++) {
        VMBusOutMsg *m = &vmbus->out[(vmbus->out_head + i) %
                                     VMBUS_MSG_QUEUE_SIZE];

        if (m->size < sizeof(struct vmbus_msg_header) ||
            m->size > VMBUS_MSG_MAX_SIZE) {
            return -EINVAL;
        }
    }
    r = vmbus_gpadl_post_load(vmbus);
    if (r) {
        return r;
    }
    vmbus_chan_legacy_events(vmbus, vmbus->state == VMBUS_STATE_CONNECTED &&
                             vmbus->version < VMBUS_VERSION_WIN8);
    /* A connection (or an answer still queued) needs its route again. */
    if ((vmbus->state != VMBUS_STATE_DISCONNECTED || vmbus->out_count) &&
        !route_create(vmbus)) {
        return -EINVAL;
    }
    /* Nothing goes until the VM runs, once every device is loaded too. */
    return 0;
}

static int vmbus_pre_load(void *opaque)
{
    /* The destination's own (reset) state makes way for the source's. */
    vmbus_conn_reset(opaque);
    return 0;
}

static const VMStateDescription vmstate_vmbus_out_msg = {
    .name = "vmbus/out-msg",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(size, VMBusOutMsg),
        VMSTATE_UINT8_ARRAY(data, VMBusOutMsg, VMBUS_MSG_MAX_SIZE),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_vmbus = {
    .name = "vmbus",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = vmbus_pre_load,
    .post_load = vmbus_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(state, VMBus),
        VMSTATE_UINT32(version, VMBus),
        VMSTATE_UINT32(target_vp, VMBus),
        VMSTATE_UINT32(msg_sint, VMBus),
        VMSTATE_UINT32(msg_conn_id, VMBus),
        VMSTATE_UINT64(int_page, VMBus),
        VMSTATE_BOOL(offers_requested, VMBus),
        VMSTATE_BOOL(alloffers_pending, VMBus),
        VMSTATE_UINT32(out_head, VMBus),
        VMSTATE_UINT32(out_count, VMBus),
        VMSTATE_STRUCT_ARRAY(out, VMBus, VMBUS_MSG_QUEUE_SIZE, 1,
                             vmstate_vmbus_out_msg, VMBusOutMsg),
        VMSTATE_QTAILQ_V(gpadls, VMBus, 1, vmstate_vmbus_gpadl, VMBusGpadl,
                         link),
        VMSTATE_END_OF_LIST()
    },
};
