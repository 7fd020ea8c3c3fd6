/*
 * qtest helpers shared by qemu-vmbus's tests
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QTEST_QTEST_UTIL_H
#define QTEST_QTEST_UTIL_H

#include "libqtest.h"

/* Polls query-migrate on @qts for up to 10 s; true if it completed. */
bool migration_wait_completed(QTestState *qts);

/*
 * Starts the emulator with @args (no qtest, stopped) and asserts that it
 * refuses to start, saying @message on stderr.
 */
void assert_startup_fails(const char *args, const char *message);

#endif
