"""libqb's /etc/libqb/force-filesystem-sockets variant, against a real corosync.

libqb (in corosync and in pyquorum) checks the flag file once per process, so
the real file only needs to exist while corosync starts; pyquorum's client is
pointed at a private copy of the flag so that nothing else on the host sees
the switch for longer than that.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from pyquorum import CorosyncNotRunning, Model, QuorumSession, Track
from pyquorum.ipc import address

FLAG = Path("/etc/libqb/force-filesystem-sockets")
SERVICES = ("quorum", "cmap", "cfg", "cpg", "votequorum")


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_client_uses_path_sockets_when_forced(
    cluster3: Any, transport: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = [Path(address.SOCKET_DIR, s) for s in SERVICES]
    if FLAG.exists() or any(p.exists() for p in paths):
        pytest.skip("this host already uses filesystem sockets for corosync")
    FLAG.parent.mkdir(parents=True, exist_ok=True)
    try:
        FLAG.touch()
        try:
            node = cluster3(1, transport=transport)[1]
        finally:
            FLAG.unlink()
        assert Path(address.SOCKET_DIR, "quorum").is_socket()
        private_flag = tmp_path / "force-filesystem-sockets"
        private_flag.touch()
        monkeypatch.setattr(address, "FORCE_FILESYSTEM_SOCKETS", str(private_flag))
        with node.netns_context():
            session = QuorumSession(Model.V1, timeout=10)
        with session:
            assert session.getquorate()
            session.trackstart(Track.CURRENT)
            assert len(list(session.events(timeout=1))) == 2
        # Without the flag the client looks for the abstract name, which is absent.
        monkeypatch.setattr(address, "FORCE_FILESYSTEM_SOCKETS", str(tmp_path / "absent"))
        with node.netns_context(), pytest.raises(CorosyncNotRunning, match="not running"):
            QuorumSession(Model.V1, timeout=2)
    finally:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
