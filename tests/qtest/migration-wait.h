/*
 * qtest helper: wait for a migration to end (qemu-vmbus)
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_MIGRATION_WAIT_H
#define QTEST_MIGRATION_WAIT_H

#include "libqtest.h"

/* Polls query-migrate on @qts for up to 10 s; true if it completed. */
bool migration_wait_completed(QTestState *qts);

#endif
