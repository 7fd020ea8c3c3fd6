"""Helpers for the Python guest tests: a small QMP client, the guest's
console lines, and the TAP report."""
import json
import socket
import sys
import time


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

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
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


def wait_line(log, text, deadline):
    while time.monotonic() < deadline:
        with open(log) as f:
            for line in f:
                if line.startswith("GUEST: " + text):
                    return line.strip()
        time.sleep(0.2)
    return None


def report(results, log):
    """Prints (ok, text) pairs as TAP, with the console's tail on failure,
    and exits with the outcome."""
    if not all(c for c, _ in results):
        with open(log) as f:
            for line in f.readlines()[-30:]:
                print("# " + line.rstrip())
    print(f"1..{len(results)}")
    for i, (cond, text) in enumerate(results, 1):
        print(f"{'ok' if cond else 'not ok'} {i} - {text}")
    sys.exit(0 if all(c for c, _ in results) else 1)
