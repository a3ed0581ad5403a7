"""``garpd watch -i IFACE``: the live wire view of ARP, IPv6 NS/NA and VRRP on one interface.

SPEC (*Seeing the LAN*): decodes, with scapy, the ARP, IPv6 NS/NA and VRRP frames on IFACE,
one line per frame: time, kind (``garp``, ``arp_request``, ``arp_reply``, ``probe``,
``ns``, ``na``, ``vrrp``), source MAC, the address claimed or asked for, and a note
(``ours``, ``conflict``, ``gateway``; for VRRP the VRID, priority and version). With ``-c``
only the frames that concern the configured addresses and VRIDs, all with ``--all``;
``--json`` one JSON object per frame; ``--pcap FILE`` also writes what was shown; it ends
after ``--count N`` frames, ``--timeout S`` or Ctrl-C (exit 0), then prints who claimed
what. Frames scapy cannot dissect are shown as ``malformed`` (or ``unknown``: well formed,
not one of the kinds), with their length, never a traceback.

Owns its one AF_PACKET socket (beside a running daemon's, which it never touches) with the
kernel filter of :func:`garpd.bpf.watch_filter`, promiscuous while open so unicast ARP
between other hosts is seen too. A VLAN tag the kernel moved into metadata is put back
(PACKET_AUXDATA) so the line, the JSON and the pcap show it. Timestamps are the kernel's
(SO_TIMESTAMPNS). scapy is imported by this command only, after the socket is open.
Classification is :mod:`garpd.claims`'s.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final, TextIO

from garpd import bpf
from garpd.claims import CONFLICT, GATEWAY, OURS, Address, Known, Network
from garpd.drivers.vrrp_listener import join_vrrp_groups
from garpd.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE

ETH_P_ALL: Final = 0x0003
SOL_PACKET: Final = 263
PACKET_AUXDATA: Final = 8
SO_TIMESTAMPNS: Final = 35
TP_STATUS_VLAN_VALID: Final = 0x10
TP_STATUS_VLAN_TPID_VALID: Final = 0x40
RECV_BYTES: Final = 65535
BATCH: Final = 256
HOST_REFRESH: Final = 1.0
"""Seconds between two reads of this host's MACs and addresses (a failover moves them)."""
KINDS: Final = ("garp", "arp_request", "arp_reply", "probe", "ns", "na", "vrrp",
                "unknown", "malformed")


class _TerminatedError(Exception):
    """SIGTERM: end like Ctrl-C."""


class ConfigProblemError(Exception):
    """The ``-c`` file is unusable: its error lines (file, key, value, what is accepted)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


# ------------------------------------------------------------------------------ socket


def open_socket(ifname: str, *, promisc: bool = True) -> socket.socket:
    """A non-blocking AF_PACKET socket on ``ifname`` passing only what ``watch`` decodes.

    The filter is attached before the bind (protocol 0 receives nothing until then), so no
    other frame is ever queued. Raises PermissionError without CAP_NET_RAW.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
    try:
        bpf.attach(sock, bpf.watch_filter())
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((ifname, ETH_P_ALL))
        join_vrrp_groups(sock, socket.if_nametoindex(ifname), promisc=promisc)
    except OSError:
        sock.close()
        raise
    return sock


def receive(sock: socket.socket) -> tuple[bytes, float]:
    """One frame (VLAN tag restored) and its kernel timestamp; BlockingIOError if none."""
    data, ancillary, _flags, _address = sock.recvmsg(RECV_BYTES, 256)
    stamp: float | None = None
    for level, kind, payload in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= 20:
            status, _len, _snap, _mac, _net, tci, tpid = struct.unpack_from(
                "=IIIHHHH", payload)
            if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = bpf.ETH_P_8021Q
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = struct.unpack_from("=qq", payload)
            stamp = sec + nsec / 1e9
    return data, time.time() if stamp is None else stamp


# ------------------------------------------------------------------------------ frames


