"""pyquorum: a pure-Python client for corosync's quorum service over libqb IPC."""

from pyquorum.errors import *  # noqa: F403
from pyquorum.errors import __all__ as _errors_all

__version__ = "0.1.0"
__all__ = ["__version__", *_errors_all]
