"""libqb IPC, server side: what corosync does for its clients, in Python.

:class:`~pyquorum.ipc.server.listener.IpcServer` listens on a service's
setup socket, does the handshake and keeps the registry of connections;
it runs on its own :class:`~pyquorum.ipc.server.loop.EventLoop`.  Each
accepted client is a :class:`~pyquorum.ipc.server.connection.ServerConnection`
(:mod:`.shm_connection` or :mod:`.socket_connection`) that a service
handler answers through.  Nothing here imports :mod:`pyquorum.ipc.client`.
"""
