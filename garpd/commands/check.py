"""``garpd check``: validate the configuration, show the effective settings and the plan.

Exit 0 with the settings and the announcement timeline on stdout (JSON with ``--json``),
or exit 2 with one line per error on stderr (file, key, value, what is accepted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from garpd.errors import EXIT_OK, EXIT_USAGE


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
    imported = cfg.keepalived_import
    routes = current_next_hops(cfg)
    # Written piece by piece: a large import's plan is never held whole in memory.
    write = sys.stdout.write
    if args.json:
        extra = None
        if imported is not None:
            extra = {"keepalived_import": {
                "files": [str(f) for f in imported.files],
                "groups": [g.get("name") for g in imported.groups],
                "not_understood": list(imported.unsupported)}}
        for piece in plan.iter_json(cfg, source, routes, extra):
            write(piece)
        write("\n")
        return EXIT_OK
    from garpd.term import colour_enabled  # noqa: PLC0415

    for piece in plan.iter_text(cfg, source, picture=True, colour=colour_enabled(sys.stdout),
                                routes=routes):
        write(piece)
    if imported is not None:
        sys.stdout.write(import_summary(imported))
    return EXIT_OK


def current_next_hops(cfg: Any) -> dict[str, list[str]] | None:
    """For groups with ``gateways = ["auto"]``: the main table's next hops per interface,
    read from the kernel now; None when no group asks or the routes cannot be read."""
    if not any(cfg.effective(g).timing.gateways == "auto" for g in cfg.groups):
        return None
    import socket  # noqa: PLC0415

    from garpd import rtnl  # noqa: PLC0415
    from garpd.drivers.gateways import dump  # noqa: PLC0415
    from garpd.routes import NextHops  # noqa: PLC0415

    try:
        events = [e for e in dump(rtnl.RTM_GETROUTE) if not isinstance(e, rtnl.Neighbour)]
    except OSError:
        return None
    hops = NextHops()
    hops.replace_all(events)
    out: dict[str, list[str]] = {}
    for group in cfg.groups:
        try:
            index = socket.if_nametoindex(group.interface)
        except OSError:
            continue
        out[group.interface] = sorted(
            (str(g) for family in (4, 6) for g in hops.gateways(index, family)),
            key=lambda text: (":" in text, text))
    return out


def import_summary(imported: Any) -> str:
    """What ``[keepalived] config`` brought in, and what it could not understand."""
    from garpd.keepalived.reader import sanitize  # noqa: PLC0415

    lines = ["", "imported from keepalived.conf:"]
    lines += [f"  file  {sanitize(str(f))}" for f in imported.files]
    if getattr(imported, "net_namespace", None):
        lines.append(f"  keepalived runs in network namespace {sanitize(imported.net_namespace)}"
                     ": garpd must run there too")
    lines += [f"  group {g.get('name')} ({g.get('interface')}, vrid {g.get('vrid')})"
              for g in imported.groups]
    if imported.announce:
        lines += [f"  [announce] {k} = {v}" for k, v in sorted(imported.announce.items())]
    if imported.unsupported:
        lines.append("not understood (ignored):")
        lines += [f"  {note}" for note in imported.unsupported]
    return "\n".join(lines) + "\n"
