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
    import guestkit
    from ..libvirt_connection import open_connection
    g = guestkit.GuestFS()              # for the connection's credential callbacks
    try:
        conn = open_connection(g, libvirt_uri, readonly=True)
        try:
            return sorted(d.name() for d in conn.listAllDomains(0))
        finally:
            conn.close()
    finally:
        g.close()
