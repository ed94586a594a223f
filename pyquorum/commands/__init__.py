"""Subcommands of ``pyquorum`` beyond status and watch, one module each.

Every module here that defines ``register(sub)`` is picked up by
:func:`pyquorum.cli.build_parser`: ``register`` adds its parser to the
argparse subparsers ``sub`` and sets ``run=fn(args, out) -> int`` on it
(``out.line(text) -> bool`` prints one flushed line; False once stdout is gone).
"""
