"""CmapCore on bytes recorded from corosync (fixtures/cmap), no I/O."""

from __future__ import annotations

import pytest

from pyquorum.errors import (
    BadHandleError,
    BusyError,
    InvalidParamError,
    LibraryError,
    NotExistError,
    RemoteProtocolError,
)
from pyquorum.messages import cmap as cm
from pyquorum.messages.constants import CmapMap, CmapTrack, CmapValueType
from pyquorum.services.cmap.core import CmapCallbacks, CmapChange, CmapCore, IterEntry
from tests.support.service_fixtures import load

PREFIX = "testing.pyquorum."


def raw(name: str) -> bytes:
    return load("cmap", name).data


def name_of_cluster() -> str:
    value = load("cmap", "response_get_cluster_name").expected
    assert isinstance(value, cm.GetResponse) and value.value is not None
    assert isinstance(value.value.value, str)
    return value.value.value


def test_get_measures_then_reads() -> None:
    op = CmapCore().get("totem.cluster_name")
    assert op.request == raw("request_get_probe")
    op.feed(raw("response_get_probe"))
    assert not op.done
    assert op.request == raw("request_get_cluster_name")
    op.feed(raw("response_get_cluster_name"))
    assert op.result == cm.CmapValue.string(name_of_cluster())


def test_get_measures_again_when_the_value_grew() -> None:
    op = CmapCore().get("totem.cluster_name")
    op.feed(raw("response_get_probe"))
    op.feed(raw("response_get_too_small"))  # grew between the probe and the GET
    assert op.request == raw("request_get_probe")
    op.feed(raw("response_get_probe"))
    op.feed(raw("response_get_cluster_name"))
    assert op.result == cm.CmapValue.string(name_of_cluster())


def test_get_gives_up_when_the_value_keeps_growing() -> None:
    op = CmapCore().get("totem.cluster_name")
    with pytest.raises(InvalidParamError):
        while not op.done:
            op.feed(raw("response_get_probe" if op.request == raw("request_get_probe")
                        else "response_get_too_small"))


def test_get_with_room_is_one_exchange() -> None:
    op = CmapCore().get("totem.cluster_name", room=2)
    with pytest.raises(InvalidParamError):
        op.feed(raw("response_get_too_small"))
    op = CmapCore().get("runtime.votequorum.this_node_id", room=4)
    op.feed(raw("response_get_u32"))
    assert op.result == cm.CmapValue(CmapValueType.UINT32, 1)


def test_missing_key() -> None:
    op = CmapCore().get("testing.pyquorum.missing")
    with pytest.raises(NotExistError):
        op.feed(raw("response_get_missing"))
    delete = CmapCore().delete(PREFIX + "binary")
    assert delete.request == raw("request_delete")
    with pytest.raises(NotExistError):
        delete.feed(raw("response_delete_missing"))


def test_probe() -> None:
    op = CmapCore().probe("totem.cluster_name")
    op.feed(raw("response_get_probe"))
    assert op.result == (CmapValueType.STRING, len(name_of_cluster()) + 1)


def test_set_and_adjust() -> None:
    core = CmapCore()
    op = core.set(PREFIX + "uint32", cm.CmapValue(CmapValueType.UINT32, 3232323232))
    assert op.request == raw("request_set_uint32")
    op.feed(raw("response_set_uint32"))
    inc = core.inc(PREFIX + "uint32")
    assert inc.request == raw("request_adjust_inc")
    inc.feed(raw("response_adjust_inc"))
    dec = core.dec(PREFIX + "string")
    with pytest.raises(InvalidParamError):
        dec.feed(raw("response_adjust_string"))


def test_an_answer_of_another_kind_raises_its_error_then_is_a_protocol_error() -> None:
    op = CmapCore().delete(PREFIX + "x")
    with pytest.raises(NotExistError):
        op.feed(cm.encode_response(cm.SetResponse(12)))
    op = CmapCore().delete(PREFIX + "x")
    with pytest.raises(RemoteProtocolError):
        op.feed(cm.encode_response(cm.SetResponse(1)))


def test_iteration_by_steps() -> None:
    core = CmapCore()
    op = core.iter_init(PREFIX)
    assert op.request == raw("request_iter_init")
    op.feed(raw("response_iter_init"))
    handle = op.result
    nxt = core.iter_next(handle)
    assert nxt.request == raw("request_iter_next")
    nxt.feed(raw("response_iter_next"))
    assert nxt.result == IterEntry(PREFIX + "double", CmapValueType.DOUBLE, 8)
    end = core.iter_next(handle)
    end.feed(raw("response_iter_end"))
    assert end.result is None
    fin = core.iter_finalize(handle)
    assert fin.request == raw("request_iter_finalize")
    fin.feed(raw("response_iter_finalize"))


