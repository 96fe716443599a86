"""Command-line options of ``guestkit`` and the handle calls they stand for.

Parsing stops at the first word that is not an option (the first command) or after ``--``;
the rest of the command line is commands separated by ``:`` words.  Nothing here starts a
VM: :func:`configure_handle` and :func:`mount_all` only call methods of the object they are
given, so they can be checked with a recorder.
"""

import sys

from . import CliError
from .uri import drive_from_uri, is_uri

USAGE = """\
usage: guestkit [OPTIONS] [CMD ARGS... [: CMD ARGS...]...]
       guestkit [OPTIONS] -f SCRIPT      (or a script starting #!/usr/bin/guestkit -f)

Open virtual-machine disk images and run guestkit actions on them, in guestfish's
language.  With no command, read commands from standard input (an interactive shell,
with history and completion, when it is a terminal).

options:
  -a, --add IMAGE         add a disk image (repeatable); or a remote disk as a URI:
                          nbd://HOST[:PORT][/EXPORT], nbd:///EXPORT?socket=/S,
                          http(s)/ftp(s)/tftp/ssh://[USER@]HOST[:PORT]/PATH,
                          iscsi://HOST[:PORT]/IQN[/LUN], rbd://[HOST[:PORT]]/POOL/DISK,
                          gluster://HOST[:PORT]/VOLUME/IMAGE
  --format FMT            image format of the following -a options (raw, qcow2, ...);
                          --format alone, --format= or --format auto: detect again
  --blocksize[=512|4096]  sector size of the following -a disks (alone: the default)
  --ro, -r                add drives read-only (the default)
  --rw, -w                add drives writable: needed to change the images
  -d, --domain DOMAIN     add the disks of a libvirt domain
  -c, --connect URI       libvirt URI used with -d
  -m, --mount DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]
                          mount DEV (at / by default) after launching
  -i, --inspector         inspect the disks and mount the operating system's
                          filesystems where it mounts them (read-only unless --rw)
  --key ID:key:KEY, --key ID:file:FILE
                          with -i, the key of the LUKS device ID (device or UUID);
                          other keys are asked for
  -N, --new [FILE=]TYPE   create a prepared disk (test1.img, ...) and add it;
                          -N help lists the types
  -f, --file SCRIPT       read commands from SCRIPT
  --keys-from-stdin       read keys and passphrases from standard input, one per line
                          (by default they are asked on the terminal, not echoed)
  --echo-keys             echo keys and passphrases as they are typed
  --pipe-error            a command fails when the host command it pipes into
                          ('CMD | host-cmd') stops reading early
  -n, --no-sync           do not sync the disks when the appliance is shut down
  --no-dest-paths         do not complete guest paths with the tab key
  -x, --trace             trace every call on standard error
  -v, --verbose           verbose messages (the appliance's console too)
  --backend NAME          backend launching the appliance (direct, libvirt, ...)
  --memsize MB            memory of the appliance
  --smp N                 virtual CPUs of the appliance
  --network               give the appliance a network (for rsync-in, rsync-out)
  --progress-bars         progress bars for long calls even when standard error is not
                          a terminal (--no-progress-bars: never; default: on a terminal)
  --json                  print each command's result as one line of JSON (the structures
                          the Python API returns; bytes as text, or {"base64": ...})
  --listen [--csh]        fork a shell into the background and print its pid as
                          GUESTFISH_PID=PID (for eval); --remote sends it commands
  --remote[=PID] CMD...   run commands in the background shell PID ($GUESTFISH_PID)
  --cmd-help [CMD]        list the commands, or describe CMD
  -h, --help              show this help
  -V, --version           show the version

Commands are the actions of guestkit, spelled with dashes or underscores, and the
shell's own commands (echo, time, glob, lcd, setenv, alloc, sparse, edit, more, event,
...); optional arguments follow the others as name:value words.  Integers take size
suffixes (512K, 100M, 1G; KB, MB for powers of 1000).  Commands that need the appliance
launch it; 'run' (or 'launch') launches it explicitly.  On the command line, separate
commands with a ':' word.  In a script: one command per line; '#' comments; "double"
(with \\n \\t escapes) or 'single' quotes; '-CMD' goes on if CMD fails; '!CMD' runs a
host command; '<!CMD' runs the commands a host command prints; 'CMD ... | host-cmd'
pipes CMD's output.  The first failing command stops a script with status 1; at a
terminal the shell goes on.  Type 'guestkit help' for the list of commands and
'guestkit help CMD' for one command.

examples:
  guestkit --rw -a disk.img run : mount /dev/sda1 / : write /hello hi : cat /hello
  guestkit -a disk.img -i <<EOF
  cat /etc/fstab
  ll /etc | grep passwd
  EOF
"""


