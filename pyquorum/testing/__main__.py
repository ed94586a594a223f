"""``python -m pyquorum.testing``: the same CLI as ``python -m pyquorum.testing.cluster``."""

import sys

from pyquorum.testing.cluster._cli import main

sys.exit(main())
