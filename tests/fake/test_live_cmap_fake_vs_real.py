"""The fake's cmap service against the real one: same map, same answers.

A real single-node corosync (the session's shared harness node) is read
whole with pyquorum's :class:`~pyquorum.CmapSession` (default map and stats
map); the fake serves those keys from two :class:`CmapStore`\\ s in a
private namespace.  Then Debian's ``corosync-cmapctl`` and the C oracle on
libcmap (tests/c/cmap_oracle.c) run against both, and their output must
match line by line.

The one stated exclusion (volatile values): a line of the real daemon's
output is left out of a comparison when two reads of the real daemon, one
before and one after the snapshot, printed it differently (counters,
timestamps); and in the stats map, the per-connection ``stats.ipcs.service*``
keys, which name each client connection (the tool's own among them) and so
differ between any two runs.  Everything else is compared.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from pyquorum import CmapSession
from pyquorum.errors import CsError
from pyquorum.fake.cmap_service import CmapService
from pyquorum.fake.cmap_store import CmapStore
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapMap, CmapTrack
from pyquorum.messages.constants import CmapValueType as T
from pyquorum.services.cmap.core import Tracker
from tests.oracle import run_oracle
from tests.support.fake_service_server import FakeServiceServer
from tests.support.oracles import require_oracle

Node = Any  # pyquorum.testing.cluster.Node
CMAPCTL = "corosync-cmapctl"
P = "testing.pyquorum.fake."
ALL = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE


def snapshot(node: Node, map: CmapMap) -> list[tuple[str, CmapValue]]:
    with node.netns_context(), CmapSession(map, timeout=10) as session:
        return list(session.items(""))


def run_in(where: Any, argv: Sequence[str], stdin: str | None = None) -> tuple[int, str, str]:
    with where.netns_context():
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              timeout=30, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def stable_lines(served: Served, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(real lines, fake lines) of ``argv``, without what the real daemon itself
    printed differently in two reads around a fresh snapshot (the module's rule)."""
    rc1, first, _ = run_in(served.node, argv)
    served.refresh()
    rc2, second, _ = run_in(served.node, argv)
    rc_fake, got, _ = run_in(served.fake, argv)
    assert rc1 == rc2 == rc_fake, (rc1, rc2, rc_fake)
    differ = set(first.splitlines()) ^ set(second.splitlines())
    volatile = {line.split(" ", 1)[0] for line in differ}

    def keep(line: str) -> bool:
        name = line.split(" ", 1)[0]
        return name not in volatile and not name.startswith("stats.ipcs.service")

    return ([line for line in second.splitlines() if keep(line)],
            [line for line in got.splitlines() if keep(line)])


class Served:
    """The real node, and a fake serving a snapshot of its two maps."""

    def __init__(self, node: Node, fake: FakeServiceServer, main: CmapStore,
                 stats: CmapStore) -> None:
        self.node, self.fake, self.main, self.stats = node, fake, main, stats

    def refresh(self) -> None:
        """Take the snapshot again (on the fake's loop thread: trackers hear of it)."""
        for store, map in ((self.main, CmapMap.DEFAULT), (self.stats, CmapMap.STATS)):
            now = dict(snapshot(self.node, map))
            changes: dict[str, CmapValue | None] = {k: None for k in store if k not in now}
            changes.update(now)
            self._apply(store, changes)

    def _apply(self, store: CmapStore, changes: dict[str, CmapValue | None]) -> None:
        self.fake.call(lambda: store.apply(changes))


@pytest.fixture(params=["shm", "socket"])
def served(request: pytest.FixtureRequest, corosync_node: Node) -> Iterator[Served]:
    """The real node (the session's SHM one) and a fake serving a snapshot of
    its two maps over each transport."""
    main = CmapStore(snapshot(corosync_node, CmapMap.DEFAULT))
    stats = CmapStore(snapshot(corosync_node, CmapMap.STATS))
    assert len(main) > 50 and len(stats) > 10  # a real map, not an empty one
    with FakeServiceServer(CmapService(main, stats), name="cmap",
                           transport=request.param) as fake:
        yield Served(corosync_node, fake, main, stats)


@pytest.mark.parametrize(
    "argv",
    [
        [CMAPCTL],
        [CMAPCTL, "-g", "totem.cluster_name"],
        [CMAPCTL, "-g", "runtime.votequorum.this_node_id"],
        [CMAPCTL, "-g", "totem.no_such_key"],
        [CMAPCTL, "-b", "nodelist"],
        [CMAPCTL, "-b", "runtime.members"],
        [CMAPCTL, "-b", "totem."],
        [CMAPCTL, "-m", "stats"],
        [CMAPCTL, "-m", "stats", "stats.srp."],
        [CMAPCTL, "-m", "stats", "-g", "stats.srp.firewall_enabled_or_nic_failure"],
    ],
    ids=lambda argv: " ".join(argv[1:]) or "all",
)
def test_cmapctl_prints_the_same(served: Served, argv: list[str]) -> None:
    real, got = stable_lines(served, argv)
    assert got == real
    if argv[1:2] != ["-g"] or "no_such" not in argv[-1]:
        assert real, "the comparison compared nothing"


