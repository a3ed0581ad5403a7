"""VRRP advertisements on the wire: parse (v2 and v3, over IPv4 and IPv6) and build.

This module owns the bytes of a VRRP advertisement and nothing else: it turns a VRRP message,
a whole IP packet or an Ethernet frame into an :class:`Advert`, decides whether an advert
shows a lower-priority router (:func:`is_lower`, SPEC "Timing semantics", lower priority),
and builds adverts for tests and the benchmark's fake router (:func:`build_advert`). It is
pure: no socket, no clock, no logging, stdlib only (no scapy), so every path runs in unit
tests and under a fuzzer.

Which entry point to use depends on what the socket hands over:

- :func:`parse_frame`: an Ethernet frame (``AF_PACKET``), untagged or with one 802.1Q tag;
- :func:`parse_ip_packet`: a whole IPv4 or IPv6 packet, header included (an ``AF_INET``
  ``SOCK_RAW`` socket for protocol 112 delivers the IPv4 header);
- :func:`parse_vrrp`: the VRRP message alone, with the addresses from elsewhere (an
  ``AF_INET6`` raw socket delivers no IPv6 header: the source comes from ``recvfrom``, the
  destination from ``IPV6_PKTINFO`` and the hop limit from ``IPV6_HOPLIMIT``).

Errors: anything a peer can send that is not a well-formed advertisement raises
:class:`VrrpError` (a *remote* error, to be counted and logged, never a crash), and nothing
else: no ``IndexError``, ``struct.error`` or ``ValueError`` from :mod:`ipaddress` for any
input bytes. A wrong VRRP checksum is *not* raised: it is reported as
``Advert.checksum_ok = False`` so that the caller decides (and can log which peer sends bad
checksums). Likewise a TTL other than 255, an unknown v2 auth type or an interval of 0 are
reported as read, not judged: RFC 3768/9568 receivers drop them, garpd's listener decides.

Checksums (RFC 1071 one's complement sum, verified over the received checksum field):

- v2: over the VRRP message alone;
- v3 over IPv6: over the RFC 8200 (2460) section 8.1 pseudo-header (source, destination,
  32-bit upper-layer length, three zero bytes, next header 112) and the message;
- v3 over IPv4: RFC 5798 wording, and keepalived's default, is an IPv4 pseudo-header
  (source, destination, zero, protocol 112, 16-bit length) and the message; RFC 9568 (and
  keepalived's ``v3_checksum_as_v2``, Cisco, FRR since 2022) uses the message alone. Both are
  accepted; ``Advert.checksum_as_v2`` says the message-only one matched (the pseudo-header
  one is tried first).

Length: the VRRP message is the IP payload as bounded by the IP length field (IPv4 total
length minus the header, IPv6 payload length); bytes after that (Ethernet padding to 60
bytes) are dropped. The message must hold the fixed header, ``count`` addresses and, for
v2, the 8 bytes of authentication data; bytes after those but *inside* the IP length are
accepted and otherwise ignored, but they are part of "the entire VRRP message" and so are
covered by the checksum (a sender that pads must checksum its padding).

``auth_hmac`` (keepalived 2.4, ``keepalived/include/vrrp_auth_hmac.h`` and
``vrrp/vrrp_auth_hmac.c`` in its repository): a signed trailer of exactly 28 bytes after the
advert, inside the IP length::

    0  ext_type (1 = HMAC-SHA256 truncated to 128 bits)   1  key_id
    2  reserved (2, zero)                                  4  seconds (4, UTC, big-endian)
    8  subseconds (2)                                     10  counter (2)
   12  HMAC (16): over a 20-byte pseudo header (4 or 6, version, VRID, 0, the sender's
       address padded to 16 bytes), the advert with its checksum read as zero, and the
       trailer up to the HMAC followed by 16 zero bytes

keepalived detects it by length alone (the IP payload is the advert's length plus 28); garpd
also requires ext_type 1 and a zero reserved field, so that 28 bytes of other padding are
not mistaken for a trailer. The VRRP checksum covers the advert *without* the trailer
(keepalived computes it over ``vrrppkt_len``, before the trailer is appended); for IPv6,
where the kernel computes the checksum over the whole payload (IPV6_CHECKSUM), the form that
also covers the trailer is accepted too. garpd has no key, so it cannot verify the HMAC: such
an advert is reported (:attr:`Advert.auth_hmac`), counted as ``auth_hmac``, and otherwise
read like any other advert. Other bytes after the advert are tolerated as before.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from garpd.errors import RemoteError
from garpd.inet import checksum, ipv4_pseudo_header, ipv6_pseudo_header
from garpd.inet import residue as _residue

__all__ = [
    "IPPROTO_VRRP",
    "VRRP_GROUP4",
    "VRRP_GROUP6",
    "Address",
    "Advert",
    "VrrpError",
    "build_advert",
    "is_lower",
    "parse_frame",
    "parse_ip_packet",
    "parse_vrrp",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Bytes = bytes | bytearray | memoryview

IPPROTO_VRRP: Final = 112
VRRP_GROUP4: Final = ipaddress.IPv4Address("224.0.0.18")
"""The VRRP IPv4 multicast group (the destination of multicast adverts)."""
VRRP_GROUP6: Final = ipaddress.IPv6Address("ff02::12")
"""The VRRP IPv6 multicast group."""

_VRRP_HEADER_LEN: Final = 8
AUTH_HMAC_TRAILER_LEN: Final = 28
AUTH_HMAC_SHA256: Final = 1
_V2_AUTH_LEN: Final = 8
_TYPE_ADVERTISEMENT: Final = 1
_ETH_HEADER_LEN: Final = 14
_VLAN_TAG_LEN: Final = 4
_ETH_P_IP: Final = 0x0800
_ETH_P_IPV6: Final = 0x86DD
_ETH_P_8021Q: Final = 0x8100
_ETH_P_8021AD: Final = 0x88A8
_IPV4_MIN_HEADER_LEN: Final = 20
_IPV6_HEADER_LEN: Final = 40
_IPV4_MF_AND_OFFSET: Final = 0x3FFF  # "more fragments" flag and the 13-bit fragment offset
# Next-header values that are IPv6 extension headers (RFC 8200 4, IANA "IPv6 Extension
# Header Types"): hop-by-hop, routing, fragment, ESP, AH, destination options, mobility,
# HIP, shim6, and the two experimental values.
_IPV6_EXTENSION_HEADERS: Final = frozenset({0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})
_V3_INTERVAL_MASK: Final = 0x0FFF


class VrrpError(RemoteError):
    """A peer sent something that is not a well-formed VRRP advertisement.

    ``reason`` is a short, log-friendly description ("truncated: ...", "not VRRP ...").
    """


@dataclass(frozen=True, slots=True)
class Advert:
    """One parsed VRRP advertisement, with the IP context it arrived in."""

    version: Literal[2, 3]
    """VRRP version."""
    vrid: int
    """Virtual router id (RFC range 1-255; 0 is reported as read)."""
    priority: int
    """Sender's priority: 0 = the master is stopping, 255 = the address owner."""
    count: int
    """The "Count IP Addrs" field (naddr); always ``len(addresses)``."""
    interval: float
    """Advertisement interval in seconds: v2 whole seconds, v3 centiseconds / 100."""
    auth_type: int | None
    """v2 authentication type (0 none, 1 simple text, 2 IP AH); None for v3."""
    addresses: tuple[Address, ...]
    """The virtual addresses: IPv4 for v2 and v3 over IPv4, IPv6 for v3 over IPv6."""
    source: Address
    """IP source of the advert (the sender's primary address; link-local for IPv6)."""
    destination: Address
    """IP destination (224.0.0.18 / ff02::12, or a unicast peer)."""
    checksum_ok: bool
    """The VRRP checksum verified (for v3 over IPv4: either accepted form)."""
    checksum_as_v2: bool
    """v3 over IPv4 only: the checksum matched only without the IPv4 pseudo-header
    (RFC 9568, keepalived ``v3_checksum_as_v2``). False otherwise and when not ok."""
    ttl: int | None
    """IPv4 TTL / IPv6 hop limit (RFC: 255), or None if :func:`parse_vrrp` was not told."""
    auth_hmac: bytes | None = None
    """keepalived 2.4's 28-byte ``auth_hmac`` trailer when present (not verified: no key)."""

    @property
    def result(self) -> Literal["ok", "bad_checksum", "auth_hmac"]:
        """How the advert counts (``vrrp_adverts_total{result}``): a bad checksum first."""
        if not self.checksum_ok:
            return "bad_checksum"
        return "ok" if self.auth_hmac is None else "auth_hmac"

    @property
    def family(self) -> Literal[4, 6]:
        """IP version the advert was carried in."""
        return 4 if isinstance(self.source, ipaddress.IPv4Address) else 6


