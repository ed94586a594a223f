"""An in-memory stand-in for IpcConnection, scripted by the test.

Requests are decoded and recorded in ``sent``; each is answered by the next
scripted reply.  A :class:`Reply` may carry events, queued *before* the
response is returned, which is the order corosync uses for TRACKSTART's
snapshot (docs/protocol.md §6.6).  Events can also be pushed at any time, from
any thread.  ``fileno()`` is a real pipe that is readable exactly while
events are pending, so poll/select work on it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyquorum import QuorumSession
from pyquorum.errors import BadHandleError, ConnectionLost, CsTimeoutError
from pyquorum.messages.constants import QuorumType
from pyquorum.messages.quorum import decode_request, encode_notification, encode_response
from pyquorum.messages.types import (
    ModelGetTypeResponse,
    Notification,
    Request,
    Response,
)

OK = 1


@dataclass
class Reply:
    """A scripted answer: ``events`` are queued first, then ``response`` is returned
    (or raised, if it is an exception)."""

    response: Response | bytes | BaseException
    events: tuple[Notification | bytes, ...] = ()


class Hang:
    """A request the daemon never answers: waits out the timeout, then CsTimeoutError."""


HANG = Hang()

Script = Reply | Response | bytes | BaseException | Hang | Callable[[Request], Any]


def _bytes(item: Notification | Response | bytes) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, Notification):
        return encode_notification(item)
    return encode_response(item)


class FakeConnection:
    def __init__(self, *replies: Script) -> None:
        self.replies: deque[Script] = deque(replies)
        self.sent: list[Request] = []
        self.request_timeouts: list[float | None] = []
        self.event_timeouts: list[float | None] = []
        self._events: deque[bytes] = deque()
        self._cond = threading.Condition()
        self.closed = False
        self.lost = False
        self.close_calls = 0
        self._rfd, self._wfd = os.pipe()

    # -- scripting ---------------------------------------------------------

    def script(self, *replies: Script) -> None:
        with self._cond:
            self.replies.extend(replies)

    def push(self, *events: Notification | bytes) -> None:
        with self._cond:
            for event in events:
                self._events.append(_bytes(event))
                os.write(self._wfd, b"\0")
            self._cond.notify_all()

    def lose(self) -> None:
        """The daemon dies: pending events still come out, then ConnectionLost."""
        with self._cond:
            self.lost = True
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        return len(self._events)

    # -- the Connection protocol -----------------------------------------------

    def _check(self) -> None:
        if self.closed:
            raise BadHandleError("the connection is closed")
        if self.lost:
            raise ConnectionLost("the daemon is gone")

    def _wait(self, timeout: float | None, ready: Callable[[], bool]) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if self.closed or self.lost:
                return False
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._cond.wait(left)
        return True

    def request(self, data: bytes, timeout: float | None = None) -> bytes:
        with self._cond:
            self._check()
            req = decode_request(data)
            self.sent.append(req)
            self.request_timeouts.append(timeout)
            if not self.replies:
                raise AssertionError(f"unscripted request {req!r}")
            reply = self.replies.popleft()
            if isinstance(reply, Hang):
                self._wait(timeout, lambda: False)
                self._check()
                raise CsTimeoutError(f"no response within {timeout} s")
        if callable(reply) and not isinstance(reply, BaseException):
            reply = reply(req)
        if not isinstance(reply, Reply):
            reply = Reply(reply)
        self.push(*reply.events)
        if isinstance(reply.response, BaseException):
            raise reply.response
        return _bytes(reply.response)

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        with self._cond:
            self.event_timeouts.append(timeout)
            if self.closed:
                raise BadHandleError("the connection is closed")
            if not self._wait(timeout, lambda: bool(self._events)):
                if self.closed:
                    raise BadHandleError("the connection is closed")
                elif self.lost:
                    raise ConnectionLost("the daemon is gone")
                else:
                    return None
            os.read(self._rfd, 1)
            return self._events.popleft()

    def fileno(self) -> int:
        if self.closed:
            raise BadHandleError("the connection is closed")
        return self._rfd

    def close(self) -> None:
        with self._cond:
            self.close_calls += 1
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()
        os.close(self._rfd)
        os.close(self._wfd)


def v1_init(quorum_type: QuorumType = QuorumType.SET) -> Response:
    return ModelGetTypeResponse(OK, quorum_type)


def open_v1(fake: FakeConnection | None = None, *replies: Script, **kw: Any) -> QuorumSession:
    """A V1 session over ``fake`` (made if None) after a scripted MODEL_GETTYPE."""
    if fake is None:
        fake = FakeConnection()
    fake.replies.appendleft(v1_init())
    fake.script(*replies)
    return QuorumSession(connection=fake, **kw)


def connection_of(session: QuorumSession) -> FakeConnection:
    conn = session._conn
    assert isinstance(conn, FakeConnection)
    return conn