@dataclass(slots=True)
class Sighting:
    """One frame as ``watch`` shows it."""

    time: float
    kind: str
    length: int
    eth_src: str | None = None
    eth_dst: str | None = None
    mac: str | None = None
    """The claimer's MAC: ARP sender hardware address, NA/NS link-layer option, else the
    Ethernet source."""
    address: str | None = None
    """The address claimed (garp, arp_reply, na) or asked for (arp_request, probe, ns)."""
    sender: str | None = None
    """arp_request / ns: the asker's address (which it also claims); arp_reply: the
    address answered."""
    op: int | None = None
    flags: str | None = None
    vlan: int | None = None
    vrid: int | None = None
    priority: int | None = None
    version: int | None = None
    interval: float | None = None
    addresses: tuple[str, ...] = ()
    reason: str | None = None
    claimed: Address | None = None
    notes: tuple[str, ...] = ()
    named: tuple[Address, ...] = field(default=())
    """Every address the frame names (for ``-c`` filtering)."""

    def as_json(self, interface: str) -> dict[str, Any]:
        """The JSON object of this frame (fields that do not apply are left out)."""
        doc: dict[str, Any] = {
            "timestamp": _iso(self.time), "time": round(self.time, 6),
            "interface": interface, "kind": self.kind, "mac": self.mac,
            "address": self.address, "notes": list(self.notes), "length": self.length,
        }
        extra = {"eth_src": self.eth_src, "eth_dst": self.eth_dst, "sender": self.sender,
                 "op": self.op, "flags": self.flags, "vlan": self.vlan, "vrid": self.vrid,
                 "priority": self.priority, "version": self.version,
                 "interval": self.interval, "reason": self.reason}
        doc.update({k: v for k, v in extra.items() if v is not None})
        if self.kind == "vrrp":
            doc["addresses"] = list(self.addresses)
        return doc


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def _ip(text: object) -> Address | None:
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def _mac_bytes(text: str | None) -> bytes:
    if not text:
        return b""
    try:
        return bytes.fromhex(text.replace(":", ""))
    except ValueError:
        return b""


