"""Write guestkit/handle.pyi, the type stub of GuestFS, from the action table.

    python -m guestkit.stubgen > guestkit/handle.pyi

GuestFS's action methods are made at import time, which type checkers cannot see; the stub
declares each of them with the annotations of its runtime signature, so mypy and IDEs check
calls (py.typed marks the package as typed).  A unit test checks the stub is current.
"""

import inspect
import sys

from .actions import ACTIONS, ALIASES
from .handle import return_annotation, signature


def _t(ann):
    if ann is None:
        return "None"
    return inspect.formatannotation(ann)


def _method(action):
    sig = signature(action)
    parts = ["self"]
    for p in list(sig.parameters.values())[1:]:
        text = "%s: %s" % (p.name, _t(p.annotation))
        if p.default is None:
            text += " = None"
        parts.append(text)
    head = "    def %s(" % action.name
    tail = ") -> %s: ..." % _t(return_annotation(action.ret))
    line = head + ", ".join(parts) + tail
    if len(line) <= 100:
        return [line]
    lines = [head]
    for text in parts:
        lines.append("        %s," % text)
    lines.append("    " + tail)
    return lines


def render():
    out = [
        "# The type stub of guestkit.handle, generated from the action table by",
        "# python -m guestkit.stubgen > guestkit/handle.pyi; do not edit by hand.",
        "from typing import Any, Callable, Dict, List, Optional, Tuple, Union",
        "",
        "STATE_CONFIG: int",
        "STATE_LAUNCHING: int",
        "STATE_READY: int",
        "STATE_DEAD: int",
        "MAX_DRIVES: int",
        "MAX_SOCKET_BASE: int",
        "",
        "",
        "class GuestFS:",
        "    def __init__(self, python_return_dict: bool = False, environment: bool = True,",
        "                 close_on_exit: bool = True) -> None: ...",
        "    def __enter__(self) -> GuestFS: ...",
        "    def __exit__(self, *exc: Any) -> bool: ...",
        "    def set_event_callback(self, cb: Callable[[int, int, bytes, List[int]], Any],",
        "                           event_bitmask: int) -> int: ...",
        "    def delete_event_callback(self, event_handle: int) -> None: ...",
        "    @staticmethod",
        "    def event_to_string(events: int) -> str: ...",
        "    def last_errno(self) -> int: ...",
    ]
    for name in sorted(ACTIONS):
        out += _method(ACTIONS[name])
    for alias in sorted(ALIASES):
        out.append("    %s = %s" % (alias, ALIASES[alias]))
    out += ["", "", "def __getattr__(name: str) -> Any: ...", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
