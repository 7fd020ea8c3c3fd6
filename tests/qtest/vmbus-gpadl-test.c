/*
 * qtest: VMBus GPADLs (qemu-vmbus)
 *
 * The test is the guest: it describes guest memory in GPADL_HEADER and
 * GPADL_BODY messages, right and wrong, and checks what the host makes of
 * them, what it allows, and when it gives them back.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "vmbus-testdev-guest.h"

static void test_gpadl_sizes(void)
{
    TDGuest f;
    uint32_t status;
    /* In the header alone, one body exactly, several, netvsc's buffer. */
    static const uint32_t sizes[] = { 1, 26, 27, 54, 100, 4096 };

    td_setup(&f, "");
    for (int i = 0; i < ARRAY_SIZE(sizes); i++) {
        g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x100 + i,
                                           VMBUS_GUEST_MEM, sizes[i],
                                           &status), ==, 0);
        g_assert_cmpuint(status, ==, 0);
    }
    for (int i = 0; i < ARRAY_SIZE(sizes); i++) {
        HvpMessage m;

        g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid,
                                                    0x100 + i), ==, 0);
        m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
        g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 0x100 + i);
    }
    /* A torn-down handle is free again; an unknown one is refused. */
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x100,
                                       VMBUS_GUEST_MEM, 3, &status), ==, 0);
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, 0x999),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    qtest_quit(f.qts);
}

/* Posts a GPADL_HEADER whose first range is @count bytes at @offset. */
static uint16_t header(TDGuest *f, uint32_t relid, uint32_t id,
                       uint16_t buflen, uint16_t rangecount, uint32_t count,
                       uint32_t offset, const uint64_t *pfns, int npfns)
{
    uint8_t msg[232] = { 0 };

    stl_le_p(msg, relid);
    stl_le_p(msg + 4, id);
    stw_le_p(msg + 8, buflen);
    stw_le_p(msg + 10, rangecount);
    stl_le_p(msg + 12, count);
    stl_le_p(msg + 16, offset);
    for (int i = 0; i < npfns; i++) {
        stq_le_p(msg + 20 + 8 * i, pfns[i]);
    }
    return vmbus_guest_post(&f->g, 0, f->g.conn_id, VMBUS_GUEST_GPADL_HEADER,
                            msg, 28 + 8 * npfns);
}

static uint32_t created_status(TDGuest *f, uint32_t id)
{
    HvpMessage m = vmbus_guest_recv(&f->g, 0, VMBUS_GUEST_GPADL_CREATED);

    g_assert_cmpuint(ldl_le_p(m.payload + 12), ==, id);
    return ldl_le_p(m.payload + 16);
}

static void test_gpadl_malformed(void)
{
    TDGuest f;
    uint64_t ram = VMBUS_GUEST_MEM / TD_PAGE;
    uint64_t pfns[2] = { ram, ram + 1 };
    uint64_t outside[1] = { 0x100000000ull / TD_PAGE * 16 };
    uint64_t mmio[1] = { 0xfee00000ull / TD_PAGE };
    uint8_t body[232] = { 0 };
    uint32_t status;

    td_setup(&f, "");
    /* Malformed headers fail their hypercall and leave nothing behind. */
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 0, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 4, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 8, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 16, 0, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 20, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, 77, 1, 16, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);

    /* A body for nothing, and a body after the GPADL was whole. */
    stl_le_p(body + 4, 1);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_GPADL_BODY, body, 24),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 16, 1, TD_PAGE, 0, pfns, 1), ==,
                     0);
    g_assert_cmpuint(created_status(&f, 1), ==, 0);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_GPADL_BODY, body, 24),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    /* A handle in use. */
    g_assert_cmpuint(header(&f, f.ch.relid, 1, 16, 1, TD_PAGE, 0, pfns, 1), ==,
                     HVP_STATUS_INVALID_PARAMETER);

    /* Whole but wrong: GPADL_CREATED says so. */
    g_assert_cmpuint(header(&f, f.ch.relid, 2, 16, 1, TD_PAGE, TD_PAGE, pfns,
                            1),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 2), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(header(&f, f.ch.relid, 3, 16, 1, 2 * TD_PAGE, 0, pfns, 1),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 3), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(header(&f, f.ch.relid, 4, 16, 1, TD_PAGE, 0, outside, 1),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 4), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(header(&f, f.ch.relid, 5, 16, 1, TD_PAGE, 0, mmio, 1),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 5), ==, TD_STATUS_UNSUCCESSFUL);
    g_assert_cmpuint(header(&f, f.ch.relid, 6, 24, 1, TD_PAGE, 0, pfns, 2),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 6), ==, TD_STATUS_UNSUCCESSFUL);
    /* Two ranges, one partial page each, the second in a body: fine. */
    g_assert_cmpuint(header(&f, f.ch.relid, 7, 32, 2, 100, 3900, pfns, 1),
                     ==, 0);
    memset(body, 0, sizeof(body));
    stl_le_p(body + 4, 7);
    stl_le_p(body + 8, 8);
    stl_le_p(body + 12, 16);
    stq_le_p(body + 16, ram + 5);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_GPADL_BODY, body, 32),
                     ==, 0);
    g_assert_cmpuint(created_status(&f, 7), ==, 0);

    /* After all that, the device is as good as new. */
    g_assert_cmpuint(vmbus_guest_open(&f.g, &f.ch, 0), ==, 0);
    td_assert_echo(&f);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 8, VMBUS_GUEST_MEM,
                                       2, &status), ==, 0);
    g_assert_cmpuint(status, ==, 0);
    qtest_quit(f.qts);
}

