"""Library actions that show the guest's mounted filesystems as a FUSE mount on the host
(guestfs(3) "MOUNT LOCAL"); implemented in guestkit/library/mount_local.py."""

from .table import Action, LAUNCHED, ANY, String, OBool, OString, OInt, RErr

ACTIONS = [
    Action("mount_local", [String("localmountpoint")], RErr(),
           [OBool("readonly"), OString("options"), OInt("cachetimeout"), OBool("debugcalls")],
           daemon=False, state=LAUNCHED,
           doc="Show the filesystems mounted in the appliance on the host directory "
               "LOCALMOUNTPOINT, through FUSE: every operation on a file under it becomes "
               "a call on this handle.  When this returns the mount exists, but nothing "
               "answers it until mount_local_run is called (accesses wait).  readonly makes "
               "every change fail with EROFS.  options is a comma-separated list of FUSE "
               "mount options (allow_other, default_permissions, ...).  cachetimeout is how "
               "long, in seconds, attributes, directory listings and link targets are "
               "cached (default 60).  debugcalls reports every FUSE call as a debug "
               "message.  The host never reads the guest's data itself and never follows a "
               "guest symlink: the target of a symlink is given to the kernel rewritten so "
               "that it resolves inside the mount, never to a file of the host (an "
               "absolute target /etc/passwd is seen as a relative path to the mount's "
               "etc/passwd).  Needs FUSE on the host (libfuse 3 and the mfusepy module, "
               "the [mount] extra): without it the call fails with ENOTSUP."),
    Action("mount_local_run", [], RErr(), daemon=False, state=LAUNCHED,
           doc="Answer the requests of the mount made by mount_local until it is unmounted "
               "(umount_local, possibly from another thread, or fusermount -u on the "
               "host), then return.  While it runs, make no other call on this handle.  "
               "An interrupt (KeyboardInterrupt) unmounts and is raised again; if the "
               "appliance dies the mount is removed and the call fails."),
    Action("umount_local", [], RErr(), [OBool("retry")], daemon=False, state=ANY,
           doc="Unmount the mount made by mount_local (safe to call from another thread "
               "while mount_local_run serves it).  With retry, a mount that is busy is "
               "tried again a few times over some seconds before the call fails with "
               "EBUSY."),
]
