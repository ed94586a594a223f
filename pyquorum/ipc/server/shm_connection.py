"""libqb's shared-memory transport, server side (connection_type 1).

The server creates the three rings (docs/protocol.md §3.1): for each of
request, response and event a header file of 8252 bytes holding a
``sem_init(pshared=1)`` semaphore and a data file of
``data_size_for(max_msg_size)`` bytes, formatted by :meth:`Ring.initialize`.

Doorbells, from the server's side (docs/protocol.md §3.5, §3.7):

* a client posts the request semaphore, then writes one *poke* byte on the
  setup socket.  On POLLIN the server takes min(pending, 5) chunks, answers
  each, reclaims it, and then reads as many poke bytes as it processed.  A
  poke whose chunk was already processed (it was still on its way) is owed
  and read when it arrives; a poke with no chunk at all is read and
  dropped, as corosync does ("Nothing in q but got POLLIN").
* for each event the server writes the chunk (which posts the event
  semaphore) and *then* one doorbell byte.  Bytes the socket cannot take
  now are counted and sent when it drains; a full event ring queues the
  event until the client makes room.

A zero-length chunk, a bad magic or a ``QB_IPC_MSG_DISCONNECT`` request
ends the connection, as in libqb.  Teardown detaches every ring
(``ref_count`` 1, then 0, which a client checks before each send), hangs
up the setup socket and unlinks the six files.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import select
import socket
from collections import deque
from dataclasses import dataclass
from typing import Literal

from pyquorum.errors import RemoteProtocolError, TooBigError, TryAgainError
from pyquorum.ipc.credentials import Credentials
from pyquorum.ipc.disconnect import is_disconnect_request
from pyquorum.ipc.mapping import map_shared_fd
from pyquorum.ipc.ring import Ring, data_size_for
from pyquorum.ipc.ring_header import HEADER_FILE_SIZE, SEM_OFFSET
from pyquorum.ipc.sem import PosixSemaphore
from pyquorum.ipc.server.connection import (
    REQUESTS_PER_WAKEUP,
    RETRY_INTERVAL,
    ServerConnection,
    Timer,
    create_file,
)
from pyquorum.messages.constants import ConnectionType

__all__ = ["RING_NAMES", "RingName", "ShmServerConnection"]

log = logging.getLogger("pyquorum.ipc.server")

#: The three rings of a connection, named as in their files (``qb-<name>-<service>-…``).
RingName = Literal["request", "response", "event"]
RING_NAMES: tuple[RingName, ...] = ("request", "response", "event")


@dataclass(slots=True)
class _ServerRing:
    header_path: str
    data_path: str
    header_map: mmap.mmap
    data_map: mmap.mmap
    sem: PosixSemaphore
    ring: Ring

    @property
    def base(self) -> str:
        return self.header_path[: -len("-header")]

    def release(self, detach: bool) -> None:
        if detach:
            self.ring.detach()
        with contextlib.suppress(OSError):
            self.sem.destroy()
        self.sem.release()
        self.ring.release()
        self.data_map.close()
        self.header_map.close()
        for path in (self.header_path, self.data_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _map(fd: int, size: int) -> mmap.mmap:
    # Mapped without keeping an fd (docs/protocol.md §3.12): six ring files per
    # client would otherwise hold six fds each in the server.
    try:
        return map_shared_fd(fd, size)
    finally:
        os.close(fd)


def _create_ring(
    directory: str,
    name: str,
    service: str,
    max_msg_size: int,
    client: Credentials,
    data_size: int,
) -> _ServerRing:
    stem = f"qb-{name}-{service}"
    header_path = os.path.join(directory, stem + "-header")
    data_path = os.path.join(directory, stem + "-data")
    header_map = _map(create_file(directory, stem + "-header", HEADER_FILE_SIZE, client),
                      HEADER_FILE_SIZE)
    try:
        data_map = _map(create_file(directory, stem + "-data", data_size, client), data_size)
    except BaseException:
        header_map.close()
        raise
    try:
        Ring.initialize(
            header_map,
            data_map,
            word_size=data_size // 4,
            hdr_path=header_path,
            data_path=data_path,
            data_is_zero=True,  # create_file made it: O_EXCL, then ftruncate
        )
        sem = PosixSemaphore.init(header_map, SEM_OFFSET)
    except BaseException:
        data_map.close()
        header_map.close()
        raise
    return _ServerRing(
        header_path, data_path, header_map, data_map, sem,
        Ring(header_map, data_map, sem, max_msg_size=max_msg_size),
    )


class ShmServerConnection(ServerConnection):
    """A client served over three SHM rings plus doorbells on the setup socket."""

    transport = ConnectionType.SHM

    def _open_transport(self) -> None:
        directory, service = self.directory, self.service
        max_msg_size, credentials = self.max_msg_size, self.credentials
        size = data_size_for(max_msg_size)
        self._rings: dict[RingName, _ServerRing] = {}
        try:
            for name in RING_NAMES:
                self._rings[name] = _create_ring(
                    directory, name, service, max_msg_size, credentials, size
                )
        except BaseException:
            for r in self._rings.values():
                r.release(detach=False)
            raise
        self._owed_pokes = 0
        self._owed_doorbells = 0
        self._watching_out = False
        self._responses: deque[bytes] = deque()
        self._events: deque[bytes] = deque()
        self._retry: Timer | None = None

    def response_paths(self) -> tuple[str, str, str]:
        return tuple(self._rings[name].base for name in RING_NAMES)  # type: ignore[return-value]

    def _update_watch(self) -> None:
        events = select.POLLIN if self._reading else 0
        if self._owed_doorbells:
            events |= select.POLLOUT
        self._watching_out = bool(self._owed_doorbells)
        self._loop.watch(self.sock.fileno(), events, self._on_setup)

    def _on_setup(self, revents: int) -> None:
        if revents & select.POLLOUT:
            self._flush_doorbells()
        if self.closed:
            return
        if revents & select.POLLIN and self._reading:
            self._process_requests()
        elif revents & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            self.close()

    # -- requests --------------------------------------------------------------

    def _process_requests(self) -> None:
        req = self._rings["request"].ring
        if self._owed_pokes == 0 and req.sem.value() == 0:
            # A poke with no chunk (or the client's end of file): read and drop it.
            self._read_pokes(stray=True)
            return
        processed = 0
        for _ in range(min(req.sem.value(), REQUESTS_PER_WAKEUP)):
            try:
                data = req.peek(0)
            except RemoteProtocolError as exc:
                # libqb: EBADMSG (bad magic) or a zero length, which is how a
                # client asks to be disconnected; either way the client goes.
                log.info("closing connection of pid %d: %s", self.pid, exc)
                self.close()
                return
            if data is None:
                break
            req.reclaim()
            processed += 1
            if is_disconnect_request(data):
                self.close()
                return
            self._call_handler(data)
            if self.closed:
                return
        self._owed_pokes += processed
        self._read_pokes()

    def _read_pokes(self, stray: bool = False) -> None:
        while self._owed_pokes or stray:
            try:
                got = self.sock.recv(max(self._owed_pokes, 1), socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                got = b""
            if not got:
                self.close()
                return
            if stray:
                stray = False
                got = got[1:]
            self._owed_pokes = max(0, self._owed_pokes - len(got))

    # -- responses and events ---------------------------------------------------

    def send_response(self, data: bytes) -> None:
        if self.closed:
            return
        if self._responses or not self._write("response", data):
            self._responses.append(data)
            self._schedule_retry()

    def send_event(self, data: bytes) -> None:
        if self.closed:
            return
        if self._events or not self._write("event", data):
            self._events.append(data)
            self._schedule_retry()
            return
        self.ring_doorbell()

    def ring_doorbell(self) -> None:
        """Owe the client one event doorbell byte and send what the socket takes."""
        self._owed_doorbells += 1
        self._flush_doorbells()

    def _write(self, channel: RingName, data: bytes) -> bool:
        """Write one chunk; False if the ring is full now (the caller queues it)."""
        try:
            self._rings[channel].ring.write(data)
        except TryAgainError:
            return False
        except TooBigError as exc:
            # corosync logs and drops what cannot be sent (docs/protocol.md §2.5).
            log.warning("dropping a %d-byte %s for pid %d: %s", len(data), channel, self.pid, exc)
        return True

    def _flush_doorbells(self) -> None:
        while self._owed_doorbells:
            try:
                sent = self.sock.send(
                    b"\0" * self._owed_doorbells, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
                )
            except BlockingIOError:
                break
            except OSError:
                self.close()
                return
            self._owed_doorbells -= sent
        if bool(self._owed_doorbells) != self._watching_out:
            self._update_watch()

    def _schedule_retry(self) -> None:
        if self._retry is None:
            self._retry = self._loop.call_later(RETRY_INTERVAL, self._retry_queued)

    def _retry_queued(self) -> None:
        self._retry = None
        if self.closed:
            return
        while self._responses and self._write("response", self._responses[0]):
            self._responses.popleft()
        while self._events and self._write("event", self._events[0]):
            self._events.popleft()
            self.ring_doorbell()
            if self.closed:
                return
        if self._responses or self._events:
            self._schedule_retry()

    # -- teardown -------------------------------------------------------------------

    def _release(self, graceful: bool) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        for r in self._rings.values():
            r.release(detach=graceful)
        self._rings.clear()

