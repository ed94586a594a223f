"""Build and run the C oracles in tests/c/: Debian's corosync client libraries.

Four oracles, each one C file linked against one library::

    quorum       tests/c/quorum_oracle.c      -lquorum      (libquorum-dev)
    votequorum   tests/c/votequorum_oracle.c  -lvotequorum  (libvotequorum-dev)
    cmap         tests/c/cmap_oracle.c        -lcmap        (libcmap-dev)
    cfg          tests/c/cfg_oracle.c         -lcfg         (libcfg-dev)

Each binary is built once per source version (its C file and
tests/c/oracle_common.h) into tests/c/build/ (ignored by git).  Building needs
a C compiler and the library's -dev package; callers decide whether their
absence skips or fails (see require_live in conftest).
What each oracle prints is documented in tests/oracles/README.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

C_DIR = Path(__file__).parent / "c"
BUILD_DIR = C_DIR / "build"
#: Included by every oracle: what they all do the same way.
COMMON_HEADER = C_DIR / "oracle_common.h"


@dataclass(frozen=True)
class OracleSpec:
    """One oracle: its source, the library it links and where that comes from."""

    name: str
    library: str
    header: str
    package: str

    @property
    def source(self) -> Path:
        return C_DIR / f"{self.name}_oracle.c"


ORACLES: dict[str, OracleSpec] = {
    spec.name: spec
    for spec in (
        OracleSpec("quorum", "quorum", "quorum.h", "libquorum-dev"),
        OracleSpec("votequorum", "votequorum", "votequorum.h", "libvotequorum-dev"),
        OracleSpec("cmap", "cmap", "cmap.h", "libcmap-dev"),
        OracleSpec("cfg", "cfg", "cfg.h", "libcfg-dev"),
    )
}

INCLUDE_DIR = Path("/usr/include/corosync")


class OracleUnavailable(RuntimeError):
    """A C oracle cannot be built here (no compiler or no library headers)."""


class OracleFailed(AssertionError):
    """An oracle run exited non-zero (a bad script line, a crash) or timed out."""


def build_oracle(name: str = "quorum") -> Path:
    """Path of a current build of oracle ``name``, compiling it if needed."""
    try:
        spec = ORACLES[name]
    except KeyError:
        raise ValueError(f"no oracle {name!r}; known: {', '.join(sorted(ORACLES))}") from None
    source = spec.source
    # The shared header is part of every oracle's source version.
    digest = hashlib.sha256(source.read_bytes() + COMMON_HEADER.read_bytes()).hexdigest()[:12]
    binary = BUILD_DIR / f"{name}_oracle-{digest}"
    if binary.exists():
        return binary
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise OracleUnavailable(f"no C compiler to build the {name} oracle (apt-get install gcc)")
    if not (INCLUDE_DIR / spec.header).exists():
        raise OracleUnavailable(
            f"no lib{spec.library} headers ({INCLUDE_DIR / spec.header}) to build the {name} "
            f"oracle (apt-get install {spec.package})"
        )
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f"{binary.name}.{os.getpid()}.tmp")  # parallel builders race
    proc = subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", "-o", str(tmp), str(source), f"-l{spec.library}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise OracleUnavailable(
            f"building the {name} oracle failed (is {spec.package} installed?):\n{proc.stderr}"
        )
    tmp.rename(binary)
    return binary


def parse_lines(output: str) -> list[dict[str, Any]]:
    """The oracle's JSON lines as dicts."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# --------------------------------------------------------------------------- running


class InNamespace(Protocol):
    """Anything with a network namespace to run in (a cluster Node, a fake server)."""

    def netns_context(self) -> AbstractContextManager[Any]: ...


Where = InNamespace | None


def _entered(where: Where) -> AbstractContextManager[Any]:
    return contextlib.nullcontext() if where is None else where.netns_context()


def run_oracle(
    name: str, where: Where, script: str | list[str], *, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Run oracle ``name``'s script mode in ``where``'s namespace; its JSON lines.

    ``where`` is a :class:`~pyquorum.testing.cluster.Node`, a fake server or
    anything with ``netns_context()``; None runs in the current namespace.
    Raises :class:`OracleFailed` if the oracle exits non-zero.
    """
    text = script if isinstance(script, str) else "\n".join(script) + "\n"
    binary = build_oracle(name)
    with _entered(where):
        try:
            proc = subprocess.run([str(binary), "script"], input=text, capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise OracleFailed(f"the {name} oracle did not finish in {timeout} s") from exc
    if proc.returncode != 0:
        raise OracleFailed(f"the {name} oracle exited {proc.returncode}: {proc.stderr.strip()}\n"
                           f"output so far: {proc.stdout}")
    return parse_lines(proc.stdout)


def run_quorum_oracle(where: Where, script: str | list[str]) -> list[dict[str, Any]]:
    """:func:`run_oracle` for tests/c/quorum_oracle.c."""
    return run_oracle("quorum", where, script)


def run_votequorum_oracle(where: Where, script: str | list[str]) -> list[dict[str, Any]]:
    """:func:`run_oracle` for tests/c/votequorum_oracle.c."""
    return run_oracle("votequorum", where, script)


def run_cmap_oracle(where: Where, script: str | list[str]) -> list[dict[str, Any]]:
    """:func:`run_oracle` for tests/c/cmap_oracle.c."""
    return run_oracle("cmap", where, script)


def run_cfg_oracle(where: Where, script: str | list[str]) -> list[dict[str, Any]]:
    """:func:`run_oracle` for tests/c/cfg_oracle.c."""
    return run_oracle("cfg", where, script)


class OracleWatch:
    """A running ``watch`` mode oracle, read line by line while the test acts.

    Use :func:`watch_oracle`; :meth:`next` waits for the next JSON line (the
    first ones are the setup calls), :meth:`finish` waits for the exit and
    returns the lines not read yet.
    """

    def __init__(self, name: str, proc: subprocess.Popen[str]) -> None:
        self.name = name
        self._proc = proc
        self._buffer = ""

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next line, failing after ``timeout`` seconds without one."""
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while "\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OracleFailed(f"the {self.name} watcher printed nothing for {timeout} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536).decode()
                if not chunk:
                    raise OracleFailed(f"the {self.name} watcher exited "
                                       f"({self._proc.wait()}) before its next line")
                self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    def finish(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait for the exit (COUNT events or its own timeout); the remaining lines."""
        assert self._proc.stdout is not None
        try:
            rest, err = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise OracleFailed(f"the {self.name} watcher did not exit in {timeout} s") from exc
        if self._proc.returncode != 0:
            raise OracleFailed(f"the {self.name} watcher exited {self._proc.returncode}: {err}")
        return parse_lines(self._buffer + rest)

    def kill(self) -> None:
        """End the watcher now (a no-op once it has exited) and close its pipes."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()


@contextlib.contextmanager
def watch_oracle(name: str, where: Where, *args: str | int) -> Iterator[OracleWatch]:
    """Start ``<name>_oracle watch ARGS...`` in ``where``'s namespace; killed on exit.

    votequorum: ``CONTEXT FLAGS COUNT TIMEOUT_MS``; cmap: ``KEY TRACKTYPE
    COUNT TIMEOUT_MS``; quorum: ``v0|v1 FLAGS COUNT TIMEOUT_MS``.
    """
    binary = build_oracle(name)
    with _entered(where):
        proc = subprocess.Popen([str(binary), "watch", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    watch = OracleWatch(name, proc)
    try:
        yield watch
    finally:
        watch.kill()
