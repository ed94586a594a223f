"""The exporter put together: a source, the state, the runner and the HTTP server.

:func:`configure` adds the command's options to an argparse parser and
:func:`serve` runs everything until a stop event is set, so the ``pyquorum
exporter`` command is: parse, build the corosync-backed source, call
:func:`serve` with a stop event set by SIGTERM/SIGINT (:func:`stop_on_signals`).
Nothing here imports prometheus_client before :func:`serve` runs, so a
missing extra is one clear error (:func:`require_prometheus_client`).
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyquorum.exporter._listen import DEFAULT_LISTEN, parse_listen
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.source import Source
from pyquorum.exporter.state import ClusterState

if TYPE_CHECKING:
    from pyquorum.exporter.server import MetricsServer

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_STATS_INTERVAL",
    "DEFAULT_TIMEOUT",
    "MissingExtra",
    "configure",
    "require_prometheus_client",
    "serve",
    "stop_on_signals",
]

DEFAULT_STATS_INTERVAL = 10.0
DEFAULT_TIMEOUT = 5.0


class MissingExtra(RuntimeError):
    """prometheus_client is not installed: ``pip install 'pyquorum[exporter]'``."""


def require_prometheus_client() -> None:
    if importlib.util.find_spec("prometheus_client") is None:
        raise MissingExtra(
            "the exporter needs prometheus_client: pip install 'pyquorum[exporter]'"
        )


def _listen(text: str) -> str:
    try:
        parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0 seconds: {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """``--listen HOST:PORT``, ``--stats-interval S``, ``--timeout S``."""
    parser.add_argument(
        "--listen", type=_listen, default=DEFAULT_LISTEN, metavar="HOST:PORT",
        help=f"serve /metrics here (default {DEFAULT_LISTEN}: port 9665 on every address; "
             "[::1]:PORT for IPv6)",
    )
    parser.add_argument(
        "--stats-interval", type=_seconds, default=DEFAULT_STATS_INTERVAL, metavar="S",
        help="read the knet stats map every S seconds "
             f"(default {DEFAULT_STATS_INTERVAL:g})",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="S",
        help="give each call to corosync S seconds before reporting it unreachable "
             f"(default {DEFAULT_TIMEOUT:g})",
    )


def serve(
    source: Source,
    stop: threading.Event,
    *,
    listen: str = DEFAULT_LISTEN,
    stats_interval: float = DEFAULT_STATS_INTERVAL,
    timeout: float = DEFAULT_TIMEOUT,
    on_ready: Callable[[MetricsServer, ClusterState], None] | None = None,
) -> None:
    """Serve ``/metrics`` for ``source`` until ``stop`` is set; always cleans up.

    ``on_ready`` is called once the port is bound and the runner started
    (tests use it to learn the port when ``listen`` asks for port 0).
    """
    require_prometheus_client()
    from pyquorum.exporter.metrics import registry_for
    from pyquorum.exporter.server import MetricsServer

    host, port = parse_listen(listen)
    state = ClusterState()
    runner = Exporter(source, state, stats_interval=stats_interval, timeout=timeout)
    with MetricsServer(registry_for(state), host, port) as server, runner:
        if on_ready is not None:
            on_ready(server, state)
        stop.wait()


def stop_on_signals(
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
) -> threading.Event:
    """An event set by any of ``signals`` (call from the main thread)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in signals:
        signal.signal(sig, handler)
    return stop
