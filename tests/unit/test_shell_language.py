"""guestfish's command line and language in the guestkit shell, without a VM: the lexer,
size suffixes, keys left out, the new options, and the shell's own commands (run for real
through ``python -m guestkit.cli`` where they need no appliance)."""

import io
import os
import subprocess
import sys

import pytest

from guestkit.actions import ACTIONS
from guestkit.cli import CliError, interactive, options, parse, shell
from guestkit.cli.builtins import BUILTINS
from guestkit.cli.lexer import Line, parse_line

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, stdin=None, env=None, cwd=None):
    """Run the CLI of this worktree; (status, stdout, stderr)."""
    e = dict(os.environ, PYTHONPATH=HERE)
    e.update(env or {})
    p = subprocess.run([sys.executable, "-m", "guestkit.cli"] + list(args), input=stdin,
                       capture_output=True, text=True, env=e, cwd=cwd or HERE, timeout=120)
    return p.returncode, p.stdout, p.stderr


# ---- the lexer ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, line", [
    ("", None),
    ("   \n", None),
    ("# comment", None),
    ("\t  # indented comment", None),
    ("write /f 'hello world'", Line("command", ["write", "/f", "hello world"])),
    ('echo "a\\tb\\n" x', Line("command", ["echo", "a\tb\n", "x"])),
    ('echo "\\x41\\101\\\\\\""', Line("command", ["echo", 'AA\\"'])),
    ('echo "\\303\\251"', Line("command", ["echo", "\u00e9"])),      # bytes of UTF-8
    ("echo 'no \\n escapes'", Line("command", ["echo", "no \\n escapes"])),
    ('echo a"b" c\'d\'', Line("command", ["echo", 'a"b"', "c'd'"])),   # quotes inside words
    ('echo "" x', Line("command", ["echo", "", "x"])),
    ("echo a : echo b", Line("command", ["echo", "a", ":", "echo", "b"])),  # ':' is a word
    ("cat /etc/passwd | awk -F: '$3 == 0'",
     Line("command", ["cat", "/etc/passwd"], pipe=" awk -F: '$3 == 0'")),
    ("list-devices |tail -1", Line("command", ["list-devices"], pipe="tail -1")),
    ('echo "|" a|b', Line("command", ["echo", "|", "a|b"])),
    ("echo $HOME", Line("command", ["echo", "$HOME"])),                # never expanded
    ("-mkdir /x", Line("command", ["mkdir", "/x"], quiet=True)),
    ("  !mkdir local", Line("host", host="mkdir local")),
    ("-!false", Line("host", host="false", quiet=True)),
    ("<! seq 3", Line("inline", host=" seq 3")),
])
def test_lines_split_as_guestfish_splits_them(text, line):
    assert parse_line(text) == line


def test_tilde_expands_unquoted_words_only(monkeypatch):
    monkeypatch.setenv("HOME", "/home/tester")
    assert parse_line("echo ~ ~/x '~' \"~\" a~").words == [
        "echo", "/home/tester", "/home/tester/x", "~", "~", "a~"]
    assert parse_line("echo ~root").words == ["echo", os.path.expanduser("~root")]
    assert parse_line("echo ~no-such-user-zz/x").words == ["echo", "~no-such-user-zz/x"]


@pytest.mark.parametrize("text, msg", [
    ('echo "abc"def', "not separated by whitespace"),
    ("echo 'a'b", "not separated by whitespace"),
    ("echo 'abc", "unterminated single quote"),
    ('echo "abc', "unterminated double quote"),
    ('echo "a\\q"', "unknown escape \\q"),
    ('echo "\\12"', "three octal digits"),
    ('echo "\\x4"', "two hex digits"),
    ('echo "\\000"', "NUL"),
])
def test_bad_lines(text, msg):
    with pytest.raises(CliError) as e:
        parse_line(text)
    assert msg in str(e.value)


# ---- numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1234", 1234), ("02322", 1234), ("0x4d2", 1234), ("0", 0), ("-1", -1),
    ("1k", 1024), ("1K", 1024), ("1KiB", 1024), ("1KB", 1000), ("100M", 100 << 20),
    ("2MB", 2000000), ("10G", 10 << 30), ("1GiB", 1 << 30), ("3T", 3 << 40),
    ("1E", 1 << 60), ("0x10K", 16 << 10), ("010K", 8 << 10), ("0x1E", 30),
])
def test_integers_and_size_suffixes(text, value):
    assert parse.parse_integer(text) == value


@pytest.mark.parametrize("text", ["1b", "1B", "1m", "1w", "1.5K", "1Kx", "08", "", "K"])
def test_bad_integers(text):
    with pytest.raises(ValueError):
        parse.parse_integer(text)


def test_size_suffixes_reach_int_and_int64_arguments():
    assert parse.parse_args(ACTIONS["truncate_size"], ["/f", "1G"]) == (["/f", 1 << 30], {})
    assert parse.parse_args(ACTIONS["set_memsize"], ["1K"]) == ([1024], {})
    with pytest.raises(CliError, match="unknown size suffix 'w'"):
        parse.parse_args(ACTIONS["truncate_size"], ["/f", "1w"])


# ---- keys -----------------------------------------------------------------------------------

