"""libqb IPC, both ends, service-agnostic.

``client/`` connects to a libqb server (the handshake, the two transports,
:class:`~pyquorum.ipc.client.connection.IpcConnection`); ``server/`` is a
libqb server (its own event loop, the listener, the per-connection SHM and
socket sides).  What both ends must agree on lives here, once: the ring
(:mod:`.ring`, :mod:`.ring_header`), the semaphore (:mod:`.sem`,
:mod:`._libc`), the socket names (:mod:`.address`), the control file and
directory layout (:mod:`.wire`), ``struct ucred`` (:mod:`.credentials`) and
the disconnect request (:mod:`.disconnect`).  The client imports nothing
from the server and the server nothing from the client
(tests/test_layering.py).
"""