class Decoder:
    """Frames to :class:`Sighting` with scapy (imported when the decoder is built)."""

    def __init__(self) -> None:
        # scapy's import reads every address and route of the host: this command only.
        from scapy.layers import inet, inet6, l2, vrrp  # noqa: PLC0415

        self.l2, self.inet, self.inet6, self.vrrp = l2, inet, inet6, vrrp

    def decode(self, frame: bytes, t: float) -> Sighting:
        """The sighting of ``frame``; never raises (garbage is ``malformed``)."""
        if len(frame) < 14:
            return Sighting(t, "malformed", len(frame), reason="shorter than an Ethernet header")
        try:
            return self._decode(frame, t)
        except Exception as exc:  # hostile bytes: scapy may raise anything
            out = Sighting(t, "malformed", len(frame), reason=f"scapy: {type(exc).__name__}")
            out.eth_dst, out.eth_src = _mac_text(frame[0:6]), _mac_text(frame[6:12])
            out.mac = out.eth_src
            return out

    def _decode(self, frame: bytes, t: float) -> Sighting:
        l2, inet, inet6, vrrp = self.l2, self.inet, self.inet6, self.vrrp
        pkt = l2.Ether(frame)
        out = Sighting(t, "unknown", len(frame), eth_src=str(pkt.src), eth_dst=str(pkt.dst))
        out.mac = out.eth_src
        dot1q = pkt.getlayer(l2.Dot1Q)
        if dot1q is not None:
            out.vlan = int(dot1q.vlan)
        ethertype = _ethertype(frame)
        if ethertype == bpf.ETH_P_ARP:
            arp = pkt.getlayer(l2.ARP)
            if arp is None:
                return _bad(out, "ARP cut short")
            return self._arp(out, arp)
        if ethertype == bpf.ETH_P_IP:
            ip = pkt.getlayer(inet.IP)
            if ip is None:
                return _bad(out, "IPv4 header cut short")
            if int(ip.proto) == bpf.IPPROTO_VRRP:
                return self._vrrp(out, ip, pkt.getlayer(vrrp.VRRP) or pkt.getlayer(vrrp.VRRPv3))
            return _bad(out, f"IPv4 protocol {int(ip.proto)}", kind="unknown")
        if ethertype == bpf.ETH_P_IPV6:
            ip6 = pkt.getlayer(inet6.IPv6)
            if ip6 is None:
                return _bad(out, "IPv6 header cut short")
            if int(ip6.nh) == bpf.IPPROTO_VRRP:
                return self._vrrp(out, ip6, pkt.getlayer(vrrp.VRRPv3))
            ns, na = pkt.getlayer(inet6.ICMPv6ND_NS), pkt.getlayer(inet6.ICMPv6ND_NA)
            if ns is not None:
                return self._ns(out, ip6, ns, pkt.getlayer(inet6.ICMPv6NDOptSrcLLAddr))
            if na is not None:
                return self._na(out, na, pkt.getlayer(inet6.ICMPv6NDOptDstLLAddr))
            if int(ip6.nh) == bpf.IPPROTO_ICMPV6 and frame_has_nd_type(frame):
                return _bad(out, "ICMPv6 NS/NA cut short")
            return _bad(out, f"IPv6 next header {int(ip6.nh)}", kind="unknown")
        return _bad(out, f"ethertype 0x{ethertype:04x}", kind="unknown")

    @staticmethod
    def _arp(out: Sighting, arp: Any) -> Sighting:
        hwtype, ptype, hwlen, plen = (int(arp.hwtype), int(arp.ptype), int(arp.hwlen),
                                      int(arp.plen))
        if not (hwtype and ptype and hwlen and plen):
            return _bad(out, f"ARP hardware {hwtype}/{hwlen} protocol 0x{ptype:04x}/{plen}")
        if (hwtype, ptype) != (1, bpf.ETH_P_IP):
            return _bad(out, f"ARP hardware {hwtype} protocol 0x{ptype:04x}", kind="unknown")
        if (hwlen, plen) != (6, 4):
            return _bad(out, f"ARP address lengths {hwlen}/{plen}, not 6/4")
        op, spa, tpa = int(arp.op), _ip(arp.psrc), _ip(arp.pdst)
        if spa is None or tpa is None:
            return _bad(out, "ARP addresses unreadable")
        out.op, out.mac = op, str(arp.hwsrc)
        out.named = (spa, tpa)
        out.claimed = None if spa.is_unspecified else spa
        if op not in (1, 2):
            out.address, out.sender = str(tpa), str(spa)
            return _bad(out, f"ARP operation {op}", kind="unknown")
        if op == 1 and spa.is_unspecified:
            out.kind, out.address, out.sender = "probe", str(tpa), str(spa)
        elif spa == tpa:
            out.kind, out.address = "garp", str(spa)
        elif op == 1:
            out.kind, out.address, out.sender = "arp_request", str(tpa), str(spa)
        else:
            out.kind, out.address, out.sender = "arp_reply", str(spa), str(tpa)
        return out

    @staticmethod
    def _ns(out: Sighting, ip6: Any, ns: Any, slla: Any) -> Sighting:
        target, source = _ip(ns.tgt), _ip(ip6.src)
        if target is None or source is None:
            return _bad(out, "NS addresses unreadable")
        out.kind, out.address, out.sender = "ns", str(target), str(source)
        out.named = (target, source)
        if slla is not None:
            out.mac = str(slla.lladdr)
            out.claimed = None if source.is_unspecified else source
        return out

    @staticmethod
    def _na(out: Sighting, na: Any, tlla: Any) -> Sighting:
        target = _ip(na.tgt)
        if target is None:
            return _bad(out, "NA target unreadable")
        out.kind, out.address, out.claimed = "na", str(target), target
        out.named = (target,)
        out.flags = "".join(f for f, on in (("R", na.R), ("S", na.S), ("O", na.O)) if on)
        if tlla is not None:
            out.mac = str(tlla.lladdr)
        return out

    def _vrrp(self, out: Sighting, ip: Any, adv: Any) -> Sighting:
        if adv is None:
            return _bad(out, "VRRP cut short")
        version, kind = int(adv.version), int(adv.type)
        out.vrid, out.priority, out.version = int(adv.vrid), int(adv.priority), version
        out.sender = str(ip.src)
        if version not in (2, 3) or kind != 1:
            return _bad(out, f"VRRP version {version} type {kind}", kind="unknown")
        addrs = adv.addrlist if isinstance(adv.addrlist, list) else []
        vips = tuple(a for a in (_ip(x) for x in addrs) if a is not None)
        if len(vips) != int(adv.ipcount):
            return _bad(out, f"VRRP lists {len(vips)} of {int(adv.ipcount)} addresses")
        out.kind = "vrrp"
        out.addresses = tuple(str(a) for a in vips)
        out.address = out.addresses[0] if out.addresses else None
        out.named = vips
        out.interval = float(adv.adv) if version == 2 else int(adv.adv) / 100
        return out


