"""Drop-in signatures: optional arguments by keyword or positionally, values accepted as
liberally as python-guestfs, annotated signatures and full docstrings, and the
internal_test* binding-test actions giving libguestfs's results."""

import inspect
import json
import os
import sys
import subprocess
import typing

import pytest

import guestkit
from guestkit.actions import ACTIONS


@pytest.fixture
def g():
    h = guestkit.GuestFS(environment=False)
    yield h
    h.close()


def test_optargs_positionally_in_declaration_order(g):
    g.add_drive_opts("/dev/null", 1, "raw")
    d = g._drives[-1]
    assert (d.readonly, d.format) == (True, "raw")
    g.add_drive("/dev/null", False, "raw", label="x")
    assert g._drives[-1].readonly is False and g._drives[-1].label == "x"


def test_optarg_both_positional_and_keyword_is_refused(g):
    with pytest.raises(TypeError, match="multiple values for argument 'readonly'"):
        g.add_drive_opts("/dev/null", 1, readonly=0)


def test_too_many_arguments(g):
    with pytest.raises(TypeError, match="at most"):
        g.internal_test_only_optargs(1, 2)


def test_bool_where_int_and_int_where_bool(g, capsys):
    # umount's flags are booleans in guestfs(3); ints are taken too
    assert ACTIONS["umount"].check_args(["/"], {"force": False, "lazyunmount": 0}) == (
        ["/"], {"force": False, "lazyunmount": False})
    g.set_verbose(1)
    assert g.get_verbose() == 1
    g.set_verbose(False)
    g.internal_test_only_optargs(True)
    assert capsys.readouterr().out == "test: 1\n"
    with pytest.raises(TypeError):
        g.set_verbose(2.0)
    with pytest.raises(TypeError):
        g.internal_test_only_optargs("1")


def test_umount_takes_python_guestfs_flags(g):
    # before launch the call fails on state, not on its arguments' types
    with pytest.raises(guestkit.Error, match="launch"):
        g.umount("/", force=False, lazyunmount=False)
    with pytest.raises(guestkit.Error, match="launch"):
        g.umount_opts("/", True, 1)


def test_string_lists_take_any_iterable_but_not_a_string(g, capsys):
    g.internal_test("s", None, iter(["a", "b"]), 0, 0, 0, "", "", b"")
    assert '["a", "b"]' in capsys.readouterr().out
    with pytest.raises(TypeError):
        g.internal_test("s", None, "ab", 0, 0, 0, "", "", b"")


def test_every_method_has_an_annotated_signature():
    for name, action in ACTIONS.items():
        sig = inspect.signature(getattr(guestkit.GuestFS, name))
        params = list(sig.parameters.values())[1:]
        assert [p.name for p in params] == [k.name for k in action.args + action.optargs]
        for p in params:
            assert p.annotation is not p.empty, (name, p.name)
            assert p.kind is p.POSITIONAL_OR_KEYWORD
        for p in params[len(action.args):]:
            assert p.default is None
            assert type(None) in typing.get_args(p.annotation), (name, p.name)
        assert sig.return_annotation is not sig.empty or action.ret.label == "nothing"
        hints = typing.get_type_hints(getattr(guestkit.GuestFS, name))
        assert set(hints) >= {k.name for k in action.args}


def test_signature_examples():
    sig = inspect.signature(guestkit.GuestFS.umount)
    assert str(sig) == ("(self, pathordevice: str, force: Optional[bool] = None, "
                        "lazyunmount: Optional[bool] = None) -> None")
    sig = inspect.signature(guestkit.GuestFS.list_filesystems)
    assert "List[typing.Tuple[str, str]]" in str(sig.return_annotation)
    assert inspect.signature(guestkit.GuestFS.read_file).return_annotation is bytes


def test_docstrings_tell_arguments_return_and_errors():
    doc = guestkit.GuestFS.umount.__doc__
    for text in ("pathordevice", "force: optional, bool", "Returns: nothing",
                 "guestkit.Error", "launched handle", "umount_opts"):
        assert text in doc
    assert len(guestkit.GuestFS.mount.__doc__.splitlines()) > 8


def test_py_typed_is_shipped():
    root = os.path.dirname(guestkit.__file__)
    assert os.path.isfile(os.path.join(root, "py.typed"))
    with open(os.path.join(os.path.dirname(root), "pyproject.toml")) as f:
        assert "py.typed" in f.read()


# ---- internal_test*: the same results as python-guestfs --------------------------------

