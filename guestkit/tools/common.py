"""What the virt-* style tools share: the options that name the guest (-a, --format, -d, -c,
-v, -x) and its keys (--key, --keys-from-stdin, --echo-keys), opening the guest read-only,
and opening its encrypted devices with those keys."""

import argparse
import datetime
import json
import os
import sys

import guestkit

#: rounds of "open what is encrypted, then look again" (LUKS on LVM on LUKS ...)
MAX_KEY_ROUNDS = 4


class ToolError(Exception):
    """A user-facing failure of a tool: printed as "TOOL: MESSAGE", exit status 1."""


class _Drive(argparse.Action):
    """-a/-d append (kind, name, the --format in force) in command-line order."""

    def __call__(self, parser, ns, value, option=None):
        kind = "d" if option in ("-d", "--domain") else "a"
        ns.drives.append((kind, value, ns.format if kind == "a" else None))


class _Scratch(argparse.Action):
    """--scratch[=N]: N blank disks (default 1), in command-line order among -a and -d."""

    def __call__(self, parser, ns, value, option=None):
        try:
            count = 1 if value is None else int(value)
        except ValueError:
            count = 0
        if count < 1:
            parser.error("--scratch: expected a number of disks of at least 1, got %r"
                         % value)
        ns.drives.append(("scratch", count, None))


#: the size of each --scratch disk (sparse), as virt-rescue gives
SCRATCH_SIZE = 10 << 30


def add_scratch_option(ap):
    ap.add_argument("--scratch", action=_Scratch, nargs="?", metavar="N",
                    help="add N blank scratch disks (default 1, %d GiB each, deleted at the "
                         "end)" % (SCRATCH_SIZE >> 30))


def add_appliance_options(ap, memsize=("--memsize",),
                          network_help="give the appliance a network (user-mode networking)"):
    """--network, --memsize (or the names MEMSIZE), --smp: what the appliance is given
    (applied by appliance_setup)."""
    ap.add_argument("--network", dest="network", action="store_true", default=None,
                    help=network_help)
    ap.add_argument(*memsize, dest="memsize", type=int, metavar="MB",
                    help="appliance memory")
    ap.add_argument("--smp", type=int, metavar="N", help="appliance virtual CPUs")


def appliance_setup(g, ns):
    """Apply the options add_appliance_options added (and --append, if the tool has it)."""
    g.set_network(bool(ns.network))
    if ns.memsize:
        g.set_memsize(ns.memsize)
    if ns.smp:
        g.set_smp(ns.smp)
    if getattr(ns, "append", None):
        g.set_append(ns.append)


class _Format(argparse.Action):
    def __call__(self, parser, ns, value, option=None):
        ns.format = None if value in (None, "", "auto") else value


class _MachineReadable(argparse.Action):
    """--machine-readable[=fd:N|file:F|stream:stdout|stream:stderr]: where the JSON messages
    (errors, warnings) go, as guestfs(3) "ADVANCED MACHINE READABLE OUTPUT" defines; the
    tool's own output stays where it was."""

    def __call__(self, parser, ns, value, option=None):
        global _machine
        value = value or "stream:stdout"
        kind, _, where = value.partition(":")
        try:
            if kind == "stream" and where in ("stdout", "stderr"):
                stream = getattr(sys, where)
            elif kind == "fd" and where.isdigit():
                stream = os.fdopen(int(where), "w", closefd=False)
            elif kind == "file" and where:
                stream = open(where, "a", encoding="utf-8")
            else:
                parser.error("--machine-readable: expected fd:N, file:FILE, stream:stdout "
                             "or stream:stderr, got %r" % value)
        except OSError as e:
            parser.error("--machine-readable %s: %s" % (value, e.strerror))
        ns.machine_readable = _machine = stream


#: the --machine-readable stream of this run, or None
_machine = None


def machine_message(kind, text):
    """Write one JSON message (kind: message, info, warning, error, progress) to the
    --machine-readable stream, if one was asked for."""
    if _machine is None:
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat()
    _machine.write(json.dumps({"message": text, "timestamp": stamp, "type": kind}) + "\n")
    _machine.flush()


def print_json(doc, out=None):
    """--json: the tool's whole result as one JSON document."""
    out = out or sys.stdout
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")


def json_excludes(ns, **options):
    """--json shows structures, not layouts: refuse it beside the layout OPTIONS, given as
    dest=option name."""
    if not getattr(ns, "json", False):
        return
    for dest, option in options.items():
        if getattr(ns, dest, None):
            raise ToolError("--json and %s do not go together" % option)


class _Mount(argparse.Action):
    def __call__(self, parser, ns, value, option=None):
        from ..cli import CliError
        from ..cli.options import parse_mount_spec
        try:
            ns.mounts.append(parse_mount_spec(value))
        except CliError as e:
            parser.error(str(e))