class Options:
    """What the command line asks for."""

    def __init__(self):
        self.drives = []        # ("a", filename, format or None) or ("d", domain, None)
        self.readonly = True
        self.uri = None
        self.mounts = []        # (device, mountpoint, options or None, fstype or None)
        self.inspector = False
        self.trace = False
        self.verbose = False
        self.backend = None
        self.memsize = None
        self.smp = None
        self.network = False
        self.progress_bars = None   # None: on a terminal only
        self.json = False
        self.file = None            # -f FILE: the script to run
        self.keys_from_stdin = False
        self.echo_keys = False
        self.pipe_error = False
        self.autosync = True        # -n/--no-sync: False
        self.dest_paths = True      # --no-dest-paths: no guest paths in completion
        self.new = []               # -N [FILENAME=]TYPE: prepared disks (see prepared.py)
        self.keys = []              # --key ID:key:KEY | ID:file:FILE, for -i
        self.cmd_help = None        # --cmd-help [CMD]: "" for the list
        self.listen = False         # --listen: serve commands in the background
        self.csh = False            # --csh: print the listener's pid for csh
        self.remote = None          # --remote[=PID]: "" for $GUESTFISH_PID
        self.help = False
        self.version = False
        self.commands = []      # the words after the options
        self._format = None
        self._blocksize = None
        self.blocksizes = {}        # index in drives -> --blocksize in force for that -a

    def __repr__(self):
        return "Options(%r)" % {k: v for k, v in vars(self).items() if not k.startswith("_")}


def parse_mount_spec(text):
    """``DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]`` -> (dev, mountpoint, options, fstype).
    A ``btrfsvol:`` prefix belongs to the device."""
    prefix = ""
    if text.startswith("btrfsvol:"):
        prefix, text = "btrfsvol:", text[len("btrfsvol:"):]
    parts = text.split(":", 3)
    parts += [""] * (4 - len(parts))
    dev, mp, opts, fstype = parts
    if not dev:
        raise CliError("-m: missing device in %r" % (prefix + text))
    return prefix + dev, mp or "/", opts or None, fstype or None


def _positive_int(option, text):
    try:
        n = int(text, 10)
    except ValueError:
        n = 0
    if n <= 0:
        raise CliError("%s: expecting a positive number, got %r" % (option, text))
    return n


def _add(o, v):
    o.drives.append(("a", v, o._format))
    if o._blocksize:
        o.blocksizes[len(o.drives) - 1] = o._blocksize


def _set_blocksize(o, v):
    o._blocksize = _positive_int("--blocksize", v) if v else None


def _set_format(o, v):
    o._format = None if v in ("", "auto") else v


