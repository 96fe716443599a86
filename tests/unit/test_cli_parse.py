"""The guestkit shell without a VM: splitting, argument parsing, output by return kind,
options -> handle calls, help, and the command loop on a fake handle."""

import io

import pytest

from guestkit.actions import ACTIONS
from guestkit.actions.table import (
    Action, Int, RBool, RBufferOut, RConstString, RErr, RHashtable, RInt, RInt64, ROptString,
    Ret, RString, RStringList, RStruct, RStructList, String,
)
from guestkit.cli import (CliError, helptext, interactive, main as cli_main, options, output,
                          parse, shell)


# ---- a recorder standing in for the handle --------------------------------------------------

class Recorder:
    """Records every method call; return values come from RESULTS (name -> value)."""

    def __init__(self, results=None, launched=False):
        self.calls = []
        self.results = results or {}
        self.launched = launched

    def is_config(self):
        return 0 if self.launched else 1

    def launch(self):
        self.calls.append(("launch", (), {}))
        self.launched = True

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            r = self.results.get(name)
            if isinstance(r, Exception):
                raise r
            return r
        return method

    def names(self):
        return [c[0] for c in self.calls]


class NoDomainRecorder(Recorder):
    def __getattr__(self, name):
        if name == "add_domain":
            raise AttributeError(name)
        return super().__getattr__(name)


# ---- splitting ------------------------------------------------------------------------------

def test_split_on_standalone_colon_only():
    words = ["run", ":", "mount", "/dev/sda1", "/", ":", "mkfs", "ext4", "/dev/sdb",
             "label:root", ":", "write", "/a:b", ":text:"]
    assert parse.split_commands(words) == [
        ["run"], ["mount", "/dev/sda1", "/"], ["mkfs", "ext4", "/dev/sdb", "label:root"],
        ["write", "/a:b", ":text:"]]


def test_split_drops_empty_commands():
    assert parse.split_commands([":", "ls", "/", ":", ":", "df", ":"]) == [["ls", "/"], ["df"]]
    assert parse.split_commands([]) == []


# ---- finding commands -----------------------------------------------------------------------

@pytest.mark.parametrize("word,name", [
    ("list-filesystems", "list_filesystems"), ("list_filesystems", "list_filesystems"),
    ("run", "launch"), ("add", "add_drive"), ("add-ro", "add_drive_ro"),
    ("add_drive_opts", "add_drive"), ("add-drive-opts", "add_drive"),
    ("unmount-all", "umount_all"), ("mkfs-opts", "mkfs"),
])
def test_find_action_spellings(word, name):
    assert parse.find_action(word) is ACTIONS[name]


def test_every_action_and_shell_alias_is_a_command():
    names = set(parse.command_names())
    for a in ACTIONS.values():
        assert parse.shell_name(a.name) in names
        for alias in a.fish_alias:
            assert parse.shell_name(alias) in names
    assert {"help", "quit", "exit", "list-commands"} <= names


def test_unknown_command_suggests_close_matches():
    with pytest.raises(CliError) as e:
        parse.find_action("lst-devices")
    assert "unknown command 'lst-devices'" in str(e.value)
    assert "list-devices" in str(e.value)
    with pytest.raises(CliError) as e:
        parse.find_action("zzqqxxyy")
    assert "did you mean" not in str(e.value) and "help" in str(e.value)


# ---- arguments ------------------------------------------------------------------------------

def test_int_args_decimal_hex_and_c_octal():
    chmod = ACTIONS["chmod"]
    assert parse.parse_args(chmod, ["0755", "/f"]) == ([0o755, "/f"], {})
    assert parse.parse_args(chmod, ["0x1ff", "/f"]) == ([0o777, "/f"], {})
    assert parse.parse_args(chmod, ["420", "/f"]) == ([420, "/f"], {})
    assert parse.parse_args(chmod, ["0", "/f"]) == ([0, "/f"], {})
    with pytest.raises(CliError, match="integer"):
        parse.parse_args(chmod, ["rwx", "/f"])


