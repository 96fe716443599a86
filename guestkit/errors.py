"""Exceptions raised by guestkit."""

import errno as _errno


class Error(RuntimeError):
    """An action failed.  Like python-guestfs's errors this is a RuntimeError; it also
    carries the errno of the failing operation as a number (errno) and a name
    (errno_name, e.g. "ENOENT")."""

    def __init__(self, message, errno_name=None):
        super().__init__(message)
        if errno_name is not None and errno_name not in _errno.errorcode.values():
            errno_name = "EIO"          # the daemon is not trusted to name a real errno
        self.errno_name = errno_name
        self.errno = getattr(_errno, errno_name) if errno_name else None


class ClosedHandle(ValueError):
    """A call on a handle that was closed."""

    def __init__(self, message="GuestFS: method called on a closed handle"):
        super().__init__(message)
