"""The buffer types the whole package accepts: one name for each.

``Buffer`` is what a decoder, a ring writer or a transport reads from;
``WritableBuffer`` is what a ring or a semaphore lives in (a ``bytearray``
in tests, an ``mmap`` of a server file for real).
"""

from __future__ import annotations

import mmap
from typing import TypeAlias

__all__ = ["Buffer", "WritableBuffer"]

#: Bytes to read: a message, a payload, or one part of an iovec.
Buffer: TypeAlias = bytes | bytearray | memoryview

#: Memory to write into in place.
WritableBuffer: TypeAlias = bytearray | memoryview | mmap.mmap
