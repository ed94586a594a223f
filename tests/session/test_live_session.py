"""QuorumSession against a real single-node corosync, on both libqb transports.

Fixtures (tests/conftest.py) give each test a fresh corosync in its own
network namespace; the session is created inside that namespace and then
used from anywhere.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pyquorum import QuorumSession
from pyquorum.errors import (
    BadHandleError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    ExistError,
    TryAgainError,
)
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
)

Node = Any  # pyquorum.testing.cluster.Node
ROOT = Path(__file__).resolve().parents[2]


def open_session(node: Node, model: Model = Model.V1, **kw: Any) -> QuorumSession:
    with node.netns_context():
        return QuorumSession(model, timeout=10, **kw)


class Recorder:
    def __init__(self) -> None:
        self.got: list[object] = []

    def __call__(self, session: QuorumSession, event: object) -> None:
        self.got.append(event)


def check_snapshot(events: Sequence[object], members: tuple[int, ...] = (1,)) -> None:
    nodelist, quorum = events
    assert isinstance(nodelist, NodelistNotification)
    assert (nodelist.members, nodelist.joined, nodelist.left) == (members, (), ())
    assert isinstance(quorum, QuorumNotification)
    assert quorum.quorate and quorum.members == members
    assert quorum.ring_id == nodelist.ring_id and quorum.ring_id.nodeid == 1


def test_v1_session_calls_and_snapshot_through_callbacks(corosync_node_any: Node) -> None:
    rec = Recorder()
    with open_session(corosync_node_any, quorum_notify=rec, nodelist_notify=rec) as session:
        assert session.model is Model.V1
        assert session.quorum_type is QuorumType.SET
        assert session.getquorate() is True
        assert session.dispatch(DispatchMode.ALL) == 0
        session.trackstart(Track.CURRENT | Track.CHANGES)
        # The snapshot is queued before TRACKSTART's response, so it is all pending now.
        assert session.dispatch(DispatchMode.ALL) == 2
        check_snapshot(rec.got)
        with pytest.raises(TryAgainError):
            session.dispatch(DispatchMode.ONE_NONBLOCKING)


def test_events_iterator_yields_the_snapshot_then_ends(corosync_node_any: Node) -> None:
    with open_session(corosync_node_any) as session:
        session.trackstart(Track.CURRENT)
        t0 = time.monotonic()
        events = list(session.events(timeout=0.3))
        assert time.monotonic() - t0 < 3
        check_snapshot(events)


def test_v0_session_gets_v0_notifications(corosync_node_any: Node) -> None:
    rec = Recorder()
    with open_session(corosync_node_any, Model.V0, quorum_notify=rec) as session:
        assert session.model is Model.V0
        session.trackstart(Track.CURRENT)
        assert session.dispatch(DispatchMode.ONE, timeout=5) == 1
        (event,) = rec.got
        assert isinstance(event, QuorumNotificationV0)
        assert event.quorate and event.members == (1,)


def test_auto_uses_v1_on_this_corosync(corosync_node_any: Node) -> None:
    with open_session(corosync_node_any, Model.AUTO) as session:
        assert session.model is Model.V1


def test_second_trackstart_raises_exist_and_its_snapshot_still_arrives(
    corosync_node_any: Node,
) -> None:
    with open_session(corosync_node_any) as session:
        session.trackstart(Track.CHANGES)
        check_snapshot(list(session.events(timeout=0.3)))
        with pytest.raises(ExistError):
            session.trackstart(Track.CURRENT)
        check_snapshot(list(session.events(timeout=0.3)))


def test_trackstop_answers_ok_even_when_not_tracking(corosync_node_any: Node) -> None:
    with open_session(corosync_node_any) as session:
        session.trackstop()
        session.trackstart(Track.CHANGES_ONLY)
        session.trackstop()
        session.trackstop()
        assert list(session.events(timeout=0.3)) == []


def test_fileno_is_readable_while_events_are_pending(corosync_node_any: Node) -> None:
    with open_session(corosync_node_any) as session:
        fd = session.fileno()
        assert select.select([fd], [], [], 0.1)[0] == []
        session.trackstart(Track.CURRENT)
        assert select.select([fd], [], [], 2)[0] == [fd]
        assert session.dispatch(DispatchMode.ALL) == 2
        assert select.select([fd], [], [], 0.2)[0] == []


def test_callback_may_finalize(corosync_node_any: Node) -> None:
    seen: list[object] = []

    def stop(session: QuorumSession, event: object) -> None:
        seen.append(event)
        session.finalize()

    session = open_session(corosync_node_any, nodelist_notify=stop, quorum_notify=stop)
    session.trackstart(Track.CURRENT)
    assert session.dispatch(DispatchMode.BLOCKING) == 1
    assert session.closed and len(seen) == 1
    with pytest.raises(BadHandleError):
        session.getquorate()


def test_finalize_from_another_thread_ends_a_blocking_dispatch(corosync_node_any: Node) -> None:
    session = open_session(corosync_node_any)
    session.trackstart(Track.CHANGES_ONLY)
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(session.dispatch(DispatchMode.BLOCKING)))
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    session.finalize()
    t.join(5)
    assert not t.is_alive()
    assert result == [0]
    assert time.monotonic() - t0 < 3


def test_requests_from_threads_while_dispatching(corosync_node_any: Node) -> None:
    rec = Recorder()
    with open_session(corosync_node_any, quorum_notify=rec, nodelist_notify=rec) as session:
        dispatcher = threading.Thread(target=session.dispatch, args=(DispatchMode.BLOCKING,))
        dispatcher.start()
        answers: list[bool] = []

        def ask() -> None:
            for _ in range(50):
                answers.append(session.getquorate())

        workers = [threading.Thread(target=ask) for _ in range(4)]
        for w in workers:
            w.start()
        session.trackstart(Track.CURRENT)  # a snapshot for the dispatcher, mid-traffic
        for w in workers:
            w.join(30)
        deadline = time.monotonic() + 5
        while len(rec.got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    dispatcher.join(5)
    assert not dispatcher.is_alive()
    assert answers == [True] * 200
    check_snapshot(rec.got)


def test_request_timeout_then_the_session_goes_on(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with open_session(node) as session:
        node.pause()
        try:
            with pytest.raises(CsTimeoutError):
                session.getquorate(timeout=0.3)
        finally:
            node.resume()
        assert session.getquorate() is True


def test_dead_daemon_ends_a_blocking_dispatch_within_3_s(corosync_node_any: Node) -> None:
    node = corosync_node_any
    session = open_session(node)
    session.trackstart(Track.CHANGES_ONLY)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            session.dispatch(DispatchMode.BLOCKING)
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.2)
    killed_at = time.monotonic()
    os.kill(node.pid, signal.SIGKILL)
    t.join(10)
    assert time.monotonic() - killed_at < 3.0
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLost), outcome
    session.close()


def test_dead_daemon_ends_a_request_without_timeout_within_3_s(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with open_session(node) as session:
        node.pause()  # the request is queued, never answered
        threading.Timer(0.3, os.kill, (node.pid, signal.SIGKILL)).start()
        t0 = time.monotonic()
        with pytest.raises(ConnectionLost):
            session.getquorate(timeout=None)
        assert time.monotonic() - t0 < 3.3


def test_no_daemon_is_corosync_not_running(corosync_node_any: Node) -> None:
    node = corosync_node_any
    node.stop()
    with node.netns_context(), pytest.raises(CorosyncNotRunning):
        QuorumSession(timeout=2)


# -- the command, as a process in the node's namespace --------------------------------------


def pyquorum(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with node.netns_context():  # the child inherits this thread's namespace
        return subprocess.run([sys.executable, "-m", "pyquorum", *args], capture_output=True,
                              text=True, timeout=60, env=env, check=False)


def test_cli_status(corosync_node_any: Node) -> None:
    proc = pyquorum(corosync_node_any, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["quorum_type"] == "set" and status["quorate"] is True
    assert status["members"] == [1] and status["ring_id"]["nodeid"] == 1
    text = pyquorum(corosync_node_any, "status")
    # The text form lines up its values as corosync-quorumtool -s does.
    assert text.returncode == 0 and "\nQuorate:          Yes\n" in text.stdout


def test_cli_watch(corosync_node_any: Node) -> None:
    proc = pyquorum(corosync_node_any, "watch", "--json", "--count", "2")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["type"] for e in events] == ["nodelist", "quorum"]
    assert events[0]["ring_id"] == events[1]["ring_id"]
    v0 = pyquorum(corosync_node_any, "watch", "--model", "v0", "--json", "--count", "1")
    assert v0.returncode == 0 and json.loads(v0.stdout)["type"] == "quorum_v0"


def test_cli_without_daemon_is_one_line(corosync_node_any: Node) -> None:
    corosync_node_any.stop()
    proc = pyquorum(corosync_node_any, "status")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyquorum: corosync is not running")
    assert proc.stderr.count("\n") == 1


def test_cli_watch_ctrl_c_exits_130_quietly(corosync_node_any: Node) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with corosync_node_any.netns_context():
        proc = subprocess.Popen([sys.executable, "-m", "pyquorum", "watch", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["type"] == "nodelist"  # watching now
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 130
    assert proc.stderr.read() == b""
