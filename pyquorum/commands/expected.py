"""``pyquorum expected N``: set the cluster's expected votes (``corosync-quorumtool -e N``).

Prints nothing and exits 0 when votequorum accepted it; 1 with one line on
stderr otherwise (votequorum refuses a count that the votes present could
not reach, or one that would lose quorum).  The change travels as a cluster
message: ``pyquorum status`` shows it a moment later.
"""

from __future__ import annotations

import argparse

from pyquorum.commands._common import DEFAULT_TIMEOUT, EXIT_OK, Output, positive_float, positive_int

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Set the cluster's expected votes (corosync-quorumtool -e)."
    parser.add_argument("expected_votes", type=positive_int, metavar="N")
    parser.add_argument(
        "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.commands._voting import REFUSALS, open_votequorum, refused

    with open_votequorum(args.timeout) as session:
        try:
            session.setexpected(args.expected_votes)
        except REFUSALS as exc:
            raise refused(exc, f"expected votes {args.expected_votes}") from exc
    return EXIT_OK
