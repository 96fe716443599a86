"""Asking the user something on the controlling terminal, whatever standard input is: keys
and passphrases for the shell and the tools."""

import getpass
import io
import os


def ask(prompt, echo=False):
    """The line typed after PROMPT on /dev/tty (not shown unless ECHO), or None when there
    is no terminal to ask on."""
    try:
        # unbuffered: open("/dev/tty", "r+") fails, a terminal cannot seek
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    with io.FileIO(fd, "r+") as tty:
        if not echo:
            return getpass.getpass(prompt)          # on /dev/tty, echo off
        tty.write(prompt.encode())
        return tty.readline().decode("utf-8", "surrogateescape").rstrip("\r\n")
