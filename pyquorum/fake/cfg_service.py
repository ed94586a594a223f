"""corosync's cfg service, as much as ``corosync-quorumtool`` and ``corosync-cfgtool -s``
and ``-n`` need, as a libqb service handler.

``corosync-quorumtool`` connects to cfg at start-up (and gives up at once if
it cannot) and then sends one GET_NODE_ADDRS per member it prints, whatever
its options (docs/cfg.md §4).  This service answers that, and LOCAL_GET, from
a :class:`CfgView`, following corosync 3.1.7's ``exec/cfg.c`` (docs/cfg.md §3):

* GET_NODE_ADDRS for nodeid 0 asks about the local node;
* a node the view does not know (None), or knows with no address, gets
  CS_ERR_NOT_EXIST in a 32-byte answer with no addresses (the daemon leaves
  ``family`` and ``num_addrs`` uninitialized there; the fake sends zeros);
* a known node gets CS_OK, the first address's family, and each address in
  a 16-byte field;
* LOCAL_GET answers the view's local nodeid;
* NODESTATUSGET (``corosync-cfgtool -s``, ``-n``) answers a node the view
  knows with its reachability and links in the 4200-byte version-1 answer;
  an unknown node gets CS_ERR_FAILED_OPERATION, any version but 1
  CS_ERR_NOT_SUPPORTED, both in the 32-byte short answer (docs/cfg.md §3.5);
* every other id, and a request of the wrong size, gets corosync's generic
  reply: id 0, 24 bytes, CS_ERR_INVALID_PARAM (docs/cfg.md §3.4).

The view is asked on every request, so a story that changes it is answered
from its current state.  Every method runs on the server's loop thread.
"""

from __future__ import annotations

import logging
from typing import Protocol

from pyquorum.errors import CsErrorCode, LocalProtocolError, RemoteProtocolError
from pyquorum.fake._bound import BoundToServer
from pyquorum.ipc.server.connection import ServerConnection
from pyquorum.messages.cfg import (
    ErrorResponse,
    GetNodeAddrsRequest,
    GetNodeAddrsResponse,
    LinkStatus,
    LocalGetRequest,
    LocalGetResponse,
    NodeStatusGetRequest,
    NodeStatusGetResponse,
    Request,
    Response,
    decode_request,
    encode_response,
    pack_addresses,
)

__all__ = ["CfgService", "CfgView"]

log = logging.getLogger("pyquorum.fake")


class CfgView(Protocol):
    """What the cfg service shows: the local node's id and each node's addresses."""

    def local_nodeid(self) -> int:
        """The node id the daemon runs as (LOCAL_GET, and GET_NODE_ADDRS for nodeid 0)."""

    def node_addrs(self, nodeid: int) -> list[str] | None:
        """The node's addresses (all IPv4 or all IPv6), or None for an unknown node.

        corosync answers from its configured nodelist, so a node that is down
        still has its addresses (docs/cfg.md §3.1)."""

    def node_status(self, nodeid: int) -> tuple[bool, tuple[LinkStatus, ...]] | None:
        """Whether knet reaches the node, and its links as this node sees them; None
        for a node knet does not know (not in the nodelist), docs/cfg.md §3.5."""


class CfgService(BoundToServer):
    """Serves a :class:`CfgView`; bind it to a server with :meth:`bind` before starting it."""

    def __init__(self, view: CfgView) -> None:
        self.view = view
        #: How many requests were handled.
        self.requests_handled = 0

    # -- ServiceHandler ---------------------------------------------------------------

    def connected(self, conn: ServerConnection) -> None:
        # libcfg sends nothing at initialize (docs/cfg.md §1.2): no per-connection state.
        pass

    def disconnected(self, conn: ServerConnection) -> None:
        pass

    def request(self, conn: ServerConnection, data: bytes) -> None:
        self.requests_handled += 1
        try:
            request = decode_request(data)
        except RemoteProtocolError as exc:
            log.info("answering an undecodable cfg request with the generic error: %s", exc)
            conn.send_response(encode_response(ErrorResponse(CsErrorCode.ERR_INVALID_PARAM)))
            return
        conn.send_response(encode_response(self.answer(request)))

    def answer(self, request: Request) -> Response:
        """The response to ``request`` (docs/cfg.md §3)."""
        if isinstance(request, GetNodeAddrsRequest):
            return self._node_addrs(request.nodeid)
        if isinstance(request, LocalGetRequest):
            return LocalGetResponse(CsErrorCode.OK, self.view.local_nodeid())
        if isinstance(request, NodeStatusGetRequest):
            return self._node_status(request)
        return ErrorResponse(CsErrorCode.ERR_INVALID_PARAM)

    def _node_status(self, request: NodeStatusGetRequest) -> NodeStatusGetResponse:
        # corosync asks knet first, then looks at the version (docs/cfg.md §3.5).
        status = self.view.node_status(request.nodeid)
        if status is None:
            return NodeStatusGetResponse(CsErrorCode.ERR_FAILED_OPERATION, 0)
        if request.version != 1:
            return NodeStatusGetResponse(CsErrorCode.ERR_NOT_SUPPORTED, 0)
        reachable, links = status
        return NodeStatusGetResponse(CsErrorCode.OK, 1, request.nodeid, reachable,
                                     links=links)

    def _node_addrs(self, nodeid: int) -> GetNodeAddrsResponse:
        if nodeid == 0:
            nodeid = self.view.local_nodeid()
        addresses = self.view.node_addrs(nodeid)
        if not addresses:
            return GetNodeAddrsResponse(CsErrorCode.ERR_NOT_EXIST, 0, 0)
        try:
            family, addrs = pack_addresses(addresses)
        except LocalProtocolError as exc:
            raise ValueError(f"the view's addresses of node {nodeid}: {exc}") from None
        return GetNodeAddrsResponse(CsErrorCode.OK, family, len(addrs), addrs)
