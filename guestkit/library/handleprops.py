"""Implementations of guestkit/actions/handleprops.py: the hypervisor parameters of
config, old names of properties, the appliance path, the socket directory, the
environment, wait_ready and kill_subprocess."""

import os

from .. import events as ev
from ..errors import Error
from . import config as _config

__all__ = ["config", "set_qemu", "get_qemu", "set_path", "get_path", "set_direct",
           "get_direct", "set_attach_method", "get_attach_method", "get_sockdir",
           "parse_environment", "parse_environment_list", "c_pointer", "wait_ready",
           "kill_subprocess"]

#: qemu options guestkit sets itself, or that would take the appliance from it: config
#: refuses them (as libguestfs refuses the ones it uses)
RESERVED = {
    "-kernel", "-initrd", "-append", "-drive", "-blockdev", "-device", "-m", "-smp",
    "-machine", "-M", "-accel", "-enable-kvm", "-cpu-pm", "-display", "-nographic",
    "-vga", "-serial", "-chardev", "-mon", "-monitor", "-qmp", "-incoming", "-object",
    "-nodefaults", "-no-user-config", "-no-reboot", "-netdev", "-gdb", "-S", "-daemonize",
    "-pidfile", "-readconfig", "-writeconfig", "-loadvm", "-snapshot", "-hda", "-hdb",
    "-hdc", "-hdd", "-cdrom", "-fda", "-fdb", "-sandbox", "-runas", "-chroot", "-full-screen",
}


def _state(g):
    return g._module_state("handleprops")


def hv_params(g):
    """The (param, value) pairs config added, in order (value None for a bare flag)."""
    return list(_state(g).get("config", []))


def config(g, hvparam, hvvalue=None):
    if not hvparam.startswith("-") or len(hvparam) < 2:
        raise Error("config: parameter must begin with a '-' character, got %r" % hvparam,
                    "EINVAL")
    if hvparam in RESERVED or hvparam.lstrip("-") in {p.lstrip("-") for p in RESERVED}:
        raise Error("config: parameter %r cannot be set: guestkit sets it itself or it "
                    "would take the appliance out of guestkit's hands" % hvparam, "EINVAL")
    if any(c in hvparam for c in "\0\n") or (hvvalue is not None and "\0" in hvvalue):
        raise Error("config: parameter or value contains a control character", "EINVAL")
    _state(g).setdefault("config", []).append((hvparam, hvvalue))


def set_qemu(g, hv):
    g._config.set("hv", hv)


def get_qemu(g):
    return g.get_hv()


def set_path(g, searchpath):
    _state(g)["path"] = searchpath


def get_path(g):
    v = _state(g).get("path")
    if v:
        return v
    if g._config.environment:
        v = _config._env("PATH")
        if v:
            return v
    return g._config.user_cache()


def set_direct(g, direct):
    _state(g)["direct"] = bool(direct)


def get_direct(g):
    return _state(g).get("direct", False)


def set_attach_method(g, backend):
    g.set_backend("direct" if backend == "appliance" else backend)


def get_attach_method(g):
    b = g.get_backend()
    return "appliance" if b == "direct" else b


def get_sockdir(g):
    if g._tmpdir:
        return os.path.dirname(g._tmpdir)
    return g._socket_base()


def _apply_environment(g, environ):
    c = g._config
    c._from_env(environ)
    v = _config._env("BACKEND", environ) or environ.get("LIBGUESTFS_ATTACH_METHOD")
    if v:
        c.backend = "direct" if v == "appliance" else v
    v = _config._env("BACKEND_SETTINGS", environ)
    if v is not None:
        c.backend_settings = [s for s in v.split(":") if s]
    v = _config._env("PATH", environ)
    if v:
        _state(g)["path"] = v


def parse_environment(g):
    _apply_environment(g, dict(os.environ))


def parse_environment_list(g, environment):
    environ = {}
    for item in environment:
        name, eq, value = item.partition("=")
        if eq:
            environ[name] = value
    _apply_environment(g, environ)


def c_pointer(g):
    raise Error("c_pointer: a guestkit handle has no underlying C handle", "ENOTSUP")


def wait_ready(g):
    return None


def kill_subprocess(g):
    from ..handle import STATE_DEAD
    backend = g._backend
    if backend is None:
        return None                     # nothing runs: libguestfs does nothing either
    client, backend = g._detach()
    if client is not None:
        try:
            client.close()
        except Exception:
            pass
    try:
        backend.shutdown(graceful=False)
    finally:
        g._set_state(STATE_DEAD)
        g._events.emit(ev.EVENT_SUBPROCESS_QUIT)
