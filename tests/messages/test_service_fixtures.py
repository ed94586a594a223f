"""votequorum and cmap bytes recorded from corosync decode to what was seen, and back."""

from __future__ import annotations

import pytest

from pyquorum.errors import CsErrorCode
from pyquorum.messages import cmap, votequorum
from pyquorum.messages.constants import CmapValueType, NodeState
from tests.support.service_fixtures import Fixture, all_fixtures, fixture_ids, load, zero_garbage

FIXTURES = all_fixtures()
IDS = [str(f) for f in FIXTURES]


def test_fixtures_exist() -> None:
    services = {service for service, _ in fixture_ids()}
    assert services == {"votequorum", "cmap"}
    assert len(FIXTURES) >= 60


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_decodes_as_recorded(fx: Fixture) -> None:
    assert fx.decoder()(fx.data) == fx.expected
    assert fx.decoder()(memoryview(bytearray(fx.data))) == fx.expected  # type: ignore[arg-type]


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_encodes_to_the_recorded_bytes_without_garbage(fx: Fixture) -> None:
    assert fx.encoder()(fx.expected) == zero_garbage(fx.data, fx.expected)


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_types_survive(fx: Fixture) -> None:
    """Field types of the decoding: enums where the value is known (docs: typed errors)."""
    decoded = fx.decoder()(fx.data)
    error = getattr(decoded, "error", None)
    if error is not None:
        assert isinstance(error, CsErrorCode)


def test_every_message_class_was_recorded() -> None:
    """Each request, response and notification class, except the unknown-event ones
    (corosync has no event id outside the known ones to send)."""
    seen = {type(f.expected) for f in FIXTURES}
    for module in (votequorum, cmap):
        for name in module.__all__:
            cls = getattr(module, name)
            if (
                isinstance(cls, type)
                and issubclass(cls, module.Request | module.Response | module.Notification)
                and cls not in (module.Request, module.Response, module.Notification,
                                module.UnknownNotification)
            ):
                assert cls in seen, f"{module.__name__}.{name} has no fixture"


def test_every_value_type_was_recorded() -> None:
    seen = {
        f.expected.value.type
        for f in FIXTURES
        if isinstance(f.expected, cmap.GetResponse) and f.expected.value is not None
    }
    assert seen == set(CmapValueType)


def error_of(service: str, name: str) -> int:
    msg = load(service, name).expected
    assert isinstance(msg, votequorum.Response | cmap.Response)
    return msg.error


def test_live_facts() -> None:
    """What the daemon said, as docs/votequorum.md §3 and docs/cmap.md §3 describe it."""
    assert error_of("votequorum", "response_getinfo_unknown") == CsErrorCode.ERR_NOT_EXIST
    assert error_of("votequorum", "response_setexpected_too_high") == CsErrorCode.ERR_INVALID_PARAM
    assert error_of("votequorum", "response_trackstart_again") == CsErrorCode.ERR_EXIST
    leave = load("votequorum", "notification_quorum_leave").expected
    assert isinstance(leave, votequorum.QuorumNotification)
    assert {n.nodeid: n.state for n in leave.nodes}[3] == NodeState.DEAD
    probe = load("cmap", "response_get_probe").expected
    assert isinstance(probe, cmap.GetResponse)
    assert probe.value is None and probe.room == 0 and probe.value_len > 0
    assert error_of("cmap", "response_get_missing") == CsErrorCode.ERR_NOT_EXIST
    assert error_of("cmap", "response_get_too_small") == CsErrorCode.ERR_INVALID_PARAM
    assert error_of("cmap", "response_iter_end") == CsErrorCode.ERR_NO_SECTIONS
    larger = load("cmap", "response_get_room_larger")
    assert len(larger.data) == 40 + 64  # sized by the room asked for, not by the value
    delete = load("cmap", "notification_delete").expected
    assert isinstance(delete, cmap.NotifyCallback)
    assert delete.new_value is None and delete.old_value is not None
