"""Fixtures for the cfg tests: the fake cfg service runs in a private network
namespace (root), and leaves no /dev/shm file behind."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.fake import server_dirs, wait_until
from tests.support.live import require_live


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        require_live("a private network namespace needs root")


@pytest.fixture(autouse=True)
def _no_debris() -> Iterator[None]:
    before = server_dirs()
    yield
    wait_until(lambda: server_dirs() == before, 5.0, "the fake's /dev/shm files to go")