def test_keys_left_out_as_in_guestfish_are_asked_for():
    a = ACTIONS["cryptsetup_open"]
    assert parse.parse_args(a, ["/dev/sda2", "name"]) == (
        ["/dev/sda2", parse.AskKey("key"), "name"], {})
    assert parse.parse_args(a, ["/dev/sda2", "name", "readonly:true"])[0][1] == \
        parse.AskKey("key")
    # guestkit also takes the key on the line
    assert parse.parse_args(a, ["/dev/sda2", "k", "name"]) == (["/dev/sda2", "k", "name"], {})


class Recorder:
    def __init__(self, results=None, launched=True):
        self.calls = []
        self.results = results or {}
        self.launched = launched

    def is_config(self):
        return 0 if self.launched else 1

    def launch(self):
        self.calls.append(("launch", ()))
        self.launched = True

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args, **kwargs):
            self.calls.append((name, args) + ((kwargs,) if kwargs else ()))
            r = self.results.get(name)
            if callable(r):
                return r(*args, **kwargs)
            if isinstance(r, Exception):
                raise r
            return r
        return method


def test_keys_from_stdin(monkeypatch):
    g = Recorder()
    monkeypatch.setattr(sys, "stdin", io.StringIO("secret one\n"))
    sh = shell.Shell(lambda: g, out=io.StringIO(), keys_from_stdin=True)
    assert sh.run_line("cryptsetup-open /dev/sda2 name\n")
    assert g.calls == [("cryptsetup_open", ("/dev/sda2", "secret one", "name"),
                        {"readonly": True})]
    with pytest.raises(CliError, match="no key left"):
        sh.run_line("luks-open /dev/sda2 name2")


# ---- options --------------------------------------------------------------------------------

def test_guestfish_options():
    o = options.parse_options(["-f", "s.gk", "--keys-from-stdin", "--echo-keys",
                               "--pipe-error", "-n", "-w", "--no-dest-paths", "--selinux"])
    assert (o.file, o.keys_from_stdin, o.echo_keys, o.pipe_error, o.autosync, o.readonly,
            o.dest_paths) == ("s.gk", True, True, True, False, False, False)
    o = options.parse_options(["--file=s.gk", "--no-sync", "--rw", "-N", "fs:ext4"])
    assert (o.file, o.autosync, o.readonly, o.new) == ("s.gk", False, False, ["fs:ext4"])
    assert options.parse_options(["-nwf", "x"]).file == "x"
    assert options.parse_options(["--cmd-help"]).cmd_help == ""
    assert options.parse_options(["--cmd-help", "mount"]).cmd_help == "mount"


def test_bare_format_goes_back_to_detection():
    o = options.parse_options(["--format=raw", "-a", "a.img", "--format", "-a", "b.img"])
    assert o.drives == [("a", "a.img", "raw"), ("a", "b.img", None)]


def test_no_sync_sets_autosync_off():
    g = Recorder(launched=False)
    options.configure_handle(g, options.parse_options(["-n"]))
    assert ("set_autosync", (False,)) in g.calls


# ---- the script loop ------------------------------------------------------------------------

def test_dash_prefix_goes_on_and_exit_status():
    g = Recorder({"mkdir": OSError("exists"), "ls": ["x"]})
    out, err = io.StringIO(), io.StringIO()
    sh = shell.Shell(lambda: g, out=out, err=err)
    assert sh.run_input(io.StringIO("-mkdir /a\nls /\nmkdir /b\nls /never\n"),
                        interactive=False, name="s.gk") == 1
    assert [c[0] for c in g.calls] == ["mkdir", "ls", "mkdir"]
    assert err.getvalue() == ("guestkit: error: s.gk:1: exists\n"
                              "guestkit: error: s.gk:3: exists\n")


def test_command_line_dash_prefix():
    g = Recorder({"mkdir": OSError("exists")})
    sh = shell.Shell(lambda: g, out=io.StringIO(), err=io.StringIO())
    assert sh.run_groups([["-mkdir", "/a"], ["ls", "/"]]) == 0
    assert sh.run_groups([["mkdir", "/a"], ["ls", "/"]]) == 1
    assert [c[0] for c in g.calls] == ["mkdir", "ls", "mkdir"]


def test_here_document_uploads_the_lines(tmp_path):
    seen = {}

    def upload(local, remote):
        seen[remote] = open(local).read()
    g = Recorder({"upload": upload})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    script = "upload -<<END /foo\nline 1\n  line 2\nEND\nupload -<<X /bar\nX\n"
    assert sh.run_input(io.StringIO(script), interactive=False) == 0
    assert seen == {"/foo": "line 1\n  line 2\n", "/bar": ""}
    assert not any(os.path.exists(c[1][0]) for c in g.calls)     # temp files are gone
    sh = shell.Shell(lambda: g, out=io.StringIO(), err=io.StringIO())
    assert sh.run_input(io.StringIO("upload -<<END /foo\nno end\n"), interactive=False) == 1


def test_glob_cartesian_product_with_a_two_path_command():
    g = Recorder({"glob_expand": lambda p: {"/a*": ["/a1", "/a2"], "/b*": ["/b1", "/b2"]}[p]})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    assert sh.run_line("glob cp /a* /b*")
    assert [c[1] for c in g.calls if c[0] == "cp"] == [
        ("/a1", "/b1"), ("/a1", "/b2"), ("/a2", "/b1"), ("/a2", "/b2")]


