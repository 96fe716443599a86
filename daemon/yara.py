"""Handlers for the yara_* actions, through the Yara tools the appliance carries.

yara_load receives the rules into a private directory of the appliance; source is compiled
there with yarac, so that errors show at load time and yara_scan always runs compiled rules
(``yara -C``).  yara_scan opens the guest file itself (resolved in the guest root, no final
symlink, never blocking, regular files only) and hands the tool that very file as
/proc/self/fd/N.  Rule identifiers are parsed from the tool's output, which is bounded.
"""

import os
import re
import shutil
import tempfile

from .util import DaemonError, open_nonblocking, run

MAX_RULES = 64 << 20
MAX_OUTPUT = 16 << 20
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _available():
    from .system import group_available
    if not group_available("libyara"):
        raise DaemonError("the libyara feature is not available in this appliance", "ENOTSUP")


def _drop(ctx):
    d = ctx.server.state.pop("yara", None)
    if d:
        shutil.rmtree(d, ignore_errors=True)


def do_yara_load(ctx):
    try:
        _available()
        _drop(ctx)
        d = tempfile.mkdtemp(prefix="guestkit-yara-")
    except BaseException:
        ctx.stop_sender()
        raise
    ok = False
    try:
        src = os.path.join(d, "rules.in")
        total = 0
        with open(src, "wb") as f:
            for chunk in ctx.instream():
                total += len(chunk)
                if total > MAX_RULES:
                    ctx.stop_sender()
                    raise DaemonError("yara_load: the rules file is larger than %d bytes"
                                      % MAX_RULES, "EFBIG")
                f.write(chunk)
                ctx.progress(total, 0)
        with open(src, "rb") as f:
            compiled = f.read(4) == b"YARA"
        rules = os.path.join(d, "rules.yarc")
        if compiled:
            os.rename(src, rules)
        else:
            _, err, rc = run(["yarac", "-w", src, rules], check=False,
                             cwd=d, timeout=600)
            if rc != 0:
                raise DaemonError("yara_load: the rules do not compile: %s"
                                  % err.strip().replace(src, "<rules>")[-2000:], "EINVAL")
        empty = os.path.join(d, "empty")
        open(empty, "wb").close()
        _, err, rc = run(["yara", "-w", "-C", rules, empty], check=False, timeout=600)
        if rc != 0:
            raise DaemonError("yara_load: Yara cannot load these rules: %s"
                              % err.strip()[-2000:], "EINVAL")
        ctx.server.state["yara"] = d
        ok = True
    finally:
        if not ok:
            shutil.rmtree(d, ignore_errors=True)


def do_yara_scan(ctx, path):
    d = ctx.server.state.get("yara")
    if not d:
        raise DaemonError("yara_scan: no yara rules are loaded (use yara_load)", "EINVAL")
    ctx.need_root()
    apath = ctx.existing(path)
    fd, _st = open_nonblocking(apath, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        ctx.progress(0, 1, force=True)
        target = "/proc/self/fd/%d" % fd
        out, err, rc = run(["yara", "-w", "-C", os.path.join(d, "rules.yarc"), target],
                           check=False, pass_fds=(fd,), limit=MAX_OUTPUT)
        if rc != 0:
            raise DaemonError("yara_scan: %s: %s" % (path, err.strip()[-2000:]), "EIO")
    finally:
        os.close(fd)
    found = []
    for line in out.splitlines():
        rule, sep, where = line.partition(" ")
        if sep and where == target and _IDENT.match(rule) and rule not in found:
            found.append(rule)
    ctx.progress(1, 1, force=True)
    return [{"yara_name": path, "yara_rule": r} for r in found]


def do_yara_destroy(ctx):
    if not ctx.server.state.get("yara"):
        raise DaemonError("yara_destroy: no yara rules are loaded", "EINVAL")
    _drop(ctx)
