"""The action table is the single source: methods, daemon handlers and library
implementations must all come from it and cover it exactly."""

import inspect

import pytest

import guestkit
from guestkit.actions import ACTIONS, ALIASES, DAEMON_ACTIONS, lookup
from guestkit.actions.table import Action, Int, Pathname, Device, StringList, Bool, Key
from guestkit.daemon.server import load_handlers
from guestkit.library import IMPLEMENTATIONS


def test_every_daemon_action_has_exactly_one_handler():
    handlers = load_handlers()
    missing = sorted(set(DAEMON_ACTIONS) - set(handlers))
    assert not missing, "daemon actions without a do_ handler: %s" % missing
    extra = sorted(n for n in handlers if n not in DAEMON_ACTIONS
                   and not n.startswith("internal_"))
    assert not extra, "handlers that are not in the table: %s" % extra


def test_every_library_action_has_an_implementation():
    lib = {n for n, a in ACTIONS.items() if not a.daemon}
    assert lib == set(IMPLEMENTATIONS), (lib ^ set(IMPLEMENTATIONS))


def test_methods_follow_the_table():
    for name, action in ACTIONS.items():
        m = getattr(guestkit.GuestFS, name)
        params = list(inspect.signature(m).parameters.values())[1:]
        assert all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params), name
        names = [p.name for p in params]
        assert names == [a.name for a in action.args + action.optargs], name
        opt = params[len(action.args):]
        assert all(p.default is None for p in opt), name
        assert all(p.default is p.empty for p in params[:len(action.args)]), name
        # the docstring holds the table's description, then arguments, return, errors
        assert action.doc and " ".join(m.__doc__.split()).startswith(
            " ".join(action.doc.split())), name


def test_opts_aliases_exist():
    for alias in ("add_drive_opts", "mkfs_opts", "umount_opts", "is_file_opts"):
        assert alias in ALIASES
        assert getattr(guestkit.GuestFS, alias) is getattr(guestkit.GuestFS, ALIASES[alias])


def test_lookup_accepts_shell_spelling():
    assert lookup("list-filesystems").name == "list_filesystems"
    assert lookup("add-drive-opts").name == "add_drive"
    assert lookup("no-such-thing") is None


def test_argument_checking():
    a = Action("x", [Pathname("path"), Int("n"), Device("dev"), StringList("l"), Bool("b")])
    args, _ = a.check_args(["/a", 3, "/dev/sda", ("a", "b"), 1], {})
    assert args == ["/a", 3, "/dev/sda", ["a", "b"], True]
    with pytest.raises(ValueError, match="must start with a /"):
        a.check_args(["rel", 3, "/dev/sda", [], True], {})
    with pytest.raises(ValueError, match="/dev/"):
        a.check_args(["/a", 3, "sda", [], True], {})
    with pytest.raises(TypeError, match="must be int"):
        a.check_args(["/a", "3", "/dev/sda", [], True], {})
    with pytest.raises(TypeError, match="takes 5 arguments"):
        a.check_args(["/a"], {})
    with pytest.raises(ValueError, match="out of range"):
        a.check_args(["/a", 1 << 40, "/dev/sda", [], True], {})
    with pytest.raises(ValueError, match="NUL"):
        a.check_args(["/a\0b", 1, "/dev/sda", [], True], {})


def test_unknown_optional_argument_is_refused():
    with pytest.raises(TypeError, match="unknown optional argument"):
        ACTIONS["mkfs"].check_args(["ext4", "/dev/sda"], {"nosuch": 1})


def test_secret_arguments_are_redacted():
    a = Action("k", [Device("device"), Key("key")])
    shown, _ = a.redact(["/dev/sda", "hunter2"], {})
    assert "hunter2" not in repr(shown)


def test_no_action_declared_twice_and_names_are_identifiers():
    for name in ACTIONS:
        assert name.isidentifier()


def test_short_descriptions_are_whole_sentences():
    """help and list-commands print each action's first sentence: never one cut at an
    abbreviation (e.g.), at the names . and .., or inside parentheses."""
    from guestkit.actions import ACTIONS
    from guestkit.actions.table import first_sentence
    for name, a in ACTIONS.items():
        s = a.shortdesc
        assert s.count("(") == s.count(")"), (name, s)
        assert not s.endswith((" e.g", " i.e", ",", ":", " without", " and")), (name, s)
    assert ACTIONS["ls"].shortdesc == "The names in DIRECTORY, sorted (the entries . and .. " \
                                      "left out)"
    assert first_sentence("Set X (e.g. 1).  More here.") == "Set X (e.g. 1)"
    assert first_sentence("Types: a, b, ...  More.") == "Types: a, b, ..."
    assert first_sentence("One. Two.") == "One"
    assert first_sentence("Ends without a stop") == "Ends without a stop"