# option -> (takes an argument, what it does)
_OPTIONS = {
    "add": (True, _add),
    "format": (True, _set_format),
    "blocksize": (True, _set_blocksize),
    "ro": (False, lambda o, v: setattr(o, "readonly", True)),
    "rw": (False, lambda o, v: setattr(o, "readonly", False)),
    "domain": (True, lambda o, v: o.drives.append(("d", v, None))),
    "connect": (True, lambda o, v: setattr(o, "uri", v)),
    "mount": (True, lambda o, v: o.mounts.append(parse_mount_spec(v))),
    "inspector": (False, lambda o, v: setattr(o, "inspector", True)),
    "trace": (False, lambda o, v: setattr(o, "trace", True)),
    "verbose": (False, lambda o, v: setattr(o, "verbose", True)),
    "backend": (True, lambda o, v: setattr(o, "backend", v)),
    "memsize": (True, lambda o, v: setattr(o, "memsize", _positive_int("--memsize", v))),
    "smp": (True, lambda o, v: setattr(o, "smp", _positive_int("--smp", v))),
    "network": (False, lambda o, v: setattr(o, "network", True)),
    "progress-bars": (False, lambda o, v: setattr(o, "progress_bars", True)),
    "no-progress-bars": (False, lambda o, v: setattr(o, "progress_bars", False)),
    "json": (False, lambda o, v: setattr(o, "json", True)),
    "file": (True, lambda o, v: setattr(o, "file", v)),
    "keys-from-stdin": (False, lambda o, v: setattr(o, "keys_from_stdin", True)),
    "echo-keys": (False, lambda o, v: setattr(o, "echo_keys", True)),
    "pipe-error": (False, lambda o, v: setattr(o, "pipe_error", True)),
    "no-sync": (False, lambda o, v: setattr(o, "autosync", False)),
    "no-dest-paths": (False, lambda o, v: setattr(o, "dest_paths", False)),
    "selinux": (False, lambda o, v: None),          # guestfish: kept for old scripts, no-op
    "new": (True, lambda o, v: o.new.append(v)),
    "key": (True, lambda o, v: o.keys.append(v)),
    "listen": (False, lambda o, v: setattr(o, "listen", True)),
    "csh": (False, lambda o, v: setattr(o, "csh", True)),
    # --remote[=PID] is read in parse_options; listed for completion and the man page
    "remote": (False, lambda o, v: setattr(o, "remote", "")),
    # --cmd-help [CMD] (its argument is optional) is read in parse_options; listed here so
    # that everything made from this table (completion, man page) knows it
    "cmd-help": (False, lambda o, v: setattr(o, "cmd_help", "")),
    "help": (False, lambda o, v: setattr(o, "help", True)),
    "version": (False, lambda o, v: setattr(o, "version", True)),
}
_SHORT = {"a": "add", "r": "ro", "w": "rw", "d": "domain", "c": "connect", "m": "mount",
          "i": "inspector", "f": "file", "n": "no-sync", "N": "new",
          "x": "trace", "v": "verbose", "h": "help", "V": "version"}


