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

/* Migrates @src to @dst (started with -incoming @uri); asserts it completed. */
void migrate_and_wait(QTestState *src, QTestState *dst, const char *uri);

/*
 * Starts the emulator with @args (no qtest, stopped) and asserts that it
 * refuses to start, saying @message on stderr.
 */
void assert_startup_fails(const char *args, const char *message);

#endif
