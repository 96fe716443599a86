"""``guestkit edit``: virt-edit's job.  Edits files of a guest, mounted read-write as
inspection finds it (or with -m): with $EDITOR (else vi) on a host copy, or with -e EXPR,
a Perl-style expression applied to each line (guestkit/tools/perlexpr.py says which).

Each FILE must be a full path to an existing regular file (a symlink is followed and its
target edited, as virt-edit does); anything else is refused before anything is written.
The new content is written only when it differs from the old: to a new file of a random
name in the same directory, given the old one's mode, owner and extended attributes
(SELinux label included), then renamed over the old one, so that a failure leaves the
old file whole.  -b EXT keeps the old file as FILE + EXT.  virt-edit's old-style
arguments (an image or guest name before the file, without -a/-d) and its Windows paths
(C:\\...) are not understood."""

import os
import secrets
import shlex
import string
import subprocess
import tempfile

import guestkit

from .common import ToolError, guest_parser, open_guest, run_tool
from .perlexpr import ExprError, LineEdit, apply

PROG = "guestkit edit"
_NAME_CHARS = string.ascii_letters + string.digits


def check_editable(g, path):
    """The canonical path of PATH, which must be a regular file (after symlinks)."""
    try:
        real = g.realpath(path)
    except guestkit.Error as e:
        if e.errno_name == "ENOENT":
            raise ToolError("%s: no such file in the guest (guestkit edit does not "
                            "create files)" % path) from None
        raise ToolError("%s: %s" % (path, e)) from None
    if not g.is_file(real):
        raise ToolError("%s: not a regular file: guestkit edit edits regular files only"
                        % path)
    return real


def write_back(g, real, data, backup):
    """Replace the guest file REAL by DATA, keeping its attributes (see the module doc)."""
    directory = real.rsplit("/", 1)[0] or "/"
    for _ in range(10):
        name = "".join(secrets.choice(_NAME_CHARS) for _ in range(8))
        temp = (directory.rstrip("/") + "/" + name)
        if not g.exists(temp):
            break
    else:
        raise ToolError("%s: could not find a free temporary name beside it" % real)
    with tempfile.NamedTemporaryFile(prefix="guestkit-edit-") as f:
        f.write(data)
        f.flush()
        g.upload(f.name, temp)
    try:
        g.copy_attributes(real, temp, all=True)
        if backup:
            g.mv(real, real + backup)
        g.mv(temp, real)
    except BaseException:
        try:
            g.rm_f(temp)
        except guestkit.Error:
            pass
        raise


def parse_expr(expr, option):
    """The LineEdit of a Perl-style EXPR (byte semantics, as Perl without "use utf8")."""
    try:
        return LineEdit(os.fsencode(expr).decode("latin-1"))
    except ExprError as e:
        raise ToolError("%s: %s" % (option, e)) from None


def edit_file(g, real, change, backup=None):
    """Give the bytes of the guest file REAL (a checked, canonical path) to CHANGE and
    write back what it returns when that differs."""
    with tempfile.TemporaryFile() as f:
        g.download(real, "/dev/fd/%d" % f.fileno())
        f.seek(0)
        old = f.read()
    new = change(old)
    if new != old:
        write_back(g, real, new, backup)


def run_editor(data, editor):
    """DATA edited by the user's EDITOR in a private host file; the new bytes."""
    with tempfile.TemporaryDirectory(prefix="guestkit-edit-") as d:
        path = os.path.join(d, "file")          # the directory is 0700: the file is private
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run("%s %s" % (editor, shlex.quote(path)), shell=True)
        if r.returncode != 0:
            raise ToolError("the editor (%s) failed (status %d): the file was left as it "
                            "was" % (editor, r.returncode))
        with open(path, "rb") as f:
            return f.read()


def edit(argv):
    ap = guest_parser(PROG, "edit files of a guest with $EDITOR or a Perl-style "
                            "expression, as virt-edit does", mounts=True)
    ap.set_defaults(readonly=False)
    ap.add_argument("-b", "--backup", metavar="EXTENSION",
                    help="keep the original file as FILE + EXTENSION (e.g. .orig)")
    ap.add_argument("-e", "--edit", "--expr", dest="expr", metavar="EXPR",
                    help="apply EXPR to each line instead of running $EDITOR: "
                         "s/REGEX/REPLACEMENT/FLAGS or $_ = \"\" if /REGEX/")
    ap.add_argument("files", nargs="+", metavar="FILE", help="a file of the guest, a full "
                                                              "path")
    ns = ap.parse_args(argv)
    line_edit = None
    if ns.expr is not None:
        line_edit = parse_expr(ns.expr, "-e")
    if ns.backup is not None and (not ns.backup or "/" in ns.backup):
        raise ToolError("--backup %r: expecting an extension such as .orig (no /)"
                        % ns.backup)
    for path in ns.files:
        if not path.startswith("/"):
            raise ToolError("%s: a file of the guest must be a full path, starting with /"
                            % path)
    editor = os.environ.get("EDITOR") or "vi"
    g = open_guest(ns, mount=True)
    try:
        reals = [check_editable(g, path) for path in ns.files]    # all, before any write
        for real in reals:
            edit_file(g, real, (lambda old: apply(line_edit, old)) if line_edit is not None
                      else (lambda old: run_editor(old, editor)), ns.backup)
        g.shutdown()                    # written back before reporting success
    finally:
        g.close()
    return 0


def main(argv):
    return run_tool(PROG, edit, argv)
