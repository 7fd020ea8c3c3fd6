#!/usr/bin/env python3
"""TAP test: Debian's hv_storvsc drives hv-scsi. It finds sda (scsi-hd) and
sr0 (scsi-cd); 64 MiB written with O_DIRECT read back equal and are equal
in the host's image; blkdiscard frees the image's blocks; a disk added with
device_add while the guest runs appears, and goes when deleted.

    hv_scsi.py TOP QEMU [--early] [--smp=N]

--early loads the drivers before the test waits for anything, as one
insmod chain; the default loads hv_vmbus first and storvsc once VMBus is up.
With N vCPUs Linux asks for min(N - 1, max-subchannels) subchannels, so
N channels in all with the default max-subchannels of 8.
"""
import hashlib
import os
import sys
import tempfile

from guest_qmp import (Qmp, Results, build_blkbench, deadline_after,
                       dmesg_clean, report, start_guest, value, wait_exit,
                       wait_line)

MiB = 1024 * 1024
DISK_SIZE = 128 * MiB
PATTERN = 64 * MiB
DISCARD_AT, DISCARD_LEN = 96 * MiB, 16 * MiB
CD_SIZE = 4 * MiB
HOTDISK_SIZE = 32 * MiB

GUEST = """
if [ "$EARLY" = 1 ]; then
    load_hv_modules hv_vmbus hv_storvsc sd_mod sr_mod
else
    load_hv_modules hv_vmbus
    i=0
    while [ -z "$(ls /sys/bus/vmbus/devices)" ] && [ $i -lt 100 ]; do
        sleep 0.1; i=$((i + 1))
    done
    load_hv_modules hv_storvsc sd_mod sr_mod
fi
wait_for() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$1" ]
}
wait_for /dev/sda && wait_for /dev/sr0
say "disks $(ls /sys/block | tr '\\n' ' ')"
say "vendor $(cat /sys/block/sda/device/vendor) $(cat /sys/block/sda/device/model)"
say "sda bytes $(blockdev --getsize64 /dev/sda)"
say "channels $(ls /sys/bus/vmbus/drivers/hv_storvsc/*-*/channels | wc -l)"

dd if=/dev/urandom of=/tmp/pattern bs=1M count=64 2>/dev/null
dd if=/tmp/pattern of=/dev/sda bs=1M oflag=direct 2>/dev/null
say "written $(md5sum < /tmp/pattern | cut -c1-32)"
rm /tmp/pattern
say "read $(dd if=/dev/sda bs=1M count=64 iflag=direct 2>/dev/null |
            md5sum | cut -c1-32)"
# Eight readers at once keep several requests in flight on each channel.
for n in 0 1 2 3 4 5 6 7; do
    dd if=/dev/sda bs=64k skip=$((n * 128)) count=128 iflag=direct \
        2>/dev/null | md5sum | cut -c1-32 > /tmp/part$n &
done
wait
say "parallel $(cat /tmp/part[0-7] | tr '\n' ' ')"
# Random reads from 8, then 32 threads: the rings' signalling under load.
say "blkbench $(blkbench randread /dev/sda 3 8) $(blkbench randread /dev/sda 3 32)"
say "cd $(dd if=/dev/sr0 bs=2048 2>/dev/null | md5sum | cut -c1-32)"

# A region filled, then discarded: the image must give its blocks back.
dd if=/dev/urandom of=/dev/sda bs=1M seek=96 count=16 oflag=direct 2>/dev/null
say "filled $(dd if=/dev/sda bs=1M skip=96 count=16 iflag=direct 2>/dev/null |
              md5sum | cut -c1-32)"
"""

# Then the guest waits for a disk the host adds.
GUEST_2 = """
say "discard_max $(cat /sys/block/sda/queue/discard_max_bytes)"
blkdiscard -o $((96 << 20)) -l $((16 << 20)) /dev/sda && say "discarded"
say "zeroes $(dd if=/dev/sda bs=1M skip=96 count=16 iflag=direct 2>/dev/null |
              md5sum | cut -c1-32)"
sync
say "ready for hotplug"
wait_for /sys/block/sdb
say "hotplugged $(ls /sys/block | tr '\\n' ' ')"
say "sdb bytes $(blockdev --getsize64 /dev/sdb)"
say "sdb data $(dd if=/dev/sdb bs=1M count=1 iflag=direct 2>/dev/null |
                md5sum | cut -c1-32)"
i=0
while [ -e /sys/block/sdb ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/block/sdb ] || say "unplugged $(ls /sys/block | tr '\\n' ' ')"
dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace|hung' | sed 's/^/GUEST: dmesg: /'
"""


def md5(path, length, offset=0):
    h = hashlib.md5()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left:
            chunk = f.read(min(left, MiB))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()



