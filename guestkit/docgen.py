"""Write the API reference (docs/api.md) from the action table.

    python -m guestkit.docgen > docs/api.md
"""

import sys

from .actions import ACTIONS
from .actions.table import CONFIG, LAUNCHED


def _sig(a):
    parts = [k.name for k in a.args] + ["%s=None" % k.name for k in a.optargs]
    return "%s(%s)" % (a.name, ", ".join(parts))


def render():
    out = ["# guestkit API reference", "",
           "Generated from the action table (`guestkit/actions/`) by "
           "`python -m guestkit.docgen`; do not edit by hand.", "",
           "Every action is a method of `guestkit.GuestFS` and a command of the `guestkit` "
           "shell (dashes or underscores), and a coroutine method of `guestkit.aio.GuestFS` "
           "(the guide's section \"asyncio\"); actions with a host file also have a "
           "streaming twin `NAME_iter` there.", ""]
    for name in sorted(ACTIONS):
        a = ACTIONS[name]
        out.append("## %s" % name)
        out.append("")
        out.append("`g.%s` → %s" % (_sig(a), a.ret.label))
        out.append("")
        if a.args or a.optargs:
            for k in a.args:
                out.append("- `%s` (%s)" % (k.name, k.label))
            for k in a.optargs:
                out.append("- `%s` (optional, %s)" % (k.name, k.label))
            out.append("")
        where = "runs in the appliance" if a.daemon else "runs in the library"
        state = {CONFIG: "; only before launch", LAUNCHED: "; needs a launched handle"}.get(
            a.state, "")
        extra = []
        if a.aliases:
            extra.append("aliases: %s" % ", ".join(a.aliases))
        if a.fish_alias:
            extra.append("shell: %s" % ", ".join(a.fish_alias))
        if a.progress:
            extra.append("sends progress events; user_cancel stops it")
        if a.daemon and a.streams:
            extra.append("asyncio: `%s_iter` %s" % (a.name, "streams its output as an async "
                         "iterator" if a.streams[0].stream == "out" else
                         "reads its input from an async iterable"))
        out.append(a.doc)
        out.append("")
        out.append("*%s%s%s*" % (where, state, "; " + "; ".join(extra) if extra else ""))
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
