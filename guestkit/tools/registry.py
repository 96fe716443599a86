"""The virt-* style tools, by the name ``guestkit NAME`` runs them under.

Each entry names the function that runs the tool, ``module:function`` in guestkit/tools/,
called with the arguments after the tool's name, and the libguestfs tool it stands for
(None for guestkit's own); this table is the only list of them: the
command line, the man pages and the shell completion are made from it.
"""

import importlib
from collections import namedtuple

Tool = namedtuple("Tool", "entry counterpart summary")

TOOLS = {
    "cat": Tool("cat:main", "virt-cat", "print files of a guest"),
    "copy-in": Tool("copy:copy_in", "virt-copy-in", "copy host files and directories into a guest"),
    "copy-out": Tool("copy:copy_out", "virt-copy-out", "copy files and directories out of a guest"),
    "customize": Tool("customize:main", "virt-customize",
                      "change a guest: files, packages, passwords, first-boot scripts"),
    "df": Tool("df:main", "virt-df", "show the free space of a guest's filesystems"),
    "diff": Tool("diff:main", "virt-diff", "list the differences between the files of two "
                                           "guests"),
    "edit": Tool("edit:main", "virt-edit",
                 "edit files of a guest with $EDITOR or a Perl-style s/// expression"),
    "fleet": Tool("fleet:main", None,
                  "run one job per guest (inspect, df, cat, yours) on a Dask cluster"),
    "filesystems": Tool("filesystems:main", "virt-filesystems",
                        "list a guest's filesystems, partitions, volumes and disks"),
    "format": Tool("format:main", "virt-format",
                   "erase disks and make them blank: partition, LVM, empty filesystem"),
    "inspect": Tool("inspector:main", "virt-inspector",
                    "describe a guest's operating systems (XML or JSON)"),
    "log": Tool("log:main", "virt-log", "print a guest's system log"),
    "ls": Tool("ls:main", "virt-ls", "list directories of a guest"),
    "make-fs": Tool("make_fs:main", "virt-make-fs",
                    "make a disk image holding a filesystem filled from a directory or a "
                    "tar archive"),
    "rescue": Tool("rescue:main", "virt-rescue",
                   "a shell inside the appliance, on a guest's disks"),
    "resize": Tool("resize:main", "virt-resize",
                   "copy a guest's disk to a bigger or smaller one, resizing partitions"),
    "sparsify": Tool("sparsify:main", "virt-sparsify",
                     "give a guest's free space back to the host, in a copy or in place"),
    "sysprep": Tool("sysprep:main", "virt-sysprep",
                    "reset a guest so that it can be cloned (machine id, keys, logs...)"),
    "tail": Tool("tail:main", "virt-tail", "follow files of a guest as they grow (tail -f)"),
    "tar-in": Tool("tar:tar_in", "virt-tar-in", "unpack a tar archive into a guest"),
    "tar-out": Tool("tar:tar_out", "virt-tar-out", "pack a guest directory into a tar archive"),
    "win-reg": Tool("win_reg:main", "virt-win-reg",
                    "export or merge keys of a Windows guest's registry (regedit text)"),
    "mount": Tool("mount:main", "guestmount",
                  "mount a guest's filesystems on a host directory (FUSE)"),
    "unmount": Tool("mount:unmount_main", "guestunmount",
                    "unmount a directory mounted by guestkit mount, retrying while busy"),
    "test-tool": Tool("test_tool:main", "libguestfs-test-tool",
                      "check that an appliance launches here, and say why not"),
}


def usage():
    """The tools' part of ``guestkit --help``."""
    width = max(len(n) for n in TOOLS)
    lines = ["tools: guestkit TOOL [ARGS] (guestkit TOOL --help for each; in brackets, the",
             "libguestfs tool it stands for):"]
    lines += ["  %-*s  %s%s" % (width, n, t.summary,
                               " [%s]" % t.counterpart if t.counterpart else "")
              for n, t in sorted(TOOLS.items())]
    return "\n".join(lines) + "\n"


def parser_of(name):
    """The argparse parser tool NAME builds (for the man pages and the shell completion):
    caught as the tool parses its arguments, so the tool itself does not run."""
    from .common import parser_from
    return parser_from(lambda argv: run(name, argv))


def run(name, argv):
    """Run tool NAME with the arguments ARGV (after the tool's name); its exit status."""
    module, _, function = TOOLS[name].entry.partition(":")
    return getattr(importlib.import_module("." + module, __package__), function)(argv)