def test_int64_arg():
    args, _ = parse.parse_args(ACTIONS["part_add"], ["/dev/sda", "p", "2048", "-1"])
    assert args == ["/dev/sda", "p", 2048, -1]


def test_bool_args_and_optargs():
    assert parse.parse_args(ACTIONS["set_trace"], ["true"]) == ([True], {})
    assert parse.parse_args(ACTIONS["set_trace"], ["off"]) == ([False], {})
    args, opt = parse.parse_args(ACTIONS["is_file"], ["/etc", "followsymlinks:yes"])
    assert args == ["/etc"] and opt == {"followsymlinks": True}
    with pytest.raises(CliError, match="true or false"):
        parse.parse_args(ACTIONS["is_file"], ["/etc", "followsymlinks:maybe"])


def test_stringlist_arg_is_one_shell_word():
    assert parse.parse_args(ACTIONS["command"], ["'ls -l' /tmp"]) == ([["ls -l", "/tmp"]], {})
    assert parse.parse_args(ACTIONS["command"], ["/bin/ls -l"]) == ([["/bin/ls", "-l"]], {})
    _, opt = parse.parse_args(ACTIONS["add_drive"], ["d.img", "server:a.example b:1"],
                              readonly=None)
    assert opt == {"server": ["a.example", "b:1"]}


def test_optargs_by_name_after_positionals():
    args, opt = parse.parse_args(ACTIONS["mkfs"], ["ext4", "/dev/sda1", "blocksize:4096",
                                                   "label:my:root"])
    assert args == ["ext4", "/dev/sda1"]
    assert opt == {"blocksize": 4096, "label": "my:root"}


def test_positional_words_may_contain_colons():
    args, opt = parse.parse_args(ACTIONS["set_backend"], ["libvirt:qemu:///system"])
    assert args == ["libvirt:qemu:///system"] and opt == {}


def test_unknown_and_repeated_optargs():
    with pytest.raises(CliError, match="unknown optional argument 'colour'"):
        parse.parse_args(ACTIONS["mkfs"], ["ext4", "/dev/sda", "colour:red"])
    with pytest.raises(CliError, match="given twice"):
        parse.parse_args(ACTIONS["mkfs"], ["ext4", "/dev/sda", "inode:256", "inode:128"])


def test_wrong_argument_count_shows_usage():
    with pytest.raises(CliError) as e:
        parse.parse_args(ACTIONS["mount"], ["/dev/sda1"])
    msg = str(e.value)
    assert "expects 2 arguments, got 1" in msg
    assert "usage: mount <mountable> <mountpoint>" in msg
    with pytest.raises(CliError) as e:
        parse.parse_args(ACTIONS["ls"], ["/", "/etc"])
    assert "too many arguments" in str(e.value) and "usage: ls <directory>" in str(e.value)
    with pytest.raises(CliError, match="usage: mkfs"):
        parse.parse_args(ACTIONS["mkfs"], ["ext4", "/dev/sda", "extra"])


def test_dash_means_stdin_and_stdout_for_host_files():
    assert parse.parse_args(ACTIONS["upload"], ["-", "/f"])[0] == ["/dev/stdin", "/f"]
    assert parse.parse_args(ACTIONS["download"], ["/f", "-"])[0] == ["/f", "/dev/stdout"]
    assert parse.parse_args(ACTIONS["upload"], ["in.txt", "/f"])[0] == ["in.txt", "/f"]


def test_empty_word_is_none_for_optstring():
    assert parse.parse_args(ACTIONS["set_append"], [""]) == ([None], {})
    assert parse.parse_args(ACTIONS["set_append"], ["quiet"]) == (["quiet"], {})


