"""CfgService answers the recorded requests with the recorded bytes (no I/O).

The view is the recorded cluster's (node N at 198.18.0.N, seen from node 1);
only bytes that belong to no field, and the fields the daemon leaves
uninitialized in an error answer (docs/cfg.md §3.2), may differ.
"""

from __future__ import annotations

from pyquorum.fake.cfg_service import CfgService
from pyquorum.messages import cfg
from tests.support.cfg_fixtures import load, zero_garbage

_ERROR_FIELDS = (24, 32)  # family and num_addrs of an error answer


class RecordedCluster:
    def local_nodeid(self) -> int:
        return 1

    def node_addrs(self, nodeid: int) -> list[str] | None:
        return [f"198.18.0.{nodeid}"] if nodeid in (1, 2, 3) else None


def answer(request: str) -> bytes:
    data, _ = load(request)
    return cfg.encode_response(CfgService(RecordedCluster()).answer(cfg.decode_request(data)))


def recorded(response: str, *, error_fields: bool = False) -> bytes:
    data, msg = load(response)
    out = bytearray(zero_garbage(data, msg))
    if error_fields:
        start, end = _ERROR_FIELDS
        out[start:end] = bytes(end - start)
    return bytes(out)


def test_libcfgs_own_request_gets_the_recorded_answer() -> None:
    assert answer("request_get_node_addrs_libcfg") == recorded("response_get_node_addrs_local")


def test_the_recorded_exchanges() -> None:
    assert answer("request_get_node_addrs_local") == recorded("response_get_node_addrs_local")
    assert answer("request_get_node_addrs_node2") == recorded("response_get_node_addrs_node2")
    assert answer("request_local_get") == recorded("response_local_get")
    assert answer("request_unknown") == recorded("response_unknown")


def test_an_unknown_node_as_recorded_but_for_the_uninitialized_fields() -> None:
    got = cfg.encode_response(
        CfgService(RecordedCluster()).answer(cfg.GetNodeAddrsRequest(99)))
    assert got == recorded("response_get_node_addrs_unknown", error_fields=True)
