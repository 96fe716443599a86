"""Handlers of guestkit/actions/debugging.py: echo, sleep, kernel messages and caches,
modules, uname, the debug subcommands, and the old sfdisk partitioning calls."""

import os
import stat
import time

from .util import DaemonError, device, fail, run

#: what debug's outputs may hold at most (the host bounds a string reply anyway)
MAX_DEBUG_OUTPUT = 1 << 20


def do_echo_daemon(ctx, words):
    return " ".join(words)


def do_sleep(ctx, secs):
    if secs < 0:
        fail("sleep: negative time %d" % secs)
    time.sleep(secs)


def do_dmesg(ctx):
    out, _, _ = run(["dmesg"], limit=MAX_DEBUG_OUTPUT)
    return out


def do_drop_caches(ctx, whattodrop):
    if whattodrop not in (1, 2, 3):
        fail("drop_caches: whattodrop must be 1, 2 or 3, not %d" % whattodrop)
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("%d\n" % whattodrop)


def do_modprobe(ctx, modulename):
    if not modulename or modulename.startswith("-") or "/" in modulename:
        fail("modprobe: invalid module name %r" % modulename)
    run(["modprobe", "--", modulename])


def do_utsname(ctx):
    u = os.uname()
    return {"uts_sysname": u.sysname, "uts_release": u.release, "uts_version": u.version,
            "uts_machine": u.machine}


# ---- debug ----------------------------------------------------------------------------

def _ls(paths, long):
    lines = []
    for path in paths or ["/"]:
        if not path.startswith("/"):
            fail("debug ls: %r: give absolute paths in the appliance" % path)
        try:
            names = sorted(os.listdir(path))
        except OSError as e:
            raise DaemonError("debug ls: %s: %s" % (path, e.strerror), "ENOENT") from None
        for n in names:
            if not long:
                lines.append(n)
                continue
            try:
                st = os.lstat(os.path.join(path, n))
            except OSError:
                continue
            lines.append("%s %3d %5d %5d %10d %s" % (
                stat.filemode(st.st_mode), st.st_nlink, st.st_uid, st.st_gid, st.st_size, n))
    return "\n".join(lines) + ("\n" if lines else "")


def _fds():
    lines = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            lines.append("%s %s" % (fd, os.readlink("/proc/self/fd/" + fd)))
        except OSError:
            pass
    return "\n".join(lines) + "\n"


def _uptime():
    with open("/proc/uptime") as f:
        return f.read()


_SUBCMDS = {
    "help": lambda args: "subcommands: %s\n" % " ".join(sorted(_SUBCMDS)),
    "print": lambda args: " ".join(args) + "\n",
    "env": lambda args: "".join("%s=%s\n" % kv for kv in sorted(os.environ.items())),
    "fds": lambda args: _fds(),
    "ls": lambda args: _ls(args, False),
    "ll": lambda args: _ls(args, True),
    "uptime": lambda args: _uptime(),
}


def do_debug(ctx, subcmd, extraargs):
    f = _SUBCMDS.get(subcmd)
    if f is None:
        fail("debug: unknown subcommand %r (try help)" % subcmd)
    out = f(list(extraargs))
    if len(out) > MAX_DEBUG_OUTPUT:
        out = out[:MAX_DEBUG_OUTPUT]
    return out


def do_debug_drives(ctx):
    labels = {}
    base = "/dev/disk/guestfs"
    if os.path.isdir(base):
        for label in os.listdir(base):
            try:
                labels[os.path.basename(os.path.realpath(os.path.join(base, label)))] = label
            except OSError:
                pass
    lines = []
    for name in sorted(os.listdir("/sys/block"), key=lambda n: (len(n), n)):
        if not name.startswith(("sd", "vd")):
            continue
        try:
            with open("/sys/block/%s/size" % name) as f:
                size = int(f.read()) * 512
            with open("/sys/block/%s/ro" % name) as f:
                ro = f.read().strip()
        except (OSError, ValueError):
            continue
        line = "device=/dev/%s size=%d readonly=%s" % (name, size, ro)
        if name in labels:
            line += " label=%s" % labels[name]
        lines.append(line)
    return lines


def do_debug_upload(ctx, tmpname, mode):
    if not tmpname or "/" in tmpname or tmpname in (".", "..") or "\0" in tmpname:
        fail("debug_upload: tmpname must be a plain file name, not %r" % tmpname)
    if mode < 0 or mode > 0o7777:
        fail("debug_upload: mode %o out of range" % mode)
    path = os.path.join("/tmp", tmpname)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        for chunk in ctx.instream():
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


# ---- sfdisk (deprecated) --------------------------------------------------------------

def _sfdisk(ctx, dev, lines, extra=()):
    from .partitions import _wait_nodes
    from .devices import refresh_label_links
    for line in lines:
        if "\n" in line:
            fail("sfdisk: a line must not contain a newline")
    text = "".join(line + "\n" for line in lines)
    try:
        run(["sfdisk", "--wipe", "never"] + list(extra) + ["--", dev],
            input=text.encode("utf-8"))
    finally:
        _wait_nodes(dev)
        refresh_label_links(ctx)


def do_sfdisk(ctx, dev, cyls, heads, sectors, lines):
    _sfdisk(ctx, device(dev), lines)


def _megabytes(line):
    """A line of sfdiskM: start and size in MB become sfdisk's M suffix."""
    fields = line.split(",")
    for i in (0, 1):
        if i < len(fields):
            f = fields[i].strip()
            if f.isdigit():
                fields[i] = f + "M"
            elif f.startswith("+") and f[1:].isdigit():
                fields[i] = "+" + f[1:] + "M"
    return ",".join(fields)


def do_sfdiskM(ctx, dev, lines):
    _sfdisk(ctx, device(dev), [_megabytes(line) for line in lines])


def do_sfdisk_N(ctx, dev, partnum, cyls, heads, sectors, line):
    if partnum < 1:
        fail("sfdisk_N: partnum must be 1 or more, not %d" % partnum)
    _sfdisk(ctx, device(dev), [line], ["-N", str(partnum)])
