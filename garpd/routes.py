"""The ``["auto"]`` gateways: the next hops of the main table's routes, per interface.

Pure: the netlink driver decodes RTM_NEWROUTE / RTM_DELROUTE (dump and events) into
:class:`RouteAdded` / :class:`RouteRemoved` and feeds them here; :class:`NextHops` answers
which gateways each (interface index, family) has, and says which of those sets changed so
the driver can call ``Confirmer.set_gateways`` only for them.

Interface::

    hops = NextHops()
    changed = hops.handle(event)            # set of (oif, family) whose gateways changed
    hops.gateways(oif, family) -> frozenset[Address]
    changed = hops.replace_all(events)      # a fresh dump (start-up, after ENOBUFS)

What the driver passes: unicast routes only (RTN_UNICAST; not local, broadcast,
blackhole...), with ``table`` from RTA_TABLE (or rtm_table), ``metric`` from RTA_PRIORITY,
``gateway`` from RTA_GATEWAY (or RTA_VIA), ``oif`` from RTA_OIF, ``multipath`` from
RTA_MULTIPATH (each rtnexthop's gateway and ifindex), ``replace`` from NLM_F_REPLACE.

Rules:

- only :data:`MAIN_TABLE` counts (SPEC: "the next hops of the main table's routes out of
  the address's interface"); every route with a gateway counts, default or not;
- a route is known by (family, table, dst, prefixlen, metric); its next hops are a set
  of (gateway, oif). RTM_NEWROUTE with NLM_F_REPLACE replaces them; without it they are
  added to (IPv6 appends next hops to a route one message at a time, and an IPv4
  ``append`` adds an alternative: both are "next hops of the route"). RTM_DELROUTE removes
  the next hops it names, or the whole route when it names none;
- the family of a gateway is its own (an IPv4 route via an IPv6 next hop, RFC 5549,
  gives an IPv6 gateway: no ARP confirmation can be made through it);
- :meth:`NextHops.link_gone` drops every next hop out of an interface: the kernel removes
  IPv4 routes of an interface that goes down or away *without* RTM_DELROUTE.

Memory is bounded by the routes the kernel holds in the main table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from garpd.frames import Address
from garpd.lean import dataclass

MAIN_TABLE = 254

Hop = tuple[Address, int]
"""A next hop: (gateway, output interface index)."""
_RouteKey = tuple[int, int, Address | None, int, int]


@dataclass(frozen=True, slots=True)
class RouteAdded:
    """RTM_NEWROUTE (from a dump or an event)."""

    family: int
    table: int
    dst: Address | None
    prefixlen: int
    oif: int | None = None
    gateway: Address | None = None
    multipath: tuple[Hop, ...] = ()
    metric: int = 0
    replace: bool = False

    def hops(self) -> frozenset[Hop]:
        """The route's next hops that have a gateway."""
        return _hops(self.gateway, self.oif, self.multipath)


@dataclass(frozen=True, slots=True)
class RouteRemoved:
    """RTM_DELROUTE."""

    family: int
    table: int
    dst: Address | None
    prefixlen: int
    oif: int | None = None
    gateway: Address | None = None
    multipath: tuple[Hop, ...] = ()
    metric: int = 0

    def hops(self) -> frozenset[Hop]:
        """The next hops the removal names."""
        return _hops(self.gateway, self.oif, self.multipath)


RouteEvent = RouteAdded | RouteRemoved


def _hops(gateway: Address | None, oif: int | None, multipath: tuple[Hop, ...]) -> frozenset[Hop]:
    hops = set(multipath)
    if gateway is not None and oif is not None:
        hops.add((gateway, oif))
    return frozenset(hops)


class NextHops:
    """The main table's next hops, per (output interface, family) (rules: module doc)."""

    def __init__(self, table: int = MAIN_TABLE) -> None:
        self.table = table
        self._routes: dict[_RouteKey, frozenset[Hop]] = {}
        self._refs: dict[tuple[int, int], Counter[Address]] = {}

    def gateways(self, oif: int, family: int) -> frozenset[Address]:
        """The gateways of routes out of ``oif`` with gateways of IP ``family`` (4|6)."""
        refs = self._refs.get((oif, family))
        return frozenset(refs) if refs else frozenset()

    def handle(self, event: RouteEvent) -> set[tuple[int, int]]:
        """Apply one route event; the (oif, family) whose gateway sets changed."""
        if event.table != self.table:
            return set()
        key = (event.family, event.table, event.dst, event.prefixlen, event.metric)
        old = self._routes.get(key, frozenset())
        named = event.hops()
        if isinstance(event, RouteAdded):
            new = named if event.replace else old | named
        else:
            new = old - named if named else frozenset()
        if new == old:
            return set()
        if new:
            self._routes[key] = new
        else:
            self._routes.pop(key, None)
        return self._count(old - new, -1) | self._count(new - old, +1)

    def replace_all(self, events: Iterable[RouteEvent]) -> set[tuple[int, int]]:
        """Start over from a full dump; the (oif, family) whose gateway sets changed."""
        before = {k: frozenset(v) for k, v in self._refs.items()}
        self._routes.clear()
        self._refs.clear()
        for event in events:
            self.handle(event)
        keys = set(before) | set(self._refs)
        return {k for k in keys if before.get(k, frozenset()) != self.gateways(*k)}

    def link_gone(self, oif: int) -> set[tuple[int, int]]:
        """Drop every next hop out of ``oif`` (down or deleted: IPv4 sends no DELROUTE)."""
        changed: set[tuple[int, int]] = set()
        for key, hops in list(self._routes.items()):
            gone = frozenset(h for h in hops if h[1] == oif)
            if not gone:
                continue
            rest = hops - gone
            if rest:
                self._routes[key] = rest
            else:
                del self._routes[key]
            changed |= self._count(gone, -1)
        return changed

    def _count(self, hops: frozenset[Hop], delta: int) -> set[tuple[int, int]]:
        changed: set[tuple[int, int]] = set()
        for gateway, oif in hops:
            slot = (oif, gateway.version)
            refs = self._refs.setdefault(slot, Counter())
            before = refs[gateway]
            refs[gateway] = before + delta
            if refs[gateway] <= 0:
                del refs[gateway]
                if not refs:
                    del self._refs[slot]
            if (before > 0) != (before + delta > 0):
                changed.add(slot)
        return changed
