"""Backend discovery through stevedore, in the guestkit.backends entry-point namespace."""

from .errors import Error

NAMESPACE = "guestkit.backends"


def discover():
    """(extensions by name, {entry point name: error}) for every installed backend."""
    from stevedore import ExtensionManager
    failures = {}

    def failed(manager, entrypoint, exc):
        failures[entrypoint.name] = "%s: %s" % (type(exc).__name__, exc)

    mgr = ExtensionManager(namespace=NAMESPACE, invoke_on_load=False,
                           on_load_failure_callback=failed)
    return {ext.name: ext for ext in mgr}, failures


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
    from importlib.metadata import entry_points
    try:
        eps = entry_points(group=NAMESPACE)
    except TypeError:                       # Python < 3.10
        eps = entry_points().get(NAMESPACE, [])
    out = {}
    for ep in eps:
        dist = getattr(ep, "dist", None)
        out[ep.name] = "%s %s" % (dist.name, dist.version) if dist else "?"
    return out
