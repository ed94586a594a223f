"""pyquorum.ipc.mapping: a shared file mapping that keeps no fd (docs/protocol.md §3.12)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pyquorum.ipc.mapping import map_shared_fd
from tests.support.process_resources import open_fds

SIZE = 3 * 4096


def _mapped(path: Path) -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if line.rstrip().endswith(str(path)))


def _vm_size_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    raise AssertionError("no VmSize")


@pytest.fixture
def shared_file(tmp_path: Path) -> Path:
    path = tmp_path / "ring"
    path.write_bytes(bytes(SIZE))
    return path


def test_the_mapping_is_shared_and_holds_no_fd(shared_file: Path) -> None:
    before = open_fds()
    fd = os.open(shared_file, os.O_RDWR)
    try:
        m = map_shared_fd(fd, SIZE)
    finally:
        os.close(fd)
    try:
        assert open_fds() == before  # no duplicate kept, unlike mmap.mmap(fd, ...)
        assert _mapped(shared_file) == 1
        m[100:104] = b"abcd"  # writes reach the file: MAP_SHARED
        assert shared_file.read_bytes()[100:104] == b"abcd"
        with open(shared_file, "r+b") as f:  # and the file's changes reach us
            f.seek(SIZE - 4)
            f.write(b"wxyz")
        assert m[SIZE - 4 :] == b"wxyz"
        assert len(m) == SIZE
    finally:
        m.close()
    assert _mapped(shared_file) == 0
    assert open_fds() == before


def test_close_refuses_while_a_view_is_alive(shared_file: Path) -> None:
    """The mapping counts buffer exports: no view is ever left on unmapped memory."""
    fd = os.open(shared_file, os.O_RDWR)
    try:
        m = map_shared_fd(fd, SIZE)
    finally:
        os.close(fd)
    view = memoryview(m)
    with pytest.raises(BufferError):
        m.close()
    view[0] = 7
    assert shared_file.read_bytes()[0] == 7
    view.release()
    m.close()
    assert _mapped(shared_file) == 0


def test_a_failed_mapping_leaves_nothing_mapped(shared_file: Path) -> None:
    """A read-only fd cannot be mapped read-write shared: EACCES, and the reservation goes."""
    fd = os.open(shared_file, os.O_RDONLY)
    big = 16 << 20
    try:
        before = _vm_size_kib()
        kept = []  # the tracebacks keep the failed calls' frames (and locals) alive
        for _ in range(50):
            with pytest.raises(OSError) as info:
                map_shared_fd(fd, big)
            assert info.value.errno == errno.EACCES
            kept.append(info)
        # 50 reservations left open would be 800 MiB of address space.
        assert _vm_size_kib() - before < 64 << 10
    finally:
        os.close(fd)
    assert _mapped(shared_file) == 0


def test_nothing_to_map_is_refused(shared_file: Path) -> None:
    fd = os.open(shared_file, os.O_RDWR)
    try:
        with pytest.raises(ValueError):
            map_shared_fd(fd, 0)
        with pytest.raises(OSError) as info:
            map_shared_fd(-1, SIZE)
        assert info.value.errno == errno.EBADF
    finally:
        os.close(fd)
