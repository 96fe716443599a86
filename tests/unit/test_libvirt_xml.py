"""The libvirt domain XML model (guestkit/libvirt_xml.py): what the libvirt backend writes is
read back by add_domain's reader through the same classes, field for field."""

import pytest

from guestkit import libvirt_xml as X


def _written():
    dom = X.Domain()
    dom.set_appliance_defaults("gk", False, 768, 2, "/k", "/i", "console=ttyS0", "/qemu")
    disk = dom.device(X.Disk())
    disk.type, disk.device = "network", "disk"
    disk.driver_name, disk.driver_type = "qemu", "raw"
    src = disk.add(X.DiskSource())
    src.protocol, src.name = "rbd", "pool/image"
    for name, port in (("a.example", 6789), ("b.example", None)):
        host = src.add(X.Host())
        host.name, host.port = name, port
    disk.auth_username = "admin"
    disk.target_dev, disk.target_bus = "sda", "scsi"
    disk.address_type, disk.address_target = "drive", "0"
    ro = dom.device(X.Disk())
    ro.type, ro.device = "file", "disk"
    ro.add(X.DiskSource()).file = "/images/a.img"
    ro.readonly = True
    lab = dom.add(X.SecLabel())
    lab.type, lab.model, lab.label = "static", "dac", "+0:+0"
    return dom


def test_what_the_backend_writes_add_domain_reads():
    x = X.Domain.parse(_written().to_xml())
    assert (x.name, x.type, x.memory, x.memory_unit, x.vcpu) == ("gk", "qemu", 768, "MiB", 2)
    assert (x.kernel, x.initrd, x.cmdline, x.emulator) == ("/k", "/i", "console=ttyS0",
                                                           "/qemu")
    net, ro = x.disks
    assert (net.type, net.driver_type, net.target_dev, net.auth_username) == (
        "network", "raw", "sda", "admin")
    assert (net.source.protocol, net.source.name) == ("rbd", "pool/image")
    assert [(h.name, h.port) for h in net.source.hosts] == [("a.example", 6789),
                                                            ("b.example", None)]
    assert net.readonly is False and ro.readonly is True
    assert ro.source.file == "/images/a.img" and ro.source.dev is None
    assert [(s.type, s.model, s.label) for s in x.seclabels] == [("static", "dac", "+0:+0")]


def test_a_disk_without_source_and_removed_fields():
    x = X.Domain.parse("<domain><devices><disk type='file' device='cdrom'><readonly/>"
                       "</disk></devices></domain>")
    d = x.disks[0]
    assert d.source is None and d.device == "cdrom" and d.readonly
    d.readonly = False
    d.driver_type = "qcow2"
    assert "<readonly" not in x.to_xml() and 'type="qcow2"' in x.to_xml()


def test_wrong_root_refused_and_entities_not_resolved():
    with pytest.raises(ValueError):
        X.Domain.parse("<disk/>")
    x = X.Domain.parse('<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       "<domain><name>&e;</name></domain>")
    assert "root:" not in (x.name or "")
