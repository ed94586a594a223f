"""``cmap``, ``expected``, ``votes`` and ``watch --votequorum`` without a daemon:
how values and changes print, how two sessions' events merge, and the one-line errors.
(tests/status/test_live_commands.py runs them against corosync and its tools.)"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum import cli
from pyquorum.commands import _voting
from pyquorum.commands._watching import merge_events
from pyquorum.commands.cmap import change_to_dict, change_to_text, entry_to_dict, entry_to_text
from pyquorum.errors import CorosyncNotRunning, InvalidParamError, NameNotFoundError
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapTrack, CmapValueType
from pyquorum.services.cmap.core import CmapChange, Tracker

T = CmapValueType


@pytest.mark.parametrize(
    ("value", "text", "json_value"),
    [
        (CmapValue(T.INT8, -5), "k (i8) = -5", -5),
        (CmapValue(T.UINT64, 2**64 - 1), f"k (u64) = {2**64 - 1}", 2**64 - 1),
        (CmapValue(T.FLOAT, 0.5), "k (flt) = 0.500000", 0.5),
        (CmapValue(T.DOUBLE, 2.0), "k (dbl) = 2.000000", 2.0),
        (CmapValue(T.STRING, "node1"), "k (str) = node1", "node1"),
        (CmapValue(T.BINARY, b"a\\b\x00\xff"), "k (bin) = a\\\\b\\x00\\xFF", "615c6200ff"),
        (CmapValue(T.BINARY, b""), "k (bin) = *empty*", ""),
        (CmapValue(99, b"\x01"), "k (99) = \\x01", "01"),
    ],
)
def test_values_print_as_cmapctl_prints_them(value: CmapValue, text: str,
                                             json_value: Any) -> None:
    assert entry_to_text("k", value) == text
    assert entry_to_dict("k", value)["value"] == json_value


def test_changes_print_as_cmapctl_tracks_them() -> None:
    tracker = Tracker(1, "a.", CmapTrack.PREFIX, None)
    old, new = CmapValue(T.UINT32, 1), CmapValue(T.UINT32, 2)
    assert change_to_text(CmapChange(tracker, "a.b", CmapTrack.ADD, new, None)) \
        == "create> a.b (u32) = 2"
    assert change_to_text(CmapChange(tracker, "a.b", CmapTrack.DELETE, None, old)) \
        == "delete> a.b (u32) = 1"
    assert change_to_dict(CmapChange(tracker, "a.b", CmapTrack.MODIFY, new, old)) == {
        "event": "modify", "key": "a.b", "new": {"type": "u32", "value": 2},
        "old": {"type": "u32", "value": 1}}
    assert change_to_text(CmapChange(tracker, "a.b", 64, None, None)) == "unknown change> a.b"


class PipeSource:
    """A session stand-in: its fd turns readable when an event is queued."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.queued: list[str] = []

    def put(self, event: str) -> None:
        self.queued.append(event)
        os.write(self.w, b"x")

    def fileno(self) -> int:
        return self.r

    def events(self, timeout: float | None = None) -> Iterator[str]:
        assert timeout == 0  # merge_events never waits inside a session
        while self.queued:
            os.read(self.r, 1)
            yield self.queued.pop(0)

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


def take(stream: Iterator[str], n: int | None, within: float = 5.0) -> list[str]:
    """The next ``n`` items (None: all), read on a thread so a broken merge fails, not hangs."""
    got: list[str] = []

    def pump() -> None:
        for item in stream:
            got.append(item)
            if n is not None and len(got) == n:
                return

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"only {got} within {within} s"
    return got


def test_merged_events_come_in_arrival_order_and_end_when_quiet() -> None:
    a, b = PipeSource(), PipeSource()
    try:
        a.put("a1")
        b.put("b1")
        stream = merge_events([a, b], timeout=0.2)
        assert take(stream, 2) == ["a1", "b1"]
        b.put("b2")
        assert take(stream, 1) == ["b2"]
        a.put("a2")
        assert take(stream, None) == ["a2"]  # then 0.2 s without an event ends it
    finally:
        a.close()
        b.close()


class Refusing:
    """A votequorum session that refuses every change."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __enter__(self) -> Refusing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def setexpected(self, expected_votes: int) -> None:
        raise self.exc

    def setvotes(self, nodeid: int, votes: int) -> None:
        raise self.exc


@pytest.mark.parametrize(
    ("argv", "exc", "message"),
    [
        (["expected", "9"], InvalidParamError("no"),
         "votequorum refused expected votes 9 (CS_ERR_INVALID_PARAM); the votes present must "
         "be able to reach the new quorum, see pyquorum status"),
        (["votes", "0x9", "2"], NameNotFoundError("no"),
         "votequorum refused 2 votes for node 9: it knows no such node "
         "(CS_ERR_NAME_NOT_FOUND); pyquorum status lists the node ids"),
    ],
)
def test_refusals_are_one_line(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], argv: list[str],
                               exc: Exception, message: str) -> None:
    monkeypatch.setattr(_voting, "open_votequorum", lambda timeout: Refusing(exc))
    assert cli.main(argv) == 1
    assert capsys.readouterr() == ("", f"pyquorum: {message}\n")


def test_no_votequorum_served_says_why(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    def absent(**kw: Any) -> None:
        raise CorosyncNotRunning("nothing listens")

    monkeypatch.setattr(_voting, "VotequorumSession", absent)
    assert cli.main(["votes", "1", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pyquorum: nothing serves votequorum here") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["votes", "1", "-1"], ["expected", "0"], ["cmap"],
                                  ["cmap", "get"], ["votes", "0x1ffffffff", "1"]])
def test_usage_errors_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 1
    assert "usage:" in capsys.readouterr().err
