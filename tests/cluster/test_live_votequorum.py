"""Real votequorum configurations and a real quorum device, against corosync.

The harness renders votequorum's options and a ``quorum.device`` section
into corosync.conf and runs Debian's corosync-qnetd and corosync-qdevice;
these tests check that what corosync then reports (``corosync-quorumtool
-s``, parsed by the harness) is what the configuration asked for.  Each
takes a few seconds (``--durations`` shows them).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pyquorum.testing.cluster import (
    Cluster,
    ClusterUnavailable,
    QdeviceConfig,
    QuorumStatus,
    VotequorumOptions,
    leftovers,
    parse_quorumtool,
)
from pyquorum.testing.cluster.config import NodeEntry, render
from pyquorum.testing.cluster.wait import wait_until
from tests.support.live import require_corosync, require_live

live = pytest.mark.corosync


@contextmanager
def started(nodes: int, start: Iterable[int] | None = None, **options: Any) -> Iterator[Cluster]:
    """A cluster of ``nodes`` with only the node ids ``start`` started (default all)."""
    require_corosync()
    cluster = Cluster(nodes, **options)
    try:
        cluster.start(start)
    except ClusterUnavailable as exc:
        require_live(exc)
    try:
        yield cluster
    finally:
        cluster.close(graceful=False)


# --------------------------------------------------------------------------- votequorum options


@live
def test_two_node_without_wait_for_all_is_quorate_with_one_node() -> None:
    options = VotequorumOptions(two_node=True, wait_for_all=False)
    with started(2, [1], votequorum=options) as cluster:
        assert not cluster[2].is_running  # never started: node 1 has not seen it
        status = cluster.wait_quorate(1, True, timeout=10)
        assert status.members == {1}
        assert {"2Node", "Quorate"} <= status.flags and "WaitForAll" not in status.flags
        assert (status.expected_votes, status.total_votes, status.quorum) == (2, 1, 1)


@live
def test_two_node_waits_for_all_then_survives_the_loss_of_one() -> None:
    with started(2, [1], votequorum=VotequorumOptions(two_node=True)) as cluster:
        # wait_for_all is on by default with two_node: one vote of two is
        # enough, but not before both nodes were seen.
        status = cluster.wait_formed({1}, timeout=10, quorate=False)[1]
        assert {"2Node", "WaitForAll"} <= status.flags and "Quorate" not in status.flags
        cluster[2].start()
        statuses = cluster.wait_formed(timeout=15, quorate=True)
        assert all({"2Node", "WaitForAll", "Quorate"} <= s.flags for s in statuses.values())
        cluster[2].crash()
        status = cluster.wait_formed({1}, timeout=15, quorate=True)[1]
        assert status.total_votes == 1 and status.quorum == 1


@live
def test_wait_for_all_holds_quorum_back_until_every_node_was_seen() -> None:
    with started(3, [1, 2], votequorum=VotequorumOptions(wait_for_all=True)) as cluster:
        # Two votes of three would be quorate, but node 3 was never seen.
        statuses = cluster.wait_formed({1, 2}, timeout=15, quorate=False)
        assert all(s.total_votes == 2 and s.quorum == 2 for s in statuses.values())
        assert all("WaitForAll" in s.flags for s in statuses.values())
        cluster[3].start()
        cluster.wait_formed(timeout=15, quorate=True)
        cluster[3].crash()
        # Once all were seen, losing one is ordinary majority arithmetic.
        cluster.wait_formed({1, 2}, timeout=15, quorate=True)


def _expected_votes(cluster: Cluster, nodeid: int, votes: int) -> QuorumStatus:
    def check() -> QuorumStatus | None:
        status = cluster[nodeid].quorum_status()
        return status if status.expected_votes == votes else None

    return cluster.wait_until(check, 10, f"node {nodeid} to expect {votes} votes")


@live
def test_last_man_standing_and_the_tie_breaker_keep_the_lowest_node_going() -> None:
    # corosync refuses last_man_standing with auto_tie_breaker on an odd node count.
    options = VotequorumOptions(
        last_man_standing=True, last_man_standing_window=1000, auto_tie_breaker=True
    )
    with started(4, votequorum=options) as cluster:
        status = cluster[1].quorum_status()
        assert {"LastManStanding", "AutoTieBreaker", "Quorate"} <= status.flags
        assert status.expected_votes == 4
        cluster[4].crash()
        cluster.wait_formed({1, 2, 3}, timeout=15, quorate=True)
        assert _expected_votes(cluster, 1, 3).quorum == 2
        cluster[3].crash()
        cluster.wait_formed({1, 2}, timeout=15, quorate=True)
        assert _expected_votes(cluster, 1, 2).quorum == 2
        # 1 | 2 is a tie; the tie-breaker (lowest node id by default) picks node 1.
        cluster.partition([2])
        cluster.wait_formed({1}, timeout=15, quorate=True)
        cluster.wait_formed({2}, timeout=15, quorate=False)


@live
def test_expected_and_node_votes_can_be_changed() -> None:
    with started(3, expected_votes=6) as cluster:  # start() waited for "inquorate"
        status = cluster[2].quorum_status()
        assert (status.expected_votes, status.total_votes, status.quorum) == (6, 3, 4)
        cluster[1].set_votes(2, nodeid=1)  # 2 + 1 + 1 reaches quorum 4
        statuses = cluster.wait_formed(timeout=10, quorate=True)
        assert all(s.votes[1] == 2 and s.total_votes == 4 for s in statuses.values())
        cluster[3].set_expected_votes(4)
        status = _expected_votes(cluster, 2, 4)
        assert status.quorum == 3 and status.quorate


# --------------------------------------------------------------------------- quorum device


@live
def test_a_qdevice_with_ffsplit_and_tls_adds_its_vote_and_loses_it_with_qnetd() -> None:
    with started(3, qdevice=QdeviceConfig(algorithm="ffsplit", tls=True)) as cluster:
        # start() waited until every node counts the device.
        for node in cluster:
            status = node.quorum_status()
            assert "Qdevice" in status.flags and status.qdevice_votes == 1
            assert status.qdevice_states == {i: {"A", "V", "NMW"} for i in (1, 2, 3)}
            assert (status.expected_votes, status.total_votes) == (4, 4)
            assert "Qdevice" in status.raw.split("Membership information")[1]
        assert cluster[1].qdevice is not None and cluster.qnetd is not None
        assert "State:\t\t\tConnected" in cluster[1].qdevice.tool("-s")
        listing = cluster.qnetd.tool("-l", "-v")
        assert f'Cluster "{cluster.tag}"' in listing
        assert listing.count("TLS active:\t\tYes (client certificate verified)") == 3
        cluster.qnetd.stop()

        def vote_gone() -> QuorumStatus | None:
            status = cluster[1].quorum_status()
            return status if status.qdevice_votes == 0 else None

        lost = cluster.wait_until(vote_gone, 10, "the qdevice's vote to go with qnetd")
        assert lost.qdevice_states[1] == {"A", "NV", "NMW"}
        assert lost.total_votes == 3 and lost.quorate  # 3 of 4 still reach quorum 3


@live
def test_a_qdevice_with_lms_without_tls_holds_the_last_node() -> None:
    with started(3, qdevice=QdeviceConfig(algorithm="lms", tls=False)) as cluster:
        status = cluster[1].quorum_status()
        assert status.qdevice_votes == 2  # lms: the nodes' votes minus one
        assert (status.expected_votes, status.total_votes, status.quorum) == (5, 5, 3)
        cluster[2].crash()
        cluster[3].crash()
        # Node 1 alone has 1 vote; with the device's 2 it keeps quorum 3.
        alone = cluster.wait_formed({1}, timeout=20, quorate=True)[1]
        assert alone.total_votes == 3 and alone.qdevice_votes == 2


@live
def test_a_qdevice_cluster_leaves_nothing_behind() -> None:
    with started(2, qdevice=QdeviceConfig(algorithm="ffsplit", tls=False)) as cluster:
        assert cluster.qnetd is not None
        pids = [cluster.qnetd.daemon.pid] + [n.qdevice.daemon.pid for n in cluster if n.qdevice]
        tag, workdir = cluster.tag, cluster.workdir
    assert not [item for item in leftovers() if tag in item]
    assert not workdir.exists()
    assert all(pid is not None for pid in pids)
    wait_until(lambda: all(not Path(f"/proc/{p}").exists() for p in pids), 1, "no daemon left")


# --------------------------------------------------------------------------- no corosync needed


def test_the_quorum_section_carries_the_options_and_the_device() -> None:
    me = NodeEntry(1, "node1", "198.18.0.1")
    text = render(
        tag="pq1c0",
        node=me,
        nodes=[me],
        log_path=Path("/w/log"),
        state_dir=Path("/w/state"),
        transport="shm",
        token_ms=1000,
        quorum=True,
        expected_votes=None,
        quorum_options=VotequorumOptions(two_node=True, wait_for_all=False).items(),
        qdevice=QdeviceConfig(algorithm="lms", tls=False),
        qnetd_host="198.18.0.254",
        uidgid=(),
        uidgid_gids=(),
        debug=False,
        extra_config="",
    )
    quorum = text[text.index("quorum {") : text.index("logging {")]
    assert quorum == textwrap.dedent("""\
        quorum {
            provider: corosync_votequorum
            two_node: 1
            wait_for_all: 0
            device {
                model: net
                timeout: 2000
                sync_timeout: 4000
                net {
                    host: 198.18.0.254
                    port: 5403
                    algorithm: lms
                    tls: off
                }
            }
        }
        """)
    assert "votes:" not in quorum  # lms: corosync-qdevice's own default
    assert "votes: 1" in QdeviceConfig(algorithm="ffsplit").section("h")


def test_the_qdevice_row_and_column_are_parsed() -> None:
    text = textwrap.dedent("""\
        Quorum information
        ------------------
        Quorum provider:  corosync_votequorum
        Nodes:            2
        Node ID:          1
        Ring ID:          1.d
        Quorate:          Yes

        Votequorum information
        ----------------------
        Expected votes:   4
        Highest expected: 4
        Total votes:      3
        Quorum:           3
        Flags:            Quorate Qdevice

        Membership information
        ----------------------
            Nodeid      Votes    Qdevice Name
                 1          1   A,NV,NMW node1 (local)
                 2          1    A,V,NMW node2
                 0          0            Qdevice (votes 1)
        """)
    status = parse_quorumtool(text)
    assert status.members == {1, 2} and status.votes == {1: 1, 2: 1}
    assert status.qdevice_votes == 0
    assert status.qdevice_states == {1: {"A", "NV", "NMW"}, 2: {"A", "V", "NMW"}}
    assert status.qdevice_alive
    without = parse_quorumtool(text.replace("0          0            Qdevice (votes 1)", ""))
    assert without.qdevice_votes is None and without.members == {1, 2}
