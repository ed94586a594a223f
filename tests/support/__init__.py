"""Helpers shared by the tests: the one place a test module or a conftest imports from.

The rule (checked by tests/test_layering.py): no module under tests/ imports a
``conftest`` or a ``test_*`` module.  What two test modules share, or what a
conftest's fixtures are built from, lives here; conftest files hold only
fixtures and hooks.  tests/oracle.py (building and running the C oracles) is
the one shared helper kept outside, at its historical path.
"""
