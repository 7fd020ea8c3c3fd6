/*
 * qemu-vmbus: hv-kvp, the Hyper-V key-value pair exchange service
 *
 * vmbus-kvp (QMP) gets, sets or deletes a key, or lists a pool, in the
 * guest's KVP store; the guest's daemon (hv_kvp_daemon on Linux, Windows'
 * own service) answers through its driver, and VMBUS_KVP_DONE carries the
 * result. Keys and values are UTF-16LE on the wire and UTF-8 in QMP. A
 * listing asks for item 0, 1, ... until the guest says there are no more.
 * One request is under way at a time.
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
#include "migration/vmstate.h"
#include "hw/vmbus/vmbus-ic.h"
#include "trace.h"

#define TYPE_HV_KVP "hv-kvp"
OBJECT_DECLARE_SIMPLE_TYPE(HVKvp, HV_KVP)

#define HV_KVP_CLASSID "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"

/* Bounds on one listing: items, and bytes of keys and values kept. */
#define HV_KVP_MAX_ITEMS        1024
#define HV_KVP_MAX_ITEM_BYTES   (1024 * 1024u)

struct HVKvp {
    VMBusIC parent_obj;

    uint32_t next_request;
    /* The request under way; none when request_id is 0. */
    uint32_t request_id;
    uint32_t op;                /* VMBusKvpOperation */
    uint32_t pool;              /* VMBusKvpPool */
    uint32_t index;             /* listing: the item asked for */
    /* Listing so far: key and value strings, each NUL-terminated. */
    uint32_t nitems;
    uint32_t items_len;
    uint8_t *items;
};

static const uint32_t kvp_versions[] = {
    VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0),
};

/* The protocol's operation codes, by VMBusKvpOperation. */
static const uint8_t kvp_wire_op[VMBUS_KVP_OP__MAX] = {
    [VMBUS_KVP_OP_GET] = VMBUS_KVP_GET,
    [VMBUS_KVP_OP_SET] = VMBUS_KVP_SET,
    [VMBUS_KVP_OP_DELETE] = VMBUS_KVP_DELETE,
    [VMBUS_KVP_OP_ENUMERATE] = VMBUS_KVP_ENUMERATE,
};

/* The guest's UTF-16LE string of @size bytes, up to a NUL, as UTF-8. */
static char *from_utf16(const uint8_t *buf, uint32_t size, uint32_t max)
{
    uint32_t n = MIN(size, max) / 2;
    g_autofree gunichar2 *u = g_new0(gunichar2, n + 1);
    char *s;

    for (uint32_t i = 0; i < n; i++) {
        u[i] = lduw_le_p(buf + 2 * i);
        if (!u[i]) {
            break;
        }
    }
    s = g_utf16_to_utf8(u, -1, NULL, NULL, NULL);
    return s ? s : g_strdup("");
}

/* Sends the request for the state in @kvp (and @key, @value if given). */
static bool kvp_send(HVKvp *kvp, const char *key, const char *value,
                     Error **errp)
{
    struct vmbus_kvp_msg msg = {
        .operation = kvp_wire_op[kvp->op],
        .pool = kvp->pool,
    };
    struct vmbus_kvp_value *data = &msg.data;
    uint32_t n;

    switch (kvp->op) {
    case VMBUS_KVP_OP_ENUMERATE:
        msg.enumerate.index = cpu_to_le32(kvp->index);
        break;
    case VMBUS_KVP_OP_DELETE:
        n = vmbus_ic_put_utf16("key", key, msg.del.key, sizeof(msg.del.key),
                               errp);
        if (!n) {
            return false;
        }
        msg.del.key_size = cpu_to_le32(n);
        break;
    case VMBUS_KVP_OP_SET:
        n = vmbus_ic_put_utf16("value", value, data->value,
                               sizeof(data->value), errp);
        if (!n) {
            return false;
        }
        data->value_size = cpu_to_le32(n);
        /* fall through */
    case VMBUS_KVP_OP_GET:
        data->value_type = cpu_to_le32(VMBUS_KVP_REG_SZ);
        n = vmbus_ic_put_utf16("key", key, data->key, sizeof(data->key), errp);
        if (!n) {
            return false;
        }
        data->key_size = cpu_to_le32(n);
        break;
    }
    trace_hv_kvp_request(kvp->request_id, kvp->op, kvp->pool, kvp->index);
    /* The whole message: the guest answers in the same buffer. */
    return vmbus_ic_request(VMBUS_IC(kvp), VMBUS_IC_MSG_KVPEXCHANGE, &msg,
                            sizeof(msg));
}

