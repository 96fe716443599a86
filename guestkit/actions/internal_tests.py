"""python-guestfs's binding-test actions (internal_test*): argument and return-value round
trips that run in the library, with no appliance.  They exist so that programs and test
suites written against python-guestfs find them; their results are libguestfs's."""

from .table import (
    Action, String, OptString, StringList, Bool, Int, Int64, FileIn, FileOut, BufferIn,
    OBool, OInt, OInt64, OString, OStringList, RErr, RInt, RInt64, RBool, RConstString,
    ROptString, RString, RStringList, RStruct, RStructList, RHashtable, RBufferOut,
)

_RETURNS = [
    ("rint", RInt(), "the integer VAL holds (decimal, as C's %d reads it)"),
    ("rint64", RInt64(), "the 64-bit integer VAL holds (decimal, 0x hexadecimal or 0 octal)"),
    ("rbool", RBool(), "1 when VAL is \"true\", else 0"),
    ("rconststring", RConstString(), "the constant string \"static string\""),
    ("rconstoptstring", ROptString(), "the constant string \"static string\" (the error "
     "variant returns None rather than failing)"),
    ("rstring", RString(), "VAL itself"),
    ("rstringlist", RStringList(), "the list \"0\", \"1\", ... of VAL (a count) strings"),
    ("rstruct", RStruct("lvm_pv"), "one lvm_pv struct, pv_name \"pv0\""),
    ("rstructlist", RStructList("lvm_pv"), "VAL (a count) lvm_pv structs, pv0, pv1, ..."),
    ("rhashtable", RHashtable(), "VAL (a count) pairs (\"0\", \"0\"), (\"1\", \"1\"), ..."),
    ("rbufferout", RBufferOut(), "the bytes of VAL"),
]

ACTIONS = [
    Action("internal_test",
           [String("str"), OptString("optstr"), StringList("strlist"), Bool("b"),
            Int("integer"), Int64("integer64"), FileIn("filein"), FileOut("fileout"),
            BufferIn("bufferin")], RErr(),
           [OBool("obool"), OInt("oint"), OInt64("oint64"), OString("ostring"),
            OStringList("ostringlist")], daemon=False,
           doc="Binding test: print every argument, one a line, as libguestfs does, to "
               "standard output or to the file named by internal_test_set_output (the "
               "file arguments are printed, never opened; optional arguments not given "
               "print as unset)."),
    Action("internal_test_only_optargs", [], RErr(), [OInt("test")], daemon=False,
           doc="Binding test: print the optional argument TEST (or unset)."),
    Action("internal_test_63_optargs", [], RErr(),
           [OInt("opt%d" % i) for i in range(1, 64)], daemon=False,
           doc="Binding test: print the 63 optional arguments opt1 ... opt63 (or unset), "
               "one a line."),
    Action("internal_test_set_output", [String("filename")], RErr(), daemon=False,
           doc="Binding test: send the output of internal_test and its siblings to the host "
               "file FILENAME (created or truncated) instead of standard output."),
    Action("internal_test_close_output", [], RErr(), daemon=False,
           doc="Binding test: close the file internal_test_set_output opened; output goes "
               "to standard output again."),
]
for _name, _ret, _what in _RETURNS:
    ACTIONS.append(Action("internal_test_" + _name, [String("val")], _ret, daemon=False,
                          doc="Binding test: return %s." % _what))
    ACTIONS.append(Action("internal_test_" + _name + "err", [], _ret, daemon=False,
                          doc="Binding test: fail with the error message \"error\"%s." % (
                              " (this one returns None instead)"
                              if _name == "rconstoptstring" else "")))
