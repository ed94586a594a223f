"""A long-running fuzzer for everything pyquorum reads from the daemon.

``python -m pyquorum.testing.fuzz [--seconds N] [--target decoders|ring|handshake|all]
[--out DIR] [--seed S] [--replay FILE]``

The promise under test (README, docs/trust-boundary.md): whatever bytes the
daemon sends and whatever state it leaves in shared memory, pyquorum raises
a :class:`~pyquorum.errors.PyquorumError` or nothing.  So any other
exception, or an input that takes longer than ``--bound`` seconds, is a
**finding**: its input is saved in ``--out`` (``<name>.bin`` plus a
``<name>.txt`` saying what happened and how to replay it) and the run goes
on; the exit status is 1 if there was any.  Findings are grouped by where
they were raised, and only the first few inputs of each group are saved.

Targets, each a function of one byte string (so every input can be saved
and replayed as a file):

* ``decoders``: every decoder of :data:`DECODERS` (one line per decoder;
  add a service's decoders there);
* ``ring``: the SHM ring over plain buffers, its header, chunks and
  semaphore count all taken from the input (:func:`ring_harness`);
* ``handshake``: the connection response as it arrives on the setup socket,
  through the client's receive, decode and check (:func:`handshake_harness`).

Inputs start from the fixture messages (``fixtures/{messages,votequorum,cmap,cfg}/*.hex``), the
captures (``fixtures/captures/*.pqcap``) when run from a source tree, and
messages built by the encoders, then are mutated: bit flips, interesting
32-bit values in the header words, truncation, extension, splices, random
bytes.  The rate of each target (inputs per second) is printed at the end,
and every ``--progress`` seconds on a long run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import mmap
import random
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from pyquorum._deadline import Deadline
from pyquorum.errors import PyquorumError

# -- the ipc surface under test: the one place to repoint when pyquorum.ipc moves -------
from pyquorum.ipc.client.handshake import _check_response as check_connection_response
from pyquorum.ipc.client.handshake import _recv_response as receive_connection_response
from pyquorum.ipc.client.trust import shared_state_error
from pyquorum.ipc.ring import Ring
from pyquorum.ipc.ring_header import HEADER_FILE_SIZE, SEM_OFFSET
from pyquorum.ipc.sem import PosixSemaphore

# ----------------------------------------------------------------------------------------
from pyquorum.messages import _notifications as _quorum_notifications
from pyquorum.messages import cfg as _cfg
from pyquorum.messages import cmap as _cmap
from pyquorum.messages import libqb as _libqb
from pyquorum.messages import quorum as _quorum
from pyquorum.messages import votequorum as _votequorum
from pyquorum.messages.constants import ConnectionType, RequestId
from pyquorum.messages.types import (
    ConnectionResponse,
    GetQuorateResponse,
    NodelistNotification,
    QuorumNotification,
    RingId,
)

__all__ = ["DECODERS", "TARGETS", "Finding", "Fuzzer", "handshake_harness", "main", "ring_harness"]

#: Every decoder of daemon (or peer) bytes: name -> function.  A decoder must
#: return or raise a PyquorumError for any input.  One line per decoder.
DECODERS: dict[str, Callable[[bytes], object]] = {
    "libqb.connection_request": _libqb.decode_connection_request,
    "libqb.connection_response": _libqb.decode_connection_response,
    "libqb.request_header": _libqb.decode_request_header,
    "libqb.response_header": _libqb.decode_response_header,
    "quorum.request": _quorum.decode_request,
    "quorum.request_by_schema": _quorum.decode_request_by_schema,
    "quorum.response": _quorum.decode_response,
    "quorum.notification": _quorum.decode_notification,
    "quorum.notification_by_schema": _quorum_notifications.decode_notification_by_schema,
    "votequorum.request": _votequorum.decode_request,
    "votequorum.response": _votequorum.decode_response,
    "votequorum.response_by_schema": _votequorum.decode_response_by_schema,
    "votequorum.notification": _votequorum.decode_notification,
    "votequorum.notification_by_schema": _votequorum.decode_notification_by_schema,
    "cmap.request": _cmap.decode_request,
    "cmap.response": _cmap.decode_response,
    "cmap.response_by_schema": _cmap.decode_response_by_schema,
    "cmap.notification": _cmap.decode_notification,
    "cmap.notification_by_schema": _cmap.decode_notification_by_schema,
    "cfg.request": _cfg.decode_request,
    "cfg.response": _cfg.decode_response,
    "cfg.response_addresses": lambda data: _cfg_addresses(_cfg.decode_response(data)),
}



def _cfg_addresses(resp: _cfg.Response) -> list[str | None]:
    """What a client reads next from a GET_NODE_ADDRS answer: each address as text."""
    if not isinstance(resp, _cfg.GetNodeAddrsResponse):
        return []
    return [_cfg.format_address(resp.family, raw) for raw in resp.addrs]


#: Values that break arithmetic and packing at the edges of 32-bit fields.
INTERESTING_32: tuple[int, ...] = (
    0, 1, 2, 3, 4, 7, 8, 16, 24, 0x7F, 0x80, 0xFF, 0x100, 0x3030, 0x7FFF, 0x8000, 0xFFFF,
    0x10000, 12328, 1 << 20, (1 << 20) + 1,
    0x7FFFFFFE, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF,
    0xA1A1A1A1, 0xA110CED0, 0xD0D0D0D0,
)

#: Most inputs are cut at this length: no daemon message is longer that matters here.
MAX_INPUT = 64 * 1024

_U32 = struct.Struct("<I")
_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
#: The fixture folders of recorded messages: libqb and quorum, then one per service.
FIXTURE_DIRS = ("messages", "votequorum", "cmap", "cfg")

# -- harnesses ------------------------------------------------------------------------------


class _Reader:
    """Takes typed values off the front of an input (zeros once it runs out)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk.ljust(n, b"\0")

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