# --- checksums -------------------------------------------------------------------------------


def _pseudo_header(source: Address, destination: Address, length: int) -> bytes:
    """The pseudo-header a VRRPv3 checksum covers before the message.

    IPv4 (RFC 5798 as keepalived reads it): source(4) destination(4) zero(1) protocol 112(1)
    length(2). IPv6 (RFC 8200 8.1): source(16) destination(16) length(4) zero(3)
    next header 112(1).
    """
    if isinstance(source, ipaddress.IPv4Address):
        return ipv4_pseudo_header(source.packed, destination.packed, IPPROTO_VRRP, length)
    return ipv6_pseudo_header(source.packed, destination.packed, IPPROTO_VRRP, length)


# --- parsing ---------------------------------------------------------------------------------


# VRRP message (offsets into the IP payload):
#
#   v2 (RFC 3768 5.1)                         v3 (RFC 5798 / RFC 9568 5.1)
#   0  version 2 (high nibble) | type 1       0  version 3 (high nibble) | type 1
#   1  VRID                                   1  VRID
#   2  priority                               2  priority
#   3  count IP addrs (n)                     3  count IPvX addrs (n)
#   4  auth type                              4  reserved (4 bits) | max advert interval
#   5  advert interval (seconds)              5     (12 bits, centiseconds)
#   6  checksum (2)                           6  checksum (2)
#   8  n IPv4 addresses (4 each)              8  n IPv4 (4 each) or IPv6 (16 each) addresses
#   8+4n  authentication data (8)             8+4n / 8+16n  end
#   16+4n end
#
# Anything after the end (inside the IP length) is accepted and covered by the checksum.
def parse_vrrp(
    payload: _Bytes,
    *,
    source: Address,
    destination: Address,
    ttl: int | None = None,
) -> Advert:
    """Parse a VRRP message (the IP payload, cut to the IP length; no IP header).

    ``source`` and ``destination`` are the IP addresses it came with: they pick the family
    (IPv4 or IPv6 addresses in the list) and enter the v3 pseudo-header checksum. ``ttl`` is
    recorded as :attr:`Advert.ttl`. Raises :class:`VrrpError` for a malformed message, and
    ``ValueError`` (not a VrrpError: a caller bug) if the two addresses differ in family.
    """
    if source.version != destination.version:
        raise ValueError(f"source {source} and destination {destination} differ in family")
    data = bytes(payload)
    if len(data) < _VRRP_HEADER_LEN:
        raise VrrpError(f"truncated: {len(data)} bytes, a VRRP header is {_VRRP_HEADER_LEN}")
    version, kind = data[0] >> 4, data[0] & 0x0F
    if version not in (2, 3):
        raise VrrpError(f"unsupported VRRP version {version}")
    if kind != _TYPE_ADVERTISEMENT:
        raise VrrpError(f"not an advertisement (VRRP type {kind})")
    ipv6 = isinstance(source, ipaddress.IPv6Address)
    if ipv6 and version == 2:
        raise VrrpError("VRRPv2 over IPv6")
    count = data[3]
    address_len = 16 if ipv6 else 4
    needed = _VRRP_HEADER_LEN + count * address_len + (_V2_AUTH_LEN if version == 2 else 0)
    if len(data) < needed:
        raise VrrpError(
            f"truncated: count {count} needs {needed} bytes, the message has {len(data)}"
        )
    trailer: bytes | None = None
    if (len(data) == needed + AUTH_HMAC_TRAILER_LEN and data[needed] == AUTH_HMAC_SHA256
            and data[needed + 2:needed + 4] == b"\0\0"):
        trailer = data[needed:]
    whole = data
    if trailer is not None:
        data = data[:needed]  # the checksum covers the advert without the trailer
    end = _VRRP_HEADER_LEN + count * address_len
    chunks = (data[i : i + address_len] for i in range(_VRRP_HEADER_LEN, end, address_len))
    addresses: tuple[Address, ...] = tuple(
        ipaddress.IPv6Address(c) if ipv6 else ipaddress.IPv4Address(c) for c in chunks
    )

    checksum_as_v2 = False
    vrrp_version: Literal[2, 3] = 2 if version == 2 else 3
    if vrrp_version == 2:
        checksum_ok = _residue(data) == 0
        auth_type: int | None = data[4]
        interval = float(data[5])
    else:
        auth_type = None
        interval = (int.from_bytes(data[4:6]) & _V3_INTERVAL_MASK) / 100
        pseudo = _pseudo_header(source, destination, len(data))
        checksum_ok = _residue(pseudo + data) == 0
        if not checksum_ok and not ipv6 and _residue(data) == 0:
            checksum_ok = checksum_as_v2 = True
        if not checksum_ok and ipv6 and trailer is not None:
            # the kernel's IPV6_CHECKSUM covers the whole payload, trailer included
            checksum_ok = _residue(_pseudo_header(source, destination, len(whole)) + whole) == 0
    return Advert(
        version=vrrp_version,
        vrid=data[1],
        priority=data[2],
        count=count,
        interval=interval,
        auth_type=auth_type,
        addresses=addresses,
        source=source,
        destination=destination,
        checksum_ok=checksum_ok,
        checksum_as_v2=checksum_as_v2,
        ttl=ttl,
        auth_hmac=trailer,
    )


