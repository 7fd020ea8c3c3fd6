/*
 * qemu-vmbus fuzzing: the engine the per-layer targets share
 *
 * A target names a machine, brings the device to the state worth fuzzing
 * with the qtests' guest drivers (asserting: that part is ours and must
 * work), and then runs the fuzzer's input as a list of guest actions. The
 * actions never assert: whatever the host does with them is what is tested.
 * After each input the machine is reset, so every input starts alike.
 *
 * Input: a sequence of actions, each an op byte and its operands, all
 * little-endian; an operand past the end of the input reads as zero.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VMBUS_FUZZ_H
#define VMBUS_FUZZ_H

#include "vmbus/vmbus-channel.h"

#define VFUZZ_MAX_CHANNELS  8
#define VFUZZ_DATA_GPA      0x3800000ull    /* guest buffers the input fills */
#define VFUZZ_DATA_PAGES    32

/* The actions every target may allow (VFuzzTarget.ops is a mask of them). */
enum {
    VFUZZ_OP_POST,      /* HvPostMessage of a raw message */
    VFUZZ_OP_SIGNAL,    /* HvSignalEvent */
    VFUZZ_OP_SEND,      /* a packet into a channel's ring */
    VFUZZ_OP_RING,      /* raw bytes over a ring, control page included */
    VFUZZ_OP_MEM,       /* raw bytes into the data area */
    VFUZZ_OP_DRAIN,     /* take host messages and packets, complete them */
    VFUZZ_OP_RUN,       /* run the main loop and advance the clock */
    VFUZZ_OP_GPADL,     /* a well-formed GPADL over the data area */
    VFUZZ_OP_MSR,       /* rdmsr or wrmsr of a synthetic MSR */
    VFUZZ_OP_HCALL,     /* any hypercall, slow or fast */
    VFUZZ_OP_COMMON     /* the number of them; device ops follow */
};
#define VFUZZ_OPS_ALL       ((1u << VFUZZ_OP_COMMON) - 1)
#define VFUZZ_OPS_VMBUS     (VFUZZ_OPS_ALL & ~(1u << VFUZZ_OP_MSR | \
                                               1u << VFUZZ_OP_HCALL))

typedef struct VFuzzInput {
    const uint8_t *p;
    size_t n;
} VFuzzInput;

uint8_t vfuzz_u8(VFuzzInput *in);
uint16_t vfuzz_u16(VFuzzInput *in);
uint32_t vfuzz_u32(VFuzzInput *in);
uint64_t vfuzz_u64(VFuzzInput *in);
/* Takes up to @max bytes; *len says how many. */
const uint8_t *vfuzz_bytes(VFuzzInput *in, size_t max, size_t *len);

typedef struct VFuzz {
    QTestState *qts;
    VMBusGuest g;
    int nvps;
    VMBusGuestChannel ch[VFUZZ_MAX_CHANNELS];
    int nch;                    /* channels the setup opened */
    uint64_t trans_id;
    /* With VFuzzTarget.keep_packets: the last packet drained per channel */
    VMBusGuestPacket *last;
    void *dev;                  /* the target's guest driver */
} VFuzz;

typedef struct VFuzzTarget {
    const char *name;
    const char *description;
    const char *args;           /* devices, after the common machine */
    int nvps;
    uint32_t ops;               /* VFUZZ_OP_* allowed */
    int dev_ops;                /* how many device ops @op handles */
    /*
     * Without @setup, and with @channels: VMBus 5.3 connected, every offer
     * taken, and the first @channels opened on rings of @ring_pages each.
     */
    int channels;
    uint32_t ring_pages;
    bool keep_packets;          /* fill VFuzz.last as drains go */
    void (*setup)(VFuzz *f);
    void (*op)(VFuzz *f, int op, VFuzzInput *in);
    void (*teardown)(VFuzz *f);
} VFuzzTarget;

void vfuzz_register(const VFuzzTarget *t);

/* A packet into @ch's ring, without asserting anything about the host. */
bool vfuzz_ring_send(VFuzz *f, VMBusGuestChannel *ch, uint16_t type,
                     uint16_t flags, uint64_t trans_id, const void *ext,
                     uint32_t ext_len, const void *data, uint32_t len);

/* HvSignalEvent for @ch, whatever the host answers. */
void vfuzz_signal(VFuzz *f, VMBusGuestChannel *ch);

#endif
