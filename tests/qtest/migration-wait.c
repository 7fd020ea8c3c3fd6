/*
 * qtest helper: wait for a migration to end (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "migration-wait.h"

bool migration_wait_completed(QTestState *qts)
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