def _changes(where: Any) -> list[tuple[int, str, str]]:
    """A -s / -d / ADJUST sequence as corosync-cmapctl runs it: (rc, stdout, stderr) each."""
    steps = [
        [CMAPCTL, "-s", f"{P}u", "u32", "7"],
        [CMAPCTL, "-s", f"{P}u", "u32", "7"],
        [CMAPCTL, "-s", f"{P}u", "str", "now text"],
        [CMAPCTL, "-s", f"{P}d", "dbl", "2.5"],
        [CMAPCTL, "-s", f"{P}b", "bin", "-"],
        [CMAPCTL, "-b", "-g", f"{P}b"],
        [CMAPCTL, "-g", f"{P}u"],
        [CMAPCTL, "-s", "totem.cluster_name", "str", "other"],
        [CMAPCTL, "-s", "nodelist.node.0.nodeid", "u32", "5"],
        [CMAPCTL, "-d", "runtime.config.totem.token"],
        [CMAPCTL, "-s", "runtime.members.1.status", "str", "joined"],
        [CMAPCTL, "-s", "ab", "u8", "1"],
        [CMAPCTL, "-s", f"{P}bad*name", "u8", "1"],
        [CMAPCTL, "-d", f"{P}u"],
        [CMAPCTL, "-d", f"{P}u"],
        [CMAPCTL, "-D", P],
        [CMAPCTL, "-b", P],
        [CMAPCTL, "-m", "stats", "-s", "stats.srp.orf_token_rx", "u64", "1"],
        [CMAPCTL, "-C", "bogus"],
    ]
    out = []
    for argv in steps:
        out.append(run_in(where, argv, stdin="\x00\x01hi" if argv[-1] == "-" else None))
    return out


def test_set_and_delete_answer_the_same(served: Served) -> None:
    real = _changes(served.node)
    got = _changes(served.fake)
    assert got == real
    assert {rc for rc, _, _ in real} == {0, 1}


def _track_run(where: Any) -> list[str]:
    """``corosync-cmapctl -b -T P`` (prefix) and ``-t P+k`` (one key) watching a few
    changes: their lines (line-buffered through stdbuf, ended with their "q"),
    and the changes' results."""
    watchers = []
    for argv in ([CMAPCTL, "-b", "-T", P], [CMAPCTL, "-t", f"{P}k"]):
        with where.netns_context():
            watchers.append(subprocess.Popen(["stdbuf", "-oL", *argv], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, text=True))
    try:
        out: list[str] = []
        for watcher in watchers:
            assert watcher.stdout is not None
            out.append(watcher.stdout.readline())  # its prompt: it tracks from now on
        for argv in (
            [CMAPCTL, "-s", f"{P}k", "i32", "5"],
            [CMAPCTL, "-s", f"{P}k", "i32", "5"],
            [CMAPCTL, "-s", f"{P}k", "str", "x"],
            [CMAPCTL, "-s", f"{P}b", "bin", "-"],
            [CMAPCTL, "-s", f"{P}k2", "u8", "1"],
            [CMAPCTL, "-d", f"{P}k"],
            [CMAPCTL, "-d", f"{P}b"],
            [CMAPCTL, "-d", f"{P}k2"],
        ):
            rc, stdout, stderr = run_in(where, argv, stdin="\x00z" if argv[-1] == "-" else None)
            out.append(f"{argv[1:]}: {rc} {stdout!r} {stderr!r}\n")
        for watcher in watchers:
            text, _ = watcher.communicate("q\n", timeout=10)
            out.extend(text.splitlines(keepends=True))
        return out
    finally:
        for watcher in watchers:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait(10)


def test_prefix_tracking_prints_the_same(served: Served) -> None:
    real = _track_run(served.node)
    got = _track_run(served.fake)
    assert got == real
    assert len([line for line in real if line.startswith(("create>", "modify>", "delete>"))]) == 10


# ------------------------------------------------------------------ the C oracle

