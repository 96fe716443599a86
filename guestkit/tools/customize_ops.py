"""The operations of ``guestkit customize`` (virt-customize's), one function each, in one
table that makes the tool's options, its man page and its help: ``guestkit sysprep`` takes
them too.  Every operation works on the guest's mounted filesystems through the API, so
guest paths stay inside the guest and nothing from the guest runs on the host."""

import os
import shlex
from collections import namedtuple

import guestkit
from . import passwords
from .common import ToolError

Op = namedtuple("Op", "name metavar help run network")

OPS = {}            # option name (without --) -> Op


def op(name, metavar, help, network=False):
    def register(fn):
        OPS[name] = Op(name, metavar, help, fn, network)
        return fn
    return register


def split(value, option, parts=2):
    """VALUE split at its first unescaped colon(s) ("\\:" is a colon in the name)."""
    out, cur, i = [], [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] == ":":
            cur.append(":")
            i += 2
            continue
        if c == ":" and len(out) < parts - 1:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    if len(out) != parts or not all(out[:-1]):
        raise ToolError("--%s %r: expected %s" % (option, value, OPS[option].metavar))
    return out


class Context:
    """What operations share: the handle, the inspected root and how to speak."""

    def __init__(self, g, root, say, verbose=False, password_crypto="sha512"):
        self.g, self.root, self.say, self.verbose = g, root, say, verbose
        self.password_crypto = password_crypto
        self.firstboot_count = 0

    def info(self, what):
        return getattr(self.g, "inspect_get_" + what)(self.root)

    def run(self, command):
        """Run COMMAND with the guest's /bin/sh, inside the appliance."""
        if not self.g.exists("/bin/sh"):
            raise ToolError("this guest has no /bin/sh to run commands with")
        out = self.g.sh(command)
        if self.verbose and out:
            import sys
            sys.stderr.write(out if out.endswith("\n") else out + "\n")
        return out


# ---- files ----

@op("append-line", "FILE:LINE", "append LINE to FILE (made if missing), with the newline "
    "convention the file already uses")
def append_line(ctx, value):
    path, line = split(value, "append-line")
    g = ctx.g
    if g.exists(path):
        content = g.read_file(path)
        nl = b"\r\n" if b"\r\n" in content else b"\n"
        if content and not content.endswith(b"\n"):
            g.write_append(path, nl)
        g.write_append(path, line.encode() + nl)
    else:
        g.write(path, line.encode() + b"\n")


@op("chmod", "PERMISSIONS:FILE", "change the permissions of FILE (octal)")
def chmod(ctx, value):
    perms, path = split(value, "chmod")
    ctx.g.chmod(_octal(value, perms), path)


@op("chown", "UID.GID:PATH", "change the owner of PATH to the numeric UID and GID")
def chown(ctx, value):
    ids, path = split(value, "chown")
    uid, dot, gid = ids.partition(".")
    if not (dot and uid.isdigit() and gid.isdigit()):
        raise ToolError("--chown %s: expected numeric UID.GID" % value)
    ctx.g.chown(int(uid), int(gid), path)


@op("copy", "SOURCE:DEST", "copy SOURCE to DEST inside the guest (recursively)")
def copy(ctx, value):
    ctx.g.cp_a(*split(value, "copy"))


@op("copy-in", "LOCALPATH:REMOTEDIR", "copy the host file or directory into the guest "
    "directory REMOTEDIR")
def copy_in(ctx, value):
    local, remote = split(value, "copy-in")
    if not os.path.exists(local):
        raise ToolError("--copy-in: %s: no such host file or directory" % local)
    ctx.g.copy_in(local, remote)


@op("delete", "PATH", "delete PATH (recursively)")
def delete(ctx, value):
    ctx.g.rm_rf(value)


@op("link", "TARGET:LINK[:LINK...]", "make each LINK a symbolic link to TARGET")
def link(ctx, value):
    target, rest = split(value, "link")
    for name in rest.split(":"):
        ctx.g.ln_sf(target, name)


@op("mkdir", "DIR", "make the directory DIR (and its parents)")
def mkdir(ctx, value):
    ctx.g.mkdir_p(value)