def test_glob_keeps_unmatched_patterns_and_goes_on_after_a_failure():
    def rm(path):
        if path == "/b":
            raise RuntimeError("rm: /b: busy")
    g = Recorder({"glob_expand": lambda p: {"/*": ["/a", "/b", "/c"]}.get(p, []), "rm": rm})
    err = io.StringIO()
    sh = shell.Shell(lambda: g, out=io.StringIO(), err=err)
    with pytest.raises(CliError, match="glob: rm failed"):
        sh.run_line("glob rm /*")
    assert [c[1] for c in g.calls if c[0] == "rm"] == [("/a",), ("/b",), ("/c",)]
    assert "busy" in err.getvalue()
    sh.run_line("glob rm /nomatch*")
    assert g.calls[-1] == ("rm", ("/nomatch*",))


def test_supported_lists_groups_aligned():
    def available(groups):
        if groups == ["zfs"]:
            raise RuntimeError("not available")
    g = Recorder({"available_all_groups": ["acl", "zfs", "xfs_growfs"],
                  "available": available})
    out = io.StringIO()
    shell.Shell(lambda: g, out=out).run_line("supported")
    assert out.getvalue() == "       acl yes\n       zfs no\nxfs_growfs yes\n"


def test_alloc_and_sparse_create_and_add_before_launch():
    g = Recorder(launched=False)
    sh = shell.Shell(lambda: g, out=io.StringIO())
    sh.run_line("alloc a.img 1M")
    sh.run_line("sparse b.img 10G")
    assert g.calls == [
        ("disk_create", ("a.img", "raw", 1 << 20), {"preallocation": "full"}),
        ("add_drive_opts", ("a.img",), {"format": "raw", "readonly": False}),
        ("disk_create", ("b.img", "raw", 10 << 30), {"preallocation": "sparse"}),
        ("add_drive_opts", ("b.img",), {"format": "raw", "readonly": False})]
    g.launched = True
    with pytest.raises(CliError, match="before 'run'"):
        sh.run_line("sparse c.img 1M")
    with pytest.raises(CliError, match="size"):
        sh.run_line("sparse c.img 1X")


def test_edit_uploads_only_a_changed_file(monkeypatch, tmp_path):
    files = {"/etc/motd": b"hello\n"}
    g = Recorder({"download": lambda r, l: open(l, "wb").write(files[r]),
                  "upload": lambda l, r: files.__setitem__(r, open(l, "rb").read())})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    monkeypatch.setenv("EDITOR", "true")
    sh.run_line("edit /etc/motd")
    assert [c[0] for c in g.calls] == ["download"]
    monkeypatch.setenv("EDITOR", "sed -i s/hello/bye/")
    sh.run_line("edit /etc/motd")
    assert files["/etc/motd"] == b"bye\n" and g.calls[-1][0] == "upload"
    monkeypatch.setenv("EDITOR", "false")
    with pytest.raises(CliError, match="status 1"):
        sh.run_line("edit /etc/motd")


def test_every_builtin_has_help():
    from guestkit.cli.helptext import command_help, list_commands
    listing = list_commands()
    for name in BUILTINS:
        assert ("  %s " % name) in listing
        assert "usage:" in command_help(name)
    assert "also called: allocate" in command_help("alloc")
    assert not set(BUILTINS) & {parse.shell_name(a) for a in ACTIONS}


def test_builtin_argument_counts():
    sh = shell.Shell(lambda: Recorder(), out=io.StringIO())
    with pytest.raises(CliError, match="setenv: expects 2 arguments, got 1"):
        sh.prepare(["setenv", "X"])
    with pytest.raises(CliError, match="usage: time CMD"):
        sh.prepare(["time"])
    with pytest.raises(CliError, match="did you mean: echo"):
        sh.prepare(["ecoh", "x"])
    assert sh.prepare(["list_events"]).builtin is BUILTINS["list-events"]   # as actions


def test_completion_of_builtins_dashes_and_guest_paths():
    complete = interactive.complete
    assert "echo" in complete("", "ec") and "-echo" in complete("", "-ec")
    assert complete("time ", "list-fil") == complete("", "list-fil")
    g = Recorder({"ls": ["etc", "etcetera", "bin"],
                  "lstatnslist": lambda d, names: [{"st_mode": 0o40755 if n == "etc" else
                                                    0o100644} for n in names],
                  "list_devices": ["/dev/sda"], "list_partitions": ["/dev/sda1"],
                  "lvs": []})
    assert complete("cat ", "/et", g) == ["/etc/", "/etcetera"]
    assert complete("ls ", "/", g) == ["/bin", "/etc/", "/etcetera"]
    assert complete("mount ", "/dev/s", g) == ["/dev/sda", "/dev/sda1"]
    assert complete("edit ", "/e", g) == ["/etc/", "/etcetera"]
    assert complete("cat ", "/et", Recorder(launched=False)) == []      # not launched: none


# ---- through the real command (no appliance needed) -----------------------------------------