def test_shell_default_readonly_for_add():
    add = ACTIONS["add_drive"]
    assert parse.parse_args(add, ["d.img"], readonly=True)[1] == {"readonly": True}
    assert parse.parse_args(add, ["d.img"], readonly=False)[1] == {"readonly": False}
    assert parse.parse_args(add, ["d.img", "readonly:false"], readonly=True)[1] == {
        "readonly": False}
    assert parse.parse_args(ACTIONS["mount"], ["/dev/sda", "/"], readonly=True)[1] == {}


def test_secret_values_are_not_echoed_in_errors():
    class SecretInt(Int):
        secret = True
    a = Action("fake_unlock", [String("device"), SecretInt("pin")])
    assert parse.has_secret(a) and not parse.has_secret(ACTIONS["mount"])
    with pytest.raises(CliError) as e:
        parse.parse_args(a, ["/dev/sda", "hunter2"])
    assert "hunter2" not in str(e.value) and "pin" in str(e.value)


# ---- output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ret,value,text", [
    (RErr(), None, ""),
    (RInt(), 42, "42\n"),
    (RInt64(), -(1 << 40), "-1099511627776\n"),
    (RBool(), 1, "true\n"),
    (RBool(), 0, "false\n"),
    (RString(), "hello", "hello\n"),
    (RString(), "two\nlines\n", "two\nlines\n"),
    (RConstString(), "const", "const\n"),
    (ROptString(), None, ""),
    (ROptString(), "x", "x\n"),
    (RStringList(), ["/dev/sda", "/dev/sdb"], "/dev/sda\n/dev/sdb\n"),
    (RStringList(), [], ""),
    (RHashtable(), [("/dev/sda1", "ext4"), ("/dev/sda2", "swap")],
     "/dev/sda1: ext4\n/dev/sda2: swap\n"),
    (RHashtable(), {"/dev/sda1": "ext4", "/dev/sda2": "swap"},
     "/dev/sda1: ext4\n/dev/sda2: swap\n"),
    (RStruct("version"), {"major": 0, "minor": 1, "release": 0, "extra": ""},
     "major: 0\nminor: 1\nrelease: 0\nextra: \n"),
    (RStructList("partition"), [{"part_num": 1, "part_start": 1048576},
                                {"part_num": 2, "part_start": 2097152}],
     "part_num: 1\npart_start: 1048576\n\npart_num: 2\npart_start: 2097152\n"),
])
def test_output_by_return_kind(capsys, ret, value, text):
    output.print_result(ret, value)
    assert capsys.readouterr().out == text


def test_buffer_output_is_raw_bytes(capsysbinary):
    data = b"\x00\xffbinary\nno newline"
    output.print_result(RBufferOut(), data)
    assert capsysbinary.readouterr().out == data


def _all_subclasses(cls):
    out = set()
    for c in cls.__subclasses__():
        out.add(c)
        out |= _all_subclasses(c)
    return out


def test_every_return_kind_has_a_format_and_description():
    tested = {RErr, RInt, RInt64, RBool, RString, RConstString, ROptString, RStringList,
              RHashtable, RStruct, RStructList, RBufferOut}
    assert _all_subclasses(Ret) <= tested, "new return kinds need a format in cli/output.py"
    for cls in tested:
        assert output.describe(cls()) != cls.label or cls is RErr


# ---- help -----------------------------------------------------------------------------------

def test_help_cmd_names_every_argument_of_every_action():
    for a in ACTIONS.values():
        text = helptext.command_help(parse.shell_name(a.name))
        assert "usage: %s" % parse.shell_name(a.name) in text
        for k in a.args:
            assert "<%s>" % k.name in text and k.label in text
        for k in a.optargs:
            assert "[%s:<%s>]" % (k.name, k.label) in text