static void kvp_items_append(HVKvp *kvp, const char *s)
{
    uint32_t n = strlen(s) + 1;

    kvp->items = g_realloc(kvp->items, kvp->items_len + n);
    memcpy(kvp->items + kvp->items_len, s, n);
    kvp->items_len += n;
}

/* The request ended: VMBUS_KVP_DONE, and room for the next one. */
static void kvp_done(HVKvp *kvp, uint32_t status, const char *value)
{
    g_autofree char *path = object_get_canonical_path(OBJECT(kvp));
    VMBusKvpItemList *items = NULL, **tail = &items;
    uint32_t pos = 0;

    for (uint32_t i = 0; i < kvp->nitems; i++) {
        VMBusKvpItem *item = g_new0(VMBusKvpItem, 1);

        item->key = g_strdup((char *)kvp->items + pos);
        pos += strlen(item->key) + 1;
        item->value = g_strdup((char *)kvp->items + pos);
        pos += strlen(item->value) + 1;
        QAPI_LIST_APPEND(tail, item);
    }
    trace_hv_kvp_done(kvp->request_id, status, kvp->nitems);
    qapi_event_send_vmbus_kvp_done(path, DEVICE(kvp)->id, kvp->request_id,
                                   kvp->op, kvp->pool, status, value,
                                   kvp->op == VMBUS_KVP_OP_ENUMERATE,
                                   items);
    qapi_free_VMBusKvpItemList(items);
    g_free(kvp->items);
    kvp->items = NULL;
    kvp->items_len = 0;
    kvp->nitems = 0;
    kvp->request_id = 0;
}

VMBusKvpRequest *qmp_vmbus_kvp(const char *id, VMBusKvpOperation operation,
                               VMBusKvpPool pool, const char *key,
                               const char *value, Error **errp)
{
    VMBusIC *ic = vmbus_ic_find(TYPE_HV_KVP, id, errp);
    VMBusKvpRequest *req;
    HVKvp *kvp;

    if (!ic) {
        return NULL;
    }
    kvp = HV_KVP(ic);
    if (ic->state != VMBUS_IC_READY) {
        error_setg(errp, "the guest has not started its KVP service");
        return NULL;
    }
    if (kvp->request_id || vmbus_ic_busy(ic)) {
        error_setg(errp, "KVP request %u is still under way",
                   kvp->request_id);
        return NULL;
    }
    if (operation != VMBUS_KVP_OP_ENUMERATE && !key) {
        error_setg(errp, "'%s' needs a 'key'",
                   VMBusKvpOperation_str(operation));
        return NULL;
    }
    if ((operation == VMBUS_KVP_OP_SET) != !!value) {
        error_setg(errp, "'value' goes with 'set', and only with it");
        return NULL;
    }
    kvp->op = operation;
    kvp->pool = pool;
    kvp->index = 0;
    kvp->request_id = ++kvp->next_request ? kvp->next_request :
                      ++kvp->next_request;
    if (!kvp_send(kvp, key, value, errp)) {
        kvp->request_id = 0;
        return NULL;
    }
    req = g_new0(VMBusKvpRequest, 1);
    req->request_id = kvp->request_id;
    return req;
}

/* One listed item; false when the listing must end here. */
static bool kvp_item(HVKvp *kvp, const struct vmbus_kvp_value *d)
{
    g_autofree char *key = from_utf16(d->key, le32_to_cpu(d->key_size),
                                      sizeof(d->key));
    g_autofree char *value = from_utf16(d->value,
                                        le32_to_cpu(d->value_size),
                                        sizeof(d->value));

    if (kvp->nitems >= HV_KVP_MAX_ITEMS ||
        kvp->items_len + strlen(key) + strlen(value) + 2 >
        HV_KVP_MAX_ITEM_BYTES) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv-kvp: the guest's pool %u has more "
                      "than the %u items or %u bytes a listing keeps\n",
                      kvp->pool, HV_KVP_MAX_ITEMS, HV_KVP_MAX_ITEM_BYTES);
        return false;
    }
    kvp_items_append(kvp, key);
    kvp_items_append(kvp, value);
    kvp->nitems++;
    return true;
}

