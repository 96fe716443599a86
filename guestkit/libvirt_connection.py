"""Opening libvirt connections with libguestfs's authentication-callback flow (the
domain XML itself is read and written with guestkit/libvirt_xml.py)."""

from .errors import Error


# ---- libvirt connections with authentication callbacks ----------------------------------------

CRED_NAMES = {"username": 1, "authname": 2, "language": 3, "cnonce": 4, "passphrase": 5,
              "echoprompt": 6, "noechoprompt": 7, "realm": 8, "external": 9}
CRED_BY_NUMBER = {v: k for k, v in CRED_NAMES.items()}


def libvirt_module():
    try:
        import libvirt
    except ImportError:
        raise Error("libvirt-python is not installed (pip install 'guestkit[libvirt]')",
                    "ENOTSUP") from None
    # libvirt prints every error on stderr by default; guestkit reports them itself
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def open_connection(g, uri, readonly=False):
    """A libvirt connection to URI; credentials are asked through LIBVIRT_AUTH events when
    the caller declared which it supports (set_libvirt_supported_credentials)."""
    libvirt = libvirt_module()
    from . import events as ev
    state = g._module_state("libvirt")      # creds, and the requests being answered
    supported = [CRED_NAMES[c] for c in (state.get("creds") or [])]

    def callback(creds, _opaque):
        state["requested"] = [list(c) for c in creds]
        state["answers"] = answers = {}
        g._events.emit(ev.EVENT_LIBVIRT_AUTH, (uri or "").encode())
        for i, c in enumerate(creds):
            if i not in answers:
                return -1                      # the caller did not answer: refuse
            c[4] = answers[i]
        state["requested"] = None
        state["answers"] = {}
        return 0

    try:
        if supported:
            conn = libvirt.openAuth(uri, [supported, callback, None],
                                    libvirt.VIR_CONNECT_RO if readonly else 0)
        elif readonly:
            conn = libvirt.openReadOnly(uri)
        else:
            conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise Error("could not connect to libvirt (URI = %s): %s" % (
            uri or "default", e.get_error_message()), "ECONNREFUSED") from None
    finally:
        state["requested"] = None
        state["answers"] = {}
    if conn is None:
        raise Error("could not connect to libvirt (URI = %s)" % (uri or "default"),
                    "ECONNREFUSED")
    return conn
