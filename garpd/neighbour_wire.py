"""What the neighbour listener reads and the directed probes garpd sends (issue 12).

Pure: no socket, no clock, never raises on input from the wire. It owns three things:

- :func:`parse` turns one received Ethernet frame (any bytes; untagged or with one
  802.1Q tag) into a :class:`Claim`, or into a short *reason* string naming why it was
  dropped (:data:`REASONS`; ``not_neighbour`` is not malformed, it is just not ARP or ND).
  IPv6 frames must pass RFC 4861's checks (7.1.1, 7.1.2): hop limit 255, code 0, a valid
  ICMPv6 checksum, no zero-length option, a non-multicast target, no Solicited flag on a
  multicast NA, no source link-layer option on an NS from ``::``.
- :func:`classify`, shared by the daemon's conflict decision (:mod:`garpd.conflicts`) and
  ``garpd watch``: the note of a claim (``ours``, ``conflict``, ``gateway`` or None), per
  SPEC *Seeing the LAN*.
- the directed probes of SPEC *Directed announcements* (:func:`directed_arp`,
  :func:`directed_ns`), packed with ``struct`` like :mod:`garpd.frames`, and cached as
  bytes by :class:`ProbeCache`. The tests prove them byte-for-byte against scapy.

Interface::

    parse(frame: bytes) -> Claim | str
    classify(claim, own_macs, addresses, gateways) -> "ours" | "conflict" | "gateway" | None
    ProbeCache().frame(mac, address, gateway, gateway_mac | None) -> bytes

Kinds (the ``kind`` of a claim, as ``garpd watch`` prints them):

=============  ==========================================================================
``garp``       ARP (request or reply) whose sender and target protocol addresses are equal
``probe``      ARP request from sender 0.0.0.0 (RFC 5227 probe): claims nothing
``arp_request`` / ``arp_reply``  any other ARP request / reply
``ns``         neighbour solicitation: asks for its target (claims nothing)
``na``         neighbour advertisement: claims its target
=============  ==========================================================================

Layouts of the directed probes (offsets into the Ethernet frame)::

    ARP request (42 bytes; the kernel pads to 60)
    0  dst = gateway MAC, or ff:ff:ff:ff:ff:ff when unknown   6 src = our MAC  12 0x0806
    14 htype 1  16 ptype 0x0800  18 hlen 6  19 plen 4  20 op 1
    22 sender MAC = our MAC  28 sender IP = the address  32 target MAC 00:00:00:00:00:00
    38 target IP = the gateway

    Neighbour solicitation (86 bytes)
    0  dst = gateway MAC, or 33:33:ff + the gateway's low 24 bits   6 src = our MAC
    12 0x86dd  14 IPv6: version 6, payload 32, next header 58, hop limit 255
    22 src = the address   38 dst = the gateway, or its solicited-node ff02::1:ffXX:XXXX
    54 ICMPv6 type 135, code 0, 56 checksum, 58 reserved 0   62 target = the gateway
    78 option type 1 (source link-layer address), len 1, 80 our MAC
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Collection
from typing import Final, Literal

from garpd.frames import BROADCAST, ETH_P_ARP, ETH_P_IPV6, Address
from garpd.inet import checksum, ipv6_pseudo_header
from garpd.lean import dataclass

Kind = Literal["garp", "arp_request", "arp_reply", "probe", "ns", "na"]
Note = Literal["ours", "conflict", "gateway"]

ETH_P_8021Q: Final = 0x8100
ZERO_MAC: Final = bytes(6)
ARP_REQUEST, ARP_REPLY = 1, 2
ND_NS, ND_NA = 135, 136
NA_ROUTER, NA_SOLICITED, NA_OVERRIDE = 0x80, 0x40, 0x20
OPT_SOURCE_LL, OPT_TARGET_LL = 1, 2
DIRECTED_ARP_LEN: Final = 42
DIRECTED_NS_LEN: Final = 86

#: Why :func:`parse` dropped a frame. Every one but ``not_neighbour`` is a malformed frame.
REASONS: Final = (
    "short",          # shorter than its headers or than the IPv6 payload length says
    "not_neighbour",  # not ARP, not ICMPv6 NS/NA (no extension headers): not ours to judge
    "bad_source",     # multicast Ethernet source or ARP sender MAC, or a sender IP no host has
    "arp_format",     # not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4)
    "arp_op",         # ARP op other than request (1) or reply (2)
    "ipv6_header",    # IP version is not 6
    "hop_limit",      # ND with hop limit other than 255 (forwarded: RFC 4861 forbids it)
    "bad_checksum",   # ICMPv6 checksum wrong
    "nd_format",      # code not 0, message too short, multicast target, flag/option misuse
    "bad_option",     # an ND option of length 0 or running past the message
)

_UNSPECIFIED6 = ipaddress.IPv6Address(0)
_ANY4 = ipaddress.IPv4Address(0)
_BAD_ARP_SENDERS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("224.0.0.0/3"))


@dataclass(frozen=True, slots=True)
class Claim:
    """One ARP or ND frame, decoded. Immutable; made only by :func:`parse`.

    ``mac`` is the link-layer address the frame binds: the ARP sender hardware address,
    the NA's target link-layer option, the NS's source link-layer option (for ND, the
    Ethernet source when the option is absent). ``sender`` is the ARP sender protocol
    address (None for a probe) or the IPv6 source (None when ``::``). ``target`` is the ARP
    target protocol address or the NS/NA target. ``target_mac`` is the ARP target hardware
    address (None for ND). ``op`` is the ARP op (1 request, 2 reply) or the ICMPv6 type
    (135 NS, 136 NA). ``flags`` holds an NA's R, S, O bits (0x80, 0x40, 0x20).
    """

    kind: Kind
    op: int
    eth_src: bytes
    eth_dst: bytes
    mac: bytes
    sender: Address | None
    target: Address
    target_mac: bytes | None = None
    ip_dst: ipaddress.IPv6Address | None = None
    flags: int = 0
    vlan: int | None = None

    @property
    def is_arp(self) -> bool:
        """True for ARP (``garp``, ``probe``, ``arp_request``, ``arp_reply``)."""
        return self.target_mac is not None

    @property
    def frame(self) -> str:
        """The frame's name in a ``conflict`` record: arp_request, arp_reply, ns or na."""
        if self.kind in ("ns", "na"):
            return self.kind
        return "arp_reply" if self.op == ARP_REPLY else "arp_request"

    @property
    def claimed(self) -> Address | None:
        """The address this frame says ``mac`` owns: ARP sender (not a probe), NA target."""
        if self.kind == "na":
            return self.target
        if self.kind in ("ns", "probe"):
            return None
        return self.sender

    @property
    def asked(self) -> Address | None:
        """The address this frame asks for: ARP request or probe target, NS target."""
        if self.kind in ("arp_request", "probe", "ns"):
            return self.target
        return None

    @property
    def solicited(self) -> bool:
        """An NA with the Solicited flag: an answer to a solicitation."""
        return self.kind == "na" and bool(self.flags & NA_SOLICITED)


