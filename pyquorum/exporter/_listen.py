"""``--listen HOST:PORT`` and the default port, without prometheus_client.

The default port, 9665, sits next to ha_cluster_exporter's 9664 so that both
can run on one node while dashboards move over.
"""

from __future__ import annotations

import ipaddress

__all__ = ["DEFAULT_LISTEN", "DEFAULT_PORT", "parse_listen"]

DEFAULT_PORT = 9665
DEFAULT_LISTEN = f":{DEFAULT_PORT}"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all addresses) → ``(host, port)``.

    Raises ValueError with a message fit for a command line.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueError(f"--listen wants HOST:PORT or :PORT, not {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address in --listen: {host!r}") from None
    elif ":" in host:
        raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port_text}")
    try:
        port = int(port_text, 10)
    except ValueError:
        raise ValueError(f"not a port number in --listen: {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in --listen: {port}")
    return host, port
