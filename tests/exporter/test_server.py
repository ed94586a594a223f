"""The HTTP server: /metrics over a real socket, --listen parsing, clean shutdown."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyquorum.exporter.inputs import Reachable
from pyquorum.exporter.metrics import registry_for
from pyquorum.exporter.server import MetricsServer, parse_listen
from pyquorum.exporter.state import ClusterState
from tests.support.exporter_builders import healthy_cluster


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def state() -> ClusterState:
    state = ClusterState()
    state.apply(Reachable())
    state.apply_all(healthy_cluster())
    return state


def test_metrics_are_served(state: ClusterState) -> None:
    with MetricsServer(registry_for(state), "127.0.0.1", 0) as server:
        status, kind, body = get(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200 and kind.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body)}
    assert {"ha_cluster_corosync_quorate", "pyquorum_corosync_reachable"} <= names


def test_other_paths(state: ClusterState) -> None:
    with MetricsServer(registry_for(state), "127.0.0.1", 0) as server:
        assert get(f"http://127.0.0.1:{server.port}/")[0] == 200
        status, _, body = get(f"http://127.0.0.1:{server.port}/nope")
    assert status == 404 and "/metrics" in body


def test_ipv6_loopback(state: ClusterState) -> None:
    try:
        server = MetricsServer(registry_for(state), "::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert get(f"http://[::1]:{server.port}/metrics")[0] == 200


def test_close_frees_the_port_and_is_idempotent(state: ClusterState) -> None:
    server = MetricsServer(registry_for(state), "127.0.0.1", 0).start()
    port = server.port
    server.close()
    server.close()
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_slow_client_does_not_hold_up_a_scrape(state: ClusterState) -> None:
    """A slow client holding a connection does not hold up another scrape."""
    with MetricsServer(registry_for(state), "127.0.0.1", 0) as server:
        idle = socket.create_connection(("127.0.0.1", server.port))
        idle.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finishes its request
        try:
            started = time.monotonic()
            assert get(f"http://127.0.0.1:{server.port}/metrics")[0] == 200
            assert time.monotonic() - started < 1.0
        finally:
            idle.close()


def test_scrapes_in_parallel_with_updates(state: ClusterState) -> None:
    from tests.support.exporter_builders import quorum

    stop = threading.Event()

    def flap() -> None:
        seq = 10
        while not stop.is_set():
            seq += 1
            state.apply(quorum(seq % 2 == 0, (1, 2, 3), seq=seq))

    writer = threading.Thread(target=flap)
    writer.start()
    try:
        with MetricsServer(registry_for(state), "127.0.0.1", 0) as server:
            for _ in range(20):
                status, _, body = get(f"http://127.0.0.1:{server.port}/metrics")
                assert status == 200 and "ha_cluster_corosync_quorate" in body
    finally:
        stop.set()
        writer.join()


@pytest.mark.parametrize(("text", "expected"), [
    (":9665", ("", 9665)),
    ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    ("[::1]:9000", ("::1", 9000)),
    ("localhost:0", ("localhost", 0)),
])
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9665", "host:", "host:x", ":70000", "::1:9000", "[nope]:1"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)