GUESTFISH_STYLE = r"""#!/usr/bin/guestkit -f
# comments and blank lines

echo one two | tr a-z A-Z
!echo host side
<! echo 'echo from-inline'; echo 'echo second'
echo 'single \n' "dq \x41\101"
echo a"b" "|" a|b
setenv GK_TEST_VAR bar
!echo "[$GK_TEST_VAR]"
unsetenv GK_TEST_VAR
!echo "[$GK_TEST_VAR]"
lcd /
!pwd
echo $HOME ~/x
-nosuchcmd
-!false
time echo timed
echo last
"""

GUESTFISH_STYLE_OUT = """\
ONE TWO
host side
from-inline
second
single \\n dq AA
a"b" | a|b
[bar]
[]
/
$HOME %s/x
timed
elapsed time: 0.00 seconds
last
"""


def test_script_file_and_shebang(tmp_path):
    script = tmp_path / "s.gk"
    script.write_text(GUESTFISH_STYLE)
    status, out, err = cli("-f", str(script), env={"HOME": "/home/t"})
    assert status == 0, err
    assert out == GUESTFISH_STYLE_OUT % "/home/t"
    assert "s.gk:16: unknown command 'nosuchcmd'" in err and "s.gk:17:" in err


def test_first_error_stops_a_script_with_status_1(tmp_path):
    script = tmp_path / "s.gk"
    script.write_text("echo a\n!exit 3\necho never\n")
    status, out, err = cli("-f", str(script))
    assert (status, out) == (1, "a\n") and "status 3" in err
    status, out, err = cli(stdin="echo a\nnosuch\necho never\n")
    assert (status, out) == (1, "a\n")
    status, out, err = cli("echo", "a", ":", "nosuch")
    assert (status, out) == (1, "")          # command-line mistakes show before running
    status, out, err = cli("-f", str(script), "echo", "x")
    assert status == 1 and "either a script or commands" in err


def test_pipes_reach_what_the_handle_writes_to_stdout_too(tmp_path):
    # help writes through the shell; the pipe's reader ending early is not an error ...
    status, out, err = cli(stdin="help | head -1\nlist-commands | grep -c .\n"
                                 "echo %s | true\necho end\n" % ("x" * (1 << 20)))
    assert status == 0, err
    first, count, end = out.splitlines()
    assert first.startswith("Commands") and int(count) > 100 and end == "end"
    # ... unless --pipe-error
    big = "echo %s | true\n" % ("x" * (1 << 20)) + "echo end\n"     # more than a pipe holds
    status, out, err = cli("--pipe-error", stdin=big)
    assert status == 1 and "writing to the pipe failed" in err and "end" not in out


def test_events_run_host_commands_with_event_details():
    status, out, err = cli(
        "event", "bye", "close", "echo closed: $EVENT [$#]", ":",
        "event", "x", "close,trace", "echo traced $EVENT", ":",
        "event", "y", "*", "true", ":",
        "list-events", ":", "delete-event", "x", ":", "-delete-event", "x", ":",
        "list-events")
    assert status == 0, err
    assert out == ('"bye" (0): close: echo closed: $EVENT [$#]\n'
                   '"x" (1): close,trace: echo traced $EVENT\n'
                   '"y" (2): *: true\n'
                   '"bye" (0): close: echo closed: $EVENT [$#]\n'
                   '"y" (2): *: true\n'
                   'closed: close [0]\n')
    assert "delete-event: x: no such event handler" in err


def test_trace_events_get_the_message():
    status, out, err = cli("event", "t", "trace", 'echo "T:$1"', ":", "set-trace", "true",
                           ":", "get-memsize")
    assert status == 0, err
    assert any(l.startswith("T:") and "get_memsize" in l for l in out.splitlines()), out


def test_reopen_keeps_settings_not_drives(tmp_path):
    status, out, err = cli("set-memsize", "700", ":", "set-autosync", "false", ":",
                           "reopen", ":", "get-memsize", ":", "get-autosync")
    assert (status, out) == (0, "700\nfalse\n"), err


def test_time_setenv_lcd_and_help(tmp_path):
    status, out, err = cli("lcd", str(tmp_path), ":", "!pwd", stdin=None)
    assert status == 1          # '!' is not a command on the command line, as guestfish
    status, out, err = cli(stdin="lcd %s\n!pwd\nhelp -l | grep -c '^  edit '\n"
                                 "help sparse\nnosuch\n" % tmp_path)
    lines = out.splitlines()
    assert lines[0] == str(tmp_path) and lines[1] == "1"
    assert "usage: sparse FILE SIZE" in out
    assert status == 1


def test_cmd_help_option():
    status, out, err = cli("--cmd-help", "glob")
    assert status == 0 and out.startswith("usage: glob CMD")
    status, out, err = cli("--cmd-help")
    assert status == 0 and "list-events" in out and "mkfs" in out


def test_keys_from_stdin_prompt_free_and_echo_keys_options_parse():
    status, out, err = cli("--keys-from-stdin", "--echo-keys", "--pipe-error", "-n",
                           "echo", "ok")
    assert (status, out) == (0, "ok\n"), err


# ---- -N prepared disks ----------------------------------------------------------------------

