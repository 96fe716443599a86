"""``guestkit sparsify``: virt-sparsify's job.  Gives the free space of a guest's filesystems,
swap and volume groups back to the host.

Copying mode (INDISK OUTDISK) never writes to INDISK: a qcow2 overlay in front of it (its
backing format pinned) is opened with discard on, each filesystem is trimmed (or its free
space zeroed where it cannot trim), swap and unused volume-group space are discarded, and
``qemu-img convert`` copies the result to OUTDISK without the zeroed blocks.  --in-place
trims the disk itself: nothing is copied and the image shrinks where the host filesystem
can punch holes.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import guestkit
from ..images import probe_format
from .common import Keys, ToolError, guest_parser, machine_message, open_encrypted, run_tool

PROG = "guestkit sparsify"
OUTPUT_FORMATS = ("raw", "qcow2")
CHECK_TMPDIR = ("ignore", "continue", "warn", "fail")
TMP_LV = "guestkit-sparsify"


def _parser():
    ap = guest_parser(PROG, "make a guest's disk image sparse, as virt-sparsify does",
                      drives=False)
    ap.add_argument("--format", metavar="FMT",
                    help="format of the input disk (raw, qcow2, ...); detected when safe")
    ap.add_argument("--in-place", "--in_place", dest="in_place", action="store_true",
                    help="trim the disk itself instead of writing a copy")
    ap.add_argument("--convert", metavar="FMT", choices=OUTPUT_FORMATS,
                    help="format of the output disk (default: the input's, raw or qcow2)")
    ap.add_argument("--compress", action="store_true",
                    help="compress the output (qcow2 only)")
    ap.add_argument("-o", dest="options", metavar="OPTIONS",
                    help="qemu-img options for the output disk (e.g. cluster_size=65536)")
    ap.add_argument("--tmp", metavar="DIR", help="directory for the overlay (default $TMPDIR)")
    ap.add_argument("--check-tmpdir", choices=CHECK_TMPDIR, default="warn",
                    help="what to do when the overlay's directory may have too little "
                         "free space: ignore, continue, warn (default), fail")
    ap.add_argument("--ignore", action="append", default=[], metavar="FS|VG",
                    help="leave this filesystem or volume group alone (repeatable)")
    ap.add_argument("--zero", action="append", default=[], metavar="DEVICE",
                    help="zero this partition or volume whatever it holds (repeatable)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no messages")
    ap.add_argument("disks", nargs="+", metavar="DISK",
                    help="INDISK OUTDISK, or the one DISK with --in-place")
    return ap


def sparsify(argv):
    ns = _parser().parse_args(argv)
    say = (lambda text: None) if ns.quiet else (
        lambda text: (sys.stderr.write("%s: %s\n" % (PROG, text)),
                      machine_message("message", text)))
    if ns.in_place:
        if len(ns.disks) != 1:
            raise ToolError("--in-place takes one disk, not %d" % len(ns.disks))
        for opt, name in ((ns.convert, "--convert"), (ns.compress, "--compress"),
                          (ns.options, "-o"), (ns.tmp, "--tmp")):
            if opt:
                raise ToolError("%s does not go with --in-place (nothing is copied)" % name)
    elif len(ns.disks) != 2:
        raise ToolError("give the input disk and the output disk (or --in-place DISK)")
    indisk = ns.disks[0]
    if not os.path.exists(indisk):
        raise ToolError("%s: no such disk image" % indisk)
    fmt = ns.format or _detect(indisk)
    if ns.in_place:
        trim(ns, indisk, fmt, say, in_place=True)
        return 0
    outdisk = ns.disks[1]
    if os.path.exists(outdisk) and os.path.samefile(indisk, outdisk):
        raise ToolError("the output disk is the input disk: use --in-place to sparsify it "
                        "where it is")
    outfmt = ns.convert or (fmt if fmt in OUTPUT_FORMATS else "raw")
    if ns.compress and outfmt != "qcow2":
        raise ToolError("--compress needs a qcow2 output (--convert qcow2)")
    tmp = tempfile.mkdtemp(prefix="guestkit-sparsify-", dir=ns.tmp)
    try:
        _check_tmpdir(ns, tmp, indisk, say)
        overlay = os.path.join(tmp, "overlay.qcow2")
        _qemu_img(["create", "-q", "-f", "qcow2", "-F", fmt, "-b",
                   os.path.abspath(indisk), overlay])
        trim(ns, overlay, "qcow2", say, in_place=False)
        say("copying to %s (%s)" % (outdisk, outfmt))
        argv = ["convert", "-f", "qcow2", "-O", outfmt]
        if ns.compress:
            argv.append("-c")
        if ns.options:
            argv += ["-o", ns.options]
        if not ns.quiet and sys.stderr.isatty():
            argv.append("-p")
        _qemu_img(argv + [overlay, outdisk])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say("done: %s" % outdisk)
    return 0


def _detect(path):
    fmt, unsafe = probe_format(path)
    if unsafe:
        raise ToolError("%s: %s; give --format if you trust it" % (path, unsafe))
    return fmt


def _qemu_img(args):
    r = subprocess.run(["qemu-img"] + args, stdout=None if "-p" in args else
                       subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise ToolError("qemu-img %s: %s" % (args[0], r.stderr.strip()))


def _check_tmpdir(ns, tmp, indisk, say):
    """The overlay may grow up to the input's virtual size in the worst case."""
    if ns.check_tmpdir == "ignore":
        return
    info = subprocess.run(["qemu-img", "info", "--output=json", "-f",
                           ns.format or _detect(indisk), indisk],
                          capture_output=True, text=True)
    import json
    try:
        virtual = json.loads(info.stdout)["virtual-size"]
    except (ValueError, KeyError):
        return
    st = os.statvfs(tmp)
    free = st.f_bavail * st.f_frsize
    if free >= virtual:
        return
    text = ("%s has %d MiB free, the overlay may need up to %d MiB (the disk's virtual "
            "size)" % (os.path.dirname(tmp), free >> 20, virtual >> 20))
    if ns.check_tmpdir == "fail":
        raise ToolError(text + ": choose another --tmp")
    if ns.check_tmpdir == "warn":
        say("warning: " + text)


