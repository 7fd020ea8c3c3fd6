#!/usr/bin/env python3
"""Boot time of the guest kit under TCG, with and without the Hyper-V
enlightenments: same kernel, same binary, same machine, runs interleaved.

Measured on the host's clock from QEMU's start to the guest's first line in
userspace and to power-off. A benchmark, not a test: it prints numbers and
ratios and never fails on them.

    benchmarks/boot_time.py [--runs N] [--qemu PATH]
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIGS = {
    "plain": ["-cpu", "qemu64"],
    "hyper-v": ["-cpu", "qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,"
                "hv-time=on", "-device", "vmbus-bridge"],
}


def command(qemu, extra):
    out = subprocess.run([os.path.join(TOP, "guest", "run-guest.sh"),
                          "--qemu=" + qemu, "--print-cmd", "--"] + extra,
                         check=True, capture_output=True, text=True).stdout
    return shlex.split(out)


def one_boot(cmd):
    start = time.monotonic()
    userspace = None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if userspace is None and line.startswith("GUEST:"):
            userspace = time.monotonic() - start
    proc.wait()
    return userspace, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--qemu", default=os.path.join(TOP, "build",
                                                   "qemu-system-x86_64"))
    args = ap.parse_args()

    subprocess.run([os.path.join(TOP, "guest", "build-kit.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    cmds = {name: command(args.qemu, extra) for name, extra in CONFIGS.items()}
    results = {name: ([], []) for name in CONFIGS}
    for i in range(args.runs):
        for name, cmd in cmds.items():
            u, t = one_boot(cmd)
            if u is None:
                print(f"{name}: run {i + 1} never reached userspace",
                      file=sys.stderr)
                continue
            results[name][0].append(u)
            results[name][1].append(t)

    print(f"{'config':10} {'runs':>4} {'userspace s (median)':>22} "
          f"{'power-off s (median)':>22}")
    for name, (u, t) in results.items():
        print(f"{name:10} {len(u):4} {statistics.median(u):14.2f} "
              f"(sd {statistics.pstdev(u):.2f}) {statistics.median(t):14.2f} "
              f"(sd {statistics.pstdev(t):.2f})")
    pu = statistics.median(results["plain"][0])
    hu = statistics.median(results["hyper-v"][0])
    print(f"ratio hyper-v/plain, to userspace: {hu / pu:.3f}")


if __name__ == "__main__":
    main()