def _bad(out: Sighting, reason: str, *, kind: str = "malformed") -> Sighting:
    out.kind, out.reason = kind, reason
    return out


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ethertype(frame: bytes) -> int:
    """The Ethernet type after at most two VLAN tags."""
    offset = 12
    (etype,) = struct.unpack_from("!H", frame, offset)
    while etype in (bpf.ETH_P_8021Q, bpf.ETH_P_8021AD) and len(frame) >= offset + 6 \
            and offset < 20:
        offset += 4
        (etype,) = struct.unpack_from("!H", frame, offset)
    return int(etype)


def frame_has_nd_type(frame: bytes) -> bool:
    """Whether the ICMPv6 type byte (fixed header, untagged or one tag) is NS or NA."""
    base = 4 if _ethertype(frame) != struct.unpack_from("!H", frame, 12)[0] else 0
    at = 14 + base + 40
    return len(frame) > at and frame[at] in (bpf.ND_NEIGHBOR_SOLICIT, bpf.ND_NEIGHBOR_ADVERT)


# ------------------------------------------------------------------------------ the table


@dataclass(slots=True)
class Seen:
    """One MAC claiming one address: how often, when last, how it was classified."""

    count: int = 0
    last: float = 0.0
    notes: tuple[str, ...] = ()


class Tally:
    """Who claimed what: address -> MAC -> :class:`Seen`."""

    def __init__(self) -> None:
        self.claims: dict[Address, dict[str, Seen]] = {}
        self.frames = 0

    def add(self, sighting: Sighting) -> None:
        """Count ``sighting``'s claim (if it claims an address)."""
        self.frames += 1
        if sighting.claimed is None or sighting.mac is None:
            return
        seen = self.claims.setdefault(sighting.claimed, {}).setdefault(sighting.mac, Seen())
        seen.count += 1
        seen.last = max(seen.last, sighting.time)
        seen.notes = tuple(n for n in sighting.notes if n in (OURS, CONFLICT, GATEWAY))

    def rows(self) -> Iterator[tuple[Address, str, Seen]]:
        """(address, MAC, seen) by address, then most recent first."""
        for address in sorted(self.claims, key=lambda a: (a.version, a)):
            macs = self.claims[address]
            for mac in sorted(macs, key=lambda m: -macs[m].last):
                yield address, mac, macs[mac]

    def as_json(self, interface: str, elapsed: float) -> dict[str, Any]:
        """The closing JSON object."""
        return {"kind": "claims", "interface": interface, "frames": self.frames,
                "seconds": round(elapsed, 3),
                "claims": [{"address": str(a), "mac": m, "count": s.count,
                            "last": _iso(s.last), "notes": list(s.notes)}
                           for a, m, s in self.rows()]}


