"""Debian's stock ``corosync-cmapctl`` against the fake's cmap service (no daemon).

The fake serves known stores in a private namespace, over both transports;
the tool's output is compared with what it prints for those keys (its
formats are the ones test_live_cmap_fake_vs_real.py holds equal to a real
corosync's).  Needs root (the namespace) and the corosync package (the tool).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from pyquorum.fake.cmap_service import CmapService
from pyquorum.fake.cmap_store import CmapStore
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapValueType as T
from tests.support.fake_service_server import FakeServiceServer
from tests.support.live import require_live

CMAPCTL = "corosync-cmapctl"


def keys() -> dict[str, CmapValue]:
    return {
        "totem.cluster_name": CmapValue.string("fakecluster"),
        "nodelist.node.0.nodeid": CmapValue(T.UINT32, 1),
        "nodelist.node.0.name": CmapValue.string("node1"),
        "nodelist.node.1.nodeid": CmapValue(T.UINT32, 2),
        "runtime.votequorum.this_node_id": CmapValue(T.UINT32, 1),
        "t.i8": CmapValue(T.INT8, -8),
        "t.u8": CmapValue(T.UINT8, 8),
        "t.i16": CmapValue(T.INT16, -16),
        "t.u16": CmapValue(T.UINT16, 16),
        "t.i32": CmapValue(T.INT32, -32),
        "t.u32": CmapValue(T.UINT32, 32),
        "t.i64": CmapValue(T.INT64, -64),
        "t.u64": CmapValue(T.UINT64, 2**64 - 1),
        "t.flt": CmapValue(T.FLOAT, 0.25),
        "t.dbl": CmapValue(T.DOUBLE, -1.5),
        "t.str": CmapValue.string("with spaces"),
        "t.bin": CmapValue.binary(b"\x00ab\xff"),
    }


@pytest.fixture
def fake(transport: str) -> Iterator[tuple[FakeServiceServer, CmapStore]]:
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")
    if shutil.which(CMAPCTL) is None:
        require_live(f"{CMAPCTL} is not installed (the corosync package)")
    main = CmapStore(keys())
    stats = CmapStore({"stats.srp.orf_token_rx": CmapValue(T.UINT64, 42)})
    with FakeServiceServer(CmapService(main, stats), name="cmap", transport=transport) as server:
        yield server, main


def ctl(server: FakeServiceServer, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = server.run([CMAPCTL, *args], input=stdin)
    return proc.returncode, proc.stdout, proc.stderr


T_LINES = [
    "t.bin (bin)",
    "t.dbl (dbl) = -1.500000",
    "t.flt (flt) = 0.250000",
    "t.i16 (i16) = -16",
    "t.i32 (i32) = -32",
    "t.i64 (i64) = -64",
    "t.i8 (i8) = -8",
    "t.str (str) = with spaces",
    "t.u16 (u16) = 16",
    "t.u32 (u32) = 32",
    "t.u64 (u64) = 18446744073709551615",
    "t.u8 (u8) = 8",
]


def test_listing_prefixes_and_get(fake: tuple[FakeServiceServer, CmapStore]) -> None:
    server, _ = fake
    rc, out, _ = ctl(server)
    lines = out.splitlines()
    assert rc == 0 and lines[:4] == [
        "nodelist.node.0.name (str) = node1",
        "nodelist.node.0.nodeid (u32) = 1",
        "nodelist.node.1.nodeid (u32) = 2",
        "runtime.votequorum.this_node_id (u32) = 1",
    ]
    assert lines[4:-1] == T_LINES and lines[-1] == "totem.cluster_name (str) = fakecluster"
    assert ctl(server, "t.") == (0, "\n".join(T_LINES) + "\n", "")
    rc, out, _ = ctl(server, "-b", "t.b")
    # the tool prints a byte over 0x7f as a sign-extended int: its own quirk
    assert (rc, out) == (0, "t.bin (bin) = \\x00ab\\xFFFFFFFF\n")
    assert ctl(server, "-g", "totem.cluster_name") == (
        0, "totem.cluster_name (str) = fakecluster\n", "")
    assert ctl(server, "-q", "-g", "t.u64") == (0, "18446744073709551615\n", "")
    rc, out, err = ctl(server, "-g", "t.missing")
    assert rc == 1 and "CS_ERR_NOT_EXIST" in err


def test_set_delete_and_load(fake: tuple[FakeServiceServer, CmapStore]) -> None:
    server, main = fake
    assert ctl(server, "-s", "t.new", "u16", "7")[0] == 0
    assert ctl(server, "-s", "t.bin2", "bin", "-", stdin="ab")[0] == 0
    assert ctl(server, "-s", "t.u8", "str", "now a string")[0] == 0
    rc, _, err = ctl(server, "-s", "totem.cluster_name", "str", "x")
    assert rc == 1 and "CS_ERR_ACCESS" in err
    rc, _, err = ctl(server, "-s", "t.bad*name", "u8", "1")
    assert rc == 1 and "CS_ERR_NAME_TOO_LONG" in err
    assert server.call(lambda: (main.get("t.new"), main.get("t.bin2"), main.get("t.u8"))) == (
        CmapValue(T.UINT16, 7), CmapValue.binary(b"ab"), CmapValue.string("now a string"))
    assert ctl(server, "-d", "t.new")[0] == 0
    rc, _, err = ctl(server, "-d", "t.new")
    assert rc == 1 and "CS_ERR_NOT_EXIST" in err
    assert ctl(server, "-D", "t.i")[0] == 0
    assert server.call(lambda: [k for k in main.keys("t.i")]) == []
    load = "t.loaded u32 9\n^t.str\n"
    assert ctl(server, "-p", "/dev/stdin", stdin=load)[0] == 0
    assert server.call(lambda: (main.get("t.loaded"), "t.str" in main)) == (
        CmapValue(T.UINT32, 9), False)


def test_stats_map(fake: tuple[FakeServiceServer, CmapStore]) -> None:
    server, _ = fake
    assert ctl(server, "-m", "stats") == (0, "stats.srp.orf_token_rx (u64) = 42\n", "")
    rc, _, err = ctl(server, "-m", "stats", "-s", "stats.srp.orf_token_rx", "u64", "1")
    assert rc == 1 and "CS_ERR_ACCESS" in err
    assert ctl(server, "-C", "all")[0] == 0


def test_tracking_follows_the_story(fake: tuple[FakeServiceServer, CmapStore]) -> None:
    server, main = fake
    watcher = server.popen(["stdbuf", "-oL", CMAPCTL, "-T", "story."], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline() == 'Type "q" to finish\n'
        server.call(lambda: main.apply({"story.a": CmapValue(T.UINT8, 1)}))
        server.call(lambda: main.apply({"story.a": CmapValue(T.UINT8, 1)}))  # no change
        server.call(lambda: main.apply({"story.a": CmapValue(T.UINT8, 2),
                                        "other.key": CmapValue(T.UINT8, 2)}))
        assert ctl(server, "-d", "story.a")[0] == 0  # another client's change
        out, _ = watcher.communicate("q\n", timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(10)
    assert out.splitlines() == [
        "create> story.a (u8) = 1",
        "modify> story.a (u8) = 2",
        "delete> story.a (u8) = 2",
    ]
