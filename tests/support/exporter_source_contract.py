"""What every exporter Source must do, as checks any source can be run through.

``test_source_contract.py`` runs them on the ScriptedSource; the corosync-backed
source's live tests are meant to run the same functions against a real node.
"""

from __future__ import annotations

import time

import pytest

from pyquorum.errors import PyquorumError
from pyquorum.exporter.inputs import (
    CmapNodelist,
    KnetStats,
    NodeInfo,
    Reachable,
    Tracked,
    Unreachable,
)
from pyquorum.exporter.source import Source
from pyquorum.messages import votequorum as vq
from pyquorum.messages.types import NodelistNotification, QuorumNotification

#: What a source may hand out (Reachable/Unreachable are the runner's, not a source's).
SOURCE_INPUTS = (QuorumNotification, NodelistNotification, vq.QuorumNotification,
                 vq.NodelistNotification, vq.ExpectedVotesNotification, NodeInfo,
                 CmapNodelist, KnetStats, Tracked)
#: Slack for a call asked to return within a timeout (thread wake-ups on a busy machine).
SLACK = 0.5


def check_close_is_idempotent(source: Source) -> None:
    source.close()
    source.close()


def check_connect_gives_a_first_picture(source: Source, timeout: float = 5.0) -> None:
    try:
        started = time.monotonic()
        inputs = source.connect(timeout)
        assert time.monotonic() - started <= timeout + SLACK
        assert all(isinstance(i, SOURCE_INPUTS) for i in inputs), inputs
        assert not any(isinstance(i, Reachable | Unreachable) for i in inputs)
        assert any(isinstance(i, QuorumNotification | vq.QuorumNotification) for i in inputs), \
            "the first picture must say whether this node is quorate"
    finally:
        source.close()


def check_poll_and_refresh_keep_their_timeouts(source: Source, timeout: float = 0.3) -> None:
    try:
        source.connect(5.0)
        for call in (source.poll, source.refresh):
            started = time.monotonic()
            items = call(timeout)
            assert time.monotonic() - started <= timeout + SLACK, call
            assert all(isinstance(i, SOURCE_INPUTS) for i in items), items
        started = time.monotonic()
        source.poll(0)
        assert time.monotonic() - started <= SLACK
    finally:
        source.close()


def check_a_closed_source_fails_fast(source: Source) -> None:
    source.connect(5.0)
    source.close()
    for call in (source.poll, source.refresh):
        started = time.monotonic()
        with pytest.raises((PyquorumError, OSError)):
            call(2.0)
        assert time.monotonic() - started <= SLACK


def check_reconnect_after_close(source: Source) -> None:
    for _ in range(3):
        try:
            assert source.connect(5.0)
        finally:
            source.close()


ALL_CHECKS = (check_close_is_idempotent, check_connect_gives_a_first_picture,
              check_poll_and_refresh_keep_their_timeouts, check_a_closed_source_fails_fast,
              check_reconnect_after_close)
