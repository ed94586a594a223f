"""The CLI configures the ``pyquorum`` logger of the process; undo that after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_pyquorum_logger() -> Iterator[None]:
    logger = logging.getLogger("pyquorum")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
