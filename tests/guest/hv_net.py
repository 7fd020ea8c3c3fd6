#!/usr/bin/env python3
"""TAP test: Debian's hv_netvsc drives hv-net on a user netdev. eth0 gets
an address by DHCP and pings the gateway; the link goes down and up from
QMP and the guest follows; then 64 MiB go over TCP in each direction
between the guest and a peer on the host, with checksums equal.

    hv_net.py TOP QEMU [--queues=N]

With N queues the guest runs on N vCPUs and must show N channels.
"""
import hashlib
import os
import socket
import sys
import tempfile
import threading
import time

from guest_qmp import (Qmp, Results, SLOWDOWN, deadline_after, dmesg_clean,
                       free_port, report, start_guest, value, wait_exit,
                       wait_line)

MiB = 1024 * 1024
SIZE = 64 * MiB

GUEST = """
load_hv_modules hv_vmbus hv_netvsc
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
dhcp_up eth0
say "address $(ip -4 -o addr show eth0 | awk '{print $4}')"
say "mac $(cat /sys/class/net/eth0/address)"
say "channels $(ls /sys/class/net/eth0/queues | grep -c rx-)"
say "ping $(ping -c 3 -W 5 10.0.2.2 | grep -o '[0-9]* packets received')"

# The host takes the link down, then up again.
say "link test"
i=0
while [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
say "carrier $(cat /sys/class/net/eth0/carrier) after down"
i=0
while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
say "carrier $(cat /sys/class/net/eth0/carrier) after up"
i=0
until ping -c 1 -W 2 10.0.2.2 >/dev/null 2>&1 || [ $i -ge 10 ]; do
    i=$((i + 1))
done
say "ping again $(ping -c 3 -W 5 10.0.2.2 | grep -o '[0-9]* packets received')"
# Host to guest: the host connects through hostfwd and sends SIZE bytes.
say "listening"
say "received $(nc -l -p 5000 | md5sum | cut -c1-32)"

# Guest to host: SIZE bytes to the host's listener, 10.0.2.2:PORT.
mkfifo /tmp/f
md5sum < /tmp/f | cut -c1-32 > /tmp/sent &
dd if=/dev/urandom bs=1M count=64 2>/dev/null | tee /tmp/f |
    nc 10.0.2.2 $PEER_PORT
wait
say "sent $(cat /tmp/sent)"

dmesg | grep -E 'WARNING|Oops|BUG:|Call Trace' | sed 's/^/GUEST: dmesg: /'
"""




def send_to_guest(port, data, deadline):
    """Connects through hostfwd (the guest listens) and sends @data."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=60 * SLOWDOWN) as s:
                s.sendall(data)
                return True
        except OSError:
            time.sleep(0.5)
    return False


def receive_from_guest(listener, result):
    """Takes SIZE bytes from the guest's connection, then closes it."""
    conn, _ = listener.accept()
    h, n = hashlib.md5(), 0
    with conn:
        conn.settimeout(120 * SLOWDOWN)
        while n < SIZE:
            chunk = conn.recv(min(MiB, SIZE - n))
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
    result["md5"], result["bytes"] = h.hexdigest(), n


def main():
    top, qemu = sys.argv[1], sys.argv[2]
    queues = [int(a[9:]) for a in sys.argv[3:] if a.startswith("--queues=")]
    queues = queues[0] if queues else 1
    results = Results()
    ok = results.ok

    with tempfile.TemporaryDirectory() as work:
        fwd, peer = free_port(), free_port()
        listener = socket.socket()
        listener.bind(("127.0.0.1", peer))
        listener.listen(1)
        listener.settimeout(280 * SLOWDOWN)
        got = {}
        rx = threading.Thread(target=receive_from_guest, args=(listener, got),
                              daemon=True)
        rx.start()
        data = os.urandom(SIZE)
        guest = f"PEER_PORT={peer}\n" + GUEST
        proc, log, sock = start_guest(
            top, qemu, work, guest,
            ["-smp", str(max(2, queues)),
             "-device", "vmbus-bridge",
             "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{fwd}-:5000",
             "-device", f"hv-net,netdev=n0,id=net0,queues={queues},"
                        "mac=52:54:00:aa:bb:cc"])
        deadline = deadline_after(280)
        try:
            qmp = Qmp(sock, deadline)
            addr = value(wait_line(log, "address", deadline))
            ok(addr == "10.0.2.15/24", f"eth0 gets 10.0.2.15 by DHCP ({addr})")
            mac = value(wait_line(log, "mac", deadline))
            ok(mac == "52:54:00:aa:bb:cc", f"with the device's MAC ({mac})")
            chans = value(wait_line(log, "channels", deadline))
            ok(chans == str(queues), f"and {queues} channel(s) ({chans})")
            ping = wait_line(log, "ping", deadline)
            ok(ping and "3 packets received" in ping,
               "ping to the gateway: 3 of 3")
            wait_line(log, "link test", deadline)
            ok("return" in qmp.cmd("set_link", name="net0", up=False),
               "set_link off")
            line = wait_line(log, "carrier 0 after down", deadline)
            ok(line, "the guest loses its carrier")
            ok("return" in qmp.cmd("set_link", name="net0", up=True),
               "set_link on")
            ok(wait_line(log, "carrier 1 after up", deadline),
               "the guest has it back")
            ping = wait_line(log, "ping again", deadline)
            ok(ping and "3 packets received" in ping,
               "and pings the gateway again")
            wait_line(log, "listening", deadline)
            time.sleep(1)
            start = time.monotonic()
            ok(send_to_guest(fwd, data, deadline), "the host sends 64 MiB")
            received = value(wait_line(log, "received", deadline))
            down = time.monotonic() - start
            ok(received == hashlib.md5(data).hexdigest(),
               f"the guest receives them intact ({SIZE / down / MiB:.1f} "
               "MiB/s)")
            start = time.monotonic()
            sent = value(wait_line(log, "sent", deadline))
            rx.join(timeout=max(1, deadline - time.monotonic()))
            up = time.monotonic() - start
            ok(got.get("bytes") == SIZE and sent == got.get("md5"),
               f"64 MiB from the guest arrive intact ({got.get('bytes')} "
               f"bytes, {SIZE / up / MiB:.1f} MiB/s)")
        except Exception as e:  # a hang or a dead QEMU fails the test
            ok(False, f"driving the guest: {e!r}")
        rc = wait_exit(proc, deadline)
        listener.close()
        ok(rc == 0, "the guest powers off cleanly")
        ok(dmesg_clean(log),
           "no warning or oops in dmesg")
        report(results, log)


if __name__ == "__main__":
    main()
