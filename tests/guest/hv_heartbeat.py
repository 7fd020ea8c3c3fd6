#!/usr/bin/env python3
"""TAP test: Debian's hv_utils binds hv-heartbeat and answers it; the
counter in query-vmbus-heartbeat advances; rmmod closes the channel and
modprobe opens and negotiates it again.

    hv_heartbeat.py TOP QEMU
"""
import sys
import tempfile
import time

from guest_qmp import (Qmp, Results, deadline_after, report, start_guest,
                       wait_exit, wait_line)

# vmbus-testdev instances the host adds as cues for the guest's next step.
CUE = "99999999-bbbb-4ccc-8ddd-00000000000%d"
GUEST = f"""
wait_dev() {{
    i=0
    while [ ! -e /sys/bus/vmbus/devices/$1 ] && [ $i -lt 1500 ]; do
        sleep 0.1; i=$((i + 1))
    done
}}
wait_hb() {{
    i=0
    while [ "$(dmesg | grep -c 'Heartbeat IC version')" -lt $1 ] &&
          [ $i -lt 600 ]; do
        sleep 0.1; i=$((i + 1))
    done
}}
load_hv_modules hv_vmbus hv_utils
wait_hb 1
say "$(dmesg | grep -o 'Heartbeat IC version.*' | head -n 1)"
say "ready"
wait_dev {CUE % 1}
rmmod hv_utils && say "utils unloaded"
wait_dev {CUE % 2}
load_hv_modules hv_utils
wait_hb 2
say "utils loaded again"
wait_dev {CUE % 3}
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace|hv_utils.*(fail|error)' |
    sed 's/^/GUEST: dmesg: /'
"""


def heartbeat(qmp):
    rsp = qmp.cmd("query-vmbus-heartbeat")
    return rsp["return"][0]


def wait_for(qmp, cond, deadline):
    """Polls the heartbeat query until cond(info) holds; the last info."""
    while True:
        info = heartbeat(qmp)
        if cond(info) or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        proc, log, sock = start_guest(top, qemu, work, GUEST,
                                      ["-device", "vmbus-bridge", "-device",
                                       "hv-heartbeat,id=hb,interval=200"])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            ok(wait_line(log, "ready", deadline), "hv_utils loaded")
            ok(wait_line(log, "Heartbeat IC version 3.0", deadline),
               "hv_utils negotiated heartbeat 3.0")
            info = wait_for(qmp, lambda i: i["answers"] >= 3, deadline)
            ok(info["state"] == "alive" and info["version"] == 0x30000,
               f"query-vmbus-heartbeat: alive at 3.0 ({info})")
            first = info["answers"]
            info = wait_for(qmp, lambda i: i["answers"] > first, deadline)
            ok(info["answers"] > first and info["sequence"] >= first,
               "the guest keeps answering: the counter advances")

            qmp.cmd("device_add", driver="vmbus-testdev", instanceid=CUE % 1)
            ok(wait_line(log, "utils unloaded", deadline), "rmmod hv_utils")
            info = wait_for(qmp, lambda i: i["state"] == "closed", deadline)
            ok(info["state"] == "closed", "the channel closed with it")

            qmp.cmd("device_add", driver="vmbus-testdev", instanceid=CUE % 2)
            ok(wait_line(log, "utils loaded again", deadline),
               "hv_utils loaded again")
            before = info["answers"]
            info = wait_for(qmp, lambda i: i["state"] == "alive" and
                            i["answers"] > before + 2, deadline)
            ok(info["state"] == "alive" and info["answers"] > before + 2,
               "negotiated again, answers go on")
            ok("VMBUS_HEARTBEAT_LOST" not in qmp.events,
               "no VMBUS_HEARTBEAT_LOST while the guest answered")
            qmp.cmd("device_add", driver="vmbus-testdev", instanceid=CUE % 3)
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        ok(rc == 0, "the guest powers off cleanly")
        with open(log) as f:
            bad = [line for line in f if line.startswith("GUEST: dmesg:")]
        ok(not bad, "no warning, oops or hv_utils error in dmesg")
        report(results, log)


if __name__ == "__main__":
    main()
