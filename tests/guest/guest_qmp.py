"""Helpers for the Python guest tests: booting the guest kit with a test
script, a small QMP client, the guest's console lines, and the TAP
report."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

# The Hyper-V enlightenments every guest test runs with, under TCG.
HV_CPU = "qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on"

# How much slower than a plain build the emulator is: `make
# check-sanitizers` sets 3, as it gives meson's timeouts. Every deadline a
# test waits for the guest by scales with it (run-guest.sh's kill too).
SLOWDOWN = int(os.environ.get("QEMU_VMBUS_SLOWDOWN", "1"))


def deadline_after(seconds):
    """The monotonic time @seconds from now, scaled by SLOWDOWN."""
    return time.monotonic() + seconds * SLOWDOWN


class Results:
    """(ok, text) pairs, reported as TAP by report()."""
    def __init__(self):
        self.items = []

    def ok(self, cond, text):
        self.items.append((bool(cond), text))


def start_guest(top, qemu, work, guest, qemu_args, name="guest", qmp=True,
                adds=()):
    """Boots the guest kit under TCG with -cpu HV_CPU and @qemu_args; the
    guest sources @guest (shell) as its test, with the files @adds in its
    /bin. Returns the process, the console log's path and the QMP socket's
    path (None without @qmp)."""
    script = os.path.join(work, name + ".sh")
    log = os.path.join(work, name + ".log")
    sock = os.path.join(work, name + ".sock") if qmp else None
    with open(script, "w") as f:
        f.write(guest)
    open(log, "w").close()
    cmd = [os.path.join(top, "guest", "run-guest.sh"), "--qemu=" + qemu,
           "--test=" + script, "--log=" + log, "--timeout=300"]
    if qmp:
        cmd.append("--qmp=" + sock)
    cmd += ["--add=" + a for a in adds]
    proc = subprocess.Popen(cmd + ["--", "-cpu", HV_CPU] + qemu_args,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, log, sock


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rw")
        self.events = []
        self.event_msgs = []
        self.file.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, command, **args):
        self.file.write(json.dumps({"execute": command, "arguments": args}) + "\n")
        self.file.flush()
        while True:
            msg = json.loads(self.file.readline())
            if "event" in msg:
                self.events.append(msg["event"])
                self.event_msgs.append(msg)
            else:
                return msg

    def wait_event(self, name, deadline):
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        while name not in self.events:
            line = self.file.readline()
            if not line:
                return False
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg["event"])
                self.event_msgs.append(msg)
        return True

    def event(self, name):
        """The data of the first event @name seen, or None."""
        for msg in self.event_msgs:
            if msg["event"] == name:
                return msg.get("data", {})
        return None


def build_blkbench(top, work):
    """benchmarks/guest/blkbench.c, built static for the guest's /bin."""
    path = os.path.join(work, "blkbench")
    subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", path,
                    os.path.join(top, "benchmarks", "guest", "blkbench.c")],
                   check=True)
    return path


def wait_exit(proc, deadline):
    """The guest runner's exit status, or None if it is still running at
    @deadline: then it is killed, with its QEMU (a hang fails the test)."""
    try:
        return proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def wait_line(log, text, deadline):
    """The first whole console line that starts with "GUEST: " + text.
    A line without its newline is still being written (the serial port
    sends a byte at a time): taking it would cut its value short."""
    while time.monotonic() < deadline:
        with open(log) as f:
            for line in f:
                if line.startswith("GUEST: " + text) and line.endswith("\n"):
                    return line.strip()
        time.sleep(0.2)
    return None


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value(line):
    """The last word of a GUEST: line, or None."""
    return line.split()[-1] if line else None


def dmesg_clean(log):
    """True when the guest reported no dmesg line (its test script prints
    WARNING, Oops, BUG and call traces as 'GUEST: dmesg: ...')."""
    with open(log) as f:
        return "GUEST: dmesg:" not in f.read()


def report(results, log):
    """Prints Results (or (ok, text) pairs) as TAP, with the console's tail
    on failure, and exits with the outcome."""
    if isinstance(results, Results):
        results = results.items
    if not all(c for c, _ in results):
        with open(log) as f:
            for line in f.readlines()[-30:]:
                print("# " + line.rstrip())
    print(f"1..{len(results)}")
    for i, (cond, text) in enumerate(results, 1):
        print(f"{'ok' if cond else 'not ok'} {i} - {text}")
    sys.exit(0 if all(c for c, _ in results) else 1)
