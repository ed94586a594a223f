"""The C oracles a test needs, built, or the test skipped (failed when live tests are required).

Every test that compares pyquorum with a C library asks for its oracle here,
so a missing compiler or header never turns into a silent skip under
``PYQUORUM_REQUIRE_COROSYNC=1``.
"""

from __future__ import annotations

from pathlib import Path

from tests.oracle import OracleUnavailable, build_oracle
from tests.support.live import require_live


def require_oracle(name: str = "quorum") -> Path:
    """The oracle ``name`` (tests/c/<name>_oracle.c), built once per source change."""
    try:
        return build_oracle(name)
    except OracleUnavailable as exc:
        require_live(exc)


def require_oracles(*names: str) -> None:
    """Every oracle named, built."""
    for name in names:
        require_oracle(name)
