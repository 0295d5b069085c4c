"""divert: treatment instead of conviction for people with drug use disorders."""

import os

# The compiled kernel's threads wait passively between months: on a shared machine, spinning
# threads that lose their core slow a run down tenfold (bench/README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
