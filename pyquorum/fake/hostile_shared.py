"""Hostile shared state: what a daemon can leave in its files and in the names it sends.

The cases of :mod:`pyquorum.fake.hostile` that corrupt the connection
response or the files behind it do so here, when the server encodes the
response (the files exist by then and the client has not mapped them yet):

* the response's ``error`` at INT32_MIN / INT32_MAX and ``max_msg_size``
  above INT32_MAX;
* the name the client opens first (the request ring's base over SHM, the
  control file over sockets) pointing outside /dev/shm, climbing out with
  ``..``, through a symbolic link, at a FIFO, or at a file another uid owns;
* a ring header's ``word_size``, ``data_path`` or ``ref_count``, the
  request semaphore's count at SEM_VALUE_MAX, the control file's ``sent``
  counter at INT32_MAX.

Anything created here lives in the connection's own directory, which the
server removes with the connection.  Offsets are those of
``struct qb_ringbuffer_shared_s`` (pyquorum.ipc.ring_header) and of the
connection response (docs/protocol.md).
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import struct
from collections.abc import Callable
from typing import Final

from pyquorum.ipc.ring_header import (
    DATA_PATH_OFFSET,
    PATH_MAX,
    REF_COUNT_OFFSET,
    SEM_OFFSET,
    W_READ_PT,
    W_WORD_SIZE,
)
from pyquorum.ipc.wire import REQ_SENT
from pyquorum.messages.constants import ConnectionType
from pyquorum.messages.libqb import decode_connection_response, encode_connection_response
from pyquorum.messages.types import ConnectionResponse

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "OTHER_UID",
    "SEM_VALUE_MAX",
    "control_sent_max",
    "data_path_elsewhere",
    "error_field",
    "max_msg_size_field",
    "name_elsewhere",
    "name_escaping",
    "name_fifo",
    "name_other_uid",
    "name_symlink",
    "ref_count_max",
    "request_sem_max",
    "word_size_huge",
]

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
SEM_VALUE_MAX: Final = 2**31 - 1
#: The owner given to a file the client must refuse (``nobody``).
OTHER_UID: Final = 65534

_I32: Final = struct.Struct("=i")
_U32: Final = struct.Struct("=I")
#: qb_ipc_connection_response: error at 16, max_msg_size at 28 (little-endian on the wire).
_ERROR_OFFSET: Final = 16
_MAX_MSG_SIZE_OFFSET: Final = 28

Transform = Callable[[bytes], bytes]


def _decoded(raw: bytes) -> ConnectionResponse | None:
    """The response, unless it is a refusal (nothing to corrupt then)."""
    response = decode_connection_response(raw)
    return response if response.error == 0 else None


def _is_shm(response: ConnectionResponse) -> bool:
    return bool(response.connection_type == ConnectionType.SHM)


def _first_file(response: ConnectionResponse) -> tuple[str, str]:
    """(the file the client opens first, the suffix the client adds to the name sent)."""
    if _is_shm(response):
        return response.request + "-header", "-header"
    return response.request, ""


def _renamed(response: ConnectionResponse, name: str) -> bytes:
    return encode_connection_response(dataclasses.replace(response, request=name))


def _patch(raw: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(raw)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def error_field(value: int) -> Transform:
    """The response's ``error`` (int32 at 16) set to ``value``."""
    return lambda raw: _patch(raw, _ERROR_OFFSET, "<i", value)


def max_msg_size_field(raw: bytes) -> bytes:
    """``max_msg_size`` (uint32 at 28) one above INT32_MAX."""
    return _patch(raw, _MAX_MSG_SIZE_OFFSET, "<I", INT32_MAX + 1)


def name_elsewhere(raw: bytes) -> bytes:
    """The first name points outside /dev/shm (nothing is created there)."""
    response = _decoded(raw)
    if response is None:
        return raw
    return _renamed(response, "/tmp/qb-elsewhere")


