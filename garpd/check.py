"""``garpd check``: validate the configuration, show the effective settings and the plan.

Exit 0 with the settings and the announcement timeline on stdout (JSON with ``--json``),
or exit 2 with one line per error on stderr (file, key, value, what is accepted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from garpd.cli import EXIT_OK, EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    """Run ``garpd check``."""
    from garpd import config as cfgmod  # noqa: PLC0415 - pydantic only where it is used
    from garpd import plan  # noqa: PLC0415

    try:
        cfg, source = cfgmod.resolve(Path(args.config) if args.config else None)
    except cfgmod.ConfigError as exc:
        for line in exc.lines:
            sys.stderr.write(f"garpd: {line}\n")
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(json.dumps(plan.render_json(cfg, source), indent=2) + "\n")
    else:
        text = plan.render_text(cfg, source)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
