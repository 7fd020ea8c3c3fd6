#!/usr/bin/env python3
"""TAP test: hv-net and hv-scsi added with device_add while Debian's guest
runs: eth0 appears, gets an address and pings; the disk appears and reads.
device_del takes both away again (the guest closes their channels, then
DEVICE_DELETED), the disk before its controller (a controller with disks
is refused), and the guest goes on running.

    hv_hotplug_devices.py TOP QEMU
"""
import hashlib
import os
import sys
import tempfile

from guest_qmp import (Qmp, Results, deadline_after, dmesg_clean, report,
                       start_guest, wait_exit, wait_line)

GUEST = """
load_hv_modules hv_vmbus hv_netvsc hv_storvsc sd_mod
wait_for() {
    i=0
    while [ "$@" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
}
say "ready"
wait_for ! -e /sys/class/net/eth0
dhcp_up eth0
say "nic $(ip -4 -o addr show eth0 | awk '{print $4}')" \\
    "$(ping -c 2 -W 5 10.0.2.2 | grep -o '[0-9]* packets received')"
wait_for ! -b /dev/sda
# /dev/sda appears before sd_probe() is done with it: a read that early
# can come back empty. Read until the block is there.
i=0
until dd if=/dev/sda of=/tmp/block bs=4k count=1 iflag=direct 2>/dev/null &&
      [ "$(wc -c < /tmp/block)" = 4096 ] || [ $i -ge 300 ]; do
    sleep 0.1; i=$((i + 1))
done
say "disk $(md5sum < /tmp/block | cut -c1-32)"
wait_for -e /sys/class/net/eth0
say "nic gone"
wait_for -b /dev/sda
# sda goes before sd_remove()'s SYNCHRONIZE CACHE, which the host fails
# (INVALID_LUN: the disk is gone). storvsc_remove() destroys the workqueue
# that such an error queues work on before it removes the SCSI host, so a
# controller unplugged while that command is out makes the guest warn in
# __queue_work(). The target goes once sd_remove() is done.
i=0
while ls /sys/bus/scsi/devices | grep -qv '^host' && [ $i -lt 1200 ]; do
    sleep 0.1; i=$((i + 1))
done
say "disk gone"
i=0
while [ -n "$(ls /sys/bus/vmbus/devices)" ] && [ $i -lt 1200 ]; do
    sleep 0.1; i=$((i + 1))
done
say "vmbus devices left $(ls /sys/bus/vmbus/devices | wc -l)"
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace' | sed 's/^/GUEST: dmesg: /'
"""


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        disk = os.path.join(work, "disk.img")
        with open(disk, "wb") as f:
            f.write(b"\xa5" * 4096)
            f.truncate(16 << 20)
        proc, log, sock = start_guest(
            top, qemu, work, GUEST,
            ["-device", "vmbus-bridge", "-netdev", "user,id=n0",
             "-drive", f"if=none,id=d0,file={disk},format=raw"])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            ok(wait_line(log, "ready", deadline), "the guest connected")
            rsp = qmp.cmd("device_add", driver="hv-net", id="nic",
                          netdev="n0")
            ok("return" in rsp, "device_add hv-net")
            nic = wait_line(log, "nic", deadline)
            ok(nic and "10.0.2.15/24 2 packets received" in nic,
               f"eth0 appears, gets its address and pings ({nic})")
            rsp = qmp.cmd("device_add", driver="hv-scsi", id="scsi")
            ok("return" in rsp, "device_add hv-scsi")
            rsp = qmp.cmd("device_add", driver="scsi-hd", id="hd",
                          bus="scsi.0", drive="d0")
            ok("return" in rsp, "device_add scsi-hd on it")
            line = wait_line(log, "disk", deadline)
            want = hashlib.md5(b"\xa5" * 4096).hexdigest()
            ok(line and line.endswith(want), f"sda appears and reads ({line})")
            ok("return" in qmp.cmd("device_del", id="nic"), "device_del nic")
            ok(qmp.wait_event("DEVICE_DELETED", deadline), "DEVICE_DELETED")
            ok(wait_line(log, "nic gone", deadline), "eth0 is gone")
            rsp = qmp.cmd("device_del", id="scsi")
            ok("error" in rsp and "remove its SCSI devices" in
               rsp["error"]["desc"],
               "device_del of the controller while it has a disk is refused")
            qmp.events.clear()
            ok("return" in qmp.cmd("device_del", id="hd"),
               "device_del the disk")
            ok(wait_line(log, "disk gone", deadline), "sda is gone")
            qmp.events.clear()
            ok("return" in qmp.cmd("device_del", id="scsi"),
               "device_del the controller")
            ok(qmp.wait_event("DEVICE_DELETED", deadline), "DEVICE_DELETED")
            left = wait_line(log, "vmbus devices left", deadline)
            ok(left and left.endswith(" 0"), f"no VMBus device left ({left})")
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        ok(rc == 0, "the guest powers off cleanly")
        ok(dmesg_clean(log),
           "no warning or oops in dmesg")
        report(results, log)


if __name__ == "__main__":
    main()