# IPv4 packet (RFC 791; offsets into the packet):
#   0  version 4 (high nibble) | IHL (header length in 32-bit words, >= 5)
#   1  TOS (keepalived: 0xc0)          2  total length (2, header included)
#   4  identification (2)              6  flags (3 bits) | fragment offset (13 bits): must be
#                                         an unfragmented packet (MF clear, offset 0)
#   8  TTL (255)                       9  protocol (112)    10 header checksum (2): verified
#   12 source (4)                      16 destination (4)
#   20 options (IHL*4 - 20 bytes), skipped
#   IHL*4 .. total length: the VRRP message; bytes after total length are padding, dropped
def _parse_ipv4(packet: bytes) -> Advert:
    if len(packet) < _IPV4_MIN_HEADER_LEN:
        raise VrrpError(f"truncated: {len(packet)} bytes, an IPv4 header is 20")
    if packet[0] >> 4 != 4:
        raise VrrpError(f"not IPv4 (IP version {packet[0] >> 4})")
    header_len = (packet[0] & 0x0F) * 4
    if header_len < _IPV4_MIN_HEADER_LEN:
        raise VrrpError(f"bad IPv4 header length {header_len}")
    total_len = int.from_bytes(packet[2:4])
    if total_len < header_len:
        raise VrrpError(f"bad IPv4 total length {total_len} (header {header_len})")
    if len(packet) < total_len:
        raise VrrpError(f"truncated: IPv4 total length {total_len}, have {len(packet)} bytes")
    if _residue(packet[:header_len]) != 0:
        raise VrrpError("bad IPv4 header checksum")  # Linux drops these before any socket
    if int.from_bytes(packet[6:8]) & _IPV4_MF_AND_OFFSET:
        raise VrrpError("IPv4 fragment")
    if packet[9] != IPPROTO_VRRP:
        raise VrrpError(f"not VRRP (IP protocol {packet[9]})")
    return parse_vrrp(
        packet[header_len:total_len],
        source=ipaddress.IPv4Address(packet[12:16]),
        destination=ipaddress.IPv4Address(packet[16:20]),
        ttl=packet[8],
    )


