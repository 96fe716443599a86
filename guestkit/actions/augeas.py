"""Daemon actions: Augeas, configuration files edited as a tree (see docs/api.md).

libaugeas runs inside the appliance (daemon/augeas.py reaches it with ctypes, in a helper
process that reads and writes the guest's files chrooted in the guest root): guest files are
never parsed on the host.  One Augeas handle per GuestFS handle, as in libguestfs.  Augeas is
not an optional group: the appliance always carries it.
"""

from .table import (Action, Bool, Int, OBool, OptString, RErr, RInt, RString, RStringList,
                    RStruct, String)

_NEEDS = "  aug_init must have been called first (else the call fails with EINVAL)."

ACTIONS = [
    Action("aug_init", [String("root"), Int("flags")], RErr(),
           doc="Make a new Augeas handle for editing the guest's configuration files, "
               "closing the one this handle had, if any; the other aug_* calls need it.  "
               "ROOT is the directory of the guest (a path in the mounted guest, / for its "
               "root) that Augeas treats as the filesystem root.  FLAGS is the bitwise or "
               "of augeas.h's flags: 1 AUG_SAVE_BACKUP (keep the original file as "
               "FILE.augsave), 2 AUG_SAVE_NEWFILE (write FILE.augnew and leave the original "
               "alone; wins over 1), 4 AUG_TYPE_CHECK (typecheck lenses: slow, needs "
               "memory), 8 AUG_NO_STDINC (do not search the standard lens directories), "
               "16 AUG_SAVE_NOOP (aug_save only records what it would change), 32 "
               "AUG_NO_LOAD (do not load the files now; call aug_load).  Loading the "
               "standard lenses takes a few seconds in a TCG appliance.  Needs a "
               "filesystem mounted on /.  An unknown flag bit fails with EINVAL."),
    Action("aug_close", [], RErr(),
           doc="Close the Augeas handle, freeing what it holds; changes not saved with "
               "aug_save are lost.  Another aug_init is needed before any other aug_* "
               "call." + _NEEDS),
    Action("aug_defvar", [String("name"), OptString("expr")], RInt(),
           doc="Define the Augeas variable NAME ($NAME in later path expressions) as the "
               "result of evaluating EXPR, or remove its definition when EXPR is None.  "
               "Returns how many nodes EXPR matched, or 0 when it evaluates to something "
               "other than a node set." + _NEEDS),
    Action("aug_defnode", [String("name"), String("expr"), String("val")],
           RStruct("int_bool"),
           doc="Define the variable NAME as the node set EXPR matches; when EXPR matches "
               "nothing, first create the node (as aug_set EXPR VAL would) so that NAME "
               "holds that one node.  Returns an int_bool struct: i is the number of nodes "
               "in the set, b is 1 when a node was created." + _NEEDS),
    Action("aug_get", [String("augpath")], RString(),
           doc="The value of the node AUGPATH names.  AUGPATH must match exactly one node: "
               "none is an error (ENOENT), several is an error (EINVAL), and so is a node "
               "without a value (EINVAL)." + _NEEDS),
    Action("aug_set", [String("augpath"), String("val")], RErr(),
           doc="Give the node AUGPATH the value VAL, creating it (and missing parents) if "
               "needed.  AUGPATH must not match more than one node.  This call cannot "
               "remove a value: aug_clear does that." + _NEEDS),
    Action("aug_setm", [String("base"), OptString("sub"), String("val")], RInt(),
           doc="Set many nodes at once: for every node BASE matches, the node SUB (a path "
               "relative to it, created if missing) gets the value VAL; with SUB None the "
               "BASE nodes themselves get it.  Returns the number of nodes changed."
               + _NEEDS),
    Action("aug_insert", [String("augpath"), String("label"), Bool("before")], RErr(),
           doc="Insert a new node named LABEL as a sibling of the single node AUGPATH "
               "matches, just before it when BEFORE is true, else just after it.  LABEL is "
               "a plain label: no /, no * and no [N] index at its end." + _NEEDS),
    Action("aug_rm", [String("augpath")], RInt(),
           doc="Remove every node AUGPATH matches, with all of their children.  Returns "
               "the number of nodes removed." + _NEEDS),
    Action("aug_mv", [String("src"), String("dest")], RErr(),
           doc="Move the node SRC (which must match exactly one node) with its subtree to "
               "DEST, replacing whatever DEST held." + _NEEDS),
    Action("aug_match", [String("augpath")], RStringList(),
           doc="The paths of every node the path expression AUGPATH matches, each one "
               "precise enough to name exactly one node of the current tree." + _NEEDS),
    Action("aug_save", [], RErr(),
           doc="Write every pending change to the guest's files, as the aug_init flags "
               "say (in place, with a .augsave backup, into .augnew files, or nowhere).  "
               "When a file cannot be written the message says which, from what Augeas "
               "records under /augeas//error." + _NEEDS),
    Action("aug_load", [], RErr(),
           doc="Load (again) the files the current transforms cover into the tree, "
               "dropping unsaved changes to them; see aug_load in the Augeas "
               "documentation.  Files that do not parse are reported by Augeas under "
               "/augeas//error, not as a failure of this call." + _NEEDS),
    Action("aug_ls", [String("augpath")], RStringList(),
           doc="The children of AUGPATH, sorted: aug_match of AUGPATH/* in alphabetical "
               "order.  AUGPATH may be a variable; it must not end with /, ] or * (EINVAL), "
               "except for / itself." + _NEEDS),
    Action("aug_clear", [String("augpath")], RErr(),
           doc="Remove the value of the node AUGPATH (set it to NULL), keeping the node, "
               "as augtool's clear does." + _NEEDS),
    Action("aug_label", [String("augpath")], RString(),
           doc="The label (the name of the last path element) of the node AUGPATH "
               "matches; it must match exactly one node (ENOENT for none, EINVAL for "
               "several)." + _NEEDS),
    Action("aug_transform", [String("lens"), String("file")], RErr(), [OBool("remove")],
           doc="Make the lens LENS (for example Hosts.lns) handle the file FILE (a path in "
               "the guest, as aug_init's root sees it; may hold wildcards), so that the "
               "next aug_load reads it.  With remove true, the transform for LENS and FILE "
               "is removed instead." + _NEEDS),
]
