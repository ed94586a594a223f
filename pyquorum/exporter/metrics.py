"""The metric families a scrape yields, read from one :class:`ClusterSnapshot`.

Where ha_cluster_exporter has a metric for the same thing, the name, labels
and meaning are its own, so existing dashboards and alerts keep working:

* ``ha_cluster_corosync_quorate`` (1/0);
* ``ha_cluster_corosync_quorum_votes{type}``, ``type`` one of
  ``expected_votes``, ``highest_expected``, ``total_votes``, ``quorum``;
* ``ha_cluster_corosync_member_votes{node_id,node,local}``: each member's
  votes, plus a ``node_id="0", node="Qdevice"`` row when a quorum device is
  registered, as ``corosync-quorumtool`` lists it (its votes while it casts
  them, else 0; ``pyquorum_corosync_qdevice_votes`` has them always); ``local`` is
  ``"true"``/``"false"``;
* ``ha_cluster_corosync_rings{ring_id,node_id,number,address}``: one series
  per link of this node, 1 healthy, 0 faulty; ``ring_id`` is the ring id as
  ``corosync-quorumtool`` prints it (``nodeid.seq`` in hex), ``node_id`` this
  node's id, ``address`` this node's address on the link (cmap's
  ``nodelist.node.X.ringN_addr``).  A link is faulty when a current member
  has it enabled but not connected (:meth:`ClusterSnapshot.faulty_links`);
* ``ha_cluster_corosync_ring_errors``: how many of those links are faulty.

The rest is pyquorum's own, under ``pyquorum_corosync_``;
``service_tracked{service}`` says which services the source tracks, so a
metric absent because corosync does not serve its service is explained.  While corosync
is not reachable only ``pyquorum_corosync_reachable`` (0), the counters and
the last-change timestamp are exported: stale cluster values would lie.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from pyquorum.exporter.state import FLAG_NAMES, ClusterSnapshot, ClusterState
from pyquorum.messages.constants import NodeState

__all__ = ["ClusterCollector", "families", "registry_for"]

_P = "pyquorum_corosync_"
#: knet reports latencies in microseconds; Prometheus wants seconds.
_US_PER_S = 1e6


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def families(snap: ClusterSnapshot) -> Iterator[Metric]:
    """Every family for ``snap``, in a stable order."""
    reachable = _gauge(_P + "reachable", "Whether corosync answers the exporter (1) or not (0).")
    reachable.add_metric([], 1.0 if snap.reachable else 0.0)
    if snap.reachable:
        yield from _compatible(snap)
    yield reachable
    yield from _counters(snap)
    if not snap.reachable:
        return
    yield from _votequorum(snap)
    yield from _nodes(snap)
    yield from _knet(snap)


def _counters(snap: ClusterSnapshot) -> Iterator[Metric]:
    for name, doc, value in (
        ("membership_changes", "Membership changes seen (a member set that differs from "
         "the one before, also across reconnects).", snap.membership_changes),
        ("quorum_losses", "Transitions from quorate to not quorate seen, "
         "also those that healed between two scrapes.", snap.quorum_losses),
        ("connection_losses", "Times the exporter lost its connection to corosync.",
         snap.connection_losses),
    ):
        family = CounterMetricFamily(_P + name, doc)
        family.add_metric([], float(value))
        yield family
    if snap.reachable and snap.tracked:
        tracked = _gauge(_P + "service_tracked",
                         "Whether the exporter tracks this corosync service (0: corosync "
                         "does not serve it, so its metrics are absent).", ["service"])
        for service, on in snap.tracked.items():
            tracked.add_metric([service], 1.0 if on else 0.0)
        yield tracked
    if snap.last_change is not None:
        last = _gauge(_P + "last_change_timestamp_seconds",
                      "When membership or quorate last changed (Unix time).")
        last.add_metric([], snap.last_change)
        yield last


def _compatible(snap: ClusterSnapshot) -> Iterator[Metric]:
    if snap.quorate is not None:
        quorate = _gauge("ha_cluster_corosync_quorate", "Whether or not the cluster is quorate")
        quorate.add_metric([], 1.0 if snap.quorate else 0.0)
        yield quorate
    view = snap.votequorum
    if view is not None:
        votes = _gauge("ha_cluster_corosync_quorum_votes",
                       "Cluster quorum votes; one line per type", labels=["type"])
        for kind, value in (("expected_votes", view.expected_votes),
                            ("highest_expected", view.highest_expected),
                            ("total_votes", view.total_votes), ("quorum", view.quorum)):
            votes.add_metric([kind], float(value))
        yield votes
    if snap.members is not None:
        members = _gauge(
            "ha_cluster_corosync_member_votes",
            "How many votes each member node has contributed with to the current quorum",
            labels=["node_id", "node", "local"],
        )
        for nodeid in snap.members:
            if nodeid in snap.node_votes:
                local = "true" if nodeid == snap.local_nodeid else "false"
                members.add_metric([str(nodeid), snap.node_name(nodeid), local],
                                   float(snap.node_votes[nodeid]))
        if view is not None and view.qdevice is not None:
            # the tool counts the device's votes only while it casts them
            device = view.qdevice
            members.add_metric(["0", "Qdevice", "false"],
                               float(device.votes if device.cast_vote else 0))
        yield members
    this = snap.nodes.get(snap.local_nodeid) if snap.local_nodeid is not None else None
    if this is not None and snap.ring_id is not None:
        faulty = snap.faulty_links()
        rings = _gauge("ha_cluster_corosync_rings",
                       "The status of each Corosync ring; 1 means healthy, 0 means faulty.",
                       labels=["ring_id", "node_id", "number", "address"])
        for number, address in this.addresses.items():
            rings.add_metric([str(snap.ring_id), str(this.nodeid), str(number), address],
                             0.0 if number in faulty else 1.0)
        yield rings
        errors = _gauge("ha_cluster_corosync_ring_errors",
                        "The total number of faulty corosync rings")
        errors.add_metric([], float(sum(1 for n in this.addresses if n in faulty)))
        yield errors


def _votequorum(snap: ClusterSnapshot) -> Iterator[Metric]:
    view = snap.votequorum
    if view is None:
        return
    flags = _gauge(_P + "votequorum_flag",
                   "Each votequorum flag of this node's view: 1 set, 0 not.", labels=["flag"])
    for name, bit in FLAG_NAMES:
        flags.add_metric([name], 1.0 if view.flags & bit else 0.0)
    yield flags
    registered = _gauge(_P + "qdevice_registered", "Whether a quorum device is registered.")
    registered.add_metric([], 1.0 if view.qdevice is not None else 0.0)
    yield registered
    if view.qdevice is None:
        return
    qdevice = view.qdevice
    for name, doc, value in (
        ("qdevice_alive", "Whether the quorum device is alive.", qdevice.alive),
        ("qdevice_cast_vote", "Whether the quorum device casts its vote.", qdevice.cast_vote),
        ("qdevice_master_wins", "Whether the quorum device has master_wins set.",
         qdevice.master_wins),
        ("qdevice_votes", "The quorum device's votes.", qdevice.votes),
    ):
        family = _gauge(_P + name, doc, labels=["name"])
        family.add_metric([qdevice.name], float(value))
        yield family


def _nodes(snap: ClusterSnapshot) -> Iterator[Metric]:
    if snap.members is None:
        return
    count = _gauge(_P + "members", "How many nodes are in the current membership.")
    count.add_metric([], float(len(snap.members)))
    yield count
    known = sorted(set(snap.nodes) | snap.seen | set(snap.node_states))
    member = _gauge(_P + "node_member",
                    "Each node configured or seen since corosync was reached: 1 when a member.",
                    labels=["node_id", "node"])
    for nodeid in known:
        member.add_metric([str(nodeid), snap.node_name(nodeid)],
                          1.0 if nodeid in snap.members else 0.0)
    yield member
    if snap.node_states:
        state = _gauge(_P + "node_state",
                       "Each node's votequorum state: 1 for the state it is in.",
                       labels=["node_id", "node", "state"])
        for nodeid, value in sorted(snap.node_states.items()):
            for kind in NodeState:
                state.add_metric([str(nodeid), snap.node_name(nodeid), kind.name.lower()],
                                 1.0 if value == kind else 0.0)
        yield state


def _knet(snap: ClusterSnapshot) -> Iterator[Metric]:
    if snap.stats_time is not None:
        stamp = _gauge(_P + "stats_timestamp_seconds",
                       "When the knet stats were last read from cmap's stats map (Unix time).")
        stamp.add_metric([], snap.stats_time)
        yield stamp
    if not snap.links:
        return
    labels = ["node_id", "node", "link"]
    gauges = {
        "connected": _gauge(_P + "knet_link_connected",
                            "Whether knet's link to the node is connected.", labels),
        "enabled": _gauge(_P + "knet_link_enabled",
                          "Whether knet's link to the node is enabled.", labels),
        "ave": _gauge(_P + "knet_link_latency_average_seconds",
                      "knet's average latency on the link.", labels),
        "min": _gauge(_P + "knet_link_latency_min_seconds",
                      "knet's lowest latency seen on the link.", labels),
        "max": _gauge(_P + "knet_link_latency_max_seconds",
                      "knet's highest latency seen on the link.", labels),
    }
    downs = CounterMetricFamily(_P + "knet_link_down",
                                "Times knet saw the link go down (knet's down_count).",
                                labels=labels)
    ups = CounterMetricFamily(_P + "knet_link_up",
                              "Times knet saw the link come up (knet's up_count).", labels=labels)
    for (nodeid, link), stats in snap.links.items():
        values = [str(nodeid), snap.node_name(nodeid), str(link)]
        for key, flag in (("connected", stats.connected), ("enabled", stats.enabled)):
            if flag is not None:
                gauges[key].add_metric(values, 1.0 if flag else 0.0)
        for key, micros in (("ave", stats.latency_ave_us), ("min", stats.latency_min_us),
                            ("max", stats.latency_max_us)):
            # No samples (this node's own link): knet leaves latency_min at
            # UINT32_MAX and the others at 0, which are not measurements.
            if micros is not None and stats.latency_samples != 0:
                gauges[key].add_metric(values, micros / _US_PER_S)
        if stats.down_count is not None:
            downs.add_metric(values, float(stats.down_count))
        if stats.up_count is not None:
            ups.add_metric(values, float(stats.up_count))
    yield from gauges.values()
    yield downs
    yield ups


class ClusterCollector(Collector):
    """A prometheus_client collector over a :class:`ClusterState`: one snapshot per scrape."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        return families(self.state.snapshot())

    def describe(self) -> Iterator[Metric]:
        """Nothing to pre-declare: the families depend on the cluster (and the
        registry then skips its duplicate-name check for this collector)."""
        return iter(())


def registry_for(state: ClusterState) -> CollectorRegistry:
    """A registry holding only the cluster's metrics (no process or GC collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(state))
    return registry