def _frame_kind_arp(op: int, spa: Address, tpa: Address) -> Kind:
    if spa == _ANY4:
        return "probe"
    if spa == tpa:
        return "garp"
    return "arp_request" if op == ARP_REQUEST else "arp_reply"


def parse(frame: bytes) -> Claim | str:
    """Decode one Ethernet frame; a :class:`Claim`, or a reason from :data:`REASONS`.

    Never raises: every byte string gives one or the other. Trailing bytes (Ethernet
    padding) are ignored.
    """
    size = len(frame)
    if size < 14:
        return "short"
    eth_dst, eth_src = frame[0:6], frame[6:12]
    ethertype = (frame[12] << 8) | frame[13]
    offset = 14
    vlan: int | None = None
    if ethertype == ETH_P_8021Q:
        if size < 18:
            return "short"
        vlan = ((frame[14] << 8) | frame[15]) & 0x0FFF
        ethertype = (frame[16] << 8) | frame[17]
        offset = 18
    if ethertype == ETH_P_ARP:
        return _parse_arp(frame, offset, eth_src, eth_dst, vlan)
    if ethertype == ETH_P_IPV6:
        return _parse_nd(frame, offset, eth_src, eth_dst, vlan)
    return "not_neighbour"


def _parse_arp(frame: bytes, offset: int, eth_src: bytes, eth_dst: bytes,
               vlan: int | None) -> Claim | str:
    if len(frame) < offset + 28:
        return "short"
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, offset)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        return "arp_format"
    if op not in (ARP_REQUEST, ARP_REPLY):
        return "arp_op"
    sha = frame[offset + 8:offset + 14]
    tha = frame[offset + 18:offset + 24]
    spa = ipaddress.IPv4Address(frame[offset + 14:offset + 18])
    tpa = ipaddress.IPv4Address(frame[offset + 24:offset + 28])
    if eth_src[0] & 1 or sha[0] & 1:
        return "bad_source"
    if spa == _ANY4:
        if op != ARP_REQUEST:
            return "bad_source"
    elif any(spa in net for net in _BAD_ARP_SENDERS):
        return "bad_source"
    kind = _frame_kind_arp(op, spa, tpa)
    return Claim(kind, op, eth_src, eth_dst, sha, None if kind == "probe" else spa, tpa,
                 target_mac=tha, vlan=vlan)


