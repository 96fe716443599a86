"""The ``guestkit`` shell: guestfish-style commands made from the action table.

    guestkit [options] [CMD ARGS... [: CMD ARGS...]...]

Modules: ``options`` (command-line options and the handle set-up they mean), ``parse``
(splitting on ``:``, finding actions, turning words into arguments), ``output`` (printing a
result by its return kind), ``helptext`` (help and usage made from the table), ``shell`` (the
command loop, interactive or scripted) and ``main`` (the console-script entry point).
"""


class CliError(Exception):
    """A mistake on the shell's side (unknown command, wrong arguments, bad option)."""
