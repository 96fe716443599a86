"""``guestkit backends`` and ``guestkit serve``: subcommands that are not actions."""

import argparse
import sys

from ..daemon.listen import add_listen_options, listen_tls
from ..tools.registry import TOOLS as TOOL_NAMES


def backends(argv, out=None):
    """List the backends found in the guestkit.backends namespace, and whether each can
    run on this host."""
    from ..plugins import discover, distributions
    out = out or sys.stdout
    exts, failures = discover()
    dists = distributions()
    rows = []
    for name in sorted(exts):
        ext = exts[name]
        dist = dists.get(name, "?")
        cls = ext.plugin
        try:
            ok, why = cls.host_supported()
        except Exception as e:            # a plugin's own check must not break the list
            ok, why = False, "host_supported() raised %s: %s" % (type(e).__name__, e)
        notes = [why] if why else []
        marks = []
        for feature in ("hotplug", "snapshot"):
            check = getattr(cls, feature + "_supported", None)
            try:
                has, note = check() if check else (False, "not declared by the plugin")
            except Exception as e:        # noqa: B902 - same as above
                has, note = False, "%s_supported() raised %s" % (feature, type(e).__name__)
            marks.append("yes" if has else "no")
            if note:
                notes.append("%s: %s" % (feature, note))
        rows.append((name, dist, "yes" if ok else "no", marks[0], marks[1], "; ".join(notes)))
    for name in sorted(failures):
        rows.append((name, dists.get(name, "?"), "no", "-", "-",
                     "failed to load: %s" % failures[name]))
    fmt = "%-10s %-22s %-5s %-8s %-9s %s\n"
    out.write(fmt % ("BACKEND", "DISTRIBUTION", "RUNS", "HOTPLUG", "SNAPSHOT", "NOTE"))
    for r in rows:
        out.write(fmt % r)
    return 0


def serve(argv):
    """Launch an appliance with the given drives and serve it on a socket."""
    ap = argparse.ArgumentParser(prog="guestkit serve",
                                 description="launch an appliance and serve its daemon to "
                                             "other processes (remote backend)")
    ap.add_argument("-a", "--add", action="append", default=[], metavar="IMAGE")
    ap.add_argument("--format", help="format of the images")
    ap.add_argument("--rw", action="store_true", help="writable drives (default read-only)")
    ap.add_argument("--listen", required=True, metavar="ADDR",
                    help="unix:PATH, or tcp:HOST:PORT (TLS: --tls-cert and --tls-key, "
                         "clients proven by --token-file and/or --tls-ca)")
    add_listen_options(ap)
    ap.add_argument("--backend")
    ap.add_argument("--network", action="store_true",
                    help="give the appliance a network (for rsync-in/rsync-out)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    import guestkit
    from ..serve import serve as run
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        if a.backend:
            g.set_backend(a.backend)
        if a.verbose:
            g.set_verbose(True)
        g.set_network(a.network)
        for img in a.add:
            g.add_drive_opts(img, format=a.format, readonly=not a.rw)
        g.launch()
        run(g, a.listen, token_file=a.token_file, tls=listen_tls(ap, a),
            insecure_plaintext=a.insecure_plaintext)
    except (guestkit.Error, ValueError, OSError) as e:
        sys.stderr.write("guestkit serve: error: %s\n" % e)
        return 1
    finally:
        g.close()
    return 0


def _tool(name):
    def run(argv):
        from ..tools.registry import run
        return run(name, argv)
    return run


#: the commands that are not the shell: these two, and every tool in the registry
SUBCOMMANDS = {"backends": backends, "serve": serve}
SUBCOMMANDS.update((name, _tool(name)) for name in TOOL_NAMES)
