"""The bytes on the wire: gratuitous ARP (request, reply) and unsolicited NA frames.

Pure: no socket, no clock. One *template* per (MAC, kind, Router flag) is packed with
``struct`` from the layouts below; frames for a given address are made from it by writing
the address into its fixed offsets (and, for NA, the ICMPv6 checksum), and cached as bytes
per (MAC, address, mode, Router). The test suite builds every kind of frame with scapy and
proves garpd's byte-identical, for random MACs and addresses, and identical to keepalived
2.2.7's own frames from a real capture.

Why not scapy at run time: importing scapy's layers makes scapy read every address and
route of the host through its own netlink parser — 7 s with 2,000 addresses, 35 s with
10,000, and tens of MB of memory — before the first frame could leave. These frames are
42 and 86 bytes with fixed layouts; scapy is the reference they are checked against.

Layouts (offsets into the Ethernet frame):

GARP (42 bytes; the kernel pads to 60)::

    0  dst MAC ff:ff:ff:ff:ff:ff   6  src MAC = interface MAC   12 ethertype 0x0806
    14 htype 1  16 ptype 0x0800  18 hlen 6  19 plen 4  20 op (1 request, 2 reply)
    22 sender MAC  28 sender IP = VIP  32 target MAC (request: ff.., reply: sender MAC)
    38 target IP = VIP

Unsolicited NA (86 bytes)::

    0  dst MAC 33:33:00:00:00:01   6  src MAC   12 ethertype 0x86dd
    14 IPv6: version 6, tc 0, flow 0, payload 32, next header 58, hop limit 255
    22 src = VIP   38 dst = ff02::1
    54 ICMPv6 type 136, code 0, 56 checksum, 58 flags R|S|O (O set, S clear, R = forwarding)
    62 target = VIP   78 option type 2 (target link-layer address), len 1, 80 MAC
"""

from __future__ import annotations

import ipaddress
import re
import struct
from typing import Literal

from garpd.inet import checksum, ipv6_pseudo_header

Mode = Literal["request", "reply", "both"]
MODES = ("request", "reply", "both")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

BROADCAST = b"\xff" * 6
ALL_NODES = ipaddress.IPv6Address("ff02::1")
ALL_NODES_MAC = bytes.fromhex("333300000001")
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD

GARP_LEN = 42
NA_LEN = 86
_SPA, _TPA = 28, 38
_NA_SRC, _NA_CSUM, _NA_TARGET = 22, 56, 62

_FrameKey = tuple[bytes, Address, str, bool]


_MAC_PART = re.compile(r"[0-9a-fA-F]{1,2}")


def mac_bytes(mac: str) -> bytes:
    """Parse ``aa:bb:cc:dd:ee:ff`` (any case, ``-`` or ``:``) into 6 bytes."""
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6 or not all(_MAC_PART.fullmatch(p) for p in parts):
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes(int(p, 16) for p in parts)


def mac_text(mac: bytes) -> str:
    """Format 6 bytes as lower-case ``aa:bb:cc:dd:ee:ff``."""
    return ":".join(f"{b:02x}" for b in mac)


def _garp_template(mac: bytes, op: int) -> bytes:
    """A GARP for 0.0.0.0 (op 1 request, 2 reply); the address is patched in later."""
    target = mac if op == 2 else BROADCAST
    return struct.pack("!6s6sHHHBBH6s4s6s4s", BROADCAST, mac, ETH_P_ARP,
                       1, 0x0800, 6, 4, op, mac, bytes(4), target, bytes(4))


def _na_template(mac: bytes, router: bool) -> bytes:
    """An unsolicited NA for ::; the address and the checksum are patched in later."""
    flags = (0x80000000 if router else 0) | 0x20000000  # R as asked, S clear, O set
    icmp = struct.pack("!BBHI16sBB6s", 136, 0, 0, flags, bytes(16), 2, 1, mac)
    ipv6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 255, bytes(16), ALL_NODES.packed)
    return struct.pack("!6s6sH", ALL_NODES_MAC, mac, ETH_P_IPV6) + ipv6 + icmp


def _na_checksum(src: bytes, icmp: bytes) -> int:
    """ICMPv6 checksum over the pseudo-header (src, ff02::1, length, 58) and the message."""
    return checksum(ipv6_pseudo_header(src, ALL_NODES.packed, 58, len(icmp)) + icmp)