# IPv6 packet (RFC 8200; offsets into the packet):
#   0  version 6 (4 bits) | traffic class (8 bits; keepalived: 0xc0) | flow label (20 bits)
#   4  payload length (2)   6  next header (112; an extension header is rejected)
#   7  hop limit (255)      8  source (16)    24 destination (16)
#   40 .. 40 + payload length: the VRRP message; bytes after it are padding, dropped
def _parse_ipv6(packet: bytes) -> Advert:
    if len(packet) < _IPV6_HEADER_LEN:
        raise VrrpError(f"truncated: {len(packet)} bytes, an IPv6 header is 40")
    if packet[0] >> 4 != 6:
        raise VrrpError(f"not IPv6 (IP version {packet[0] >> 4})")
    payload_len = int.from_bytes(packet[4:6])
    end = _IPV6_HEADER_LEN + payload_len
    if len(packet) < end:
        raise VrrpError(f"truncated: IPv6 payload length {payload_len}, have {len(packet)} bytes")
    next_header = packet[6]
    if next_header in _IPV6_EXTENSION_HEADERS:
        raise VrrpError(f"IPv6 extension header {next_header} not supported")
    if next_header != IPPROTO_VRRP:
        raise VrrpError(f"not VRRP (IPv6 next header {next_header})")
    return parse_vrrp(
        packet[_IPV6_HEADER_LEN:end],
        source=ipaddress.IPv6Address(packet[8:24]),
        destination=ipaddress.IPv6Address(packet[24:40]),
        ttl=packet[7],
    )


