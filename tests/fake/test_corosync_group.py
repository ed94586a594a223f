"""The fake corosync's servers share one loop and one thread, and come and go together."""

from __future__ import annotations

import threading

import pytest

from pyquorum.fake import Script
from pyquorum.ipc.server.group import ServerGroup
from pyquorum.ipc.server.listener import IpcServer
from pyquorum.ipc.server.loop import EventLoop
from pyquorum.messages.types import RingId
from pyquorum.services.votequorum.session import VotequorumSession
from tests.support.corosync_story import three_nodes
from tests.support.fake import CorosyncFactory

STORY = Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes())


def test_four_services_one_loop_one_thread(corosync: CorosyncFactory) -> None:
    before = {t.name for t in threading.enumerate()}
    server = corosync(STORY)
    fake = server.corosync
    assert sorted(fake.servers) == ["cfg", "cmap", "quorum", "votequorum"]
    assert {id(s.loop) for s in fake.servers.values()} == {id(fake.loop)}
    started = [t for t in threading.enumerate() if t.name not in before]
    assert [t.name for t in started] == ["pyquorum-ipc-servers-quorum+votequorum+cmap+cfg"]
    with server.session() as quorum, server.netns_context(), VotequorumSession(timeout=5) as vq:
        assert quorum.getquorate() and vq.getinfo(0).nodeid == 1
        server.wait_connections(2)
        # Every service's handler runs on the loop thread.
        assert server.call(threading.current_thread) is started[0]
    server.stop()
    assert not started[0].is_alive()
    assert server.connection_count == 0


def test_a_second_fake_in_the_namespace_is_refused_whole(corosync: CorosyncFactory) -> None:
    """Listening on the second service fails: the first one it opened is closed again."""
    first = corosync(STORY)
    loop = EventLoop()
    handler = first.corosync.quorum
    free = IpcServer(handler, service="pyquorum-group-test", loop=loop)
    taken = IpcServer(handler, service="votequorum", loop=loop)
    group = ServerGroup([free, taken])
    with pytest.raises(OSError, match="already listens on @votequorum"):
        group.start(thread_setup=first.enter_netns)
    with first.netns_context():
        # The name the group did get is free again: another server can take it.
        again = IpcServer(handler, service="pyquorum-group-test")
        again.listen()
        again.stop()


def test_a_group_needs_one_shared_loop(corosync: CorosyncFactory) -> None:
    server = corosync(STORY)
    handler = server.corosync.quorum
    with pytest.raises(ValueError, match="share one EventLoop"):
        ServerGroup([IpcServer(handler, service="a"), IpcServer(handler, service="b")])
    with pytest.raises(ValueError, match="at least one"):
        ServerGroup([])