static void test_gpadl_limits(void)
{
    TDGuest f;
    uint32_t status;

    td_setup(&f, ",max-gpadls=2,max-gpadl-memory=64K");
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 1, VMBUS_GUEST_MEM,
                                       17, &status), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 1, VMBUS_GUEST_MEM,
                                       8, &status), ==, 0);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 2, VMBUS_GUEST_MEM,
                                       8, &status), ==, 0);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 3, VMBUS_GUEST_MEM,
                                       1, &status), ==,
                     HVP_STATUS_INVALID_PARAMETER);
    /* A teardown gives the room back. */
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, 2), ==, 0);
    vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 3, VMBUS_GUEST_MEM,
                                       7, &status), ==, 0);
    g_assert_cmpuint(status, ==, 0);
    qtest_quit(f.qts);
}

/* GPADLs in use are torn down when their user lets go. */
static void test_teardown_waits(void)
{
    TDGuest f;
    uint32_t status, sum;
    HvpMessage m;
    uint8_t close[4];

    td_setup_open(&f, "");
    qtest_memset(f.qts, 0x2000000, 3, 2 * TD_PAGE);
    g_assert_cmpuint(vmbus_guest_gpadl(&f.g, f.ch.relid, 0x77, 0x2000000, 2,
                                       &status), ==, 0);
    g_assert_cmpuint(td_inband(&f, TD_HOLD, 0x77, 0, NULL), ==, 0);
    g_assert_cmpuint(td_inband(&f, TD_READ, 100, 5000, &sum), ==, 0);
    g_assert_cmpuint(sum, ==, 15000);
    g_assert_cmpuint(td_inband(&f, TD_READ, 100, 8192, &sum), ==, 1);

    /* Held: TORNDOWN waits for RELEASE. */
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, 0x77), ==,
                     0);
    g_assert_cmpuint(td_inband(&f, TD_HOLD, 0x77, 0, NULL), ==, 1);
    g_assert_cmpuint(td_inband(&f, TD_RELEASE, 0, 0, NULL), ==, 0);
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, 0x77);

    /* The ring of an open channel: TORNDOWN comes after CLOSECHANNEL. */
    g_assert_cmpuint(vmbus_guest_gpadl_teardown(&f.g, f.ch.relid, f.ch.gpadl),
                     ==, 0);
    td_assert_echo(&f);
    g_assert_cmpuint(qtest_readl(f.qts, HVP_SIMP(0) + TD_SINT * 256), ==, 0);
    stl_le_p(close, f.ch.relid);
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_CLOSECHANNEL, close, 12),
                     ==, 0);
    m = vmbus_guest_recv(&f.g, 0, VMBUS_GUEST_GPADL_TORNDOWN);
    g_assert_cmpuint(ldl_le_p(m.payload + 8), ==, f.ch.gpadl);
    /* Closing it again is an error. */
    g_assert_cmpuint(vmbus_guest_post(&f.g, 0, f.g.conn_id,
                                      VMBUS_GUEST_CLOSECHANNEL, close, 12),
                     ==, HVP_STATUS_INVALID_PARAMETER);
    qtest_quit(f.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/gpadl/sizes", test_gpadl_sizes);
    qtest_add_func("/vmbus/gpadl/malformed", test_gpadl_malformed);
    qtest_add_func("/vmbus/gpadl/limits", test_gpadl_limits);
    qtest_add_func("/vmbus/gpadl/teardown-waits", test_teardown_waits);
    return g_test_run();
}
