"""``pyquorum status``: a superset of ``corosync-quorumtool -s``, once.

Exit 0 quorate, 2 not quorate (as ``corosync-quorumtool -s``), 1 on failure.

The reading (cmap, quorum and votequorum, one coherent snapshot) is
:mod:`pyquorum.commands._status`, shared with ``pyquorum record --status``
and ``pyquorum replay``, which print the same lines from a capture.
"""

from __future__ import annotations

import argparse

from pyquorum.commands._common import DEFAULT_TIMEOUT, Output, positive_float

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print this node's view of quorum: what corosync-quorumtool -s prints "
        "(provider, node id, ring id, votes, quorum, flags, members with votes and "
        "names), or one JSON object with --json.  Exit 0 quorate, 2 not quorate."
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.commands._status import run_status

    return run_status(args, out)
