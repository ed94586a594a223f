"""Fixtures for the oracle tests: the C oracles, built once per session."""

from __future__ import annotations

import pytest

from tests.oracle import OracleUnavailable, build_oracle
from tests.support.live import require_live


@pytest.fixture(scope="session")
def oracles_built() -> None:
    """Build the votequorum and cmap oracles, or skip (fail under PYQUORUM_REQUIRE_COROSYNC=1)."""
    for name in ("votequorum", "cmap"):
        try:
            build_oracle(name)
        except OracleUnavailable as exc:
            require_live(exc)