@op("move", "SOURCE:DEST", "move SOURCE to DEST inside the guest")
def move(ctx, value):
    ctx.g.mv(*split(value, "move"))


@op("scrub", "FILE", "scrub FILE (overwrite its blocks with patterns) and delete it")
def scrub(ctx, value):
    if ctx.g.is_file(value):            # not through a symlink: is_file does not follow
        ctx.g.scrub_file(value)         # which removes the file once overwritten


@op("touch", "FILE", "make FILE if missing, else update its times")
def touch(ctx, value):
    ctx.g.touch(value)


@op("truncate", "FILE", "make FILE empty")
def truncate(ctx, value):
    ctx.g.truncate(value)


@op("truncate-recursive", "PATH", "make every regular file under PATH empty")
def truncate_recursive(ctx, value):
    g = ctx.g
    for name in g.find(value):
        path = value.rstrip("/") + "/" + name
        if g.is_file(path):
            g.truncate(path)


@op("upload", "FILE:DEST", "copy the host FILE to DEST in the guest (a directory: keep "
    "the name)")
def upload(ctx, value):
    local, dest = split(value, "upload")
    if not os.path.isfile(local):
        raise ToolError("--upload: %s: no such host file" % local)
    if ctx.g.is_dir(dest, followsymlinks=True):
        dest = dest.rstrip("/") + "/" + os.path.basename(local)
    ctx.g.upload(local, dest)


@op("edit", "FILE:EXPR", "edit FILE with the Perl-style expression EXPR applied to each "
    "line, as guestkit edit -e (s/REGEX/REPLACEMENT/FLAGS or $_ = \"\" if /REGEX/)")
def edit(ctx, value):
    from .edit import apply, check_editable, edit_file, parse_expr
    path, expr = split(value, "edit")
    line_edit = parse_expr(expr, "--edit")
    edit_file(ctx.g, check_editable(ctx.g, path), lambda old: apply(line_edit, old))


@op("write", "FILE:CONTENT", "write CONTENT into FILE")
def write(ctx, value):
    path, content = split(value, "write")
    ctx.g.write(path, content.encode())


# ---- commands ----

@op("run", "SCRIPT", "run the host shell script SCRIPT inside the guest", network=True)
def run(ctx, value):
    try:
        with open(value, "rb") as f:
            script = f.read()
    except OSError as e:
        raise ToolError("--run %s: %s" % (value, e.strerror)) from None
    g = ctx.g
    g.mkdir_p("/tmp")
    tmp = g.mkdtemp("/tmp/guestkit-run-XXXXXX")
    name = tmp + "/script"
    g.write(name, script)
    g.chmod(0o755, name)
    try:
        ctx.run(shlex.quote(name))
    finally:
        g.rm_rf(tmp)


@op("run-command", "'CMD+ARGS'", "run the command inside the guest with its /bin/sh",
    network=True)
def run_command(ctx, value):
    ctx.run(value)


# ---- packages ----

