#!/usr/bin/env python3
"""TAP test: a VMBus device added with device_add while Debian's guest runs
appears in the guest's /sys/bus/vmbus/devices; device_del makes it go away
(RESCIND_CHANNELOFFER, the guest's RELID_RELEASED, DEVICE_DELETED).

    vmbus_hotplug.py TOP QEMU
"""
import sys
import tempfile

from guest_qmp import (Qmp, Results, deadline_after, report, start_guest,
                       wait_exit, wait_line)

INSTANCE = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
# Added once DEVICE_DELETED came: the guest's cue that it may power off
# (Linux drops the sysfs entry before it sends RELID_RELEASED).
GO = "99999999-bbbb-4ccc-8ddd-eeeeeeeeeeee"
CLASS = "{7b1c4cf0-5f2b-4a89-9d3e-5e1f0c3a9b24}"
GUEST = f"""
load_hv_modules hv_vmbus
dev=/sys/bus/vmbus/devices/{INSTANCE}
# 6.1's hv_vmbus returns before its work queue has registered the offered
# devices: wait for the cold-plugged one, then count.
i=0
while [ -z "$(ls /sys/bus/vmbus/devices)" ] && [ $i -lt 1200 ]; do
    sleep 0.1; i=$((i + 1))
done
say "ready $(ls /sys/bus/vmbus/devices | wc -l)"
i=0
while [ ! -e $dev ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $dev ] && say "added $(cat $dev/class_id) relid $(cat $dev/id)"
i=0
while [ -e $dev ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $dev ] || say "removed, left $(ls /sys/bus/vmbus/devices | wc -l)"
i=0
while [ ! -e /sys/bus/vmbus/devices/{GO} ] && [ $i -lt 1200 ]; do
    sleep 0.1; i=$((i + 1))
done
"""


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        proc, log, sock = start_guest(top, qemu, work, GUEST,
                                      ["-device", "vmbus-bridge",
                                       "-device", "vmbus-testdev"])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            ready = wait_line(log, "ready", deadline)
            ok(ready and ready.endswith("ready 1"),
               "the guest connected and sees the cold-plugged device")
            rsp = qmp.cmd("device_add", driver="vmbus-testdev", id="hp",
                          instanceid=INSTANCE)
            ok("return" in rsp, "device_add vmbus-testdev while the guest runs")
            added = wait_line(log, "added", deadline)
            ok(added and CLASS in added and added.endswith("relid 2"),
               "the guest sees the new device, its class GUID and relid 2")
            rsp = qmp.cmd("device_del", id="hp")
            ok("return" in rsp, "device_del")
            ok(qmp.wait_event("DEVICE_DELETED", deadline),
               "DEVICE_DELETED once the guest released the channel")
            removed = wait_line(log, "removed", deadline)
            ok(removed and removed.endswith("left 1"),
               "the device is gone from the guest; the other stays")
            qmp.cmd("device_add", driver="vmbus-testdev", id="go",
                    instanceid=GO)
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        ok(rc == 0, "the guest powers off cleanly")
        report(results, log)


if __name__ == "__main__":
    main()
