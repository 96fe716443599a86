"""The interactive shell: a prompt with line editing (readline), a history kept in
``~/.guestkit_history``, and completion of command names, optional arguments, host file
names and, once the appliance runs, guest paths and devices."""

import glob
import os
import stat
import sys

from ..actions.table import Device, DevOrPath, Mountable, Pathname
from . import CliError
from .builtins import BUILTINS
from .lexer import parse_line
from .parse import command_names, find_action, has_secret

HISTORY_FILE = "~/.guestkit_history"
HISTORY_LENGTH = 1000

#: argument kinds naming something in the guest
_GUEST_KINDS = (Pathname, Device, DevOrPath, Mountable)
#: builtins whose first argument is a guest file
_GUEST_FILE_BUILTINS = ("more", "less", "edit", "vi", "emacs", "display")
#: at most this many guest entries are offered (a directory may hold 100,000)
_MAX_GUEST_MATCHES = 2000


def prompt_string(name, default=""):
    """$GUESTKIT_<NAME>, else $GUESTFISH_<NAME> (PS1, OUTPUT, INIT, RESTORE: see guestfish(1)
    "PROMPT"), with its escapes: \\\\ \\[ \\] (around invisible characters, for
    readline) \\a \\e \\n \\r \\NNN (octal) \\xNN (hex)."""
    text = os.environ.get("GUESTKIT_" + name)
    if text is None:
        text = os.environ.get("GUESTFISH_" + name)
    if text is None:
        return default
    out, i = [], 0
    simple = {"\\": "\\", "[": "\001", "]": "\002", "a": "\a", "e": "\033",
              "n": "\n", "r": "\r"}
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        octal = text[i + 1:i + 4]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif len(octal) == 3 and all(d in "01234567" for d in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        elif e == "x" and len(text[i + 2:i + 4]) == 2 and all(
                d in "0123456789abcdefABCDEF" for d in text[i + 2:i + 4]):
            out.append(chr(int(text[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


def run_interactive(shell):
    """Read and run lines typed at the terminal until quit or end of input; errors are
    reported and the shell goes on.  Always status 0, as guestfish."""
    from .script import Source
    from .shell import BANNER, ERRORS, PROMPT
    rl = setup_readline(shell)
    prompt = prompt_string("PS1", PROMPT)
    before_output = prompt_string("OUTPUT")
    shell.out.write(prompt_string("INIT") + BANNER)
    shell.out.flush()
    source = Source(lambda: _input(""), None)       # more lines (here-documents)
    try:
        while True:
            try:
                line = input(prompt)
                if before_output:
                    shell.out.write(before_output)
                    shell.out.flush()
            except EOFError:
                shell.out.write("\n")
                break
            except KeyboardInterrupt:
                shell.out.write("\n")
                continue
            if rl is not None and _secret_line(line):
                _forget_last_line(rl)
            try:
                if not shell.run_line(line, source):
                    break
            except ERRORS as e:
                shell.report(e)
            except KeyboardInterrupt:
                shell.err.write("\nguestkit: interrupted\n")
    finally:
        if rl is not None:
            save_history(rl)
        restore = prompt_string("RESTORE")
        if restore:
            shell.out.write(restore)
            shell.out.flush()
    return 0


def _input(prompt):
    try:
        return input(prompt) + "\n"
    except EOFError:
        return ""


def _secret_line(text):
    """A line giving a key on the line itself must not stay in the history."""
    try:
        line = parse_line(text)
    except CliError:
        return False
    if line is None or line.kind != "command":
        return False
    try:
        return has_secret(find_action(line.words[0]))
    except CliError:
        return False


# ---- history --------------------------------------------------------------------------------

def history_path():
    return os.path.expanduser(HISTORY_FILE)


def load_history(readline):
    readline.set_history_length(HISTORY_LENGTH)
    try:
        readline.read_history_file(history_path())
    except (FileNotFoundError, PermissionError, OSError):
        pass


def save_history(readline):
    try:
        readline.write_history_file(history_path())
    except OSError as e:
        sys.stderr.write("guestkit: cannot save the history in %s: %s\n"
                         % (history_path(), e.strerror or e))


# ---- completion -----------------------------------------------------------------------------

def complete(before, text, g=None):
    """Completions of TEXT, the word being typed, where BEFORE is the line before it:
    command names for the first word of a command, host file names where a host file is
    expected, guest paths and devices where the guest's are (when G, a launched handle, is
    given), name: for optional arguments after the positional ones."""
    words = before.split()
    while words and words[0].lstrip("-") in ("glob", "time"):
        words = words[1:]
    if not words:
        prefix = "-" if text.startswith("-") else ""
        return [prefix + n for n in command_names() if n.startswith(text[len(prefix):])]
    name = words[0].lstrip("-")
    pos = len(words) - 1
    if name in BUILTINS:
        if name in _GUEST_FILE_BUILTINS and pos == 0 and g is not None:
            return guest_paths(g, text)
        if name in ("lcd", "alloc", "allocate", "sparse") and pos == 0:
            return host_paths(text, dirs_only=name == "lcd")
        return []
    try:
        action = find_action(name)
    except CliError:
        return []
    if pos < len(action.args):
        kind = action.args[pos]
        if kind.stream or (not action.daemon and kind.name == "filename"):
            return host_paths(text)
        if isinstance(kind, _GUEST_KINDS) and g is not None:
            return guest_paths(g, text, devices=not isinstance(kind, Pathname))
        return []
    return ["%s:" % k.name for k in action.optargs if ("%s:" % k.name).startswith(text)]


def host_paths(text, dirs_only=False):
    names = glob.glob(glob.escape(os.path.expanduser(text)) + "*")
    if text.startswith("~"):
        home = os.path.expanduser(text.split("/", 1)[0])
        names = [text.split("/", 1)[0] + n[len(home):] for n in names]
    out = []
    for p in names:
        isdir = os.path.isdir(os.path.expanduser(p))
        if dirs_only and not isdir:
            continue
        out.append(p + "/" if isdir else p)
    return sorted(out)


def guest_paths(g, text, devices=True):
    """Guest paths (or device names) starting with TEXT, asked of the appliance: one
    directory listing per completion, no waiting for an appliance that is not running."""
    try:
        if g.is_config():
            return []
        if devices and text.startswith("/dev/"):
            names = list(g.list_devices()) + list(g.list_partitions())
            try:
                names += list(g.lvs())
            except Exception:
                pass
            return sorted(n for n in set(names) if n.startswith(text))
        if not text.startswith("/"):
            return ["/"] if not text else []
        parent = text.rsplit("/", 1)[0] or "/"
        base = text.rsplit("/", 1)[1]
        lead = parent.rstrip("/") + "/"
        names = sorted(n for n in g.ls(parent) if n.startswith(base))[:_MAX_GUEST_MATCHES]
        modes = [st["st_mode"] if isinstance(st, dict) else st.st_mode
                 for st in g.lstatnslist(parent, names)] if names else []
        out = [lead + n + ("/" if stat.S_ISDIR(m) else "") for n, m in zip(names, modes)]
        return sorted(out)
    except Exception:           # completion must never break the prompt
        return []


def setup_readline(shell):
    try:
        import readline
    except ImportError:
        return None

    matches = []

    def completer(text, state):
        if state == 0:
            line = readline.get_line_buffer()
            g = shell._g if getattr(shell, "dest_paths", True) else None
            matches[:] = complete(line[:readline.get_begidx()], text, g)
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n")
    readline.set_completer(completer)
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    load_history(readline)
    return readline


def _forget_last_line(readline):
    n = readline.get_current_history_length()
    if n > 0:
        readline.remove_history_item(n - 1)