_PACKAGES = {   # manager -> (install, uninstall, update)
    "apt": ("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y install %s",
            "DEBIAN_FRONTEND=noninteractive apt-get -y remove %s",
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y upgrade"),
    "dnf": ("dnf -y install %s", "dnf -y remove %s", "dnf -y --best upgrade"),
    "yum": ("yum -y install %s", "yum -y remove %s", "yum -y update"),
    "zypper": ("zypper -n in -l %s", "zypper -n rm %s", "zypper -n update -l"),
    "apk": ("apk update && apk add %s", "apk del %s", "apk update && apk upgrade"),
    "pacman": ("pacman -Sy --noconfirm %s", "pacman -R --noconfirm %s",
               "pacman -Syu --noconfirm"),
}


def _package_command(ctx, which, packages=None):
    manager = ctx.info("package_management")
    if manager not in _PACKAGES:
        raise ToolError("cannot manage packages of this guest (package manager: %s)"
                        % (manager or "unknown"))
    template = _PACKAGES[manager][which]
    if packages is None:
        return template
    names = [p for p in packages.split(",") if p]
    if not names:
        raise ToolError("no package named")
    return template % " ".join(shlex.quote(p) for p in names)


@op("install", "PKG,PKG...", "install packages with the guest's package manager (needs "
    "the network)", network=True)
def install(ctx, value):
    ctx.run(_package_command(ctx, 0, value))


@op("uninstall", "PKG,PKG...", "remove packages with the guest's package manager",
    network=True)
def uninstall(ctx, value):
    ctx.run(_package_command(ctx, 1, value))


@op("update", None, "update every package with the guest's package manager", network=True)
def update(ctx, value):
    ctx.run(_package_command(ctx, 2))


# ---- system settings ----

@op("hostname", "HOSTNAME", "set the guest's host name")
def hostname(ctx, value):
    g = ctx.g
    if not value or any(c.isspace() or c in "/:" for c in value):
        raise ToolError("--hostname %r: not a host name" % value)
    old = None
    if g.is_file("/etc/hostname"):
        old = g.read_file("/etc/hostname").decode(errors="replace").strip() or None
    g.write("/etc/hostname", value.split(".")[0].encode() + b"\n"
            if ctx.info("distro") in ("debian", "ubuntu") else value.encode() + b"\n")
    if g.is_file("/etc/sysconfig/network"):
        lines = [ln for ln in g.read_file("/etc/sysconfig/network").decode().split("\n")
                 if not ln.startswith("HOSTNAME=") and ln]
        g.write("/etc/sysconfig/network", ("\n".join(lines + ["HOSTNAME=" + value]) +
                                           "\n").encode())
    if old and old != value and g.is_file("/etc/hosts"):
        text = g.read_file("/etc/hosts").decode(errors="surrogateescape")
        lines = []
        for ln in text.split("\n"):
            body, hash_, comment = ln.partition("#")
            words = [value if w == old else w for w in body.split()]
            if words != body.split():
                ln = "\t".join(words) + (" #" + comment if hash_ else "")
            lines.append(ln)
        g.write("/etc/hosts", "\n".join(lines).encode(errors="surrogateescape"))


@op("timezone", "TIMEZONE", "set the guest's time zone (e.g. Europe/London)")
def timezone(ctx, value):
    g = ctx.g
    zone = "/usr/share/zoneinfo/" + value
    if ".." in value.split("/") or value.startswith("/") or not g.is_file(zone):
        raise ToolError("--timezone %s: the guest has no %s" % (value, zone))
    g.ln_sf(zone, "/etc/localtime")
    if g.is_file("/etc/timezone") or ctx.info("distro") in ("debian", "ubuntu"):
        g.write("/etc/timezone", value.encode() + b"\n")


def _set_password(ctx, user, selector_text):
    selector = passwords.parse_selector(selector_text)
    g = ctx.g
    if not g.is_file("/etc/shadow"):
        raise ToolError("this guest has no /etc/shadow")
    mode = g.stat("/etc/shadow")["mode"] & 0o7777
    shadow = g.read_file("/etc/shadow").decode(errors="surrogateescape")
    g.write("/etc/shadow", passwords.set_shadow(shadow, user, selector,
                                                ctx.password_crypto).encode(
        errors="surrogateescape"))
    g.chmod(mode, "/etc/shadow")
    if selector[0] == "random":
        ctx.say("Setting random password of %s to %s" % (user, selector[1]))


@op("root-password", "SELECTOR", "set root's password: password:PASS, file:FILE, random, "
    "disabled, locked[:...]")
def root_password(ctx, value):
    _set_password(ctx, "root", value)


@op("password", "USER:SELECTOR", "set USER's password (selectors as --root-password)")
def password(ctx, value):
    user, selector = split(value, "password")
    _set_password(ctx, user, selector)


def _passwd_entry(g, user):
    for line in g.read_file("/etc/passwd").decode(errors="replace").split("\n"):
        f = line.split(":")
        if len(f) >= 7 and f[0] == user:
            return int(f[2]), int(f[3]), f[5]
    raise ToolError("user %s is not in the guest's /etc/passwd" % user)


@op("ssh-inject", "USER[:SELECTOR]", "add an ssh key to USER's authorized_keys: "
    "file:FILE, string:KEY, or the caller's ~/.ssh/*.pub")
def ssh_inject(ctx, value):
    user, _, selector = value.partition(":")
    if selector.startswith("file:"):
        try:
            with open(selector[5:], encoding="utf-8") as f:
                keys = [f.read().strip()]
        except OSError as e:
            raise ToolError("--ssh-inject %s: %s" % (selector[5:], e.strerror)) from None
    elif selector.startswith("string:"):
        keys = [selector[7:].strip()]
    elif not selector:
        d = os.path.expanduser("~/.ssh")
        keys = []
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if name.endswith(".pub"):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    keys.append(f.read().strip())
        if not keys:
            raise ToolError("--ssh-inject %s: no ~/.ssh/*.pub key on this host" % user)
    else:
        raise ToolError("--ssh-inject %s: expected USER[:file:FILE|:string:KEY]" % value)
    if any("\n" in k or not k for k in keys):
        raise ToolError("--ssh-inject: a key must be one non-empty line")
    g = ctx.g
    uid, gid, home = _passwd_entry(g, user)
    sshdir = home.rstrip("/") + "/.ssh"
    if not g.is_dir(sshdir):
        g.mkdir_p(sshdir)
        g.chown(uid, gid, sshdir)
    g.chmod(0o700, sshdir)
    auth = sshdir + "/authorized_keys"
    have = g.read_file(auth).decode(errors="replace") if g.is_file(auth) else ""
    new = [k for k in keys if k not in have.split("\n")]
    if have and not have.endswith("\n"):
        have += "\n"
    g.write(auth, (have + "".join(k + "\n" for k in new)).encode())
    g.chown(uid, gid, auth)
    g.chmod(0o600, auth)


# ---- first boot ----

FIRSTBOOT_DIR = "/usr/lib/guestkit-firstboot"
FIRSTBOOT_SERVICE = "/etc/systemd/system/guestkit-firstboot.service"
_FIRSTBOOT_SH = """#!/bin/sh -
# Run by guestkit-firstboot.service: each script of scripts/ once, in name order, then
# moved to done/.  Output goes to /root/guestkit-firstboot.log.
d=%(dir)s
mkdir -p "$d/done"
for f in "$d"/scripts/*; do
    [ -f "$f" ] || continue
    echo "=== Running $f ===" >> /root/guestkit-firstboot.log
    "$f" >> /root/guestkit-firstboot.log 2>&1
    mv "$f" "$d/done/"
done
"""
_FIRSTBOOT_UNIT = """[Unit]
Description=guestkit firstboot scripts
After=network.target
ConditionDirectoryNotEmpty=%(dir)s/scripts

[Service]
Type=oneshot
ExecStart=%(dir)s/firstboot.sh
RemainAfterExit=yes
TimeoutSec=0

[Install]
WantedBy=multi-user.target
"""


def _firstboot(ctx, label, script):
    g = ctx.g
    if ctx.info("type") != "linux":
        raise ToolError("firstboot scripts are only supported on Linux guests")
    if not g.is_dir("/etc/systemd/system"):
        raise ToolError("firstboot scripts need systemd in the guest")
    if not g.is_file(FIRSTBOOT_DIR + "/firstboot.sh"):
        g.mkdir_p(FIRSTBOOT_DIR + "/scripts")
        g.write(FIRSTBOOT_DIR + "/firstboot.sh",
                (_FIRSTBOOT_SH % {"dir": FIRSTBOOT_DIR}).encode())
        g.chmod(0o755, FIRSTBOOT_DIR + "/firstboot.sh")
        g.write(FIRSTBOOT_SERVICE, (_FIRSTBOOT_UNIT % {"dir": FIRSTBOOT_DIR}).encode())
        g.mkdir_p("/etc/systemd/system/multi-user.target.wants")
        g.ln_sf(FIRSTBOOT_SERVICE, "/etc/systemd/system/multi-user.target.wants/"
                "guestkit-firstboot.service")
    existing = g.ls(FIRSTBOOT_DIR + "/scripts")
    number = max([int(n[:4]) for n in existing if n[:4].isdigit()] + [0]) + 1
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40]
    name = "%s/scripts/%04d-%s" % (FIRSTBOOT_DIR, number, safe)
    g.write(name, script)
    g.chmod(0o755, name)


