"""Notification flood, file descriptors per session, idle CPU: pyquorum vs the C libquorum.

Every figure is taken against a fake corosync (``pyquorum serve``) running in
a process of its own, in a private network namespace, so the clients'
fds, CPU time and memory are their own (tests/support/fake_process.py).
The C reference is bench/c/quorum_consumer.c, linked against Debian's
libquorum and built on first use into bench/build/.

* **flood**: the server plays 100,000 membership changes at once, i.e.
  200,000 V1 notifications (nodelist, quorum) to one tracking client.  The
  time runs from the trackstart call to the last notification; the client
  checks that every one arrived, in order (ring seq 4 higher per pair).
  pyquorum's client is a fresh process (``python -m bench.bench_resources
  consume N``) iterating ``QuorumSession.events()``; the C one polls the fd
  and dispatches ALL.  Each gets a fresh server.  Memory: the client's
  peak RSS after the first 10,000 events and at the end.
  The server is pure Python too: it writes what the 1 MiB ring takes,
  then the rest every 20 ms as room appears, and on the 2-core machine it
  paces both clients (C waits for it most of the time).  So the flood row
  says whether pyquorum keeps up with a busy daemon the way libquorum does;
  the CPU row under it says what each client spends per event, which is
  where C still leads.
* **fds**: descriptors 20 open SHM sessions add to the process.
* **idle CPU**: sessions tracking changes, each waiting for events
  (pyquorum: a thread per session blocked in ``dispatch(BLOCKING)``; C: one
  ``poll`` over every fd), for a few seconds: CPU time used meanwhile.

Run as root (namespaces), with a C compiler and libquorum-dev for the C
rows:  .venv/bin/python -m bench.bench_resources [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyquorum.fake import Script, Step

__all__ = ["build_consumer", "flood_payloads", "measure", "not_run", "table"]

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "c" / "quorum_consumer.c"
BUILD_DIR = ROOT / "build"


def build_consumer() -> Path:
    """The C consumer, compiled once per source version; RuntimeError if it cannot be."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    binary = BUILD_DIR / f"quorum_consumer-{digest}"
    if binary.exists():
        return binary
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not Path("/usr/include/corosync/quorum.h").exists():
        raise RuntimeError("needs a C compiler and libquorum-dev")
    BUILD_DIR.mkdir(exist_ok=True)
    tmp = binary.with_name(f"{binary.name}.{os.getpid()}.tmp")
    proc = subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", str(tmp), str(SOURCE),
                           "-lquorum"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"building the C consumer failed:\n{proc.stderr}")
    tmp.rename(binary)
    return binary


