"""``python -m pyquorum``: the same command as the ``pyquorum`` console script."""

from pyquorum.cli import main

raise SystemExit(main())