@op("firstboot", "SCRIPT", "run the host script SCRIPT in the guest when it first boots")
def firstboot(ctx, value):
    try:
        with open(value, "rb") as f:
            script = f.read()
    except OSError as e:
        raise ToolError("--firstboot %s: %s" % (value, e.strerror)) from None
    _firstboot(ctx, os.path.basename(value), script)


@op("firstboot-command", "'CMD+ARGS'", "run the command in the guest when it first boots")
def firstboot_command(ctx, value):
    _firstboot(ctx, value.split()[0] if value.split() else "command",
               ("#!/bin/sh\n%s\n" % value).encode())


@op("firstboot-install", "PKG,PKG...", "install packages when the guest first boots")
def firstboot_install(ctx, value):
    _firstboot(ctx, "install", ("#!/bin/sh\n%s\n" % _package_command(ctx, 0, value))
               .encode())


def random_seed(ctx):
    """Give the guest a fresh random seed, as virt-customize does on every run: the
    seed files its init system reads at boot, where their directory exists."""
    g = ctx.g
    seed = os.urandom(512)
    done = False
    for path in ("/var/lib/random-seed", "/var/lib/urandom/random-seed",
                 "/var/lib/systemd/random-seed"):
        # the one in /var/lib itself only where the guest already keeps it there
        if g.is_file(path) if path == "/var/lib/random-seed" else \
                g.is_dir(os.path.dirname(path)):
            g.write(path, seed)
            g.chmod(0o600, path)
            done = True
    return done


