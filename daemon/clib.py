"""The appliance's C libraries reached with ctypes (libaugeas, libhivex, libsystemd).

Standard library only.  A library is looked up by its soname, then in system.LIBRARY_DIRS,
loaded once per process and typed from its table of signatures.
"""

import ctypes
import os

from . import system as _system
from .util import DaemonError

_loaded = {}
_libc = None


def load(libname, signatures, missing):
    """The C library LIBNAME (a soname), its functions typed by the table SIGNATURES()
    returns (name -> (restype, argtypes)) when it is first loaded; errno is kept for
    ctypes.get_errno.  DaemonError ENOTSUP with the message MISSING if the appliance has no
    such library."""
    lib = _loaded.get(libname)
    if lib is not None:
        return lib
    for name in (libname,) + tuple(os.path.join(d, libname) for d in _system.LIBRARY_DIRS):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError:
            continue
    else:
        raise DaemonError(missing, "ENOTSUP")
    for name, (restype, argtypes) in signatures().items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _loaded[libname] = lib
    return lib


def free(ptr):
    """libc's free() of PTR, memory a library handed over (a ctypes pointer or address)."""
    global _libc
    if _libc is None:
        libc = ctypes.CDLL("libc.so.6")
        libc.free.restype = None
        libc.free.argtypes = [ctypes.c_void_p]
        _libc = libc
    _libc.free(ptr)
