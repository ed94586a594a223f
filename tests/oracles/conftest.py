"""Fixtures for the oracle tests: the C oracles, built once per session."""

from __future__ import annotations

import pytest

from tests.support.oracles import require_oracles


@pytest.fixture(scope="session")
def oracles_built() -> None:
    """Build the votequorum and cmap oracles, or skip (fail under PYQUORUM_REQUIRE_COROSYNC=1)."""
    require_oracles("votequorum", "cmap")