class FrameCache:
    """Builds and caches the frames of one announcement slot for (MAC, address, mode, R).

    A *slot* is what one repeat sends for one address: one GARP request, one GARP reply,
    both (request then reply), or one NA (IPv6 ignores the ARP mode).
    """

    __slots__ = ("_frames", "_limit", "_templates")

    def __init__(self, limit: int = 1 << 17) -> None:
        """Memoize up to ``limit`` slots (cleared when full); 0: build every slot anew (the
        daemon's core keeps each address's frames itself), only templates memoized."""
        self._templates: dict[tuple[bytes, str, bool], bytes] = {}
        self._frames: dict[_FrameKey, tuple[bytes, ...]] = {}
        self._limit = limit

    def slot(self, mac: bytes, address: Address, mode: Mode, router: bool) -> tuple[bytes, ...]:
        """The frames one repeat sends for ``address`` from ``mac``, built once."""
        if len(mac) != 6:
            raise ValueError(f"a MAC is 6 bytes, got {len(mac)}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if self._limit <= 0:
            return self._build(mac, address, mode, router)
        key = (mac, address, mode if address.version == 4 else "na", router)
        frames = self._frames.get(key)
        if frames is None:
            if len(self._frames) >= self._limit:
                self._frames.clear()
            frames = self._build(mac, address, mode, router)
            self._frames[key] = frames
        return frames

    def first(self, mac: bytes, address: Address, mode: Mode, router: bool) -> bytes:
        """The first frame of :meth:`slot` (the request in "both" mode): the daemon's
        express first frame of an IPv6 address (IPv4's comes from
        :meth:`first_v4_parts`)."""
        return self.slot(mac, address, mode, router)[0]

    def first_v4_parts(self, mac: bytes) -> dict[str, tuple[bytes, bytes]] | None:
        """Per ARP mode, the first frame from ``mac`` of any IPv4 address as ``(head,
        middle)``: the frame of the address ``packed`` is ``head + packed + middle +
        packed`` (sender and target address; the request in "both" mode). None for a MAC
        not 6 bytes. The daemon's core keeps these per link (its express first frame)."""
        if len(mac) != 6:
            return None
        parts = {}
        for mode in MODES:
            template = self._template(mac, "request" if mode == "both" else mode, False)
            parts[mode] = (template[:_SPA], template[_SPA + 4:_TPA])
        return parts

    def _template(self, mac: bytes, kind: str, router: bool) -> bytes:
        key = (mac, kind, router)
        template = self._templates.get(key)
        if template is None:
            if kind == "na":
                template = _na_template(mac, router)
            else:
                template = _garp_template(mac, 1 if kind == "request" else 2)
            self._templates[key] = template
        return template

    def _build(self, mac: bytes, address: Address, mode: Mode, router: bool) -> tuple[bytes, ...]:
        packed = address.packed
        if address.version == 6:
            frame = bytearray(self._template(mac, "na", router))
            frame[_NA_SRC:_NA_SRC + 16] = packed
            frame[_NA_TARGET:_NA_TARGET + 16] = packed
            frame[_NA_CSUM:_NA_CSUM + 2] = b"\0\0"
            csum = _na_checksum(packed, bytes(frame[54:]))
            frame[_NA_CSUM:_NA_CSUM + 2] = csum.to_bytes(2, "big")
            return (bytes(frame),)
        kinds = ("request", "reply") if mode == "both" else (mode,)
        out = []
        for kind in kinds:
            frame = bytearray(self._template(mac, kind, False))
            frame[_SPA:_SPA + 4] = packed
            frame[_TPA:_TPA + 4] = packed
            out.append(bytes(frame))
        return tuple(out)


def describe(frame: bytes) -> tuple[str, str, str]:
    """(kind, address, source MAC) of a frame garpd built: for debug logs and tests."""
    mac = mac_text(frame[6:12])
    if frame[12:14] == b"\x08\x06":
        kind = "request" if frame[21] == 1 else "reply"
        return kind, str(ipaddress.IPv4Address(frame[28:32])), mac
    return "na", str(ipaddress.IPv6Address(frame[62:78])), mac
