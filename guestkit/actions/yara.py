"""Daemon actions: Yara, scanning guest files with Yara rules (see docs/api.md).

The rules are compiled and matched inside the appliance by the yara tools it carries (yarac,
yara; daemon/yara.py): guest files are never scanned on the host.  One set of rules per
handle, as in libguestfs.
"""

from .table import Action, FileIn, Pathname, RErr, RStructList

_G = "libyara"

ACTIONS = [
    Action("yara_load", [FileIn("filename")], RErr(), group=_G, progress=True,
           doc="Upload the Yara rules in the host file FILENAME to the appliance, replacing "
               "the rules loaded before.  The file holds either compiled rules (as yarac "
               "writes them, for the appliance's Yara version) or rule source, which is "
               "compiled now; source cannot include other files (compile such rules "
               "first).  Rules that do not compile or load fail with EINVAL quoting Yara's "
               "message; a file over 64 MiB with EFBIG.  Scan with yara_scan."),
    Action("yara_scan", [Pathname("path")], RStructList("yara_detection"), group=_G,
           progress=True,
           doc="Scan the guest file PATH (a regular file; resolved inside the guest) with "
               "the loaded rules.  Returns a yara_detection struct for each rule that "
               "matches: yara_name is PATH, yara_rule the rule's identifier.  Without "
               "loaded rules it fails with EINVAL, on a directory with EISDIR, on a device, "
               "fifo or socket with EINVAL."),
    Action("yara_destroy", [], RErr(), group=_G,
           doc="Drop the loaded Yara rules, freeing what they take in the appliance.  "
               "Fails with EINVAL when no rules are loaded."),
]
