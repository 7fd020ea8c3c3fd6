#!/usr/bin/env python3
"""TAP test: Debian's libvirt runs our emulator. The domain of
examples/libvirt/vmbus-tcg.xml, pointed at this checkout's emulator, the
guest kit and a scratch disk, is defined and started with virsh on
libvirt's embedded QEMU driver (no daemon; all state in a throwaway
directory). The guest kit's default tour (guest/init) must report Hyper-V
and its clocksource (from <hyperv> and the hypervclock timer), the VMBus
connection, the integration services, eth0 on hv_netvsc with an address
from the user netdev's DHCP, and sda on hv_storvsc. Libvirt must then see
the domain shut off; it is undefined, and no QEMU may be left.

    libvirt_guest.py TOP QEMU
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from libvirt_domain import SLOWDOWN, Virsh, domain_xml, xml_validate

NAME = "vmbus-libvirt-test"
HV_FLAGS = {"hv-relaxed=on", "hv-vpindex=on", "hv-synic=on", "hv-time=on"}


def said(command, stderr):
    """@command and the error lines of virsh (or unshare), without the log
    lines virsh prints."""
    errs = [l for l in stderr.splitlines()
            if l.startswith(("error:", "unshare:"))]
    return " ".join([command] + errs)


def qemu_pids(root):
    """Processes whose command line names @root: the domain's QEMU."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if root.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def wait_done(console, root, deadline):
    """Waits for the guest's "GUEST: done" line, or for its QEMU to go."""
    pidfile = os.path.join(root, "run", "qemu", NAME + ".pid")
    while time.monotonic() < deadline:
        with open(console, errors="replace") as f:
            if "GUEST: done" in f.read():
                return True
        try:
            with open(pidfile) as f:
                os.kill(int(f.read().strip()), 0)
        except (OSError, ValueError):
            return False
        time.sleep(1)
    return False


class Terminated(Exception):
    pass


def terminated(*_):
    raise Terminated()


def main():
    top, qemu = sys.argv[1], os.path.abspath(sys.argv[2])
    sys.path.insert(0, os.path.join(top, "tests", "guest"))
    from guest_qmp import Results, report

    # meson's timeout sends SIGTERM: clean up and report all the same.
    signal.signal(signal.SIGTERM, terminated)
    results = Results()
    ok = results.ok
    diag = []

    with tempfile.TemporaryDirectory(prefix="vmbus-libvirt-") as work:
        root = os.path.join(work, "root")
        console = os.path.join(work, "console.log")
        disk = os.path.join(work, "disk.img")
        xml = os.path.join(work, "domain.xml")
        open(console, "w").close()
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        kit = subprocess.check_output([os.path.join(top, "guest",
                                                    "build-kit.sh")],
                                      text=True).strip()
        with open(xml, "w") as f:
            f.write(domain_xml(top, NAME, qemu, os.path.join(kit, "vmlinuz"),
                               os.path.join(kit, "initrd.img"), disk,
                               console))
        valid, out = xml_validate(xml)
        ok(valid, "the domain XML passes libvirt's schema")
        if not valid:
            diag.append(out)

        virsh = Virsh(root, os.path.join(work, "home"))
        start = time.monotonic()
        log = ""
        try:
            defined, _, err = virsh("define", xml)
            ok(defined, said("virsh define", err))
            started, _, err = virsh("start", NAME)
            ok(started, said("virsh start", err))
            done = started and wait_done(console, root,
                                         time.monotonic() + 300 * SLOWDOWN)
            ok(done, f"the guest runs its tour ({time.monotonic() - start:.0f}s"
               " from define)")

            qlog = os.path.join(root, "log", "qemu", NAME + ".log")
            if os.path.exists(qlog):
                with open(qlog, errors="replace") as f:
                    log = f.read()
            ok(re.search(r"qemu version: \S+qemu-vmbus", log) and
               re.search(rf"^{re.escape(qemu)} \\$", log, re.M),
               "libvirt runs our emulator")
            cpu = re.search(r"^-cpu (\S+)", log, re.M)
            flags = set(cpu.group(1).split(",")) if cpu else set()
            ok(HV_FLAGS <= flags, "<hyperv> and hypervclock give -cpu "
               f"{cpu.group(1) if cpu else '(none)'}")

            with open(console, errors="replace") as f:
                text = f.read()
            for pattern, what in (
                    (r"Hypervisor detected: Microsoft Hyper-V",
                     "the guest detects Hyper-V"),
                    (r"GUEST: clocksource hyperv_clocksource_tsc_page",
                     "and uses its clocksource"),
                    (r"GUEST: Vmbus version:5\.3",
                     "hv_vmbus connects at VMBus 5.3"),
                    (r"GUEST: hv_utils: Heartbeat IC version",
                     "hv_utils negotiates the heartbeat"),
                    (r"GUEST: hv_utils: Shutdown IC version",
                     "and shutdown"),
                    (r"GUEST: hv_utils: TimeSync IC version",
                     "and time sync"),
                    (r"GUEST: hv_netvsc: eth0 \S+ 10\.0\.2\.15/24",
                     "hv_netvsc's eth0 gets 10.0.2.15 by DHCP"),
                    (r"GUEST: hv_netvsc: ping 10\.0\.2\.2: 3 packets",
                     "and pings the gateway"),
                    (r"GUEST: hv_storvsc: sda QEMU +QEMU HARDDISK +64 MiB",
                     "hv_storvsc finds the 64 MiB disk as sda"),
                    (r"GUEST: hv_storvsc: sda: .* read back equal",
                     "and reads back what it wrote"),
                    (r"GUEST: done rc=0", "the tour ends with rc=0")):
                ok(re.search(pattern, text), what)

            # The guest powered off while no virsh ran: its QEMU waits,
            # stopped, until a connection reconnects to it and applies
            # <on_poweroff>. One virsh waits for that (the next lifecycle
            # event, or 20s if it came first), then asks for the state.
            state = ""
            since = time.monotonic()
            while done and state != "shut off" and \
                    time.monotonic() < since + 60 * SLOWDOWN:
                _, out, _ = virsh(f"event --domain {NAME} --event lifecycle "
                                  f"--timeout 20; domstate {NAME}")
                state = out.splitlines()[-1] if out else ""
            ok(done and state == "shut off", "libvirt sees the domain shut "
               f"off ({state or 'no answer'}, "
               f"{time.monotonic() - since:.0f}s)")
        except Terminated:
            ok(False, "the test was terminated")
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            virsh("destroy", NAME)
            undefined, _, err = virsh("undefine", NAME)
            _, names, _ = virsh("list", "--all", "--name")
            ok(undefined and not names, said("virsh undefine", err))
            left = qemu_pids(root)
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ok(not left, f"no QEMU left ({left})")
            for d in diag:
                for line in d.splitlines():
                    print("# " + line)
            if not all(c for c, _ in results.items) and log:
                for line in log.splitlines()[-15:]:
                    print("# qemu log: " + line)
        report(results, console)


if __name__ == "__main__":
    main()
