#!/usr/bin/env python3
"""TAP test: a Debian guest using hv-net and hv-scsi migrates while it
pings its gateway and writes, reads back and compares its disk. The
destination carries on where the source stopped: every step before and
after succeeds, the network keeps its address, and the data the guest
wrote is in the image.

    vmbus_migrate.py TOP QEMU
"""
import hashlib
import os
import sys
import tempfile

from guest_qmp import (Qmp, Results, deadline_after, dmesg_clean, free_port,
                       report, start_guest, wait_exit, wait_line)

STEPS = 40

GUEST = f"""
load_hv_modules hv_vmbus hv_netvsc hv_storvsc sd_mod hv_utils
i=0
while {{ [ ! -e /sys/class/net/eth0 ] || [ ! -b /dev/sda ]; }} &&
      [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
dhcp_up eth0
dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
say "ready"
bad=0
for step in $(seq 1 {STEPS}); do
    ping -c 1 -W 5 10.0.2.2 >/dev/null 2>&1 || bad=$((bad + 1))
    dd if=/tmp/pattern of=/dev/sda bs=64k seek=$((step * 16)) count=16 \\
        oflag=direct 2>/dev/null
    dd if=/dev/sda of=/tmp/back bs=64k skip=$((step * 16)) count=16 \\
        iflag=direct 2>/dev/null
    cmp -s /tmp/pattern /tmp/back || bad=$((bad + 1))
    say "step $step failures $bad"
done
say "address $(ip -4 -o addr show eth0 | awk '{{print $4}}')"
say "pattern $(md5sum < /tmp/pattern | cut -c1-32)"
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace' | sed 's/^/GUEST: dmesg: /'
"""



def steps(log):
    with open(log) as f:
        # Whole lines only: the serial port may be halfway through one.
        return [line.split() for line in f
                if line.startswith("GUEST: step") and line.endswith("\n")]


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        disk = os.path.join(work, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        # The image is shared, as on shared storage: no lock between them.
        args = ["-device", "vmbus-bridge", "-device", "hv-heartbeat",
                "-netdev", "user,id=n0", "-device", "hv-net,netdev=n0",
                "-device", "hv-scsi,id=scsi",
                "-drive", f"if=none,id=d0,format=raw,file.filename={disk},"
                          "file.locking=off,cache=none,aio=threads",
                "-device", "scsi-hd,bus=scsi.0,drive=d0"]
        port = free_port()
        src, src_log, src_sock = start_guest(top, qemu, work, GUEST, args,
                                             name="src")
        dst, dst_log, dst_sock = start_guest(
            top, qemu, work, GUEST,
            args + ["-incoming", f"tcp:127.0.0.1:{port}"], name="dst")
        deadline = deadline_after(280)
        try:
            sq = Qmp(src_sock, deadline)
            dq = Qmp(dst_sock, deadline)
            ok(wait_line(src_log, "ready", deadline),
               "the guest has its address and its disk")
            wait_line(src_log, "step 5 ", deadline)
            rsp = sq.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
            ok("return" in rsp, "migrate while the guest works")
            ok(dq.wait_event("RESUME", deadline),
               "the destination runs the guest")
            sq.cmd("quit")
            before = steps(src_log)
            ok(len(before) >= 5 and before[-1][-1] == "0",
               f"{len(before)} steps on the source, none failed")
            last = wait_line(dst_log, "pattern", deadline)
            after = steps(dst_log)
            ok(after and int(after[0][2]) <= len(before) + 1 and
               after[-1][2] == str(STEPS) and after[-1][-1] == "0",
               f"the destination carries on to step {STEPS}, none failed "
               f"({len(after)} steps there)")
            addr = wait_line(dst_log, "address", deadline)
            ok(addr and addr.endswith("10.0.2.15/24"),
               "eth0 keeps its address")
            want = last.split()[-1] if last else None

            with open(disk, "rb") as f:
                f.seek(STEPS * 16 * 65536)
                got = hashlib.md5(f.read(16 * 65536)).hexdigest()
            ok(want == got, "the last block written is in the image")
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guests: {e!r}")
        rc = wait_exit(dst, deadline)
        wait_exit(src, deadline_after(5))
        ok(rc == 0, "the destination powers off cleanly")
        ok(dmesg_clean(dst_log),
           "no warning or oops in dmesg")
        report(results, dst_log)


if __name__ == "__main__":
    main()
