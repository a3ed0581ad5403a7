"""rtnetlink route, neighbour and address decoding: real kernel dumps (multipath, IPv6,
neighbour states) in a namespace, hostile bytes that must never raise, and the express
path's peek at an added address (:func:`garpd.rtnl.lone_new_v4`) against the full decode."""

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


# --- the express path's peek at an added IPv4 address ----------------------------------

ADDR_ATTRS = [rtnl.IFA_ADDRESS, rtnl.IFA_LOCAL, rtnl.IFA_FLAGS, 3, 6]  # 3 label, 6 cacheinfo


def ifaddr_message(attrs: list[tuple[int, bytes]], kind: int = rtnl.RTM_NEWADDR,
                   family: int = socket.AF_INET, index: int = 7) -> bytes:
    """One address message with ``attrs`` in this order."""
    body = rtnl.IFADDRMSG.pack(family, 24, 0, 0, index)
    return message(kind, body + b"".join(attr(k, v) for k, v in attrs))


def reference(data: bytes) -> tuple[int, bytes] | None:
    """What the full decode makes of ``data`` (every message, then parse_addr_message's
    choice of address), when that is one IPv4 address added: (index, its 4 bytes)."""
    found = list(rtnl.messages(data))
    if len(found) != 1:
        return None
    offset, length, _kind = found[0]
    msg = rtnl.ifaddr(data, offset, length)
    if msg is None or msg[0] != rtnl.RTM_NEWADDR or msg[1] != socket.AF_INET:
        return None
    _kind, _family, _flags, index, local, peer = msg
    raw = local if local is not None and len(local) == 4 else peer
    return (index, raw) if raw is not None and len(raw) == 4 else None


def test_lone_new_v4_reads_the_kernel_s_layout() -> None:
    """IFA_ADDRESS (the peer), then IFA_LOCAL, label, flags, cacheinfo, as the kernel
    sends them: the local address, with the interface index."""
    local, peer = socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.254")
    data = ifaddr_message([(rtnl.IFA_ADDRESS, peer), (rtnl.IFA_LOCAL, local),
                           (3, b"eth0\0"), (rtnl.IFA_FLAGS, struct.pack("=I", 0x80)),
                           (6, bytes(16))])
    assert rtnl.lone_new_v4(data) == (7, local) == reference(data)
    only_peer = ifaddr_message([(rtnl.IFA_ADDRESS, peer), (3, b"eth0\0")])
    assert rtnl.lone_new_v4(only_peer) == (7, peer) == reference(only_peer)


def test_lone_new_v4_declines_what_is_not_one_ipv4_address_added() -> None:
    """A removal, IPv6, two messages in one datagram, a short or padded datagram, a first
    IFA_LOCAL that is not 4 bytes, no address at all: None."""
    local = socket.inet_aton("192.0.2.1")
    one = ifaddr_message([(rtnl.IFA_LOCAL, local)])
    assert rtnl.lone_new_v4(one) == (7, local)
    assert rtnl.lone_new_v4(ifaddr_message([(rtnl.IFA_LOCAL, local)],
                                           kind=rtnl.RTM_DELADDR)) is None
    assert rtnl.lone_new_v4(ifaddr_message([(rtnl.IFA_LOCAL, bytes(16))],
                                           family=socket.AF_INET6)) is None
    assert rtnl.lone_new_v4(one + one) is None
    assert rtnl.lone_new_v4(one[:23]) is None
    assert rtnl.lone_new_v4(one + bytes(4)) is None
    assert rtnl.lone_new_v4(ifaddr_message([(rtnl.IFA_LOCAL, local + b"\0"),
                                            (rtnl.IFA_ADDRESS, local)])) is None
    assert rtnl.lone_new_v4(ifaddr_message([(3, b"eth0\0")])) is None


def test_ifaddr_takes_the_first_ifa_local_as_the_peek_does() -> None:
    """Two IFA_LOCALs (the kernel sends one): both readers take the first; any other
    attribute repeated, the last."""
    first, second = socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2")
    data = ifaddr_message([(rtnl.IFA_LOCAL, first), (rtnl.IFA_LOCAL, second),
                           (rtnl.IFA_ADDRESS, first), (rtnl.IFA_ADDRESS, second)])
    assert rtnl.ifaddr(data, 0, len(data)) == (rtnl.RTM_NEWADDR, socket.AF_INET, 0, 7, first,
                                               second)
    assert rtnl.lone_new_v4(data) == (7, first)


attribute = st.tuples(st.sampled_from(ADDR_ATTRS),
                      st.one_of(st.binary(min_size=4, max_size=4), st.binary(max_size=18)))


@given(st.lists(attribute, max_size=7), st.sampled_from([rtnl.RTM_NEWADDR, rtnl.RTM_DELADDR]),
       st.sampled_from([socket.AF_INET, socket.AF_INET6]), st.binary(max_size=3),
       st.integers(0, 3))
def test_lone_new_v4_is_the_full_decode_or_declines(
        attrs: list[tuple[int, bytes]], kind: int, family: int, tail: bytes,
        cut: int) -> None:
    """Whatever the attributes (repeated, any length, in any order), the datagram's tail
    or a truncation: the peek names the address the full decode names, or declines, and
    declines only where the first IFA_LOCAL is not 4 bytes or nothing is named."""
    data = ifaddr_message(attrs, kind, family) + tail
    if cut:
        data = data[:-cut * 3]
    peek, full = rtnl.lone_new_v4(data), reference(data)
    assert peek is None or peek == full
    locals_ = [v for k, v in attrs if k == rtnl.IFA_LOCAL]
    if full is not None and not tail and not cut and (not locals_ or len(locals_[0]) == 4):
        assert peek == full


@given(st.binary(max_size=300))
def test_hostile_bytes_never_raise(data: bytes) -> None:
    """Any bytes decode to a (possibly empty) list without raising."""
    list(rtnl.decode(data))
    for kind in (rtnl.RTM_NEWROUTE, rtnl.RTM_NEWNEIGH):
        list(rtnl.decode(message(kind, data)))
    for raw in (data, message(rtnl.RTM_NEWADDR, data)):
        found = rtnl.lone_new_v4(raw)
        assert found is None or len(found[1]) == 4


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
