"""libqb IPC, client side: the handshake, the SHM and socket transports, the connection.

:class:`~pyquorum.ipc.client.connection.IpcConnection` is what a session
holds; it does the handshake (:mod:`.handshake`) and then moves bytes over
the transport the server picked (:mod:`.shm_transport`,
:mod:`.socket_transport`, both :class:`~.transport.ClientTransport`).
Nothing here imports :mod:`pyquorum.ipc.server`.
"""
