#!/usr/bin/env python3
"""Guest storage speed through hv-scsi, virtio-scsi, virtio-blk and AHCI:
one emulator binary, one raw image (page-cached on the host, so the device
models are what differs), one guest kernel, under TCG, runs interleaved.

In the guest, benchmarks/guest/blkbench.c (built static here) measures
4 KiB O_DIRECT random reads at queue depth 1 and 8 (IOPS) and 1 MiB
O_DIRECT sequential reads (MiB/s). A benchmark, not a test: it prints
medians and ratios to hv-scsi and never fails on them.

    benchmarks/storage.py [--runs N] [--seconds S] [--qemu PATH]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HV_CPU = "qemu64,hv-relaxed=on,hv-vpindex=on,hv-synic=on,hv-time=on"
IMAGE_SIZE = 512 << 20

# name: (devices, modules to load, the disk in the guest)
CONFIGS = {
    "hv-scsi": (["-device", "vmbus-bridge", "-device", "hv-scsi,id=hs",
                 "-device", "scsi-hd,bus=hs.0,drive=d0"],
                "hv_vmbus hv_storvsc sd_mod", "/dev/sda"),
    "virtio-scsi": (["-device", "virtio-scsi-pci,id=vs",
                     "-device", "scsi-hd,bus=vs.0,drive=d0"],
                    "virtio_pci virtio_scsi sd_mod", "/dev/sda"),
    "virtio-blk": (["-device", "virtio-blk-pci,drive=d0"],
                   "virtio_pci virtio_blk", "/dev/vda"),
    "ahci": (["-device", "ide-hd,bus=ide.0,drive=d0"],
             "ahci sd_mod", "/dev/sda"),
}

TESTS = [("randread-qd1", "randread", 1, "iops"),
         ("randread-qd8", "randread", 8, "iops"),
         ("seqread-1m", "seqread", 1, "mbps")]


def guest_script(modules, disk, seconds):
    lines = [f"load_hv_modules {modules}",
             "i=0",
             f"while [ ! -b {disk} ] && [ $i -lt 600 ]; do "
             "sleep 0.1; i=$((i + 1)); done",
             # One pass to warm the host's page cache and the guest's paths.
             f"blkbench seqread {disk} 2 >/dev/null"]
    for name, mode, threads, _ in TESTS:
        lines.append(f'say "{name} $(blkbench {mode} {disk} {seconds} '
                     f'{threads})"')
    return "\n".join(lines) + "\n"


def run(qemu, work, image, blkbench, name, seconds):
    devices, modules, disk = CONFIGS[name]
    script = os.path.join(work, name + ".sh")
    with open(script, "w") as f:
        f.write(guest_script(modules, disk, seconds))
    out = subprocess.run(
        [os.path.join(TOP, "guest", "run-guest.sh"), "--qemu=" + qemu,
         "--test=" + script, "--add=" + blkbench, "--timeout=600", "--",
         "-cpu", HV_CPU, "-drive",
         f"if=none,id=d0,file={image},format=raw,cache=writeback"] + devices,
        capture_output=True, text=True).stdout
    found = {}
    for test, _, _, unit in TESTS:
        m = re.search(rf"^GUEST: {test} iops (\S+) mbps (\S+)", out, re.M)
        if m:
            found[test] = float(m.group(1) if unit == "iops" else m.group(2))
    if len(found) != len(TESTS):
        print(f"{name}: a run failed:\n{out[-2000:]}", file=sys.stderr)
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--qemu", default=os.path.join(TOP, "build",
                                                   "qemu-system-x86_64"))
    args = ap.parse_args()

    subprocess.run([os.path.join(TOP, "guest", "build-kit.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    results = {n: {t[0]: [] for t in TESTS} for n in CONFIGS}
    with tempfile.TemporaryDirectory() as work:
        blkbench = os.path.join(work, "blkbench")
        subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", blkbench,
                        os.path.join(TOP, "benchmarks", "guest",
                                     "blkbench.c")], check=True)
        image = os.path.join(work, "disk.img")
        with open(image, "wb") as f:
            for _ in range(IMAGE_SIZE >> 20):
                f.write(os.urandom(1 << 20))
        for i in range(args.runs):
            for name in CONFIGS:
                got = run(args.qemu, work, image, blkbench, name,
                          args.seconds)
                for test, v in got.items():
                    results[name][test].append(v)

    print(f"{'device':12}" + "".join(f"{t[0] + ' (' + t[3] + ')':>22}"
                                     for t in TESTS))
    med = {n: {t: statistics.median(v) if v else float("nan")
               for t, v in r.items()} for n, r in results.items()}
    for name in CONFIGS:
        print(f"{name:12}" + "".join(f"{med[name][t[0]]:22.1f}"
                                     for t in TESTS))
    print("\nratio hv-scsi / peer (above 1: hv-scsi is faster)")
    for name in CONFIGS:
        if name == "hv-scsi":
            continue
        print(f"{'vs ' + name:15}" + "".join(
            f"{med['hv-scsi'][t[0]] / med[name][t[0]]:19.2f}"
            for t in TESTS))
    print(f"\n{args.runs} runs of {args.seconds:g} s per test, medians; "
          f"-smp 2, TCG, raw image {IMAGE_SIZE >> 20} MiB, cache=writeback")


if __name__ == "__main__":
    main()