def flood_payloads(events: int) -> bytes:
    """The flood's notifications, encoded: ``[u32 length][bytes]`` each.

    ``events`` / 2 membership changes (node 3 leaves, rejoins, ...), each a
    V1 nodelist then a quorum notification, as the fake sends them.
    Encoded once, before any clock runs, so that the server's pace is its
    ring writes and doorbells, not the encoder's.
    """
    from pyquorum.messages.quorum import encode_notification
    from pyquorum.messages.types import NodelistNotification, QuorumNotification

    script = Script.build(
        [1, 2, 3],
        steps=[Step(0.0, members=(1, 2) if i % 2 == 0 else (1, 2, 3)) for i in range(events // 2)],
    )
    out = bytearray()
    for change in script.changes:
        s = change.state
        for n in (NodelistNotification(s.ring_id, s.members, change.joined, change.left),
                  QuorumNotification(s.quorate, s.ring_id, s.members)):
            data = encode_notification(n)
            out += struct.pack("=I", len(data)) + data
    return bytes(out)


def serve_flood(path: str) -> None:
    """A fake corosync (``@quorum``, this namespace) that floods its first tracking client.

    On the first TRACKSTART it queues every payload of ``path`` at once
    (ServerConnection.send_event writes what the ring takes and queues the
    rest).  Runs until SIGTERM.
    """
    from pyquorum.testing.fake import FakeQuorumServer

    blob = Path(path).read_bytes()
    payloads = []
    pos = 0
    while pos < len(blob):
        (n,) = struct.unpack_from("=I", blob, pos)
        payloads.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    fake = FakeQuorumServer(Script.build([1, 2, 3]), name="quorum", netns=None)
    service = fake.service
    plain_trackstart = service._trackstart
    flooded = False

    def trackstart(conn: Any, client: Any, flags: int) -> Any:
        nonlocal flooded
        response = plain_trackstart(conn, client, flags)
        if client.tracking and not flooded:
            flooded = True

            def flood() -> None:
                for data in payloads:
                    conn.send_event(data)

            fake.server.call_later(0.0, flood)  # after the response
        return response

    service._trackstart = trackstart  # type: ignore[method-assign]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        stop.wait()


# -- the pyquorum consumer (a process of its own) ----------------------------------------


def _rss_kib() -> int:
    """VmRSS now (ru_maxrss would carry the parent's peak across exec)."""
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    return 0


def consume(wanted: int, service: str) -> dict[str, Any]:
    """pyquorum's side of the flood, in this process; the same JSON as the C consumer."""
    from pyquorum import NodelistNotification, QuorumNotification, QuorumSession
    from pyquorum.messages.constants import Track

    session = QuorumSession(service=service, timeout=10)
    seen = errors = 0
    base = rss_early = 0
    start, cpu0 = time.perf_counter(), time.process_time()
    session.trackstart(Track.CHANGES_ONLY)
    for event in session.events(timeout=10):
        if isinstance(event, NodelistNotification):
            is_quorum = False
        elif isinstance(event, QuorumNotification):
            is_quorum = True
        else:
            errors += 1
            continue
        seq = event.ring_id.seq
        if seen == 0:
            base = seq
        if is_quorum != bool(seen % 2) or seq != base + 4 * (seen // 2):
            errors += 1
        seen += 1
        if seen == 10_000:
            rss_early = _rss_kib()
        if seen == wanted:
            break
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    session.close()
    return {"events": seen, "errors": errors, "seconds": seconds, "cpu": cpu,
            "rss_early_kib": rss_early, "rss_end_kib": _rss_kib()}


# -- measuring ----------------------------------------------------------------------------


def _run_json(argv: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def flood(events: int, consumer: list[str], payloads: Path) -> dict[str, Any]:
    """One flood to one consumer (argv), with a fresh server flooding ``payloads``."""
    from tests.support.fake_process import fake_process

    server_argv = [sys.executable, "-m", "bench.bench_resources", "serve-flood",
                   "--payloads", str(payloads)]
    with fake_process(Script.build([1, 2, 3]), name="quorum", command=server_argv) as server, \
            server.netns_context():
        return _run_json([*consumer, str(events)], timeout=300)


def _fds_py(service: str, sessions: int) -> float:
    from pyquorum import QuorumSession

    before = len(os.listdir("/proc/self/fd"))
    opened = [QuorumSession(service=service, timeout=10) for _ in range(sessions)]
    try:
        for s in opened:
            s.fileno()
        return (len(os.listdir("/proc/self/fd")) - before) / sessions
    finally:
        for s in opened:
            s.close()


def _idle_py(service: str, sessions: int, seconds: float) -> float:
    from pyquorum import QuorumSession
    from pyquorum.messages.constants import DispatchMode, Track

    opened = [QuorumSession(service=service, timeout=10) for _ in range(sessions)]
    threads = []
    try:
        for s in opened:
            s.trackstart(Track.CHANGES_ONLY)
        threads = [threading.Thread(target=s.dispatch, args=(DispatchMode.BLOCKING,),
                                    daemon=True) for s in opened]
        for t in threads:
            t.start()
        threading.Event().wait(0.5)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = usage.ru_utime + usage.ru_stime
        threading.Event().wait(seconds)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime - cpu0
    finally:
        for s in opened:
            s.close()
        for t in threads:
            t.join(10)


def measure(quick: bool = False) -> dict[str, Any]:
    """Every figure of this module (see the module docstring)."""
    from tests.support.fake_process import fake_process

    events = 40_000 if quick else 200_000
    idle_sessions, idle_seconds = (50, 2.0) if quick else (200, 5.0)
    binary = str(build_consumer())
    out: dict[str, Any] = {"events": events}
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"pyquorum-flood-{os.getpid()}.bin"
    tmp.write_bytes(flood_payloads(events))
    try:
        py_consumer = [sys.executable, "-m", "bench.bench_resources", "consume"]
        out["flood_c"] = flood(events, [binary, "flood"], tmp)
        out["flood_py"] = flood(events, py_consumer, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    with fake_process(Script.build([1, 2, 3]), name="quorum") as server, \
            server.netns_context():
        out["fds_c"] = _run_json([binary, "fds", "20"], 60)["fds"] / 20
        out["fds_py"] = _fds_py(server.name, 20)
        out["idle_c"] = _run_json([binary, "idle", str(idle_sessions), str(idle_seconds)],
                                  60 + idle_seconds)["cpu"]
        out["idle_py"] = _idle_py(server.name, idle_sessions, idle_seconds)
    out["idle_sessions"], out["idle_seconds"] = idle_sessions, idle_seconds
    return out


#: One table row: what, pyquorum, reference, ratio, target, met (see bench/__main__.py).
TableRow = tuple[str, str, str, float | None, str, bool | None]


def table(quick: bool = False) -> list[TableRow]:
    """This module's rows of ``python -m bench``'s table."""
    m = measure(quick)
    events = m["events"]
    c, py = m["flood_c"], m["flood_py"]
    ok = c["errors"] == py["errors"] == 0 and c["events"] == py["events"] == events
    ratio = py["seconds"] / c["seconds"]
    growth_py = py["rss_end_kib"] - py["rss_early_kib"]
    growth_c = c["rss_end_kib"] - c["rss_early_kib"]
    n, secs = m["idle_sessions"], m["idle_seconds"]
    return [
        (f"notification flood ({events:,} events, in order) vs C libquorum",
         f"{py['seconds']:.2f} s", f"C {c['seconds']:.2f} s", ratio, "<= 1.5x",
         ok and ratio <= 1.5),
        ("  ... client CPU per event", f"{py['cpu'] / events * 1e6:.2f} µs",
         f"C {c['cpu'] / events * 1e6:.2f} µs", py["cpu"] / c["cpu"], "stated", None),
        ("  ... client RSS growth, event 10,000 to the last", f"{growth_py:+,d} KiB",
         f"C {growth_c:+,d} KiB", None, "flat (< 1 MiB)", growth_py < 1024),
        ("file descriptors per SHM session vs C libquorum", f"{m['fds_py']:.1f}",
         f"C {m['fds_c']:.1f}", None, "<= 2", m["fds_py"] <= 2),
        (f"idle CPU, {n} sessions waiting for events {secs:g} s", f"{m['idle_py'] * 1e3:.2f} ms",
         f"C {m['idle_c'] * 1e3:.2f} ms", None, "< 10 ms", m["idle_py"] < 0.01),
    ]


def not_run(why: str) -> list[TableRow]:
    return [(what, "not run", why, None, target, None) for what, target in (
        ("notification flood (200,000 events) vs C libquorum", "<= 1.5x"),
        ("file descriptors per SHM session vs C libquorum", "<= 2"),
        ("idle CPU, 200 sessions waiting for events 5 s", "< 10 ms"),
    )]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="measure",
                        choices=["measure", "consume", "serve-flood"])
    parser.add_argument("--payloads", help="serve-flood: the encoded notifications")
    parser.add_argument("events", nargs="?", type=int, default=200_000)
    parser.add_argument("--service", default="quorum")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.mode == "serve-flood":
        serve_flood(args.payloads)
        return 0
    if args.mode == "consume":
        result = consume(args.events, args.service)
        print(json.dumps(result))
        return 0 if result["events"] == args.events and result["errors"] == 0 else 1
    print(json.dumps(measure(args.quick), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
