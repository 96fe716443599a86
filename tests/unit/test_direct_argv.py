"""The direct backend's qemu command line, built from a real handle (no launch)."""

import os
import stat

import guestkit
from guestkit.backends.direct import DirectBackend


class _Appliance:
    kernel = "/k"
    initrd = "/i"
    root = "/r.img"


def argv_for(g, tmp_path):
    b = DirectBackend(g)
    return b.build_argv(_Appliance(), g._drives, str(tmp_path), str(tmp_path / "s"), "tcg",
                        "qemu-system-x86_64")


def test_drives_are_pinned_and_in_order(tmp_path):
    img = tmp_path / "a.img"
    img.write_bytes(b"\0" * 1024 * 1024)
    g = guestkit.GuestFS(environment=False)
    g.add_drive_opts(str(img), format="raw", cachemode="unsafe", discard="enable")
    g.add_drive_opts(str(img), format="raw", blocksize=4096)
    a = " ".join(argv_for(g, tmp_path))
    assert "file=%s,format=raw,if=none,id=hd0,cache=unsafe,discard=unmap" % img in a
    assert "scsi-id=0" in a and "scsi-id=1,lun=0,logical_block_size=4096" in a
    assert "virtio-blk-pci,drive=appliance" in a and "file=/r.img,format=raw" in a
    assert "accel=tcg" in a and "-cpu max" in a
    g.close()


def test_settings_and_properties_reach_qemu(tmp_path):
    g = guestkit.GuestFS(environment=False)
    g.set_memsize(700)
    g.set_smp(2)
    g.set_append("foo=bar")
    g.set_backend_settings(["gdb", "machine=pc"])
    argv = argv_for(g, tmp_path)
    assert argv[argv.index("-m") + 1] == "700M" and argv[argv.index("-smp") + 1] == "2"
    assert "-gdb" in argv and "-S" in argv and "pc,accel=tcg" in argv
    cmdline = argv[argv.index("-append") + 1]
    assert cmdline.endswith("foo=bar") and "acpi=off" not in cmdline
    g.close()


def test_remote_secrets_never_on_the_command_line(tmp_path):
    g = guestkit.GuestFS(environment=False)
    g.add_drive_opts("iqn.2024-01.test:disk/0", protocol="iscsi", server=["127.0.0.1"],
                     username="bob", secret="pa55w0rd-xyz", format="raw")
    g.add_drive_opts("pool/image", protocol="rbd", server=["10.0.0.1:6789", "10.0.0.2"],
                     secret="cephkey", format="raw", readonly=True)
    argv = argv_for(g, tmp_path)
    text = " ".join(argv)
    assert "pa55w0rd-xyz" not in text and "cephkey" not in text
    assert "file.password-secret=sec0" in text and "file.key-secret=sec1" in text
    assert "file.server.1.host=10.0.0.2" in text and "snapshot=on" in text
    for name in ("secret0", "secret1"):
        p = tmp_path / name
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert (tmp_path / "secret0").read_text() == "pa55w0rd-xyz"
    g.close()


def test_gdb_server_listens_on_loopback_only(tmp_path):
    g = guestkit.GuestFS(environment=False)
    g.set_backend_setting("gdb", "1")
    a = argv_for(g, tmp_path)
    assert a[a.index("-gdb") + 1] == "tcp:127.0.0.1:1234" and "-S" in a and "-s" not in a
    g.close()