def _icmp6_checksum(src: bytes, dst: bytes, message: bytes) -> int:
    """The ICMPv6 checksum over the pseudo-header (src, dst, length, 58) and ``message``."""
    return checksum(ipv6_pseudo_header(src, dst, 58, len(message)) + message)


def _parse_nd(frame: bytes, offset: int, eth_src: bytes, eth_dst: bytes,
              vlan: int | None) -> Claim | str:
    if len(frame) < offset + 40:
        return "short"
    if frame[offset] >> 4 != 6:
        return "ipv6_header"
    payload, next_header, hop_limit = struct.unpack_from("!HBB", frame, offset + 4)
    if next_header != 58:
        return "not_neighbour"
    start = offset + 40
    if payload < 4 or len(frame) < start + payload:
        return "short"
    message = frame[start:start + payload]
    icmp_type = message[0]
    if icmp_type not in (ND_NS, ND_NA):
        return "not_neighbour"
    if eth_src[0] & 1:
        return "bad_source"
    if hop_limit != 255:
        return "hop_limit"
    if message[1] != 0 or payload < 24:
        return "nd_format"
    src = frame[offset + 8:offset + 24]
    dst = frame[offset + 24:offset + 40]
    if _icmp6_checksum(src, dst, message) != 0:
        return "bad_checksum"
    target = ipaddress.IPv6Address(message[8:24])
    ip_src = ipaddress.IPv6Address(src)
    ip_dst = ipaddress.IPv6Address(dst)
    if target.is_multicast or ip_src.is_multicast:
        return "nd_format"
    wanted = OPT_SOURCE_LL if icmp_type == ND_NS else OPT_TARGET_LL
    link_layer: bytes | None = None
    position = 24
    while position < payload:  # bounded: every option is at least 8 bytes
        if payload - position < 2:
            return "bad_option"
        length = message[position + 1] * 8
        if length == 0 or position + length > payload:
            return "bad_option"
        if message[position] == wanted and length == 8 and link_layer is None:
            link_layer = message[position + 2:position + 8]
        position += length
    flags = message[4]
    if icmp_type == ND_NS:
        if ip_src == _UNSPECIFIED6 and link_layer is not None:
            return "nd_format"
        mac = link_layer if link_layer is not None else eth_src
        sender = None if ip_src == _UNSPECIFIED6 else ip_src
        return Claim("ns", ND_NS, eth_src, eth_dst, mac, sender, target, ip_dst=ip_dst, vlan=vlan)
    if ip_dst.is_multicast and flags & NA_SOLICITED:
        return "nd_format"
    mac = link_layer if link_layer is not None else eth_src
    sender = None if ip_src == _UNSPECIFIED6 else ip_src
    return Claim("na", ND_NA, eth_src, eth_dst, mac, sender, target, ip_dst=ip_dst,
                 flags=flags & (NA_ROUTER | NA_SOLICITED | NA_OVERRIDE), vlan=vlan)


