"""The auto gateways: next hops of the main table followed through route events."""

from __future__ import annotations

import ipaddress

from garpd.routes import MAIN_TABLE, NextHops, RouteAdded, RouteRemoved

GW1 = ipaddress.ip_address("192.0.2.1")
GW2 = ipaddress.ip_address("192.0.2.2")
GW6 = ipaddress.ip_address("fe80::1")
GW6B = ipaddress.ip_address("fe80::2")
NET = ipaddress.ip_address("198.51.100.0")
ETH0, ETH1 = 2, 3


def default(gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None = GW1,
            oif: int = ETH0, **kw: object) -> RouteAdded:
    """A default route of the gateway's family."""
    family = 4 if gateway is None else gateway.version
    return RouteAdded(family, MAIN_TABLE, None, 0, oif, gateway, **kw)  # type: ignore[arg-type]


def test_default_route_added_after_start_is_picked_up() -> None:
    """A default route via GW1 on eth0 makes GW1 eth0's IPv4 gateway; removal drops it."""
    hops = NextHops()
    assert hops.gateways(ETH0, 4) == frozenset()
    assert hops.handle(default()) == {(ETH0, 4)}
    assert hops.gateways(ETH0, 4) == {GW1}
    assert hops.handle(default()) == set()  # the same again changes nothing
    assert hops.handle(RouteRemoved(4, MAIN_TABLE, None, 0, ETH0, GW1)) == {(ETH0, 4)}
    assert hops.gateways(ETH0, 4) == frozenset()


def test_multipath_next_hops_per_interface() -> None:
    """A multipath route gives each interface its own next hops."""
    hops = NextHops()
    route = RouteAdded(4, MAIN_TABLE, None, 0, multipath=((GW1, ETH0), (GW2, ETH1)))
    assert hops.handle(route) == {(ETH0, 4), (ETH1, 4)}
    assert hops.gateways(ETH0, 4) == {GW1}
    assert hops.gateways(ETH1, 4) == {GW2}
    assert hops.handle(RouteRemoved(4, MAIN_TABLE, None, 0)) == {(ETH0, 4), (ETH1, 4)}
    assert hops.gateways(ETH1, 4) == frozenset()


def test_other_tables_and_device_routes_do_not_count() -> None:
    """Routes outside the main table, and routes without a gateway, add nothing."""
    hops = NextHops()
    assert hops.handle(RouteAdded(4, 100, None, 0, ETH0, GW1)) == set()
    assert hops.handle(RouteAdded(4, MAIN_TABLE, NET, 24, ETH0, None)) == set()
    assert hops.gateways(ETH0, 4) == frozenset()


def test_a_gateway_used_by_two_routes_stays_until_both_go() -> None:
    """Reference counting: the default and a /24 via GW1; removing one keeps GW1."""
    hops = NextHops()
    hops.handle(default())
    assert hops.handle(RouteAdded(4, MAIN_TABLE, NET, 24, ETH0, GW1)) == set()
    assert hops.handle(RouteRemoved(4, MAIN_TABLE, None, 0, ETH0, GW1)) == set()
    assert hops.gateways(ETH0, 4) == {GW1}
    assert hops.handle(RouteRemoved(4, MAIN_TABLE, NET, 24, ETH0, GW1)) == {(ETH0, 4)}


def test_replace_swaps_the_next_hop() -> None:
    """``ip route replace default via GW2``: the kernel sends only a NEWROUTE with REPLACE."""
    hops = NextHops()
    hops.handle(default())
    assert hops.handle(default(GW2, replace=True)) == {(ETH0, 4)}
    assert hops.gateways(ETH0, 4) == {GW2}


def test_ipv6_next_hops_appended_and_removed_one_by_one() -> None:
    """IPv6 multipath built by per-next-hop messages and torn down the same way."""
    hops = NextHops()
    hops.handle(default(GW6, metric=1024))
    hops.handle(default(GW6B, metric=1024))
    assert hops.gateways(ETH0, 6) == {GW6, GW6B}
    assert hops.gateways(ETH0, 4) == frozenset()
    hops.handle(RouteRemoved(6, MAIN_TABLE, None, 0, ETH0, GW6, metric=1024))
    assert hops.gateways(ETH0, 6) == {GW6B}


def test_routes_with_different_metrics_are_different_routes() -> None:
    """Two default routes (metrics 100 and 200) are both counted, and removed separately."""
    hops = NextHops()
    hops.handle(default(GW1, metric=100))
    hops.handle(default(GW2, metric=200))
    hops.handle(RouteRemoved(4, MAIN_TABLE, None, 0, metric=100))
    assert hops.gateways(ETH0, 4) == {GW2}


def test_link_gone_drops_its_next_hops() -> None:
    """An interface down or deleted loses its IPv4 routes silently: drop its next hops."""
    hops = NextHops()
    hops.handle(RouteAdded(4, MAIN_TABLE, None, 0, multipath=((GW1, ETH0), (GW2, ETH1))))
    assert hops.link_gone(ETH0) == {(ETH0, 4)}
    assert hops.gateways(ETH0, 4) == frozenset()
    assert hops.gateways(ETH1, 4) == {GW2}
    assert hops.link_gone(ETH0) == set()


def test_replace_all_reports_only_what_changed() -> None:
    """A fresh dump after ENOBUFS: only the (oif, family) whose set differs are reported."""
    hops = NextHops()
    hops.handle(default())
    hops.handle(default(GW6))
    changed = hops.replace_all([default(), default(GW2, ETH1)])
    assert changed == {(ETH0, 6), (ETH1, 4)}
    assert hops.gateways(ETH0, 4) == {GW1}
    assert hops.gateways(ETH1, 4) == {GW2}
