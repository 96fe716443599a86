"""Daemon actions for debugging the appliance, and libguestfs's old sfdisk-based
partitioning calls (deprecated: part_add and friends replace them)."""

from .table import (
    Action, String, Int, Device, StringList, FileIn, RErr, RString, RStringList, RStruct,
)

ACTIONS = [
    Action("echo_daemon", [StringList("words")], RString(),
           doc="Return WORDS joined with single spaces, as the daemon received them: a "
               "round trip through the appliance that tests the connection (see also "
               "ping_daemon)."),
    Action("sleep", [Int("secs")], RErr(),
           doc="Make the daemon sleep SECS seconds (0 or more; negative is EINVAL).  The "
               "handle is busy meanwhile."),
    Action("dmesg", [], RString(),
           doc="The appliance kernel's message buffer, as dmesg(1) prints it.  Useful when "
               "something fails inside the appliance; the same messages are sent as "
               "APPLIANCE events while booting when set_verbose is on."),
    Action("drop_caches", [Int("whattodrop")], RErr(),
           doc="Sync, then ask the appliance kernel to drop clean caches: WHATTODROP is "
               "written to /proc/sys/vm/drop_caches (1 the page cache, 2 dentries and "
               "inodes, 3 both).  Other values fail with EINVAL."),
    Action("modprobe", [String("modulename")], RErr(), group="linuxmodules",
           doc="Load the kernel module MODULENAME (and what it depends on) into the "
               "appliance kernel with modprobe(8).  Only modules the appliance carries can "
               "be loaded; an unknown one fails with the tool's message."),
    Action("utsname", [], RStruct("utsname"),
           doc="The appliance kernel's identity as a struct with uts_sysname, uts_release, "
               "uts_version and uts_machine (uname(2)).  For debugging only: no field's "
               "value is part of the API."),
    Action("debug", [String("subcmd"), StringList("extraargs")], RString(),
           doc="Debugging commands run by the daemon, named by SUBCMD: help (the list), "
               "print (EXTRAARGS joined with spaces), env (the daemon's environment), fds "
               "(its open file descriptors), ls and ll (list appliance directories given "
               "in EXTRAARGS, default /), uptime.  An unknown SUBCMD fails with EINVAL.  "
               "Not part of the stable API: for looking inside a running appliance."),
    Action("debug_drives", [], RStringList(),
           doc="One line per disk the appliance sees, for debugging: its device name, "
               "size in bytes, read-only flag and the label given with add_drive "
               "(label=...) when it has one."),
    Action("debug_upload", [FileIn("filename"), String("tmpname"), Int("mode")], RErr(),
           progress=True,
           doc="Upload the host file FILENAME into the appliance's own /tmp as TMPNAME "
               "(a plain file name, no slashes) with permission bits MODE, for debugging "
               "the appliance (to run a tool there with debug).  The guest's filesystems "
               "are not touched."),
    Action("sfdisk", [Device("device"), Int("cyls"), Int("heads"), Int("sectors"),
                      StringList("lines")], RErr(), deprecated_by="part_add",
           doc="Write a partition table on DEVICE by feeding LINES, one partition each, to "
               "sfdisk(8) (see its manual for the start,size,type syntax; \",\" alone "
               "makes one partition filling the disk).  Sizes and starts are in sectors, "
               "as current sfdisk reads them.  CYLS, HEADS and SECTORS gave old sfdisk a "
               "disk geometry; current sfdisk takes none, so they are ignored (pass 0)."),
    Action("sfdiskM", [Device("device"), StringList("lines")], RErr(),
           deprecated_by="part_add",
           doc="Like sfdisk, but the numbers in LINES (start and size) are megabytes: "
               "\",100\" makes a 100 MB partition, \",\" one filling the rest."),
    Action("sfdisk_N", [Device("device"), Int("partnum"), Int("cyls"), Int("heads"),
                        Int("sectors"), String("line")], RErr(), deprecated_by="part_add",
           doc="Change only partition PARTNUM (counting from 1) of DEVICE, giving sfdisk(8) "
               "the single LINE for it.  CYLS, HEADS and SECTORS are ignored, as in "
               "sfdisk."),
]
