"""Actions that run in the library (on the host), not in the appliance."""

from .table import (
    Action, CONFIG, ANY, String, OptString, Key, Int, Int64, Bool, StringList,
    OBool, OInt, OString, OStringList, RErr, RInt, RInt64, RBool, RString, RStringList,
    RStruct, ROptString, RHashtable,
)

# Handle properties: (name, kind, return kind, default, env suffix, doc).  Each one becomes a
# set_NAME / get_NAME pair here, nowhere else.
PROPERTIES = [
    ("verbose", Bool, RBool, False, "DEBUG",
     "Verbose messages: the appliance's console and the library's own messages are sent as "
     "APPLIANCE and LIBRARY events (and printed on stderr when nobody listens)."),
    ("trace", Bool, RBool, False, "TRACE",
     "Trace every call: its arguments and return value are sent as TRACE events (printed on "
     "stderr when nobody listens).  Keys and passphrases are replaced by ***."),
    ("memsize", Int, RInt, 512, "MEMSIZE",
     "Memory of the appliance in megabytes."),
    ("smp", Int, RInt, 1, "SMP",
     "Number of virtual CPUs of the appliance."),
    ("append", OptString, ROptString, None, "APPEND",
     "Extra text appended to the appliance kernel's command line."),
    ("hv", String, RString, None, "HV",
     "The qemu binary used to run the appliance."),
    ("tmpdir", String, RString, None, "TMPDIR",
     "Directory for the handle's temporary files (sockets, overlays).  Default: "
     "GUESTKIT_TMPDIR, else LIBGUESTFS_TMPDIR, else TMPDIR, else /tmp."),
    ("cachedir", String, RString, None, "CACHEDIR",
     "Directory in which the per-user appliance cache lives: the cache itself is the "
     "private directory .guestkit-UID inside it (see get_cachedir_in_use), so a shared "
     "directory such as /var/tmp is fine.  Default: GUESTKIT_CACHEDIR, else "
     "LIBGUESTFS_CACHEDIR, else TMPDIR, else /var/tmp."),
    ("autosync", Bool, RBool, True, None,
     "When true, filesystems are unmounted and synced when the handle is shut down or "
     "closed."),
    ("network", Bool, RBool, False, None,
     "Give the appliance a network interface (user-mode networking)."),
    ("recovery_proc", Bool, RBool, True, None,
     "Make sure the appliance dies with the process that launched it."),
    ("identifier", String, RString, "", None,
     "A name for the handle, used in traces and debug messages."),
    ("program", String, RString, None, None,
     "The program name used in messages (default: the running program's name)."),
    ("pgroup", Bool, RBool, False, None,
     "Run the appliance in its own process group, so ^C on the terminal does not reach it."),
]


# the argument of set_NAME where guestfs(3) names it differently from the property
_ARG_NAMES = {"recovery_proc": "recoveryproc"}


def _props():
    out = []
    for name, kind, ret, _default, _env, doc in PROPERTIES:
        state = CONFIG if name in ("memsize", "smp", "append", "hv", "network") else ANY
        arg = kind(_ARG_NAMES.get(name, name))
        out.append(Action("set_" + name, [arg], RErr(), daemon=False, state=state,
                          doc="Set: " + doc))
        out.append(Action("get_" + name, [], ret(), daemon=False,
                          doc="Get: " + doc))
    return out


