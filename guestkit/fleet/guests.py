"""What a fleet's guest is: a disk image path, or a libvirt domain written ``domain:NAME``
(looked up, with the run's connection URI, on the worker that runs its job)."""

#: how a guest given as a libvirt domain is written (in records, --from files, arguments)
DOMAIN_PREFIX = "domain:"


def domain(name):
    """The guest string of the libvirt domain NAME."""
    return DOMAIN_PREFIX + name


def domain_name(guest):
    """NAME for a ``domain:NAME`` guest, None for a disk image."""
    guest = str(guest)
    if guest.startswith(DOMAIN_PREFIX) and len(guest) > len(DOMAIN_PREFIX):
        return guest[len(DOMAIN_PREFIX):]
    return None


def add(g, guest, libvirt_uri=None):
    """Add GUEST's disks to the handle G, read-only."""
    name = domain_name(guest)
    if name is None:
        g.add_drive_opts(str(guest), readonly=True)
    else:
        g.add_domain(name, libvirturi=libvirt_uri, readonly=True, allowuuid=True)


def all_domains(libvirt_uri=None):
    """The names of every domain (running or not) of the libvirt connection, sorted."""
    from ..libvirt_connection import libvirt_module
    from ..errors import Error
    libvirt = libvirt_module()
    try:
        conn = libvirt.openReadOnly(libvirt_uri)
    except libvirt.libvirtError as e:
        raise Error("could not connect to libvirt (URI = %s): %s" % (
            libvirt_uri or "default", e.get_error_message()), "ECONNREFUSED") from None
    try:
        return sorted(d.name() for d in conn.listAllDomains(0))
    finally:
        conn.close()