def test_help_mkfs_details():
    text = helptext.command_help("mkfs_opts")
    assert text.startswith("mkfs - ")
    assert "blocksize:" in text and "also called: mkfs-opts" in text
    assert ACTIONS["mkfs"].doc.split()[0] in text
    assert "('-' for standard input)" in helptext.command_help("upload")
    with pytest.raises(CliError, match="did you mean"):
        helptext.command_help("mkfss")


def test_list_commands_lists_all_actions():
    text = helptext.list_commands()
    for a in ACTIONS.values():
        assert "  %s " % parse.shell_name(a.name) in text


# ---- options -> handle calls ----------------------------------------------------------------

def test_default_is_readonly():
    o = options.parse_options(["-a", "disk.img", "ls", "/"])
    g = Recorder()
    options.configure_handle(g, o)
    assert g.calls == [("add_drive_opts", ("disk.img",), {"readonly": True})]
    assert o.commands == ["ls", "/"]


def test_rw_ro_and_format_ordering():
    o = options.parse_options(["--rw", "-a", "a.img", "--format", "qcow2", "-a", "b.qcow2",
                               "--add=c.qcow2", "--format=raw", "-ad.raw", "--format=",
                               "-a", "e.img", "run"])
    g = Recorder()
    options.configure_handle(g, o)
    assert g.calls == [
        ("add_drive_opts", ("a.img",), {"readonly": False}),
        ("add_drive_opts", ("b.qcow2",), {"readonly": False, "format": "qcow2"}),
        ("add_drive_opts", ("c.qcow2",), {"readonly": False, "format": "qcow2"}),
        ("add_drive_opts", ("d.raw",), {"readonly": False, "format": "raw"}),
        ("add_drive_opts", ("e.img",), {"readonly": False}),
    ]
    o = options.parse_options(["--rw", "--ro", "-a", "x.img"])
    g = Recorder()
    options.configure_handle(g, o)
    assert g.calls == [("add_drive_opts", ("x.img",), {"readonly": True})]


def test_settings_come_before_drives():
    o = options.parse_options(["-a", "x.img", "-xv", "--backend", "direct", "--memsize=1024",
                               "--smp", "2", "--network"])
    g = Recorder()
    options.configure_handle(g, o)
    assert g.calls == [("set_verbose", (True,), {}), ("set_trace", (True,), {}),
                       ("set_backend", ("direct",), {}), ("set_memsize", (1024,), {}),
                       ("set_smp", (2,), {}), ("set_network", (True,), {}),
                       ("add_drive_opts", ("x.img",), {"readonly": True})]


def test_domains_and_uri():
    o = options.parse_options(["-c", "qemu:///system", "-d", "guest1", "--rw"])
    g = Recorder()
    options.configure_handle(g, o)
    assert g.calls == [("add_domain", ("guest1",),
                        {"readonly": False, "libvirturi": "qemu:///system"})]
    with pytest.raises(CliError, match="add_domain"):
        options.configure_handle(NoDomainRecorder(), o)


def test_mount_specs():
    assert options.parse_mount_spec("/dev/sda1") == ("/dev/sda1", "/", None, None)
    assert options.parse_mount_spec("/dev/sda2:/boot") == ("/dev/sda2", "/boot", None, None)
    assert options.parse_mount_spec("/dev/sda1:/:noatime:ext4") == (
        "/dev/sda1", "/", "noatime", "ext4")
    assert options.parse_mount_spec("btrfsvol:/dev/sda2/root:/") == (
        "btrfsvol:/dev/sda2/root", "/", None, None)


def test_mount_all_readonly_and_rw():
    o = options.parse_options(["-a", "x", "-m", "/dev/sda1", "-m", "/dev/sda2:/boot::vfat"])
    g = Recorder()
    options.mount_all(g, o)
    assert g.calls == [("mount_options", ("ro", "/dev/sda1", "/"), {}),
                       ("mount_vfs", ("ro", "vfat", "/dev/sda2", "/boot"), {})]
    o = options.parse_options(["--rw", "-m", "/dev/sda1:/:noatime"])
    g = Recorder()
    options.mount_all(g, o)
    assert g.calls == [("mount_options", ("noatime", "/dev/sda1", "/"), {})]


