"""Helpers for the libvirt tests: the domain the guest test runs (made from
examples/libvirt/vmbus-tcg.xml, so that the example is what gets tested),
libvirt's schema check, and virsh on libvirt's embedded QEMU driver."""
import os
import re
import subprocess
import xml.etree.ElementTree as ET

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
# As in guest_qmp: how much slower than a plain build the emulator is (a
# sanitizer build's takes longer to probe and to run).
SLOWDOWN = int(os.environ.get("QEMU_VMBUS_SLOWDOWN", "1"))
ET.register_namespace("qemu", QEMU_NS)


def example(top, name="vmbus-tcg.xml"):
    return os.path.join(top, "examples", "libvirt", name)


def domain_xml(top, name, emulator, kernel, initrd, disk, console):
    """The TCG example with its paths replaced by @emulator, @kernel,
    @initrd and @disk, named @name, and its serial console also logged to
    @console. Returns the XML as a string."""
    dom = ET.parse(example(top)).getroot()
    dom.find("name").text = name
    dom.find("devices/emulator").text = emulator
    dom.find("os/kernel").text = kernel
    dom.find("os/initrd").text = initrd
    # The console stays a pty, as in the example; libvirt copies what the
    # guest writes to it into @console.
    ET.SubElement(dom.find("devices/serial"), "log", file=console,
                  append="off")
    args = dom.findall(f"{{{QEMU_NS}}}commandline/{{{QEMU_NS}}}arg")
    drives = [a for a in args if "file=" in a.get("value")]
    if len(drives) != 1:
        raise ValueError("the example should have one -drive with file=")
    drives[0].set("value", re.sub(r"file=[^,]*", "file=" + disk,
                                  drives[0].get("value")))
    return ET.tostring(dom, encoding="unicode") + "\n"


def xml_validate(path):
    """virt-xml-validate's verdict on @path as a domain: (ok, its output)."""
    try:
        r = subprocess.run(["virt-xml-validate", path, "domain"],
                           capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return False, ("virt-xml-validate is missing (libvirt-clients; "
                       "scripts/install-deps.sh installs it)")
    return r.returncode == 0, (r.stdout + r.stderr).strip()


class Virsh:
    """virsh on libvirt's embedded QEMU driver, with all of its state under
    @root: no daemon, nothing outside @root. Each call is a virsh process of
    its own; the guest's QEMU outlives it and the next call reconnects.

    As root, libvirt's QEMU driver runs privileged and then needs the
    'libvirt-qemu' user, which only libvirt-daemon-system creates (and
    qemu.conf is read too late to name another). So virsh runs as an
    unprivileged uid in a user namespace of its own, where the embedded
    driver works as the session driver does; that uid is the caller's
    outside, so the caller's files stay readable and writable."""

    def __init__(self, root, home):
        self.uri = "qemu:///embed?root=" + root
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        # virtlogd would be the default for QEMU's output: none runs here.
        with open(os.path.join(root, "etc", "qemu.conf"), "w") as f:
            f.write('stdio_handler = "file"\n')
        # Unprivileged libvirt keeps a few things under $HOME and XDG dirs.
        self.env = dict(os.environ, HOME=home,
                        XDG_CACHE_HOME=os.path.join(home, "cache"),
                        XDG_CONFIG_HOME=os.path.join(home, "config"),
                        XDG_RUNTIME_DIR=os.path.join(home, "run"))
        for d in ("cache", "config", "run"):
            os.makedirs(os.path.join(home, d), mode=0o700, exist_ok=True)

    def __call__(self, *args, timeout=120):
        """Runs virsh @args: (ok, stdout, stderr); @timeout scales with
        SLOWDOWN."""
        timeout *= SLOWDOWN
        cmd = ["unshare", "--user", "--map-user=65534", "--map-group=65534",
               "virsh", "-q", "-c", self.uri] + list(args)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               env=self.env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, "", f"error: timed out after {timeout}s"
        return r.returncode == 0, r.stdout.strip(), r.stderr.strip()
