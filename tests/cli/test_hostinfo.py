"""The host's corosync and libqb versions (pyquorum.hostinfo), as ``pyquorum record`` asks them."""

from __future__ import annotations

import os

import pytest

from pyquorum.hostinfo import _upstream as upstream
from pyquorum.hostinfo import corosync_version, libqb_version


def test_upstream_versions_drop_epoch_and_revision() -> None:
    assert upstream("2.0.6-2") == "2.0.6"
    assert upstream("1:3.1.7-1+deb12u2") == "3.1.7"
    assert upstream("2.0.6") == "2.0.6"


def test_versions_are_strings_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for found in (corosync_version(), libqb_version()):
        assert found is None or (isinstance(found, str) and found[0].isdigit())
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    assert corosync_version() is None
    assert libqb_version() is None
