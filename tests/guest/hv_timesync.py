#!/usr/bin/env python3
"""TAP test: a guest booted with its clock an hour behind (-rtc base) has
it set right by hv-timesync once Debian's hv_utils binds the service.

    hv_timesync.py TOP QEMU
"""
import datetime
import re
import sys
import tempfile
import time

from guest_qmp import Results, dmesg_clean, start_guest, report

# The guest prints its clock before and after hv_utils, polling until the
# clock jumps (at most 30 s of guest time).
GUEST = """
before=$(date +%s)
say "before $before"
load_hv_modules hv_vmbus hv_utils
i=0
while [ $i -lt 300 ]; do
    now=$(date +%s)
    [ $((now - before)) -gt 1800 ] && break
    sleep 0.1; i=$((i + 1))
done
say "$(dmesg | grep -o 'TimeSync IC version.*' | head -n 1)"
say "after $(date +%s)"
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace' | sed 's/^/GUEST: dmesg: /'
"""


def guest_value(log, key):
    with open(log) as f:
        # Only a whole line: the serial port may be halfway through it.
        m = re.search(rf"^GUEST: {key} (\d+)\n", f.read(), re.M)
    return int(m.group(1)) if m else None


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        behind = datetime.datetime.now(datetime.timezone.utc) - \
            datetime.timedelta(hours=1)
        start = time.time()
        proc, log, _ = start_guest(
            top, qemu, work, GUEST,
            ["-rtc", "base=" + behind.strftime("%Y-%m-%dT%H:%M:%S"),
             "-device", "vmbus-bridge", "-device", "hv-timesync"],
            qmp=False)
        rc = proc.wait()
        end = time.time()
        ok(rc == 0, "the guest boots and powers off")
        ok(open(log).read().count("GUEST: TimeSync IC version 4.0"),
           "hv_utils negotiated time sync 4.0")
        before, after = guest_value(log, "before"), guest_value(log, "after")
        ok(before and start - 3600 - 120 < before < end - 3600 + 120,
           f"the guest's clock started an hour behind ({before})")
        ok(after and start - 60 < after < end + 60,
           f"time sync set it to the host's ({after}, host {int(end)})")
        ok(dmesg_clean(log), "no warning in dmesg")
        report(results, log)


if __name__ == "__main__":
    main()
