"""How the supervisor's own events print."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pyquorum.events import ConnectionLostEvent, Reconnected
from pyquorum.formatting import event_to_json, event_to_text
from pyquorum.messages.constants import Model, QuorumType
from pyquorum.reconnect import Backoff


def test_json_lines() -> None:
    assert json.loads(event_to_json(ConnectionLostEvent("the daemon hung up"))) == {
        "type": "connection_lost",
        "reason": "the daemon hung up",
    }
    assert json.loads(event_to_json(Reconnected(QuorumType.SET, Model.V1, 3))) == {
        "type": "reconnected",
        "quorum_type": "set",
    }
    assert json.loads(event_to_json(Reconnected(7, Model.V0)))["quorum_type"] == "7"


def test_text_lines() -> None:
    assert "the daemon hung up" in event_to_text(ConnectionLostEvent("the daemon hung up"))
    assert event_to_text(Reconnected(QuorumType.FREE, Model.V1)).endswith("quorum type free")


def test_events_are_frozen_and_distinct_from_the_exception() -> None:
    from pyquorum.errors import ConnectionLost

    ev = ConnectionLostEvent("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.reason = "y"  # type: ignore[misc]
    assert not isinstance(ev, BaseException)
    assert not issubclass(ConnectionLost, ConnectionLostEvent)


def test_backoff_delays_are_bounded() -> None:
    delays = Backoff(initial=0.1, maximum=1, factor=3).delays()
    assert [round(next(delays), 3) for _ in range(5)] == [0.1, 0.3, 0.9, 1, 1]
    assert Backoff(max_attempts=2).exhausted(2)
    assert not Backoff().exhausted(10**6)
    with pytest.raises(ValueError):
        Backoff(initial=0)
    with pytest.raises(ValueError):
        Backoff(factor=0.5)
