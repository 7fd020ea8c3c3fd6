#!/usr/bin/env python3
"""Guest TCP throughput through hv-net, virtio-net-pci and e1000: one
emulator binary, one user netdev (slirp) per run, one guest kernel, under
TCG, runs interleaved.

The host sends 64 MiB to the guest (through hostfwd) and the guest sends
64 MiB to a listener on the host; each is timed on the host from the
first to the last byte. A benchmark, not a test: it prints medians and
ratios to hv-net and never fails on them.

    benchmarks/network.py [--runs N] [--mib M] [--qemu PATH]
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HV_CPU = "qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on"

# name: (devices, modules to load)
CONFIGS = {
    "hv-net": (["-device", "vmbus-bridge",
                "-device", "hv-net,netdev=n0"], "hv_vmbus hv_netvsc"),
    "virtio-net": (["-device", "virtio-net-pci,netdev=n0"],
                   "virtio_pci virtio_net"),
    "e1000": (["-device", "e1000,netdev=n0"], "e1000"),
}

GUEST = """
load_hv_modules {modules}
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
say "listening"
nc -l -p 5000 > /dev/null
say "received"
dd if=/dev/zero bs=1M count={mib} 2>/dev/null | nc 10.0.2.2 {peer}
say "sent"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(log, text, deadline):
    while time.monotonic() < deadline:
        with open(log) as f:
            if re.search(rf"^GUEST: {text}", f.read(), re.M):
                return True
        time.sleep(0.1)
    return False


def run(qemu, work, name, mib):
    devices, modules = CONFIGS[name]
    fwd, peer = free_port(), free_port()
    size = mib << 20
    script = os.path.join(work, name + ".sh")
    log = os.path.join(work, name + ".log")
    with open(script, "w") as f:
        f.write(GUEST.format(modules=modules, mib=mib, peer=peer))
    open(log, "w").close()
    listener = socket.socket()
    listener.bind(("127.0.0.1", peer))
    listener.listen(1)
    listener.settimeout(300)
    proc = subprocess.Popen(
        [os.path.join(TOP, "guest", "run-guest.sh"), "--qemu=" + qemu,
         "--test=" + script, "--log=" + log, "--timeout=600", "--",
         "-cpu", HV_CPU,
         "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{fwd}-:5000"] +
        devices, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 500
    result = {}
    try:
        if not wait_line(log, "listening", deadline):
            return result
        time.sleep(1)
        data = bytes(1 << 20)
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", fwd)) as s:
            for _ in range(mib):
                s.sendall(data)
        if wait_line(log, "received", deadline):
            result["to guest"] = mib / (time.monotonic() - start)
        conn, _ = listener.accept()
        n, start = 0, None
        with conn:
            while n < size:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                start = start or time.monotonic()
                n += len(chunk)
        if n == size:
            result["from guest"] = mib / (time.monotonic() - start)
    finally:
        listener.close()
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--qemu", default=os.path.join(TOP, "build",
                                                   "qemu-system-x86_64"))
    args = ap.parse_args()

    subprocess.run([os.path.join(TOP, "guest", "build-kit.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    tests = ["to guest", "from guest"]
    results = {n: {t: [] for t in tests} for n in CONFIGS}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.runs):
            for name in CONFIGS:
                got = run(args.qemu, work, name, args.mib)
                if len(got) != len(tests):
                    print(f"{name}: a run failed", file=sys.stderr)
                for t, v in got.items():
                    results[name][t].append(v)

    med = {n: {t: statistics.median(v) if v else float("nan")
               for t, v in r.items()} for n, r in results.items()}
    print(f"{'device':12}" + "".join(f"{t + ' (MiB/s)':>22}" for t in tests))
    for name in CONFIGS:
        print(f"{name:12}" + "".join(f"{med[name][t]:22.1f}" for t in tests))
    print("\nratio hv-net / peer (above 1: hv-net is faster)")
    for name in CONFIGS:
        if name != "hv-net":
            print(f"{'vs ' + name:15}" + "".join(
                f"{med['hv-net'][t] / med[name][t]:19.2f}" for t in tests))
    print(f"\n{args.runs} runs of {args.mib} MiB each way, medians; -smp 2, "
          "TCG, user netdev")


if __name__ == "__main__":
    main()
