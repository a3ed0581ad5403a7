"""``python -m bench``: run every benchmark case (see bench.cli)."""

import sys

from bench.cli import main

sys.exit(main())
