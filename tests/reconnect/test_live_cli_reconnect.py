"""``pyquorum watch --reconnect`` end to end, in a node's namespace, across a restart."""

from __future__ import annotations

import json
import subprocess
import sys

from pyquorum.testing.cluster import Node


def test_watch_reconnect_prints_lost_reconnected_and_the_new_snapshot(
    corosync_node: Node,
) -> None:
    node = corosync_node
    argv = [
        "ip", "netns", "exec", node.netns,
        sys.executable, "-m", "pyquorum", "watch", "--reconnect", "--json",
        "--count", "6", "--timeout", "15",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [line["type"] for line in first] == ["nodelist", "quorum"], first
        node.stop()
        node.start()
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(15) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [line["type"] for line in rest] == [
        "connection_lost", "reconnected", "nodelist", "quorum",
    ], rest
    assert rest[1] == {"type": "reconnected", "quorum_type": "set"}
    assert rest[3]["quorate"] is True and rest[3]["members"] == [1]
