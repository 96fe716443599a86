"""Daemon actions about the appliance itself."""

from .table import Action, StringList, RBool, RStringList, RString, RErr

ACTIONS = [
    Action("available", [StringList("groups")],
           doc="Fail (with ENOTSUP) unless every optional group of actions in GROUPS is "
               "supported by this appliance.  Groups: see available_all_groups."),
    Action("feature_available", [StringList("groups")], RBool(),
           doc="True if every optional group in GROUPS is supported by this appliance."),
    Action("available_all_groups", [], RStringList(),
           doc="Every optional group this version knows, supported here or not."),
    Action("ping_daemon", [], RErr(),
           doc="Check that the daemon answers."),
    Action("debug_appliance_version", [], RString(),
           doc="Kernel release and Python version inside the appliance."),
]
