"""add_domain / add_libvirt_dom (a libvirt guest's disks added as drives, read with
guestkit/libvirt_xml.py) and the libvirt credential calls; declared in
guestkit/actions/add_domain.py."""

from .. import images as D
from ..libvirt_connection import CRED_BY_NUMBER, CRED_NAMES, libvirt_module, open_connection
from ..errors import Error
from ..libvirt_xml import Domain

__all__ = ["add_domain", "add_libvirt_dom", "set_libvirt_supported_credentials",
           "get_libvirt_requested_credentials", "get_libvirt_requested_credential_prompt",
           "get_libvirt_requested_credential_challenge",
           "get_libvirt_requested_credential_defresult", "set_libvirt_requested_credential"]

READONLYDISK = ("error", "read", "write", "ignore")


def add_domain(g, dom, libvirturi=None, readonly=None, iface=None, live=None,
               allowuuid=None, readonlydisk=None, cachemode=None, discard=None,
               copyonread=None):
    if live:
        raise Error("add_domain: live=True is not supported", "ENOTSUP")
    libvirt = libvirt_module()
    conn = open_connection(g, libvirturi, readonly=bool(readonly))
    try:
        try:
            d = conn.lookupByName(dom)
        except libvirt.libvirtError as e:
            d = None
            if allowuuid:
                try:
                    d = conn.lookupByUUIDString(dom)
                except libvirt.libvirtError:
                    pass
            if d is None:
                raise Error("add_domain: no libvirt domain called %r%s: %s" % (
                    dom, " (nor with that UUID)" if allowuuid else "",
                    e.get_error_message()), "ENOENT") from None
        return _add_dom(g, conn, d, readonly, iface, readonlydisk, cachemode, discard,
                        copyonread, "add_domain")
    finally:
        conn.close()


def add_libvirt_dom(g, dom, readonly=None, iface=None, live=None, readonlydisk=None,
                    cachemode=None, discard=None, copyonread=None):
    if live:
        raise Error("add_libvirt_dom: live=True is not supported", "ENOTSUP")
    libvirt_module()
    return _add_dom(g, dom.connect(), dom, readonly, iface, readonlydisk, cachemode, discard,
                    copyonread, "add_libvirt_dom")


def _add_dom(g, conn, dom, readonly, iface, readonlydisk, cachemode, discard, copyonread,
             caller):
    libvirt = libvirt_module()
    policy = readonlydisk or "read"
    if policy not in READONLYDISK:
        raise Error("%s: readonlydisk must be one of %s, not %r" % (
            caller, ", ".join(READONLYDISK), policy), "EINVAL")
    name = dom.name()
    if not readonly and dom.isActive():
        raise Error("%s: domain %s is running: add it with readonly=True (writing to the "
                    "disks of a running guest would corrupt them)" % (caller, name), "EBUSY")
    try:
        xml = Domain.parse(dom.XMLDesc(0))
    except (libvirt.libvirtError, ValueError) as e:
        raise Error("%s: cannot read the XML of domain %s: %s" % (caller, name, e), "EIO") \
            from None
    new = []
    for disk in xml.disks:
        src = disk.source
        if src is None or disk.device == "floppy":
            continue                                # an empty CD-ROM drive, a floppy
        ro = bool(readonly)
        if disk.readonly or disk.device == "cdrom":
            if policy == "error" and not readonly:
                raise Error("%s: disk %s of domain %s is read-only: pass readonly=True or "
                            "another readonlydisk policy" % (caller, disk.target_dev, name),
                            "EROFS")
            if policy == "ignore":
                continue
            if policy == "read":
                ro = True
        opts = dict(readonly=ro, format=disk.driver_type, cachemode=cachemode,
                    discard=discard, copyonread=bool(copyonread), iface=iface)
        try:
            new.append(D.check_drive(_drive(conn, disk, src, opts, libvirt)))
        except Error as e:
            raise Error("%s: domain %s, disk %s: %s" % (caller, name, disk.target_dev, e),
                        e.errno_name) from None
    if len(g._drives) + len(new) > 255:
        raise Error("%s: too many drives" % caller, "EINVAL")
    g._add_drives(new)                              # all or nothing
    labels = xml.seclabels
    g._module_state("libvirt")["seclabel"] = labels[0].node if labels else None
    return len(new)