# ------------------------------------------------------------------------------ text


_KIND_STYLE: Final[dict[str, tuple[str, ...]]] = {
    "garp": ("1", "32"), "arp_request": ("34",), "arp_reply": ("36",), "probe": ("33",),
    "ns": ("34",), "na": ("36",), "vrrp": ("35",), "unknown": ("33",),
    "malformed": ("1", "31"),
}
_NOTE_STYLE: Final[dict[str, tuple[str, ...]]] = {
    OURS: ("2",), CONFLICT: ("1", "31"), GATEWAY: ("34",)}


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def _what(s: Sighting) -> str:
    """The address column and what follows it, per kind."""
    if s.kind in ("arp_request", "probe", "ns"):
        return f"{s.address}? from {s.sender}"
    if s.kind == "arp_reply":
        return f"{s.address} to {s.sender}"
    if s.kind == "garp":
        return f"{s.address}" + (" (reply)" if s.op == 2 else "")
    if s.kind == "na":
        return f"{s.address} [{s.flags or '-'}]"
    if s.kind == "vrrp":
        return (f"{' '.join(s.addresses) or '-'} from {s.sender} "
                f"vrid {s.vrid} priority {s.priority} v{s.version} every {s.interval:g}s")
    detail = f"{s.length} bytes: {s.reason}"
    return f"{s.address} {detail}" if s.address else detail


def render_line(s: Sighting, colour: bool) -> str:
    """One text line: time, kind, MAC, address and detail, notes (coloured if asked)."""
    def paint(text: str, codes: tuple[str, ...]) -> str:
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if colour and codes else text

    kind = paint(f"{s.kind:<11}", _KIND_STYLE.get(s.kind, ()))
    vlan = f"vlan {s.vlan} " if s.vlan is not None else ""
    notes = " ".join(paint(n, _NOTE_STYLE.get(n, ())) for n in s.notes)
    line = f"{_clock(s.time)}  {kind}  {s.mac or '-':<17}  {vlan}{_what(s)}"
    return f"{line}  {notes}" if notes else line


def render_table(tally: Tally, elapsed: float, colour: bool) -> str:
    """The closing "who claimed what" table."""
    head = f"who claimed what ({tally.frames} frames in {elapsed:.1f} s):"
    rows = list(tally.rows())
    if not rows:
        return f"{head}\n  nobody claimed an address\n"
    width = max(len(str(a)) for a, _m, _s in rows)
    lines = [head, f"  {'address':<{width}}  {'mac':<17}  {'count':>5}  {'last':<12}  notes"]
    previous: Address | None = None
    for address, mac, seen in rows:
        shown = str(address) if address != previous else ""
        previous = address
        notes = " ".join(
            f"\x1b[{';'.join(_NOTE_STYLE[n])}m{n}\x1b[0m" if colour else n
            for n in seen.notes)
        lines.append(f"  {shown:<{width}}  {mac:<17}  {seen.count:>5}  "
                     f"{_clock(seen.last):<12}  {notes}".rstrip())
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ pcap


