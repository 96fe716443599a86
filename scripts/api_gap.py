#!/usr/bin/env python3
"""Compare guestkit's action table with the public API of libguestfs.

The reference is the guestfs(3) manual as text (reference/guestfs.3.txt): its API CALLS
section gives every action's C prototype (``int guestfs_NAME (guestfs_h *g, ...)``) and,
for actions with optional arguments, the list of ``GUESTFS_NAME_OPT, type opt,`` pairs.
guestfish(1) (reference/guestfish.1.txt) tells a boolean from an integer, which C cannot:
its synopsis writes ``true|false`` where a boolean goes.  Actions newer than that manual,
and python-guestfs's ``internal_test*`` binding-test actions, are listed in EXTRA below.

Usage: scripts/api_gap.py [--reference DIR] [--verbose]
Prints the missing actions and those whose arguments differ; exit status 1 if any.

The argument kinds compared are the ones a caller sees: string, stringlist, int, int64,
bool, buffer (bytes), pointer.  The C API's NAME / NAME_opts pairs are one Python method
NAME with NAME_opts as an alias, as in python-guestfs.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: where the manuals are looked for, first found wins
REFERENCE_DIRS = [os.environ.get("GUESTKIT_REFERENCE", ""), "/work/shared/reference",
                  os.path.join(ROOT, "..", "shared", "reference")]


def _a(name, kind):
    return (name, kind)


#: actions guestfs(3) 1.48 predates (added in later libguestfs releases), and the
#: debugging and binding-test actions python-guestfs exposes (not in guestfs(3)).
#: name -> (positional args, optional args), each a list of (name, kind).
EXTRA = {
    "command_out": ([_a("arguments", "stringlist"), _a("output", "string")], []),
    "sh_out": ([_a("command", "string"), _a("output", "string")], []),
    "device_name": ([_a("index", "int")], []),
    "btrfs_scrub_full": ([_a("path", "string")], [_a("readonly", "bool")]),
    "clevis_luks_unlock": ([_a("device", "string"), _a("mapname", "string")], []),
    # python-guestfs's debugging actions, left out of guestfs(3)
    "debug": ([_a("subcmd", "string"), _a("extraargs", "stringlist")], []),
    "debug_drives": ([], []),
    "debug_upload": ([_a("filename", "string"), _a("tmpname", "string"), _a("mode", "int")],
                     []),
    "internal_test": (
        [_a("str", "string"), _a("optstr", "string"), _a("strlist", "stringlist"),
         _a("b", "bool"), _a("integer", "int"), _a("integer64", "int64"),
         _a("filein", "string"), _a("fileout", "string"), _a("bufferin", "buffer")],
        [_a("obool", "bool"), _a("oint", "int"), _a("oint64", "int64"),
         _a("ostring", "string"), _a("ostringlist", "stringlist")]),
    "internal_test_only_optargs": ([], [_a("test", "int")]),
    "internal_test_63_optargs": ([], [_a("opt%d" % i, "int") for i in range(1, 64)]),
    "internal_test_set_output": ([_a("filename", "string")], []),
    "internal_test_close_output": ([], []),
}
for _r in ("rint", "rint64", "rbool", "rconststring", "rconstoptstring", "rstring",
           "rstringlist", "rstruct", "rstructlist", "rhashtable", "rbufferout"):
    EXTRA["internal_test_" + _r] = ([_a("val", "string")], [])
    EXTRA["internal_test_" + _r + "err"] = ([], [])

#: guestkit's argument kinds (class names in guestkit/actions/table.py) as a caller sees
#: them
KIND_OF_CLASS = {
    "String": "string", "OptString": "string", "Key": "string", "Pathname": "string",
    "Device": "string", "Mountable": "string", "DevOrPath": "string", "FileIn": "string",
    "FileOut": "string", "Int": "int", "Int64": "int64", "Bool": "bool",
    "StringList": "stringlist", "DeviceList": "stringlist", "BufferIn": "buffer",
    "KeyBuffer": "buffer", "Pointer": "pointer", "MountableOrPath": "string",
}

#: flags guestfs(3) declares as C int in actions guestfish(1) lacks (so it cannot tell
#: they are booleans); the manual describes each as true/false
BOOL_OVERRIDES = {("add_libvirt_dom", "readonly"), ("add_libvirt_dom", "live"),
                  ("add_libvirt_dom", "copyonread")}


def find_reference(explicit=None):
    for d in ([explicit] if explicit else []) + REFERENCE_DIRS:
        if d and os.path.isfile(os.path.join(d, "guestfs.3.txt")):
            return os.path.abspath(d)
    raise FileNotFoundError("guestfs.3.txt not found (set GUESTKIT_REFERENCE or pass "
                            "--reference)")


def _c_kind(ctype):
    ctype = " ".join(ctype.split())
    if ctype == "char *const *":
        return "stringlist"
    if ctype == "const char *":
        return "string"
    if ctype == "int64_t":
        return "int64"
    if ctype == "int":
        return "int"
    if ctype.startswith("void *"):
        return "pointer"
    raise ValueError("unknown C type %r" % ctype)


_PARAM = re.compile(r"^\s*(?P<type>.*?[\s*])(?P<name>[a-z_][a-z0-9_]*)(?P<end>[,)]);?\s*$")
_OPTARG = re.compile(r"^\s*GUESTFS_[A-Z0-9_]+, (?P<type>.*?[\s*])(?P<name>[a-z0-9_]+),\s*$")


def parse_guestfs3(path):
    """Every action of the API CALLS section: name -> dict(args, optargs, deprecated)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    start = lines.index("API CALLS")
    end = lines.index("STRUCTURES")
    actions = {}
    heads = [i for i in range(start, end) if re.match(r"^   guestfs_[A-Za-z0-9_]+$", lines[i])]
    heads.append(end)
    for h, nxt in zip(heads, heads[1:]):
        name = lines[h].strip()[len("guestfs_"):]
        if name.endswith("_va") or name.endswith("_argv"):
            continue
        body = lines[h + 1:nxt]
        # the prototype: from the line holding "guestfs_NAME (" to the one ending in ");"
        k = next(i for i, t in enumerate(body) if "guestfs_%s (" % name in t)
        proto = []
        for t in body[k:]:
            proto.append(t)
            if t.rstrip().endswith(");"):
                break
        params = " ".join(proto).split("(", 1)[1]
        params = params.rsplit(")", 1)[0]
        args, has_optargs = [], False
        for p in [x.strip() for x in params.split(",")][1:]:     # skip guestfs_h *g
            if p == "...":
                has_optargs = True
                continue
            m = re.match(r"^(?P<type>.*?[\s*])(?P<name>[a-z_][a-z0-9_]*)$", p)
            if not m:
                raise ValueError("%s: cannot parse parameter %r" % (name, p))
            ctype, pname = m.group("type").strip(), m.group("name")
            if ctype == "size_t *":
                continue                                      # an output (buffer size)
            if ctype == "size_t" and args and args[-1][1] == "string" \
                    and pname == args[-1][0] + "_size":
                args[-1] = (args[-1][0], "buffer")            # data + length: one buffer
                continue
            args.append((pname, _c_kind(ctype)))
        optargs = []
        if has_optargs:
            for t in body[k + len(proto):]:
                m = _OPTARG.match(t)
                if m:
                    optargs.append((m.group("name"), _c_kind(m.group("type"))))
                elif optargs and t.strip():
                    break
        text = " ".join(t.strip() for t in body)
        actions[name] = {"args": args, "optargs": optargs,
                         "deprecated": "This function is deprecated." in text}
    return actions


