/*
 * qtest: the vmbus-bridge device and its bus on the PC machines
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qtest-util.h"

#define HV_CPU "qemu64,hv-vpindex=on,hv-synic=on"

/* True when QOM @path has a child property called @name of type @type. */
static bool qom_has_child(QTestState *qts, const char *path,
                          const char *name, const char *type)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'qom-list',"
                            " 'arguments': {'path': %s}}", path);
    QList *props = qdict_get_qlist(resp, "return");
    g_autofree char *want = g_strdup_printf("child<%s>", type);
    const QListEntry *e;
    bool found = false;

    g_assert(props);
    QLIST_FOREACH_ENTRY(props, e) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(p, "name"), name) &&
            !strcmp(qdict_get_str(p, "type"), want)) {
            found = true;
        }
    }
    qobject_unref(resp);
    return found;
}

/* The output of HMP @cmd, with its CR LF line ends made LF. */
static char *hmp_text(QTestState *qts, const char *cmd)
{
    g_autofree char *raw = qtest_hmp(qts, "%s", cmd);
    g_auto(GStrv) parts = g_strsplit(raw, "\r", -1);

    return g_strjoinv("", parts);
}

static void test_bridge_on_machine(const void *data)
{
    const char *machine = data;
    QTestState *qts;
    QDict *resp;
    g_autofree char *qtree = NULL;

    qts = qtest_initf("-M %s -cpu " HV_CPU
                      " -device vmbus-bridge,id=vmbus0,irq=5", machine);

    /* The bridge is there, with its property, and owns the vmbus bus. */
    resp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                     " {'path': '/machine/peripheral/vmbus0',"
                     "  'property': 'type'}}");
    g_assert_cmpstr(qdict_get_str(resp, "return"), ==, "vmbus-bridge");
    qobject_unref(resp);

    resp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments':"
                     " {'path': '/machine/peripheral/vmbus0',"
                     "  'property': 'irq'}}");
    g_assert_cmpint(qdict_get_int(resp, "return"), ==, 5);
    qobject_unref(resp);

    g_assert_true(qom_has_child(qts, "/machine/peripheral/vmbus0",
                                "vmbus", "vmbus"));

    qtree = hmp_text(qts, "info qtree");
    g_assert_nonnull(strstr(qtree, "dev: vmbus-bridge, id \"vmbus0\""));
    g_assert_nonnull(strstr(qtree, "bus: vmbus\n      type vmbus\n"));

    /* A sysbus bridge cannot be hot-plugged. */
    resp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments':"
                     " {'driver': 'vmbus-bridge', 'id': 'vmbus1'}}");
    g_assert_true(qdict_haskey(resp, "error"));
    qobject_unref(resp);

    qtest_quit(qts);
}

static void test_needs_synic(const void *data)
{
    g_autofree char *args = g_strdup_printf("-M %s -device vmbus-bridge",
                                            (const char *)data);

    assert_startup_fails(args, "vmbus-bridge needs the Hyper-V SynIC");
}

static void test_two_bridges_refused(const void *data)
{
    g_autofree char *args = g_strdup_printf(
        "-M %s -cpu " HV_CPU " -device vmbus-bridge -device vmbus-bridge",
        (const char *)data);

    assert_startup_fails(args, "at most one vmbus-bridge");
}

/* True when QOM knows a type called @name. */
static bool type_exists(QTestState *qts, const char *name)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'qom-list-types'}");
    QList *types = qdict_get_qlist(resp, "return");
    const QListEntry *e;
    bool found = false;

    g_assert(types);
    QLIST_FOREACH_ENTRY(types, e) {
        QDict *t = qobject_to(QDict, qlist_entry_obj(e));

        found |= !strcmp(qdict_get_str(t, "name"), name);
    }
    qobject_unref(resp);
    return found;
}

static void test_upstream_vmbus_replaced(void)
{
    QTestState *qts = qtest_init("-M none");

    /* Ours is built in; upstream's VMBus devices are switched off. */
    g_assert_true(type_exists(qts, "vmbus-bridge"));
    g_assert_true(type_exists(qts, "vmbus"));
    g_assert_false(type_exists(qts, "hv-balloon"));
    g_assert_false(type_exists(qts, "hv-syndbg"));
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    static const char *machines[] = { "pc", "q35" };

    g_test_init(&argc, &argv, NULL);

    for (int i = 0; i < ARRAY_SIZE(machines); i++) {
        g_autofree char *p1 = g_strdup_printf("/vmbus/bridge/%s/plug",
                                              machines[i]);
        g_autofree char *p2 = g_strdup_printf("/vmbus/bridge/%s/only-one",
                                              machines[i]);

        qtest_add_data_func(p1, machines[i], test_bridge_on_machine);
        g_autofree char *p3 = g_strdup_printf("/vmbus/bridge/%s/needs-synic",
                                              machines[i]);

        qtest_add_data_func(p2, machines[i], test_two_bridges_refused);
        qtest_add_data_func(p3, machines[i], test_needs_synic);
    }
    qtest_add_func("/vmbus/bridge/upstream-vmbus-off",
                   test_upstream_vmbus_replaced);

    return g_test_run();
}
