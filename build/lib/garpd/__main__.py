"""``python -m garpd``: the same entry point as the ``garpd`` console script."""

import sys

from garpd.cli import main

sys.exit(main())
