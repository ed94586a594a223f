"""Opening a session and printing its events: what status, watch, record and replay share.

Imported by those commands when they run, never to build the parser: it
brings in the client (:class:`~pyquorum.QuorumSession` and the messages).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pyquorum import Model, QuorumSession, Track
from pyquorum.commands._common import DEFAULT_TIMEOUT, EXIT_OK, Failure, Output
from pyquorum.errors import InvalidParamError
from pyquorum.formatting import PrintableEvent, event_to_json, event_to_text

if TYPE_CHECKING:
    from pyquorum.frontend.blocking import Connection
    from pyquorum.reconnect import ReconnectingSession
    from pyquorum.services.votequorum.session import VotequorumSession

__all__ = ["MODELS", "merge_events", "open_session", "print_events", "run_watch"]

#: ``--model`` choices (:data:`pyquorum.commands._common.MODEL_NAMES`) as models.
MODELS = {"v1": Model.V1, "v0": Model.V0, "auto": Model.AUTO}


def open_session(
    model: Model, timeout: float, v1_hint: str, connection: Connection | None = None,
    *, max_msg_size: int | None = None,
) -> QuorumSession:
    """A session (over ``connection``, else connected with ``max_msg_size``, None:
    libquorum's); a corosync without the V1 model is a :class:`Failure` saying ``v1_hint``."""
    try:
        if connection is None:  # (tests replace QuorumSession with a callable of two args)
            if max_msg_size is None:
                return QuorumSession(model, timeout=timeout)
            return QuorumSession(model, timeout=timeout, max_msg_size=max_msg_size)
        return QuorumSession(model, timeout=timeout, connection=connection)
    except InvalidParamError as exc:
        if model is Model.V1:  # the only InvalidParam of initialize: MODEL_GETTYPE unknown
            raise Failure(
                f"this corosync does not support the V1 quorum model (it predates 3.1); {v1_hint}"
            ) from exc
        raise


def print_events(
    events: Iterable[PrintableEvent],
    out: Output,
    *,
    as_json: bool,
    count: int | None = None,
    timeout: float | None = None,
) -> int:
    """Print events until ``count`` of them or the stream ends; fewer than
    ``count`` is a failure (``timeout`` only names the wait in its message)."""
    fmt = event_to_json if as_json else event_to_text
    line = out.line
    if count is None:  # (replay's loop: no counting)
        for event in events:
            if not line(fmt(event)):
                return EXIT_OK
        return EXIT_OK
    seen = 0
    for event in events:
        if not line(fmt(event)):
            return EXIT_OK
        seen += 1
        if count is not None and seen >= count:
            return EXIT_OK
    if count is not None and seen < count:
        raise Failure(
            f"only {seen} of {count} events came before {timeout} s passed "
            "without one; raise --timeout or lower --count"
        )
    return EXIT_OK


def run_watch(
    args: argparse.Namespace, out: Output, connect: Callable[[str], Connection] | None = None
) -> int:
    """``pyquorum watch`` with the options of
    :func:`~pyquorum.commands._common.add_watch_options`; its sessions over
    the connections ``connect(service)`` makes when given (``pyquorum
    record`` passes one making recording connections), the reconnecting
    one's new connections too."""
    model = MODELS[args.model]
    request_timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    flags = Track.CHANGES_ONLY if args.changes_only else Track.CURRENT | Track.CHANGES
    votequorum = getattr(args, "votequorum", False)
    if getattr(args, "reconnect", False):
        return _watch_reconnecting(args, out, model, flags, request_timeout, connect,
                                   votequorum=votequorum)
    connection = connect("quorum") if connect is not None else None
    with open_session(model, request_timeout, "use --model auto or --model v0",
                      connection) as session:
        _say_if_fell_back(model, session.model)
        session.trackstart(flags)
        if not votequorum:
            return print_events(session.events(timeout=args.timeout), out, as_json=args.json,
                                count=args.count, timeout=args.timeout)
        from pyquorum.commands._voting import open_votequorum

        with open_votequorum(request_timeout, connect) as vq_session:
            vq_session.trackstart(flags)
            merged = merge_events([session, vq_session], args.timeout)
            return print_events(merged, out, as_json=args.json, count=args.count,
                                timeout=args.timeout)


class _EventSource(Protocol):
    def fileno(self) -> int: ...

    def events(self, timeout: float | None = None) -> Iterator[Any]: ...


def merge_events(sources: Sequence[_EventSource], timeout: float | None) -> Iterator[Any]:
    """The events of several sessions as one stream, in the order they are received:
    each session's pending events are taken (without waiting) whenever its fd is
    readable.  Ends after ``timeout`` seconds without an event from any (None: never)."""
    import select
    import time

    fds = [source.fileno() for source in sources]
    while True:
        got = False
        for source in sources:
            for event in source.events(timeout=0):
                got = True
                yield event
        if got:
            continue
        ready, _, _ = select.select(fds, [], [], timeout)
        if not ready:
            return
        # A readable fd whose session had nothing yet (a wake-up racing the event):
        # look again shortly rather than spin.
        time.sleep(0.001)


def _say_if_fell_back(requested: Model, got: Model) -> None:
    if requested is Model.AUTO and got is Model.V0:
        print(
            "pyquorum: corosync predates the V1 model; watching with V0 (no node lists)",
            file=sys.stderr,
        )


def _watch_reconnecting(
    args: argparse.Namespace, out: Output, model: Model, flags: Track, request_timeout: float,
    connect: Callable[[str], Connection] | None, *, votequorum: bool = False,
) -> int:
    """``watch --reconnect``: connection_lost / reconnected lines, then the new
    snapshot (with ``votequorum``, votequorum's too: see :func:`_with_votequorum`)."""
    from pyquorum import Reconnected
    from pyquorum.reconnect import ReconnectingSession

    factory = None if connect is None else (lambda: connect("quorum"))
    with ReconnectingSession(model, flags, timeout=request_timeout,
                             connection_factory=factory) as session:
        first = session.session
        said = first is not None and first.model is Model.V0
        if first is not None:
            _say_if_fell_back(model, first.model)
        stream: Iterator[Any] = (
            _with_votequorum(session, flags, args.timeout, request_timeout, connect)
            if votequorum else session.events(timeout=args.timeout)
        )

        def items() -> Iterator[PrintableEvent]:
            # A restarted corosync may be another version: say so once.
            nonlocal said
            for item in stream:
                if isinstance(item, Reconnected) and item.model is Model.V0 and not said:
                    _say_if_fell_back(model, item.model)
                    said = True
                yield item

        return print_events(items(), out, as_json=args.json, count=args.count,
                            timeout=args.timeout)


def _with_votequorum(
    quorum: ReconnectingSession, flags: Track, timeout: float | None, request_timeout: float,
    connect: Callable[[str], Connection] | None,
) -> Iterator[Any]:
    """``watch --votequorum --reconnect``: the reconnecting quorum session's items
    and a votequorum session's events, in the order received; the votequorum
    session is opened again (and tracks again) after each ``reconnected``.

    The quorum side says when corosync went away and came back; a votequorum
    session that loses its connection first just waits for that.  Ends after
    ``timeout`` seconds without an item (None: never)."""
    import select

    from pyquorum import ConnectionLostEvent, Reconnected
    from pyquorum.commands._voting import open_votequorum
    from pyquorum.errors import ConnectionLost

    def reopen() -> VotequorumSession:
        session = open_votequorum(request_timeout, connect)
        try:
            session.trackstart(flags)
        except BaseException:
            session.close()
            raise
        return session

    votequorum: VotequorumSession | None = reopen()
    try:
        while True:
            current = quorum.session
            if current is None or votequorum is None:
                # Lost: the supervisor reports it (if it has not yet), reconnects
                # with its backoff, then votequorum is opened on the new daemon.
                if votequorum is not None:
                    votequorum.close()
                    votequorum = None
                for item in quorum.events(timeout=timeout):
                    yield item
                    if isinstance(item, Reconnected):
                        break
                else:
                    return
                votequorum = reopen()
                continue
            ready, _, _ = select.select([current.fileno(), votequorum.fileno()], [], [], timeout)
            if not ready:
                return
            for item in quorum.events(timeout=0):
                yield item
                if isinstance(item, ConnectionLostEvent):
                    break  # (leaving the supervisor before it tries to reconnect)
            if quorum.session is None:
                continue
            try:
                yield from votequorum.events(timeout=0)
            except ConnectionLost:
                votequorum.close()
                votequorum = None
    finally:
        if votequorum is not None:
            votequorum.close()