def test_prepared_disk_specs_and_calls():
    from guestkit.cli import prepared
    g = Recorder(launched=False)
    specs = ["fs:ext4:64M", "blank.img=disk", "lvfs:/dev/vg0/root::32M:gpt",
             "bootroot:vfat:xfs:1G:100M"]
    prepared.prepare_disks(g, specs)
    assert g.calls[:2] == [
        ("disk_create", ("test1.img", "raw", 64 << 20), {"preallocation": "sparse"}),
        ("add_drive_opts", ("test1.img",), {"format": "raw", "readonly": False})]
    assert g.calls[2][1] == ("blank.img", "raw", 1 << 30)
    g = Recorder({"list_devices": ["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd",
                                   "/dev/sde"]})
    prepared.format_disks(g, specs)
    assert [c for c in g.calls if c[0] != "list_devices"] == [
        ("part_disk", ("/dev/sdb", "mbr")), ("mkfs", ("ext4", "/dev/sdb1")),
        ("part_disk", ("/dev/sdd", "gpt")), ("pvcreate", ("/dev/sdd1",)),
        ("vgcreate", ("vg0", ["/dev/sdd1"])), ("lvcreate_free", ("root", "vg0", 100)),
        ("mkfs", ("ext2", "/dev/vg0/root")),
        ("part_init", ("/dev/sde", "mbr")), ("part_add", ("/dev/sde", "p", 64, 204863)),
        ("part_add", ("/dev/sde", "p", 204864, -64)), ("mkfs", ("vfat", "/dev/sde1")),
        ("mkfs", ("xfs", "/dev/sde2"))]
    for bad, msg in [("nope", "unknown type 'nope'"), ("disk:1G:x", "too many"),
                     ("lv:vg/lv", "/dev/VG/LV"), ("disk:1Q", "size")]:
        with pytest.raises(CliError, match=msg):
            prepared.parse_specs([bad])
    status, out, err = cli("-N", "help")
    assert status == 0 and "bootrootlv" in out


def test_mounts_on_new_disks_only_are_writable():
    for argv, opts in [(["-N", "fs", "-m", "/dev/sda1"], ""),
                       (["-N", "fs", "-a", "x.img", "-m", "/dev/sda1"], "ro"),
                       (["-a", "x.img", "-m", "/dev/sda1"], "ro"),
                       (["--rw", "-a", "x.img", "-m", "/dev/sda1"], "")]:
        g = Recorder()
        options.mount_all(g, options.parse_options(argv))
        assert g.calls == [("mount_options", (opts, "/dev/sda1", "/"))], argv
    # the tools call it with their own namespace (no -N there)
    import argparse
    g = Recorder()
    options.mount_all(g, argparse.Namespace(readonly=True, mounts=[("/dev/sda1", "/", None,
                                                                     None)]))
    assert g.calls == [("mount_options", ("ro", "/dev/sda1", "/"))]


def test_the_guides_shell_example_is_valid():
    """Every line of the script in docs/guide.md parses and names a real command with the
    right arguments (the example itself was run against an appliance when written)."""
    text = open(os.path.join(HERE, "docs", "guide.md")).read()
    start = text.index("#!/usr/bin/guestkit -f\n", text.index("## The shell"))
    block = text[start:text.index("```", start)]
    g = Recorder({"glob_expand": []}, launched=False)
    err = io.StringIO()
    sh = shell.Shell(lambda: g, out=io.StringIO(), err=err)
    hosts = []
    sh.host = hosts.append                          # the host commands are not run here
    assert sh.run_input(io.StringIO(block), interactive=False) == 0, err.getvalue()
    names = [c[0] for c in g.calls]
    assert names[:3] == ["disk_create", "add_drive_opts", "launch"]
    assert names.count("write") == 4 and "upload" in names and "cat" in names
    assert hosts == ["ls -s test1.img"]


def test_missing_script_file():
    status, out, err = cli("-f", "/nonexistent/script.gk")
    assert status == 1 and "-f /nonexistent/script.gk: No such file or directory" in err


def test_an_executable_script_with_a_shebang_line(tmp_path):
    """#!/usr/bin/guestkit -f scripts: the kernel runs 'guestkit -f SCRIPT'."""
    wrapper = tmp_path / "guestkit"
    wrapper.write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m guestkit.cli "$@"\n'
                       % (HERE, sys.executable))
    wrapper.chmod(0o755)
    script = tmp_path / "hello"
    script.write_text("#!%s -f\n# says hello\n\necho hello, world\n" % wrapper)
    script.chmod(0o755)
    p = subprocess.run([str(script)], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, "hello, world\n"), p.stderr


def test_display_more_and_man_run_host_programs(monkeypatch, tmp_path):
    files = {"/img.png": b"PNG"}
    g = Recorder({"download": lambda r, l: open(l, "wb").write(files[r])})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    ran = []
    sh.host = ran.append
    monkeypatch.setenv("GUESTFISH_DISPLAY_IMAGE", "eog")
    monkeypatch.delenv("GUESTKIT_DISPLAY_IMAGE", raising=False)
    monkeypatch.setenv("PAGER", "most")
    sh.run_line("display /img.png")
    sh.run_line("more /img.png")
    sh.run_line("less /img.png")
    assert [r.split()[0] for r in ran] == ["eog", "most", "less"]
    assert all(r.endswith("/img.png") for r in ran)
    out = io.StringIO()
    shell.Shell(lambda: g, out=out).run_line("man")
    assert out.getvalue().startswith("usage: guestkit") and "docs/guide.md" in out.getvalue()