def test_items_walks_gets_and_finalizes() -> None:
    op = CmapCore().items(PREFIX)
    assert op.request == raw("request_iter_init")
    op.feed(raw("response_iter_init"))
    op.feed(raw("response_iter_next"))
    assert cm.decode_request(op.request) == cm.GetRequest(PREFIX + "double", 8)
    op.feed(raw("response_get_double"))
    op.feed(raw("response_iter_end"))
    assert op.request == raw("request_iter_finalize")
    op.feed(raw("response_iter_finalize"))
    value = load("cmap", "response_get_double").expected
    assert isinstance(value, cm.GetResponse)
    assert op.result == {PREFIX + "double": value.value}


def test_items_finalizes_after_an_error() -> None:
    op = CmapCore().items(PREFIX)
    op.feed(raw("response_iter_init"))
    op.feed(raw("response_iter_next_bad_handle"))
    assert not op.done
    assert op.request == raw("request_iter_finalize")
    with pytest.raises(BadHandleError):
        op.feed(raw("response_iter_finalize"))
    assert op.done


def test_items_skips_a_key_deleted_meanwhile() -> None:
    op = CmapCore().items(PREFIX)
    op.feed(raw("response_iter_init"))
    op.feed(raw("response_iter_next"))
    op.feed(raw("response_get_missing"))
    op.feed(raw("response_iter_end"))
    op.feed(raw("response_iter_finalize"))
    assert op.result == {}


def test_tracking() -> None:
    core = CmapCore()
    track = CmapTrack.ADD | CmapTrack.DELETE | CmapTrack.MODIFY | CmapTrack.PREFIX
    op = core.track_add(PREFIX, track, user="mine")
    req = cm.decode_request(op.request)
    assert isinstance(req, cm.TrackAddRequest)
    assert (req.key, req.track_type) == (PREFIX, track)
    op.feed(raw("response_track_add"))
    tracker = op.result
    assert tracker.user == "mine" and core.trackers == (tracker,)

    recorded = load("cmap", "notification_modify").expected
    assert isinstance(recorded, cm.NotifyCallback)
    ours = cm.NotifyCallback(req.track_inst_handle, recorded.key, recorded.event,
                             recorded.new_value, recorded.old_value)
    change = core.handle_event(cm.encode_notification(ours))
    assert change == CmapChange(tracker, recorded.key, CmapTrack.MODIFY,
                                recorded.new_value, recorded.old_value)
    seen: list[CmapChange] = []
    assert CmapCallbacks[str](lambda s, c: seen.append(c)).call("s", change)
    assert seen == [change]
    # the recorded one names another client's handle: not ours, dropped as libcmap does
    assert core.handle_event(raw("notification_modify")) is None

    delete = core.track_delete(tracker)
    delete.feed(cm.encode_response(cm.TrackDeleteResponse(1, req.track_inst_handle)))
    assert len(core.trackers) == 0
    assert core.handle_event(cm.encode_notification(ours)) is None


def current_map(core: CmapCore) -> CmapMap | int:
    return core.map


def test_set_current_map() -> None:
    core = CmapCore()
    op = core.set_current_map(CmapMap.STATS)
    assert op.request == raw("request_set_current_map")
    with pytest.raises(BusyError):
        op.feed(raw("response_set_current_map_busy"))
    assert current_map(core) is CmapMap.DEFAULT
    op = core.set_current_map(CmapMap.STATS)
    op.feed(raw("response_set_current_map"))
    assert current_map(core) is CmapMap.STATS
    with pytest.raises(NotExistError):
        core.set_current_map(7).feed(raw("response_set_current_map_bad"))


def test_unknown_event_and_closed() -> None:
    core = CmapCore()
    with pytest.raises(LibraryError):
        core.handle_event(cm.encode_notification(cm.UnknownNotification(3, 1, b"")))
    core.close()
    with pytest.raises(BadHandleError):
        core.get("a.b")
    with pytest.raises(BadHandleError):
        core.handle_event(raw("notification_modify"))


def test_requests_match_libcmap() -> None:
    """The core sends what libcmap sends for the same calls (recorded with strace)."""
    core = CmapCore()
    assert core.get("totem.cluster_name").request == raw("request_get_libcmap")
    uint32 = cm.CmapValue(CmapValueType.UINT32, 5)
    assert core.set(PREFIX + "c", uint32).request == raw("request_set_libcmap")
    assert core.delete(PREFIX + "c").request == raw("request_delete_libcmap")
    assert core.iter_init("stats.srp.orf_token_rx").request == raw("request_iter_init_libcmap")
    handle = 7799537721931726848
    assert core.iter_next(handle).request == raw("request_iter_next_libcmap")
    assert core.iter_finalize(handle).request == raw("request_iter_finalize_libcmap")
    assert core.set_current_map(CmapMap.DEFAULT).request == raw("request_set_current_map_libcmap")
