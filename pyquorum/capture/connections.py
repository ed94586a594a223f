"""Connections that record a live session to a capture, or play one back
to a session in process (``QuorumSession(..., connection=...)``)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from pyquorum.capture.reader import CaptureReader
from pyquorum.capture.records import (
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
    transport_of,
)
from pyquorum.capture.writer import CaptureWriter
from pyquorum.errors import BadHandleError, ConnectionLost

__all__ = ["CaptureDemux", "PlaybackConnection", "RecordingConnection"]

_EVENT = Channel.EVENT
#: Records a reader of a whole capture is read by at a time (they are held
#: until received: a few tens of kilobytes).
_BATCH = 256


class _Connection(Protocol):
    def request(self, data: bytes, timeout: float | None) -> bytes: ...

    def recv_event(self, timeout: float | None) -> bytes | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class RecordingConnection:
    """A connection that records every message passing through it.

    Wraps any connection a :class:`~pyquorum.QuorumSession` takes
    (``connection=``) and writes each request (when sent), response and
    event (when received) to ``writer`` with :meth:`CaptureWriter.record`.
    A request that fails is recorded without a response.  Closing closes
    the wrapped connection, not the writer, which stays the caller's.

    With a version-2 writer the connection is one of the capture's: made,
    it writes its OPEN record (``service``, default the wrapped
    connection's ``service``; its transport and max_msg_size; ``attempts``
    as given), and :attr:`recorded` is that :class:`CaptureConnection`.
    Its CLOSE record follows when it is closed, or at once when a call
    raises ConnectionLost (reason ``lost``, the error's message).
    """

    def __init__(self, connection: _Connection, writer: CaptureWriter, *,
                 service: str | None = None, attempts: int = 1) -> None:
        self.connection = connection
        self.writer = writer
        self.recorded: CaptureConnection | None = None
        self._id = 0
        if writer.version != 1:
            self.recorded = writer.open_connection(
                service or str(getattr(connection, "service", "quorum")),
                transport_of(connection),
                max_msg_size=getattr(connection, "max_msg_size", None),
                attempts=attempts,
            )
            self._id = self.recorded.id

    def request(self, data: bytes, timeout: float | None) -> bytes:
        self.writer.record(Channel.REQUEST, data, self._id)
        try:
            response = self.connection.request(data, timeout)
        except ConnectionLost as exc:
            self._lost(exc)
            raise
        self.writer.record(Channel.RESPONSE, response, self._id)
        return response

    def recv_event(self, timeout: float | None) -> bytes | None:
        try:
            data = self.connection.recv_event(timeout)
        except ConnectionLost as exc:
            self._lost(exc)
            raise
        if data is not None:
            self.writer.record(Channel.EVENT, data, self._id)
        return data

    def _lost(self, exc: ConnectionLost) -> None:
        if self.recorded is not None:
            self.writer.close_connection(self._id, reason=CloseReason.LOST, error=str(exc))

    def fileno(self) -> int:
        return self.connection.fileno()

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            if self.recorded is not None:
                self.writer.close_connection(self._id)

    def __repr__(self) -> str:
        return f"<RecordingConnection {self.connection!r} -> {self.writer.name or 'a file'}>"


class PlaybackConnection:
    """A connection that plays a capture back to a session, in process.

    ``QuorumSession(capture.header.model, connection=PlaybackConnection(capture))``
    gets the recorded responses and events.  :meth:`request` answers a
    request with the response recorded for the same request bytes; recorded
    requests the session does not repeat (a getquorate between, say) are
    skipped with their responses.  A request the capture does not hold, or
    holds without a response (the live call failed there), raises
    :class:`CaptureError` naming the record.  :meth:`recv_event` returns the
    recorded events in order, then None at once, whatever the timeout: the
    capture has nothing more to say.  Times are not replayed (the fake
    server does that, over real IPC).

    ``capture`` may also be a :class:`~pyquorum.capture.CaptureReader`
    (:func:`~pyquorum.capture.iter_capture`): records are then read as the
    session asks for them (a request's one by one; events, for
    :meth:`pending_events`, in batches that double up to a few hundred
    records), and only the events read ahead and not yet received are
    held, so a long capture plays in constant memory.  A damaged record
    then surfaces as the reader's CaptureError from the call that reaches
    it.

    A capture of several connections (version 2) plays one of them:
    ``connection`` is its id (with a Capture), or ``capture`` is that
    connection's records as :meth:`CaptureDemux.records` streams them, with
    ``header`` given.  None plays every record (a version-1 capture's).
    """

    def __init__(self, capture: Capture | CaptureReader | Iterable[CaptureRecord], *,
                 connection: int | None = None, header: CaptureHeader | None = None) -> None:
        self.capture = capture if isinstance(capture, Capture) else None
        self.connection = connection
        if isinstance(capture, Capture | CaptureReader):
            self.header = capture.header
        elif header is not None:
            self.header = header
        else:
            raise TypeError("PlaybackConnection of a record stream needs its capture's header")
        source: Iterator[CaptureRecord] = (
            iter(capture.records) if isinstance(capture, Capture) else iter(capture)
        )
        if connection is not None and isinstance(capture, Capture | CaptureReader):
            source = (r for r in source if r.connection == connection)
        self._source: Iterator[CaptureRecord] | None = source
        # A reader of the whole capture is read a batch of records at a time,
        # without a record object each (CaptureReader.read_messages).
        self._batches: Callable[[int], list[tuple[Channel, bytes]]] | None = (
            capture.read_messages
            if isinstance(capture, CaptureReader) and connection is None else None
        )
        self._ahead = 1  # records pending_events reads at a time (doubling)
        self._read = 0  # index (in the file's record order) of the next record read
        # Requests and responses read and not yet answered from: (index, channel, data).
        self._exchange: list[tuple[int, Channel, bytes]] = []
        self._after = 0  # the record the next request is looked for from
        self._events: deque[bytes] = deque()
        self._pipe: tuple[int, int] | None = None
        self._drained = True  # the pipe (once made) has no byte to read
        self.closed = False

    def _pull(self, count: int = 1) -> bool:
        """Read one more record into the buffers (up to ``count`` from a reader of
        the whole capture); False at the end of the capture."""
        if self._source is None:
            return False
        if self._batches is not None:
            batch = self._batches(count)
            if not batch:
                self._source = self._batches = None
                return False
            index, events, exchange = self._read, self._events, self._exchange
            for channel, data in batch:
                if channel is _EVENT:
                    events.append(data)
                else:
                    exchange.append((index, channel, data))
                index += 1
            self._read = index
            return True
        record = next(self._source, None)
        if record is None:
            self._source = None
            return False
        if record.channel is Channel.EVENT:
            self._events.append(record.data)
        else:
            self._exchange.append((self._read, record.channel, record.data))
        self._read += 1
        return True

    def _has_event(self) -> bool:
        while not self._events:
            if not self._pull():
                return False
        return True

    def request(self, data: bytes, timeout: float | None = None) -> bytes:
        if self.closed:
            raise BadHandleError("the playback connection is closed")
        wanted = bytes(data)
        exchange = self._exchange
        i = 0
        while self._reach(i):
            index, channel, recorded = exchange[i]
            if channel is Channel.REQUEST and recorded == wanted:
                j = i + 1
                while self._reach(j):
                    answer_index, answer_channel, answer = exchange[j]
                    if answer_channel is Channel.REQUEST:
                        break
                    # Only requests and responses are in the exchange.
                    del exchange[: j + 1]
                    self._after = answer_index + 1
                    return answer
                raise CaptureError("this request got no response in the recording (the live "
                                   "call failed or the recording ended there)", record=index,
                                   what=self._where(index))
            i += 1
        raise CaptureError(f"the capture holds no request {wanted.hex()} after "
                           f"{self._where(self._after) or f'record {self._after}'}: it was "
                           "recorded from a different session")

    def _where(self, index: int) -> str | None:
        """How an error names a record: its index among the records played."""
        if self.connection is None:
            return None
        return f"record {index} of connection {self.connection}"

    def _reach(self, position: int) -> bool:
        """Read until the exchange has an entry at ``position``; False if it never will."""
        while position >= len(self._exchange):
            if not self._pull():
                return False
        return True

    def pending(self) -> int:
        """Events not yet received (reading a streamed capture to its end to count them)."""
        while self._pull():
            pass
        return len(self._events)

    def pending_events(self, *, more: bool = True) -> deque[bytes]:
        """The events read and not yet received, as this connection's own queue:
        a receiver pops them from the left, each as :meth:`recv_event` would
        return it (a blocking session's event iterator takes a capture's events
        this way, rather than one call each).

        With ``more`` (when the receiver wants events) an empty queue is read
        ahead into, in batches that double as events are taken, up to a few
        hundred records, until it holds an event or the capture ends.  A
        receiver that has just taken the last event calls it with
        ``more=False``: the connection then reads on exactly where
        :meth:`recv_event` would after its last event (only once :meth:`fileno`
        was asked for, to learn whether it stays readable)."""
        events = self._events
        if self.closed:
            return deque()
        if not more:
            if not events and self._pipe is not None and not self._has_event():
                self._drain()
            return events
        if not events:
            # Read ahead in batches that double as events are taken (up to _BATCH):
            # a receiver that stops early has not made the capture read far.
            self._ahead = ahead = min(self._ahead * 2, _BATCH)
            while not events and self._pull(ahead):
                pass
            if not events and self._pipe is not None:
                self._drain()
        return events

    def _drain(self) -> None:
        """No event is left: the pipe stops being readable (once)."""
        assert self._pipe is not None
        if not self._drained:
            os.read(self._pipe[0], 1)
            self._drained = True

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        if self.closed:
            return None
        events = self._events
        while not events:  # (_has_event, one call less per event of a replay)
            if not self._pull():
                return None
        data = events.popleft()
        if self._pipe is not None and not self._has_event():
            self._drain()
        return data

    def fileno(self) -> int:
        """Readable while recorded events remain."""
        if self._pipe is None:
            self._pipe = os.pipe()
            self._drained = not self._has_event()
            if not self._drained:
                os.write(self._pipe[1], b"!")
        return self._pipe[0]

    def close(self) -> None:
        self.closed = True
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None


class CaptureDemux:
    """Takes a streamed version-2 capture apart, connection by connection.

    Reads a :class:`CaptureReader` once, in order.  :meth:`records` is the
    record stream of one connection (for a :class:`PlaybackConnection`);
    iterating the demux yields, in file order, what a printer follows: each
    connection as it opens and closes (a :class:`CaptureConnection`, as
    :meth:`CaptureReader.items` gives them) and each EVENT record.  Records
    read ahead for one connection wait in its queue until taken, so as long
    as each connection's records are taken as their events come up, a long
    capture plays in the memory of a few records.
    """

    def __init__(self, reader: CaptureReader) -> None:
        self.reader = reader
        self.header = reader.header
        self._items: Iterator[CaptureRecord | CaptureConnection] | None = reader.items()
        self._queues: dict[int, deque[CaptureRecord]] = {}
        self._order: deque[CaptureRecord | CaptureConnection] = deque()
        self._closed: set[int] = set()

    def _pull(self) -> bool:
        if self._items is None:
            return False
        item = next(self._items, None)
        if item is None:
            self._items = None
            return False
        if isinstance(item, CaptureConnection):
            if item.closed is not None:
                self._closed.add(item.id)
            self._order.append(item)
        else:
            self._queues.setdefault(item.connection, deque()).append(item)
            if item.channel is Channel.EVENT:
                self._order.append(item)
        return True

    def records(self, connection: int) -> Iterator[CaptureRecord]:
        """The records of ``connection``, read from the file as they are asked for;
        the stream ends at its CLOSE record."""
        queue = self._queues.setdefault(connection, deque())
        while True:
            if queue:
                yield queue.popleft()
            elif connection in self._closed or not self._pull():
                return

    def playback(self, connection: int) -> PlaybackConnection:
        """A :class:`PlaybackConnection` of one connection's records."""
        return PlaybackConnection(self.records(connection), connection=connection,
                                  header=self.header)

    def __iter__(self) -> Iterator[CaptureRecord | CaptureConnection]:
        while True:
            if self._order:
                yield self._order.popleft()
            elif not self._pull():
                return

    def __enter__(self) -> CaptureDemux:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reader.close()