def guest_parser(prog, description, mounts=False, writable=False, add_help=True,
                 drives=True, rw_letters=False,
                 mount_help="instead of the filesystems inspection finds"):
    """An ArgumentParser with the shared guest and key options; MOUNTS adds -m (the guest
    is otherwise mounted as inspection finds it, or as MOUNT_HELP says), WRITABLE adds
    --ro/--rw; without
    ADD_HELP, -h is the tool's own (human-readable sizes) and only --help shows help;
    without DRIVES, the tool names its disks itself (no -a, -d, -c); RW_LETTERS: -r and -w
    stand for --ro and --rw too."""
    ap = argparse.ArgumentParser(prog=prog, description=description, add_help=add_help)
    ap.set_defaults(drives=[], format=None, mounts=[], readonly=not writable)
    if mounts:
        ap.add_argument("-m", "--mount", action=_Mount, metavar="DEV[:MNT[:OPTS[:FSTYPE]]]",
                        help="mount DEV on MNT (default /) %s; repeatable" % mount_help)
    if writable:
        ap.add_argument(*(("-r",) if rw_letters else ()), "--ro", dest="readonly",
                        action="store_true", help="open the disks read-only")
        ap.add_argument(*(("-w",) if rw_letters else ()), "--rw", dest="readonly",
                        action="store_false",
                        help="open the disks for writing (the default of this tool)")
    if drives:
        ap.add_argument("-a", "--add", action=_Drive, metavar="IMAGE",
                        help="add a disk image (repeatable)")
        ap.add_argument("--format", action=_Format, nargs="?", metavar="FMT",
                        help="format of the following -a images (raw, qcow2, ...); without a "
                             "value, detect it again")
        ap.add_argument("-d", "--domain", action=_Drive, metavar="GUEST",
                        help="add the disks of a libvirt guest (name or UUID)")
        ap.add_argument("-c", "--connect", metavar="URI", help="libvirt URI used with -d")
    ap.add_argument("--key", action="append", default=[], metavar="ID:key:PASS|ID:file:FILE",
                    help="the passphrase of the LUKS device ID (device name or LUKS UUID)")
    ap.add_argument("--keys-from-stdin", action="store_true",
                    help="read passphrases from standard input, one per line")
    ap.add_argument("--echo-keys", action="store_true",
                    help="show passphrases as they are typed")
    ap.add_argument("--progress-bars", dest="progress_bars", action="store_true",
                    default=None, help="progress bars for long transfers even when "
                                       "standard error is not a terminal")
    ap.add_argument("--no-progress-bars", dest="progress_bars", action="store_false",
                    help="never draw progress bars (default: on a terminal only)")
    ap.add_argument("--machine-readable", action=_MachineReadable, nargs="?",
                    metavar="fd:N|file:F|stream:stdout|stream:stderr", default=None,
                    help="errors and warnings also as JSON messages there (stdout if no "
                         "place is given); alone, list what this tool supports")
    ap.add_argument("-v", "--verbose", action="store_true", help="verbose messages")
    ap.add_argument("-x", dest="trace", action="store_true", help="trace every call")
    return ap


def capabilities(ap):
    """What --machine-readable alone prints: the tool's name, then one feature per line."""
    dests = {a.dest for a in ap._actions}
    lines = [ap.prog.replace(" ", "-"), "machine-readable"]
    lines += [f for f in ("json", "csv") if f in dests]
    return "\n".join(lines) + "\n"


class _Parsed(Exception):
    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def parser_from(body):
    """The argparse parser the tool function BODY builds, caught as BODY parses its
    arguments: BODY goes no further (for --machine-readable alone, the man pages and the
    shell completion)."""
    real = argparse.ArgumentParser.parse_args

    def catch(self, *args, **kwargs):
        raise _Parsed(self)
    argparse.ArgumentParser.parse_args = catch
    try:
        body([])
    except _Parsed as caught:
        return caught.parser
    finally:
        argparse.ArgumentParser.parse_args = real
    raise RuntimeError("%r does not parse its arguments with argparse" % body)


def open_guest(ns, mount=False, setup=None, pgroup=False, keys=None, encrypted=True):
    """A launched handle on the guest the options name (read-only unless ns.readonly is
    False), its encrypted devices opened; MOUNT: its filesystems mounted, the -m ones or
    else where inspection says the operating system mounts them.  SETUP(g), when given,
    configures the handle before the launch (network, memory...).  PGROUP: qemu runs in a
    process group of its own (a Ctrl-C on the terminal reaches the tool only, which then
    shuts the appliance down itself).  KEYS: a Keys to reuse (a tool that opens the guest
    again asks for each passphrase once).  Without ENCRYPTED, encrypted devices are left
    as they are (the scan for them takes seconds on a slow machine)."""
    readonly = getattr(ns, "readonly", True)
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        if not ns.drives and not g.get_backend().startswith("remote"):
            # a remote server has the disks it was started with: none are added here
            raise ToolError("no disk given: use -a IMAGE or -d GUEST")
        g.set_verbose(ns.verbose)
        g.set_trace(ns.trace)
        if pgroup:
            g.set_pgroup(True)
        from ..cli.progress import ProgressBars, wanted
        if wanted(getattr(ns, "progress_bars", None)):
            ProgressBars().attach(g)
        for kind, name, fmt in ns.drives:
            if kind == "a":
                g.add_drive_opts(name, readonly=readonly, **({"format": fmt} if fmt else {}))
            elif kind == "scratch":
                for _ in range(name):
                    g.add_drive_scratch(SCRATCH_SIZE)
            else:
                g.add_domain(name, readonly=readonly,
                             **({"libvirturi": ns.connect} if ns.connect else {}))
        if setup is not None:
            setup(g)
        g.launch()
        if encrypted:
            open_encrypted(g, keys or Keys(ns))
        if mount:
            mount_guest(g, ns, readonly)
    except BaseException:
        g.close()
        raise
    return g


