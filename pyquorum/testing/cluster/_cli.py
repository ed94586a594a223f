"""``python -m pyquorum.testing.cluster up|status|down``: clusters for humans.

Why: poking at a live cluster by hand (strace a client, watch the logs, run
corosync-quorumtool) is how protocol questions get answered, and building
the namespaces by hand is tedious.  ``up`` starts a *persistent* cluster that
outlives the command; its state lives in ``/run/pyquorum-cluster/<tag>/``
so ``status`` and ``down`` (or ``Cluster.attach(tag)``) can find it later.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pyquorum.testing.cluster import (
    RUN_ROOT,
    Cluster,
    ClusterError,
    ClusterUnavailable,
    QdeviceConfig,
    VotequorumOptions,
    sweep_stale,
)

__all__ = ["main"]


def _up(args: argparse.Namespace) -> int:
    swept = sweep_stale()
    if swept:
        print(f"removed leftovers of dead runs: {', '.join(swept)}")
    began = time.monotonic()
    cluster = Cluster(
        args.nodes,
        transport=args.transport,
        expected_votes=args.expected_votes,
        quorum=not args.no_quorum,
        token_ms=args.token_ms,
        uidgid=args.uid,
        votequorum=VotequorumOptions(
            two_node=args.two_node or None,
            wait_for_all=args.wait_for_all or None,
            last_man_standing=args.last_man_standing or None,
            auto_tie_breaker=args.auto_tie_breaker or None,
        ),
        qdevice=None if args.qdevice is None else QdeviceConfig(args.qdevice, tls=not args.no_tls),
        persistent=True,
    )
    cluster.start()
    took = time.monotonic() - began
    print(
        f"cluster {cluster.tag}: {len(cluster)} node(s), transport {cluster.transport}, "
        f"{'votequorum' if cluster.quorum else 'no quorum provider'}, up in {took:.1f} s"
    )
    for node in cluster:
        print(
            f"  node {node.nodeid}  netns {node.netns}  {node.address}  pid {node.pid}\n"
            f"          config {node.config_path}\n          log    {node.log_path}"
        )
    if cluster.qnetd is not None:
        print(
            f"  qnetd   netns {cluster.qnetd.netns}  {cluster.qnetd.address}  "
            f"pid {cluster.qnetd.daemon.pid}\n          log    {cluster.qnetd.daemon.log_path}"
        )
    first = cluster.nodes[0]
    me = "python -m pyquorum.testing.cluster"
    print(
        "\nRun commands inside a node's namespace:\n"
        f"  ip netns exec {first.netns} corosync-quorumtool -s\n"
        f"  ip netns exec {first.netns} $SHELL\n"
        "From Python:\n"
        "  from pyquorum.testing.cluster import Cluster\n"
        f"  cluster = Cluster.attach({cluster.tag!r})\n"
        "  with cluster[1].netns_context(): ...   # connect to that node's @quorum\n"
        f"Status: {me} status {cluster.tag}\n"
        f"Stop:   {me} down {cluster.tag}"
    )
    return 0


def _tags(args: argparse.Namespace) -> list[str]:
    return list(args.tags) if args.tags else Cluster.list_persistent()


def _status(args: argparse.Namespace) -> int:
    tags = _tags(args)
    if not tags:
        print(f"no clusters under {RUN_ROOT}")
        return 0
    for tag in tags:
        cluster = Cluster.attach(tag)
        print(f"cluster {tag}: {len(cluster)} node(s), transport {cluster.transport}")
        for node in cluster:
            if not node.is_running:
                print(f"  {node.netns}  node {node.nodeid}: not running")
                continue
            try:
                status = node.quorum_status(5.0).summary()
            except Exception as exc:
                status = f"no status: {exc}"
            print(f"  {node.netns}  pid {node.pid}  {status}")
    return 0


def _down(args: argparse.Namespace) -> int:
    failed = 0
    for tag in _tags(args):
        try:
            Cluster.attach(tag).close()
        except ClusterError as exc:
            print(f"{tag}: {exc}", file=sys.stderr)
            failed = 1
        else:
            print(f"cluster {tag} is down")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pyquorum.testing.cluster",
        description="Start, inspect and stop real corosync clusters in network namespaces.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a cluster that keeps running after this command")
    up.add_argument("nodes", type=int, nargs="?", default=3, help="number of nodes (default 3)")
    up.add_argument("--transport", choices=("shm", "socket"), default="shm")
    up.add_argument("--expected-votes", type=int, default=None)
    up.add_argument("--no-quorum", action="store_true", help="no quorum provider (type FREE)")
    up.add_argument("--token-ms", type=int, default=1000)
    up.add_argument("--uid", type=int, action="append", default=[], help="allow this uid (repeat)")
    for option in ("two-node", "wait-for-all", "last-man-standing", "auto-tie-breaker"):
        key = option.replace("-", "_")
        up.add_argument(f"--{option}", action="store_true", help=f"quorum {{ {key}: 1 }}")
    up.add_argument(
        "--qdevice",
        choices=("ffsplit", "lms"),
        default=None,
        help="add a quorum device (corosync-qnetd and corosync-qdevice) with this algorithm",
    )
    up.add_argument("--no-tls", action="store_true", help="the quorum device without TLS")
    up.set_defaults(func=_up)
    for name, func, text in (
        ("status", _status, "show the clusters started with 'up'"),
        ("down", _down, "stop clusters started with 'up' (default: all of them)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("tags", nargs="*", help="cluster tags such as pq1234c0 (default: all)")
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ClusterUnavailable as exc:
        print(f"cannot run a cluster here: {exc}", file=sys.stderr)
        return 2
    except ClusterError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return result
