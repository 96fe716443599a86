"""Running the guest's own programs, chrooted in the guest root inside the appliance."""

import os

from .util import DaemonError, run

_BINDS = ("dev", "dev/pts", "proc", "sys")


def _bind(ctx):
    done = []
    for b in _BINDS:
        target = os.path.join(ctx.sysroot, b)
        # only bind onto real directories of the guest, never through a symlink
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


def _command(ctx, argv):
    ctx.need_root()
    if not argv:
        raise DaemonError("command: empty argument list", "EINVAL")
    binds = _bind(ctx)
    try:
        out, err, rc = run(argv, check=False, preexec_fn=_chroot(ctx.sysroot),
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
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
