"""pyquorum.netns, the one place that enters network namespaces (the client's
sessions, the fake server and the cluster harness all go through it).

Needs root (setns/unshare need CAP_SYS_ADMIN); without it these skip, or
fail under PYQUORUM_REQUIRE_COROSYNC=1 like the other live tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from pyquorum.netns import NETNS_DIR, NetNamespace, netns_context, unshare_net
from pyquorum.testing.cluster.network import find_binary
from tests.support.live import require_live

T = TypeVar("T")


def _inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def _in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on a thread of its own (so a namespace change cannot leak into the test's)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def private() -> Iterator[NetNamespace]:
    """A handle on a fresh private namespace (made by a thread that then ends)."""
    if os.geteuid() != 0:
        require_live("entering network namespaces needs root")

    def make() -> NetNamespace:
        unshare_net()
        return NetNamespace.current()

    ns = _in_thread(make)
    yield ns
    ns.close()


@pytest.fixture
def named() -> Iterator[str]:
    """A named namespace (``ip netns add``), deleted after the test."""
    ip = find_binary("ip")
    if os.geteuid() != 0 or ip is None:
        require_live("a named network namespace needs root and iproute2")
    name = f"pyquorum-netns-test-{os.getpid()}"
    subprocess.run([ip, "netns", "add", name], check=True, timeout=10)
    yield name
    subprocess.run([ip, "netns", "delete", name], check=True, timeout=10)


def test_entered_moves_only_the_block_and_keeps_its_sockets_there(
    private: NetNamespace,
) -> None:
    home = _inode()
    address = f"\0pyquorum-netns-test-{os.getpid()}"
    with private.entered():
        assert _inode() != home and private.is_current()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        inside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    assert _inode() == home and not private.is_current()
    with listener, inside:
        listener.bind(address)  # bound after the block: still in the private namespace
        listener.listen(1)
        inside.connect(address)
        outside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with outside, pytest.raises(ConnectionRefusedError):
            outside.connect(address)  # abstract names are per namespace


def test_netns_context_takes_a_name_or_a_path_and_nests(
    named: str, private: NetNamespace
) -> None:
    home = _inode()
    target = os.stat(os.path.join(NETNS_DIR, named)).st_ino
    with netns_context(named):
        assert _inode() == target
        with private.entered():
            assert _inode() != target and private.is_current()
        assert _inode() == target
    assert _inode() == home
    with netns_context(os.path.join(NETNS_DIR, named)):
        assert _inode() == target
    assert _inode() == home


def test_enter_moves_the_thread_for_good(named: str) -> None:
    target = os.stat(os.path.join(NETNS_DIR, named)).st_ino

    def move() -> int:
        with NetNamespace.open(named) as ns:
            ns.enter()
        return _inode()  # the handle is closed, the thread stays

    assert _in_thread(move) == target
    assert _inode() != target  # the test's own thread never moved


def test_a_closed_handle_is_refused() -> None:
    ns = NetNamespace.open(f"/proc/{os.getpid()}/ns/net")
    ns.close()
    assert ns.closed
    with pytest.raises(ValueError), ns.entered():
        pass
    with pytest.raises(ValueError):
        ns.enter()
    with pytest.raises(FileNotFoundError):
        NetNamespace.open("pyquorum-no-such-namespace")
