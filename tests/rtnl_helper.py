"""Dumps routes and neighbours inside a lab namespace with garpd.drivers.gateways.dump and
prints them as JSON lines (for tests/test_rtnl.py)."""

from __future__ import annotations

import json
import sys

from garpd import rtnl
from garpd.drivers.gateways import dump
from garpd.routes import NextHops, RouteAdded


def main() -> int:
    """Print the main table's next hops per (oif, family), then the neighbour entries."""
    routes = [r for r in dump(rtnl.RTM_GETROUTE) if isinstance(r, RouteAdded)]
    hops = NextHops()
    changed = hops.replace_all(routes)
    print(json.dumps({"hops": sorted([oif, family, sorted(str(g) for g in
                                                          hops.gateways(oif, family))]
                                     for oif, family in changed)}))
    neighbours = [n for n in dump(rtnl.RTM_GETNEIGH) if isinstance(n, rtnl.Neighbour)]
    print(json.dumps({"neighbours": sorted([str(n.ip), n.mac.hex() if n.mac else None]
                                           for n in neighbours)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
