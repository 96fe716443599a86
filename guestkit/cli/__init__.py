"""The ``guestkit`` shell: guestfish-style commands made from the action table.

    guestkit [options] [CMD ARGS... [: CMD ARGS...]...]

Modules: ``options`` (command-line options and the handle set-up they mean), ``uri``
(``-a URI``), ``lexer`` (one line of guestfish's language: quoting, comments, ``!``,
``<!``, pipes, ``-CMD``), ``parse`` (splitting on ``:``, finding actions, turning words
into arguments, size suffixes), ``builtins`` (the shell's own commands: echo, time, glob,
edit, ...), ``handlers`` (``event`` handlers), ``prepared`` (``-N`` disks), ``winpath``
(``win:`` paths), ``remote`` (``--listen``/``--remote``), ``output`` (printing a result by
its return kind), ``helptext`` (help and usage), ``shell`` (running commands on the
handle), ``script`` (running the lines of a script), ``interactive`` (prompt, history,
completion) and ``main`` (the entry point).
"""


class CliError(Exception):
    """A mistake on the shell's side (unknown command, wrong arguments, bad option)."""