def parse_options(argv):
    """Parse the command line into an Options (CliError on a bad option)."""
    o = Options()
    i = 0
    while i < len(argv):
        w = argv[i]
        if w == "--":
            o.commands = list(argv[i + 1:])
            return o
        if w == "--cmd-help":               # guestfish: --cmd-help [CMD]
            more = i + 1 < len(argv) and not argv[i + 1].startswith("-")
            o.cmd_help = argv[i + 1] if more else ""
            i += 2 if more else 1
            continue
        if w == "--remote" or w.startswith("--remote="):     # an optional =PID
            o.remote = w[len("--remote="):]
            i += 1
            continue
        if w.startswith("--"):
            name, eq, value = w[2:].partition("=")
            if name not in _OPTIONS:
                raise CliError("unknown option --%s (see guestkit --help)" % name)
            takes, apply = _OPTIONS[name]
            if name in ("format", "blocksize") and not eq and (
                    i + 1 >= len(argv) or argv[i + 1].startswith("-")):
                value, takes = "", False        # bare --format/--blocksize: the default
            elif takes and not eq:
                i += 1
                if i >= len(argv):
                    raise CliError("option --%s needs an argument" % name)
                value = argv[i]
            elif eq and not takes:
                raise CliError("option --%s takes no argument" % name)
            apply(o, value)
        elif w.startswith("-") and len(w) > 1:
            j = 1
            while j < len(w):
                c = w[j]
                if c not in _SHORT:
                    raise CliError("unknown option -%s (see guestkit --help)" % c)
                takes, apply = _OPTIONS[_SHORT[c]]
                if takes:
                    value = w[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise CliError("option -%s needs an argument" % c)
                        value = argv[i]
                    apply(o, value)
                    break
                apply(o, None)
                j += 1
        else:
            o.commands = list(argv[i:])
            return o
        i += 1
    return o


def configure_handle(g, o):
    """Make the calls the options stand for on handle G, before launch: properties first,
    then drives and domains in command-line order."""
    if o.verbose:
        g.set_verbose(True)
    if o.trace:
        g.set_trace(True)
    if o.backend is not None:
        g.set_backend(o.backend)
    if o.memsize is not None:
        g.set_memsize(o.memsize)
    if o.smp is not None:
        g.set_smp(o.smp)
    if o.network:
        g.set_network(True)
    if not o.autosync:
        g.set_autosync(False)
    for i, (what, name, fmt) in enumerate(o.drives):
        if what == "a":
            kw = {"readonly": o.readonly}
            if fmt is not None:
                kw["format"] = fmt
            if o.blocksizes.get(i):
                kw["blocksize"] = o.blocksizes[i]
            if is_uri(name):
                name, remote = drive_from_uri(name)
                kw.update(remote)
            g.add_drive_opts(name, **kw)
        else:
            add_domain = getattr(g, "add_domain", None)
            if add_domain is None:
                raise CliError("-d %s: this guestkit cannot add libvirt domains (no "
                               "add_domain); add the domain's disk images with -a" % name)
            kw = {"readonly": o.readonly}
            if o.uri is not None:
                kw["libvirturi"] = o.uri
            prompt_for_credentials(g)
            add_domain(name, **kw)


def prompt_for_credentials(g, stdin=None, stderr=None):
    """On a terminal, answer libvirt's credential requests by asking the user (secrets
    without echo), as command-line programs of libguestfs do."""
    import getpass
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    if not hasattr(g, "set_libvirt_supported_credentials") or not stdin.isatty():
        return False
    import guestkit
    g.set_libvirt_supported_credentials(["username", "authname", "passphrase",
                                         "echoprompt", "noechoprompt", "realm"])

    def ask(event, eh, buf, array):
        for i, kind in enumerate(g.get_libvirt_requested_credentials()):
            prompt = g.get_libvirt_requested_credential_prompt(i) or kind
            default = g.get_libvirt_requested_credential_defresult(i)
            text = "%s%s: " % (prompt.rstrip(": "), " [%s]" % default if default else "")
            if kind in ("passphrase", "noechoprompt"):
                answer = getpass.getpass(text, stream=stderr)
            else:
                stderr.write(text)
                stderr.flush()
                answer = stdin.readline().rstrip("\n") or default
            g.set_libvirt_requested_credential(i, answer.encode())
    g.set_event_callback(ask, guestkit.EVENT_LIBVIRT_AUTH)
    return True


def open_encrypted_disks(g, o, ask):
    """-i on encrypted guests: open every LUKS device (as luks-UUID) with the key a --key
    selector gives for its device name or UUID, else with ASK(device) (the shell asks on
    the terminal, or reads standard input with --keys-from-stdin), and activate the volume
    groups inside (the handle must be launched)."""
    from ..tools.common import ToolError, open_encrypted, parse_key_selector

    class Keys:
        def __init__(self):
            self.selectors = [parse_key_selector(s) for s in o.keys]

        def key_for(self, device, uuid):
            for ident, key in self.selectors:
                if ident in (device, uuid):
                    return key
            return ask(device)
    try:
        open_encrypted(g, Keys())
    except ToolError as e:
        raise CliError(str(e)) from None


def mount_inspected(g, o):
    """-i: inspect, then mount the one operating system found where it mounts its
    filesystems (the handle must be launched)."""
    roots = g.inspect_os()
    if not roots:
        raise CliError("-i: no operating system was found on the disks (use -m to mount "
                       "filesystems by hand; list-filesystems shows them)")
    if len(roots) > 1:
        raise CliError("-i: several operating systems were found (%s): choose with -m"
                       % ", ".join(roots))
    g.inspect_mount_root(roots[0], readwrite=not o.readonly)


def mount_all(g, o):
    """Mount the -m filesystems (the handle must be launched).  Without explicit options,
    read-only mode mounts with 'ro', except when the only disks are -N ones (new, made
    writable: --ro does not apply to them, as in guestfish)."""
    readonly = o.readonly and not (getattr(o, "new", None) and not getattr(o, "drives", 1))
    for dev, mp, opts, fstype in o.mounts:
        if opts is None:
            opts = "ro" if readonly else ""
        if fstype is not None:
            g.mount_vfs(opts, fstype, dev, mp)
        else:
            g.mount_options(opts, dev, mp)
