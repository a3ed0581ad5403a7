"""rtnetlink route and neighbour decoding: real kernel dumps (multipath, IPv6, neighbour
states) in a namespace, and hostile bytes that must never raise."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garpd import rtnl
from garpd.routes import RouteAdded, RouteRemoved
from tests.lab import LabFactory

HELPER = Path(__file__).with_name("rtnl_helper.py")


def message(kind: int, body: bytes, flags: int = 0) -> bytes:
    """One netlink message."""
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 1, 0) + body


def attr(kind: int, value: bytes) -> bytes:
    """One rtattr, padded."""
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + bytes(-len(raw) % 4)


def test_multipath_route_and_replace_flag() -> None:
    """RTA_MULTIPATH next hops, RTA_PRIORITY, RTA_TABLE and NLM_F_REPLACE are read."""
    def hop(gw: str, oif: int) -> bytes:
        return (struct.pack("=HBBi", 8 + 8, 0, 0, oif)
                + attr(rtnl.RTA_GATEWAY, socket.inet_aton(gw)))

    body = struct.pack("=8BI", socket.AF_INET, 0, 0, 0, 254, 3, 0, rtnl.RTN_UNICAST, 0)
    body += attr(rtnl.RTA_PRIORITY, struct.pack("=I", 20))
    body += attr(rtnl.RTA_MULTIPATH, hop("192.0.2.1", 2) + hop("192.0.2.2", 3))
    data = message(rtnl.RTM_NEWROUTE, body, rtnl.NLM_F_REPLACE)
    data += message(rtnl.RTM_DELROUTE, body)
    added, removed = list(rtnl.decode(data))
    gws = ((ipaddress.IPv4Address("192.0.2.1"), 2), (ipaddress.IPv4Address("192.0.2.2"), 3))
    assert added == RouteAdded(4, 254, None, 0, None, None, gws, 20, replace=True)
    assert removed == RouteRemoved(4, 254, None, 0, None, None, gws, 20)


def test_neighbour_states() -> None:
    """A valid entry gives its MAC; a FAILED entry or a removal gives None."""
    def neigh(kind: int, state: int) -> bytes:
        body = struct.pack("=BxxxiHBB", socket.AF_INET, 2, state, 0, 0)
        body += attr(rtnl.NDA_DST, socket.inet_aton("192.0.2.1"))
        body += attr(rtnl.NDA_LLADDR, bytes.fromhex("020000000001"))
        return message(kind, body)
    gw = ipaddress.IPv4Address("192.0.2.1")
    mac = bytes.fromhex("020000000001")
    data = neigh(rtnl.RTM_NEWNEIGH, 0x04) + neigh(rtnl.RTM_NEWNEIGH, 0x20) + neigh(
        rtnl.RTM_DELNEIGH, 0x04)
    assert list(rtnl.decode(data)) == [rtnl.Neighbour(2, gw, mac), rtnl.Neighbour(2, gw, None),
                                       rtnl.Neighbour(2, gw, None)]


def test_error_code_of_a_truncated_error_message() -> None:
    """Found by fuzz/netlink.py: an NLMSG_ERROR of 16 bytes (no room for the error) at the
    end of a datagram made error_code raise struct.error; it is -EBADMSG."""
    crash = bytes.fromhex(
        "2400000002000100000000000000000000000002000000fe0300010032000000"
        "2400090010000000020000000800000000000000000000")
    assert len(crash) == 55
    assert list(rtnl.messages(crash)) == [(0, 36, rtnl.NLMSG_ERROR), (36, 16, rtnl.NLMSG_ERROR)]
    assert rtnl.error_code(crash, 0) == 0x02000000  # the first one's field, as written
    assert rtnl.error_code(crash, 36) == -errno.EBADMSG
    ack = message(rtnl.NLMSG_ERROR, struct.pack("=i", 0) + bytes(16))
    assert rtnl.error_code(ack, 0) == 0
    assert rtnl.error_code(message(rtnl.NLMSG_ERROR, struct.pack("=i", -1)), 0) == -1


@given(st.binary(max_size=300))
def test_hostile_bytes_never_raise(data: bytes) -> None:
    """Any bytes decode to a (possibly empty) list without raising."""
    list(rtnl.decode(data))
    for kind in (rtnl.RTM_NEWROUTE, rtnl.RTM_NEWNEIGH):
        list(rtnl.decode(message(kind, data)))


@pytest.mark.lab
def test_real_kernel_dump_with_multipath_and_ipv6(make_lab: LabFactory) -> None:
    """The kernel's own dump: a multipath default route, an IPv6 default route via a
    link-local next hop, a route in another table (ignored), neighbour entries."""
    lab = make_lab(["a", "b"], accept_dad=0)
    lab.add_address("a", "192.0.2.10/24")
    lab.add_address("a", "2001:db8::10/64")
    lab.run("a", "ip", "route", "add", "default", "nexthop", "via", "192.0.2.1", "dev", "eth0",
            "nexthop", "via", "192.0.2.2", "dev", "eth0")
    lab.run("a", "ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0")
    lab.run("a", "ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.9", "table", "100")
    lab.set_neighbour("a", "192.0.2.1", "02:00:00:00:00:01")
    proc = lab.run("a", sys.executable, str(HELPER))
    hops, neighbours = (json.loads(line) for line in proc.stdout.splitlines())
    ifindex = int(lab.run("a", "cat", "/sys/class/net/eth0/ifindex").stdout)
    assert hops["hops"] == [[ifindex, 4, ["192.0.2.1", "192.0.2.2"]],
                            [ifindex, 6, ["fe80::1"]]]
    assert ["192.0.2.1", "020000000001"] in neighbours["neighbours"]
