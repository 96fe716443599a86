"""The operations of ``guestkit sysprep`` (virt-sysprep's), one table: name, whether it runs
by default, what it does, and how.  Most remove files by glob: each pattern is expanded
inside the guest (glob_expand), never on the host."""

from collections import namedtuple

import guestkit

SysprepOp = namedtuple("SysprepOp", "name default doc run before_mount")
SysprepOp.__new__.__defaults__ = (False,)

OPERATIONS = {}


def operation(name, doc, default=True, before_mount=False):
    """Register an operation; BEFORE_MOUNT ones work on devices, before the guest's
    filesystems are mounted."""
    def register(fn):
        OPERATIONS[name] = SysprepOp(name, default, doc, fn, before_mount)
        return fn
    return register


def remove_globs(*patterns):
    """An operation removing every path the guest-side PATTERNS match."""
    def run(ctx):
        for pattern in patterns:
            for path in ctx.g.glob_expand(pattern):
                ctx.g.rm_rf(path)
    return run


def remove_files(*patterns):
    """An operation removing the files (not the directories) the PATTERNS match."""
    def run(ctx):
        for pattern in patterns:
            for path in ctx.g.glob_expand(pattern):
                if not ctx.g.is_dir(path):
                    ctx.g.rm_f(path)
    return run


_GLOBS = [
    ("abrt-data", "Delete crash reports collected by ABRT", ["/var/spool/abrt/*"]),
    ("backup-files", "Delete editor backups (*~, *.bak) under /etc and /root",
     ["/etc/*~", "/etc/*/*~", "/etc/*.bak", "/etc/*/*.bak", "/root/*~"]),
    ("bash-history", "Delete the shell histories of root and the users",
     ["/root/.bash_history", "/home/*/.bash_history"]),
    ("blkid-tab", "Delete cached blkid tables",
     ["/var/run/blkid.tab", "/var/run/blkid.tab.old", "/etc/blkid/blkid.tab",
      "/etc/blkid/blkid.tab.old", "/etc/blkid.tab", "/etc/blkid.tab.old",
      "/dev/.blkid.tab", "/dev/.blkid.tab.old"]),
    ("crash-data", "Delete kernel crash dumps (kdump)", ["/var/crash/*"]),
    ("dhcp-client-state", "Delete the DHCP client's leases",
     ["/var/lib/dhclient/*", "/var/lib/dhcp/*", "/var/lib/dhcpcd/*",
      "/var/lib/NetworkManager/dhclient-*", "/var/lib/NetworkManager/*.lease"]),
    ("dhcp-server-state", "Delete the DHCP server's leases",
     ["/var/lib/dhcpd/*", "/var/lib/dhcp/dhcpd.leases*"]),
    ("dovecot-data", "Delete the Dovecot mail server's state", ["/var/lib/dovecot/*"]),
    ("kerberos-hostkeytab", "Delete the Kerberos host keytab",
     ["/etc/krb5.keytab"]),
    ("logfiles", "Delete the system's log files and journals",
     ["/var/log/*.log", "/var/log/*.log.*", "/var/log/*/*.log", "/var/log/*/*.log.*",
      "/var/log/syslog*", "/var/log/messages*", "/var/log/secure*", "/var/log/maillog*",
      "/var/log/cron*", "/var/log/wtmp*", "/var/log/btmp*", "/var/log/lastlog*",
      "/var/log/journal/*", "/var/log/audit/*", "/var/log/apt/*", "/var/log/installer/*",
      "/var/log/anaconda/*", "/var/log/dmesg*", "/var/log/faillog*", "/var/log/tallylog*",
      "/var/log/sa/*", "/var/log/debug*", "/var/log/kern*", "/var/log/auth*",
      "/var/log/daemon*", "/var/log/user*", "/root/anaconda-ks.cfg", "/root/install.log*",
      "/var/cache/fontconfig/*", "/var/lib/systemd/catalog/database"]),
    ("mail-spool", "Delete the mail waiting in local spools",
     ["/var/spool/mail/*", "/var/mail/*"]),
    ("net-nmconn", "Delete NetworkManager's connection profiles",
     ["/etc/NetworkManager/system-connections/*"]),
    ("pacct-log", "Delete process accounting logs",
     ["/var/account/pacct*", "/var/log/account/pacct*"]),
    ("package-manager-cache", "Delete downloaded packages and package-manager caches",
     ["/var/cache/apt/archives/*.deb", "/var/cache/apt/*.bin", "/var/cache/dnf/*",
      "/var/cache/yum/*", "/var/cache/zypp/*", "/var/cache/apk/*",
      "/var/cache/pacman/pkg/*"]),
    ("pam-data", "Delete PAM's runtime state (faillock, console)",
     ["/var/run/console/*", "/var/run/faillock/*", "/var/run/sepermit/*"]),
    ("passwd-backups", "Delete the backups of passwd, shadow, group and gshadow",
     ["/etc/group-", "/etc/gshadow-", "/etc/passwd-", "/etc/shadow-", "/etc/subuid-",
      "/etc/subgid-"]),
    ("puppet-data-log", "Delete Puppet's state and logs",
     ["/var/log/puppet/*", "/var/lib/puppet/*/*"]),
    ("rh-subscription-manager", "Delete Red Hat subscription certificates",
     ["/etc/pki/consumer/*", "/etc/pki/entitlement/*"]),
    ("rhn-systemid", "Delete the RHN system identity", ["/etc/sysconfig/rhn/systemid",
                                                 "/etc/sysconfig/rhn/osad-auth.conf"]),
    ("rpm-db", "Delete the host-specific rpm database environment",
     ["/var/lib/rpm/__db.*"]),
    ("samba-db-log", "Delete Samba's databases and logs",
     ["/var/log/samba/*", "/var/lib/samba/*/*"]),
    ("smolt-uuid", "Delete the Smolt hardware identity",
     ["/etc/sysconfig/hw-uuid", "/etc/smolt/uuid", "/etc/smolt/hw-uuid"]),
    ("ssh-hostkeys", "Delete the ssh host keys (made again at boot)", ["/etc/ssh/*_host_*"]),
    ("ssh-userdir", "Delete the .ssh directories of root and the users",
     ["/root/.ssh", "/home/*/.ssh"]),
    ("sssd-db-log", "Delete sssd's caches and logs",
     ["/var/log/sssd/*", "/var/lib/sss/db/*"]),
    ("tmp-files", "Delete what /tmp and /var/tmp hold",
     ["/tmp/*", "/tmp/.*[!.]*", "/var/tmp/*", "/var/tmp/.*[!.]*"]),
    ("udev-persistent-net", "Delete udev's persistent network-name rules",
     ["/etc/udev/rules.d/70-persistent-net.rules"]),
    ("utmp", "Delete the utmp login record", ["/var/run/utmp"]),
    ("yum-uuid", "Delete yum's installation identity", ["/var/lib/yum/uuid"]),
]

