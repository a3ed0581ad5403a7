"""Fuzz target: rtnetlink decoding (:mod:`garpd.rtnl`, :mod:`garpd.drivers.netlink`).

The input is one netlink datagram as a socket would hand it over. Contract: nothing here
raises for any bytes: the message walk stops at the first header that does not fit, and
each decoder (link, address, route, neighbour, error) returns its value or None. Every
message is handed to every decoder of its type, as the link/address watcher, the snapshot
dump, the gateway driver and the lab agent do. Run:
``python -m fuzz.netlink [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

from fuzz.harness import instrumented, main

with instrumented():
    from garpd import rtnl
    from garpd.drivers.netlink import parse_addr_message, parse_link_message
    from garpd.events import AddressChanged, AddressRemoved, LinkChanged, LinkRemoved
    from garpd.routes import RouteAdded, RouteRemoved

#: ifindex -> name, as the watcher learns it from link messages.
_NAMES = {index: f"eth{index}" for index in range(8)}


def test_one_input(data: bytes) -> None:
    """Walk ``data`` and decode each message with every decoder that takes its type."""
    end = 0
    for offset, length, kind in rtnl.messages(data):
        assert length >= 16
        assert offset + length <= len(data)
        assert offset >= end
        end = offset + length
        if kind == rtnl.NLMSG_ERROR:
            assert isinstance(rtnl.error_code(data, offset), int)
        elif kind in (rtnl.RTM_NEWLINK, rtnl.RTM_DELLINK):
            link = parse_link_message(data, offset, length)
            assert link is None or isinstance(link, LinkChanged | LinkRemoved)
        elif kind in (rtnl.RTM_NEWADDR, rtnl.RTM_DELADDR):
            address = parse_addr_message(data, offset, length, _NAMES)
            assert address is None or isinstance(address, AddressChanged | AddressRemoved)
            rtnl.ifaddr(data, offset, length)
        elif kind in (rtnl.RTM_NEWROUTE, rtnl.RTM_DELROUTE):
            route = rtnl.route_event(data, offset, length)
            assert route is None or isinstance(route, RouteAdded | RouteRemoved)
        elif kind in (rtnl.RTM_NEWNEIGH, rtnl.RTM_DELNEIGH):
            raw = rtnl.neigh(data, offset, length)
            if raw is not None:
                assert rtnl.nud_state(raw.state)
            entry = rtnl.neighbour(data, offset, length)
            assert entry is None or entry.mac is None or len(entry.mac) == 6
    for item in rtnl.decode(data):
        assert isinstance(item, RouteAdded | RouteRemoved | rtnl.Neighbour)


if __name__ == "__main__":
    main("netlink", test_one_input)
