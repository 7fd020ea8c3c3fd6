#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/qtest/fuzz/corpus/TARGET/)
and their libFuzzer dictionaries (tests/qtest/fuzz/dict/TARGET.dict).

Each seed is an input in vmbus-fuzz.c's encoding: a session a real guest
could have, so that the fuzzer mutates from deep states rather than from
nothing. Run it again after changing the encoding; its output is committed.
"""
import os
import struct
import sys

POST, SIGNAL, SEND, RING, MEM, DRAIN, RUN, GPADL, MSR, HCALL = range(10)
DEV = 10            # the first device op

u8 = lambda v: struct.pack('<B', v & 0xff)
u16 = lambda v: struct.pack('<H', v & 0xffff)
u32 = lambda v: struct.pack('<I', v & 0xffffffff)
u64 = lambda v: struct.pack('<Q', v & 0xffffffffffffffff)

PAGE = 4096
DATA_GPA = 0x3800000
INBAND, GPA_DIRECT, COMP = 0, 1, 2      # op_send's type selectors (<< 3)


def post(msgtype, body, conn=None):
    """A channel-manager message: type, 4 bytes of padding, then body."""
    payload = u32(msgtype) + u32(0) + body
    sel = 0x80 if conn is not None else 0
    return (u8(POST) + u8(sel) + (u32(conn) if conn is not None else b'') +
            u8(len(payload)) + payload)


def send(data, chan=0, kind=INBAND, flags=1, ext=b''):
    return (u8(SEND) + u8(chan | kind << 3) + u8(flags) + u8(len(ext)) +
            ext + u16(len(data)) + data)


def mem(off, data):
    return u8(MEM) + u32(off) + u16(len(data)) + data


def drain(fail=False):
    return u8(DRAIN) + u8(1 if fail else 0)


def run(ms):
    return u8(RUN) + u8(ms)


def gpadl(gpadl_id, npages, first, chan=0):
    return u8(GPADL) + u8(chan) + u32(gpadl_id) + u8(npages - 1) + u8(first)


def wrmsr(vp, index, value):
    return u8(MSR) + u8(0x80 | vp) + u8(index) + u64(value)


def rdmsr(vp, index):
    return u8(MSR) + u8(vp) + u8(index)


def hcall(vp, control, data):
    return u8(HCALL) + u8(vp) + u64(control) + u8(len(data)) + data


def partition():
    # hv_msrs[] indices in vmbus-fuzz.c
    hypercall, ref_tsc, scontrol, siefp, simp, eom, sint0 = 1, 6, 13, 15, \
        16, 17, 18
    yield 'msrs-read', b''.join(rdmsr(vp, i) for vp in (0, 1)
                                for i in range(28))
    yield 'synic-move', (wrmsr(1, simp, 0x600000 | 1) +
                         wrmsr(1, siefp, 0x601000 | 1) +
                         wrmsr(1, sint0, 0x30) + wrmsr(1, scontrol, 1) +
                         hcall(1, 0x5c, u32(4) + u32(0) + u32(1) + u32(8) +
                               bytes(8)) + run(1) + drain())
    yield 'post-and-eom', (hcall(0, 0x5c, u32(4) + u32(0) + u32(1) +
                                 u32(32) + bytes(32)) + drain() +
                           wrmsr(0, eom, 0) + run(2))
    yield 'signal-fast', hcall(0, 0x5d | 1 << 16, b'') + run(1)
    yield 'ref-tsc', (wrmsr(0, ref_tsc, 0x700000 | 1) + rdmsr(0, 5) +
                      wrmsr(0, hypercall, 0) + hcall(0, 0x5c, bytes(16)))


def channel_manager():
    yield 'request-offers', post(3, b'') + run(1) + drain()
    # A GPADL over 4 data pages, opened on the second offer, then closed.
    open_body = u32(2) + u32(2) + u32(0xabc) + u32(0) + u32(2) + bytes(120)
    yield 'gpadl-open-close', (gpadl(0xabc, 4, 0, chan=0x80) + u32(2) +
                               drain() + post(5, open_body) + drain() +
                               post(7, u32(2)) + post(11, u32(2) +
                                                      u32(0xabc)) + drain())
    yield 'teardown-open', post(11, u32(1) + u32(0xf000)) + drain() + run(1)
    yield 'unload', post(16, b'') + drain() + run(1)
    contact = u32(0x50003) + u32(0) + u64(0) + u64(0) + u64(0)
    yield 'contact-again', post(14, contact) + drain()
    yield 'modify', post(22, u32(1) + u32(1)) + drain()


def ring():
    yield 'echo', send(b'\x01' * 24) + run(1) + drain()
    yield 'echo-many', b''.join(send(bytes([i]) * (8 * i + 8))
                                for i in range(16)) + drain()
    # The guest->host write index moved past the data (raw ring write).
    yield 'bad-index', (u8(RING) + u8(0x80) + u16(0) + u8(4) + u32(0xff8) +
                        drain())
    yield 'pending-size', (u8(RING) + u8(0x80) + u16(3 * PAGE + 12) + u8(4) +
                           u32(0x800) + send(bytes(64)) + drain())


def ic():
    # hv-ic-fuzz.c's ops: NEGOTIATE (sel, fw index, version index), ANSWER
    # (sel), HOST (sel, then the request's operands).
    def negotiate(chan, fw=0, ver=0):
        return u8(DEV) + u8(chan) + u8(fw) + u8(ver)

    def answer(chan):
        return u8(DEV + 1) + u8(chan)

    def string(s):
        return u16(len(s)) + s

    def kvp(op, pool, key=b'', value=b''):
        return u8(DEV + 2) + u8(0) + u8(op) + u8(pool) + string(key) + \
            string(value)

    ready = drain() + run(5) + drain() + \
        b''.join(negotiate(c) for c in range(4)) + run(5) + drain()
    answer_all = drain() + b''.join(answer(c) for c in range(4)) + run(5)
    for chan in range(4):
        yield f'negotiate-{chan}', (run(5) + drain() + negotiate(chan) +
                                    run(5) + drain())
    yield 'negotiate-old', (run(5) + drain() +
                            b''.join(negotiate(c, 1, 1) for c in range(4)) +
                            run(5) + drain())
    yield 'timers', ready + run(200) + answer_all + run(200) + answer_all
    yield 'kvp-enumerate', ready + kvp(3, 0) + run(5) + answer_all
    yield 'kvp-set', ready + kvp(1, 1, b'key', b'value') + run(5) + answer_all
    yield 'kvp-get', ready + kvp(0, 1, b'key') + run(5) + answer_all
    yield 'shutdown', (ready + u8(DEV + 2) + u8(0x40) + u32(5) + u32(30) +
                       string(b'bye') + run(5) + answer_all)
    yield 'heartbeat-query', ready + u8(DEV + 2) + u8(2) + run(100)


def rndis(msgtype, body):
    return u32(msgtype) + u32(8 + len(body)) + body


def net():
    query = rndis(4, u32(7) + u32(0x00010101) + u32(0) + u32(20) + u32(0))
    yield 'query-section', (u8(DEV) + u8(1) + u16(3) + u16(len(query)) +
                            query + drain())
    filt = rndis(5, u32(8) + u32(0x0001010e) + u32(4) + u32(20) + u32(0) +
                 u32(0x2f))
    yield 'set-filter-gpa', (u8(DEV + 1) + u8(1) + u16(100) +
                             u16(len(filt)) + filt + drain())
    # An ARP request to the gateway, with a checksum PPI, through a section.
    frame = (b'\xff' * 6 + b'\x52\x54\x00\x12\x34\x56' + b'\x08\x06' +
             bytes.fromhex('0001080006040001525400123456') +
             bytes([10, 0, 2, 15]) + bytes(6) + bytes([10, 0, 2, 2]))
    ppi = u32(16) + u32(0) + u32(12) + u32(0)
    pkt = (u32(1) + u32(44 + len(ppi) + len(frame)) + u32(36 + len(ppi)) +
           u32(len(frame)) + u32(0) + u32(0) + u32(0) + u32(36) +
           u32(len(ppi)) + u32(0) + u32(0) + ppi + frame)
    yield 'arp-section', (u8(DEV) + u8(0) + u16(0) + u16(len(pkt)) + pkt +
                          run(2) + drain() + run(2) + drain())
    yield 'arp-gpa', (u8(DEV + 1) + u8(0) + u16(0x1f80) + u16(len(pkt)) +
                      pkt + run(2) + drain())
    yield 'keepalive-reset', (u8(DEV) + u8(1) + u16(1) + u16(12) +
                              rndis(8, u32(9)) + u8(DEV) + u8(1) + u16(2) +
                              u16(12) + rndis(6, u32(0)) + drain())
    yield 'revoke', (u8(DEV + 2) + u8(5) + u16(0xcafe) + bytes(34) +
                     u8(DEV + 2) + u8(3) + u16(0xcafe) + bytes(34) + drain())
    yield 'subchannels', (u8(DEV + 2) + u8(10) + u32(1) + u32(4) +
                          bytes(28) + drain() + run(1) + drain())


def srb(cdb, lun=0, data_in=1, xfer=0):
    pkt = bytearray(64)
    struct.pack_into('<I', pkt, 0, 3)               # EXECUTE_SRB
    struct.pack_into('<H', pkt, 12, 0x34)
    pkt[16], pkt[19], pkt[20], pkt[21], pkt[22] = 2, lun, len(cdb), 20, \
        data_in
    struct.pack_into('<I', pkt, 24, xfer)
    pkt[28:28 + len(cdb)] = cdb
    struct.pack_into('<II', pkt, 52, 0x8 | (0x40 if data_in == 1 else 0x80)
                     if data_in != 2 else 0x8, 60)
    return bytes(pkt)


def scsi_range(pkt, count, off, pages):
    return (u8(DEV) + u8(1) + pkt + u32(count) + u16(off) + u8(len(pages)) +
            bytes(pages))


def scsi():
    inq = bytes([0x12, 0, 0, 0, 36, 0])
    yield 'inquiry', scsi_range(srb(inq, xfer=36), 36, 0, [0]) + drain()
    yield 'inquiry-cd', scsi_range(srb(inq, lun=1, xfer=36), 36, 8,
                                   [1]) + drain()
    read10 = bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 16, 0])
    yield 'read10', scsi_range(srb(read10, xfer=8192), 8192, 0,
                               [2, 3, 4]) + drain()
    write10 = bytes([0x2a, 0, 0, 0, 0, 9, 0, 0, 8, 0])
    yield 'write10', (mem(0, bytes(range(256)) * 16) +
                      scsi_range(srb(write10, data_in=0, xfer=4096), 4096,
                                 0, [0]) + drain())
    luns = bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    yield 'report-luns', scsi_range(srb(luns, xfer=256), 256, 0,
                                    [5]) + drain()
    tur = bytes(6)
    yield 'tur-inband', u8(DEV) + u8(0) + srb(tur, data_in=2) + drain()
    # QUERY_PROPERTIES and CREATE_SUB_CHANNELS as plain packets.
    yield 'subchannels', (send(u32(6) + bytes(60)) +
                          send(u32(13) + u32(0) + u32(0) + u16(2) +
                               bytes(50)) + drain() + run(1))


TARGETS = {
    'vmbus-hv-partition': partition,
    'vmbus-msg': channel_manager,
    'vmbus-ring': ring,
    'vmbus-hv-ic': ic,
    'vmbus-hv-net': net,
    'vmbus-hv-scsi': scsi,
}


def le32(v):
    return struct.pack('<I', v & 0xffffffff)


def le64(v):
    return struct.pack('<Q', v)


OIDS = (0x00010101, 0x00010102, 0x00010103, 0x00010104, 0x00010106,
        0x00010107, 0x0001010e, 0x00010114, 0x00010116, 0x00010202,
        0x00010203, 0x00010204, 0x0001021b, 0x00020101, 0x00020102,
        0x00020103, 0x00020104, 0x00020216, 0x01010101, 0x01010102,
        0x01010103, 0xfc01020c, 0xfc01020d)
CDB_OPS = (0x00, 0x03, 0x08, 0x0a, 0x12, 0x1a, 0x25, 0x28, 0x2a, 0x2f, 0x35,
           0x42, 0x43, 0x55, 0x5a, 0x88, 0x8a, 0x93, 0x9e, 0xa0, 0xbe)

DICTS = {
    'vmbus-hv-partition': [le64(0x600001), le64(0x601001), le64(0x5c),
                           le64(0x1005d), le64(0x100000005c), le64(0x50),
                           le64(0x10000), le64(0x20000), le64(0x40000),
                           le32(4), le32(2), le64(0x700001)],
    'vmbus-msg': [le32(i) for i in range(1, 25)] +
                 [le32(v) for v in (0x50003, 0x40000, 0x30000, 0x20004,
                                    0x10001, 13, 0xabc, 0x4000)],
    'vmbus-ring': [le32(v) for v in (0x1ff8, 0x2000, 0x30006, 9, 0xb, 7)],
    'vmbus-hv-ic': [struct.pack('<H', i) for i in range(5)] +
                   [b'\x05', le32(0x80004005), le32(0x80070103)] +
                   [le32(v) for v in (1, 3, 4, 5, 0x10003, 0x20003)],
    'vmbus-hv-net': [le32(o) for o in OIDS] +
                    [le32(i) for i in range(1, 9)] +
                    [le32(i) for i in (1, 100, 101, 103, 104, 106, 107, 108,
                                       125, 129, 133)] +
                    [le32(0x80000002), le32(0x60001), le32(0xffffffff),
                     b'\x08\x00', b'\x86\xdd', b'\x81\x00'],
    'vmbus-hv-scsi': [bytes([o]) for o in CDB_OPS] +
                     [le32(i) for i in range(1, 14)] +
                     [le32(v) for v in (0x34, 0x602, 0x200000, 0x1000)],
}


def write_dict(path, target, words):
    with open(path, 'w') as f:
        f.write(f'# libFuzzer dictionary for {target}: protocol words\n')
        for i, w in enumerate(words):
            esc = ''.join(f'\\x{b:02x}' for b in w)
            f.write(f'w{i}="{esc}"\n')


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    for target, seeds in TARGETS.items():
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
    dicts = os.path.join(os.path.dirname(top), 'dict')
    os.makedirs(dicts, exist_ok=True)
    for target, words in DICTS.items():
        write_dict(os.path.join(dicts, target + '.dict'), target, words)
    return 0


if __name__ == '__main__':
    sys.exit(main())
