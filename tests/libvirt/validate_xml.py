#!/usr/bin/env python3
"""TAP test: every domain XML in examples/libvirt/, and the domain the
libvirt guest test makes from the TCG example, pass the RNG schema of the
installed libvirt (virt-xml-validate FILE domain).

    validate_xml.py TOP QEMU
"""
import glob
import os
import sys
import tempfile

from libvirt_domain import domain_xml, xml_validate


def main():
    top, qemu = sys.argv[1], os.path.abspath(sys.argv[2])
    results = []
    files = sorted(glob.glob(os.path.join(top, "examples", "libvirt",
                                          "*.xml")))
    results.append((len(files) >= 2, f"{len(files)} examples found"))
    for path in files:
        ok, out = xml_validate(path)
        results.append((ok, f"examples/libvirt/{os.path.basename(path)}",
                        out))
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "domain.xml")
        with open(path, "w") as f:
            # Paths only: the schema does not look at the files.
            f.write(domain_xml(top, "vmbus-libvirt-test", qemu,
                               os.path.join(work, "vmlinuz"),
                               os.path.join(work, "initrd.img"),
                               os.path.join(work, "disk.img"),
                               os.path.join(work, "console.log")))
        ok, out = xml_validate(path)
        results.append((ok, "the libvirt guest test's domain", out))

    print(f"1..{len(results)}")
    for i, (ok, text, *out) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {text}")
        if not ok and out:
            for line in out[0].splitlines():
                print("# " + line)
    sys.exit(0 if all(r[0] for r in results) else 1)


if __name__ == "__main__":
    main()