static void kvp_answered(VMBusIC *ic, uint16_t msgtype, uint32_t status,
                         const uint8_t *body, uint32_t len)
{
    HVKvp *kvp = HV_KVP(ic);
    struct vmbus_kvp_msg msg = { 0 };
    g_autofree char *value = NULL;

    if (!kvp->request_id) {
        return;
    }
    /* The guest's copy of our buffer; short answers read as zeroes. */
    memcpy(&msg, body, MIN(len, sizeof(msg)));
    if (status == VMBUS_IC_S_OK && kvp->op == VMBUS_KVP_OP_ENUMERATE) {
        /* A listing that reaches the bounds ends there, failed. */
        if (kvp_item(kvp, &msg.enumerate.data) &&
            kvp->nitems < HV_KVP_MAX_ITEMS) {
            kvp->index++;
            if (kvp_send(kvp, NULL, NULL, NULL)) {
                return;
            }
        }
        status = VMBUS_IC_E_FAIL;
    }
    if (status == VMBUS_IC_S_OK && kvp->op == VMBUS_KVP_OP_GET) {
        value = from_utf16(msg.data.value, le32_to_cpu(msg.data.value_size),
                           sizeof(msg.data.value));
    }
    kvp_done(kvp, status, value);
}

static void kvp_failed(VMBusIC *ic, uint16_t msgtype)
{
    HVKvp *kvp = HV_KVP(ic);

    if (kvp->request_id) {
        kvp_done(kvp, VMBUS_IC_E_FAIL, NULL);
    }
}

static void kvp_closed(VMBusIC *ic)
{
    HVKvp *kvp = HV_KVP(ic);

    /* Nobody will answer: say so rather than leave the client waiting. */
    if (kvp->request_id) {
        kvp_done(kvp, VMBUS_IC_E_FAIL, NULL);
    }
}

static void kvp_unrealize(DeviceState *dev)
{
    HVKvp *kvp = HV_KVP(dev);

    g_free(kvp->items);
    kvp->items = NULL;
}

/* Before the listing is allocated from the stream's size. */
static bool kvp_items_len_ok(void *opaque, int version_id)
{
    return ((HVKvp *)opaque)->items_len <= HV_KVP_MAX_ITEM_BYTES;
}

static int kvp_post_load(void *opaque, int version_id)
{
    HVKvp *kvp = opaque;
    uint32_t nuls = 0;

    if (kvp->op >= VMBUS_KVP_OP__MAX || kvp->pool >= VMBUS_KVP_POOL__MAX ||
        kvp->nitems > HV_KVP_MAX_ITEMS ||
        kvp->items_len > HV_KVP_MAX_ITEM_BYTES) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < kvp->items_len; i++) {
        nuls += !kvp->items[i];
    }
    if (nuls != 2 * kvp->nitems ||
        (kvp->items_len && kvp->items[kvp->items_len - 1])) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_hv_kvp = {
    .name = TYPE_HV_KVP,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = kvp_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HVKvp),
        VMSTATE_UINT32(next_request, HVKvp),
        VMSTATE_UINT32(request_id, HVKvp),
        VMSTATE_UINT32(op, HVKvp),
        VMSTATE_UINT32(pool, HVKvp),
        VMSTATE_UINT32(index, HVKvp),
        VMSTATE_UINT32(nitems, HVKvp),
        VMSTATE_UINT32(items_len, HVKvp),
        VMSTATE_VALIDATE("items_len", kvp_items_len_ok),
        VMSTATE_VBUFFER_ALLOC_UINT32(items, HVKvp, 1, NULL, items_len),
        VMSTATE_END_OF_LIST()
    },
};

static void hv_kvp_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *icc = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse(HV_KVP_CLASSID, &vdc->classid);
    vdc->vmdev_unrealize = kvp_unrealize;
    icc->versions = kvp_versions;
    icc->nversions = ARRAY_SIZE(kvp_versions);
    icc->answered = kvp_answered;
    icc->failed = kvp_failed;
    icc->closed = kvp_closed;
    dc->desc = "Hyper-V key-value pair exchange integration service";
    dc->vmsd = &vmstate_hv_kvp;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo hv_kvp_type = {
    .name = TYPE_HV_KVP,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HVKvp),
    .class_init = hv_kvp_class_init,
};

static void hv_kvp_register_types(void)
{
    type_register_static(&hv_kvp_type);
}

type_init(hv_kvp_register_types)
