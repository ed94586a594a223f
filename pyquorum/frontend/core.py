"""The service-independent rules of a session, without I/O.

Theory of operation
-------------------
A session has three states::

    NEW --initialize completes--> READY --close()--> CLOSED
      \\__________________________ close() _________/

:class:`SessionLifecycle` keeps that state; a service's core subclasses it.

**Requests.**  Every call that talks to the daemon is an :class:`Operation`.
The front end sends ``op.request``, feeds the one response's bytes to
``op.feed()``, and repeats while ``not op.done``; then ``op.result`` is the
answer.  Most operations are one exchange; a multi-step one (the quorum
service's AUTO initialize) sends a follow-up request on the same
connection.  A cs_error_t other than CS_OK is raised as its
:mod:`pyquorum.errors` class from ``feed()`` (see :func:`expect`).
Operations carry their own state, so several can be in flight in different
threads; the connection serialises the exchanges.

**Events.**  The front end receives an event's bytes and hands them to the
core's ``handle_event``, which decodes and checks them.

**Dispatch.**  :data:`DISPATCH_RULES` is corosync's ``*_dispatch`` loop
(the same in libquorum, libvotequorum and libcmap) as a table: for each
:class:`DispatchMode`, whether to wait for an event, whether to stop after
one, and what "nothing pending" means.

Nothing here blocks, sleeps, or touches a file descriptor, so the blocking
front end (:mod:`pyquorum.frontend.blocking`) and the asyncio one
(:mod:`pyquorum.frontend.asyncio`) drive the same code.  In outline::

    op = core.initialize()
    while not op.done:
        op.feed(conn.request(op.request, timeout))
    rule = dispatch_rule(mode)              # wait? one? what does "empty" mean?
    data = conn.recv_event(timeout if rule.wait else 0)
    event = core.handle_event(data)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

from pyquorum._frozen import frozen
from pyquorum.errors import (
    BadHandleError,
    InvalidParamError,
    LocalProtocolError,
    RemoteProtocolError,
    raise_for_code,
)
from pyquorum.messages.constants import DispatchMode

__all__ = [
    "DISPATCH_RULES",
    "DispatchRule",
    "Exchange",
    "OnEmpty",
    "Operation",
    "ServiceCore",
    "SessionLifecycle",
    "SessionState",
    "dispatch_rule",
    "expect",
]

T = TypeVar("T")
E_co = TypeVar("E_co", covariant=True)


class SessionState(enum.Enum):
    NEW = "new"
    READY = "ready"
    CLOSED = "closed"


class SessionLifecycle:
    """NEW → READY → CLOSED, and the checks every call makes against it."""

    def __init__(self) -> None:
        self.state = SessionState.NEW

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    def check_open(self, what: str) -> None:
        """Raise BadHandleError for calls on a closed session (CS_ERR_BAD_HANDLE in C)."""
        if self.state is SessionState.CLOSED:
            raise BadHandleError(f"{what}: the session is finalized")

    def check_ready(self, what: str) -> None:
        self.check_open(what)
        if self.state is not SessionState.READY:
            raise LocalProtocolError(f"{what}: the session is not initialized yet")

    def check_new(self, what: str) -> None:
        self.check_open(what)
        if self.state is not SessionState.NEW:
            raise LocalProtocolError(f"{what}: the session is already initialized")

    def mark_ready(self) -> None:
        """initialize succeeded; a close() from another thread meanwhile wins."""
        if self.state is SessionState.NEW:
            self.state = SessionState.READY

    def close(self) -> bool:
        """Mark the session closed; False if it already was."""
        if self.state is SessionState.CLOSED:
            return False
        self.state = SessionState.CLOSED
        return True


class ServiceCore(Protocol[E_co]):
    """What the front-end bases need from a service's core.

    ``initialize`` is the operation that makes a NEW session READY;
    ``handle_event`` turns one event's bytes into the service's typed event.
    """

    state: SessionState

    @property
    def closed(self) -> bool: ...

    def check_open(self, what: str) -> None: ...

    def close(self) -> bool: ...

    def initialize(self) -> Operation[Any]: ...

    def handle_event(self, data: bytes) -> E_co: ...


class Operation(Generic[T]):
    """One call's exchanges with the daemon, driven by a front end.

    ``request`` is the next request's bytes; ``feed(response)`` interprets
    the response and either finishes (``done``, ``result``) or replaces
    ``request`` with a follow-up.  An exception from ``feed`` ends the
    operation.  Internally a generator that yields requests and is sent
    responses, which keeps multi-step calls linear; one that yields nothing
    is done at once (a front end then sends nothing).
    """

    __slots__ = ("_result", "_steps", "done", "name", "request")

    def __init__(self, name: str, steps: Generator[bytes, bytes, T]) -> None:
        self.name = name
        self._steps = steps
        self.done = False
        self._result: T | None = None
        try:
            self.request: bytes = next(steps)
        except StopIteration as stop:  # nothing to ask (an initialize without exchange)
            self.request = b""
            self.done = True
            self._result = stop.value

    def feed(self, response: bytes) -> None:
        """Hand over the response to ``request``; raises the daemon's error, if any."""
        if self.done:
            raise LocalProtocolError(f"{self.name}: operation already complete")
        try:
            self.request = self._steps.send(response)
        except StopIteration as stop:
            self.done = True
            self._result = stop.value
        except BaseException:
            self.done = True
            raise

    @property
    def result(self) -> T:
        if not self.done:
            raise LocalProtocolError(f"{self.name}: no result before the last response")
        return self._result  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<Operation {self.name} {'done' if self.done else 'pending'}>"


