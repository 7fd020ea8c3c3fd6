/*
 * qtest helpers shared by qemu-vmbus's tests
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "qtest-util.h"

/* Polls query-migrate on @qts for up to 10 s; true if it completed. */
static bool migration_wait_completed(QTestState *qts)
{
    for (int i = 0; i < 1000; i++) {
        QDict *rsp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
        QDict *ret = qdict_get_qdict(rsp, "return");
        const char *st = qdict_haskey(ret, "status") ?
                         qdict_get_str(ret, "status") : "";
        bool done = !strcmp(st, "completed"), failed = !strcmp(st, "failed");

        qobject_unref(rsp);
        if (done || failed) {
            return done;
        }
        g_usleep(10 * 1000);
    }
    return false;
}

void migrate_and_wait(QTestState *src, QTestState *dst, const char *uri)
{
    qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);
    g_assert_true(migration_wait_completed(src));
    g_assert_true(migration_wait_completed(dst));
}

void assert_startup_fails(const char *args, const char *message)
{
    g_autofree char *cmd = g_strdup_printf("%s -display none -S %s",
                                           g_getenv("QTEST_QEMU_BINARY"),
                                           args);
    g_auto(GStrv) argv = NULL;
    g_autofree char *err = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, &err, &status, NULL));
    g_assert_cmpint(status, !=, 0);
    if (!strstr(err, message)) {
        g_error("expected '%s' from '%s', got: %s", message, args, err);
    }
}
