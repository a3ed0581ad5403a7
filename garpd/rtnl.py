"""rtnetlink bytes by hand: the message walk, the attribute walk, and the messages garpd
decodes itself (ifaddrmsg, ndmsg, rtmsg). Pure; hostile-safe.

garpd's one hand-written rtnetlink codec. The netlink driver decodes address messages with
it (:mod:`garpd.drivers.netlink`: pyroute2's generic decoder costs ~0.3 ms a message, most
of a takeover's first-frame latency, so the hot path is ``struct`` and this module; link and
netconf messages still go to pyroute2); the gateway driver decodes routes (a router's table
can hold a million routes) into :mod:`garpd.routes` events and neighbour entries into
:class:`Neighbour` (:mod:`garpd.drivers.gateways`); the lab's in-namespace agent decodes
address and neighbour events (:mod:`garpd.lab.agent`). No socket.

Layouts (native byte order, everything padded to 4 bytes)::

    nlmsghdr  0 length u32 (header included)  4 type u16  6 flags u16  8 seq u32  12 pid u32
    nlmsgerr  16 error s32 (0 = ACK, else -errno), then the request's header
    ifaddrmsg 16 family u8  17 prefixlen u8  18 flags u8  19 scope u8  20 index u32
    ifinfomsg 16 family u8  17 pad  18 type u16  20 index s32  24 flags u32  28 change u32
    ndmsg     16 family u8  17-19 pad  20 ifindex s32  24 state u16  26 flags u8  27 type u8
    rtmsg     16 family, dst_len, src_len, tos, table, protocol, scope, type u8; flags u32
    rtattr    0 length u16 (header included)  2 type u16 (top two bits are flags)  4 value
    rtnexthop 0 length u16  2 flags u8  3 hops u8  4 ifindex s32, then rtattrs (RTA_GATEWAY)

Nothing here trusts a length: a walk stops at the first header that does not fit; a
truncated or odd message is skipped, never raised on.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from collections.abc import Iterator
from typing import Final, NamedTuple

from garpd.frames import Address
from garpd.lean import dataclass
from garpd.routes import Hop, RouteAdded, RouteEvent, RouteRemoved

NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
NLM_F_REPLACE: Final = 0x100
RTN_UNICAST: Final = 1
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_VIA = (
    1, 4, 5, 6, 9, 15, 18)
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
RTMGRP_LINK, RTMGRP_NEIGH, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x4, 0x10, 0x100
RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE = 0x40, 0x400
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
NDA_DST, NDA_LLADDR = 1, 2
NUD_STATES: Final = {0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY",
                     0x10: "PROBE", 0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT"}
#: NUD states whose link-layer address can be used (REACHABLE, STALE, DELAY, PROBE,
#: NOARP, PERMANENT).
NUD_VALID: Final = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80

NLMSG_HDRLEN: Final = 16
#: nlmsghdr: length, type, flags, seq, pid.
NLMSGHDR: Final = struct.Struct("=IHHII")
#: ifaddrmsg: family, prefixlen, flags, scope, index.
IFADDRMSG: Final = struct.Struct("=BBBBI")
#: ndmsg: family, pad, pad, ifindex, state, flags, type.
NDMSG: Final = struct.Struct("=BBHiHBB")
_LEN_TYPE: Final = struct.Struct("=IH")
_RTA: Final = struct.Struct("=HH")
_NLA_TYPE_MASK: Final = 0x3FFF
_U32: Final = struct.Struct("=I")


def messages(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, length, type) of each whole netlink message in ``data``, in order."""
    offset, end = 0, len(data)
    unpack = _LEN_TYPE.unpack_from
    while offset + 16 <= end:
        length, kind = unpack(data, offset)
        if length < 16 or offset + length > end:
            return
        yield offset, length, kind
        offset += (length + 3) & ~3


