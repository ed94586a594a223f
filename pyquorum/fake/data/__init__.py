"""Scripts (and, when available, captures) shipped with pyquorum for ``pyquorum demo``."""
