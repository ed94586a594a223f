"""The front-end bases know no service: a toy service built from them alone.

The toy's initialize sends nothing (like votequorum's and cmap's), its one
call echoes, and its events are strings.  Both bases drive it over a tiny
in-memory connection, which is what "Adding a service" in DESIGN.md promises.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections import deque
from collections.abc import Generator
from typing import Any

import pytest

from pyquorum import BadHandleError, DispatchMode, ExistError, RemoteProtocolError
from pyquorum.frontend.asyncio import AsyncSession
from pyquorum.frontend.blocking import BlockingSession
from pyquorum.frontend.core import Operation, SessionLifecycle, expect
from pyquorum.timeouts import DEFAULT, Timeout


class Echo:
    def __init__(self, error: int, text: str) -> None:
        self.error, self.text = error, text


def decode(data: bytes) -> object:
    if len(data) < 4:
        raise RemoteProtocolError("short", data=data)
    (error,) = struct.unpack("<I", data[:4])
    return Echo(error, data[4:].decode())


class ToyCore(SessionLifecycle):
    def initialize(self) -> Operation[None]:
        self.check_new("initialize")
        return Operation("initialize", self._init())

    def _init(self) -> Generator[bytes, bytes, None]:
        self.mark_ready()
        return
        yield b""  # a generator that asks nothing

    def echo(self, text: str) -> Operation[str]:
        self.check_ready("echo")
        return Operation("echo", self._echo(text))

    def _echo(self, text: str) -> Generator[bytes, bytes, str]:
        data = yield text.encode()
        return expect(data, Echo, "ECHO", decode).text

    def handle_event(self, data: bytes) -> str:
        self.check_ready("dispatch")
        return data.decode()


class ToyConnection:
    """Answers CS_OK and the request back (CS_ERR_EXIST for "exists"); events on demand."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.events: deque[bytes] = deque()
        self.rfd, self.wfd = os.pipe()
        self.closed = False

    def push(self, event: str) -> None:
        self.events.append(event.encode())
        os.write(self.wfd, b"\0")

    def request(self, data: bytes, timeout: float | None) -> bytes:
        self.sent.append(data)
        return struct.pack("<I", 14 if data == b"exists" else 1) + data

    def recv_event(self, timeout: float | None) -> bytes | None:
        if not self.events:
            return None
        os.read(self.rfd, 1)
        return self.events.popleft()

    def fileno(self) -> int:
        return self.rfd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.rfd)
            os.close(self.wfd)


class ToySession(BlockingSession[str]):
    _core: ToyCore

    def __init__(self, conn: ToyConnection, **kw: Any) -> None:
        self.delivered: list[str] = []
        super().__init__(ToyCore(), service="toy", connection=conn, **kw)

    def echo(self, text: str, *, timeout: Timeout = DEFAULT) -> str:
        return self._run(self._core.echo(text), timeout)

    def _deliver(self, event: str) -> None:
        self.delivered.append(event)


class AsyncToySession(AsyncSession[str]):
    _core: ToyCore

    async def echo(self, text: str, *, timeout: Timeout = DEFAULT) -> str:
        return await self._run(self._core.echo(text), timeout)


def test_a_blocking_toy_session() -> None:
    conn = ToyConnection()
    with ToySession(conn, timeout=1) as session:
        assert conn.sent == []  # initialize asked nothing
        assert session.echo("hello") == "hello"
        with pytest.raises(ExistError, match="ECHO"):
            session.echo("exists")
        conn.push("one")
        conn.push("two")
        assert session.dispatch(DispatchMode.ALL) == 2
        assert session.delivered == ["one", "two"]
        conn.push("three")
        assert list(session.events(timeout=0)) == ["three"]
    assert conn.closed
    with pytest.raises(BadHandleError):
        session.echo("late")


def test_an_asyncio_toy_session() -> None:
    conn = ToyConnection()

    async def main() -> None:
        session = AsyncToySession(ToyCore(), service="toy", connection_factory=lambda: conn)
        async with session:
            assert await session.echo("hi") == "hi"
            conn.push("event")
            assert await session.next_event(1) == "event"
        assert conn.closed

    asyncio.run(asyncio.wait_for(main(), 10))


def test_an_exchange_is_one_request_and_its_answer() -> None:
    """Exchange keeps Operation's contract without a generator: one request, the
    result from the answer, an error from the answer ends it, no second feed."""
    from pyquorum.errors import LocalProtocolError
    from pyquorum.frontend.core import Exchange

    op = Exchange("double", b"21", lambda data: 2 * int(data))
    assert (op.request, op.done) == (b"21", False)
    with pytest.raises(LocalProtocolError, match="no result"):
        _ = op.result
    op.feed(b"21")
    assert (op.done, op.result) == (True, 42)
    with pytest.raises(LocalProtocolError, match="already complete"):
        op.feed(b"1")

    def refuse(data: bytes) -> int:
        raise ExistError(f"refused {data!r}")

    failing = Exchange("refuse", b"x", refuse)
    with pytest.raises(ExistError):
        failing.feed(b"y")
    assert failing.done
    with pytest.raises(LocalProtocolError, match="already complete"):
        failing.feed(b"y")