def trim(ns, disk, fmt, say, in_place):
    """Open DISK (writable, discard on) and give back every free block it holds."""
    g = guestkit.GuestFS(python_return_dict=True)
    try:
        g.set_verbose(ns.verbose)
        g.set_trace(ns.trace)
        from ..cli.progress import ProgressBars, wanted
        if not ns.quiet and wanted(ns.progress_bars):
            ProgressBars().attach(g)
        g.add_drive_opts(disk, format=fmt, readonly=False,
                         discard="enable" if in_place else "besteffort")
        g.launch()
        open_encrypted(g, Keys(ns))
        ignored = set(ns.ignore)
        for dev in ns.zero:
            say("zeroing %s" % dev)
            g.zero_device(dev)
            ignored.add(dev)
        for dev, fstype in sorted(g.list_filesystems().items()):
            if dev in ignored or fstype == "unknown":
                continue
            if fstype == "swap":
                _swap(g, dev, say)
            else:
                _filesystem(g, dev, say, in_place)
        for vg in g.vgs():
            if vg not in ignored:
                _vg_free(g, vg, say, in_place)
        g.shutdown()
    finally:
        g.close()


def _filesystem(g, dev, say, in_place):
    try:
        g.mount(dev, "/")
    except guestkit.Error as e:
        say("%s: left alone, it cannot be mounted (%s)" % (dev, e))
        return
    try:
        try:
            say("trimming %s" % dev)
            g.fstrim("/")
            return
        except guestkit.Error as e:
            if in_place:
                raise ToolError("%s: cannot trim (%s): --in-place needs discard all the "
                                "way down" % (dev, e)) from None
        say("zeroing the free space of %s (it cannot trim)" % dev)
        g.zero_free_space("/")
    finally:
        g.umount("/")


def _swap(g, dev, say):
    """Swap holds nothing worth keeping: discard it, then make it again with its label and
    UUID, so the guest's fstab still finds it."""
    label = g.vfs_label(dev)
    uuid = g.vfs_uuid(dev)
    say("discarding swap %s" % dev)
    try:
        g.blkdiscard(dev)
    except guestkit.Error as e:
        say("zeroing swap %s instead (%s)" % (dev, e))
        g.zero_device(dev)
    opts = {}
    if label:
        opts["label"] = label
    if uuid:
        opts["uuid"] = uuid
    g.mkswap(dev, **opts)


def _vg_free(g, vg, say, in_place):
    """The space of VG no volume uses: a temporary volume over all of it, discarded."""
    free = [v for v in g.vgs_full() if v["vg_name"] == vg]
    if not free or free[0]["vg_free"] == 0:
        return
    say("discarding the free space of volume group %s" % vg)
    lv = "/dev/%s/%s" % (vg, TMP_LV)
    g.lvcreate_free(TMP_LV, vg, 100)
    try:
        try:
            g.blkdiscard(lv)
        except guestkit.Error as e:
            if in_place:
                say("%s: its free space stays (%s)" % (vg, e))
            else:
                g.zero_device(lv)
    finally:
        g.lvremove(lv)


def main(argv):
    return run_tool(PROG, sparsify, argv)
