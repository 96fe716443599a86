"""guestkit fleet on libvirt domains: two domains of a private libvirtd (started beside
any the machine runs), given with -c URI --all-domains and by name with -d, inspected by
the embedded Dask cluster; their disks stay unwritten."""

import json
import uuid

import pytest

from tests.integration.test_fleet import GUESTS, fleet, make_guest, records, sha256
from tests.libvirt_server import Libvirtd

DOMAIN = """<domain type='qemu'>
  <name>{name}</name><uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{img}'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>"""


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    import libvirt
    d = tmp_path_factory.mktemp("fleetvirt")
    imgs = {n: make_guest(d, n, *GUESTS[n]) for n in ("web1", "db1")}
    sums = {n: sha256(p) for n, p in imgs.items()}
    lv = Libvirtd(d / "libvirt").start()
    conn = libvirt.open(lv.uri)
    uuids = {}
    try:
        for n, img in imgs.items():
            uuids[n] = str(uuid.uuid4())
            conn.defineXML(DOMAIN.format(name="gk-fleet-" + n, uuid=uuids[n], img=img))
        yield lv.uri, uuids
    finally:
        for dom in conn.listAllDomains():
            if dom.name().startswith("gk-fleet-"):
                dom.undefine()
        conn.close()
        lv.stop()
    assert {n: sha256(p) for n, p in imgs.items()} == sums, "a domain's disk was written"


def test_all_domains_and_by_name(domains):
    uri, uuids = domains
    p = fleet("inspect", "--no-icon", "--no-applications", "-c", uri, "--all-domains",
              "-d", "gk-fleet-db1", "-d", "gk-fleet-nosuch", "--workers", "2")
    assert p.returncode == 1, p.stderr                   # the missing domain failed
    recs = records(p.stdout)
    assert set(recs) == {"domain:gk-fleet-web1", "domain:gk-fleet-db1",
                         "domain:gk-fleet-nosuch"}, recs   # db1 once, though named twice
    for n in ("web1", "db1"):
        r = recs["domain:gk-fleet-" + n]
        assert r["status"] == "ok", r
        [os_] = r["result"]["operatingsystems"]
        assert (os_["distro"], os_["hostname"]) == (GUESTS[n][0], GUESTS[n][2]), os_
    bad = recs["domain:gk-fleet-nosuch"]
    assert bad["status"] == "error" and "gk-fleet-nosuch" in bad["error"], bad
    assert "3 guests: 2 ok, 1 failed" in p.stderr, p.stderr


def test_domain_by_uuid_in_a_guest_list(domains, tmp_path):
    uri, uuids = domains
    lst = tmp_path / "guests.txt"
    lst.write_text("# one domain, by UUID\ndomain:%s\n" % uuids["web1"])
    p = fleet("cat", "--path", "/etc/hostname", "-c", uri, "--from", str(lst))
    assert p.returncode == 0, p.stderr
    rec = records(p.stdout)["domain:" + uuids["web1"]]
    assert json.dumps(rec["result"]["content"]) == json.dumps("web1\n"), rec


def test_bad_connection_is_named():
    p = fleet("inspect", "-c", "qemu:///system?socket=/nonexistent/sock", "--all-domains")
    assert p.returncode != 0
    assert "could not connect to libvirt" in p.stderr and "nonexistent" in p.stderr, p.stderr
