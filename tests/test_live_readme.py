"""The README's Python examples run as shown, against a live corosync, and print
what the README says they print.

Each example has a check below that reads its output line by line: the
values a one-node cluster must give (quorate, the node's id, the snapshot's
two events with one ring id, the capture's message sizes), not just a word
somewhere in the text.  An example without a check fails, so a new one
cannot slip in unchecked.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)

_RING = r"RingId\(nodeid=(?P<{0}>\d+), seq=(?P<{1}>\d+)\)"
NODELIST = re.compile(
    r"NodelistNotification\(ring_id=" + _RING.format("nodeid", "seq")
    + r", members=(?P<members>\([\d, ]*\)), joined=(?P<joined>\([\d, ]*\)),"
    r" left=(?P<left>\([\d, ]*\))\)")
QUORUM = re.compile(
    r"QuorumNotification\(quorate=(?P<quorate>True|False), ring_id="
    + _RING.format("nodeid", "seq") + r", members=(?P<members>\([\d, ]*\))\)")


def _match(pattern: re.Pattern[str], line: str) -> re.Match[str]:
    match = pattern.fullmatch(line)
    assert match, f"{line!r} is not {pattern.pattern}"
    return match


def _snapshot(lines: list[str], nodeid: int) -> None:
    """A one-node V1 snapshot: the node list, then quorum, on one ring id."""
    assert len(lines) == 2, lines
    nodelist, quorum = _match(NODELIST, lines[0]), _match(QUORUM, lines[1])
    assert nodelist["members"] == f"({nodeid},)"
    assert (nodelist["joined"], nodelist["left"]) == ("()", "()")
    assert quorum["quorate"] == "True"
    assert quorum["members"] == f"({nodeid},)"
    assert (nodelist["nodeid"], nodelist["seq"]) == (quorum["nodeid"], quorum["seq"])
    assert int(nodelist["nodeid"]) == nodeid


def check_session(lines: list[str], node: Any) -> None:
    assert lines[:2] == ["quorum type: SET", "quorate: True"]
    _snapshot(lines[2:], node.nodeid)


def check_callbacks(lines: list[str], node: Any) -> None:
    # finalize() in the quorum callback ends the blocking dispatch after
    # exactly one snapshot; the ring id prints as nodeid.seq in hex.
    assert len(lines) == 2, lines
    assert lines[0] == f"members ({node.nodeid},) joined () left ()"
    assert re.fullmatch(rf"quorate ring {node.nodeid:x}\.[0-9a-f]+", lines[1]), lines[1]


def check_quorate_then_snapshot(lines: list[str], node: Any) -> None:
    assert lines[0] == "quorate: True"
    _snapshot(lines[1:], node.nodeid)


def check_fake_story(lines: list[str], node: Any) -> None:
    # Script.build([1, 2, 3], steps: members (1, 2); then (1,), not quorate).
    assert len(lines) == 6, lines
    expected = [((1, 2, 3), (), (), True), ((1, 2), (), (3,), True), ((1,), (), (2,), False)]
    seqs = []
    for (members, joined, left, quorate), (first, second) in zip(
            expected, zip(lines[::2], lines[1::2], strict=True), strict=True):
        nodelist, quorum = _match(NODELIST, first), _match(QUORUM, second)
        assert nodelist["members"] == quorum["members"] == repr(members)
        assert (nodelist["joined"], nodelist["left"]) == (repr(joined), repr(left))
        assert quorum["quorate"] == str(quorate)
        assert nodelist["seq"] == quorum["seq"]
        seqs.append(int(nodelist["seq"]))
    assert seqs == sorted(set(seqs)), f"ring ids must grow: {seqs}"


def check_capture(lines: list[str], node: Any) -> None:
    assert lines[:2] == ["quorate: True", "votes: 1"]
    assert re.fullmatch(r"corosync \d+\.\d+(\.\d+)*", lines[2]), lines[2]
    transport = node.cluster.transport
    assert lines[3] == f"connection 0: quorum over {transport}"
    second = lines.index(f"connection 1: votequorum over {transport}")
    pattern = r"\s*(\d+\.\d{3})s  (\w+)\s+(\d+) bytes"
    quorum = [re.fullmatch(pattern, line) for line in lines[4:second]]
    votequorum = [re.fullmatch(pattern, line) for line in lines[second + 1 :]]
    assert all(quorum) and all(votequorum), lines
    # MODEL_GETTYPE, GETQUORATE, TRACKSTART and their responses, then the
    # one-node snapshot: a node list of one member (68) and quorum (60).
    assert [(r[2], int(r[3])) for r in quorum if r] == [
        ("REQUEST", 24), ("RESPONSE", 32), ("REQUEST", 16), ("RESPONSE", 32),
        ("REQUEST", 24), ("RESPONSE", 24), ("EVENT", 68), ("EVENT", 60)]
    # GETINFO and its answer, on the second connection.
    assert [r[2] for r in votequorum if r] == ["REQUEST", "RESPONSE"]
    times = [float(r[1]) for r in (*quorum, *votequorum) if r]
    assert times == sorted(times)


def check_services(lines: list[str], node: Any) -> None:
    # votequorum's view of a healthy one-node cluster, cmap's nodelist for it, and
    # one tracked change with its old (absent) and new value.
    n = node.nodeid
    assert lines[0] == f"node {n}: votes 1, expected 1, total 1, quorum 1, flags QUORATE"
    assert lines[1] == "provider: corosync_votequorum"
    assert lines[2:-1] == [
        f"nodelist.node.0.name (string) node{n}",
        f"nodelist.node.0.nodeid (uint32) {n}",
        f"nodelist.node.0.ring0_addr (string) 198.18.0.{n}",
    ]
    assert lines[-1] == "ADD pyquorum.example (string) hello was None"


#: Each example is recognised by a line only it has.
CHECKS: dict[str, Callable[[list[str], Any], None]] = {
    'print("quorum type:"': check_session,
    "def on_nodelist(": check_callbacks,
    "AsyncQuorumSession(": check_quorate_then_snapshot,
    "ReconnectingSession(Model.V1": check_quorate_then_snapshot,
    "FakeQuorumServer(story)": check_fake_story,
    "CaptureWriter(path": check_capture,
    "VotequorumSession(timeout=5)": check_services,
}


def check_for(block: str) -> Callable[[list[str], Any], None]:
    found = [check for key, check in CHECKS.items() if key in block]
    assert len(found) == 1, f"README example has {len(found)} checks, needs one:\n{block}"
    return found[0]


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


def test_every_readme_example_has_one_check() -> None:
    assert len(BLOCKS) == len(CHECKS)
    for block in BLOCKS:
        check_for(block)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, corosync_node_any: Any) -> None:
    check = check_for(BLOCKS[index])
    out = io.StringIO()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with corosync_node_any.netns_context(), contextlib.redirect_stdout(out):
                exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})
        except BaseException as exc:
            errors.append(exc)

    # A thread, so that an example that would block forever fails the test instead.
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "README example did not finish within 30 s"
    assert not errors, errors
    check(out.getvalue().splitlines(), corosync_node_any)