class RingHarness:
    """Builds a ring from an input and runs the client's operations on it.

    Input layout (all little-endian u32 unless said): word_size selector
    (u8), header word_size (hostile when the selector's top bit is set),
    write_pt, read_pt, semaphore count, ref_count, user_data, max_msg_size,
    an operation list (u8 count, then u8 op + u16 argument each: peek and
    reclaim, write, free_bytes, spin_until_written, read, attach), then the
    data area's words (the chunks).  The header lives in an anonymous
    mapping (glibc's sem_t wants 8-byte alignment) reused across inputs.
    """

    def __init__(self) -> None:
        self._header = mmap.mmap(-1, HEADER_FILE_SIZE)

    def __call__(self, data: bytes) -> None:
        r = _Reader(data)
        sel = r.u8()
        ws = 4 + (sel & 0x3F) if sel & 0x40 == 0 else 4 + r.u32() % 4096
        hostile_ws = r.u32()
        header_ws = hostile_ws if sel & 0x80 else ws
        w, rd, count, ref, user, max_msg = (r.u32() for _ in range(6))
        if count & 0xF0000000 == 0 and count > 16:
            count %= 17  # mostly small counts; the edges come from hostile words
        if not 1 <= max_msg <= ws * 8:
            max_msg = ws * 4
        nops = r.u8() % 8
        ops = [(r.u8() % 6, int.from_bytes(r.take(2), "little")) for _ in range(nops)]
        body = r.rest()
        hdr = self._header
        hdr[:] = bytes(HEADER_FILE_SIZE)
        struct.pack_into("<III", hdr, 0, w, rd, header_ws)
        struct.pack_into("<i", hdr, 8204, struct.unpack("<i", _U32.pack(ref))[0])
        struct.pack_into("<i", hdr, 8240, struct.unpack("<i", _U32.pack(user))[0])
        sem = PosixSemaphore.init(hdr, SEM_OFFSET)
        try:
            # The count is the first 32-bit word of glibc's 64-bit sem_t:
            # the daemon can leave any value there, not only what sem_post makes.
            _U32.pack_into(hdr, SEM_OFFSET, count)
            area = bytearray(body[: ws * 4].ljust(ws * 4, b"\0"))
            ring = Ring(hdr, area, sem, max_msg_size=max_msg)
            try:
                for op, arg in ops:
                    _ring_op(ring, op, arg, ws)
            except OSError as exc:
                # What the client's SHM transport does with a failing semaphore call on
                # the daemon's shared memory (docs/trust-boundary.md §6.1).
                raise shared_state_error(exc, "the ring's semaphore") from None
            finally:
                ring.release()
        finally:
            sem.release()

    def close(self) -> None:
        self._header.close()