def parse_guestfish_bools(path):
    """From guestfish(1)'s synopses: action name -> (positional indexes, optarg names)
    written as true|false (booleans)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("\t") or line.startswith("\t\t"):
                continue
            words = line.split()
            if not words or not re.match(r"^[a-z0-9][a-z0-9-]*$", words[0]):
                continue
            name = words[0].replace("-", "_")
            pos, opt = set(), set()
            i = 0
            for w in words[1:]:
                if w.startswith("["):
                    n, _, v = w.strip("[]").partition(":")
                    if v == "true|false":
                        opt.add(n)
                    continue
                if w == "true|false":
                    pos.add(i)
                i += 1
            if name not in out or pos or opt:
                out[name] = (pos, opt)
    return out


def reference_api(refdir=None):
    """The public API as python-guestfs presents it: name -> (args, optargs, aliases,
    deprecated), args and optargs lists of (name, kind)."""
    refdir = find_reference(refdir)
    c = parse_guestfs3(os.path.join(refdir, "guestfs.3.txt"))
    fishfile = os.path.join(refdir, "guestfish.1.txt")
    bools = parse_guestfish_bools(fishfile) if os.path.isfile(fishfile) else {}
    api = {}
    for name, a in c.items():
        if name.endswith("_opts") and name[:-5] in c:
            continue                                  # the alias of NAME (below)
        entry = dict(a, aliases=[])
        if name + "_opts" in c:
            entry = dict(c[name + "_opts"], aliases=[name + "_opts"],
                         deprecated=a["deprecated"])
        pos, opt = bools.get(name, (set(), set()))
        entry["args"] = [(n, "bool" if k == "int" and i in pos else k)
                         for i, (n, k) in enumerate(entry["args"])]
        entry["optargs"] = [
            (n, "bool" if k == "int" and (n in opt or (name, n) in BOOL_OVERRIDES) else k)
            for n, k in entry["optargs"]]
        api[name] = entry
    for name, (args, optargs) in EXTRA.items():
        api.setdefault(name, {"args": args, "optargs": optargs, "aliases": [],
                              "deprecated": False})
    return api


def guestkit_api():
    """guestkit's table in the same shape."""
    sys.path.insert(0, ROOT)
    from guestkit.actions import ACTIONS
    out = {}
    for name, a in ACTIONS.items():
        out[name] = {
            "args": [(k.name, KIND_OF_CLASS.get(type(k).__name__, type(k).__name__))
                     for k in a.args],
            "optargs": [(k.name, KIND_OF_CLASS.get(type(k).__name__, type(k).__name__))
                        for k in a.optargs],
            "aliases": list(a.aliases),
        }
    return out