def machine_id(ctx):
    """A Linux guest whose /etc/machine-id is empty (as sysprep leaves it) gets a fresh
    random one, as virt-customize gives it."""
    g = ctx.g
    if ctx.info("type") != "linux" or not g.is_dir("/etc"):
        return False
    if g.is_file("/etc/machine-id") and g.filesize("/etc/machine-id") > 0:
        return False
    if g.exists("/etc/machine-id") and not g.is_file("/etc/machine-id"):
        return False
    g.write("/etc/machine-id", os.urandom(16).hex().encode() + b"\n")
    g.chmod(0o444, "/etc/machine-id")
    return True


def selinux_relabel(ctx):
    """Relabel at next boot when the guest uses SELinux."""
    if ctx.g.is_file("/etc/selinux/config"):
        ctx.g.touch("/.autorelabel")
        return True
    return False


def validate(ops):
    """Check what can be checked on the host before launching: value shapes, modes,
    password selectors, host files to copy or run.  Mistakes show at once."""
    for name, value in ops:
        if OPS[name].metavar is None:
            continue
        if ":" in OPS[name].metavar and not OPS[name].metavar.endswith("[:SELECTOR]"):
            parts = split(value, name)
        else:
            parts = [value]
        if name == "chmod":
            _octal(value, parts[0])
        elif name in ("root-password", "password"):
            passwords.parse_selector(parts[-1])
        elif name in ("upload", "run", "firstboot") and not os.path.isfile(parts[0]):
            raise ToolError("--%s: %s: no such host file" % (name, parts[0]))
        elif name == "edit":
            from .edit import parse_expr
            parse_expr(parts[1], "--edit")
        elif name == "copy-in" and not os.path.exists(parts[0]):
            raise ToolError("--copy-in: %s: no such host file or directory" % parts[0])


def _octal(value, perms):
    try:
        return int(perms, 8)
    except ValueError:
        raise ToolError("--chmod %s: %r is not an octal mode" % (value, perms)) from None


def run_ops(ctx, ops):
    """Run (name, value) operations in the order they were given."""
    for name, value in ops:
        what = OPS[name]
        ctx.say(_describe(name, value))
        try:
            what.run(ctx, value)
        except guestkit.Error as e:
            raise ToolError("--%s %s: %s" % (name, value if value is not None else "", e)) \
                from None


def _describe(name, value):
    if name in ("root-password", "password"):
        return "Setting passwords"           # never the password itself
    if value is None:
        return name.replace("-", " ").capitalize()
    return "%s: %s" % (name.replace("-", " ").capitalize(), value)
