"""guestkit edit's -e expressions (guestkit/tools/perlexpr.py) against Perl itself: for
each expression and input, the bytes Perl prints when run the way virt-edit runs it."""

import os
import shutil
import subprocess

import pytest

from guestkit.tools.perlexpr import ExprError, LineEdit, apply

# virt-edit's loop: the expression evaluated for each line, $_ printed
VIRT_EDIT_LOOP = ("$lineno = 0; $expr = $ENV{virt_edit_expr}; while (<STDIN>) { $lineno++; "
                  "eval $expr; die if $@; print STDOUT $_ or die \"print: $!\"; } "
                  "close STDOUT or die \"close: $!\";")

TEXT = (b"root:x:0:0:root:/root:/bin/bash\napache:x:48:48::/var/www:/sbin/nologin\n"
        b"id:3:initdefault:\nfoo foo FOO\r\nsome text\r\n  indented = value # note\n"
        b"caf\xc3\xa9 \xff\xfe bytes\nno newline at the end")

CASES = [
    r"s/foo/bar/",
    r"s/foo/bar/g",
    r"s/foo/bar/gi",
    r"s/^id:.*/id:5:initdefault:/",
    r"s/^root:.*?:/root::/",
    r'$_ = "" if /^apache:/',
    r'$_ = "" unless /o/',
    r"s|/bin/bash|/bin/sh|",
    r"s#(\w+):x:(\d+)#$2:$1#",
    r"s{(\d+)}{<${1}>}g",
    r"s(o)(0)g",
    r"s<^\s+><>",
    r"s/text(\r?\n)?$/TEXT$1/",
    r"s/(?<key>\w+) = (?<val>\w+)/$+{val} = $+{key}/",
    r"s/x/[$&]/g",
    r"s/:/\t/g",
    r"s/\//|/g",
    r"s/$/ END/",
    r"s/\z/!/",
    r"s/end\Z/END/",
    r"s/caf\xc3\xa9/coffee/",
    r"s/\xff/\x{41}/",
    r"s/é/e/",
    r"s/\w+/W/g",
    r"s/(\d)(\d)/\2\1/g",
    r"s/ (?# a comment ) foo/ baz/x",
    r"s/.\n/#\n/s",
    r"s/a/\$@/",
    r"s/O+/o/i;",
    r"s/nothing matches this/x/",
]


@pytest.fixture(scope="module")
def perl():
    path = shutil.which("perl")
    if path is None:
        pytest.fail("perl is not installed: these tests compare with it", pytrace=False)
    return path


def perl_edit(perl, expr, data):
    env = dict(os.environ, virt_edit_expr=expr)
    r = subprocess.run([perl, "-e", VIRT_EDIT_LOOP], input=data, capture_output=True,
                       env=env, timeout=30)
    assert r.returncode == 0, (expr, r.stderr)
    return r.stdout


@pytest.mark.parametrize("expr", CASES)
def test_same_bytes_as_perl(perl, expr):
    # the expression reaches Perl as the bytes of its UTF-8 form; guestkit edit does the same
    mine = apply(LineEdit(os.fsencode(expr).decode("latin-1")), TEXT)
    assert mine == perl_edit(perl, expr, TEXT)


@pytest.mark.parametrize("expr,message", [
    ("tr/a-z/A-Z/", "is not supported"),
    ("y/a/b/", "is not supported"),
    ("s/a/b/e", "the flag 'e'"),
    ("s/a/b/r", "the flag 'r'"),
    ("s/a/$lineno/", "'$lineno' in the replacement"),
    ("s/a/@foo/", "Perl array"),
    ("s/(a)/\\U$1/", "\\U"),
    ("s/[[:alpha:]]/x/", "POSIX classes"),
    ("s/a/$2/", "$2"),
    ("s/a/b", "no closing"),
    ("s{a}b", "bracketed replacement"),
    ("s/(/x/", "the regex '('"),
    ("s/\\h/x/", "\\h"),
    ('$_ = "" if $lineno == 1', "not a match"),
    ("s/a/b/; s/c/d/", "the flag ';'"),
])
def test_refused_with_a_reason(expr, message):
    with pytest.raises(ExprError) as ei:
        LineEdit(expr)
    assert message in str(ei.value)