for _name, _doc, _patterns in _GLOBS:
    OPERATIONS[_name] = SysprepOp(_name, True, _doc, remove_globs(*_patterns))


OPERATIONS["cron-spool"] = SysprepOp(
    "cron-spool", True, "Delete the users' cron and at jobs (their directories stay)",
    remove_files("/var/spool/cron/*", "/var/spool/cron/crontabs/*", "/var/spool/cron/tabs/*",
                 "/var/spool/atjobs/*", "/var/spool/atspool/*", "/var/spool/at/*"))
OPERATIONS["ca-certificates"] = SysprepOp(
    "ca-certificates", False, "Delete locally added CA certificates",
    remove_globs("/etc/pki/ca-trust/source/anchors/*", "/usr/local/share/ca-certificates/*"))
OPERATIONS["firewall-rules"] = SysprepOp(
    "firewall-rules", False, "Delete local firewall rules (iptables, firewalld)",
    remove_globs("/etc/sysconfig/iptables", "/etc/firewalld/services/*",
                 "/etc/firewalld/zones/*"))
OPERATIONS["ipa-client"] = SysprepOp(
    "ipa-client", True, "Delete the FreeIPA client's enrollment",
    remove_globs("/etc/ipa/ca.crt", "/etc/ipa/default.conf", "/var/lib/ipa-client/sysrestore/*",
                 "/var/lib/ipa-client/pki/*", "/etc/krb5.keytab.ipa*"))
OPERATIONS["kerberos-data"] = SysprepOp(
    "kerberos-data", False, "Delete Kerberos KDC data and configuration",
    remove_globs("/var/kerberos/krb5kdc/*", "/var/lib/kerberos/krb5kdc/*", "/etc/krb5.conf"))


@operation("flag-reconfiguration", "Ask the guest to run its first-boot configuration again",
           default=False)
def flag_reconfiguration(ctx):
    ctx.g.touch("/.unconfigured")


@operation("fs-uuids", "Give every filesystem a new random UUID (an fstab naming them by UUID "
           "is not changed)", default=False, before_mount=True)
def fs_uuids(ctx):
    g = ctx.g
    for dev, fstype in sorted(g.list_filesystems().items()):
        if fstype in ("unknown", "swap") or not g.vfs_uuid(dev):
            continue
        try:
            g.set_uuid_random(dev)
        except guestkit.Error as e:
            ctx.say("%s: its UUID stays (%s)" % (dev, e))


@operation("lvm-uuids", "Give every LVM physical volume and volume group a new UUID",
           before_mount=True)
def lvm_uuids(ctx):
    g = ctx.g
    if not g.pvs():
        return
    g.vg_activate_all(False)         # LVM changes no UUID of a group in use
    try:
        g.pvchange_uuid_all()
        g.vgchange_uuid_all()
    finally:
        g.vg_activate_all(True)


@operation("machine-id", "Empty the machine id (a new one is made at boot)")
def machine_id(ctx):
    g = ctx.g
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        if g.is_file(path):
            g.truncate(path)         # empty, not gone: systemd makes a new one at boot


