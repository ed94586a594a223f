"""Both reconnecting supervisors against the fake server: no corosync needed.

A fake listens under a name of its own in this process's network
namespace (``netns=None``).  "Restart" is stopping it and starting another
under the same name; while none listens, connecting is refused; a stalled
one never answers.  Each scenario runs on the blocking and the asyncio
supervisor, which share one policy and must behave the same.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from pyquorum import (
    AsyncReconnectingSession,
    Backoff,
    ConnectionLost,
    ConnectionLostEvent,
    CorosyncNotRunning,
    CsTimeoutError,
    Model,
    NodelistNotification,
    QuorumNotification,
    QuorumType,
    Reconnected,
    ReconnectingSession,
    RingId,
    Track,
)
from pyquorum.fake import Script
from pyquorum.reconnect import StreamItem
from pyquorum.testing.fake import FakeQuorumServer

BEFORE = Script.build([1, 2, 3], ring_id=RingId(1, 12), name="before")
AFTER = Script.build([1, 2], ring_id=RingId(1, 16), name="after")
FAST = Backoff(initial=0.05, maximum=0.2)


class Servers:
    """Fake servers, one at a time, all under one name."""

    def __init__(self) -> None:
        self.name = f"pyquorum-test-{uuid.uuid4().hex[:12]}"
        self.all: list[FakeQuorumServer] = []

    def start(self, script: Script = BEFORE, **options: Any) -> FakeQuorumServer:
        server = FakeQuorumServer(script, name=self.name, netns=None, **options)
        self.all.append(server)
        return server.start()

    def start_later(self, delay: float, script: Script = AFTER) -> threading.Timer:
        timer = threading.Timer(delay, self.start, (script,))
        timer.start()
        return timer

    def stop(self) -> None:
        self.all[-1].stop()


@pytest.fixture
def servers() -> Iterator[Servers]:
    s = Servers()
    yield s
    for server in s.all:
        server.stop()


class Stream:
    """One supervisor, driven the same way whatever its flavour (blocking or asyncio)."""

    def __init__(self, flavour: str, servers: Servers, **options: Any) -> None:
        self.flavour = flavour
        options.setdefault("backoff", FAST)
        options.setdefault("timeout", 2.0)
        self.options = dict(options, service=servers.name)
        self.loop = asyncio.new_event_loop()
        self.sync: ReconnectingSession | None = None
        self.aio: AsyncReconnectingSession | None = None
        self._sync_it: Iterator[StreamItem] | None = None
        self._aio_it: AsyncIterator[StreamItem] | None = None

    def open(self) -> Stream:
        if self.flavour == "blocking":
            self.sync = ReconnectingSession(Model.V1, Track.CURRENT | Track.CHANGES, **self.options)
        else:
            rs = AsyncReconnectingSession(Model.V1, Track.CURRENT | Track.CHANGES, **self.options)
            self.aio = self.loop.run_until_complete(rs.connect())
        return self

    def events(self, timeout: float | None = 5.0) -> None:
        if self.sync is not None:
            self._sync_it = self.sync.events(timeout)
        else:
            assert self.aio is not None
            self._aio_it = self.aio.events(timeout)

    def next(self) -> StreamItem | None:
        """The next item, or None when the stream ended."""
        if self._sync_it is not None:
            return next(self._sync_it, None)
        assert self._aio_it is not None

        async def one() -> StreamItem | None:
            assert self._aio_it is not None
            try:
                return await asyncio.wait_for(anext(self._aio_it), 20)
            except StopAsyncIteration:
                return None

        return self.loop.run_until_complete(one())

    def rest(self) -> list[StreamItem]:
        items = []
        while (item := self.next()) is not None:
            items.append(item)
        return items

    def getquorate(self) -> bool:
        if self.sync is not None:
            return self.sync.getquorate()
        assert self.aio is not None
        return self.loop.run_until_complete(self.aio.getquorate())

    @property
    def reconnects(self) -> int:
        rs = self.sync or self.aio
        assert rs is not None
        return rs.reconnects

    @property
    def has_session(self) -> bool:
        rs = self.sync or self.aio
        assert rs is not None
        return rs.session is not None

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.aio is not None:
            self.loop.run_until_complete(self.aio.close())
        self.loop.close()


@pytest.fixture(params=["blocking", "asyncio"])
def stream(
    request: pytest.FixtureRequest, servers: Servers
) -> Iterator[Callable[..., Stream]]:
    made: list[Stream] = []

    def make(**options: Any) -> Stream:
        s = Stream(request.param, servers, **options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def snapshot(script: Script) -> list[StreamItem]:
    st = script.initial
    return [
        NodelistNotification(st.ring_id, st.members, (), ()),
        QuorumNotification(st.quorate, st.ring_id, st.members),
    ]


def test_a_restart_is_lost_refused_then_reconnected_with_a_fresh_snapshot(
    servers: Servers, stream: Callable[..., Stream]
) -> None:
    servers.start(BEFORE)
    s = stream().open()
    assert s.getquorate() is True
    s.events()
    assert [s.next(), s.next()] == snapshot(BEFORE)
    servers.stop()
    lost = s.next()
    assert isinstance(lost, ConnectionLostEvent) and lost.reason
    assert not s.has_session
    with pytest.raises(ConnectionLost, match="reconnecting"):
        s.getquorate()
    timer = servers.start_later(0.4)  # refused until then
    back = s.next()
    timer.join()
    assert isinstance(back, Reconnected)
    assert back.quorum_type is QuorumType.SET and back.model is Model.V1
    assert back.attempts >= 2  # at least one refusal before the new daemon listened
    assert s.reconnects == 1
    assert [s.next(), s.next()] == snapshot(AFTER)
    assert s.getquorate() is True


def test_giving_up_raises_the_last_error(servers: Servers, stream: Callable[..., Stream]) -> None:
    servers.start(BEFORE)
    s = stream(backoff=Backoff(initial=0.01, maximum=0.01, max_attempts=3)).open()
    s.events()
    assert [s.next(), s.next()] == snapshot(BEFORE)
    servers.stop()
    assert isinstance(s.next(), ConnectionLostEvent)
    with pytest.raises(CorosyncNotRunning):
        s.next()
    assert s.reconnects == 0


def test_a_stalled_daemon_is_retried_like_a_refusing_one(
    servers: Servers, stream: Callable[..., Stream]
) -> None:
    servers.start(BEFORE)
    s = stream(timeout=0.2, backoff=Backoff(initial=0.01, maximum=0.01, max_attempts=2)).open()
    s.events()
    assert [s.next(), s.next()] == snapshot(BEFORE)
    servers.stop()
    servers.start(BEFORE, stall="requests")
    assert isinstance(s.next(), ConnectionLostEvent)
    started = time.monotonic()
    with pytest.raises(CsTimeoutError):
        s.next()
    assert time.monotonic() - started < 5  # two attempts of 0.2 s, not for ever


def test_the_stream_ends_when_its_timeout_passes_while_reconnecting(
    servers: Servers, stream: Callable[..., Stream]
) -> None:
    servers.start(BEFORE)
    s = stream(backoff=Backoff(initial=0.05, maximum=0.05)).open()
    s.events(timeout=0.5)
    assert [s.next(), s.next()] == snapshot(BEFORE)
    servers.stop()
    assert isinstance(s.next(), ConnectionLostEvent)
    started = time.monotonic()
    assert s.next() is None
    assert 0.3 < time.monotonic() - started < 3


def test_the_first_connection_is_the_callers_business(
    servers: Servers, stream: Callable[..., Stream]
) -> None:
    s = stream()
    with pytest.raises(CorosyncNotRunning):
        s.open()


def test_close_during_a_backoff_ends_the_stream_at_once(servers: Servers) -> None:
    servers.start(BEFORE)
    rs = ReconnectingSession(service=servers.name, backoff=Backoff(initial=30, maximum=30))
    it = rs.events()
    assert [next(it), next(it)] == snapshot(BEFORE)
    servers.stop()
    assert isinstance(next(it), ConnectionLostEvent)
    threading.Timer(0.3, rs.close).start()
    started = time.monotonic()
    assert list(it) == []
    assert time.monotonic() - started < 3
    assert rs.closed and rs.session is None


def test_async_close_during_a_backoff_ends_the_stream_at_once(servers: Servers) -> None:
    servers.start(BEFORE)

    async def main() -> None:
        rs = AsyncReconnectingSession(service=servers.name, backoff=Backoff(initial=30, maximum=30))
        async with rs:
            it = rs.events()
            assert [await anext(it), await anext(it)] == snapshot(BEFORE)
            await asyncio.get_running_loop().run_in_executor(None, servers.stop)
            assert isinstance(await anext(it), ConnectionLostEvent)
            asyncio.get_running_loop().call_later(0.3, lambda: asyncio.ensure_future(rs.close()))
            started = time.monotonic()
            assert [item async for item in it] == []
            assert time.monotonic() - started < 3
        assert rs.closed and rs.session is None

    asyncio.run(asyncio.wait_for(main(), 20))


def test_close_while_waiting_for_events_ends_the_stream(servers: Servers) -> None:
    servers.start(BEFORE)
    with ReconnectingSession(service=servers.name) as rs:
        it = rs.events()
        assert [next(it), next(it)] == snapshot(BEFORE)
        threading.Timer(0.2, rs.close).start()
        assert list(it) == []
    rs.close()  # a second close does nothing