def mount_guest(g, ns, readonly):
    """Mount the -m filesystems, or the one operating system inspection finds."""
    if ns.mounts:
        from ..cli.options import mount_all
        mount_all(g, ns)                # the shell's -m, the same way
        return
    roots = g.inspect_os()
    if not roots:
        raise ToolError("no operating system was found on this disk: name the "
                        "filesystems to use with -m DEV[:MOUNTPOINT] (guestkit filesystems "
                        "lists them)")
    if len(roots) > 1:
        raise ToolError("several operating systems were found (%s): choose the "
                        "filesystems with -m" % ", ".join(roots))
    g.inspect_mount_root(roots[0], readwrite=not readonly)


class Keys:
    """Where passphrases come from: --key selectors first, then standard input
    (--keys-from-stdin, one line each), else a prompt on the terminal."""

    def __init__(self, ns, stdin=None):
        self.selectors = [parse_key_selector(s) for s in ns.key]
        self.from_stdin = ns.keys_from_stdin
        self.echo = ns.echo_keys
        self.stdin = stdin or sys.stdin
        self.given = {}                 # (device, uuid) -> the passphrase given for it

    def key_for(self, device, uuid):
        if (device, uuid) not in self.given:
            self.given[device, uuid] = self._ask(device, uuid)
        return self.given[device, uuid]

    def _ask(self, device, uuid):
        for ident, key in self.selectors:
            if ident in (device, uuid):
                return key
        prompt = "Enter key or passphrase (\"%s\"): " % device
        if self.from_stdin:
            line = self.stdin.readline()
            if not line:
                raise ToolError("%s is encrypted and standard input has no more keys"
                                % device)
            return line.rstrip("\n")
        from ..cli.terminal import ask
        key = ask(prompt, echo=self.echo)
        if key is None:
            raise ToolError("%s is encrypted: give its key with --key or "
                            "--keys-from-stdin (there is no terminal to ask on)" % device)
        return key


def parse_key_selector(text):
    """ID:key:PASS or ID:file:FILE -> (ID, passphrase).  Neither a device name nor a LUKS
    UUID holds a colon, so the first one ends the ID; the passphrase may hold any."""
    ident, _, rest = text.partition(":")
    kind, _, value = rest.partition(":")
    if ident and kind == "key":
        return ident, value
    if ident and kind == "file" and value:
        try:
            with open(value) as f:
                return ident, f.readline().rstrip("\n")
        except OSError as e:
            raise ToolError("--key %s:file:%s: %s" % (ident, value, e.strerror)) from None
    raise ToolError("--key %r: expecting ID:key:PASSPHRASE or ID:file:FILENAME" % text)


def _encrypted(g, opened):
    cands = g.list_partitions() + g.list_devices() + g.lvs()
    out = []
    for dev in cands:
        if dev in opened:
            continue
        try:
            if g.vfs_type(dev) == "crypto_LUKS":
                out.append(dev)
        except guestkit.Error:
            continue
    return out


def open_encrypted(g, keys):
    """Open every LUKS device with its key (as luks-UUID), then activate the volume groups
    that appear inside; again, for layers below those."""
    opened = set()
    for _ in range(MAX_KEY_ROUNDS):
        todo = _encrypted(g, opened)
        if not todo:
            return
        for dev in todo:
            uuid = g.luks_uuid(dev)
            try:
                g.cryptsetup_open(dev, keys.key_for(dev, uuid), "luks-" + uuid)
            except guestkit.Error as e:
                raise ToolError("%s: cannot open it with the key given: %s" % (dev, e)) \
                    from None
            opened.add(dev)
        g.lvm_scan(True)


def csv_field(text):
    """TEXT as a CSV field the virt tools' way: quoted only when it holds a space, a quote,
    a newline or a comma."""
    if any(c in text for c in ' ",\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def run_tool(prog, body, argv):
    """Run BODY(argv); a ToolError or a guestkit.Error is printed as "PROG: error", 1.
    --machine-readable alone prints what the tool supports."""
    if argv and all(a == "--machine-readable" or a.startswith("--machine-readable=")
                    for a in argv):
        mr = argparse.ArgumentParser(prog=prog, add_help=False)
        mr.add_argument("--machine-readable", action=_MachineReadable, nargs="?")
        stream = mr.parse_args(argv).machine_readable
        stream.write(capabilities(parser_from(body)))
        stream.flush()
        return 0
    try:
        return body(argv)
    except (ToolError, guestkit.Error) as e:
        sys.stderr.write("%s: %s\n" % (prog, e))
        machine_message("error", "%s: %s" % (prog, e))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\n%s: interrupted\n" % prog)
        return 130
