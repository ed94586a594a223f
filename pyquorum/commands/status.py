"""``pyquorum status``: quorum type, quorate, ring id and members, once.

Exit 0 quorate, 2 not quorate (as ``corosync-quorumtool -s``), 1 on failure.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pyquorum.commands._common import (
    DEFAULT_TIMEOUT,
    EXIT_NOT_QUORATE,
    EXIT_OK,
    Output,
    positive_float,
)

if TYPE_CHECKING:
    from pyquorum import QuorumSession
    from pyquorum.formatting import Status

__all__ = ["configure", "read_status", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT:g})",
    )


def read_status(session: QuorumSession, timeout: float | None) -> Status:
    """One consistent snapshot from TRACKSTART(CURRENT) on a V1 session:
    the QUORUM notification carries quorate, ring id and members together."""
    from pyquorum import QuorumNotification, Track
    from pyquorum.errors import CsTimeoutError
    from pyquorum.formatting import Status

    session.trackstart(Track.CURRENT, timeout=timeout)
    for event in session.events(timeout=timeout):
        if isinstance(event, QuorumNotification):
            return Status(session.quorum_type, bool(event.quorate), event.ring_id, event.members)
    raise CsTimeoutError(f"status: corosync sent no quorum snapshot within {timeout} s")


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum import Model
    from pyquorum.commands._watching import open_session
    from pyquorum.formatting import status_to_json, status_to_text

    hint = "status needs corosync 3.1 or later (pyquorum watch --model v0 works)"
    with open_session(Model.V1, args.timeout, hint) as session:
        status = read_status(session, args.timeout)
    out.line(status_to_json(status) if args.json else status_to_text(status))
    return EXIT_OK if status.quorate else EXIT_NOT_QUORATE
