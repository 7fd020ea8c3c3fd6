/*
 * qemu-vmbus: the Hyper-V hypercall page and dispatcher without KVM
 *
 * The page the guest enables through HV_X64_MSR_HYPERCALL gets a VMCALL
 * (Intel) or VMMCALL (AMD) and a RET; the translator sends both
 * instructions here. HvPostMessage and HvSignalEvent go to the handlers
 * registered with hw/hyperv/hyperv.c, as under KVM.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "exec/cpu-common.h"
#include "exec/address-spaces.h"
#include "hw/hyperv/hyperv.h"
#include "hw/hyperv/hyperv-proto.h"
#include "target/i386/kvm/hyperv-proto.h"
#include "hv-tcg-internal.h"
#include "trace.h"

/* Hypercall control word (TLFS 3.7). */
#define HV_HCALL_CODE_MASK      0xffffull
#define HV_HCALL_FAST           (1ull << 16)
#define HV_HCALL_VARHEAD(c)     (((c) >> 17) & 0x3ff)
#define HV_HCALL_REP_COUNT(c)   (((c) >> 32) & 0xfff)
#define HV_HCALL_REP_START(c)   (((c) >> 48) & 0xfff)
/* Bits that must be zero: 31:27, 47:44 and 63:60. */
#define HV_HCALL_RSVD_MASK      (0xf8000000ull | (0xfull << 44) | \
                                 (0xfull << 60))

#define HVCALL_POST_MESSAGE     0x005c
#define HVCALL_SIGNAL_EVENT     0x005d

void hv_tcg_hypercall_page_fill(X86CPU *cpu)
{
    static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1, 0xc3 };
    static const uint8_t vmmcall[] = { 0x0f, 0x01, 0xd9, 0xc3 };
    CPUX86State *env = &cpu->env;
    hwaddr gpa = hv_tcg_partition.hypercall & TARGET_PAGE_MASK;
    const uint8_t *code = IS_INTEL_CPU(env) ? vmcall : vmmcall;

    if (!(hv_tcg_partition.hypercall & HV_HYPERCALL_ENABLE)) {
        return;
    }
    /* A RAM write: translated code of that page is thrown away. */
    if (address_space_write(&address_space_memory, gpa,
                            MEMTXATTRS_UNSPECIFIED, code, sizeof(vmcall))) {
        qemu_log_mask(LOG_GUEST_ERROR, "hv: hypercall page at 0x%"
                      HWADDR_PRIx " is not RAM\n", gpa);
    }
}

/* The size of a call's input block in guest memory. */
static unsigned hcall_input_size(uint16_t code)
{
    return code == HVCALL_POST_MESSAGE ?
           sizeof(struct hyperv_post_message_input) : sizeof(uint64_t);
}

/* HvPostMessage and HvSignalEvent reach device code: under the BQL. */
static uint16_t hcall_synic(uint16_t code, uint64_t in, bool fast)
{
    BQL_LOCK_GUARD();

    if (code == HVCALL_POST_MESSAGE) {
        return hyperv_hcall_post_message(in, fast);
    }
    return hyperv_hcall_signal_event(in, fast);
}

uint64_t hv_tcg_hypercall_dispatch(X86CPU *cpu, uint64_t control,
                                   uint64_t in, uint64_t out)
{
    uint16_t code = control & HV_HCALL_CODE_MASK;
    bool fast = control & HV_HCALL_FAST;
    uint16_t status;

    if (control & HV_HCALL_RSVD_MASK) {
        status = HV_STATUS_INVALID_HYPERCALL_INPUT;
        goto out;
    }

    switch (code) {
    case HVCALL_POST_MESSAGE:
    case HVCALL_SIGNAL_EVENT:
        if (!hyperv_feat_enabled(cpu, HYPERV_FEAT_SYNIC)) {
            status = HV_STATUS_INVALID_HYPERCALL_CODE;
            break;
        }
        /* Simple calls: no variable header, no repetition. */
        if (HV_HCALL_VARHEAD(control) || HV_HCALL_REP_COUNT(control) ||
            HV_HCALL_REP_START(control)) {
            status = HV_STATUS_INVALID_HYPERCALL_INPUT;
            break;
        }
        /* A memory input: 8-byte aligned, within one page (TLFS 3.8). */
        if (!fast && ((in & 7) ||
                      (in & ~TARGET_PAGE_MASK) + hcall_input_size(code) >
                      TARGET_PAGE_SIZE)) {
            status = HV_STATUS_INVALID_ALIGNMENT;
            break;
        }
        status = hcall_synic(code, in, fast);
        break;
    default:
        qemu_log_mask(LOG_UNIMP, "hv: hypercall 0x%04x is not implemented\n",
                      code);
        status = HV_STATUS_INVALID_HYPERCALL_CODE;
        break;
    }

out:
    trace_hv_tcg_hypercall(hyperv_vp_index(CPU(cpu)), code, fast, in, out,
                           status);
    return status;
}

bool hv_tcg_hypercall(X86CPU *cpu)
{
    CPUX86State *env = &cpu->env;
    uint64_t control, in, out, result;

    if (!hv_tcg_active(cpu) ||
        !(hv_tcg_partition.hypercall & HV_HYPERCALL_ENABLE) ||
        (env->hflags & HF_CPL_MASK) || !(env->cr[0] & CR0_PE_MASK)) {
        return false;
    }

#ifdef TARGET_X86_64
    if (env->hflags & HF_CS64_MASK) {
        control = env->regs[R_ECX];
        in = env->regs[R_EDX];
        out = env->regs[8];
        env->regs[R_EAX] = hv_tcg_hypercall_dispatch(cpu, control, in, out);
        return true;
    }
#endif
    /* 32-bit calling convention: pairs of 32-bit registers. */
    control = (uint64_t)(uint32_t)env->regs[R_EDX] << 32 |
              (uint32_t)env->regs[R_EAX];
    in = (uint64_t)(uint32_t)env->regs[R_EBX] << 32 |
         (uint32_t)env->regs[R_ECX];
    out = (uint64_t)(uint32_t)env->regs[R_EDI] << 32 |
          (uint32_t)env->regs[R_ESI];
    result = hv_tcg_hypercall_dispatch(cpu, control, in, out);
    env->regs[R_EDX] = (uint32_t)(result >> 32);
    env->regs[R_EAX] = (uint32_t)result;
    return true;
}