@operation("net-hostname", "Drop HOSTNAME and DHCP_HOSTNAME from ifcfg interface files")
def net_hostname(ctx):
    _edit_ifcfg(ctx, ("HOSTNAME=", "DHCP_HOSTNAME="))


@operation("net-hwaddr", "Drop fixed MAC addresses (HWADDR) from ifcfg interface files")
def net_hwaddr(ctx):
    _edit_ifcfg(ctx, ("HWADDR=",))


def _edit_ifcfg(ctx, keys):
    g = ctx.g
    for path in g.glob_expand("/etc/sysconfig/network-scripts/ifcfg-*") + \
            g.glob_expand("/etc/sysconfig/network/ifcfg-*"):
        if not g.is_file(path):
            continue
        text = g.read_file(path).decode(errors="surrogateescape")
        kept = [ln for ln in text.split("\n") if not ln.lstrip().startswith(keys)]
        if len(kept) != len(text.split("\n")):
            g.write(path, "\n".join(kept).encode(errors="surrogateescape"))


@operation("lvm-system-devices", "Delete the LVM devices file (it names this host's disks)")
def lvm_system_devices(ctx):
    if ctx.g.is_file("/etc/lvm/devices/system.devices"):
        ctx.g.rm("/etc/lvm/devices/system.devices")


@operation("customize", "Run the customize operations given on the command line")
def customize(ctx):
    from . import customize_ops
    customize_ops.run_ops(ctx, ctx.customize_ops)


@operation("user-account", "Delete user accounts and their homes (not root nor system "
           "users; --remove-user-accounts/--keep-user-accounts choose)", default=False)
def user_account(ctx):
    g = ctx.g
    passwd = g.read_file("/etc/passwd").decode(errors="surrogateescape").split("\n")
    login_defs = g.read_file("/etc/login.defs").decode(errors="replace") \
        if g.is_file("/etc/login.defs") else ""
    uid_min, uid_max = 1000, 60000
    for line in login_defs.split("\n"):
        words = line.split()
        if len(words) == 2 and words[0] in ("UID_MIN", "UID_MAX") and words[1].isdigit():
            if words[0] == "UID_MIN":
                uid_min = int(words[1])
            else:
                uid_max = int(words[1])
    remove = []
    for line in passwd:
        f = line.split(":")
        if len(f) < 7 or not f[2].isdigit():
            continue
        name, uid, home = f[0], int(f[2]), f[5]
        if ctx.remove_users is not None:
            wanted = name in ctx.remove_users
        else:
            wanted = uid_min <= uid <= uid_max and name not in ctx.keep_users
        if wanted and uid != 0:
            remove.append((name, home))
    names = {n for n, _ in remove}
    for path in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"):
        if not g.is_file(path):
            continue
        lines = g.read_file(path).decode(errors="surrogateescape").split("\n")
        kept = [ln for ln in lines if ln.split(":")[0] not in names]
        if path in ("/etc/group", "/etc/gshadow"):
            kept = [_drop_members(ln, names) for ln in kept]
        mode = g.stat(path)["mode"] & 0o7777
        g.write(path, "\n".join(kept).encode(errors="surrogateescape"))
        g.chmod(mode, path)
    for name, home in remove:
        if home.startswith("/home/") and g.is_dir(home):
            g.rm_rf(home)
        for spool in ("/var/spool/mail/" + name, "/var/mail/" + name):
            if g.exists(spool):
                g.rm_rf(spool)


def _drop_members(line, names):
    f = line.split(":")
    if len(f) >= 4:
        f[-1] = ",".join(m for m in f[-1].split(",") if m and m not in names)
    return ":".join(f)


@operation("script", "Run the --script scripts inside the guest")
def script(ctx):
    from . import customize_ops
    for path in ctx.scripts:
        customize_ops.OPS["run"].run(ctx, path)


def select(spec, enable=None):
    """The operations to run: the defaults, or SPEC/ENABLE: comma-separated names,
    'defaults', 'all', 'none', and -NAME to take one away."""
    if spec is None and enable is None:
        return {n for n, o in OPERATIONS.items() if o.default}
    chosen = set()
    for word in (spec or enable).split(","):
        word = word.strip()
        if not word:
            continue
        minus = word.startswith("-")
        name = word[1:] if minus else word
        if name == "defaults":
            names = {n for n, o in OPERATIONS.items() if o.default}
        elif name == "all":
            names = set(OPERATIONS)
        elif name == "none":
            names = set(chosen) if not minus else set()
            minus = True
        elif name in OPERATIONS:
            names = {name}
        else:
            from .common import ToolError
            raise ToolError("unknown operation %r (guestkit sysprep --list-operations "
                            "lists them)" % name)
        chosen = chosen - names if minus else chosen | names
    return chosen


def run_selected(ctx, names, say, before_mount=False):
    """Run the operations NAMES of this phase (before or after mounting), by name."""
    for name in sorted(n for n in names if OPERATIONS[n].before_mount == before_mount):
        say("Performing \"%s\" ..." % name)
        try:
            OPERATIONS[name].run(ctx)
        except guestkit.Error as e:
            from .common import ToolError
            raise ToolError("%s: %s" % (name, e)) from None
