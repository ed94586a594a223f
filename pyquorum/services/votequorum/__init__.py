"""The votequorum service: expected and total votes, quorum, flags, per-node votes.

:mod:`.core` holds its rules without I/O (docs/votequorum.md).
"""