# IP packet: the version nibble of byte 0 picks the layout above (4: IPv4, 6: IPv6).
def parse_ip_packet(packet: _Bytes) -> Advert:
    """Parse a whole IPv4 or IPv6 packet carrying a VRRP advert (header included).

    The IP length field bounds the message (trailing bytes are dropped); IPv4 options are
    skipped; IPv4 fragments, IPv6 extension headers and other protocols raise
    :class:`VrrpError`, as does a bad IPv4 header checksum.
    """
    data = bytes(packet)
    if not data:
        raise VrrpError("truncated: empty IP packet")
    version = data[0] >> 4
    if version == 4:
        return _parse_ipv4(data)
    if version == 6:
        return _parse_ipv6(data)
    raise VrrpError(f"not IP (IP version {version})")


# Ethernet II frame (offsets into the frame; no FCS):
#   0  destination MAC (6)   6  source MAC (6)   12 ethertype (2): 0x0800 IPv4, 0x86dd IPv6,
#   or 0x8100 (one 802.1Q tag): 14 TCI (PCP 3 bits | DEI 1 | VLAN id 12)  16 ethertype (2)
#   then the IP packet (its version must match the ethertype); a second tag is rejected.
def parse_frame(frame: _Bytes) -> Advert:
    """Parse an Ethernet frame (untagged or with one 802.1Q tag) carrying a VRRP advert.

    The VLAN id is not kept. Note that Linux ``AF_PACKET`` sockets usually get frames with
    the tag already stripped (it is in ``PACKET_AUXDATA``), so tags show up mostly in
    captures made elsewhere.
    """
    data = bytes(frame)
    if len(data) < _ETH_HEADER_LEN:
        raise VrrpError(f"truncated: {len(data)} bytes, an Ethernet header is 14")
    offset = _ETH_HEADER_LEN
    ethertype = int.from_bytes(data[12:14])
    if ethertype == _ETH_P_8021Q:
        if len(data) < _ETH_HEADER_LEN + _VLAN_TAG_LEN:
            raise VrrpError(f"truncated: {len(data)} bytes, a tagged Ethernet header is 18")
        offset += _VLAN_TAG_LEN
        ethertype = int.from_bytes(data[16:18])
        if ethertype in (_ETH_P_8021Q, _ETH_P_8021AD):
            raise VrrpError("more than one VLAN tag")
    if ethertype == _ETH_P_IP:
        return _parse_ipv4(data[offset:])
    if ethertype == _ETH_P_IPV6:
        return _parse_ipv6(data[offset:])
    raise VrrpError(f"not IP (ethertype 0x{ethertype:04x})")


# --- decisions -------------------------------------------------------------------------------


