"""Running the guest's own programs, chrooted in the guest root inside the appliance."""

import os
import stat

from .util import DaemonError, run

_BINDS = ("dev", "dev/pts", "proc", "sys")
GUEST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
#: the most a guest program may print: more is refused (EFBIG) rather than gathered, and
#: escaped as JSON it still fits one reply (protocol.MAX_JSON)
MAX_OUTPUT = 8 << 20


def _bind(ctx):
    """Bind the appliance's /dev, /dev/pts, /proc and /sys onto the guest's directories of
    those names, for the command's sake; only onto real directories of the guest, reached
    without any symlink (a guest symlink must never choose where something is mounted)."""
    done = []
    for b in _BINDS:
        target = ctx.sysroot + "/" + b
        try:
            if ctx.resolve("/" + b) != target:
                continue                        # a symlink on the way
        except OSError:
            continue
        if os.path.isdir(target) and not os.path.islink(target) and not os.path.ismount(target):
            try:
                run(["mount", "--bind", "/" + b, target])
                done.append(target)
            except DaemonError:
                pass
    return done


def _unbind(done):
    for target in reversed(done):
        run(["umount", "-l", "--", target], check=False)


def _chroot(root):
    def pre():
        os.chroot(root)
        os.chdir("/")
    return pre


def _find_program(ctx, prog):
    """The guest path of PROG (looked up in the guest's PATH when it has no slash), or None."""
    if "/" in prog:
        cands = [prog if prog.startswith("/") else "/" + prog]
    else:
        cands = [d + "/" + prog for d in GUEST_PATH.split(":")]
    for c in cands:
        try:
            st = os.stat(ctx.resolve(c))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            return c
    return None


def _missing(prog, why="no such program in the guest"):
    return DaemonError("%s: %s (commands run the guest's own programs, chrooted in the "
                       "mounted guest root; the appliance's tools are not available there)"
                       % (prog, why), "ENOENT")


def _command(ctx, argv):
    ctx.need_root()
    if not argv:
        raise DaemonError("command: empty argument list", "EINVAL")
    if _find_program(ctx, argv[0]) is None:
        raise _missing(argv[0])
    binds = _bind(ctx)
    try:
        out, err, rc = run(argv, check=False, preexec_fn=_chroot(ctx.sysroot),
                           env={"PATH": GUEST_PATH}, limit=MAX_OUTPUT)
    except DaemonError as e:
        if e.errno_name == "ENOENT":
            # the program exists, so its interpreter (ELF loader, #! line) is missing
            raise _missing(argv[0], "cannot be run: its interpreter or loader is missing "
                                    "in the guest") from None
        raise
    finally:
        _unbind(binds)
    if rc != 0:
        raise DaemonError("%s: %s" % (argv[0], (err.strip() or out.strip() or
                                                 "exit status %d" % rc)), "EIO")
    return out


def _lines(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def do_command(ctx, arguments):
    return _command(ctx, arguments)


def do_command_lines(ctx, arguments):
    return _lines(_command(ctx, arguments))


def do_sh(ctx, command):
    return _command(ctx, ["/bin/sh", "-c", command])


def do_sh_lines(ctx, command):
    return _lines(do_sh(ctx, command))
