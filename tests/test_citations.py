"""Every citation in the repository points at something in the repository.

Comments, docstrings, fixtures and documents back their wire facts with
citations such as ``docs/protocol.md §6.5``, ``trap 8`` or a capture file
under ``fixtures/wire-recordings/``.  A citation is only worth something
if a reader can follow it, so this test fails on:

* a cited ``.md`` or ``.txt`` file that is not in the repository (relative
  to the citing file's folder or to the repository root), which includes a
  bare ``protocol.md`` (the reference is ``docs/protocol.md``), any document
  named by an absolute path, and any ``../`` path, file or folder, that
  climbs out of the tree;
* a ``§N.M`` that the cited document does not have (numbered Markdown
  headings, or the ``=== N.`` sections of a capture file), or that follows
  no document at all (outside ``docs/``, where it means the same file);
* a ``trap N`` that ``docs/protocol.md`` §10 does not list;
* a fixture's ``# Source:`` line whose quoted section is not in the capture
  it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("pyquorum", "tests", "bench", "examples", "scripts", "fixtures", "docs",
           "README.md", "DESIGN.md")
PROTOCOL = ROOT / "docs" / "protocol.md"
SELF = Path(__file__).resolve()

#: A cited document: a path (or bare name) ending in .md or .txt.  Not part
#: of a longer path or of a URL (no word, dot, slash or dash before it).
_DOC = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*(?:[\w-]+/)*[\w.-]*\w\.(?:md|txt))(?![\w/])")
#: A folder of raw captures named without a file.
_CAPTURE_DIR = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*wire-recordings)/")
#: A document named by an absolute path: never one of the repository's (they
#: are cited relative to the root), whatever machine the text is read on.
_ABSOLUTE_DOC = re.compile(r"(?<![\w.:/-])(/(?:[\w.-]+/)*[\w.-]*\w\.(?:md|txt))(?![\w/])")
#: A relative path that climbs (``../``): it must still land in the tree,
#: read from the citing file's folder.
_CLIMBING = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")
#: A section reference: §6, §6.5, §3.1-3.4, §3.5–3.7.
_SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)(?:\s?[-–]\s?(\d+(?:\.\d+)*))?")
#: What may stand between a document and its sections, or between two
#: sections of one list: "docs/protocol.md §6.3,\n# §9", "§2.3 and §6".
_LIST_GLUE = re.compile(r"(?:[\s,;#*`'\"(]|\band\b|\bor\b)*")
_TRAP = re.compile(r"\btraps? (\d+)\b")
_MD_HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.M)
_TXT_HEADING = re.compile(r"^=== (\d+(?:\.\d+)*)\.\s", re.M)
_SOURCE = re.compile(r"^# Source: (\S+)(.*(?:\n#\s{2,}.*)*)", re.M)
_SOURCE_SECTION = re.compile(r"section (['\"])(.+?)\1", re.S)
_SOURCE_TIME = re.compile(r"\bat (\d\d:\d\d:\d\d\.\d+)")


@dataclass(frozen=True)
class Problem:
    where: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.what}"


def scanned_files() -> Iterator[Path]:
    for name in SCANNED:
        top = ROOT / name
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            # This file quotes broken citations on purpose, as test data.
            if path.is_file() and "__pycache__" not in path.parts and path != SELF:
                yield path


def read_text(path: Path) -> str | None:
    """The file's text, or None for binary files (captures, compiled code)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@cache
def sections_of(doc: Path) -> frozenset[str]:
    """The section numbers a document has: every numbered heading."""
    text = doc.read_text(encoding="utf-8")
    heading = _MD_HEADING if doc.suffix == ".md" else _TXT_HEADING
    return frozenset(m.group(1) for m in heading.finditer(text))


@cache
def trap_numbers() -> frozenset[int]:
    """The numbered items of docs/protocol.md §10 (the traps)."""
    text = PROTOCOL.read_text(encoding="utf-8")
    match = re.search(r"^## 10\. .*?$(.*?)^## ", text, re.M | re.S)
    assert match, "docs/protocol.md has no §10"
    return frozenset(int(n) for n in re.findall(r"^(\d+)\. ", match.group(1), re.M))


