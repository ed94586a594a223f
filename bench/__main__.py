"""Every benchmark of the speed issue, one table: ``python -m bench`` (or ``bench/run``).

Each row is a ratio measured in one run, pyquorum against its reference in
the same process or side by side: what, pyquorum, the reference, the ratio,
the target, and "met" or "MISSED".  Rows that need a live corosync (root, a
compiler and the C libquorum for the C rows) say "not run" when they
cannot.  ``--runs 2`` (the default) runs the whole set twice: on a loaded
machine one run's ratios are what count, and two in a row show how steady
they are.

Run as root:  .venv/bin/python -m bench [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    bench_cmap_decode,
    bench_decode,
    bench_replay,
    bench_session_cpu,
    bench_startup,
)


@dataclass(frozen=True)
class Row:
    what: str
    pyquorum: str
    reference: str
    ratio: float | None
    target: str
    met: bool | None  # None: not run, or a figure stated without a target


def _ratio_row(what: str, py: float, ref: float, unit: str, scale: float, limit: float,
               ref_name: str = "") -> Row:
    ratio = py / ref
    return Row(what, f"{py * scale:.2f} {unit}", f"{ref_name}{ref * scale:.2f} {unit}", ratio,
               f"<= {limit:g}x", ratio <= limit)


def decode_rows(quick: bool) -> list[Row]:
    r = bench_decode.measure(n=20_000 if quick else 100_000)
    rate = 1 / r["py3"]
    return [
        Row("decode V1 nodelist, 3 members", f"{rate:,.0f}/s", "-", None, ">= 300,000/s",
            rate >= 300_000),
        _ratio_row("  ... vs hand-written struct decoder", r["py3"], r["hand3"], "µs", 1e6, 2.0),
        Row("decode V1 nodelist, 384 members", f"{r['py384'] * 1e6:.1f} µs", "-", None,
            "< 1000 µs", r["py384"] < 1e-3),
        _ratio_row("  ... vs hand-written struct decoder", r["py384"], r["hand384"], "µs", 1e6,
                   2.0),
        Row("  ... cost per member (384 vs 3)",
            f"{(r['py384'] - r['py3']) / 381 * 1e9:.1f} ns", "-", None, "linear", None),
    ]


def cmap_decode_rows(quick: bool) -> list[Row]:
    r = bench_cmap_decode.measure(n=10_000 if quick else 50_000)
    rows: list[Row] = []
    for key, what in (("get", "decode cmap GET response (a string)"),
                      ("notify", "decode cmap NOTIFY_CALLBACK (u32 MODIFY)")):
        rows += [
            Row(what, f"{1 / r[key]:,.0f}/s", "-", None, "stated", None),
            _ratio_row("  ... vs hand-written struct decoder", r[key], r[key + "_hand"], "µs",
                       1e6, 2.0),
            Row("  ... schema path (construct) / fast path", f"{r[key + '_schema'] * 1e6:.2f} µs",
                f"{r[key] * 1e6:.2f} µs", r[key + "_schema"] / r[key], "stated", None),
        ]
    return rows


def session_cpu_rows(quick: bool) -> list[Row]:
    """The sessions' own CPU per getquorate, over a connection that answers at once
    (no daemon, so steady under load; the live rows add the transport)."""
    r = bench_session_cpu.measure(n=10_000 if quick else 50_000)
    return [
        Row("blocking session's own CPU per getquorate (no daemon)",
            f"{(r['blocking'] - r['bare']) * 1e6:.2f} µs", "-", None, "stated", None),
        Row("asyncio session's own CPU per getquorate (executor hop)",
            f"{(r['asyncio'] - r['bare']) * 1e6:.2f} µs", "-", None, "stated", None),
    ]


def replay_rows(quick: bool) -> list[Row]:
    r = bench_replay.measure(20_000 if quick else 100_000, 3)
    return [
        Row(f"replay --json, {int(r['events']):,} events (whole process)",
            f"{r['events_per_s']:,.0f}/s", "-", None, ">= 100,000/s",
            r["events_per_s"] >= 100_000),
        Row("  ... peak memory: iter_capture / read_capture",
            f"{r['iter_peak_kib']:,.0f} KiB", f"{r['read_peak_kib']:,.0f} KiB", None,
            "streams", r["iter_peak_kib"] < r["read_peak_kib"]),
    ]


def import_rows() -> list[Row]:
    py, ref = bench_startup.import_times()
    return [_ratio_row("import pyquorum vs import json, dataclasses, enum", py, ref, "ms", 1e3,
                       2.0)]


def _async_getquorate(n: int) -> float:
    from pyquorum import AsyncQuorumSession

    async def run() -> float:
        async with AsyncQuorumSession() as session:
            await session.getquorate()
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(n):
                    await session.getquorate()
                best = min(best, time.perf_counter() - start)
            return best / n * 1e6

    return asyncio.run(run())


def live_rows(quick: bool) -> list[Row]:
    """The rows that need corosync: status, session overhead, pyquorum vs C."""
    from bench.bench_layers import layers
    from bench.bench_vs_c import c_time, client_on, cpus_for, pin_daemon, py_cycles, py_getquorate
    from pyquorum.testing.cluster import Cluster
    from tests.oracle import build_oracle

    calls, cycles, rounds = (5000, 200, 3) if quick else (20000, 500, 5)
    oracle = build_oracle()
    rows: list[Row] = []
    split_targets = {("getquorate", "shm"): 0.6, ("getquorate", "socket"): 0.4,
                     ("cycles", "shm"): 1.0, ("cycles", "socket"): 1.0}
    for transport in ("shm", "socket"):
        with Cluster(1, transport=transport) as cluster:
            node = cluster.nodes[0]
            if transport == "shm":
                t = bench_startup.status_times(node, 5 if quick else 15)
                rows.append(_ratio_row("pyquorum status vs python3 -c pass", t["status"],
                                       t["pass"], "ms", 1e3, 3.0))
                rows.append(_ratio_row("  ... without the test extras (pytest, hypothesis)",
                                       t["no_extras"], t["pass"], "ms", 1e3, 3.0))
                rows.append(Row("  ... vs corosync-quorumtool -s", f"{t['status'] * 1e3:.2f} ms",
                                f"C {t['quorumtool'] * 1e3:.2f} ms",
                                t["status"] / t["quorumtool"], "stated", None))
                rows.append(Row("  ... with no bytecode cache (every module compiled)",
                                f"{t['uncached'] * 1e3:.2f} ms", f"{t['pass'] * 1e3:.2f} ms",
                                t["uncached"] / t["pass"], "stated", None))
                daemon_cpu, client_cpu = cpus_for("shared")
                pin_daemon(node, daemon_cpu)
                with client_on(client_cpu):
                    t = layers(node, calls, rounds)
                    with node.netns_context():
                        aio = _async_getquorate(calls // 4)
                over = t["session"] - t["transport"]
                rows.append(Row("blocking session over bare transport, shared CPU",
                                f"{over:.2f} µs", f"transport {t['transport']:.2f} µs", None,
                                "<= 2 µs", over <= 2.0))
                rows.append(Row("asyncio session over bare transport, shared CPU",
                                f"{aio - t['transport']:.2f} µs",
                                f"transport {t['transport']:.2f} µs", None, "stated", None))
            daemon_cpu, client_cpu = cpus_for("split")
            pin_daemon(node, daemon_cpu)
            for mode, n, py in (("getquorate", calls, py_getquorate),
                                ("cycles", cycles, py_cycles)):
                c_mode = "bench" if mode == "getquorate" else mode
                c_best = py_best = float("inf")
                for _ in range(rounds):
                    c_best = min(c_best, c_time(node, oracle, c_mode, n, client_cpu))
                    with client_on(client_cpu):
                        py_best = min(py_best, py(node, n))
                what = "getquorate" if mode == "getquorate" else "initialize+finalize"
                rows.append(_ratio_row(f"{what}, {transport}, split CPUs, vs C libquorum",
                                       py_best / n, c_best / n, "µs", 1e6,
                                       split_targets[(mode, transport)], "C "))
    return rows


def _not_run(why: str) -> list[Row]:
    return [Row(what, "not run", why, None, target, None) for what, target in (
        ("pyquorum status vs python3 -c pass", "<= 3x"),
        ("blocking session over bare transport, shared CPU", "<= 2 µs"),
        ("getquorate/initialize+finalize vs C libquorum, split CPUs", "<= 0.6x / 0.4x"),
    )]


def resource_rows(quick: bool, skip: str | None) -> list[Row]:
    """Flood, fds and idle CPU against a fake corosync (bench/bench_resources.py)."""
    from bench import bench_resources

    if skip is None:
        try:
            return [Row(*r) for r in bench_resources.table(quick)]
        except RuntimeError as exc:  # no compiler or libquorum-dev for the C reference
            skip = str(exc).splitlines()[0]
    return [Row(*r) for r in bench_resources.not_run(skip)]


def print_table(rows: list[Row], title: str) -> None:
    print(title)
    print(f"{'what':60} {'pyquorum':>16} {'reference':>22} {'ratio':>6} {'target':>13}  result")
    for r in rows:
        ratio = f"{r.ratio:6.2f}" if r.ratio is not None else f"{'':6}"
        result = "-" if r.met is None else ("met" if r.met else "MISSED")
        print(f"{r.what:60} {r.pyquorum:>16} {r.reference:>22} {ratio} {r.target:>13}  {result}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    parser.add_argument("--no-live", action="store_true", help="skip the corosync rows")
    args = parser.parse_args()
    missed = False
    for run in range(1, args.runs + 1):
        rows = (decode_rows(args.quick) + cmap_decode_rows(args.quick) + replay_rows(args.quick)
                + import_rows() + session_cpu_rows(args.quick))
        if args.no_live:
            rows += _not_run("--no-live")
        elif os.geteuid() != 0:
            rows += _not_run("needs root")
        else:
            rows += live_rows(args.quick)
        rows += resource_rows(args.quick, None if os.geteuid() == 0 else "needs root")
        missed |= any(r.met is False for r in rows)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print_table(rows, f"run {run}/{args.runs}, {stamp}, {platform.node()}, "
                          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
                          f"Python {platform.python_version()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