def name_escaping(raw: bytes) -> bytes:
    """The first name climbs out of the connection directory with ``..``."""
    response = _decoded(raw)
    if response is None:
        return raw
    return _renamed(response, os.path.join(os.path.dirname(response.request), "..", "qb-escape"))


def _beside(response: ConnectionResponse, stem: str, make: Callable[[str, str], None]) -> bytes:
    """Make ``<dir>/<stem><suffix>`` with ``make(path, real_file)`` and name it instead."""
    real, suffix = _first_file(response)
    base = os.path.join(os.path.dirname(response.request), stem)
    make(base + suffix, real)
    return _renamed(response, base)


def name_symlink(raw: bytes) -> bytes:
    """The first name is a symbolic link to the real file (in the same directory)."""
    response = _decoded(raw)
    if response is None:
        return raw
    return _beside(response, "qb-link", lambda path, real: os.symlink(real, path))


def name_fifo(raw: bytes) -> bytes:
    """The first name is a FIFO."""
    response = _decoded(raw)
    if response is None:
        return raw
    return _beside(response, "qb-fifo", lambda path, _real: os.mkfifo(path, 0o600))


def _copy_for_other_uid(path: str, real: str) -> None:
    with open(real, "rb") as src:
        data = src.read()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, data)
        os.fchown(fd, OTHER_UID, OTHER_UID)  # the fake runs as root
    finally:
        os.close(fd)


def name_other_uid(raw: bytes) -> bytes:
    """The first name is a well-formed copy of the real file owned by another uid."""
    response = _decoded(raw)
    if response is None:
        return raw
    return _beside(response, "qb-other", _copy_for_other_uid)


def _edit_file(path: str, edit: Callable[[mmap.mmap], None]) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        mapping = mmap.mmap(fd, 0)
    finally:
        os.close(fd)
    try:
        edit(mapping)
    finally:
        mapping.close()


def _edit_ring_header(ring: str, edit: Callable[[mmap.mmap], None]) -> Transform:
    def transform(raw: bytes) -> bytes:
        response = _decoded(raw)
        if response is not None:
            _edit_file(getattr(response, ring) + "-header", edit)
        return raw

    return transform


#: The response ring's ``word_size`` at 2**32-1: no data file is that large.
word_size_huge: Final = _edit_ring_header(
    "response", lambda m: _U32.pack_into(m, W_WORD_SIZE * 4, 0xFFFFFFFF)
)


def _data_path_elsewhere(m: mmap.mmap) -> None:
    name = b"/tmp/qb-elsewhere-data"
    m[DATA_PATH_OFFSET : DATA_PATH_OFFSET + PATH_MAX] = name.ljust(PATH_MAX, b"\0")


#: The request ring's ``data_path`` names a file outside the connection directory.
data_path_elsewhere: Final = _edit_ring_header("request", _data_path_elsewhere)

#: The request ring's ``ref_count`` at INT32_MAX: the client's attach wraps it.
ref_count_max: Final = _edit_ring_header(
    "request", lambda m: _I32.pack_into(m, REF_COUNT_OFFSET, INT32_MAX)
)


def _sem_max(m: mmap.mmap) -> None:
    # glibc's sem_t starts with its 64-bit value word, the count in the low
    # half; read_pt one word behind write_pt (0) keeps the ring from looking
    # full, so the client's write reaches its sem_post.
    word_size = _U32.unpack_from(m, W_WORD_SIZE * 4)[0]
    _U32.pack_into(m, W_READ_PT * 4, word_size - 1)
    _U32.pack_into(m, SEM_OFFSET, SEM_VALUE_MAX)


#: The request ring's semaphore count at SEM_VALUE_MAX.
request_sem_max: Final = _edit_ring_header("request", _sem_max)


def control_sent_max(raw: bytes) -> bytes:
    """The socket transport's ``ctl[0].sent`` at INT32_MAX (libqb's atomics wrap it)."""
    response = _decoded(raw)
    if response is not None:
        _edit_file(response.request, lambda m: _I32.pack_into(m, REQ_SENT, INT32_MAX))
    return raw