def test_options_stop_at_first_command_and_at_double_dash():
    o = options.parse_options(["-a", "x", "command", "-x", "ls -l"])
    assert o.commands == ["command", "-x", "ls -l"] and not o.trace
    o = options.parse_options(["--", "-weird"])
    assert o.commands == ["-weird"]


@pytest.mark.parametrize("argv,msg", [
    (["--bogus"], "unknown option --bogus"),
    (["-q"], "unknown option -q"),
    (["-a"], "needs an argument"),
    (["--ro=1"], "takes no argument"),
    (["--memsize", "lots"], "positive number"),
    (["--smp", "0"], "positive number"),
])
def test_bad_options(argv, msg):
    with pytest.raises(CliError, match=msg):
        options.parse_options(argv)


# ---- the command loop on a recorder ---------------------------------------------------------

def test_daemon_commands_launch_first_and_print():
    g = Recorder({"get_memsize": 512, "cat": "hi", "list_devices": ["/dev/sda"]})
    out = io.StringIO()
    sh = shell.Shell(lambda: g, out=out)
    status = sh.run_groups(parse.split_commands(
        ["get-memsize", ":", "cat", "/hello", ":", "list-devices"]))
    assert status == 0
    assert g.names() == ["get_memsize", "launch", "cat", "list_devices"]
    assert out.getvalue() == "512\nhi\n/dev/sda\n"


def test_explicit_run_is_not_launched_twice():
    g = Recorder()
    sh = shell.Shell(lambda: g, out=io.StringIO())
    assert sh.run_groups([["run"], ["mount", "/dev/sda1", "/"]]) == 0
    assert g.names() == ["launch", "mount"]


def test_command_line_mistake_stops_before_anything_runs():
    g = Recorder()
    err = io.StringIO()
    sh = shell.Shell(lambda: g, out=io.StringIO(), err=err)
    assert sh.run_groups([["run"], ["mount", "/dev/sda1"]]) == 1
    assert g.calls == []
    assert err.getvalue().startswith("guestkit: error: mount: expects 2 arguments")


def test_script_stops_at_first_error():
    from guestkit.errors import Error
    g = Recorder({"cat": Error("cat: /nope: No such file or directory", "ENOENT")},
                 launched=True)
    out, err = io.StringIO(), io.StringIO()
    sh = shell.Shell(lambda: g, out=out, err=err)
    script = io.StringIO("# a script\nls /\ncat /nope\nls /after\n")
    assert sh.run_input(script, interactive=False) == 1
    assert g.names() == ["ls", "cat"]
    assert err.getvalue() == "guestkit: error: cat: /nope: No such file or directory\n"
    assert "><gk>" not in out.getvalue()


def test_script_quit_stops():
    g = Recorder(launched=True)
    sh = shell.Shell(lambda: g, out=io.StringIO())
    assert sh.run_input(io.StringIO("ls /\nquit\nls /x\n"), interactive=False) == 0
    assert g.names() == ["ls"]


def test_interactive_errors_continue(monkeypatch):
    g = Recorder({"ls": ["a"]}, launched=True)
    lines = iter(["lst /", "ls /", "help mount", "exit", "ls /never"])
    prompts = []

    def fake_input(prompt):
        prompts.append(prompt)
        return next(lines)
    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr(interactive, "setup_readline", lambda sh: None)
    out, err = io.StringIO(), io.StringIO()
    sh = shell.Shell(lambda: g, out=out, err=err)
    assert sh.run_input(io.StringIO(), interactive=True) == 0
    assert g.names() == ["ls"]
    assert "unknown command 'lst'" in err.getvalue()
    assert "a\n" in out.getvalue() and "usage: mount <mountable> <mountpoint>" in out.getvalue()
    assert prompts == [shell.PROMPT] * 4