def compare(ref=None, ours=None):
    """(missing, different): names guestkit lacks, and {name: [differences]}.  Optional
    arguments guestkit has beyond the reference's (after them) are not differences."""
    ref = reference_api() if ref is None else ref
    ours = guestkit_api() if ours is None else ours
    missing = sorted(n for n in ref if n not in ours)
    different = {}
    for name in sorted(set(ref) & set(ours)):
        r, o = ref[name], ours[name]
        why = []
        if [n for n, _ in r["args"]] != [n for n, _ in o["args"]]:
            why.append("arguments %s, reference %s" % (
                [n for n, _ in o["args"]], [n for n, _ in r["args"]]))
        else:
            for (n, k), (_, ok) in zip(r["args"], o["args"]):
                if k != ok:
                    why.append("argument %s is %s, reference %s" % (n, ok, k))
        # guestkit may offer more optional arguments than libguestfs (after the reference's
        # own, so positional calls written for python-guestfs keep their meaning)
        if [n for n, _ in r["optargs"]] != [n for n, _ in o["optargs"]][:len(r["optargs"])]:
            why.append("optional arguments %s, reference %s" % (
                [n for n, _ in o["optargs"]], [n for n, _ in r["optargs"]]))
        else:
            for (n, k), (_, ok) in zip(r["optargs"], o["optargs"]):
                if k != ok:
                    why.append("optional argument %s is %s, reference %s" % (n, ok, k))
        for alias in r["aliases"]:
            if alias not in o["aliases"]:
                why.append("alias %s missing" % alias)
        if why:
            different[name] = why
    return missing, different


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", help="directory holding guestfs.3.txt")
    p.add_argument("--verbose", "-v", action="store_true", help="also list what matches")
    o = p.parse_args(argv)
    ref = reference_api(o.reference)
    ours = guestkit_api()
    missing, different = compare(ref, ours)
    print("reference: %d actions; guestkit: %d; match: %d; differ: %d; missing: %d" % (
        len(ref), len(ours), len(ref) - len(missing) - len(different), len(different),
        len(missing)))
    for name in missing:
        print("missing   %s%s" % (name, " (deprecated)" if ref[name]["deprecated"] else ""))
    for name, why in different.items():
        for w in why:
            print("different %s: %s" % (name, w))
    if o.verbose:
        extra = sorted(n for n in ours if n not in ref)
        print("guestkit only: %s" % " ".join(extra))
    return 1 if missing or different else 0


if __name__ == "__main__":
    sys.exit(main())