def is_lower(
    advert_priority: int,
    advert_source: Address,
    local_priority: int,
    local_address: Address,
) -> bool:
    """Whether an advert comes from a router that should yield to this host (SPEC, lower
    priority): its priority is lower than ``local_priority``, or equal with a lower source
    address (compared as unsigned integers, as RFC 5798 6.4.3 compares primary addresses);
    never for priority 0 (the sender is stopping, not contending).

    ``local_address`` is this host's *primary address on the interface*, i.e. the IP source
    of its own adverts for the VRID: the primary IPv4 address of the interface for IPv4 (or
    keepalived's ``unicast_src_ip``/``mcast_src_ip``), its link-local address for IPv6.
    Learn it from the host's own outgoing adverts where possible. Callers match VRID *and*
    family first (VRIDs are per family); addresses of different families do not compare, so
    an equal priority is then not lower. Priorities must be 0-255
    (``ValueError`` otherwise: a local bug, not a peer's).
    """
    for name, value in (("advert_priority", advert_priority), ("local_priority", local_priority)):
        if not 0 <= value <= 255:
            raise ValueError(f"{name} {value} is not in 0-255")
    if advert_priority == 0:
        return False
    if advert_priority != local_priority:
        return advert_priority < local_priority
    return advert_source.version == local_address.version and int(advert_source) < int(
        local_address
    )


# --- building --------------------------------------------------------------------------------


def build_advert(
    vrid: int,
    priority: int,
    addresses: Iterable[Address],
    *,
    version: Literal[2, 3] = 3,
    interval: float = 1.0,
    source: Address | None = None,
    destination: Address | None = None,
    auth_type: int = 0,
    checksum_as_v2: bool = False,
) -> bytes:
    """Build a VRRP advertisement message (no IP header) with a correct checksum.

    The family is that of ``addresses`` (or of ``source`` if there are none; IPv4 if
    neither). v2: IPv4 only, ``interval`` in whole seconds (0-255), ``auth_type`` with 8 zero
    bytes of authentication data. v3: ``interval`` rounded to centiseconds (0-40.95 s); the
    checksum covers the pseudo-header, which needs ``source`` (``destination`` defaults to
    the VRRP multicast group), unless ``checksum_as_v2`` asks for the message-only sum
    (IPv4 only). Raises ``ValueError`` for inputs that do not fit the format.
    """
    vips = tuple(addresses)
    family = vips[0].version if vips else (4 if source is None else source.version)
    if any(a.version != family for a in vips) or (source is not None and source.version != family):
        raise ValueError("addresses and source must all be one IP family")
    for name, value in (("vrid", vrid), ("priority", priority), ("count", len(vips))):
        if not 0 <= value <= 255:
            raise ValueError(f"{name} {value} is not in 0-255")
    if version == 2:
        if family != 4:
            raise ValueError("VRRPv2 carries IPv4 addresses only")
        if not float(interval).is_integer() or not 0 <= interval <= 255:
            raise ValueError(f"v2 interval {interval} is not whole seconds 0-255")
        if not 0 <= auth_type <= 255:
            raise ValueError(f"auth type {auth_type} is not in 0-255")
        second_word = bytes((auth_type, int(interval)))
    else:
        centiseconds = round(interval * 100) if math.isfinite(interval) else -1
        if not 0 <= centiseconds <= _V3_INTERVAL_MASK:
            raise ValueError(f"v3 interval {interval} s is not in 0-40.95 s")
        second_word = centiseconds.to_bytes(2)
    body = b"".join(a.packed for a in vips) + (bytes(_V2_AUTH_LEN) if version == 2 else b"")
    head = bytes((version << 4 | _TYPE_ADVERTISEMENT, vrid, priority, len(vips))) + second_word
    covered = head + bytes(2) + body
    if version == 3 and not checksum_as_v2:
        if source is None:
            raise ValueError("a v3 checksum covers the pseudo-header: give source")
        if destination is None:
            destination = VRRP_GROUP4 if family == 4 else VRRP_GROUP6
        if destination.version != family:
            raise ValueError("destination must be the family of the addresses")
        covered = _pseudo_header(source, destination, len(covered)) + covered
    elif version == 3 and family == 6:
        raise ValueError("v3 over IPv6 always uses the pseudo-header checksum")
    return head + checksum(covered).to_bytes(2) + body
