"""The HTTP side: ``/metrics`` from a prometheus_client registry, on a thread.

A small WSGI app in front of prometheus_client's own: ``/metrics`` is the
exposition (prometheus_client's app, so content negotiation, gzip and
OpenMetrics are its), ``/`` a one-line pointer to it, anything else 404.
Each request is served on its own thread and only reads the state's last
snapshot, so a slow client or a wedged corosync never holds up a scrape.

The default port (:data:`DEFAULT_PORT`) and ``--listen``'s syntax are in
:mod:`pyquorum.exporter._listen`, which the command line reads without
importing prometheus_client.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.registry import CollectorRegistry

from pyquorum.exporter._listen import DEFAULT_LISTEN, DEFAULT_PORT, parse_listen

__all__ = ["DEFAULT_LISTEN", "DEFAULT_PORT", "MetricsServer", "parse_listen"]

_StartResponse = Callable[..., Any]
_Environ = dict[str, Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood the journal."""


def _server_class(host: str) -> type[WSGIServer]:
    family = socket.AF_INET
    if host:
        info = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        family = info[0][0]

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = family

    return _Server


class MetricsServer:
    """Serves ``registry`` on ``host:port`` (port 0: any free port; see :attr:`port`)."""

    def __init__(self, registry: CollectorRegistry, host: str = "", port: int = DEFAULT_PORT):
        metrics = make_wsgi_app(registry)

        def app(environ: _Environ, start_response: _StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                return metrics(environ, start_response)  # type: ignore[no-any-return]
            if path in ("", "/"):
                start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"pyquorum exporter: metrics at /metrics\n"]
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found; metrics are at /metrics\n"]

        self._httpd = make_server(host, port, app, _server_class(host), _QuietHandler)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> MetricsServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                name="pyquorum-exporter-http", daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the listening socket; idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._httpd.shutdown()
            thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
