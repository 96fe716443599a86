"""Handle properties and backend settings, with their environment variables."""

import os

from ..actions.library import PROPERTIES
from ..errors import Error

__all__ = ["set_backend", "get_backend", "set_backend_settings", "get_backend_settings",
           "get_backend_setting", "set_backend_setting", "clear_backend_setting",
           "get_cachedir_in_use"]

_TRUE = ("1", "true", "yes", "on", "y")
# a property's other variable, read last: guestkit's own alias, or libguestfs's old name
_OLD_NAMES = {"verbose": "GUESTKIT_VERBOSE", "hv": "LIBGUESTFS_QEMU"}


def _env(suffix, environ=None):
    """GUESTKIT_SUFFIX, else LIBGUESTFS_SUFFIX (compatibility), from ENVIRON (a dict,
    default the process's environment)."""
    environ = os.environ if environ is None else environ
    for prefix in ("GUESTKIT_", "LIBGUESTFS_"):
        v = environ.get(prefix + suffix)
        if v is not None:
            return v
    return None


class Config:
    def __init__(self, environment=True):
        self.values = {name: default for name, _k, _r, default, _e, _d in PROPERTIES}
        self.values["program"] = os.path.basename(__import__("sys").argv[0] or "python")
        self.backend = None
        self.backend_settings = None
        self.environment = environment
        if environment:
            self._from_env()

    def _from_env(self, environ=None):
        """Set the properties whose variables ENVIRON (default: the process's environment)
        holds."""
        environ = os.environ if environ is None else environ
        for name, kind, _r, _default, suffix, _doc in PROPERTIES:
            if not suffix:
                continue
            v = _env(suffix, environ)
            if v is None:
                v = environ.get(_OLD_NAMES.get(name, ""))
            if v is None:
                continue
            if kind.__name__ == "Bool":
                self.values[name] = v.strip().lower() in _TRUE
            elif kind.__name__ == "Int":
                try:
                    self.values[name] = int(v)
                except ValueError:
                    raise Error("environment variable for %s must be an integer, got %r"
                                % (name, v), "EINVAL") from None
            else:
                self.values[name] = v

    def get(self, name):
        return self.values[name]

    def set(self, name, value):
        self.values[name] = value

    # -- backend --
    def backend_name(self):
        if self.backend:
            return self.backend
        if self.environment:
            v = _env("BACKEND") or os.environ.get("LIBGUESTFS_ATTACH_METHOD")
            if v:
                return "direct" if v == "appliance" else v
        return "direct"

    def settings(self):
        if self.backend_settings is not None:
            return list(self.backend_settings)
        if self.environment:
            v = _env("BACKEND_SETTINGS")
            if v:
                return [s for s in v.split(":") if s]
        return []

    def backend_setting(self, name):
        """The value of setting NAME ("1" for a bare flag), or None."""
        found = None
        for s in self.settings():
            k, eq, v = s.partition("=")
            if k == name:
                found = v if eq else "1"
        return found

    def tmpdir(self):
        return self.values.get("tmpdir") or os.environ.get("TMPDIR") or "/tmp"

    def cachedir(self):
        """The directory the cache lives in (what get_cachedir reports)."""
        from ..appliance.builder import cache_base
        return self.values.get("cachedir") or cache_base()

    def user_cache(self):
        """The cache itself: a private .guestkit-UID directory inside cachedir()."""
        from ..appliance.builder import user_cache
        return user_cache(self.cachedir())


def property_functions():
    out = {}
    for name, _k, _r, _d, _e, _doc in PROPERTIES:
        def setter(g, value, _n=name):
            if _n in ("memsize",) and value < 128:
                raise Error("set_memsize: %d MB is too small (at least 128)" % value, "EINVAL")
            if _n == "smp" and value < 1:
                raise Error("set_smp: need at least 1 vCPU", "EINVAL")
            g._config.set(_n, value)

        def getter(g, _n=name):
            if _n == "cachedir":
                return g._config.cachedir()
            if _n == "tmpdir":
                return g._config.tmpdir()
            if _n == "hv":
                v = g._config.get("hv")
                if v:
                    return v
                from ..backends.base import LaunchError
                from ..backends.hypervisor import find_qemu
                try:
                    return find_qemu()
                except LaunchError as e:
                    raise Error("get_hv: %s" % e, "ENOENT") from None
            return g._config.get(_n)
        out["set_" + name] = setter
        out["get_" + name] = getter
    return out


def set_backend(g, backend):
    if not backend:
        raise Error("set_backend: empty backend name", "EINVAL")
    g._config.backend = backend


def get_backend(g):
    return g._config.backend_name()


def set_backend_settings(g, settings):
    g._config.backend_settings = list(settings)


def get_backend_settings(g):
    return g._config.settings()


def get_backend_setting(g, name):
    v = g._config.backend_setting(name)
    if v is None:
        raise Error("get_backend_setting: setting %s is not set" % name, "ESRCH")
    return v


def set_backend_setting(g, name, val):
    cur = [s for s in g._config.settings() if s.partition("=")[0] != name]
    cur.append("%s=%s" % (name, val))
    g._config.backend_settings = cur


def clear_backend_setting(g, name):
    cur = g._config.settings()
    keep = [s for s in cur if s.partition("=")[0] != name]
    g._config.backend_settings = keep
    return len(cur) - len(keep)


def get_cachedir_in_use(g):
    return g._config.user_cache()
