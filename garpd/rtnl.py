"""rtnetlink bytes by hand: the message walk, the attribute walk, ifaddrmsg and ndmsg. Pure.

garpd's one hand-written rtnetlink codec. The netlink driver decodes address messages with
it (:mod:`garpd.drivers.netlink`: pyroute2's generic decoder costs ~0.3 ms a message, most
of a takeover's first-frame latency, so the hot path is ``struct`` and this module; link and
netconf messages still go to pyroute2), and the lab's in-namespace agent decodes address and
neighbour events with it (:mod:`garpd.lab.agent`). Standard library only, no socket.

Layouts (native byte order, everything padded to 4 bytes)::

    nlmsghdr  0 length u32 (header included)  4 type u16  6 flags u16  8 seq u32  12 pid u32
    nlmsgerr  16 error s32 (0 = ACK, else -errno), then the request's header
    ifaddrmsg 16 family u8  17 prefixlen u8  18 flags u8  19 scope u8  20 index u32
    ndmsg     16 family u8  17-19 pad  20 ifindex s32  24 state u16  26 flags u8  27 type u8
    rtattr    0 length u16 (header included)  2 type u16 (top two bits are flags)  4 value

Nothing here trusts a length: a walk stops at the first header that does not fit.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final, NamedTuple

NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWNEIGH, RTM_DELNEIGH = 28, 29
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
RTMGRP_LINK, RTMGRP_NEIGH, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x4, 0x10, 0x100
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
NDA_DST, NDA_LLADDR = 1, 2
NUD_STATES: Final = {0x01: "INCOMPLETE", 0x02: "REACHABLE", 0x04: "STALE", 0x08: "DELAY",
                     0x10: "PROBE", 0x20: "FAILED", 0x40: "NOARP", 0x80: "PERMANENT"}

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


def attributes(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """type -> value of the rtattrs between ``start`` and ``end`` (the last one of a type
    wins; the nested / byte-order flag bits are not part of the type)."""
    attrs: dict[int, bytes] = {}
    unpack = _RTA.unpack_from
    while start + 4 <= end:
        length, kind = unpack(data, start)
        if length < 4 or start + length > end:
            break
        attrs[kind & _NLA_TYPE_MASK] = data[start + 4:start + length]
        start += (length + 3) & ~3
    return attrs


def error_code(data: bytes, offset: int) -> int:
    """The error of the NLMSG_ERROR message at ``offset``: 0 for an ACK, else -errno."""
    return int(struct.unpack_from("=i", data, offset + 16)[0])


def ifaddr(data: bytes, offset: int, length: int
           ) -> tuple[int, int, int, int, bytes | None, bytes | None] | None:
    """The address message at ``offset`` (from :func:`messages`): ``(type, family, flags,
    index, IFA_LOCAL, IFA_ADDRESS)``, None if too short.

    ``flags`` is IFA_FLAGS if present (32 bits), else ifaddrmsg's 8-bit flags; a missing
    address attribute is None. IFA_LOCAL is the interface's own address, IFA_ADDRESS the
    peer's on point-to-point links (the same as IFA_LOCAL elsewhere). A plain tuple and an
    unrolled walk: this is the daemon's takeover path (measured, see the netlink driver).
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
            local = data[pos + 4:pos + alen]
        elif atype == IFA_ADDRESS:
            peer = data[pos + 4:pos + alen]
        elif atype == IFA_FLAGS and alen == 8:
            flags = _U32.unpack_from(data, pos + 4)[0]
        pos += (alen + 3) & ~3
    return kind, family, flags, index, local, peer


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
