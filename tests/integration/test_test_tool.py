"""``guestkit test-tool`` run for real, as a user runs it: a passing host, then hosts where
qemu or the kernel is missing (each failure names the problem and the fix, and stops the
steps that depend on it), and --verbose showing the appliance console."""

import os
import re
import subprocess
import sys

import pytest

SKIPPED_AFTER = ("appliance", "kvm", "backends", "launch", "calls")
# set by each test as it needs; any other variable of the caller's stays (a host may need a
# GUESTKIT_KERNEL, say)
CONTROLLED = ("GUESTKIT_HV", "LIBGUESTFS_HV", "LIBGUESTFS_QEMU", "GUESTKIT_BACKEND",
              "LIBGUESTFS_BACKEND", "LIBGUESTFS_ATTACH_METHOD")


def run_tool(*args, env=None, timeout=600):
    full = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    full["GUESTKIT_BACKEND_SETTINGS"] = "force_tcg"
    full.update(env or {})
    p = subprocess.run([sys.executable, "-m", "guestkit.cli", "test-tool", *args],
                       env=full, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def lines(out, tag):
    return [l[len(tag) + 1:] for l in out.splitlines() if l.startswith(tag + " ")]


def test_passes_on_this_host():
    rc, out, err = run_tool()
    assert rc == 0, out + err
    ok = lines(out, "[ ok ]")
    assert any(re.match(r"qemu: /\S+ \(QEMU emulator version \d", l) for l in ok), out
    assert any(re.match(r"kernel: /\S+ \(release \S+\)", l) for l in ok), out
    assert any(l.startswith("appliance: /") and "ready in" in l for l in ok), out
    assert any(re.match(r"launch: direct backend, accelerator tcg, "
                        r"(restored from a snapshot|booted cold \(.*\)), [\d.]+ s", l)
               for l in ok), out
    assert any(l.startswith("calls: part_disk") and "cat" in l for l in ok), out
    info = lines(out, "[info]")
    assert "env: GUESTKIT_BACKEND_SETTINGS=force_tcg" in info
    assert any(l.startswith("guestkit: ") for l in info)
    assert any("kvm:" in l and "force_tcg" in l for l in info)
    assert "backend direct (selected): can run here" in info
    assert not lines(out, "[FAIL]") and not lines(out, "[skip]")
    assert out.rstrip().splitlines()[-1] == "TEST FINISHED OK"
    assert "Linux version" not in out + err         # the console only with --verbose


def assert_failed_at(rc, out, step, skipped):
    assert rc == 1, out
    fail = lines(out, "[FAIL]")
    assert len(fail) == 1 and fail[0].startswith(step + ": "), out
    skip = lines(out, "[skip]")
    for name in skipped:
        assert "%s: skipped because the %s step failed" % (name, step) in skip, out
    assert not any(l.startswith("launch:") for l in lines(out, "[ ok ]")), out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("TEST FAILED: %s: " % step) and "TEST FINISHED OK" not in out
    return fail[0]


def test_hv_that_does_not_exist():
    rc, out, _ = run_tool(env={"GUESTKIT_HV": "/nonexistent/qemu"})
    fail = assert_failed_at(rc, out, "qemu", ("kernel",) + SKIPPED_AFTER)
    assert "/nonexistent/qemu" in fail and "GUESTKIT_HV" in fail


def test_no_qemu_on_path(tmp_path):
    if any(os.path.exists("/usr/libexec/" + n)
           for n in ("qemu-system-x86_64", "qemu-kvm", "kvm")):
        pytest.skip("qemu is also found in /usr/libexec, whatever PATH says")
    rc, out, _ = run_tool(env={"PATH": str(tmp_path)})
    fail = assert_failed_at(rc, out, "qemu", ("kernel",) + SKIPPED_AFTER)
    assert "install qemu-system-x86" in fail and "apt-get install qemu-system-x86" in fail


def test_kernel_that_does_not_exist():
    rc, out, _ = run_tool(env={"GUESTKIT_KERNEL": "/nonexistent/vmlinuz"})
    assert any(l.startswith("qemu: /") for l in lines(out, "[ ok ]")), out
    fail = assert_failed_at(rc, out, "kernel", SKIPPED_AFTER)
    assert "/nonexistent/vmlinuz" in fail and "no such file" in fail
    assert "GUESTKIT_KERNEL" in fail


def test_verbose_shows_the_appliance_console():
    rc, out, err = run_tool("--verbose", "--timeout", "300")
    assert rc == 0, out + err
    assert "Linux version" in out                   # the kernel's banner, on stdout
    assert "launch_timeout=300" in out              # --timeout reached the backend settings
    assert any(l.startswith("launch: ") for l in lines(out, "[ ok ]"))
    assert out.rstrip().splitlines()[-1] == "TEST FINISHED OK"


def test_unknown_backend_fails_the_launch():
    rc, out, _ = run_tool("--backend", "nosuch")
    fail = assert_failed_at(rc, out, "launch", ("calls",))
    assert "nosuch" in fail
    assert any(l.startswith("appliance: /") for l in lines(out, "[ ok ]"))


def test_help():
    rc, out, _ = run_tool("--help", timeout=60)
    assert rc == 0
    for opt in ("--verbose", "--backend", "--timeout"):
        assert opt in out
