"""Daemon actions: hivex, Windows registry hives (see docs/api.md).

A wrapper around libhivex, which runs inside the appliance (daemon/hivex.py reaches it with
ctypes): guest data is never parsed on the host.  One hive is open per handle, as in
libguestfs.  Node and value handles are the hive's own cell offsets (positive integers).
"""

from .table import (Action, BufferIn, Int64, OBool, OptString, Pathname, RBufferOut, RErr,
                    RInt64, RString, RStructList, String)

_G = "hivex"

ACTIONS = [
    Action("hivex_open", [Pathname("filename")], RErr(),
           [OBool("verbose"), OBool("debug"), OBool("write"), OBool("unsafe")],
           group=_G,
           doc="Open the Windows Registry hive file named FILENAME (a regular file in the "
               "guest).  If a hive is already open on this handle, it is closed first.  "
               "write allows changes (hivex_commit saves them); unsafe lets libhivex open "
               "hives with some damage; verbose and debug make libhivex report what it does "
               "on the appliance's console.  A file that is not a hive, or a corrupt one, "
               "fails with a clear error.  This is a wrapper around the hivex(3) call of "
               "the same name."),
    Action("hivex_close", [], RErr(), group=_G,
           doc="Close the current hivex handle, discarding uncommitted changes.  This is "
               "a wrapper around the hivex(3) call of the same name."),
    Action("hivex_root", [], RInt64(), group=_G,
           doc="Return the root node of the hive.  This is a wrapper around the hivex(3) "
               "call of the same name."),
    Action("hivex_node_name", [Int64("nodeh")], RString(), group=_G,
           doc="Return the name of NODEH.  This is a wrapper around the hivex(3) call of "
               "the same name."),
    Action("hivex_node_children", [Int64("nodeh")], RStructList("hivex_node"), group=_G,
           doc="Return the list of nodes which are subkeys of NODEH, as hivex_node structs "
               "(field hivex_node_h).  At most 1,000,000 subkeys are returned (EFBIG "
               "beyond).  This is a wrapper around the hivex(3) call of the same name."),
    Action("hivex_node_get_child", [Int64("nodeh"), String("name")], RInt64(), group=_G,
           doc="Return the child of NODEH with the name NAME (compared case-insensitively, "
               "as Windows does), if it exists.  This can return 0 meaning the name was "
               "not found.  This is a wrapper around the hivex(3) call of the same name."),
    Action("hivex_node_parent", [Int64("nodeh")], RInt64(), group=_G,
           doc="Return the parent node of NODEH.  This is a wrapper around the hivex(3) "
               "call of the same name."),
    Action("hivex_node_values", [Int64("nodeh")], RStructList("hivex_value"), group=_G,
           doc="Return the array of (key, datatype, data) tuples attached to NODEH, as "
               "hivex_value structs (field hivex_value_h).  At most 1,000,000 values are "
               "returned (EFBIG beyond).  This is a wrapper around the hivex(3) call of the "
               "same name."),
    Action("hivex_node_get_value", [Int64("nodeh"), String("key")], RInt64(), group=_G,
           doc="Return the value attached to NODEH which has the name KEY, if it exists.  "
               "This can return 0 meaning the key was not found.  The empty KEY names the "
               "node's default value.  This is a wrapper around the hivex(3) call of the "
               "same name."),
    Action("hivex_value_key", [Int64("valueh")], RString(), group=_G,
           doc="Return the key (name) field of a (key, datatype, data) tuple.  This is a "
               "wrapper around the hivex(3) call of the same name."),
    Action("hivex_value_type", [Int64("valueh")], RInt64(), group=_G,
           doc="Return the data type field from a (key, datatype, data) tuple (1 REG_SZ, "
               "2 REG_EXPAND_SZ, 3 REG_BINARY, 4 REG_DWORD, 7 REG_MULTI_SZ, 11 REG_QWORD "
               "...).  This is a wrapper around the hivex(3) call of the same name."),
    Action("hivex_value_string", [Int64("valueh")], RString(), group=_G,
           doc="This calls hivex_value_value (which returns the data field from a hivex "
               "value tuple).  It then assumes that the field is a UTF-16LE string and "
               "converts the result to UTF-8, up to the first NUL character (or if this is "
               "not possible, it returns an error, EILSEQ).  This is useful for reading "
               "strings out of the Windows registry.  However it is not foolproof because "
               "the registry is not strongly-typed and fields can contain arbitrary or "
               "unexpected data."),
    Action("hivex_value_utf8", [Int64("valueh")], RString(), group=_G,
           deprecated_by="hivex_value_string",
           doc="Deprecated: use hivex_value_string, which this is the same as.  Returns "
               "the data field of a value tuple converted from UTF-16LE to UTF-8."),
    Action("hivex_value_value", [Int64("valueh")], RBufferOut(), group=_G,
           doc="Return the data field of a (key, datatype, data) tuple.  Values larger "
               "than 32 MiB are refused (EFBIG).  This is a wrapper around the hivex(3) "
               "call of the same name.  See also hivex_value_string."),
    Action("hivex_node_add_child", [Int64("parent"), String("name")], RInt64(), group=_G,
           doc="Add a child node to PARENT named NAME; returns the new node.  The hive "
               "must be open with write.  This is a wrapper around the hivex(3) call of "
               "the same name."),
    Action("hivex_node_delete_child", [Int64("nodeh")], RErr(), group=_G,
           doc="Delete NODEH, recursively if necessary.  The root cannot be deleted.  "
               "This is a wrapper around the hivex(3) call of the same name."),
    Action("hivex_node_set_value", [Int64("nodeh"), String("key"), Int64("t"),
                                    BufferIn("val")], RErr(), group=_G,
           doc="Set or replace a single value under the node NODEH.  The KEY is the name, "
               "T is the type, and VAL is the data (for REG_SZ, UTF-16LE with a NUL "
               "terminator).  This is a wrapper around the hivex(3) call of the same name."),
    Action("hivex_commit", [OptString("filename")], RErr(), group=_G,
           doc="Commit (write) changes to the hive.  If the optional FILENAME parameter is "
               "None, then the changes are written back to the same hive that was opened.  "
               "If this is not None then they are written to the alternate file FILENAME "
               "in the guest (a regular file, created if needed) and the original hive is "
               "left untouched.  The hive must have been opened with write.  This is a "
               "wrapper around the hivex(3) call of the same name."),
]
