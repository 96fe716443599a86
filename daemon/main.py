"""guestkitd entry points: as the appliance's init (PID 1), or listening on a socket."""

import os
import sys
import time

from .contract import (CHANNEL, CMDLINE_DRIVES, CMDLINE_NETWORK, CMDLINE_PREFIX,
                       CMDLINE_VERBOSE)


def _cmdline():
    try:
        with open("/proc/cmdline") as f:
            words = f.read().split()
    except OSError:
        return {}
    out = {}
    for w in words:
        k, _, v = w.partition("=")
        if k.startswith(CMDLINE_PREFIX):
            out[k[len(CMDLINE_PREFIX):]] = v
    return out


def _find_port(timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            for p in os.listdir("/sys/class/virtio-ports"):
                try:
                    with open("/sys/class/virtio-ports/%s/name" % p) as f:
                        if f.read().strip() == CHANNEL:
                            return "/dev/" + p
                except OSError:
                    pass
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("guestkitd: virtio-serial port %s never appeared" % CHANNEL)
        time.sleep(0.005)


def appliance_init():
    """PID 1 of the appliance: set up the system, then serve the library."""
    t0 = time.monotonic()
    os.environ.update({"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
                       "HOME": "/root", "TERM": "dumb"})
    from . import boot
    marks = boot.early_boot(t0)
    opts = _cmdline()
    verbose = opts.get(CMDLINE_VERBOSE) == "1"
    try:
        boot.scan_disks(int(opts.get(CMDLINE_DRIVES, "0") or 0))
    except (OSError, ValueError) as e:
        print("guestkitd: %s" % e, file=sys.stderr, flush=True)
    marks["disks"] = round(time.monotonic() - t0, 3)
    if opts.get(CMDLINE_NETWORK) == "1":
        try:
            from . import network
            network.bring_up()
        except Exception as e:      # the daemon still serves; rsync_in/out will say why
            print("guestkitd: network: %s" % e, file=sys.stderr, flush=True)
        marks["network"] = round(time.monotonic() - t0, 3)
    os.makedirs("/sysroot", exist_ok=True)
    # import the handlers while the kernel finishes probing the virtio-serial port
    from .server import load_handlers, Server
    handlers = load_handlers()
    marks["handlers"] = round(time.monotonic() - t0, 3)
    port = _find_port()
    fd = os.open(port, os.O_RDWR | os.O_CLOEXEC)
    marks["port"] = round(time.monotonic() - t0, 3)
    server = Server(fd, fd, sysroot="/sysroot", verbose=verbose, handlers=handlers)
    server.hello({"boot_s": round(time.monotonic() - t0, 3), "marks": marks,
                  "release": os.uname().release})
    try:
        server.serve()
    except Exception as e:          # a broken session: say so on the console, then stop
        print("guestkitd: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
    finally:
        _poweroff()


def _poweroff():
    try:
        os.sync()
        from .mounts import umount_all

        class _C:
            sysroot = "/sysroot"
        umount_all(_C())
    except Exception:
        pass
    os.sync()
    try:
        # reboot, not power off: it needs no ACPI, and qemu runs with -no-reboot (libvirt
        # with on_reboot=destroy), so the appliance ends either way
        with open("/proc/sysrq-trigger", "w") as f:
            f.write("b")
    except OSError:
        pass
    time.sleep(10)
    os._exit(0)


def main(argv=None):
    """guestkitd command: serve on a socket (see --help)."""
    argv = sys.argv[1:] if argv is None else argv
    if os.getpid() == 1 or "--init" in argv:
        appliance_init()            # before anything else is imported: boot time counts
        return 0
    import argparse
    ap = argparse.ArgumentParser(prog="guestkitd", description="the guestkit daemon")
    ap.add_argument("--listen", metavar="ADDR",
                    help="unix:PATH or tcp:HOST:PORT to serve one client at a time (TCP: "
                         "TLS with --tls-cert/--tls-key, clients proven by --token-file "
                         "and/or --tls-ca)")
    from .listen import add_listen_options, listen_tls, serve_forever
    add_listen_options(ap)
    ap.add_argument("--sysroot", default="/sysroot",
                    help="where guest filesystems are mounted (default /sysroot)")
    ap.add_argument("--init", action="store_true",
                    help="run as the appliance's init (PID 1)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if not a.listen:
        ap.error("--listen is required outside the appliance")
    try:
        return serve_forever(a.listen, a.sysroot, a.verbose, token_file=a.token_file,
                             tls=listen_tls(ap, a), insecure_plaintext=a.insecure_plaintext)
    except (ValueError, OSError) as e:
        ap.exit(1, "guestkitd: %s\n" % e)


if __name__ == "__main__":
    sys.exit(main())
