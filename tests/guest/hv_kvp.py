#!/usr/bin/env python3
"""TAP test: Debian's hv_utils and hv_kvp_daemon (hyperv-daemons) serve
hv-kvp; the host reads the guest's address and OS from the auto pool,
and a key it sets reaches the guest's external pool file.

    hv_kvp.py TOP QEMU
"""
import sys
import tempfile

from guest_qmp import (Qmp, Results, deadline_after, report, start_guest,
                       wait_exit, wait_line)

CUE = "99999999-bbbb-4ccc-8ddd-000000000001"
GUEST = f"""
load_hv_modules virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev \\
    virtio virtio_pci failover net_failover virtio_net
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
load_hv_modules hv_vmbus hv_utils
hv_kvp_daemon -n > /tmp/kvp.log 2>&1 &
i=0
while ! dmesg | grep -q 'KVP IC version' && [ $i -lt 900 ]; do
    sleep 0.1; i=$((i + 1))
done
say "$(dmesg | grep -o 'KVP IC version.*' | head -n 1)"
say "ready"
i=0
while [ ! -e /sys/bus/vmbus/devices/{CUE} ] && [ $i -lt 1500 ]; do
    sleep 0.1; i=$((i + 1))
done
say "pool0 $(tr '\\0' ' ' < /var/lib/hyperv/.kvp_pool_0 | tr -s ' ')"
"""


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        proc, log, sock = start_guest(
            top, qemu, work, GUEST,
            ["-netdev", "user,id=n0",
             "-device", "virtio-net-pci,netdev=n0,romfile=",
             "-device", "vmbus-bridge", "-device", "hv-kvp,id=kvp"])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            ok(wait_line(log, "ready", deadline), "hv_kvp_daemon started")
            ok(wait_line(log, "KVP IC version 4.0", deadline),
               "hv_utils negotiated KVP 4.0")

            rsp = qmp.cmd("vmbus-kvp", operation="enumerate", pool="auto")
            ok("return" in rsp, f"vmbus-kvp enumerate auto ({rsp})")
            ok(qmp.wait_event("VMBUS_KVP_DONE", deadline), "VMBUS_KVP_DONE")
            ev = qmp.event("VMBUS_KVP_DONE")
            items = {i["key"]: i["value"] for i in ev.get("items", [])}
            ok(ev["status"] == 0x80070103,
               f"the listing ends with 'no more items' ({ev['status']:#x})")
            ok(items.get("NetworkAddressIPv4") == "10.0.2.15",
               f"the guest's address ({items})")
            ok(items.get("OSName") == "Debian GNU/Linux",
               f"the guest's OS ({items.get('OSName')})")

            qmp.events.clear()
            qmp.event_msgs.clear()
            rsp = qmp.cmd("vmbus-kvp", operation="set", pool="external",
                          key="qemu-vmbus", value="hello guest")
            ok("return" in rsp, f"vmbus-kvp set ({rsp})")
            ok(qmp.wait_event("VMBUS_KVP_DONE", deadline) and
               qmp.event("VMBUS_KVP_DONE")["status"] == 0,
               "the guest stored the key")
            qmp.cmd("device_add", driver="vmbus-testdev", instanceid=CUE)
            pool = wait_line(log, "pool0", deadline)
            ok(pool and "qemu-vmbus hello guest" in pool,
               f"the key is in the guest's external pool ({pool})")
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        ok(rc == 0, "the guest powers off cleanly")
        report(results, log)


if __name__ == "__main__":
    main()
