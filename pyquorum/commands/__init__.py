"""The subcommands of ``pyquorum``, one module each.

:data:`pyquorum.cli.COMMANDS` lists them; a module here is imported only
when its command runs.  Each provides ``configure(parser)`` (its options,
added to its argparse parser) and ``run(args, out) -> int`` (the exit
status; ``out.line(text) -> bool`` prints one flushed line, False once
stdout's reader has gone).  What several commands share lives in the
``_``-prefixed modules: :mod:`._common` (stdlib only: exit codes, output,
option types, watch's options) and :mod:`._watching` (opening a session,
printing events, the watch loop).  A subcommand module imports no other
subcommand module.

A new command is a module here with ``configure`` and ``run`` plus one row
in :data:`pyquorum.cli.COMMANDS` (tests/cli checks that both exist).  Keep
its module-level imports to what ``configure`` needs when the command is
meant to start fast (status, watch): the rest goes inside ``run``.
"""
