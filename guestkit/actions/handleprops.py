"""Library actions about the handle itself: the qemu command line (config), old names of
properties kept for compatibility (get/set_qemu, get/set_attach_method, get/set_direct),
the appliance search path, the socket directory, the environment, and no-ops and
stoppers from libguestfs's early API (wait_ready, kill_subprocess)."""

from .table import (
    Action, CONFIG, ANY, LAUNCHED, String, OptString, Bool, StringList, RErr, RBool, RInt64, RString,
)

ACTIONS = [
    Action("config", [String("hvparam"), OptString("hvvalue")], RErr(), daemon=False,
           state=CONFIG,
           doc="Add a parameter to the hypervisor's command line: HVPARAM (which must start "
               "with a dash) followed, unless HVVALUE is None, by HVVALUE, as in "
               "config(\"-cpu\", \"max\").  Parameters guestkit sets itself (the kernel, "
               "initrd, drives, memory, CPUs, machine, display, serial console, monitor) "
               "are refused with EINVAL.  The direct backend adds the parameters after its "
               "own, in the order they were given; such a launch boots cold (a saved "
               "appliance snapshot was made without them).  Other backends refuse to "
               "launch a handle with parameters they cannot pass on."),
    Action("set_qemu", [OptString("hv")], RErr(), daemon=False, state=CONFIG,
           deprecated_by="set_hv",
           doc="The old name of set_hv: the hypervisor binary used to run the appliance.  "
               "None restores the default (GUESTKIT_HV, LIBGUESTFS_HV, else the qemu found "
               "on the host)."),
    Action("get_qemu", [], RString(), daemon=False, deprecated_by="get_hv",
           doc="The old name of get_hv: the hypervisor binary that will run the appliance "
               "(never empty: the default when none was set)."),
    Action("set_path", [OptString("searchpath")], RErr(), daemon=False, state=CONFIG,
           doc="Set where the appliance is looked for (libguestfs's kernel and initrd "
               "search path).  guestkit builds its appliance from the host into the "
               "per-user cache, which is also the default of this path; the value is kept "
               "and reported by get_path.  None restores the default (GUESTKIT_PATH, "
               "else LIBGUESTFS_PATH, else the cache)."),
    Action("get_path", [], RString(), daemon=False,
           doc="The appliance search path: what set_path set, else GUESTKIT_PATH, else "
               "LIBGUESTFS_PATH, else the per-user appliance cache (get_cachedir_in_use)."),
    Action("set_direct", [Bool("direct")], RErr(), daemon=False,
           deprecated_by="internal_get_console_socket",
           doc="The direct appliance mode flag of old libguestfs versions, in which the "
               "appliance's console was wired to the program's stdin and stdout.  The flag "
               "is kept (get_direct reports it) and has no other effect: the console's "
               "output is always delivered as APPLIANCE events (see set_verbose)."),
    Action("get_direct", [], RBool(), daemon=False,
           deprecated_by="internal_get_console_socket",
           doc="The direct appliance mode flag set by set_direct (false by default)."),
    Action("set_attach_method", [String("backend")], RErr(), daemon=False, state=CONFIG,
           deprecated_by="set_backend",
           doc="The old name of set_backend.  The old spelling \"appliance\" means the "
               "direct backend."),
    Action("get_attach_method", [], RString(), daemon=False, deprecated_by="get_backend",
           doc="The old name of get_backend, in the old spelling: \"appliance\" for the "
               "direct backend, otherwise the backend's name."),
    Action("get_sockdir", [], RString(), daemon=False,
           doc="The directory under which the handle makes the private directory holding "
               "its unix sockets: the temporary directory (get_tmpdir) when a socket's path "
               "fits there, else XDG_RUNTIME_DIR, else /tmp (a unix socket's path is at "
               "most 107 bytes)."),
    Action("parse_environment", [], RErr(), daemon=False,
           doc="Read the process's environment again and set the handle's properties from "
               "it, as the constructor does with environment=True: GUESTKIT_* or "
               "LIBGUESTFS_* DEBUG, TRACE, MEMSIZE, SMP, APPEND, HV (or LIBGUESTFS_QEMU), "
               "TMPDIR, CACHEDIR, PATH, BACKEND (or LIBGUESTFS_ATTACH_METHOD) and "
               "BACKEND_SETTINGS.  Variables that are not set leave their property alone."),
    Action("parse_environment_list", [StringList("environment")], RErr(), daemon=False,
           doc="Like parse_environment, but from ENVIRONMENT, a list of NAME=VALUE strings "
               "(strings without = are ignored), instead of the process's environment."),
    Action("c_pointer", [], RInt64(), daemon=False,
           doc="In libguestfs's bindings, the address of the underlying C handle, for "
               "libraries written against libguestfs's C API.  A guestkit handle has no C "
               "handle: this fails with ENOTSUP."),
    Action("wait_ready", [], RErr(), daemon=False, state=LAUNCHED, deprecated=True,
           doc="Deprecated, with no replacement: does nothing (after launch; before, it "
               "fails with EINVAL).  Very old libguestfs programs called it after launch to wait "
               "for the appliance; launch itself waits until the daemon answers."),
    Action("kill_subprocess", [], RErr(), daemon=False, state=ANY, deprecated_by="shutdown",
           doc="Stop the hypervisor running the appliance at once, without syncing or "
               "unmounting (shutdown is the clean way).  Afterwards the handle can only be "
               "closed.  Does nothing when no appliance is running."),
]
