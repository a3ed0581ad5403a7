"""``garpd metrics``: the running daemon's metrics in Prometheus text format, read over the
control socket (for node_exporter's textfile collector). This side imports no metrics
library: the daemon renders the text."""

from __future__ import annotations

import sys
from typing import Any

from garpd.control import Unreachable, request, socket_path
from garpd.errors import EXIT_OK, EXIT_RUNTIME


def main(args: Any) -> int:
    """Ask the daemon for its metrics and print them as they came."""
    path = socket_path(args.config)
    try:
        reply = request(path, {"command": "metrics"})
    except Unreachable as exc:
        sys.stderr.write(f"garpd: no daemon answers on {exc}\n")
        return EXIT_RUNTIME
    text = reply.get("text")
    if not reply.get("ok") or not isinstance(text, str):
        sys.stderr.write(f"garpd: the daemon refused: {reply.get('error', 'permission denied')}\n")
        return EXIT_RUNTIME
    sys.stdout.write(text)
    return EXIT_OK
