"""The fake's IPC server: the production one, plus what only tests may do.

:class:`HostileIpcServer` is an :class:`~pyquorum.ipc.server.listener.IpcServer`
that can stall handshakes (a stopped daemon whose kernel still queues
connections) or rewrite its connection responses, and whose connections
can break the protocol on request (:class:`HostileConnection`).  Nothing
in :mod:`pyquorum.ipc` knows about any of it: the production classes only
offer the override points used here.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar

from pyquorum.ipc.ring import CHUNK_MAGIC, CHUNK_MAGIC_ALLOC, chunk_words
from pyquorum.ipc.server.connection import ServerConnection, ServiceHandler
from pyquorum.ipc.server.listener import AccessPolicy, IpcServer, PendingHandshake
from pyquorum.ipc.server.loop import EventLoop
from pyquorum.ipc.server.shm_connection import RingName, ShmServerConnection
from pyquorum.ipc.server.socket_connection import Outgoing, SocketServerConnection
from pyquorum.ipc.wire import SHM_DIR
from pyquorum.messages.constants import ConnectionType
from pyquorum.messages.libqb import encode_connection_response
from pyquorum.messages.types import ConnectionResponse

__all__ = [
    "HostileConnection",
    "HostileIpcServer",
    "HostileShmConnection",
    "HostileSocketConnection",
]

_WORD = struct.Struct("=I")


class HostileConnection(ServerConnection, ABC):
    """A server connection that can also send what no correct server sends.

    Each method exists in both transports; the ones that only make sense
    over SHM rings raise ``ValueError`` over sockets (the fake refuses such
    a pairing before it starts, see :attr:`Hostility.transports`).
    """

    @abstractmethod
    def send_oversize(self, direction: Outgoing, good: bytes) -> None:
        """Send a message longer than the ``max_msg_size`` granted to the client."""

    @abstractmethod
    def die_mid_response(self, good: bytes) -> None:
        """Go away as a daemon killed while writing ``good`` would."""

    # The SHM-only tools: the SHM connection overrides them, any other
    # transport refuses them here.

    def _no_rings(self, what: str) -> ValueError:
        return ValueError(f"the {self.transport.name.lower()} transport has no {what}")

    def forge_chunk(
        self,
        ring: RingName,
        payload: bytes,
        *,
        length: int | None = None,
        magic: int = CHUNK_MAGIC,
        advance: int | None = None,
        post: bool = True,
    ) -> None:
        """Write a ring chunk by hand (SHM only): any length word, any magic."""
        raise self._no_rings("rings to forge chunks in")

    def ring_words(self, ring: RingName) -> int:
        """A ring's data area size in words (SHM only)."""
        raise self._no_rings("rings")

    def ring_doorbell(self) -> None:
        """Send one event doorbell byte (SHM only)."""
        raise self._no_rings("doorbells")

    def place_write_pt(self, ring: RingName, value: int) -> None:
        """Store any ``write_pt`` in a ring's header and post its semaphore (SHM only)."""
        raise self._no_rings("rings")


class HostileShmConnection(ShmServerConnection, HostileConnection):
    """The SHM server connection with hand-made chunks."""

    def send_oversize(self, direction: Outgoing, good: bytes) -> None:
        # The payload does not matter: the length word alone is out of bounds.
        length = self.max_msg_size + 4
        self.forge_chunk(direction, b"", length=length, advance=chunk_words(length))
        if direction == "event":
            self.ring_doorbell()

    def die_mid_response(self, good: bytes) -> None:
        self.forge_chunk("response", good, magic=CHUNK_MAGIC_ALLOC, post=False)
        self.abort()

    def forge_chunk(
        self,
        ring: RingName,
        payload: bytes,
        *,
        length: int | None = None,
        magic: int = CHUNK_MAGIC,
        advance: int | None = None,
        post: bool = True,
    ) -> None:
        """``payload`` is copied after the chunk header (wrapping); ``length``
        (default ``len(payload)``) is what the length word claims; ``advance``
        is how many words ``write_pt`` moves (default: what ``payload`` needs).
        ``post`` posts the semaphore; an event also needs :meth:`ring_doorbell`.
        """
        server_ring = self._rings[ring]
        target = server_ring.ring
        ws = target.word_size
        w = target.header.write_pt
        claimed = len(payload) if length is None else length
        words = [claimed & 0xFFFFFFFF, magic & 0xFFFFFFFF]
        padded = payload + b"\0" * (-len(payload) % 4)
        words += [_WORD.unpack_from(padded, i)[0] for i in range(0, len(padded), 4)]
        for i, word in enumerate(words[:ws]):
            _WORD.pack_into(server_ring.data_map, ((w + i) % ws) * 4, word)
        step = chunk_words(len(payload)) if advance is None else advance
        target.header.write_pt = (w + step) % ws
        if post:
            target.sem.post()

    def ring_words(self, ring: RingName) -> int:
        return self._rings[ring].ring.word_size

    def place_write_pt(self, ring: RingName, value: int) -> None:
        target = self._rings[ring].ring
        target.header.write_pt = value & 0xFFFFFFFF
        target.sem.post()


class HostileSocketConnection(SocketServerConnection, HostileConnection):
    """The socket server connection with oversize datagrams."""

    def send_oversize(self, direction: Outgoing, good: bytes) -> None:
        self._send(direction, good + bytes(self.max_msg_size))

    def die_mid_response(self, good: bytes) -> None:
        # A datagram is never half sent: the daemon is just gone.
        self.abort()


class HostileIpcServer(IpcServer):
    """An :class:`IpcServer` whose connections are :class:`HostileConnection`\\ s.

    ``transform_handshake`` rewrites each encoded connection response before
    it is sent (a shortened one is sent and the connection then dropped).
    While :attr:`stall_handshakes` is true, connections are accepted and
    their requests never read, like a stopped daemon whose kernel still
    queues connections.
    """

    connection_classes: ClassVar[Mapping[ConnectionType, type[ServerConnection]]] = {
        ConnectionType.SHM: HostileShmConnection,
        ConnectionType.SOCKET: HostileSocketConnection,
    }

    def __init__(
        self,
        handler: ServiceHandler,
        *,
        service: str = "quorum",
        transport: ConnectionType = ConnectionType.SHM,
        policy: AccessPolicy | None = None,
        shm_dir: str = SHM_DIR,
        transform_handshake: Callable[[bytes], bytes] | None = None,
        stall_handshakes: bool = False,
        loop: EventLoop | None = None,
    ) -> None:
        super().__init__(
            handler, service=service, transport=transport, policy=policy, shm_dir=shm_dir,
            loop=loop,
        )
        self.transform_handshake = transform_handshake
        self.stall_handshakes = stall_handshakes

    def _begin_handshake(self, pending: PendingHandshake) -> None:
        if not self.stall_handshakes:
            super()._begin_handshake(pending)

    def _encode_response(self, response: ConnectionResponse) -> bytes:
        raw = encode_connection_response(response)
        if self.transform_handshake is not None:
            raw = self.transform_handshake(raw)
        return raw
