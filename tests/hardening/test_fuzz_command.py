"""``python -m pyquorum.testing.fuzz``: it runs, reports rates, saves what it finds.

A short run of each target must find nothing on the current code.  Before the
issue-15 fixes it found the handshake's INT32_MIN error field, the ring's
semaphore at SEM_VALUE_MAX and ref_count at INT32_MAX (docs/trust-boundary.md
§8); KNOWN_TODAY held them then, and is empty now.  A decoder that raises
ValueError, or hangs, injected into the table is reported and its input saved
and replayable.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages import cfg
from pyquorum.testing import fuzz

#: target -> the findings (exception, raising function) the current code has.
KNOWN_TODAY: dict[str, set[tuple[str, str]]] = {
    "decoders": set(),
    "ring": set(),
    "handshake": set(),
}

RATE = re.compile(r"^(\w+): (\d+) inputs in ([\d.]+) s \((\d+) inputs/s\)$", re.M)
FINDING = re.compile(r"^  (\w+)/([\w.]+): (\w+) at (\S+) \((\w+)\) x(\d+)", re.M)


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyquorum.testing.fuzz", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("target", ["decoders", "ring", "handshake"])
def test_a_short_run_reports_its_rate_and_finds_only_the_known_cases(
    target: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = run_cli("--seconds", "2", "--target", target, "--out", str(out), "--seed", "1")
    assert proc.stderr == ""
    rates = RATE.findall(proc.stdout)
    assert [r[0] for r in rates] == [target], proc.stdout
    _name, inputs, seconds, rate = rates[0]
    assert int(inputs) > 100 and int(rate) > 0
    assert 1.5 <= float(seconds) < 10
    found = {(kind, func) for tgt, _h, kind, _where, func, _n in FINDING.findall(proc.stdout)}
    assert found == KNOWN_TODAY[target], proc.stdout
    assert proc.returncode == (1 if found else 0)
    saved = sorted(out.glob("*.bin")) if found else []
    assert all(p.with_suffix(".txt").exists() for p in saved)
    for path in saved[:1]:
        # Each saved input replays to the same finding.
        replay = run_cli("--target", target, "--replay", str(path), "--out", str(tmp_path / "r"))
        assert replay.returncode == 1
        assert {(k, f) for _t, _h, k, _w, f, _n in FINDING.findall(replay.stdout)} <= found


def _raises_value_error(data: bytes) -> object:
    if len(data) > 40 and data[40] & 1:
        raise ValueError("a decoder that leaks ValueError")
    raise RemoteProtocolError("fine")


def test_an_injected_bad_decoder_is_found_and_its_input_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(fuzz.DECODERS, "broken.value_error", _raises_value_error)
    status = fuzz.main(["--seconds", "1", "--target", "decoders", "--out", str(tmp_path)])
    stdout = capsys.readouterr().out
    assert status == 1
    (finding,) = FINDING.findall(stdout)
    assert finding[:3] == ("decoders", "broken.value_error", "ValueError")
    saved = sorted(tmp_path.glob("decoders-broken_value_error-ValueError-*.bin"))
    assert 1 <= len(saved) <= 5
    with pytest.raises(ValueError):
        _raises_value_error(saved[0].read_bytes())
    assert "Traceback" in saved[0].with_suffix(".txt").read_text()


def test_a_decoder_that_hangs_is_a_finding_and_the_run_goes_on(tmp_path: Path) -> None:
    def hangs(data: bytes) -> object:
        if len(data) > 40 and data[40] == 0xFF:
            time.sleep(60)
        raise RemoteProtocolError("fine")

    fuzzer = fuzz.Fuzzer(tmp_path, seed=3, bound=0.2, decoders={"slow": hangs}, log=lambda _: None)
    start = time.monotonic()
    stats = fuzzer.run_target("decoders", 1.0)
    assert time.monotonic() - start < 10
    kinds = {(f.harness, f.kind) for f in fuzzer.findings.values()}
    assert kinds == {("slow", "timeout")}
    assert stats.inputs > 10


def test_pyquorum_errors_are_not_findings(tmp_path: Path) -> None:
    def strict(data: bytes) -> object:
        raise RemoteProtocolError("always", data=data)

    fuzzer = fuzz.Fuzzer(tmp_path, seed=4, decoders={"strict": strict}, log=lambda _: None)
    stats = fuzzer.run_target("decoders", 0.3)
    assert stats.inputs > 100 and fuzzer.findings == {}
    assert list(tmp_path.iterdir()) == []


def test_the_seeds_are_the_fixture_messages_and_captures() -> None:
    root = Path(__file__).resolve().parents[2] / "fixtures"
    hex_files = sorted(root.glob("messages/*.hex"))
    seeds = fuzz.fixture_seeds(root)
    assert len(seeds) > len(hex_files) > 0  # the captures add their messages
    assert fuzz.parse_hex(hex_files[0].read_text()) in seeds
    assert fuzz.fixture_seeds(root / "nowhere") == []


#: The modules whose ``decode_*`` functions read daemon (or peer) bytes.
DECODING_MODULES = ("libqb", "quorum", "_notifications", "votequorum", "cmap", "cfg")


@pytest.mark.parametrize("module", DECODING_MODULES)
def test_every_decoder_of_daemon_bytes_is_in_the_table(module: str) -> None:
    # A service added to pyquorum.messages without a DECODERS line would not
    # be fuzzed at all: the short runs above would still pass.
    mod = importlib.import_module(f"pyquorum.messages.{module}")
    decoders = {
        name: fn for name, fn in vars(mod).items()
        if name.startswith("decode_") and callable(fn) and fn.__module__ == mod.__name__
    }
    assert decoders, module
    fuzzed = set(fuzz.DECODERS.values())
    assert {name for name, fn in decoders.items() if fn not in fuzzed} == set()


def test_the_cfg_decoders_are_reached_by_a_short_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An address family no answer should carry, turned into a leak deep in the
    # cfg path (decode, then format each address): the cfg lines of the table,
    # from the seeds the run builds, must get there.
    def leaky_format(family: int, raw: bytes) -> str | None:
        if family not in (cfg.AF_INET, cfg.AF_INET6):
            raise KeyError(family)
        return original(family, raw)

    original = cfg.format_address
    monkeypatch.setattr(cfg, "format_address", leaky_format)
    cfg_lines = {k: fn for k, fn in fuzz.DECODERS.items() if k.startswith("cfg.")}
    assert set(cfg_lines) == {"cfg.request", "cfg.response", "cfg.response_addresses"}
    fuzzer = fuzz.Fuzzer(tmp_path, seed=5, decoders=cfg_lines, log=lambda _: None)
    fuzzer.run_target("decoders", 1.0)
    found = {(f.harness, f.kind) for f in fuzzer.findings.values()}
    assert found == {("cfg.response_addresses", "KeyError")}
