"""``guestkit``: the console-script entry point."""

import sys

from . import CliError
from .options import (USAGE, configure_handle, mount_all, mount_inspected,
                      open_encrypted_disks, parse_options)
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

    if opts.cmd_help is not None:
        from .helptext import command_help, list_commands
        try:
            sys.stdout.write(command_help(opts.cmd_help) if opts.cmd_help
                             else list_commands())
        except CliError as e:
            report(e)
            return 1
        return 0
    if opts.listen and (opts.commands or opts.file is not None):
        report(CliError("--listen takes no commands: send them with guestkit --remote"))
        return 1
    if opts.file is not None and opts.commands:
        report(CliError("-f %s: commands on the command line too (%s); give either a "
                        "script or commands" % (opts.file, " ".join(opts.commands))))
        return 1
    if opts.remote is not None:
        from .remote import remote_pid, send
        try:
            return send(remote_pid(opts.remote), opts.commands)
        except CliError as e:
            report(e)
            return 1
    if opts.new and opts.new[0] == "help":
        from .prepared import describe_types
        sys.stdout.write(describe_types())
        return 0
    bars = ProgressBars() if progress_wanted(opts.progress_bars) else None

    def setup(g):
        configure_handle(g, opts)
        if bars is not None:
            bars.attach(g)

    def reattach(g):
        if bars is not None:
            bars.attach(g)
    shell = Shell(make_handle, setup=setup, readonly=opts.readonly,
                  after_call=bars.done if bars is not None else None,
                  pipe_error=opts.pipe_error, keys_from_stdin=opts.keys_from_stdin,
                  echo_keys=opts.echo_keys, reattach=reattach, json=opts.json)
    shell.dest_paths = opts.dest_paths
    try:
        return _run(shell, opts)
    except KeyboardInterrupt:
        sys.stderr.write("\nguestkit: interrupted\n")
        shell.finish()
        return 130


def _open_disks(shell, opts):
    """What the options ask for before the first command: -N disks made, drives added,
    and with -m, -i or -N the appliance launched and the filesystems mounted."""
    if opts.new:
        from .prepared import prepare_disks
        prepare_disks(shell.g, opts.new)
    if opts.drives or opts.mounts or opts.inspector:
        shell.g                                          # add the drives now
    if opts.mounts or opts.inspector or opts.new:
        shell.g.launch()
        if opts.new:
            from .prepared import format_disks
            format_disks(shell.g, opts.new)
        if opts.inspector:
            open_encrypted_disks(shell.g, opts, shell.read_key)
            mount_inspected(shell.g, opts)
        mount_all(shell.g, opts)


def _run(shell, opts):
    status = 0
    try:
        groups = split_commands(opts.commands)
        cmds = [shell.prepare(words) for words in groups]   # mistakes show before launch
        script = None
        if opts.file is not None:
            try:
                script = open(opts.file, encoding="utf-8", errors="surrogateescape")
            except OSError as e:
                raise CliError("-f %s: %s" % (opts.file, e.strerror or e)) from None
        if opts.listen:
            from .remote import listen
            return listen(lambda words: (shell.run_groups(split_commands(words)),
                                         shell.stopped),
                          lambda: _open_disks(shell, opts), shell.finish, csh=opts.csh)
        _open_disks(shell, opts)
        if cmds:
            for cmd in cmds:
                try:
                    if not shell.run(cmd):
                        break
                except ERRORS as e:
                    if not cmd.quiet:
                        raise
                    shell.report(e)
        elif script is not None:
            with script:
                status = shell.run_input(script, interactive=False, name=opts.file)
        else:
            status = shell.run_input(sys.stdin)
    except ERRORS as e:
        shell.report(e)
        status = 1
    except BrokenPipeError:
        status = 1
    finally:
        status = shell.finish() or status
    return status


if __name__ == "__main__":
    sys.exit(main())