def resolve(citing: Path, cited: str) -> Path | None:
    """The cited file, read from the citing file's folder or from the root."""
    for base in (citing.parent, ROOT):
        candidate = (base / cited).resolve()
        if candidate.is_relative_to(ROOT) and candidate.is_file():
            return candidate
    return None


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def problems_in(path: Path, text: str) -> tuple[list[Problem], int]:
    """The citation problems of one file, and how many citations it has."""
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    problems: list[Problem] = []
    count = 0

    def problem(pos: int, what: str) -> None:
        problems.append(Problem(where, _line_of(text, pos), what))

    for m in _ABSOLUTE_DOC.finditer(text):
        count += 1
        problem(m.start(), f"cites {m.group(1)!r}, outside the repository")
    for m in _CLIMBING.finditer(text):
        count += 1
        if not (path.parent / m.group(1)).resolve().is_relative_to(ROOT):
            problem(m.start(), f"cites {m.group(1)!r}, outside the repository")
    for m in _CAPTURE_DIR.finditer(text):
        count += 1
        if not (ROOT / m.group(1)).is_dir():
            problem(m.start(), f"cites the folder {m.group(1)!r}: "
                               "the captures are in fixtures/wire-recordings/")

    # Documents, in order, so that each § can be given to the document before it.
    docs: list[tuple[int, int, Path | None]] = []
    for m in _DOC.finditer(text):
        count += 1
        cited = m.group(1)
        target = resolve(path, cited)
        if target is None:
            hint = " (the protocol reference is docs/protocol.md)" \
                if cited.endswith("protocol.md") else ""
            problem(m.start(), f"cites {cited!r}, which is not in the repository{hint}")
        docs.append((m.start(), m.end(), target))

    in_docs = path.is_relative_to(ROOT / "docs") and path.suffix == ".md"
    previous_end = -1
    current: Path | None = None  # the document the running list belongs to
    known = True  # whether ``current`` is a document that exists
    doc_index = 0
    for m in _SECTION.finditer(text):
        count += 1
        # The nearest document or section before this §, and what lies between.
        while doc_index < len(docs) and docs[doc_index][1] <= m.start():
            _, end, target = docs[doc_index]
            if end > previous_end:
                previous_end, current, known = end, target, target is not None
            doc_index += 1
        glue = text[previous_end:m.start()] if previous_end >= 0 else None
        if glue is None or not _LIST_GLUE.fullmatch(glue):
            if in_docs:
                current, known = path, True
            else:
                problem(m.start(), f"{m.group(0)!r} follows no document: "
                                   "write it as docs/protocol.md §N")
                current, known = None, False
        previous_end = m.end()
        if current is None or not known:
            continue
        available = sections_of(current)
        for number in filter(None, (m.group(1), m.group(2))):
            if number not in available:
                name = current.relative_to(ROOT)
                problem(m.start(), f"cites §{number} of {name}, which has no such section")

    for m in _TRAP.finditer(text):
        count += 1
        if int(m.group(1)) not in trap_numbers():
            problem(m.start(), f"cites trap {m.group(1)}, which docs/protocol.md §10 lacks")

    for m in _SOURCE.finditer(text):
        count += 1
        source = resolve(path, m.group(1))
        if source is None:
            continue  # already reported as a missing document, if it is one
        recorded = " ".join(source.read_text(encoding="utf-8").split())
        detail = re.sub(r"\n#\s+", " ", m.group(2))
        quoted = _SOURCE_SECTION.search(detail)
        stamp = _SOURCE_TIME.search(detail)
        if quoted:
            if " ".join(quoted.group(2).split()) not in recorded:
                problem(m.start(), f"its source section is not in {m.group(1)}: "
                                   f"{quoted.group(2)[:60]!r}")
        elif stamp:
            if stamp.group(1) not in recorded:
                problem(m.start(), f"no line at {stamp.group(1)} in {m.group(1)}")
        else:
            problem(m.start(), "the Source line names no section of its capture")
    return problems, count


