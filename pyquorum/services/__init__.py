"""One package per corosync service: its sans-I/O core and its sessions.

Each ``pyquorum.services.<name>`` holds ``core.py`` (the service's rules,
over :mod:`pyquorum.frontend.core`), ``session.py`` (the blocking session,
over :mod:`pyquorum.frontend.blocking`) and ``aio.py`` (the asyncio one,
over :mod:`pyquorum.frontend.asyncio`).  Services do not import each other.
"""