class Pcap:
    """A classic pcap file (microsecond timestamps, Ethernet), flushed frame by frame."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        stream.write(struct.pack("=IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        stream.flush()

    def write(self, frame: bytes, t: float) -> None:
        """Append one frame captured at ``t`` (seconds since the epoch)."""
        sec = int(t)
        usec = min(999_999, round((t - sec) * 1e6))
        self.stream.write(struct.pack("=IIII", sec, usec, len(frame), len(frame)) + frame)
        self.stream.flush()


# ------------------------------------------------------------------------------ setup


def known_from_config(path: str | None, ifname: str) -> Known:
    """The configured addresses, networks, VRIDs and gateways (nothing without ``-c``).

    Raises :class:`ConfigProblemError`. ``gateways`` is read where present (``[announce]`` and
    per group) and tolerated where absent; ``"auto"`` means the next hops of the main
    table's routes out of ``ifname``.
    """
    if path is None:
        return Known()
    from garpd import config as cfgmod  # noqa: PLC0415 - pydantic only with -c

    try:
        cfg = cfgmod.load_config(Path(path))
    except cfgmod.ConfigError as exc:
        raise ConfigProblemError(list(exc.lines)) from None
    addresses: set[Address] = set()
    networks: list[Network] = []
    vrids: set[int] = set()
    gateways: set[Address] = set()
    auto = False
    for value in _gateway_values(getattr(cfg.announce, "gateways", None)):
        auto |= str(value) == "auto"
        gateways.update(a for a in (_ip(value),) if a is not None)
    for group in cfg.groups:
        addresses.update(group.addresses)
        networks.extend(group.networks)
        if group.vrid is not None:
            vrids.add(int(group.vrid))
        for value in _gateway_values(getattr(group, "gateways", None)):
            auto |= str(value) == "auto"
            gateways.update(a for a in (_ip(value),) if a is not None)
    if auto:
        gateways.update(route_gateways(ifname))
    return Known(configured=frozenset(addresses), networks=tuple(networks),
                 vrids=frozenset(vrids), gateways=frozenset(gateways))


def _gateway_values(spec: object) -> tuple[object, ...]:
    """A ``gateways`` value as a sequence: ``"auto"`` (the configuration's ["auto"]) alone,
    or the addresses."""
    if spec is None or spec == ():
        return ()
    if isinstance(spec, str):
        return (spec,)
    return tuple(spec) if isinstance(spec, tuple | list) else ()


def route_gateways(ifname: str) -> set[Address]:
    """The next hops of the main table's routes out of ``ifname`` (empty if unreadable)."""
    found: set[Address] = set()
    try:
        from pyroute2 import IPRoute  # noqa: PLC0415

        with IPRoute() as ipr:
            index = socket.if_nametoindex(ifname)
            for family in (socket.AF_INET, socket.AF_INET6):
                for route in ipr.get_routes(family=family, table=254):
                    hops = [(route.get_attr("RTA_OIF"), route.get_attr("RTA_GATEWAY"))]
                    for hop in route.get_attr("RTA_MULTIPATH") or ():
                        hops.append((hop.get("oif"), hop.get_attr("RTA_GATEWAY")))
                    found.update(a for oif, gw in hops if oif == index and gw
                                 for a in (_ip(gw),) if a is not None)
    except (OSError, ImportError, ValueError):
        return set()
    return found


def host_view() -> tuple[set[bytes], set[Address]]:
    """This host's interface MACs (macvlans too; never 00:..:00) and the addresses it holds
    (on any interface, not tentative, not dadfailed)."""
    from garpd.drivers.netlink import snapshot  # noqa: PLC0415

    state = snapshot()
    macs = {link.mac for link in state.links if len(link.mac) == 6 and any(link.mac)}
    held = {a.address for a in state.addresses if not a.tentative and not a.dadfailed}
    return macs, held


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"garpd: {message}\n")
        sys.stderr.flush()


# ------------------------------------------------------------------------------ the command