def main():
    top, qemu = sys.argv[1], sys.argv[2]
    early = "--early" in sys.argv[3:]
    smp = [a[6:] for a in sys.argv[3:] if a.startswith("--smp=")]
    nchan = min(int(smp[0]) if smp else 2, 9)
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        disk = os.path.join(work, "disk.img")
        cd = os.path.join(work, "cd.iso")
        hot = os.path.join(work, "hot.img")
        with open(disk, "wb") as f:
            f.truncate(DISK_SIZE)
        with open(cd, "wb") as f:
            f.write(os.urandom(CD_SIZE))
        with open(hot, "wb") as f:
            f.write(b"\x5a" * MiB)
            f.truncate(HOTDISK_SIZE)
        guest = f"EARLY={int(early)}\n" + GUEST + GUEST_2
        proc, log, sock = start_guest(
            top, qemu, work, guest,
            ["-smp", smp[0] if smp else "2",
             "-device", "vmbus-bridge", "-device", "hv-scsi,id=scsi",
             "-drive", f"if=none,id=d0,file={disk},format=raw,discard=unmap",
             "-device", "scsi-hd,bus=scsi.0,drive=d0,scsi-id=0,lun=0",
             "-drive", f"if=none,id=c0,file={cd},format=raw,media=cdrom,"
                       "readonly=on",
             "-device", "scsi-cd,bus=scsi.0,drive=c0,scsi-id=1,lun=0",
             "-drive", f"if=none,id=d1,file={hot},format=raw"],
            adds=[build_blkbench(top, work)])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            disks = wait_line(log, "disks", deadline)
            ok(disks and "sda" in disks and "sr0" in disks,
               f"storvsc finds sda and sr0 ({disks})")
            vendor = wait_line(log, "vendor", deadline)
            ok(vendor and "QEMU HARDDISK" in vendor, "sda is QEMU's scsi-hd")
            size = value(wait_line(log, "sda bytes", deadline))
            ok(size == str(DISK_SIZE), f"sda has the image's size ({size})")
            channels = value(wait_line(log, "channels", deadline))
            ok(channels == str(nchan),
               f"storvsc uses {nchan} channel(s) ({channels})")
            written = value(wait_line(log, "written", deadline))
            read = value(wait_line(log, "read", deadline))
            ok(written and written == read,
               "64 MiB written with O_DIRECT read back equal")
            ok(written and md5(disk, PATTERN) == written,
               "and are equal in the host's image")
            parallel = wait_line(log, "parallel", deadline)
            parts = [md5(disk, 8 * MiB, n * 8 * MiB) for n in range(8)]
            got = parallel.split()[2:] if parallel else []
            bad = [n for n in range(8) if n >= len(got) or got[n] != parts[n]]
            ok(not bad, "eight concurrent readers get the image's data" +
               (f" (parts {bad} differ: guest {got}, host {parts})"
                if bad else ""))
            bench = wait_line(log, "blkbench", deadline)
            ok(bench and "iops" in bench,
               f"8 and 32 threads of random reads complete ({bench})")
            ok(value(wait_line(log, "cd", deadline)) == md5(cd, CD_SIZE),
               "sr0 reads the CD image")
            zero_md5 = hashlib.md5(bytes(DISCARD_LEN)).hexdigest()
            filled = value(wait_line(log, "filled", deadline))
            ok(filled and filled != zero_md5, "a region filled with data")
            discard_max = value(wait_line(log, "discard_max", deadline))
            ok(discard_max and int(discard_max) > 0,
               f"the disk offers discard ({discard_max} bytes at most)")
            ok(wait_line(log, "discarded", deadline), "blkdiscard succeeds")
            ok(value(wait_line(log, "zeroes", deadline)) == zero_md5,
               "the discarded region reads as zeroes in the guest")
            wait_line(log, "ready for hotplug", deadline)
            # Allocated: the 64 MiB pattern, not the discarded region.
            used = os.stat(disk).st_blocks * 512
            ok(used < PATTERN + DISCARD_LEN // 2,
               f"and the image gave back its blocks ({used >> 20} MiB used)")
            ok(md5(disk, DISCARD_LEN, DISCARD_AT) == zero_md5,
               "and reads as zeroes there")
            rsp = qmp.cmd("device_add", driver="scsi-hd", id="hot",
                          bus="scsi.0", drive="d1", **{"scsi-id": 0},
                          lun=1)
            ok("return" in rsp, "device_add scsi-hd while the guest runs")
            hotplugged = wait_line(log, "hotplugged", deadline)
            ok(hotplugged and "sdb" in hotplugged,
               f"the guest finds the new disk ({hotplugged})")
            ok(value(wait_line(log, "sdb bytes", deadline)) ==
               str(HOTDISK_SIZE), "of the hot-added image's size")
            ok(value(wait_line(log, "sdb data", deadline)) ==
               hashlib.md5(b"\x5a" * MiB).hexdigest(), "with its data")
            rsp = qmp.cmd("device_del", id="hot")
            ok("return" in rsp, "device_del the hot-added disk")
            unplugged = wait_line(log, "unplugged", deadline)
            ok(unplugged and "sdb" not in unplugged,
               f"the guest drops it ({unplugged})")
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        ok(rc == 0, "the guest powers off cleanly")
        ok(dmesg_clean(log),
           "no warning, oops or hung task in dmesg")
        report(results, log)


if __name__ == "__main__":
    main()