def test_finish_shuts_down_then_closes():
    g = Recorder()
    sh = shell.Shell(lambda: g, out=io.StringIO())
    assert sh.finish() == 0 and g.calls == []        # no handle made, nothing to close
    sh.g
    assert sh.finish() == 0
    assert g.names() == ["shutdown", "close"]


def test_completion():
    complete = interactive.complete
    assert "list-filesystems" in complete("", "list-fi")
    assert complete("", "list-fi") == [n for n in parse.command_names()
                                       if n.startswith("list-fi")]
    assert complete("mkfs ext4 /dev/sda ", "bl") == ["blocksize:"]
    assert complete("nosuchcmd ", "x") == []


# ---- main() without a VM --------------------------------------------------------------------

def _no_handle():
    raise AssertionError("no handle should be made")


def test_main_unknown_command(monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "make_handle", _no_handle)
    assert cli_main.main(["--rw", "-a", "x.img", "lst-devices"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("guestkit: error: unknown command 'lst-devices'")
    assert "list-devices" in err


def test_main_help_and_list_commands(monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "make_handle", _no_handle)
    assert cli_main.main(["help", "add-drive"]) == 0
    out = capsys.readouterr().out
    assert "usage: add-drive <filename>" in out and "readonly:" in out
    assert cli_main.main(["list-commands"]) == 0
    assert "list-filesystems" in capsys.readouterr().out
    assert cli_main.main(["--help"]) == 0
    assert "usage: guestkit" in capsys.readouterr().out


def test_main_bad_option(capsys):
    assert cli_main.main(["--nope"]) == 1
    assert capsys.readouterr().err.startswith("guestkit: error: unknown option --nope")


def test_main_runs_commands_on_configured_handle(monkeypatch, capsys):
    g = Recorder({"cat": "hello"})
    monkeypatch.setattr(cli_main, "make_handle", lambda: g)
    status = cli_main.main(["--rw", "-a", "disk.img", "run", ":", "mount", "/dev/sda1", "/",
                            ":", "cat", "/hello"])
    assert status == 0
    assert g.names() == ["add_drive_opts", "launch", "mount", "cat", "shutdown", "close"]
    assert g.calls[0] == ("add_drive_opts", ("disk.img",), {"readonly": False})
    assert capsys.readouterr().out == "hello\n"


def test_main_mount_option_launches_and_mounts(monkeypatch, capsys):
    g = Recorder({"ls": ["etc"]})
    monkeypatch.setattr(cli_main, "make_handle", lambda: g)
    assert cli_main.main(["-a", "d.img", "-m", "/dev/sda1", "ls", "/"]) == 0
    assert g.names() == ["add_drive_opts", "launch", "mount_options", "ls", "shutdown",
                         "close"]
    assert capsys.readouterr().out == "etc\n"


def test_inspector_option_mounts_the_one_root():
    o = options.parse_options(["-a", "x", "-i", "cat", "/etc/hostname"])
    assert o.inspector and o.commands == ["cat", "/etc/hostname"]
    g = Recorder({"inspect_os": ["/dev/vg/root"]})
    options.mount_inspected(g, o)
    assert g.calls == [("inspect_os", (), {}),
                       ("inspect_mount_root", ("/dev/vg/root",), {"readwrite": False})]
    o = options.parse_options(["--rw", "--inspector"])
    g = Recorder({"inspect_os": ["/dev/sda2"]})
    options.mount_inspected(g, o)
    assert g.calls[-1] == ("inspect_mount_root", ("/dev/sda2",), {"readwrite": True})
    for roots, needle in (([], "no operating system"), (["/dev/sda1", "/dev/sdb1"],
                                                        "several operating systems")):
        with pytest.raises(CliError) as e:
            options.mount_inspected(Recorder({"inspect_os": roots}), o)
        assert needle in str(e.value)