def test_copy_in_and_out_take_several_sources():
    g = Recorder()
    sh = shell.Shell(lambda: g, out=io.StringIO())
    sh.run_line("copy-in a b 'c d' /dir")
    sh.run_line("copy-out /x /y . owners:true")
    sh.run_line("copy-in a /dir")
    assert g.calls == [("copy_in", ("a", "/dir")), ("copy_in", ("b", "/dir")),
                       ("copy_in", ("c d", "/dir")),
                       ("copy_out", ("/x", "."), {"owners": True}),
                       ("copy_out", ("/y", "."), {"owners": True}),
                       ("copy_in", ("a", "/dir"))]
    with pytest.raises(CliError, match="expects 2 arguments"):
        sh.prepare(["copy-in", "/dir"])
    assert [a.name for a in ACTIONS.values() if a.fish_many] == ["copy_in", "copy_out"]


KEY_CHILD = """
import sys
sys.path.insert(0, %r)
from guestkit.cli import shell
class G:
    def is_config(self): return 0
    def cryptsetup_open(self, dev, key, name, readonly=None): print("KEY=[%%s]" %% key)
sh = shell.Shell(lambda: G(), echo_keys=%r)
sh.run_line("cryptsetup-open /dev/sda2 name")
"""


@pytest.mark.parametrize("echo", [False, True])
def test_keys_are_asked_on_the_terminal(echo):
    """A key left out is asked on the controlling terminal, not echoed unless
    --echo-keys."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:                                     # the child: the pty is its terminal
        os.execv(sys.executable, [sys.executable, "-c", KEY_CHILD % (HERE, echo)])
    seen = b""
    try:
        while b"passphrase" not in seen:
            assert select.select([fd], [], [], 60)[0], seen
            seen += os.read(fd, 4096)
        assert b'Enter key or passphrase ("key"): ' in seen
        os.write(fd, b"s3cret\r")
        while b"KEY=" not in seen or not seen.endswith(b"\n"):
            assert select.select([fd], [], [], 60)[0], seen
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    assert b"KEY=[s3cret]" in seen
    assert seen.count(b"s3cret") == (2 if echo else 1), seen


def test_prompt_strings_from_the_environment(monkeypatch):
    monkeypatch.setenv("GUESTFISH_PS1", r"\[\e[1;32m\]><fs>\[\e[0m\] \x41\101\\")
    monkeypatch.setenv("GUESTFISH_INIT", "<init>")
    monkeypatch.setenv("GUESTKIT_OUTPUT", "<out>")
    monkeypatch.setenv("GUESTFISH_RESTORE", "<restore>")
    assert interactive.prompt_string("PS1") == "\001\033[1;32m\002><fs>\001\033[0m\002 AA\\"
    lines = iter(["echo hi"])
    prompts = []

    def fake_input(prompt):
        prompts.append(prompt)
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None
    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr(interactive, "setup_readline", lambda sh: None)
    out = io.StringIO()
    assert shell.Shell(lambda: Recorder(), out=out).run_input(io.StringIO(),
                                                             interactive=True) == 0
    assert prompts == [interactive.prompt_string("PS1")] * 2
    text = out.getvalue()
    assert text.startswith("<init>Welcome") and text.endswith("<out>hi\n\n<restore>")


def test_inspector_opens_encrypted_disks_with_keys():
    vfs = {"/dev/sda1": "ext4", "/dev/sda2": "crypto_LUKS", "/dev/sdb1": "crypto_LUKS"}
    opened = []

    def cryptsetup_open(dev, key, name):
        opened.append(name)
    g = Recorder({"list_partitions": ["/dev/sda1", "/dev/sda2", "/dev/sdb1"],
                  "list_devices": ["/dev/sda", "/dev/sdb"],
                  "lvs": lambda: ["/dev/vg/root"] if len(opened) == 2 else [],
                  "vfs_type": lambda d: vfs.get(d, ""),
                  "luks_uuid": lambda d: "uuid-" + d[-4:],
                  "cryptsetup_open": cryptsetup_open})
    o = options.parse_options(["-i", "--key", "uuid-sdb1:key:from option"])
    asked = []
    options.open_encrypted_disks(g, o, lambda dev: asked.append(dev) or "typed")
    assert asked == ["/dev/sda2"]
    assert [c[1] for c in g.calls if c[0] == "cryptsetup_open"] == [
        ("/dev/sda2", "typed", "luks-uuid-sda2"), ("/dev/sdb1", "from option",
                                                   "luks-uuid-sdb1")]
    assert ("lvm_scan", (True,)) in g.calls
    with pytest.raises(CliError, match="expecting ID:key:PASSPHRASE"):
        options.open_encrypted_disks(g, options.parse_options(["--key", "nonsense"]), None)


def test_windows_paths():
    def csp(p):
        return {"/windows/system.ini": "/Windows/System.ini"}.get(p, p)
    g = Recorder({"inspect_get_roots": ["/dev/sda2"],
                  "inspect_get_drive_mappings": {"C": "/dev/sda2", "E": "/dev/sdb1",
                                                 "F": "/dev/sdc1"},
                  "mountpoints": {"/dev/sda2": "/", "/dev/sdb1": "/e"},
                  "case_sensitive_path": csp, "cat": "x"})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    for line, path in [(r"cat win:c:\windows\system.ini", "/Windows/System.ini"),
                       (r"cat WIN:\windows\system.ini", "/Windows/System.ini"),
                       (r"cat win:E:\foo\bar", "/e/foo/bar"),
                       ("cat win:", "/"),
                       ("cat /plain", "/plain")]:
        sh.run_line(line)
        assert g.calls[-1] == ("cat", (path,)), line
    with pytest.raises(CliError, match="no drive Z:"):
        sh.run_line(r"cat win:z:\x")
    with pytest.raises(CliError, match="/dev/sdc1, which is not mounted"):
        sh.run_line(r"cat win:f:\x")
    sh.run_line(r"echo win:c:\x")              # not a path argument: left alone
    assert sh.out.getvalue().endswith("win:c:\\x\n")
    g.results["inspect_get_roots"] = []
    with pytest.raises(CliError, match="inspect"):
        sh.run_line(r"cat win:c:\x")


def test_hexedit_edits_a_part_and_writes_back_only_changes(monkeypatch):
    data = {"/f": bytearray(b"0123456789"), "/dev/sda": bytearray(2 << 20)}

    def download_offset(remote, local, offset, size):
        open(local, "wb").write(bytes(data[remote][offset:offset + size]))

    def upload_offset(local, remote, offset):
        new = open(local, "rb").read()
        data[remote][offset:offset + len(new)] = new
    g = Recorder({"filesize": lambda p: len(data[p]), "blockdev_getsize64": 2 << 20,
                  "download_offset": download_offset, "upload_offset": upload_offset})
    sh = shell.Shell(lambda: g, out=io.StringIO())
    monkeypatch.setenv("HEXEDITOR", "sed -i s/3/X/")
    sh.run_line("hexedit /f 2 4")
    assert data["/f"] == bytearray(b"012X456789")
    assert g.calls[-2:] == [("download_offset", ("/f", g.calls[-2][1][1], 2, 4)),
                            ("upload_offset", (g.calls[-1][1][0], "/f", 2))]
    monkeypatch.setenv("HEXEDITOR", "true")
    sh.run_line("hexedit /f")
    assert g.calls[-1][0] == "download_offset" and g.calls[-1][1][2:] == (0, 10)
    with pytest.raises(CliError, match="say which part"):
        sh.run_line("hexedit /dev/sda")
    sh.run_line("hexedit /dev/sda 1K")                       # fits: no limit asked
    assert g.calls[-1][1][2:] == (0, 1024)


# ---- remote control -------------------------------------------------------------------------

def test_listen_and_remote(tmp_path):
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    status, out, err = cli("--listen", env=env)
    assert status == 0, err
    assert out.startswith("GUESTFISH_PID=") and out.endswith("; export GUESTFISH_PID\n")
    pid = out[len("GUESTFISH_PID="):out.index(";")]
    sock = tmp_path / ("guestkit-remote-%s.sock" % pid)
    assert sock.exists()
    env["GUESTFISH_PID"] = pid
    try:
        assert cli("--remote", "echo", "a", ":", "echo", "b", env=env)[:2] == (0, "a\nb\n")
        status, out, err = cli("--remote", "nosuch", env=env)
        assert status == 1 and "unknown command 'nosuch'" in err     # the client's stderr
        assert cli("--remote=%s" % pid, "set-memsize", "600", env=env)[0] == 0
        assert cli("--remote", "get-memsize", env={"XDG_RUNTIME_DIR": str(tmp_path),
                                                   "GUESTKIT_PID": pid})[:2] == (0, "600\n")
        assert cli("--remote", "exit", env=env)[0] == 0
    finally:
        cli("--remote", "exit", env=env)
    for _ in range(100):
        if not sock.exists():
            break
        import time
        time.sleep(0.1)
    assert not sock.exists()
    status, out, err = cli("--remote", "echo", "x", env=env)
    assert status == 1 and "no guestkit listening as process %s" % pid in err


def test_listen_errors_and_csh(tmp_path):
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    status, out, err = cli("--listen", "-a", str(tmp_path / "missing.img"), env=env)
    assert status == 1 and "missing.img" in err and out == ""
    assert list(tmp_path.iterdir()) == []                  # no socket left behind
    status, out, err = cli("--listen", "echo", "x", env=env)
    assert status == 1 and "--remote" in err
    status, out, err = cli("--listen", "--csh", env=env)
    assert status == 0 and out.startswith("setenv GUESTFISH_PID ")
    pid = out.split()[-1]
    assert cli("--remote=%s" % pid, "quit", env=env)[0] == 0
    status, out, err = cli("--remote", "echo", "x", env={"GUESTFISH_PID": "",
                                                         "GUESTKIT_PID": ""})
    assert status == 1 and "no listener given" in err
    assert cli("--remote=abc", "echo", env=env)[0] == 1


def test_the_language_as_guestfish_reads_it(tmp_path):
    """The same script (no appliance needed) through real guestfish, the oracle: the same
    standard output, and the same exit status."""
    import re
    import shutil
    if shutil.which("guestfish") is None:
        pytest.skip("guestfish (libguestfs-tools) is not installed: no oracle to compare with")
    script = tmp_path / "s.fish"
    script.write_text(GUESTFISH_STYLE.replace("#!/usr/bin/guestkit -f", "") +
                      'echo "\\303\\251t\\xc3\\xa9" | od -c | head -1\n'
                      "echo a b\\tc 'd e' \"f  g\" | cat -A\n"
                      "-time nosuch\n"
                      "glob echo nopath\n"
                      "echo end\n")
    env = dict(os.environ, HOME="/home/t", LIBGUESTFS_BACKEND="direct")
    theirs = subprocess.run(["guestfish", "-f", str(script)], capture_output=True,
                            text=True, timeout=120, env=env, cwd=str(tmp_path))
    ours = cli("-f", str(script), env={"HOME": "/home/t"}, cwd=str(tmp_path))

    def same(text):
        return re.sub(r"elapsed time: \d+\.\d\d seconds", "elapsed time: T", text)
    assert theirs.returncode == ours[0] == 0, (theirs.stderr, ours[2])
    assert same(ours[1]) == same(theirs.stdout)
    assert ours[1].startswith("ONE TWO\n") and ours[1].endswith("end\n")


@pytest.mark.parametrize("uri, name, kw", [
    ("file:///var/disk.img", "/var/disk.img", {}),
    ("nbd://example.com", "", {"protocol": "nbd", "server": ["tcp:example.com"]}),
    ("nbd://example.com:10809/exp", "exp", {"protocol": "nbd",
                                            "server": ["tcp:example.com:10809"]}),
    ("nbd:///exp?socket=/run/nbd.sock", "exp", {"protocol": "nbd",
                                                "server": ["unix:/run/nbd.sock"]}),
    ("nbd://?socket=/s", "", {"protocol": "nbd", "server": ["unix:/s"]}),
    ("http://example.com/d/disk.img", "/d/disk.img", {"protocol": "http",
                                                      "server": ["tcp:example.com"]}),
    ("ssh://user:pass%40word@example.com:2222/disk.img", "/disk.img",
     {"protocol": "ssh", "server": ["tcp:example.com:2222"], "username": "user",
      "secret": "pass@word"}),
    ("iscsi://example.com/iqn.2024-01.com.example:t/0", "iqn.2024-01.com.example:t/0",
     {"protocol": "iscsi", "server": ["tcp:example.com"]}),
    ("rbd:///pool/disk", "pool/disk", {"protocol": "rbd"}),
    ("gluster://example.com/vol/image", "vol/image", {"protocol": "gluster",
                                                      "server": ["tcp:example.com"]}),
    ("nbd://[::1]:10809/e", "e", {"protocol": "nbd", "server": ["tcp:[::1]:10809"]}),
])
def test_remote_disk_uris(uri, name, kw):
    from guestkit.cli.uri import drive_from_uri, is_uri
    assert is_uri(uri) and drive_from_uri(uri) == (name, kw)


def test_uris_and_blocksize_reach_add_drive():
    g = Recorder(launched=False)
    o = options.parse_options(["-a", "local.img", "--blocksize=4096", "-a",
                               "nbd://h:1234/x", "--blocksize", "-a", "c.img"])
    options.configure_handle(g, o)
    assert g.calls == [
        ("add_drive_opts", ("local.img",), {"readonly": True}),
        ("add_drive_opts", ("x",), {"readonly": True, "blocksize": 4096, "protocol": "nbd",
                                    "server": ["tcp:h:1234"]}),
        ("add_drive_opts", ("c.img",), {"readonly": True})]
    for bad, msg in [("http://h", "no disk image"), ("nbd://h/x?socket=/s", "not both"),
                     ("file://otherhost/x", "this host"), ("http:///x", "no server")]:
        with pytest.raises(CliError, match=msg):
            options.configure_handle(Recorder(launched=False),
                                     options.parse_options(["-a", bad]))


def test_json_results_without_an_appliance():
    """--json: one line of JSON per command, the API's own structures."""
    import json
    r = subprocess.run([sys.executable, "-m", "guestkit.cli", "--json", "set-memsize", "700",
                        ":", "get-memsize", ":", "version", ":", "is-config", ":",
                        "get-append", ":", "set-backend-settings", "a=1", ":",
                        "get-backend-settings"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert docs[0] is None and docs[1] == 700 and set(docs[2]) == {
        "major", "minor", "release", "extra"} and docs[3] is True
    assert docs[4] is None and docs[5] is None and docs[6] == ["a=1"]


def test_json_values():
    from guestkit.actions.table import RBufferOut, RHashtable
    from guestkit.cli.output import json_value
    assert json_value(RHashtable(), [("a", "1"), ("b", "2")]) == {"a": "1", "b": "2"}
    assert json_value(RBufferOut(), b"text") == "text"
    assert json_value(RBufferOut(), b"\xff\x00") == {"base64": "/wA="}