#: A libcmap script (tests/oracles/README.md) over values, errors, iteration,
#: tracking and the stats map; it leaves the map as it found it.
ORACLE_SCRIPT = f"""
    init
    get totem.cluster_name
    get_len totem.cluster_name
    get_small totem.cluster_name 0
    get_small totem.cluster_name 2
    get_u32 nodelist.node.0.nodeid
    get_str nodelist.node.0.nodeid
    get {P}missing
    get ab
    track_add {P}k 6 40
    track_add {P} 15 41
    track_add {P}k 15 42
    track_add {P}k 4 43
    track_add {P}none 0
    track_add {P}x 16
    set {P}k u32 1
    set {P}k u32 1
    set {P}k u32 2
    set {P}k str a
    set {P}k str a
    set {P}i8 i8 127
    inc {P}i8
    get {P}i8
    dec {P}k
    set {P}flt flt 0.1
    get {P}flt
    set {P}bin bin 00ff
    set {P}nobin bin
    iter {P}
    iter totem.cluster_name
    iter {P}nothing
    set totem.cluster_name str x
    delete nodelist.node.0.nodeid
    inc nodelist.local_node_pos
    set ab u8 1
    delete {P}k
    delete {P}k
    delete {P}i8
    delete {P}flt
    delete {P}bin
    delete {P}nobin
    dispatch 2
    track_delete 0
    track_delete 0
    track_delete 1
    finalize
    initialize_map stats
    get_len stats.srp.orf_token_rx
    get totem.cluster_name
    set stats.srp.orf_token_rx u64 1
    set stats.clear.nothing u8 1
    delete stats.srp.orf_token_rx
    inc stats.srp.orf_token_rx
    track_add stats.srp. 15
    track_add stats.srp. 14
    track_add stats.srp.orf_token_rx 6
    iter stats.srp.firewall_enabled_or_nic_failure
    finalize
    initialize_map 7
"""


@pytest.fixture(scope="module")
def cmap_oracle() -> None:
    require_oracle("cmap")


def test_libcmap_sees_the_same(served: Served, cmap_oracle: None) -> None:
    real = run_oracle("cmap", served.node, ORACLE_SCRIPT)
    got = run_oracle("cmap", served.fake, ORACLE_SCRIPT)
    assert got == real
    assert len([line for line in real if line.get("type") == "cmap_track"]) >= 8


# ------------------------------------------------------------------ pyquorum's CmapSession


def _session_run(where: Any) -> list[object]:
    """A CmapSession walk over both maps: each result, error class or change, in order."""
    out: list[object] = []

    def step(fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            result = fn(*args, **kwargs)
            if isinstance(result, Tracker):  # the check word is random (docs/cmap.md §5.6)
                result = ("tracker", result.track_handle & 0xFFFFFFFF, result.key, result.user)
            out.append(result)
        except CsError as exc:
            out.append(type(exc).__name__)

    with where.netns_context():
        with CmapSession(timeout=10) as s, CmapSession(timeout=10) as other:
            step(s.get, "totem.cluster_name")
            step(s.get_len, "nodelist.node.0.ring0_addr")
            step(s.get, "totem.cluster_name", room=3)
            step(lambda: [(k, v) for k, v in s.items("nodelist.")])
            step(lambda: s.keys("runtime.config.totem."))
            step(s.track_add, P, ALL | CmapTrack.PREFIX, user="p")
            step(s.track_add, f"{P}k", ALL, user="k")
            step(other.set, f"{P}k", CmapValue(T.UINT16, 65535))
            step(other.inc, f"{P}k")
            step(other.set, f"{P}k", CmapValue.binary(bytes(range(256)) * 64))
            step(other.set, f"{P}big", CmapValue.binary(bytes(16385)))
            step(other.get, f"{P}k")
            step(other.delete, f"{P}k")
            step(other.delete, "totem.cluster_name")
            step(other.set, "runtime.config.totem.token", CmapValue(T.UINT32, 1))
            out.extend((c.tracker.user, c.key, int(c.event), c.new, c.old)
                       for c in s.events(timeout=0.5))
        with CmapSession(CmapMap.STATS, timeout=10) as stats:
            step(lambda: [e for e in stats.keys("stats.srp.")])
            step(stats.get_len, "stats.srp.orf_token_rx")
            step(stats.set, "stats.srp.orf_token_rx", CmapValue(T.UINT64, 0))
            step(stats.track_add, "stats.srp.", CmapTrack.PREFIX | CmapTrack.ADD)
            step(lambda: {k: v.type for k, v in stats.items("stats.ipcs.global.")})
    return out


def test_cmap_session_gets_the_same(served: Served) -> None:
    real = _session_run(served.node)
    got = _session_run(served.fake)
    assert got == real
    assert "AccessError" in real and "InvalidParamError" in real
    assert len([r for r in real if isinstance(r, tuple) and r[0] in ("p", "k")]) == 8
