"""tests/oracle.py's builder: one function for the three oracles, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import tests.oracle as oracle
from tests.oracle import ORACLES, OracleUnavailable, build_oracle


def test_an_unknown_oracle_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no oracle 'cpg'; known: cfg, cmap, quorum, votequorum"):
        build_oracle("cpg")


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_missing_headers_name_the_debian_package(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oracle, "INCLUDE_DIR", tmp_path)
    monkeypatch.setattr(oracle, "BUILD_DIR", tmp_path / "build")  # no cached binary
    with pytest.raises(OracleUnavailable, match=f"apt-get install lib{name}-dev"):
        build_oracle(name)


def test_missing_compiler_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oracle, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(OracleUnavailable, match="no C compiler to build the cmap oracle"):
        build_oracle("cmap")


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_each_oracle_builds_once_per_source_version(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (oracle.INCLUDE_DIR / ORACLES[name].header).exists():
        pytest.skip(f"{ORACLES[name].package} is not installed")
    monkeypatch.setattr(oracle, "BUILD_DIR", tmp_path)
    first = build_oracle(name)
    assert first.parent == tmp_path and first.name.startswith(f"{name}_oracle-")
    mtime = first.stat().st_mtime_ns
    assert build_oracle(name) == first and first.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary left


def test_a_change_to_the_shared_header_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (oracle.INCLUDE_DIR / ORACLES["cfg"].header).exists():
        pytest.skip(f"{ORACLES['cfg'].package} is not installed")
    monkeypatch.setattr(oracle, "BUILD_DIR", tmp_path / "build")
    first = build_oracle("cfg")
    header = tmp_path / "oracle_common.h"
    header.write_bytes(oracle.COMMON_HEADER.read_bytes() + b"\n/* changed */\n")
    monkeypatch.setattr(oracle, "COMMON_HEADER", header)
    second = build_oracle("cfg")
    assert second != first and second.exists()
