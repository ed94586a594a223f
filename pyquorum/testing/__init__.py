"""Test helpers: real corosync clusters (:mod:`pyquorum.testing.cluster`), a fake quorum
server (:class:`FakeQuorumServer`), hypothesis strategies."""

from pyquorum.testing.fake import FakeQuorumServer

__all__ = ["FakeQuorumServer"]
