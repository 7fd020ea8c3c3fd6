#!/usr/bin/env python3
"""TAP test: Debian's hv_utils binds hv-shutdown; vmbus-shutdown-guest
powers the guest off or reboots it, and with powerdown=on so does
system_powerdown (the kit's init ignores ACPI's power button, so only
the integration service can do it).

    hv_shutdown.py TOP QEMU
"""
import sys
import tempfile
import time

from guest_qmp import (Qmp, Results, deadline_after, report, start_guest,
                       wait_exit, wait_line)

# The guest waits for the service, then for as long as the test may take:
# only the host's request ends it ("GUEST: done" never comes).
GUEST = """
load_hv_modules hv_vmbus hv_utils
i=0
while ! dmesg | grep -q 'Shutdown IC version' && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
say "$(dmesg | grep -o 'Shutdown IC version.*' | head -n 1)"
say "ready"
sleep 600
"""

def boot(top, qemu, work, name, device, action, ok):
    """Boots with @device, runs @action(qmp) once the guest is ready, and
    reports how the guest ended."""
    proc, log, sock = start_guest(top, qemu, work, GUEST,
                                  ["-device", "vmbus-bridge",
                                   "-device", device], name=name)
    deadline = deadline_after(280)
    qmp = None
    try:
        qmp = Qmp(sock, deadline)
        ok(wait_line(log, "Shutdown IC version 3.2", deadline),
           f"{name}: hv_utils negotiated shutdown 3.2")
        ok(wait_line(log, "ready", deadline), f"{name}: the guest is ready")
        action(qmp)
        ok(qmp.wait_event("SHUTDOWN", deadline), f"{name}: QEMU shuts down")
    except Exception as e:  # a hang or a dead QEMU fails the test
        ok(False, f"{name}: driving the guest: {e!r}")
    rc = wait_exit(proc, deadline)
    ok(rc == 3, f"{name}: QEMU exits cleanly, before the guest's script")
    ok(not wait_line(log, "done", time.monotonic() + 0.5),
       f"{name}: the guest's own script did not end it")
    return qmp, log


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        def poweroff(qmp):
            rsp = qmp.cmd("vmbus-shutdown-guest", force=True,
                          message="qemu-vmbus test")
            ok("return" in rsp, f"poweroff: vmbus-shutdown-guest ({rsp})")

        qmp, log = boot(top, qemu, work, "poweroff", "hv-shutdown,id=sd",
                        poweroff, ok)
        ans = qmp and qmp.event("VMBUS_SHUTDOWN_ANSWERED")
        ok(ans and ans["accepted"] and ans["id"] == "sd",
           f"poweroff: the guest accepted ({ans})")
        sd = qmp and qmp.event("SHUTDOWN")
        ok(sd and sd["guest"] and sd["reason"] == "guest-shutdown",
           f"poweroff: the guest powered off ({sd})")

        def reboot(qmp):
            rsp = qmp.cmd("vmbus-shutdown-guest", id="sd", reboot=True)
            ok("return" in rsp, f"reboot: vmbus-shutdown-guest ({rsp})")

        qmp, log = boot(top, qemu, work, "reboot", "hv-shutdown,id=sd",
                        reboot, ok)
        sd = qmp and qmp.event("SHUTDOWN")
        ok(sd and sd["reason"] == "guest-reset",
           f"reboot: the guest rebooted (-no-reboot ends QEMU) ({sd})")

        def powerdown(qmp):
            rsp = qmp.cmd("system_powerdown")
            ok("return" in rsp, "powerdown: system_powerdown")

        qmp, log = boot(top, qemu, work, "powerdown",
                        "hv-shutdown,id=sd,powerdown=on", powerdown, ok)
        sd = qmp and qmp.event("SHUTDOWN")
        ok(sd and sd["reason"] == "guest-shutdown",
           f"powerdown: the guest powered off through hv_utils ({sd})")
        report(results, log)


if __name__ == "__main__":
    main()
