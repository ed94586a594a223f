"""A real Prometheus server for tests: it scrapes given targets and answers queries.

:class:`PrometheusServer` writes a configuration scraping ``targets`` every
``scrape_interval`` seconds, starts ``/usr/bin/prometheus`` (Debian's
``prometheus`` package) on 127.0.0.1 with a free port and a private TSDB in a
temporary directory, and waits for ``/-/ready``.  :meth:`~PrometheusServer.query`
runs an instant query through ``/api/v1/query``; :meth:`~PrometheusServer.wait_for`
polls one until a predicate holds.  Leaving the ``with`` block always stops
the server (SIGTERM, then SIGKILL, each with a deadline) and removes the
directory, also when starting failed half-way.

Nothing here is specific to pyquorum's exporter: any ``host:port`` serving
``/metrics`` can be a target.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pyquorum.testing.cluster import registry as _registry

__all__ = ["PROMETHEUS", "PrometheusError", "PrometheusServer", "Sample"]

#: Where Debian's ``prometheus`` package puts the server.
PROMETHEUS = "/usr/bin/prometheus"


class PrometheusError(Exception):
    """The server would not start, died, or answered a query with an error."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant query's answer."""

    labels: Mapping[str, str]
    value: float
    timestamp: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text)


class PrometheusServer:
    """A private Prometheus scraping ``targets``; a context manager.

    ``targets`` are ``host:port`` strings (``/metrics`` is scraped), all in
    one job named ``job``.  ``rule_files`` are copied into the directory and
    loaded (evaluated every ``scrape_interval``).
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        scrape_interval: float = 1.0,
        job: str = "pyquorum",
        rule_files: Sequence[str | os.PathLike[str]] = (),
        binary: str = PROMETHEUS,
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if not targets:
            raise ValueError("give at least one target")
        if not scrape_interval > 0:
            raise ValueError(f"scrape_interval must be > 0, not {scrape_interval!r}")
        self.targets = tuple(targets)
        self.scrape_interval = scrape_interval
        self.job = job
        self.rule_files = tuple(Path(p) for p in rule_files)
        self.binary = binary
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port = 0
        self.directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _write_config(self, directory: Path) -> Path:
        interval = f"{max(1, round(self.scrape_interval * 1000))}ms"
        rules = []
        for index, source in enumerate(self.rule_files):
            copy = directory / f"rules-{index}-{source.name}"
            shutil.copyfile(source, copy)
            rules.append(f"  - {_yaml_string(str(copy))}")
        lines = [
            "global:",
            f"  scrape_interval: {interval}",
            f"  scrape_timeout: {interval}",
            f"  evaluation_interval: {interval}",
            *(["rule_files:", *rules] if rules else []),
            "scrape_configs:",
            f"  - job_name: {_yaml_string(self.job)}",
            "    metrics_path: /metrics",
            "    static_configs:",
            "      - targets: [" + ", ".join(_yaml_string(t) for t in self.targets) + "]",
        ]
        config = directory / "prometheus.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> PrometheusServer:
        if self._process is not None:
            raise RuntimeError("this Prometheus is already started")
        if not os.access(self.binary, os.X_OK):
            raise PrometheusError(
                f"{self.binary} is not there (Debian: apt-get install prometheus)"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="pyquorum-prometheus-"))
        # Its own session keeps ^C away from it, so a run that dies of SIGTERM or exits
        # without stop() must stop it through the harness's clean-up registry.
        _registry.on_teardown(self, self.stop)
        try:
            config = self._write_config(self.directory)
            for _attempt in range(3):  # another process may take the free port first
                self.port = _free_port()
                self._spawn(config)
                if self._wait_ready():
                    return self
                if "address already in use" not in self.log():
                    break
                self._terminate()
            raise PrometheusError(f"Prometheus did not become ready:\n{self.log()[-2000:]}")
        except BaseException:
            self.stop()
            raise

    def _spawn(self, config: Path) -> None:
        assert self.directory is not None
        with open(self.directory / "prometheus.log", "ab") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=info",
                ],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, cwd=self.directory,
            )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response,
            ):
                if response.status == 200:
                    return True
            time.sleep(0.1)
        return False

    def log(self) -> str:
        """What the server printed so far."""
        if self.directory is None:
            return ""
        try:
            return (self.directory / "prometheus.log").read_text(errors="replace")
        except OSError:
            return ""

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        else:
            process.wait()

    def stop(self) -> None:
        """Stop the server and remove its directory; idempotent, safe after a failed start."""
        try:
            self._terminate()
        finally:
            _registry.on_teardown(self, None)
            directory, self.directory = self.directory, None
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- API

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> object:
        if self._process is None:
            raise PrometheusError("this Prometheus is not running")
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            try:
                body = json.load(error)
            except ValueError:
                raise PrometheusError(f"{path}: HTTP {error.code}") from None
        except (OSError, ValueError) as error:
            raise PrometheusError(f"{path}: {error}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else body
            raise PrometheusError(f"{path}: {detail}")
        return body.get("data")

    def query(self, expr: str) -> list[Sample]:
        """An instant query; a scalar or string answer comes back as one sample."""
        data = self._api("/api/v1/query", {"query": expr})
        if not isinstance(data, dict):
            raise PrometheusError(f"unexpected answer to {expr!r}: {data!r}")
        kind, result = data.get("resultType"), data.get("result")
        if kind in ("scalar", "string") and isinstance(result, list):
            return [Sample({}, _number(result[1]), float(result[0]))]
        if kind != "vector" or not isinstance(result, list):
            raise PrometheusError(f"{expr!r} is not an instant vector: {kind}")
        return [
            Sample(dict(item["metric"]), _number(item["value"][1]), float(item["value"][0]))
            for item in result
        ]

    def value(self, expr: str) -> float | None:
        """The single sample's value, None when there is none; more than one is an error."""
        samples = self.query(expr)
        if len(samples) > 1:
            raise PrometheusError(f"{expr!r} gave {len(samples)} samples, not one")
        return samples[0].value if samples else None

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[list[Sample]], bool],
        timeout: float = 30.0,
        interval: float = 0.2,
    ) -> list[Sample]:
        """Query ``expr`` until ``predicate`` holds; TimeoutError shows the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            samples = self.query(expr)
            if predicate(samples):
                return samples
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{expr!r} after {timeout}s: {samples}")
            time.sleep(interval)

    def wait_for_value(self, expr: str, expected: float, timeout: float = 30.0) -> None:
        """Wait until ``expr`` has exactly one sample, equal to ``expected``."""
        self.wait_for(expr, lambda s: len(s) == 1 and s[0].value == expected, timeout)

    def targets_health(self) -> dict[str, str]:
        """``host:port`` → ``up``/``down``/``unknown`` for each active target."""
        data = self._api("/api/v1/targets", {"state": "active"})
        if not isinstance(data, dict):
            raise PrometheusError(f"unexpected targets answer: {data!r}")
        return {
            str(t["labels"]["instance"]): str(t["health"])
            for t in data.get("activeTargets", [])
        }


def _number(text: object) -> float:
    """Prometheus sends values as strings ("1", "NaN", "+Inf"); float() reads them all."""
    try:
        return float(str(text))
    except ValueError:
        raise PrometheusError(f"not a number in a query answer: {text!r}") from None
