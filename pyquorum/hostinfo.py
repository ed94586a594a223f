"""The installed corosync's and libqb's versions, asked of this host.

``pyquorum record`` writes them into a capture's header; they are found by
running ``corosync -v`` and asking the package manager (dpkg, else rpm)
about libqb.  Kept out of :mod:`pyquorum.capture`: the capture format
describes files and takes these versions as values.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

__all__ = ["corosync_version", "libqb_version"]


def _run(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False,
                              env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _upstream(package_version: str) -> str:
    """``1:2.0.6-2`` -> ``2.0.6`` (drop a Debian epoch and revision)."""
    version = package_version.split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


def corosync_version() -> str | None:
    """The installed corosync's version (``corosync -v``), or None if not found."""
    binary = shutil.which("corosync") or next(
        (p for p in ("/usr/sbin/corosync", "/sbin/corosync") if os.access(p, os.X_OK)), None)
    if binary is None:
        return None
    out = _run([binary, "-v"])
    match = re.search(r"version '([^']+)'", out or "")
    return match.group(1) if match else None


def libqb_version() -> str | None:
    """The installed libqb's version (dpkg or rpm), or None if not found."""
    if shutil.which("dpkg-query"):
        out = _run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\\n",
                    "libqb[0-9]*"])
        for line in (out or "").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].startswith("ii"):
                return _upstream(parts[1])
    if shutil.which("rpm"):
        out = _run(["rpm", "-q", "--qf", "%{VERSION}\\n", "libqb"])
        if out and out.strip() and " " not in out.strip():
            return out.strip().splitlines()[0]
    return None
