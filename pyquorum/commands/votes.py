"""``pyquorum votes NODEID N``: set a node's votes (``corosync-quorumtool -v N -n NODEID``).

Prints nothing and exits 0 when votequorum accepted it; 1 with one line on
stderr otherwise (an unknown node, a count votequorum refuses).  Like
``expected``, the change reaches ``pyquorum status`` a moment later.
"""

from __future__ import annotations

import argparse

from pyquorum.commands._common import DEFAULT_TIMEOUT, EXIT_OK, Output, positive_float

__all__ = ["configure", "run"]


def _node_id(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("must be a node id (0 .. 2**32-1; 0 is this node)")
    return value


def _votes(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("must be 0 .. 2**32-1")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Set a node's votes (corosync-quorumtool -v N -n NODEID)."
    parser.add_argument("nodeid", type=_node_id, metavar="NODEID",
                        help="the node (decimal or 0x hex; 0 is this node)")
    parser.add_argument("votes", type=_votes, metavar="N")
    parser.add_argument(
        "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.commands._voting import REFUSALS, open_votequorum, refused

    with open_votequorum(args.timeout) as session:
        try:
            session.setvotes(args.nodeid, args.votes)
        except REFUSALS as exc:
            raise refused(exc, f"{args.votes} votes for node {args.nodeid}") from exc
    return EXIT_OK