def test_every_citation_points_into_the_repository() -> None:
    problems: list[Problem] = []
    total = 0
    for path in scanned_files():
        text = read_text(path)
        if text is None:
            continue
        found, count = problems_in(path, text)
        problems += found
        total += count
    assert not problems, "\n".join(map(str, problems))
    # The fixtures' Source lines alone are 40 citations: a scan that finds
    # few has stopped looking.
    assert total >= 100


# The checker itself, on made-up text: each rule fires, and correct
# citations pass.  (A citing file in pyquorum/ipc/, where none of the cited
# documents lives, so only root-relative paths resolve.)
_CITING = ROOT / "pyquorum" / "ipc" / "example.py"


def _problems(text: str, citing: Path = _CITING) -> list[str]:
    return [p.what for p in problems_in(citing, text)[0]]


@pytest.mark.parametrize("text", [
    "# the layout (docs/protocol.md §3.2)",
    "# corosync < 3.1 (docs/protocol.md §6.3,\n# §9) falls back",
    '"""Order (docs/protocol.md §3.5, §3.7, trap 6)."""',
    "# docs/protocol.md §3.1-3.4 and §6",
    "# docs/protocol.md §13.5 (fixtures/wire-recordings/failure-experiments.txt §5)",
    "# `docs/protocol.md` §2.3–2.4",
    "# see fixtures/wire-recordings/struct-layouts-gcc.txt",
    "# ../../docs/protocol.md §3.2, read from pyquorum/ipc/",
    "# https://example.org/some/notes.md and pyquorum/ipc/ring.py §3 is code",
])
def test_correct_citations_pass(text: str) -> None:
    if "ring.py §3" in text:
        # A § after a .py path follows no document: that one is reported.
        assert _problems(text) == ["'§3' follows no document: write it as docs/protocol.md §N"]
    else:
        assert _problems(text) == []


@pytest.mark.parametrize(("text", "complaint"), [
    ("# see protocol.md §6.5", "'protocol.md', which is not in the repository"),
    ("# (protocol.md §3.3, failure-experiments.txt §5)", "'failure-experiments.txt', which is not"),
    ("# struct-layouts-gcc.txt (gcc offsetof)", "'struct-layouts-gcc.txt', which is not"),
    ("`../../../notes/wire.md` is the wire reference", "outside the repository"),
    ("# the captures in ../../../notes/captures/", "outside the repository"),
    ("# see /srv/notes/wire.md §3", "outside the repository"),
    ("# Source: wire-recordings/shm-handshake-hex.txt", "folder 'wire-recordings'"),
    ("# docs/protocol.md §99", "§99 of docs/protocol.md, which has no such section"),
    ("# docs/protocol.md §6.3, §9.4", "§9.4 of docs/protocol.md"),
    ("# docs/protocol.md §3.1-3.42", "§3.42 of docs/protocol.md"),
    ("# done by then (§6.6), see", "'§6.6' follows no document"),
    ("# docs/protocol.md §6.6 says so; and then §7", "'§7' follows no document"),
    ("# fixtures/wire-recordings/failure-experiments.txt §11", "§11 of fixtures/wire-recordings"),
    ("# docs/nothing-here.md", "'docs/nothing-here.md', which is not in the repository"),
    ("# docs/protocol.md §10, trap 24", "trap 24"),
])
def test_broken_citations_fail(text: str, complaint: str) -> None:
    found = _problems(text)
    assert any(complaint in what for what in found), found


def test_a_document_cites_its_own_sections_bare() -> None:
    assert _problems("As §3.4 says.", PROTOCOL) == []
    assert "§30" in _problems("As §30 says.", PROTOCOL)[0]


def test_a_source_line_must_name_a_section_that_is_in_the_capture() -> None:
    citing = ROOT / "fixtures" / "messages" / "example.hex"
    good = ("# Source: fixtures/wire-recordings/failure-experiments.txt (corosync 3.1.7),\n"
            "#   section '=== 5. Ring wrap-around with small rings'\n")
    assert _problems(good, citing) == []
    bad = good.replace("5. Ring wrap-around", "5. Ring wrap-around, invented")
    assert "source section is not in" in _problems(bad, citing)[0]
    assert "names no section" in _problems(good.split("\n")[0] + "\n", citing)[0]
