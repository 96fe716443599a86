"""The man pages and the bash completion are made from the action table, the shell's
options and the tool registry, are up to date in docs/, render cleanly, and complete."""

import os
import subprocess

import pytest

from guestkit import completion, manpages
from guestkit.actions import ACTIONS
from guestkit.tools import registry

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")
MAN = os.path.join(DOCS, "man")
COMPLETION = os.path.join(DOCS, "completion", "guestkit")


def test_man_pages_are_up_to_date():
    pages = manpages.pages()
    assert sorted(f for f in os.listdir(MAN) if f.endswith(".1")) == sorted(pages), \
        "run: bash scripts/gen-docs.sh"
    for fname, text in pages.items():
        with open(os.path.join(MAN, fname), encoding="utf-8") as f:
            assert f.read() == text, "run: bash scripts/gen-docs.sh"


def test_completion_is_up_to_date():
    with open(COMPLETION, encoding="utf-8") as f:
        assert f.read() == completion.script(), \
            "run: bash scripts/gen-docs.sh"


@pytest.mark.parametrize("fname", sorted(manpages.pages()))
def test_page_renders_without_warnings(fname):
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-P-cbou", os.path.join(MAN, fname)],
                       capture_output=True, text=True, check=True)
    assert r.stderr == ""
    assert "NAME" in r.stdout and "SEE ALSO" in r.stdout


def _rendered(fname):
    r = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=200n",
                        os.path.join(MAN, fname)], capture_output=True, text=True, check=True)
    return r.stdout


def test_shell_page_has_every_command_and_tool():
    text = _rendered("guestkit.1")
    for name in ACTIONS:
        assert "\n       %s" % name.replace("_", "-") in text, name
    for name in registry.TOOLS:
        assert "guestkit %s" % name in text and "guestkit-%s(1)" % name in text


@pytest.mark.parametrize("name", sorted(registry.TOOLS))
def test_tool_page_has_every_option(name):
    text = _rendered("guestkit-%s.1" % name)
    for act in registry.parser_of(name)._actions:
        for flag in act.option_strings:
            assert flag in text, flag
    assert (registry.TOOLS[name].counterpart or "guestkit(1)") in text


def _complete(line):
    """What the generated completion offers for LINE, run by bash itself."""
    script = ('source "$1"; COMP_LINE="$2"; COMP_POINT=${#2}; read -ra COMP_WORDS <<< "$2"; '
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _guestkit; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", script, "bash", COMPLETION, line],
                       capture_output=True, text=True, check=True, cwd=DOCS)
    return [w for w in r.stdout.split("\n") if w]


def test_completion_in_bash():
    assert _complete("guestkit cap") == ["cap-get-file", "cap-set-file"]
    assert "cat" in _complete("guestkit ca")
    assert _complete("guestkit --r") == ["--remote", "--ro", "--rw"]
    # after options with arguments (DEV:MOUNTPOINT holds a colon) and after separators
    assert "mkdir-p" in _complete("guestkit -a x.img -m /dev/sda1:/ mkd")
    assert _complete("guestkit -a x.img run : mount /dev/sda1 / : ls0") == ["ls0"]
    # arguments of a command are not commands
    assert "mkdir" not in _complete("guestkit -a x.img mount /dev/sda1 mk")
    # a tool's own options, and host files after -a
    assert _complete("guestkit ls --chec") == ["--checksum"]
    assert "--inodes" in _complete("guestkit df --")
    assert _complete("guestkit cat -a completion/guest") == ["completion/guestkit"]
