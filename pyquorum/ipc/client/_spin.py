"""How long a client busy-waits for the daemon before it sleeps.

With corosync on another CPU, a client that sleeps until the answer comes
(sem_timedwait, poll) pays for a wake-up on top of it; on a virtual machine
that costs more than the answer itself.  So for a bounded time the client
looks without sleeping: at the SHM ring's pointers (no system call), or with
non-blocking receives.  When corosync shares the client's CPU, the
real-time daemon has usually answered by the time the client looks, and the
spin ends at once.  On a machine with one CPU the daemon cannot run while
the client spins, so nobody spins there.

The SHM spin is pure Python and keeps the GIL: another thread of the
process (an asyncio loop whose requests run in an executor) may wait up to
RESPONSE_SPIN for it.  The socket spins make a system call per look, which
lets the GIL go each time.

Measured on the 2-core VM, client and daemon pinned to different CPUs, in
one process with the variants interleaved (medians):

* a getquorate round trip: 75 µs sleeping, 40 µs spinning over SHM;
  78 µs and 26 µs over the socket transport;
* initialize + finalize over the socket transport: 305 µs without a spin
  in the handshake, 234 µs with one (the connection response comes in
  about 170 µs; over SHM it takes about 1.4 ms, so the spin ends unused).
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["HANDSHAKE_SPIN", "MULTI_CPU", "RESPONSE_SPIN"]

#: Whether this machine has a second CPU (os.cpu_count reads /sys: once).
MULTI_CPU: Final = (os.cpu_count() or 1) > 1

#: Longest busy-wait for a response to a request, in seconds.
RESPONSE_SPIN: Final = 100e-6 if MULTI_CPU else 0.0

#: Longest busy-wait for the connection response of the handshake.
HANDSHAKE_SPIN: Final = 500e-6 if MULTI_CPU else 0.0