ACTIONS = _props() + [
    Action("set_backend", [String("backend")], daemon=False, state=CONFIG,
           fish_alias=["backend"],
           doc="Choose the backend that launches the appliance: direct (the default), or any "
               "other found in the guestkit.backends plugin namespace.  A parameter may "
               "follow a colon, as in libvirt:qemu:///system."),
    Action("get_backend", [], RString(), daemon=False,
           doc="The backend in force: set_backend, else GUESTKIT_BACKEND, else "
               "LIBGUESTFS_BACKEND, else direct."),
    Action("set_backend_settings", [StringList("settings")], daemon=False, state=CONFIG,
           doc="Replace the backend settings (strings such as force_tcg or name=value)."),
    Action("get_backend_settings", [], RStringList(), daemon=False,
           doc="The backend settings in force."),
    Action("get_backend_setting", [String("name")], RString(), daemon=False,
           doc="The value of backend setting NAME (1 for a bare flag); an ESRCH error if it "
               "is not set."),
    Action("set_backend_setting", [String("name"), String("val")], daemon=False,
           doc="Set backend setting NAME to VAL, replacing any earlier value."),
    Action("clear_backend_setting", [String("name")], RInt(), daemon=False,
           doc="Remove backend setting NAME; returns how many entries were removed."),
    Action("add_drive", [String("filename")], RErr(), [
        OBool("readonly"), OString("format"), OString("iface"), OString("name"),
        OString("label"), OString("protocol"), OStringList("server"), OString("username"),
        Key("secret"), OString("cachemode"), OString("discard"), OBool("copyonread"),
        OInt("blocksize")],
        daemon=False, state=ANY, once_had_no_optargs=True, fish_alias=["add"],
        doc="Add a disk image (a host file or device) to the handle.  The first drive added "
            "becomes /dev/sda in the appliance, the next /dev/sdb and so on.  readonly "
            "puts a temporary qcow2 overlay in front of it so the image is never written.  "
            "format pins the image format (raw, qcow2, ...); without it the format is "
            "detected, and an image that names a backing or data file is refused.  label "
            "makes the drive also known as /dev/disk/guestfs/LABEL.  cachemode is writeback "
            "(default) or unsafe; discard is disable, enable or besteffort; copyonread "
            "caches the image's data in the overlay as it is read.  After launch the "
            "drive is hot-plugged into the running appliance (it needs a label, and a "
            "backend that can hot-plug: see guestkit backends); it becomes the next free "
            "/dev/sdX and /dev/disk/guestfs/LABEL."),
    Action("remove_drive", [String("label")], RErr(), daemon=False, state=ANY,
           doc="Remove the drive added with label LABEL.  Before launch it is dropped from "
               "the list; after launch it is hot-unplugged from the running appliance, "
               "which fails with EBUSY while the drive or a partition of it is mounted or "
               "in use (by LVM, md, swap, an open LUKS device)."),
    Action("add_drive_ro", [String("filename")], daemon=False, state=CONFIG,
           fish_alias=["add-ro"],
           doc="Add a drive read-only (same as add_drive_opts with readonly=True)."),
    Action("add_drive_scratch", [Int64("size")], RErr(),
           [OString("name"), OString("label"), OInt("blocksize")], daemon=False, state=CONFIG,
           doc="Add a blank temporary drive of SIZE bytes; it is deleted when the handle is "
               "closed."),
    Action("disk_create", [String("filename"), String("format"), Int64("size")], RErr(),
           [OString("backingfile"), OString("backingformat"), OString("preallocation"),
            OString("compat"), OInt("clustersize")], daemon=False,
           doc="Create a blank host disk image of SIZE bytes in FORMAT (raw or qcow2).  "
               "backingfile makes a qcow2 overlay on top of an existing image (pass size -1 "
               "to take the backing file's size, and backingformat to pin its format).  "
               "preallocation is off/sparse, metadata (qcow2) or full."),
    Action("disk_format", [String("filename")], RString(), daemon=False,
           doc="Detect the format of a host disk image (raw, qcow2, vmdk, ...), without "
               "opening it in qemu."),
    Action("disk_virtual_size", [String("filename")], RInt64(), daemon=False,
           doc="The virtual size in bytes of a host disk image."),
    Action("disk_has_backing_file", [String("filename")], RBool(), daemon=False,
           doc="True if the host disk image names a backing file."),
    Action("list_disk_labels", [], RHashtable(), daemon=False, state=ANY,
           doc="Labels given to drives with add_drive_opts label=, as pairs of label and "
               "device name (a hashtable)."),
    Action("launch", [], daemon=False, state=CONFIG, fish_alias=["run"],
           doc="Start the appliance: build (or take from the cache) the kernel and initramfs, "
               "start the backend, and wait until the daemon inside answers."),
    Action("shutdown", [], daemon=False, state=ANY,
           doc="Unmount and sync (when autosync is on), then stop the appliance cleanly.  The "
               "handle can only be closed afterwards."),
    Action("close", [], daemon=False, state=ANY,
           doc="Shut down the appliance if it is running and free the handle's resources."),
    Action("user_cancel", [], daemon=False, state=ANY,
           doc="Cancel the current upload or download (safe to call from another thread or "
               "an event callback).  The call in progress fails with EINTR."),
    Action("version", [], RStruct("version"), daemon=False,
           doc="The guestkit version as a struct: major, minor, release, extra."),
    Action("is_config", [], RBool(), daemon=False, doc="True before launch."),
    Action("is_launching", [], RBool(), daemon=False, doc="True while launching."),
    Action("is_ready", [], RBool(), daemon=False, doc="True when launched and ready."),
    Action("is_busy", [], RBool(), daemon=False, doc="True while a call is running."),
    Action("get_state", [], RInt(), daemon=False,
           doc="The handle's state: 0 config, 1 launching, 2 ready."),
    Action("get_pid", [], RInt(), daemon=False,
           doc="The process id of the hypervisor running the appliance."),
    Action("get_cachedir_in_use", [], RString(), daemon=False,
           doc="The per-user cache this handle uses: the directory .guestkit-UID inside "
               "get_cachedir, private to this user (built appliances, the KVM verdict)."),
]
