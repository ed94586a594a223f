"""The committed multi-connection captures (fixtures/captures/sessions/, format
version 2, recorded from a live 3-node cluster by ``scripts/record-fixtures
--only sessions``) replay to what the live commands printed, with no corosync
anywhere.

``status`` (its cmap, quorum and votequorum connections), ``watch
--votequorum`` and ``watch --reconnect`` across a restart of node 1's corosync.
Every message of every connection decodes as its service's, and the fake
serves each capture's quorum story.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyquorum import cli
from pyquorum.capture import Channel, CloseReason, decoded, read_capture
from pyquorum.fake.replay import script_from_capture

SESSIONS = Path(__file__).resolve().parents[2] / "fixtures" / "captures" / "sessions"
#: capture -> (what the live command printed, replay's options)
PRINTED = {
    "status": ("status.json", ["--json"]),
    "status-text": ("status-text.out", []),
    "watch-votequorum": ("watch-votequorum.jsonl", ["--json"]),
    "watch-reconnect": ("watch-reconnect.jsonl", ["--json"]),
}


def test_every_session_capture_has_what_was_printed() -> None:
    assert sorted(p.stem for p in SESSIONS.glob("*.pqcap")) == sorted(PRINTED)


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_replay_prints_what_the_live_command_printed(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    printed, options = PRINTED[name]
    assert cli.main(["replay", str(SESSIONS / f"{name}.pqcap"), *options]) == 0
    assert capsys.readouterr().out == (SESSIONS / printed).read_text()


def test_a_status_capture_holds_its_three_services() -> None:
    capture = read_capture(SESSIONS / "status.pqcap")
    assert capture.header.command == ("status",)
    assert [c.service for c in capture.connections] == ["quorum", "cmap", "votequorum"]
    assert all(c.reason is CloseReason.CLOSED for c in capture.connections)
    status = json.loads((SESSIONS / "status.json").read_text())
    assert status["members"] == [1, 2, 3] and status["votequorum"]["quorum"] == 2
    names = {n["nodeid"]: n["name"] for n in status["nodes"]}
    assert names == {1: "node1", 2: "node2", 3: "node3"}  # from cmap's nodelist


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_every_message_decodes_as_its_services(name: str) -> None:
    capture = read_capture(SESSIONS / f"{name}.pqcap")
    messages = list(decoded(capture))
    assert len(messages) == len(capture.records)
    assert all(message is not None for _, _, message in messages), [
        (c.service, r.channel, r.data[:16].hex()) for c, r, m in messages if m is None]


def test_a_reconnecting_watch_has_its_gap() -> None:
    capture = read_capture(SESSIONS / "watch-reconnect.pqcap")
    first, second = capture.connections
    assert (first.reason, second.reason) == (CloseReason.LOST, CloseReason.CLOSED)
    assert first.error == "connection to corosync's quorum service lost: the daemon hung up"
    assert first.closed is not None and second.opened > first.closed
    assert second.attempts > 1  # the restart refused the first tries
    assert [len(capture.records_of(c)) for c in (first, second)] == [6, 8]


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_the_fake_serves_each_captures_quorum_story(name: str) -> None:
    story = script_from_capture(SESSIONS / f"{name}.pqcap")
    assert story.initial.members == (1, 2, 3) and story.initial.quorate
    capture = read_capture(SESSIONS / f"{name}.pqcap")
    if name == "watch-reconnect":  # node 1 alone after its restart, then the three again
        assert [(s.members, s.quorate) for s in story.steps] == [((1,), False),
                                                                 ((1, 2, 3), True)]
    else:  # one state: the reads of status and the watch's snapshot
        assert story.steps == ()
    assert capture.channel(Channel.EVENT)
