"""Backend discovery through stevedore, in the guestkit.backends entry-point namespace."""

from .errors import Error

NAMESPACE = "guestkit.backends"


def discover():
    """(extensions by name, {entry point name: error}) for every installed backend."""
    failures = {}

    def failed(manager, entrypoint, exc):
        failures[entrypoint.name] = "%s: %s" % (type(exc).__name__, exc)

    mgr = _manager_class()(namespace=NAMESPACE, invoke_on_load=False,
                           on_load_failure_callback=failed)
    return {ext.name: ext for ext in mgr}, failures


def _entry_points():
    from importlib.metadata import entry_points
    try:
        return list(entry_points(group=NAMESPACE))
    except TypeError:                       # Python < 3.10
        return list(entry_points().get(NAMESPACE, []))


def _manager_class():
    """stevedore's ExtensionManager, reading the entry points afresh each time: stevedore
    memoises them per process and sys.path, so a plugin installed while this process runs
    would otherwise stay invisible."""
    from stevedore import ExtensionManager

    class FreshExtensionManager(ExtensionManager):
        def list_entry_points(self):
            return _entry_points()
    return FreshExtensionManager


def backend_class(name):
    """The Backend class called NAME (the part of a backend name before any ':')."""
    exts, failures = discover()
    if name in exts:
        return exts[name].plugin
    if name in failures:
        raise Error("backend %s: the plugin failed to load: %s" % (name, failures[name]),
                    "EINVAL")
    known = sorted(exts)
    raise Error("unknown backend %r; backends found: %s%s" % (
        name, ", ".join(known) or "none",
        "" if not failures else " (failed to load: %s)" % ", ".join(sorted(failures))),
        "EINVAL")


def split_backend(spec):
    name, _, param = spec.partition(":")
    return name, (param or None)


def distributions():
    """{backend name: the distribution that registers it}."""
    out = {}
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        out[ep.name] = "%s %s" % (dist.name, dist.version) if dist else "?"
    return out