_ROUND_TRIPS = """
import json, sys
if sys.argv[1] == "guestfs":
    import guestfs
    g = guestfs.GuestFS()
else:
    import guestkit
    g = guestkit.GuestFS(environment=False)
out = []
for n in ["rint", "rint64", "rbool", "rconststring", "rconstoptstring", "rstring",
          "rstringlist", "rstruct", "rstructlist", "rhashtable", "rbufferout"]:
    for a in ["0", "1", "3", "10", "0x10", "010", " 3", "3abc", "+2", "abc", "", "true"]:
        try:
            r = repr(getattr(g, "internal_test_" + n)(a))
        except RuntimeError as e:
            r = "error: %s" % e
        out.append([n, a, r])
    try:
        r = repr(getattr(g, "internal_test_" + n + "err")())
    except RuntimeError as e:
        r = "error: %s" % e
    out.append([n + "err", r])
path = sys.argv[2]
g.internal_test_set_output(path)
g.internal_test("a\\nb", "", ["", 'q"x'], 1, 0, -5, "", "", b"\\x00\\xff\\n A~",
                ostringlist=[], obool=False, ostring="", oint=True)
g.internal_test("a", None, ["x"], True, 7, 1 << 40, "/i", "/o", b"buf", True, 3, 5, "s",
                ["a", "b"])
g.internal_test_only_optargs()
g.internal_test_only_optargs(5)
g.internal_test_63_optargs(1, 2, opt63=63)
g.internal_test_close_output()
g.internal_test_close_output()
with open(path) as f:
    out.append(f.read())
print(json.dumps(out))
"""


def _round_trips(python, which, tmp_path):
    r = subprocess.run([python, "-c", _ROUND_TRIPS, which, str(tmp_path / which)],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LIBGUESTFS_TRACE="0", LIBGUESTFS_DEBUG="0"))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_internal_tests_known_results(g):
    assert g.internal_test_rstringlist("3") == ["0", "1", "2"]
    assert g.internal_test_rhashtable("2") == [("0", "0"), ("1", "1")]
    assert g.internal_test_rint64("0x10") == 16 and g.internal_test_rint("010") == 10
    assert g.internal_test_rbool("true") == 1 and g.internal_test_rbool("1") == 0
    assert g.internal_test_rstructlist("2")[1]["pv_name"] == "pv1"
    assert g.internal_test_rbufferout("ab") == b"ab"
    assert g.internal_test_rconstoptstringerr() is None
    with pytest.raises(guestkit.Error, match="^error$"):
        g.internal_test_rstructerr()
    with pytest.raises(guestkit.Error, match="expecting int argument"):
        g.internal_test_rint("abc")
    with pytest.raises(guestkit.Error):
        g.internal_test_rstringlist("-1")          # libguestfs crashes; guestkit refuses


def test_internal_tests_match_libguestfs(tmp_path):
    import sys
    probe = subprocess.run(["/usr/bin/python3", "-c", "import guestfs"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.fail("python3-guestfs (libguestfs's binding, the oracle) is not installed "
                    "for /usr/bin/python3: run the README's test command", pytrace=False)
    theirs = _round_trips("/usr/bin/python3", "guestfs", tmp_path)
    ours = _round_trips(sys.executable, "guestkit", tmp_path)
    assert ours == theirs


# ---- the type stub: what mypy and IDEs see -----------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_GOOD = '''
from typing import List
import guestkit
g = guestkit.GuestFS(python_return_dict=True)
g.add_drive_opts("x.img", True, "raw")
g.add_drive("x.img", readonly=True, format="raw")
g.umount("/", force=False, lazyunmount=False)
names: List[str] = g.list_devices()
data: bytes = g.read_file("/etc/hostname")
n: int = g.internal_test_rint("3")
'''

_BAD = '''
import guestkit
g = guestkit.GuestFS()
g.mount(1, "/")
g.no_such_action()
s: str = g.read_file("/x")
g.umount("/", forse=True)
'''


def test_stub_is_current():
    from guestkit.stubgen import render
    with open(os.path.join(ROOT, "guestkit", "handle.pyi")) as f:
        assert f.read() == render(), "run: bash scripts/gen-docs.sh"


def test_mypy_checks_calls_against_the_table(tmp_path):
    import mypy.api as mypy         # in the test extras: its absence is a failure
    (tmp_path / "good.py").write_text(_GOOD)
    (tmp_path / "bad.py").write_text(_BAD)
    os.environ["MYPYPATH"] = ROOT
    limit = sys.getrecursionlimit()     # mypy raises it for good: other tests count on it
    try:
        args = ["--follow-imports=silent", "--no-error-summary", "--cache-dir",
                str(tmp_path / ".mypy_cache")]
        out, err, rc = mypy.run(args + [str(tmp_path / "good.py")])
        assert rc == 0, out + err
        out, err, rc = mypy.run(args + [str(tmp_path / "bad.py")])
    finally:
        del os.environ["MYPYPATH"]
        sys.setrecursionlimit(limit)
    assert rc == 1
    assert 'Argument 1 to "mount" of "GuestFS" has incompatible type "int"' in out
    assert '"GuestFS" has no attribute "no_such_action"' in out
    assert 'has type "bytes", variable has type "str"' in out
    assert 'Unexpected keyword argument "forse" for "umount"' in out
