"""The gateways' side of the kernel: ``["auto"]`` next hops and the neighbour table's MACs.

Thin driver. One rtnetlink socket subscribed to the route groups (RTMGRP_IPV4_ROUTE,
RTMGRP_IPV6_ROUTE; only when a group uses ``["auto"]``) and to RTMGRP_NEIGH, read from the
event loop: no polling. At start it dumps the routes and the neighbours. Messages are
decoded by :mod:`garpd.rtnl`; routes go through :class:`garpd.routes.NextHops`, and for each
(interface, family) whose gateways changed the core gets a ``GatewaysChanged``; neighbour
entries become ``NeighbourChanged`` (the MAC a directed request is sent to). When the socket
overflows (ENOBUFS) everything is dumped again. Nexthop objects (``ip nexthop``, RTA_NH_ID)
are not followed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from typing import Any

from garpd import rtnl
from garpd.drivers.netlink import Subscription
from garpd.events import Event, GatewaysChanged, NeighbourChanged
from garpd.routes import NextHops, RouteEvent

RCVBUF = 4 << 20
#: Datagrams read per wake-up at most (a route storm must not starve the loop).
BATCH = 64


def dump(kind: int) -> list[RouteEvent | rtnl.Neighbour]:
    """One dump (RTM_GETROUTE or RTM_GETNEIGH), decoded."""
    out: list[RouteEvent | rtnl.Neighbour] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(rtnl.dump_request(kind))
        while True:
            data = sock.recv(1 << 20)
            done = any(k in (2, 3) for _o, _l, k in rtnl.messages(data))  # ERROR, DONE
            out.extend(rtnl.decode(data))
            if done or not data:
                return out


class GatewayWatcher(Subscription):
    """Follows routes (for ``["auto"]``) and neighbours, handing core events to ``feed``.

    ``names`` maps an interface index to its name (the core's view, asked each time).
    """

    def __init__(self, feed: Callable[[list[Event]], None],
                 names: Callable[[], dict[int, str]], log: Any, *, routes: bool) -> None:
        self._feed = feed
        self._names = names
        self.log = log
        self.routes = routes
        self.hops = NextHops()
        self.counters: dict[str, int] = {"route_events": 0, "neighbour_events": 0,
                                         "gateway_resyncs": 0}
        super().__init__(rtnl.RTMGRP_NEIGH | (
            rtnl.RTMGRP_IPV4_ROUTE | rtnl.RTMGRP_IPV6_ROUTE if routes else 0), RCVBUF)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Dump the current state (after subscribing: nothing falls between), then read."""
        self.resync()
        super().start(loop)

    def resync(self) -> None:
        """Dump routes and neighbours again and tell the core what changed."""
        self.counters["gateway_resyncs"] += 1
        events: list[Event] = []
        try:
            if self.routes:
                routes = [r for r in dump(rtnl.RTM_GETROUTE) if not isinstance(r, rtnl.Neighbour)]
                events += self._gateways(self.hops.replace_all(routes))
            neighbours = dump(rtnl.RTM_GETNEIGH)
        except OSError as exc:
            self.log.error("gateway_dump_failed", error=exc.strerror)
            return
        events += self._neighbours(n for n in neighbours if isinstance(n, rtnl.Neighbour))
        if events:
            self._feed(events)

    def link_gone(self, ifindex: int) -> None:
        """The interface went down or away: IPv4 drops its routes without RTM_DELROUTE."""
        if self.routes:
            events = self._gateways(self.hops.link_gone(ifindex))
            if events:
                self._feed(events)

    def _gateways(self, changed: Iterable[tuple[int, int]]) -> list[Event]:
        names = self._names()
        out: list[Event] = []
        for oif, family in sorted(changed):
            name = names.get(oif)
            if name is not None:
                out.append(GatewaysChanged(name, family, self.hops.gateways(oif, family)))
        return out

    def _neighbours(self, entries: Iterable[rtnl.Neighbour]) -> list[Event]:
        names = self._names()
        out: list[Event] = []
        for entry in entries:
            name = names.get(entry.ifindex)
            if name is not None:
                out.append(NeighbourChanged(name, entry.ip, entry.mac))
        return out

    def _readable(self) -> None:
        changed: set[tuple[int, int]] = set()
        neighbours: list[rtnl.Neighbour] = []
        datagrams, overflow = self.receive(BATCH)
        for data in datagrams:
            for item in rtnl.decode(data):
                if isinstance(item, rtnl.Neighbour):
                    self.counters["neighbour_events"] += 1
                    neighbours.append(item)
                elif self.routes:
                    self.counters["route_events"] += 1
                    changed |= self.hops.handle(item)
        if overflow:
            self.log.warning("netlink_overflow", action="resync", socket="gateways")
            self.resync()
            return
        events = self._gateways(changed) + self._neighbours(neighbours)
        if events:
            self._feed(events)
