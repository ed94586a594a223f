"""Fixtures for the fake-server tests.

Every fake here runs in a private network namespace (``netns=True``), so it
serves ``@quorum`` without ever meeting a real corosync; that needs root,
without which these tests skip (or fail under ``PYQUORUM_REQUIRE_COROSYNC=1``).
After each test, no /dev/shm directory of this process's servers may remain.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyquorum.testing.fake import fake_corosync as fake_corosync  # the plugin's fixture
from pyquorum.testing.fake import fake_quorum as fake_quorum  # the plugin's fixture
from tests.support.fake import TRANSPORTS, CorosyncFactory, Factory, server_dirs, wait_until
from tests.support.live import require_live
from tests.support.oracles import require_oracle


@pytest.fixture(scope="session")
def oracle() -> Path:
    """The C libquorum client (tests/c/quorum_oracle.c), built once."""
    return require_oracle()


@pytest.fixture
def fake(fake_quorum: Factory) -> Factory:
    """``fake_quorum`` (see pyquorum.testing.fake), for root only: private namespaces."""
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")
    return fake_quorum


@pytest.fixture(autouse=True)
def _no_debris() -> Iterator[None]:
    before = server_dirs()
    yield
    # Teardown is synchronous when a server stops; a client that closed just
    # now may still be being torn down by a running server, so allow a moment.
    wait_until(lambda: server_dirs() == before, 5.0, "the fake's /dev/shm files to go")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def corosync(fake_corosync: CorosyncFactory) -> CorosyncFactory:
    """``fake_corosync`` (see pyquorum.testing.fake), for root only: private namespaces."""
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")
    return fake_corosync
