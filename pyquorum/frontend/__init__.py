"""What every service's session is built from, whatever the service.

* :mod:`pyquorum.frontend.core`: the sans-I/O pieces (operations, session
  states, the dispatch rules, the response check);
* :mod:`pyquorum.frontend.blocking` and :mod:`pyquorum.frontend.asyncio`:
  the two front-end bases that drive a service's core over a connection;
* :mod:`pyquorum.frontend.reconnect`: the reconnect policy, without I/O.

A service (``pyquorum.services.<name>``) adds its core and subclasses; see
DESIGN.md, "Adding a service".  Nothing here imports asyncio except
:mod:`pyquorum.frontend.asyncio`, so blocking users never pay for it.
"""
