"""Golden frames from a real keepalived capture, for byte-level and parser tests.

The vectors live in the repository, in ``tests/data/vectors`` (so a clone alone has
everything its tests read). If the capture is missing, :func:`capture_path` raises
:class:`VectorsMissingError`, whose message says where it looked; tests turn that into a
failure, never a skip.

``keepalived-2.2.7-failover.pcap`` (see ``tests/data/vectors/README.md``) was captured on a third
host sharing a bridge with two keepalived 2.2.7 nodes, ``a`` and ``b``. This module reads it
with a small pure-``struct`` pcap reader (no scapy, so the VRRP parser tests do not need it)
and picks out three kinds of frame, each kept as the raw Ethernet frame with its capture
timestamp:

- :func:`garps`: gratuitous ARP, i.e. IPv4-over-Ethernet ARP whose sender and target
  protocol addresses are equal (keepalived sends requests; the router's ordinary
  request/reply exchange is excluded because its addresses differ);
- :func:`unsolicited_nas`: ICMPv6 Neighbor Advertisements (type 136) with Solicited clear
  and Override set (the router's solicited NAs are excluded);
- :func:`vrrp_adverts`: IP protocol 112 over IPv4 (VRRPv2 and v3) and IPv6 (VRRPv3), with
  the VRRP message cut out of the IP packet for a parser to read.

Only untagged Ethernet II frames (pcap link type 1) are recognised; IPv6 extension headers
are not followed (keepalived sends none).

Example::

    from tests.vectors import garps, vrrp_adverts

    for garp in garps():
        print(garp.frame.time, garp.sender_mac.hex(), garp.address)
    v3_over_v6 = [a for a in vrrp_adverts() if a.ip_version == 6]
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "KEEPALIVED_FAILOVER",
    "NODE_A_MAC",
    "NODE_B_MAC",
    "ROUTER_MAC",
    "VECTORS_DIR",
    "VIP4_V2",
    "VIP4_V3",
    "VIP6",
    "CapturedFrame",
    "Garp",
    "UnsolicitedNA",
    "VectorsMissingError",
    "VrrpAdvert",
    "capture_path",
    "frames",
    "garps",
    "parse_garp",
    "parse_unsolicited_na",
    "parse_vrrp_advert",
    "read_pcap",
    "unsolicited_nas",
    "vectors_dir",
    "vrrp_adverts",
]

KEEPALIVED_FAILOVER: Final = "keepalived-2.2.7-failover.pcap"
"""File name of the keepalived 2.2.7 failover capture."""

# The hosts and VIPs of the capture (data/vectors/README.md and keepalived-*.conf).
ROUTER_MAC: Final = bytes.fromhex("020000000001")
NODE_A_MAC: Final = bytes.fromhex("020000000002")
NODE_B_MAC: Final = bytes.fromhex("020000000003")
VIP4_V2: Final = ipaddress.IPv4Address("192.0.2.100")  # VRID 51, VRRPv2 over IPv4
VIP4_V3: Final = ipaddress.IPv4Address("192.0.2.102")  # VRID 52, VRRPv3 over IPv4
VIP6: Final = ipaddress.IPv6Address("2001:db8::100")  # VRID 53, VRRPv3 over IPv6

VECTORS_DIR: Final = Path(__file__).resolve().parent / "data" / "vectors"
"""The golden vectors, kept in the repository (a copy of the project's shared vectors)."""

# pcap: magic -> (byte order, timestamp fraction units per second).
_PCAP_MAGIC: Final[dict[bytes, tuple[str, int]]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
_PCAPNG_MAGIC: Final = b"\x0a\x0d\x0d\x0a"
_LINKTYPE_ETHERNET: Final = 1
_GLOBAL_HEADER_LEN: Final = 24
_RECORD_HEADER_LEN: Final = 16

_ETH_LEN: Final = 14
_ETH_P_IP: Final = 0x0800
_ETH_P_ARP: Final = 0x0806
_ETH_P_IPV6: Final = 0x86DD
_ARP_LEN: Final = 28
_IPV4_MIN_LEN: Final = 20
_IPV6_LEN: Final = 40
_IPPROTO_ICMPV6: Final = 58
_IPPROTO_VRRP: Final = 112
_ND_NEIGHBOR_ADVERT: Final = 136
_NA_LEN: Final = 24  # type, code, checksum, flags + reserved, target
_NA_ROUTER: Final = 0x80
_NA_SOLICITED: Final = 0x40
_NA_OVERRIDE: Final = 0x20
_ND_OPT_TARGET_LLADDR: Final = 2


class VectorsMissingError(FileNotFoundError):
    """The golden vectors (or one file in them) could not be found."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One Ethernet frame of a capture, exactly as recorded.

    ``data`` is the captured bytes (which may include Ethernet padding to 60 bytes, and is
    shorter than ``wire_len`` only if the capture truncated it).
    """

    index: int
    """0-based position in the capture file."""
    time_ns: int
    """Capture timestamp in integer nanoseconds since the Unix epoch (exact)."""
    data: bytes
    """The captured frame, from the Ethernet destination address on."""
    wire_len: int
    """The frame's length on the wire (pcap ``orig_len``)."""

    @property
    def time(self) -> float:
        """Capture timestamp in seconds since the Unix epoch."""
        return self.time_ns / 1e9

    @property
    def dst_mac(self) -> bytes:
        """Ethernet destination address (6 bytes)."""
        return self.data[0:6]

    @property
    def src_mac(self) -> bytes:
        """Ethernet source address (6 bytes)."""
        return self.data[6:12]

    @property
    def ethertype(self) -> int:
        """Ethernet type field."""
        return int.from_bytes(self.data[12:14], "big")


@dataclass(frozen=True, slots=True)
class Garp:
    """A gratuitous ARP frame (sender and target protocol addresses equal)."""

    frame: CapturedFrame
    op: int
    """ARP opcode: 1 request, 2 reply."""
    sender_mac: bytes
    target_mac: bytes
    address: ipaddress.IPv4Address
    """The announced address (sender = target protocol address)."""


@dataclass(frozen=True, slots=True)
class UnsolicitedNA:
    """An unsolicited Neighbor Advertisement (Solicited clear, Override set)."""

    frame: CapturedFrame
    src: ipaddress.IPv6Address
    """IPv6 source address (keepalived uses the VIP itself)."""
    dst: ipaddress.IPv6Address
    hop_limit: int
    router: bool
    """The Router (R) flag."""
    target: ipaddress.IPv6Address
    """The announced address (NA target)."""
    target_mac: bytes | None
    """MAC from the target link-layer address option (type 2), or None without one."""


@dataclass(frozen=True, slots=True)
class VrrpAdvert:
    """A VRRP advertisement (IP protocol 112) over IPv4 or IPv6, with its IP context."""

    frame: CapturedFrame
    ip_version: Literal[4, 6]
    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    hop_limit: int
    """IPv4 TTL or IPv6 hop limit."""
    traffic_class: int
    """IPv4 TOS byte or IPv6 traffic class (keepalived uses 0xc0)."""
    payload: bytes
    """The VRRP message: the IP payload, cut to the IP length (no Ethernet padding)."""

    @property
    def vrrp_version(self) -> int:
        """The VRRP version nibble of the message (2 or 3)."""
        return self.payload[0] >> 4 if self.payload else 0


def vectors_dir() -> Path:
    """The directory holding the golden vectors: ``tests/data/vectors`` in the repository.

    Raises :class:`VectorsMissingError` if the keepalived capture is not there (a broken
    checkout).
    """
    if not (VECTORS_DIR / KEEPALIVED_FAILOVER).is_file():
        raise VectorsMissingError(
            f"golden vectors not found: no {KEEPALIVED_FAILOVER} in {VECTORS_DIR} "
            "(the repository ships them; is the checkout complete?)")
    return VECTORS_DIR


def capture_path(name: str = KEEPALIVED_FAILOVER) -> Path:
    """The path of capture ``name`` in :func:`vectors_dir`; raises if it is missing."""
    path = vectors_dir() / name
    if not path.is_file():
        raise VectorsMissingError(f"golden vector {name} not found in {path.parent}")
    return path


def read_pcap(path: Path) -> tuple[CapturedFrame, ...]:
    """Read every record of a classic pcap file with Ethernet link type.

    Either byte order and micro- or nanosecond timestamps are accepted; pcapng, other link
    types and truncated files raise ``ValueError``.
    """
    data = path.read_bytes()
    if data[:4] == _PCAPNG_MAGIC:
        raise ValueError(f"{path}: pcapng is not supported; convert with `editcap -F pcap`")
    if len(data) < _GLOBAL_HEADER_LEN or data[:4] not in _PCAP_MAGIC:
        raise ValueError(f"{path}: not a pcap file")
    order, per_second = _PCAP_MAGIC[data[:4]]
    linktype = struct.unpack_from(f"{order}I", data, 20)[0] & 0x0FFFFFFF
    if linktype != _LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {linktype}, expected {_LINKTYPE_ETHERNET} (Ethernet)")
    record = struct.Struct(f"{order}IIII")
    out: list[CapturedFrame] = []
    offset = _GLOBAL_HEADER_LEN
    while offset < len(data):
        if offset + _RECORD_HEADER_LEN > len(data):
            raise ValueError(f"{path}: truncated record header at byte {offset}")
        seconds, fraction, caplen, wire_len = record.unpack_from(data, offset)
        offset += _RECORD_HEADER_LEN
        if offset + caplen > len(data):
            raise ValueError(f"{path}: truncated frame {len(out)} at byte {offset}")
        time_ns = seconds * 1_000_000_000 + fraction * (1_000_000_000 // per_second)
        out.append(CapturedFrame(len(out), time_ns, data[offset : offset + caplen], wire_len))
        offset += caplen
    return tuple(out)


def parse_garp(frame: CapturedFrame) -> Garp | None:
    """The frame as a gratuitous ARP, or None if it is not one."""
    data = frame.data
    if frame.ethertype != _ETH_P_ARP or len(data) < _ETH_LEN + _ARP_LEN:
        return None
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", data, _ETH_LEN)
    if (htype, ptype, hlen, plen) != (1, _ETH_P_IP, 6, 4):
        return None
    sha, spa, tha, tpa = data[22:28], data[28:32], data[32:38], data[38:42]
    if spa != tpa:
        return None
    return Garp(frame, op, sha, tha, ipaddress.IPv4Address(spa))


def parse_unsolicited_na(frame: CapturedFrame) -> UnsolicitedNA | None:
    """The frame as an unsolicited Neighbor Advertisement, or None if it is not one."""
    data = frame.data
    if frame.ethertype != _ETH_P_IPV6 or len(data) < _ETH_LEN + _IPV6_LEN + _NA_LEN:
        return None
    ip = _ETH_LEN
    if data[ip] >> 4 != 6 or data[ip + 6] != _IPPROTO_ICMPV6:
        return None
    payload_len = int.from_bytes(data[ip + 4 : ip + 6], "big")
    icmp = data[ip + _IPV6_LEN : ip + _IPV6_LEN + payload_len]
    if len(icmp) < _NA_LEN or icmp[0] != _ND_NEIGHBOR_ADVERT:
        return None
    flags = icmp[4]
    if flags & _NA_SOLICITED or not flags & _NA_OVERRIDE:
        return None
    return UnsolicitedNA(
        frame=frame,
        src=ipaddress.IPv6Address(data[ip + 8 : ip + 24]),
        dst=ipaddress.IPv6Address(data[ip + 24 : ip + 40]),
        hop_limit=data[ip + 7],
        router=bool(flags & _NA_ROUTER),
        target=ipaddress.IPv6Address(icmp[8:24]),
        target_mac=_target_lladdr(icmp[_NA_LEN:]),
    )


def _target_lladdr(options: bytes) -> bytes | None:
    """The MAC of the first target link-layer address option in ND ``options``."""
    offset = 0
    while offset + 2 <= len(options):
        kind, units = options[offset], options[offset + 1]
        if units == 0:
            return None  # malformed (RFC 4861 says drop); avoid looping forever
        if kind == _ND_OPT_TARGET_LLADDR and offset + 8 <= len(options):
            return options[offset + 2 : offset + 8]
        offset += units * 8
    return None


def parse_vrrp_advert(frame: CapturedFrame) -> VrrpAdvert | None:
    """The frame as a VRRP advertisement over IPv4 or IPv6, or None if it is not one."""
    data = frame.data
    ip = _ETH_LEN
    if frame.ethertype == _ETH_P_IP and len(data) >= ip + _IPV4_MIN_LEN:
        header_len = (data[ip] & 0x0F) * 4
        total_len = int.from_bytes(data[ip + 2 : ip + 4], "big")
        if data[ip] >> 4 != 4 or header_len < _IPV4_MIN_LEN or data[ip + 9] != _IPPROTO_VRRP:
            return None
        return VrrpAdvert(
            frame=frame,
            ip_version=4,
            src=ipaddress.IPv4Address(data[ip + 12 : ip + 16]),
            dst=ipaddress.IPv4Address(data[ip + 16 : ip + 20]),
            hop_limit=data[ip + 8],
            traffic_class=data[ip + 1],
            payload=data[ip + header_len : ip + total_len],
        )
    if frame.ethertype == _ETH_P_IPV6 and len(data) >= ip + _IPV6_LEN:
        if data[ip] >> 4 != 6 or data[ip + 6] != _IPPROTO_VRRP:
            return None
        payload_len = int.from_bytes(data[ip + 4 : ip + 6], "big")
        start = ip + _IPV6_LEN
        return VrrpAdvert(
            frame=frame,
            ip_version=6,
            src=ipaddress.IPv6Address(data[ip + 8 : ip + 24]),
            dst=ipaddress.IPv6Address(data[ip + 24 : ip + 40]),
            hop_limit=data[ip + 7],
            traffic_class=(int.from_bytes(data[ip : ip + 2], "big") >> 4) & 0xFF,
            payload=data[start : start + payload_len],
        )
    return None


@functools.cache
def frames(name: str = KEEPALIVED_FAILOVER) -> tuple[CapturedFrame, ...]:
    """Every frame of capture ``name`` (read once, then cached)."""
    return read_pcap(capture_path(name))


def garps(name: str = KEEPALIVED_FAILOVER) -> tuple[Garp, ...]:
    """Every gratuitous ARP in capture ``name``, in capture order."""
    return tuple(g for f in frames(name) if (g := parse_garp(f)) is not None)


def unsolicited_nas(name: str = KEEPALIVED_FAILOVER) -> tuple[UnsolicitedNA, ...]:
    """Every unsolicited Neighbor Advertisement in capture ``name``, in capture order."""
    return tuple(n for f in frames(name) if (n := parse_unsolicited_na(f)) is not None)


def vrrp_adverts(name: str = KEEPALIVED_FAILOVER) -> tuple[VrrpAdvert, ...]:
    """Every VRRP advertisement (IPv4 and IPv6) in capture ``name``, in capture order."""
    return tuple(a for f in frames(name) if (a := parse_vrrp_advert(f)) is not None)
