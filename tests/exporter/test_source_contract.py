"""The Source contract, on the ScriptedSource (the corosync-backed source gets it live)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pyquorum.exporter.source import ScriptedSource, Source
from tests.support.exporter_builders import healthy_cluster, knet
from tests.support.exporter_source_contract import ALL_CHECKS


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_scripted_source(check: Callable[[Source], None]) -> None:
    check(ScriptedSource(healthy_cluster(), stats=[knet({(2, 0): {"connected": 1}})]))


def test_the_contract_catches_a_source_without_quorate() -> None:
    from tests.support.exporter_source_contract import check_connect_gives_a_first_picture

    with pytest.raises(AssertionError, match="quorate"):
        check_connect_gives_a_first_picture(ScriptedSource(healthy_cluster()[2:]))
