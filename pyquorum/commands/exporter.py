"""``pyquorum exporter``: serve corosync's quorum and membership as Prometheus metrics.

Runs until SIGTERM or SIGINT (exit 0).  prometheus_client (the
``pyquorum[exporter]`` extra) is imported only once the command runs; when
it is missing the command says so in one line and exits 1.  Once serving,
the address goes to stdout (with ``--listen HOST:0`` it tells the port
picked); corosync being down is not a failure, it is what
``pyquorum_corosync_reachable 0`` reports.
"""

from __future__ import annotations

import argparse

from pyquorum.commands._common import EXIT_OK, Failure, Output

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    from pyquorum.exporter.app import configure as add_options

    parser.description = (
        "Serve /metrics for Prometheus: quorum, votes, members, the quorum device and the "
        "knet links of this node's corosync, updated as corosync's notifications arrive."
    )
    add_options(parser)


def run(args: argparse.Namespace, out: Output) -> int:
    from pyquorum.exporter.app import MissingExtra, require_prometheus_client

    try:
        require_prometheus_client()
    except MissingExtra as exc:
        raise Failure(str(exc)) from None

    from pyquorum.exporter.app import serve, stop_on_signals
    from pyquorum.exporter.corosync_source import CorosyncSource
    from pyquorum.exporter.server import MetricsServer
    from pyquorum.exporter.state import ClusterState

    def ready(server: MetricsServer, state: ClusterState) -> None:
        host = f"[{server.host}]" if ":" in server.host else server.host or "0.0.0.0"
        out.line(f"pyquorum exporter: serving http://{host}:{server.port}/metrics")

    stop = stop_on_signals()
    try:
        serve(CorosyncSource(), stop, listen=args.listen, stats_interval=args.stats_interval,
              timeout=args.timeout, on_ready=ready)
    except OSError as exc:
        raise Failure(f"cannot serve on {args.listen}: {exc.strerror or exc}") from None
    return EXIT_OK