def walk_attributes(data: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(type, value) of each rtattr between ``start`` and ``end``, in order (the nested /
    byte-order flag bits are not part of the type)."""
    unpack = _RTA.unpack_from
    while start + 4 <= end:
        length, kind = unpack(data, start)
        if length < 4 or start + length > end:
            return
        yield kind & _NLA_TYPE_MASK, data[start + 4:start + length]
        start += (length + 3) & ~3


def attributes(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """type -> value of the rtattrs between ``start`` and ``end`` (the last one of a type
    wins)."""
    return dict(walk_attributes(data, start, end))


def error_code(data: bytes, offset: int) -> int:
    """The error of the NLMSG_ERROR message at ``offset``: 0 for an ACK, else -errno;
    -EBADMSG when the message is too short to hold one."""
    length = _LEN_TYPE.unpack_from(data, offset)[0]
    if length < NLMSG_HDRLEN + 4 or offset + NLMSG_HDRLEN + 4 > len(data):
        return -errno.EBADMSG
    return int(struct.unpack_from("=i", data, offset + NLMSG_HDRLEN)[0])


def ifaddr(data: bytes, offset: int, length: int
           ) -> tuple[int, int, int, int, bytes | None, bytes | None] | None:
    """The address message at ``offset`` (from :func:`messages`): ``(type, family, flags,
    index, IFA_LOCAL, IFA_ADDRESS)``, None if too short.

    ``flags`` is IFA_FLAGS if present (32 bits), else ifaddrmsg's 8-bit flags; a missing
    address attribute is None. Of attributes repeated (the kernel sends none twice) the
    last counts, but IFA_LOCAL's first, as :func:`lone_new_v4` reads it. IFA_LOCAL is the
    interface's own address, IFA_ADDRESS the peer's on point-to-point links (the same as
    IFA_LOCAL elsewhere). A plain tuple and an unrolled walk: this is the daemon's
    takeover path (measured, see the netlink driver).
    """
    if length < 24:
        return None
    kind = _LEN_TYPE.unpack_from(data, offset)[1]
    family, _plen, flags, _scope, index = IFADDRMSG.unpack_from(data, offset + 16)
    local = peer = None
    pos, end = offset + 24, offset + length
    unpack = _RTA.unpack_from
    while pos + 4 <= end:
        alen, atype = unpack(data, pos)
        if alen < 4 or pos + alen > end:
            break
        atype &= _NLA_TYPE_MASK
        if atype == IFA_LOCAL:
            if local is None:
                local = data[pos + 4:pos + alen]
        elif atype == IFA_ADDRESS:
            peer = data[pos + 4:pos + alen]
        elif atype == IFA_FLAGS and alen == 8:
            flags = _U32.unpack_from(data, pos + 4)[0]
        pos += (alen + 3) & ~3
    return kind, family, flags, index, local, peer


def lone_new_v4(data: bytes) -> tuple[int, bytes] | None:
    """``(index, address)`` of the IPv4 address a datagram adds, when it holds one
    RTM_NEWADDR message and nothing else: the address :func:`ifaddr` yields for it (its
    IFA_LOCAL, else its IFA_ADDRESS) when 4 bytes long, else None.

    The daemon's express first frame reads it before anything else is decoded, so it
    reads as little as it can: it stops at the first IFA_LOCAL (the kernel's second
    attribute), which :func:`ifaddr` also takes, and declines one of another length
    (ifaddr's fall-back to IFA_ADDRESS needs the whole walk). Its loop is ifaddr's again,
    on purpose: a walk shared through a generator would cost this path a call and a
    resumption per attribute, at ~1 µs each cold.
    """
    end = len(data)
    if end < 24:
        return None
    length, kind = _LEN_TYPE.unpack_from(data)
    family, _plen, _flags, _scope, index = IFADDRMSG.unpack_from(data, 16)
    if length != end or kind != RTM_NEWADDR or family != socket.AF_INET:
        return None
    peer = None
    pos = 24
    unpack = _RTA.unpack_from
    while pos + 4 <= end:
        alen, atype = unpack(data, pos)
        if alen < 4 or pos + alen > end:
            break
        atype &= _NLA_TYPE_MASK
        if atype == IFA_LOCAL:
            return (index, data[pos + 4:pos + 8]) if alen == 8 else None
        if atype == IFA_ADDRESS:
            peer = data[pos + 4:pos + alen]
        pos += (alen + 3) & ~3
    return (index, peer) if peer is not None and len(peer) == 4 else None


class Neigh(NamedTuple):
    """An RTM_NEWNEIGH / RTM_DELNEIGH message: ndmsg, destination and link-layer address."""

    kind: int
    family: int
    ifindex: int
    state: int
    flags: int
    type: int
    dst: bytes | None
    lladdr: bytes | None


def neigh(data: bytes, offset: int, length: int) -> Neigh | None:
    """The neighbour message at ``offset`` (from :func:`messages`), None if too short."""
    if length < 28:
        return None
    kind = _LEN_TYPE.unpack_from(data, offset)[1]
    family, _pad1, _pad2, ifindex, state, flags, ntype = NDMSG.unpack_from(data, offset + 16)
    attrs = attributes(data, offset + 28, offset + length)
    return Neigh(kind, family, ifindex, state, flags, ntype, attrs.get(NDA_DST),
                 attrs.get(NDA_LLADDR))


def nud_state(value: int) -> str:
    """The kernel's neighbour state bits as ip-neighbour(8) names them ("REACHABLE")."""
    names = [name for bit, name in NUD_STATES.items() if value & bit]
    return ",".join(names) if names else "NONE"


def rtattr(kind: int, value: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    data = _RTA.pack(4 + len(value), kind) + value
    return data + b"\0" * (-len(data) % 4)


def nlmsg(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    """One netlink message (pid 0: the kernel fills in the sender)."""
    return NLMSGHDR.pack(NLMSG_HDRLEN + len(body), kind, flags, seq, 0) + body


# --- routes and neighbours, decoded (the gateway driver) -----------------------------


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A usable neighbour table entry: ``mac`` None when it is gone or not valid."""

    ifindex: int
    ip: Address
    mac: bytes | None


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
        for atype, value in walk_attributes(raw, pos + 8, pos + nlen):
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
    for atype, value in walk_attributes(data, offset + 28, offset + length):
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
    """One RTM_NEWNEIGH / RTM_DELNEIGH as a usable entry (None: not IP, or malformed);
    ``mac`` None when the entry is gone or not valid."""
    entry = neigh(data, offset, length)
    if entry is None or entry.dst is None:
        return None
    ip = _address(entry.family, entry.dst)
    if ip is None:
        return None
    mac = entry.lladdr if entry.lladdr is not None and len(entry.lladdr) == 6 else None
    if entry.kind != RTM_NEWNEIGH or not entry.state & NUD_VALID:
        mac = None
    return Neighbour(entry.ifindex, ip, mac)


def decode(data: bytes) -> Iterator[RouteEvent | Neighbour]:
    """Every route event and neighbour entry of one netlink datagram, in order."""
    for offset, length, kind in messages(data):
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
    return nlmsg(kind, NLM_F_REQUEST | NLM_F_DUMP, seq, body)
