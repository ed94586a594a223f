"""serve(): source, state, runner and HTTP server together; the command's options."""

from __future__ import annotations

import argparse
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyquorum.errors import CsTimeoutError
from pyquorum.exporter import app
from pyquorum.exporter.inputs import Input
from pyquorum.exporter.server import DEFAULT_LISTEN, MetricsServer
from pyquorum.exporter.source import ScriptedSource
from pyquorum.exporter.state import ClusterState
from tests.support.exporter_builders import healthy_cluster


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    app.configure(parser)
    return parser.parse_args(argv)


def test_defaults() -> None:
    args = parse()
    assert (args.listen, args.stats_interval, args.timeout) == (DEFAULT_LISTEN, 10.0, 5.0)
    assert parse("--listen", "127.0.0.1:9100", "--stats-interval", "2.5").stats_interval == 2.5


@pytest.mark.parametrize("argv", [
    ("--listen", "9665"), ("--listen", "::1:80"), ("--stats-interval", "0"),
    ("--stats-interval", "inf"), ("--timeout", "-1"), ("--timeout", "soon"),
])
def test_bad_options(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises((SystemExit, argparse.ArgumentError)):
        parse(*argv)


def test_a_missing_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(app.MissingExtra, match=r"pyquorum\[exporter\]"):
        app.serve(ScriptedSource(), threading.Event(), listen="127.0.0.1:0")


@contextmanager
def serving(source: ScriptedSource, **kwargs: float) -> Iterator[tuple[int, ClusterState]]:
    stop = threading.Event()
    ready: list[tuple[MetricsServer, ClusterState]] = []
    bound = threading.Event()

    def on_ready(server: MetricsServer, state: ClusterState) -> None:
        ready.append((server, state))
        bound.set()

    thread = threading.Thread(target=app.serve, args=(source, stop), kwargs={
        "listen": "127.0.0.1:0", "on_ready": on_ready, **kwargs})
    thread.start()
    try:
        assert bound.wait(10), "serve() did not come up"
        server, state = ready[0]
        yield server.port, state
    finally:
        stop.set()
        thread.join(15)
        assert not thread.is_alive()


def scrape(port: int) -> tuple[float, dict[str, float]]:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    took = time.monotonic() - started
    values = {s.name: s.value for f in text_string_to_metric_families(text)
              for s in f.samples if not s.labels}
    return took, values


def test_serve_until_stopped_then_clean() -> None:
    source = ScriptedSource(healthy_cluster())
    with serving(source, stats_interval=1.0, timeout=1.0) as (port, _state):
        end = time.monotonic() + 5.0
        while scrape(port)[1].get("ha_cluster_corosync_quorate") != 1.0:
            assert time.monotonic() < end
            time.sleep(0.05)
    assert not source.open and source.closes == 1
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port was released


class Wedged(ScriptedSource):
    """A daemon that accepts but never answers: every connect uses its whole timeout."""

    def connect(self, timeout: float) -> Sequence[Input]:
        time.sleep(timeout)
        raise CsTimeoutError("no answer (wedged)")


def test_scrapes_stay_fast_while_corosync_is_wedged_or_stopped() -> None:
    source = Wedged()
    # Each connect hangs for its whole 2 s timeout; a scrape that waited for one
    # would take up to that long, one that does not takes milliseconds (the bound
    # leaves a loaded CI machine a second of slack).
    with serving(source, stats_interval=1.0, timeout=2.0) as (port, _state):
        slowest = 0.0
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            took, values = scrape(port)
            slowest = max(slowest, took)
            assert values["pyquorum_corosync_reachable"] == 0.0
            assert "ha_cluster_corosync_quorate" not in values
        assert slowest < 1.0, f"a scrape took {slowest:.3f}s"


def test_a_port_in_use_fails_before_anything_runs() -> None:
    source = ScriptedSource(healthy_cluster())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            app.serve(source, threading.Event(), listen=f"127.0.0.1:{port}")
    assert source.connects == 0 and not source.open
