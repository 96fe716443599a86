"""SELinux: relabelling guest files (setfiles, selinux_relabel) in the appliance, and the
old interface libguestfs keeps for compatibility (get/set_selinux, getcon, setcon).

The appliance never loads the guest's policy; files are labelled by the appliance's
setfiles from the guest's file_contexts, as libguestfs does (see guestfs(3) SELINUX).
"""

from .table import (Action, Bool, CONFIG, OBool, Pathname, RBool, RErr, RString, String,
                    StringList)


class PathnameList(StringList):
    label = "list of paths"
    item = Pathname


_RELABEL = ("SPECFILE is the policy's file-contexts file, a path in the guest (usually "
            "/etc/selinux/SELINUXTYPE/contexts/files/file_contexts, SELINUXTYPE read from the "
            "guest's /etc/selinux/config); its companions FILE.local, FILE.homedirs, "
            "FILE.subs and FILE.subs_dist are used when the guest has them.  With force "
            "true, the labels of customizable files are reset too, and the user, role and "
            "range of every label are set, not only the type.  Mounted /dev, /proc, /selinux "
            "and /sys of the guest are skipped.  Paths and SPECFILE are resolved inside the "
            "guest.  A missing SPECFILE or path fails with ENOENT; setfiles' own failures "
            "with EIO quoting its message.")

ACTIONS = [
    Action("setfiles", [String("specfile"), PathnameList("paths")], RErr(), [OBool("force")],
           group="selinuxrelabel",
           doc="Set the SELinux labels of the files under each of PATHS (the whole guest "
               "for /), with setfiles(8) in the appliance.  " + _RELABEL),
    Action("selinux_relabel", [String("specfile"), Pathname("path")], RErr(),
           [OBool("force")], group="selinuxrelabel",
           doc="Set the SELinux labels of the files under PATH (usually /, the whole "
               "guest): setfiles with one path.  " + _RELABEL),
    Action("getcon", [], RString(), group="selinux", deprecated_by="selinux_relabel",
           doc="Deprecated: use selinux_relabel.  The SELinux security context of the "
               "daemon (its /proc/self/attr/current).  Needs an appliance booted with "
               "SELinux on (set_selinux before launch); otherwise the selinux feature is "
               "not available and the call fails with ENOTSUP."),
    Action("setcon", [String("context")], RErr(), group="selinux",
           deprecated_by="selinux_relabel",
           doc="Deprecated: use selinux_relabel.  Set the SELinux security context of the "
               "daemon to CONTEXT.  The appliance loads no policy, so the kernel refuses "
               "most contexts (EINVAL).  Needs an appliance booted with SELinux on "
               "(set_selinux before launch), else fails with ENOTSUP."),
    Action("set_selinux", [Bool("selinux")], RErr(), daemon=False, state=CONFIG,
           deprecated_by="selinux_relabel",
           doc="Deprecated: use selinux_relabel.  Whether the appliance kernel boots with "
               "SELinux on (selinux=1 security=selinux enforcing=0 on its command line; "
               "permissive, and no policy is loaded).  Off by default.  It only makes the "
               "selinux feature (getcon, setcon) available; labelling guest files needs "
               "neither."),
    Action("get_selinux", [], RBool(), daemon=False, deprecated_by="selinux_relabel",
           doc="Deprecated: use selinux_relabel.  Whether the appliance boots with SELinux "
               "on (see set_selinux)."),
]
