"""``python -m pyquorum.testing.cluster up|status|down``."""

import sys

from pyquorum.testing.cluster._cli import main

sys.exit(main())