class Exchange(Operation[T]):
    """An :class:`Operation` of exactly one exchange: ``request``, then
    ``finish(response)`` is the result (or raises).  The same contract without
    a generator, which is a good part of a getquorate's cost in the session."""

    __slots__ = ("_finish",)

    def __init__(self, name: str, request: bytes, finish: Callable[[bytes], T]) -> None:
        self.name = name
        self.request = request
        self.done = False
        self._result = None
        self._finish = finish

    def feed(self, response: bytes) -> None:
        if self.done:
            raise LocalProtocolError(f"{self.name}: operation already complete")
        self.done = True  # an exception from finish ends the operation too
        self._result = self._finish(response)


R = TypeVar("R")


def expect(
    data: bytes,
    cls: type[R],
    what: str,
    decode: Callable[[bytes], object],
    error_types: tuple[type, ...] = (),
) -> R:
    """Decode a response with the service's ``decode``, raise its cs_error_t,
    and check it answers ``what``.

    ``cls`` is the expected response; ``error_types`` are the service's
    generic error replies (a header-only answer, e.g. to an unknown
    request), whose error is raised too.  Both must carry ``error``.
    """
    resp = decode(data)
    if isinstance(resp, cls):
        raise_for_code(resp.error, what)  # type: ignore[attr-defined]
        return resp
    if error_types and isinstance(resp, error_types):
        raise_for_code(resp.error, what)  # type: ignore[attr-defined]
    raise RemoteProtocolError(
        f"{what}: expected {cls.__name__}, got {type(resp).__name__} with CS_OK",
        data=bytes(data),
    )


class OnEmpty(enum.Enum):
    """What a dispatch does when no event is pending (or none came in time)."""

    RETURN = "return"  # stop quietly
    TRY_AGAIN = "try_again"  # raise TryAgainError (CS_ERR_TRY_AGAIN)
    TIMEOUT = "timeout"  # raise CsTimeoutError: the caller wanted one event


@frozen
class DispatchRule:
    """One row of :data:`DISPATCH_RULES`.

    ``wait``: wait for events (ONE, BLOCKING) or take only what is pending
    (ALL, ONE_NONBLOCKING: the C libraries' timeout 0).  ``one``: stop
    after one event.  ``on_empty``: what nothing pending (or nothing before
    the timeout) means.
    """

    wait: bool
    one: bool
    on_empty: OnEmpty


#: corosync's dispatch loop (lib/quorum.c, lib/votequorum.c, lib/cmap.c),
#: as a table (docs/protocol.md §6.5).
DISPATCH_RULES: dict[DispatchMode, DispatchRule] = {
    DispatchMode.ONE: DispatchRule(wait=True, one=True, on_empty=OnEmpty.TIMEOUT),
    DispatchMode.ALL: DispatchRule(wait=False, one=False, on_empty=OnEmpty.RETURN),
    DispatchMode.BLOCKING: DispatchRule(wait=True, one=False, on_empty=OnEmpty.RETURN),
    DispatchMode.ONE_NONBLOCKING: DispatchRule(wait=False, one=True, on_empty=OnEmpty.TRY_AGAIN),
}


def dispatch_rule(mode: DispatchMode | int) -> DispatchRule:
    """The rule for ``mode``; anything else is CS_ERR_INVALID_PARAM, as in C."""
    try:
        return DISPATCH_RULES[DispatchMode(mode)]
    except ValueError:
        raise InvalidParamError(f"dispatch: {mode!r} is not a DispatchMode") from None