def _ring_op(ring: Ring, op: int, arg: int, ws: int) -> None:
    """One client-side ring operation chosen by the input."""
    if op == 0:
        if ring.peek(0) is not None:
            ring.reclaim()
    elif op == 1:
        # Mostly lengths that fit; the top bit asks for any length.
        n = 1 + (arg % (ws * 4) if arg & 0x8000 else arg % 16)
        ring.write(b"\x5a" * n)
    elif op == 2:
        ring.free_bytes()
    elif op == 3:
        ring.spin_until_written(0)
    elif op == 4:
        ring.read(0)
    else:
        ring.attach()  # what the client does once, right after mapping


def ring_harness() -> Callable[[bytes], None]:
    """A fresh :class:`RingHarness` (it owns one anonymous mapping)."""
    return RingHarness()


def handshake_harness(data: bytes) -> None:
    """The connection response ``data`` as the daemon would send it, then hang up.

    Runs what :func:`pyquorum.ipc.client.handshake.connect` runs after sending its
    request: receive (short and long inputs included), decode, check.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        ours.setblocking(False)
        theirs.sendall(data[: 4 * 12328])
        theirs.shutdown(socket.SHUT_WR)
        raw, _creds = receive_connection_response(ours, Deadline(1.0), "fuzz")
        response = _libqb.decode_connection_response(raw)
        check_connection_response(response, raw, "fuzz")


# -- seeds -----------------------------------------------------------------------------------


def parse_hex(text: str) -> bytes:
    """The bytes of a ``hexdump -C`` style fixture (``#`` lines are comments)."""
    out = bytearray()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        hexpart = line.split("|", 1)[0].split()[1:]
        out += bytes(int(tok, 16) for tok in hexpart if len(tok) == 2)
    return bytes(out)


def built_seeds() -> list[bytes]:
    """Messages built by the encoders: seeds that exist without a source tree."""
    ring = RingId(1, 8)
    return [
        _libqb.encode_connection_request(1 << 20),
        _libqb.encode_connection_response(
            ConnectionResponse(0, ConnectionType.SHM, 1 << 20, 0, "/dev/shm/qb-1-2-3-abc/qb-request-quorum", "/dev/shm/qb-1-2-3-abc/qb-response-quorum", "/dev/shm/qb-1-2-3-abc/qb-event-quorum")  # noqa: E501
        ),
        _libqb.encode_connection_response(
            ConnectionResponse(-13, ConnectionType.SHM, 0, 0, "", "", "")
        ),
        _libqb.encode_request_header(RequestId.GETQUORATE, 16),
        _libqb.encode_response_header(0, 24, 1),
        _quorum.encode_response(GetQuorateResponse(error=1, quorate=True)),
        _quorum.encode_notification(QuorumNotification(True, ring, (1, 2, 3))),
        _quorum.encode_notification(NodelistNotification(ring, (1, 2, 3), (3,), ())),
        _cfg.encode_request(_cfg.GetNodeAddrsRequest(2)),
        _cfg.encode_request(_cfg.LocalGetRequest()),
        _cfg.encode_response(_cfg.LocalGetResponse(1, 1)),
        _cfg.encode_response(
            _cfg.GetNodeAddrsResponse(1, *_address_fields(("192.0.2.1", "198.51.100.1")))
        ),
        _cfg.encode_response(
            _cfg.GetNodeAddrsResponse(1, *_address_fields(("2001:db8::1",)))
        ),
    ]


def _address_fields(addresses: tuple[str, ...]) -> tuple[int, int, tuple[bytes, ...]]:
    """``(family, num_addrs, addrs)`` of a GET_NODE_ADDRS answer listing ``addresses``."""
    family, packed = _cfg.pack_addresses(addresses)
    return family, len(packed), packed


def fixture_seeds(root: Path = _FIXTURES) -> list[bytes]:
    """The fixture messages and every message of the captures, when a source tree is here."""
    seeds = [
        parse_hex(p.read_text()) for d in FIXTURE_DIRS for p in sorted(root.glob(f"{d}/*.hex"))
    ]
    captures = sorted(root.glob("captures/*.pqcap"))
    if captures:
        from pyquorum.capture import iter_capture

        for path in captures:
            with contextlib.suppress(Exception), iter_capture(path) as reader:
                seeds.extend(record.data for record in reader)
    return [s for s in seeds if s]


def ring_seeds(rng: random.Random, n: int = 64) -> list[bytes]:
    """Ring inputs that mostly make sense: a committed chunk at read_pt, a plausible count."""
    seeds = []
    for _ in range(n):
        ws = 4 + rng.randrange(64)
        w = rng.randrange(ws)
        rd = rng.randrange(ws)
        count = rng.choice((0, 1, 2, 0x7FFFFFFF, 0x7FFFFFFE))
        ref = rng.choice((1, 2, 2, 0x7FFFFFFF, 0x80000000))
        words = [0] * ws
        length = rng.randrange(1, 4 * ws)
        words[rd] = length
        words[(rd + 1) % ws] = rng.choice((0xA1A1A1A1, 0xA1A1A1A1, 0xA110CED0, 0))
        ops = bytes(b for _ in range(4) for b in (rng.randrange(6), rng.randrange(256), 0))
        head = struct.pack(
            "<BIIIIIII", ws - 4, ws, w, rd, count, ref, 0, rng.choice((1 << 20, 4 * ws, 16))
        )
        seeds.append(head + bytes((len(ops) // 3,)) + ops + struct.pack(f"<{ws}I", *words))
    return seeds


# -- mutation ---------------------------------------------------------------------------------

#: Header words get the deterministic sweep: every header in this protocol
#: (libqb's, the services', the ring file's) has its fixed fields in front.
HEAD_BYTES = 48


def edge_values(seeds: Sequence[bytes]) -> Iterator[bytes]:
    """Each seed with one header word set to each interesting value (and its negation)."""
    values = sorted({v for x in INTERESTING_32 for v in (x, (-x) & 0xFFFFFFFF)})
    for seed in seeds:
        for at in range(0, min(len(seed), HEAD_BYTES) - 3, 4):
            for value in values:
                buf = bytearray(seed)
                buf[at : at + 4] = _U32.pack(value)
                yield bytes(buf)



def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
    """One to four random edits of ``data``."""
    buf = bytearray(data)
    for _ in range(1 + rng.randrange(4)):
        kind = rng.randrange(10)
        if kind <= 3 and len(buf) >= 4:
            # A 32-bit word: in the headers most of the time.
            limit = min(len(buf), HEAD_BYTES) if rng.random() < 0.7 else len(buf)
            at = rng.randrange(0, max(1, limit - 3)) & ~3
            value = rng.choice(INTERESTING_32)
            if rng.random() < 0.25:
                value = (-value) & 0xFFFFFFFF
            buf[at : at + 4] = _U32.pack(value)
        elif kind == 4 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 5 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 6:
            del buf[rng.randrange(len(buf) + 1) :]
        elif kind == 7:
            buf += rng.randbytes(rng.randrange(1, 64))
        elif kind == 8 and seeds:
            other = rng.choice(seeds)
            cut = rng.randrange(len(other) + 1)
            at = rng.randrange(len(buf) + 1)
            buf[at:] = other[cut:]
        else:
            buf = bytearray(rng.randbytes(rng.randrange(0, 256)))
    return bytes(buf[:MAX_INPUT])


# -- the run ------------------------------------------------------------------------------------


class _Overtime(Exception):
    """Raised by the per-input alarm: the input took longer than the bound."""


@dataclass
class Finding:
    """One group of failing inputs: same target, harness, exception type and raising line."""

    target: str
    harness: str
    kind: str
    where: str
    count: int = 0
    saved: list[Path] = field(default_factory=list)

    @property
    def key(self) -> str:
        return hashlib.sha256(
            f"{self.target}|{self.harness}|{self.kind}|{self.where}".encode()
        ).hexdigest()[:10]


@dataclass
class TargetStats:
    target: str
    inputs: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds > 0 else 0.0


#: The targets: name -> (harnesses as (name, function) pairs, seeds).
Harnesses = list[tuple[str, Callable[[bytes], object]]]


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame in pyquorum (or the innermost at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/pyquorum/" in f.filename and "/testing/fuzz" not in f.filename]
    if not (ours or frames):
        return "?"
    frame = (ours or frames)[-1]
    name = frame.filename.split("/pyquorum/", 1)[-1]
    return f"{name}:{frame.lineno} ({frame.name})"


class Fuzzer:
    """Runs harnesses on mutated inputs and records findings.  Not thread-safe."""

    def __init__(
        self,
        out: Path,
        *,
        seed: int,
        bound: float = 2.0,
        samples: int = 5,
        decoders: dict[str, Callable[[bytes], object]] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.seed = seed
        self.bound = bound
        self.samples = samples
        self.decoders = DECODERS if decoders is None else decoders
        self.log = log
        self.findings: dict[str, Finding] = {}
        self.stats: list[TargetStats] = []

    # -- one input -----------------------------------------------------------------------

    def run_one(
        self, target: str, harness: str, fn: Callable[[bytes], object], data: bytes
    ) -> bool:
        """Run ``fn(data)``; anything but a return or a PyquorumError is recorded.

        True when ``fn`` returned (the input was accepted) within the bound.
        """
        start = time.perf_counter()
        try:
            with self._alarm():
                fn(data)
            returned = True
        except PyquorumError:
            returned = False
        except _Overtime as exc:
            self._record(target, harness, data, exc, f"took over {self.bound} s")
            return False
        except Exception as exc:
            self._record(target, harness, data, exc, f"{type(exc).__name__}: {exc}")
            return False
        elapsed = time.perf_counter() - start
        if elapsed > self.bound:
            self._record(target, harness, data, None, f"took {elapsed:.2f} s (bound {self.bound})")
            return False
        return returned

    @contextlib.contextmanager
    def _alarm(self) -> Iterator[None]:
        # Only the main thread gets SIGALRM; elsewhere the time is checked after.
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def fire(_sig: int, _frame: FrameType | None) -> None:
            raise _Overtime()

        old = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, self.bound)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def _record(
        self, target: str, harness: str, data: bytes, exc: BaseException | None, what: str
    ) -> None:
        kind = "timeout" if exc is None or isinstance(exc, _Overtime) else type(exc).__name__
        where = _where(exc) if exc is not None else "-"
        finding = Finding(target, harness, kind, where)
        finding = self.findings.setdefault(finding.key, finding)
        finding.count += 1
        if finding.count == 1:
            self.log(f"FINDING {target}/{harness}: {kind} at {where}: {what}")
        if len(finding.saved) >= self.samples:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        name = f"{target}-{harness.replace('.', '_')}-{kind}-{finding.key}-{len(finding.saved)}"
        path = self.out / f"{name}.bin"
        path.write_bytes(data)
        tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
        (self.out / f"{name}.txt").write_text(
            f"target: {target}\nharness: {harness}\nwhat: {what}\nwhere: {where}\n"
            f"input: {path.name} ({len(data)} bytes)\n"
            f"replay: python -m pyquorum.testing.fuzz --target {target} "
            f"--harness {harness} --replay {path}\n\n{tb}"
        )
        finding.saved.append(path)

    # -- targets ----------------------------------------------------------------------------

    def harnesses(self, target: str) -> tuple[Harnesses, list[bytes]]:
        if target == "decoders":
            return list(self.decoders.items()), fixture_seeds() + built_seeds()
        if target == "ring":
            return [("ring", ring_harness())], ring_seeds(self.rng)
        if target == "handshake":
            seeds = [s for s in fixture_seeds() + built_seeds() if len(s) >= 24]
            responses = [s for s in seeds if len(s) == 12328]
            return [("handshake", handshake_harness)], responses or seeds
        raise ValueError(f"unknown target {target!r}")

    def run_target(self, target: str, seconds: float, progress: float = 30.0) -> TargetStats:
        harnesses, seeds = self.harnesses(target)
        stats = TargetStats(target)
        rng = self.rng
        start = time.perf_counter()
        end = start + seconds
        next_report = start + progress
        try:
            # Every seed once as it is, noting which seeds each harness accepts
            # (those reach past its header checks, so their mutants go deeper);
            # then, for up to a quarter of the time, every edge value in every
            # header word of each harness's accepted seeds, the harnesses taking
            # turns; then random mutations, mostly of accepted seeds.
            accepted: dict[str, list[bytes]] = {name: [] for name, _fn in harnesses}
            for name, fn in harnesses:
                for s in seeds:
                    if self.run_one(target, name, fn, s):
                        accepted[name].append(s)
                    stats.inputs += 1
            pools = {name: accepted[name] or list(seeds) for name, _fn in harnesses}
            sweeps = [(name, fn, edge_values(pools[name])) for name, fn in harnesses]
            sweep_end = start + seconds / 4
            while sweeps and time.perf_counter() < sweep_end:
                for entry in list(sweeps):
                    name, fn, values = entry
                    data = next(values, None)
                    if data is None:
                        sweeps.remove(entry)
                        continue
                    self.run_one(target, name, fn, data)
                    stats.inputs += 1
            while True:
                now = time.perf_counter()
                if now >= end:
                    break
                if now >= next_report:
                    rate = stats.inputs / (now - start)
                    self.log(f"  {target}: {stats.inputs} inputs, {rate:.0f}/s")
                    next_report = now + progress
                for _ in range(64):
                    name, fn = harnesses[rng.randrange(len(harnesses))]
                    pool = pools[name] if rng.random() < 0.75 else seeds
                    self.run_one(target, name, fn, mutate(rng.choice(pool), rng, seeds))
                stats.inputs += 64
        finally:
            stats.seconds = time.perf_counter() - start
            for _name, fn in harnesses:
                close = getattr(fn, "close", None)
                if close is not None:
                    close()
        self.stats.append(stats)
        return stats

    def summary(self) -> str:
        lines = [
            f"{s.target}: {s.inputs} inputs in {s.seconds:.1f} s ({s.rate:.0f} inputs/s)"
            for s in self.stats
        ]
        lines.append(f"findings: {len(self.findings)} distinct, seed {self.seed}")
        lines += [
            f"  {f.target}/{f.harness}: {f.kind} at {f.where} x{f.count}"
            + (f" (saved {f.saved[0].parent}/{f.saved[0].stem}...)" if f.saved else "")
            for f in self.findings.values()
        ]
        return "\n".join(lines)


TARGETS = ("decoders", "ring", "handshake")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyquorum.testing.fuzz",
        description="Fuzz pyquorum's decoders, SHM ring reader and handshake check: any "
        "exception other than a PyquorumError, or a slow input, is saved as a finding.",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"),
                        help="where failing inputs go (default ./fuzz-findings)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--bound", type=float, default=2.0,
                        help="seconds one input may take before it is a finding (default 2)")
    parser.add_argument("--progress", type=float, default=30.0,
                        help="print the rate every this many seconds (default 30)")
    parser.add_argument("--replay", type=Path, help="run one saved input and report")
    parser.add_argument("--harness", help="with --replay: the decoder's name (decoders target)")
    args = parser.parse_args(argv)
    if args.seconds < 0 or args.bound <= 0:
        parser.error("--seconds must be >= 0 and --bound > 0")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    if args.replay is not None:
        replayer = Fuzzer(args.out, seed=seed, bound=args.bound, samples=0)
        return _replay(replayer, parser, args.target, args.harness, args.replay)
    fuzzer = Fuzzer(args.out, seed=seed, bound=args.bound)
    targets = TARGETS if args.target == "all" else (args.target,)
    try:
        for target in targets:
            fuzzer.run_target(target, args.seconds, args.progress)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    print(fuzzer.summary())
    return 1 if fuzzer.findings else 0


def _replay(
    fuzzer: Fuzzer, parser: argparse.ArgumentParser, target: str, harness: str | None, path: Path
) -> int:
    if target == "all":
        parser.error("--replay needs --target")
    harnesses, _seeds = fuzzer.harnesses(target)
    chosen = [(n, f) for n, f in harnesses if harness in (None, n)]
    if not chosen:
        parser.error(f"no harness {harness!r} in target {target}")
    data = path.read_bytes()
    for name, fn in chosen[:1] if harness is None and target != "decoders" else chosen:
        fuzzer.run_one(target, name, fn, data)
    print(fuzzer.summary())
    return 1 if fuzzer.findings else 0


if __name__ == "__main__":
    sys.exit(main())
