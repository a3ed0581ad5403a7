"""rtnetlink route and neighbour messages, decoded with ``struct`` (pure; hostile-safe).

Owns the byte layouts of RTM_NEWROUTE / RTM_DELROUTE and RTM_NEWNEIGH / RTM_DELNEIGH, turned
into :mod:`garpd.routes` events (``["auto"]`` gateways) and :class:`Neighbour` values (the
gateways' MACs). Hand-decoded because a router's table can hold a million routes: pyroute2's
generic decoder costs ~0.3 ms a message, ``struct`` a few microseconds. Every length is
checked; a truncated or odd message is skipped, never raised on.

Layouts (host byte order)::

    nlmsghdr  len u32, type u16, flags u16, seq u32, pid u32            (16 bytes)
    rtmsg     family, dst_len, src_len, tos, table, protocol, scope, type u8; flags u32
    ndmsg     family u8, pad u8 u16, ifindex i32, state u16, flags u8, type u8
    rtattr    len u16, type u16, value, padded to 4
    rtnexthop len u16, flags u8, hops u8, ifindex i32, then rtattrs (RTA_GATEWAY)
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from garpd.frames import Address
from garpd.routes import Hop, RouteAdded, RouteEvent, RouteRemoved

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
NLM_F_REPLACE: Final = 0x100
RTN_UNICAST: Final = 1
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_VIA = (
    1, 4, 5, 6, 9, 15, 18)
NDA_DST, NDA_LLADDR = 1, 2
#: NUD states whose link-layer address can be used (REACHABLE, STALE, DELAY, PROBE,
#: NOARP, PERMANENT).
NUD_VALID: Final = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80
RTMGRP_NEIGH, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x4, 0x40, 0x400


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A neighbour table entry: ``mac`` None when it is gone or not valid."""

    ifindex: int
    ip: Address
    mac: bytes | None


def messages(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(type, flags, offset, length) of each netlink message in a datagram."""
    offset = 0
    size = len(data)
    while offset + 16 <= size:
        length, kind, flags = struct.unpack_from("=IHH", data, offset)
        if length < 16 or offset + length > size:
            return
        yield kind, flags, offset, length
        offset += (length + 3) & ~3


def _attrs(data: bytes, pos: int, end: int) -> Iterator[tuple[int, bytes]]:
    while pos + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, pos)
        if alen < 4 or pos + alen > end:
            return
        yield atype & 0x3FFF, data[pos + 4:pos + alen]
        pos += (alen + 3) & ~3


def _address(family: int, raw: bytes) -> Address | None:
    if family == socket.AF_INET and len(raw) == 4:
        return ipaddress.IPv4Address(raw)
    if family == socket.AF_INET6 and len(raw) == 16:
        return ipaddress.IPv6Address(raw)
    return None


def _via(raw: bytes) -> Address | None:
    """RTA_VIA: family u16, then the address (RFC 5549 next hops)."""
    if len(raw) < 2:
        return None
    return _address(struct.unpack_from("=H", raw)[0], raw[2:])


def _multipath(family: int, raw: bytes) -> tuple[Hop, ...]:
    hops: list[Hop] = []
    pos = 0
    while pos + 8 <= len(raw):
        nlen, _flags, _hops, ifindex = struct.unpack_from("=HBBi", raw, pos)
        if nlen < 8 or pos + nlen > len(raw):
            break
        for atype, value in _attrs(raw, pos + 8, pos + nlen):
            gateway = (_address(family, value) if atype == RTA_GATEWAY
                       else _via(value) if atype == RTA_VIA else None)
            if gateway is not None:
                hops.append((gateway, ifindex))
        pos += (nlen + 3) & ~3
    return tuple(hops)


def route_event(data: bytes, offset: int, length: int) -> RouteEvent | None:
    """One RTM_NEWROUTE / RTM_DELROUTE as a :mod:`garpd.routes` event (None: not unicast,
    not IP, or malformed)."""
    if length < 28:
        return None
    kind, flags = struct.unpack_from("=HH", data, offset + 4)
    family, dst_len, _src, _tos, table, _proto, _scope, rtype = struct.unpack_from(
        "=8B", data, offset + 16)
    if rtype != RTN_UNICAST or family not in (socket.AF_INET, socket.AF_INET6):
        return None
    dst: Address | None = None
    oif: int | None = None
    gateway: Address | None = None
    metric = 0
    multipath: tuple[Hop, ...] = ()
    for atype, value in _attrs(data, offset + 28, offset + length):
        if atype == RTA_DST:
            dst = _address(family, value)
        elif atype == RTA_OIF and len(value) == 4:
            oif = struct.unpack("=i", value)[0]
        elif atype == RTA_GATEWAY:
            gateway = _address(family, value)
        elif atype == RTA_VIA:
            gateway = _via(value)
        elif atype == RTA_PRIORITY and len(value) == 4:
            metric = struct.unpack("=I", value)[0]
        elif atype == RTA_TABLE and len(value) == 4:
            table = struct.unpack("=I", value)[0]
        elif atype == RTA_MULTIPATH:
            multipath = _multipath(family, value)
    version = 4 if family == socket.AF_INET else 6
    if kind == RTM_DELROUTE:
        return RouteRemoved(version, table, dst, dst_len, oif, gateway, multipath, metric)
    if kind != RTM_NEWROUTE:
        return None
    return RouteAdded(version, table, dst, dst_len, oif, gateway, multipath, metric,
                      replace=bool(flags & NLM_F_REPLACE))


def neighbour(data: bytes, offset: int, length: int) -> Neighbour | None:
    """One RTM_NEWNEIGH / RTM_DELNEIGH (None: not IP, or malformed)."""
    if length < 28:
        return None
    kind = struct.unpack_from("=H", data, offset + 4)[0]
    family, ifindex, state = struct.unpack_from("=B3xiH", data, offset + 16)
    ip: Address | None = None
    mac: bytes | None = None
    for atype, value in _attrs(data, offset + 28, offset + length):
        if atype == NDA_DST:
            ip = _address(family, value)
        elif atype == NDA_LLADDR and len(value) == 6:
            mac = value
    if ip is None:
        return None
    if kind != RTM_NEWNEIGH or not state & NUD_VALID:
        mac = None
    return Neighbour(ifindex, ip, mac)


def decode(data: bytes) -> Iterator[RouteEvent | Neighbour]:
    """Every route event and neighbour entry of one netlink datagram, in order."""
    for kind, _flags, offset, length in messages(data):
        if kind in (RTM_NEWROUTE, RTM_DELROUTE):
            route = route_event(data, offset, length)
            if route is not None:
                yield route
        elif kind in (RTM_NEWNEIGH, RTM_DELNEIGH):
            entry = neighbour(data, offset, length)
            if entry is not None:
                yield entry


def dump_request(kind: int, family: int = socket.AF_UNSPEC, seq: int = 1) -> bytes:
    """An NLM_F_DUMP request for RTM_GETROUTE or RTM_GETNEIGH."""
    body = (struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0) if kind == RTM_GETROUTE
            else struct.pack("=BxxxiHBB", family, 0, 0, 0, 0))
    return struct.pack("=IHHII", 16 + len(body), kind, 0x1 | 0x300, seq, 0) + body