def _drive(conn, disk, src, opts, libvirt):
    t = disk.type or "file"
    if t == "file":
        if not src.file:
            raise Error("file disk without a source file", "EINVAL")
        return D.Drive(src.file, **opts)
    if t == "block":
        if not src.dev:
            raise Error("block disk without a source device", "EINVAL")
        return D.Drive(src.dev, **opts)
    if t == "volume":
        try:
            vol = conn.storagePoolLookupByName(src.pool).storageVolLookupByName(src.volume)
            path = vol.path()
        except libvirt.libvirtError as e:
            raise Error("volume %s/%s: %s" % (src.pool, src.volume, e.get_error_message()),
                        "ENOENT") from None
        return D.Drive(path, **opts)
    if t == "network":
        servers = []
        for h in src.hosts:
            if h.transport == "unix" or h.socket:
                servers.append("unix:" + (h.socket or ""))
            else:
                port = h.port or D.DEFAULT_PORTS.get(src.protocol)
                host = "[%s]" % h.name if h.name and ":" in h.name else h.name
                servers.append("tcp:%s:%s" % (host, port) if port else "tcp:%s" % host)
        secret = None
        if disk.secret_uuid or disk.secret_usage:
            try:
                if disk.secret_uuid:
                    sec = conn.secretLookupByUUIDString(disk.secret_uuid)
                else:
                    usage = {"ceph": libvirt.VIR_SECRET_USAGE_TYPE_CEPH,
                             "iscsi": libvirt.VIR_SECRET_USAGE_TYPE_ISCSI}.get(
                        disk.secret_type, libvirt.VIR_SECRET_USAGE_TYPE_VOLUME)
                    sec = conn.secretLookupByUsage(usage, disk.secret_usage)
                secret = sec.value().decode("utf-8", "surrogateescape")
            except libvirt.libvirtError as e:
                raise Error("cannot read the disk's secret: %s" % e.get_error_message(),
                            "EACCES") from None
        return D.Drive(src.name or "", protocol=src.protocol, server=servers,
                       username=disk.auth_username, secret=secret, **opts)
    raise Error("disk type %r is not supported" % t, "ENOTSUP")


# ---- credentials ------------------------------------------------------------------------------

def set_libvirt_supported_credentials(g, creds):
    bad = [c for c in creds if c not in CRED_NAMES]
    if bad:
        raise Error("set_libvirt_supported_credentials: unknown credential types %s "
                    "(known: %s)" % (", ".join(bad), ", ".join(CRED_NAMES)), "EINVAL")
    g._module_state("libvirt")["creds"] = list(creds)


def _requested(g, caller, index=None):
    req = g._module_state("libvirt").get("requested")
    if req is None:
        raise Error("%s: only valid inside a LIBVIRT_AUTH event callback" % caller, "EINVAL")
    if index is not None and not 0 <= index < len(req):
        raise Error("%s: index %d out of range (0..%d)" % (caller, index, len(req) - 1),
                    "EINVAL")
    return req


def get_libvirt_requested_credentials(g):
    return [CRED_BY_NUMBER.get(c[0], str(c[0]))
            for c in _requested(g, "get_libvirt_requested_credentials")]


def get_libvirt_requested_credential_prompt(g, index):
    return _requested(g, "get_libvirt_requested_credential_prompt", index)[index][1] or ""


def get_libvirt_requested_credential_challenge(g, index):
    return _requested(g, "get_libvirt_requested_credential_challenge", index)[index][2] or ""


def get_libvirt_requested_credential_defresult(g, index):
    return _requested(g, "get_libvirt_requested_credential_defresult", index)[index][3] or ""


def set_libvirt_requested_credential(g, index, cred):
    _requested(g, "set_libvirt_requested_credential", index)
    g._module_state("libvirt")["answers"][index] = cred.decode("utf-8", "surrogateescape")
