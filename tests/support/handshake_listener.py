"""A scripted setup-socket listener: answers a client's connection request as a test says.

Shared by the handshake tests and the trust-boundary tests.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pyquorum.ipc import address
from pyquorum.messages.libqb import decode_connection_request, encode_connection_response
from pyquorum.messages.types import ConnectionResponse

_names = itertools.count()


def denial(error: int) -> bytes:
    return encode_connection_response(ConnectionResponse(error, 0, 0, 0, "", "", ""))


@contextmanager
def listener(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-shot server on a fresh abstract name; ``answer`` handles the accepted socket."""
    service = f"pyquorum-test-{os.getpid()}-{next(_names)}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address.abstract_address(service))
    server.listen(1)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
            with conn:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
                answer(conn)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.close()
        thread.join(5)
    assert not failures, failures


def read_request(conn: socket.socket) -> int:
    data = b""
    while len(data) < 24:
        chunk = conn.recv(24 - len(data))
        assert chunk
        data += chunk
    return decode_connection_request(data).max_msg_size


def replying(payload: bytes, then: Callable[[socket.socket], None] | None = None
             ) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(payload)
        if then is not None:
            then(conn)

    return answer