class Session:
    """Decodes, classifies, filters, prints, records and counts frames."""

    def __init__(self, args: argparse.Namespace, known: Known, decoder: Decoder,
                 out: TextIO, pcap: Pcap | None, colour: bool) -> None:
        self.interface: str = args.interface
        self.json: bool = args.json
        self.filtered = args.config is not None and not args.all
        self.known = known
        self.decoder = decoder
        self.out = out
        self.pcap = pcap
        self.colour = colour
        self.tally = Tally()
        self.refreshed = -HOST_REFRESH

    def refresh_host(self, now: float) -> None:
        """Re-read this host's MACs and held addresses, at most every HOST_REFRESH s."""
        if now - self.refreshed < HOST_REFRESH:
            return
        self.refreshed = now
        try:
            macs, held = host_view()
        except (OSError, ImportError) as exc:
            _say(f"cannot read this host's interfaces: {exc}")
            return
        self.known = self.known.with_host(macs, held)

    def frame(self, frame: bytes, t: float) -> bool:
        """Handle one frame; True if it was shown."""
        self.refresh_host(time.monotonic())
        s = self.decoder.decode(frame, t)
        if self.filtered and not self.known.concerns(s.named, s.vrid):
            return False
        s.notes = self.known.notes(_mac_bytes(s.mac), s.claimed) if s.mac else ()
        self.tally.add(s)
        if self.pcap is not None:
            self.pcap.write(frame, t)
        if self.json:
            self.out.write(json.dumps(s.as_json(self.interface)) + "\n")
        else:
            self.out.write(render_line(s, self.colour) + "\n")
        self.out.flush()
        return True

    def close(self, elapsed: float) -> None:
        """Print who claimed what."""
        if self.json:
            self.out.write(json.dumps(self.tally.as_json(self.interface, elapsed)) + "\n")
        else:
            self.out.write(render_table(self.tally, elapsed, self.colour))
        self.out.flush()


def _sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _TerminatedError


def main(args: argparse.Namespace) -> int:
    """Run ``garpd watch``."""
    ifname: str = args.interface
    try:
        known = known_from_config(args.config, ifname)
    except ConfigProblemError as exc:
        for line in exc.lines:
            _say(line)
        return EXIT_USAGE
    try:
        socket.if_nametoindex(ifname)
    except (OSError, ValueError):
        _say(f"watch: no such interface {ifname!r}")
        return EXIT_USAGE
    try:
        sock = open_socket(ifname)
    except PermissionError:
        _say(f"watch needs CAP_NET_RAW to open a packet socket on {ifname} (run it as root)")
        return EXIT_USAGE
    except OSError as exc:
        code = EXIT_USAGE if exc.errno == errno.ENODEV else EXIT_RUNTIME
        _say(f"watch: cannot listen on {ifname}: {exc.strerror or exc}")
        return code
    _say(f"watch: listening on {ifname} (ARP, IPv6 NS/NA, VRRP); Ctrl-C to stop")
    with contextlib.ExitStack() as stack:
        stack.callback(sock.close)
        pcap = None
        if args.pcap:
            try:
                pcap = Pcap(stack.enter_context(open(args.pcap, "wb")))
            except OSError as exc:
                _say(f"watch: cannot write {args.pcap}: {exc.strerror or exc}")
                return EXIT_USAGE
        from garpd.term import colour_enabled  # noqa: PLC0415

        started = time.monotonic()
        try:
            decoder = Decoder()
        except KeyboardInterrupt:  # Ctrl-C while scapy loads: nothing seen, a clean end
            return EXIT_OK
        session = Session(args, known, decoder, sys.stdout, pcap,
                          colour_enabled(sys.stdout) and not args.json)
        return _loop(sock, session, args.count, args.timeout, started)
    return EXIT_OK  # pragma: no cover - the with block always returns


def _loop(sock: socket.socket, session: Session, count: int | None,
          timeout: float | None, started: float) -> int:
    deadline = None if timeout is None else started + timeout
    shown = 0
    previous = signal.signal(signal.SIGTERM, _sigterm)
    # Ctrl-C is how this command ends, even when started with SIGINT ignored (`cmd &`).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    code = EXIT_OK
    try:
        while count is None or shown < count:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            if not poller.poll(None if wait is None else max(1, int(wait * 1000) + 1)):
                continue
            for _ in range(BATCH):
                try:
                    frame, t = receive(sock)
                except BlockingIOError:
                    break
                shown += session.frame(frame, t)
                if count is not None and shown >= count:
                    break
    except (KeyboardInterrupt, _TerminatedError):
        pass
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except OSError as exc:
        _say(f"watch: {session.interface}: receive failed: {exc.strerror or exc}")
        code = EXIT_RUNTIME
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    try:
        session.close(time.monotonic() - started)
    except BrokenPipeError:
        _quiet_stdout()
    return code


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the exit flush is silent."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
