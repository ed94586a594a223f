"""``pyquorum watch``: print quorum and node list events as they come.

``--votequorum`` watches votequorum too, with the same tracking flags, and
prints its events in the same stream, in the order they are received.

Exit 0 when ``--count`` events were printed, the stream went quiet for
``--timeout`` seconds or stdout's reader went away; 1 on failure.
"""

from __future__ import annotations

import argparse

from pyquorum.commands._common import Output, add_watch_options

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    add_watch_options(parser)
    parser.add_argument(
        "--votequorum", action="store_true",
        help="add votequorum's events: votequorum_quorum (node states), votequorum_nodelist "
        "and expected_votes (with --reconnect, votequorum is watched again after each "
        "reconnection)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.commands._watching import run_watch

    return run_watch(args, out)