def classify(claim: Claim, own_macs: Collection[bytes], addresses: Collection[Address],
             gateways: Collection[Address] = ()) -> Note | None:
    """The note of ``claim`` (SPEC *Seeing the LAN*), or None when it concerns nothing here.

    - ``ours``: sent from, or binding, one of this host's MACs (``own_macs``, every
      interface including macvlan/VMAC ones): never a conflict;
    - ``conflict``: it claims (ARP sender that is not a probe, NA target) one of
      ``addresses`` (held or configured) for another MAC;
    - ``gateway``: it comes from one of ``gateways`` (claims it, or is sent from it).

    Collections should be sets or dict views: the cost is three membership tests.
    """
    if claim.eth_src in own_macs or claim.mac in own_macs:
        return "ours"
    claimed = claim.claimed
    if claimed is not None and claimed in addresses:
        return "conflict"
    if (claimed is not None and claimed in gateways) or (
            claim.sender is not None and claim.sender in gateways):
        return "gateway"
    return None


# --- directed probes --------------------------------------------------------------------


def solicited_node(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv6Address, bytes]:
    """The solicited-node multicast address of ``address`` and its Ethernet MAC."""
    low = address.packed[13:]
    group = ipaddress.IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + low)
    return group, b"\x33\x33\xff" + low


def directed_arp(mac: bytes, address: ipaddress.IPv4Address, gateway: ipaddress.IPv4Address,
                 gateway_mac: bytes | None) -> bytes:
    """The ARP request from (``mac``, ``address``) for ``gateway`` (layout: module doc)."""
    _check_mac(mac, gateway_mac)
    dst = gateway_mac if gateway_mac is not None else BROADCAST
    return struct.pack("!6s6sHHHBBH6s4s6s4s", dst, mac, ETH_P_ARP, 1, 0x0800, 6, 4,
                       ARP_REQUEST, mac, address.packed, ZERO_MAC, gateway.packed)


def directed_ns(mac: bytes, address: ipaddress.IPv6Address, gateway: ipaddress.IPv6Address,
                gateway_mac: bytes | None) -> bytes:
    """The NS from (``mac``, ``address``) for ``gateway`` (layout: module doc)."""
    _check_mac(mac, gateway_mac)
    if gateway_mac is not None:
        eth_dst, ip_dst = gateway_mac, gateway
    else:
        ip_dst, eth_dst = solicited_node(gateway)
    body = struct.pack("!4x16sBB6s", gateway.packed, OPT_SOURCE_LL, 1, mac)
    csum = _icmp6_checksum(address.packed, ip_dst.packed, bytes([ND_NS, 0, 0, 0]) + body)
    icmp = struct.pack("!BBH", ND_NS, 0, csum) + body
    ipv6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 255, address.packed,
                       ip_dst.packed)
    return struct.pack("!6s6sH", eth_dst, mac, ETH_P_IPV6) + ipv6 + icmp


def _check_mac(mac: bytes, gateway_mac: bytes | None) -> None:
    if len(mac) != 6 or (gateway_mac is not None and len(gateway_mac) != 6):
        raise ValueError("a MAC is 6 bytes")


_ProbeKey = tuple[bytes, Address, Address, bytes | None]


class ProbeCache:
    """The directed probes, built once per (our MAC, address, gateway, gateway MAC).

    Bounded: past ``limit`` entries the cache starts over (a MAC change or a moving
    gateway MAC leaves stale entries behind; they are rebuilt on demand, 1 µs each).
    """

    __slots__ = ("_frames", "_limit")

    def __init__(self, limit: int = 1 << 14) -> None:
        self._frames: dict[_ProbeKey, bytes] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._frames)

    def frame(self, mac: bytes, address: Address, gateway: Address,
              gateway_mac: bytes | None) -> bytes:
        """The directed ARP request (IPv4) or NS (IPv6) for ``gateway``, from ``address``."""
        key = (mac, address, gateway, gateway_mac)
        frame = self._frames.get(key)
        if frame is None:
            if isinstance(address, ipaddress.IPv4Address) and isinstance(
                    gateway, ipaddress.IPv4Address):
                frame = directed_arp(mac, address, gateway, gateway_mac)
            elif isinstance(address, ipaddress.IPv6Address) and isinstance(
                    gateway, ipaddress.IPv6Address):
                frame = directed_ns(mac, address, gateway, gateway_mac)
            else:
                raise ValueError(f"{address} and gateway {gateway} are of different families")
            if len(self._frames) >= self._limit:
                self._frames.clear()
            self._frames[key] = frame
        return frame
