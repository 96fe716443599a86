"""``guestkit``: the console-script entry point."""

import sys

from . import CliError
from .options import USAGE, configure_handle, mount_all, mount_inspected, parse_options
from .parse import split_commands
from .progress import ProgressBars, wanted as progress_wanted
from .shell import ERRORS, Shell, report
from .subcommands import SUBCOMMANDS


def make_handle():
    import guestkit     # imported only when a handle is really needed
    return guestkit.GuestFS(python_return_dict=True)


def _version():
    try:
        from importlib.metadata import version
        return version("guestkit")
    except Exception:
        import guestkit
        return guestkit.__version__


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    try:
        sys.stdout.reconfigure(errors="surrogateescape")
    except (AttributeError, ValueError):
        pass
    try:
        opts = parse_options(argv)
    except CliError as e:
        report(e)
        return 1
    if opts.help:
        from ..tools.registry import usage
        sys.stdout.write(USAGE + "\n" + usage())
        return 0
    if opts.version:
        sys.stdout.write("guestkit %s\n" % _version())
        return 0

    bars = ProgressBars() if progress_wanted(opts.progress_bars) else None

    def setup(g):
        configure_handle(g, opts)
        if bars is not None:
            bars.attach(g)
    shell = Shell(make_handle, setup=setup, readonly=opts.readonly,
                  after_call=bars.done if bars is not None else None)
    status = 0
    try:
        groups = split_commands(opts.commands)
        cmds = [shell.prepare(words) for words in groups]   # mistakes show before launch
        if opts.drives or opts.mounts or opts.inspector:
            shell.g                                          # add the drives now
        if opts.mounts or opts.inspector:
            shell.g.launch()
            if opts.inspector:
                mount_inspected(shell.g, opts)
            mount_all(shell.g, opts)
        if cmds:
            for cmd in cmds:
                if not shell.run(cmd):
                    break
        else:
            status = shell.run_input(sys.stdin)
    except ERRORS as e:
        report(e)
        status = 1
    except KeyboardInterrupt:
        sys.stderr.write("\nguestkit: interrupted\n")
        status = 130
    except BrokenPipeError:
        status = 1
    finally:
        status = shell.finish() or status
    return status


if __name__ == "__main__":
    sys.exit(main())
