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

    def node_status(self, nodeid: int) -> tuple[bool, tuple[cfg.LinkStatus, ...]] | None:
        if nodeid not in (1, 2, 3):
            return None
        # As recorded: itself over its own address, MTU 65535; the others at 1446.
        mtu = 65535 if nodeid == 1 else 1446
        return True, (cfg.LinkStatus(True, True, False, mtu, "198.18.0.1",
                                     f"198.18.0.{nodeid}"),)


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


def test_node_status_as_recorded() -> None:
    """NODESTATUSGET (docs/cfg.md §3.5): this node's and node 2's 4200-byte answers
    byte for byte (padding aside); an unknown node and version 2 get the 32-byte
    answer with the recorded error (its version field is stack bytes there)."""
    assert answer("request_nodestatusget_local") == recorded("response_nodestatusget_local")
    service = CfgService(RecordedCluster())
    got = cfg.encode_response(service.answer(cfg.NodeStatusGetRequest(2)))
    assert got == recorded("response_nodestatusget_node2")
    for request, response in ((cfg.NodeStatusGetRequest(99), "response_nodestatusget_unknown"),
                              (cfg.NodeStatusGetRequest(2, 2),
                               "response_nodestatusget_version2")):
        got = cfg.encode_response(service.answer(request))
        assert got[:24] == recorded(response)[:24] and len(got) == 32
