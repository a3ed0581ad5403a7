"""The listener's wire code: claims parsed from scapy-built frames, directed probes
byte-identical to scapy's, the shared classification, and hostile bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet

from garpd.frames import FrameCache, mac_bytes
from garpd.neighbour_wire import (
    DIRECTED_ARP_LEN,
    DIRECTED_NS_LEN,
    REASONS,
    Claim,
    ProbeCache,
    classify,
    directed_arp,
    directed_ns,
    parse,
    solicited_node,
)
from tests.hostile_strategies import fuzz_settings

OURS = "02:00:00:00:00:02"
ROGUE = "02:00:00:00:00:66"
ROUTER = "02:00:00:00:00:01"
BCAST = "ff:ff:ff:ff:ff:ff"
VIP = "192.0.2.100"
GW = "192.0.2.1"
VIP6 = "2001:db8::100"
GW6 = "2001:db8::1"
QUICK = fuzz_settings(200)
ANY = str(ipaddress.IPv4Address(0))  # the probe sender


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address object from text."""
    return ipaddress.ip_address(text)


def raw(packet: Packet) -> bytes:
    """scapy's bytes for ``packet``."""
    return bytes(packet)


def na(src: str, dst: str, target: str, *, eth_src: str = ROGUE, lladdr: str | None = ROGUE,
       flags: str = "O", hlim: int = 255) -> bytes:
    """A neighbour advertisement built by scapy."""
    pkt = Ether(src=eth_src, dst="33:33:00:00:00:01") / IPv6(src=src, dst=dst, hlim=hlim) / \
        ICMPv6ND_NA(tgt=target, R="R" in flags, S="S" in flags, O="O" in flags)
    if lladdr is not None:
        pkt = pkt / ICMPv6NDOptDstLLAddr(lladdr=lladdr)
    return raw(pkt)


def ns(src: str, dst: str, target: str, *, eth_src: str = ROUTER, lladdr: str | None = ROUTER,
       eth_dst: str = OURS) -> bytes:
    """A neighbour solicitation built by scapy."""
    pkt = Ether(src=eth_src, dst=eth_dst) / IPv6(src=src, dst=dst, hlim=255) / \
        ICMPv6ND_NS(tgt=target)
    if lladdr is not None:
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
    return raw(pkt)


def arp(op: int, sha: str, spa: str, tpa: str, *, tha: str = "00:00:00:00:00:00",
        eth_src: str | None = None, eth_dst: str = BCAST) -> bytes:
    """An ARP frame built by scapy (padded to 60 bytes like on the wire)."""
    pkt = Ether(src=eth_src or sha, dst=eth_dst) / ARP(op=op, hwsrc=sha, psrc=spa,
                                                       hwdst=tha, pdst=tpa)
    data = raw(pkt)
    return data + bytes(60 - len(data))


@dataclass(frozen=True)
class Case:
    """A scapy-built frame and the claim fields it must parse to."""

    name: str
    frame: bytes
    kind: str
    mac: str
    sender: str | None
    target: str
    claimed: str | None
    asked: str | None
    record_frame: str


CASES = [
    Case("garp request", arp(1, ROGUE, VIP, VIP), "garp", ROGUE, VIP, VIP, VIP, None,
         "arp_request"),
    Case("garp reply", arp(2, ROGUE, VIP, VIP, tha=ROGUE), "garp", ROGUE, VIP, VIP, VIP, None,
         "arp_reply"),
    Case("request", arp(1, ROGUE, VIP, GW), "arp_request", ROGUE, VIP, GW, VIP, GW,
         "arp_request"),
    Case("reply", arp(2, ROUTER, GW, VIP, tha=OURS, eth_dst=OURS), "arp_reply", ROUTER, GW,
         VIP, GW, None, "arp_reply"),
    Case("probe", arp(1, ROGUE, ANY, VIP), "probe", ROGUE, None, VIP, None, VIP,
         "arp_request"),
    Case("unsolicited na", na(VIP6, "ff02::1", VIP6), "na", ROGUE, VIP6, VIP6, VIP6, None,
         "na"),
    Case("solicited na", na(GW6, VIP6, GW6, eth_src=ROUTER, lladdr=ROUTER, flags="RSO"),
         "na", ROUTER, GW6, GW6, GW6, None, "na"),
    Case("na without option", na("fe80::1", "ff02::1", VIP6, lladdr=None), "na", ROGUE,
         "fe80::1", VIP6, VIP6, None, "na"),
    Case("ns", ns(GW6, VIP6, VIP6), "ns", ROUTER, GW6, VIP6, None, VIP6, "ns"),
    Case("dad ns", ns("::", "ff02::1:ff00:100", VIP6, lladdr=None, eth_dst="33:33:ff:00:01:00"),
         "ns", ROUTER, None, VIP6, None, VIP6, "ns"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parse_scapy_frames(case: Case) -> None:
    """Every kind of frame scapy builds parses to the expected claim fields."""
    claim = parse(case.frame)
    assert isinstance(claim, Claim), claim
    assert claim.kind == case.kind
    assert claim.mac == mac_bytes(case.mac)
    assert claim.sender == (ip(case.sender) if case.sender else None)
    assert claim.target == ip(case.target)
    assert claim.claimed == (ip(case.claimed) if case.claimed else None)
    assert claim.asked == (ip(case.asked) if case.asked else None)
    assert claim.frame == case.record_frame
    assert claim.vlan is None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vlan_tag_is_read(case: Case) -> None:
    """The same frames behind one 802.1Q tag parse the same, with the VLAN id."""
    packet = Ether(case.frame)
    tagged = Ether(src=packet.src, dst=packet.dst) / Dot1Q(vlan=42) / packet.payload
    claim = parse(raw(tagged))
    assert isinstance(claim, Claim)
    assert (claim.kind, claim.target, claim.vlan) == (case.kind, ip(case.target), 42)


def test_na_flags_and_destination() -> None:
    """An NA keeps its R/S/O flags and IPv6 destination; ``solicited`` reads S."""
    claim = parse(na(GW6, VIP6, GW6, flags="RSO"))
    assert isinstance(claim, Claim)
    assert (claim.flags, claim.solicited, claim.ip_dst) == (0xE0, True, ip(VIP6))
    unsolicited = parse(na(VIP6, "ff02::1", VIP6))
    assert isinstance(unsolicited, Claim)
    assert (unsolicited.flags, unsolicited.solicited) == (0x20, False)


def test_other_options_are_skipped() -> None:
    """An MTU option before the link-layer option is skipped, not mistaken for it."""
    pkt = Ether(src=ROGUE, dst=BCAST) / IPv6(src=VIP6, dst="ff02::1", hlim=255) / \
        ICMPv6ND_NA(tgt=VIP6) / ICMPv6NDOptMTU() / ICMPv6NDOptDstLLAddr(lladdr=OURS)
    claim = parse(raw(pkt))
    assert isinstance(claim, Claim)
    assert claim.mac == mac_bytes(OURS)


def test_garpd_own_announcements_parse_as_garp() -> None:
    """garpd's own GARPs (request, reply) and NAs parse back as gratuitous claims."""
    cache = FrameCache()
    mac = mac_bytes(OURS)
    for frame in cache.slot(mac, ip(VIP), "both", False) + cache.slot(mac, ip(VIP6), "request",
                                                                      True):
        claim = parse(frame)
        assert isinstance(claim, Claim)
        assert claim.kind in ("garp", "na")
        assert claim.claimed == claim.target
        assert claim.mac == mac


@dataclass(frozen=True)
class Bad:
    """A malformed frame and the reason it must be dropped for."""

    name: str
    frame: bytes
    reason: str


def _patch(frame: bytes, index: int, value: int) -> bytes:
    return frame[:index] + bytes([value]) + frame[index + 1:]


GOOD_NA = na(VIP6, "ff02::1", VIP6)
GOOD_ARP = arp(1, ROGUE, VIP, VIP)
BAD = [
    Bad("empty", b"", "short"),
    Bad("ethernet only", GOOD_ARP[:14], "short"),
    Bad("arp cut", GOOD_ARP[:41], "short"),
    Bad("tag cut", bytes(12) + b"\x81\x00\x00", "short"),
    Bad("ipv4", raw(Ether(src=ROGUE) / (b"\x45" + bytes(40))), "not_neighbour"),
    Bad("echo", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst=GW6) / ICMPv6EchoRequest()),
        "not_neighbour"),
    Bad("udp in ipv6", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst=GW6, nh=17) / bytes(8)),
        "not_neighbour"),
    Bad("arp htype", _patch(GOOD_ARP, 15, 6), "arp_format"),
    Bad("arp plen", _patch(GOOD_ARP, 19, 16), "arp_format"),
    Bad("arp op 3", _patch(GOOD_ARP, 21, 3), "arp_op"),
    Bad("multicast sender mac", arp(1, "01:00:5e:00:00:01", VIP, VIP, eth_src=ROGUE),
        "bad_source"),
    Bad("multicast eth src", arp(1, ROGUE, VIP, VIP, eth_src="03:00:00:00:00:01"),
        "bad_source"),
    Bad("loopback sender", arp(1, ROGUE, "127.0.0.1", VIP), "bad_source"),
    Bad("multicast sender", arp(1, ROGUE, "224.0.0.1", VIP), "bad_source"),
    Bad("reply from 0.0.0.0", arp(2, ROGUE, ANY, VIP), "bad_source"),
    Bad("ip version", _patch(GOOD_NA, 14, 0x40), "ipv6_header"),
    Bad("payload beyond frame", GOOD_NA[:-1], "short"),
    Bad("hop limit", na(VIP6, "ff02::1", VIP6, hlim=64), "hop_limit"),
    Bad("checksum", _patch(GOOD_NA, 57, GOOD_NA[57] ^ 1), "bad_checksum"),
    Bad("target flipped", _patch(GOOD_NA, 77, GOOD_NA[77] ^ 0x10), "bad_checksum"),
    Bad("code", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst="ff02::1", hlim=255)
                    / ICMPv6ND_NA(tgt=VIP6, code=1)), "nd_format"),
    Bad("multicast target", na(VIP6, "ff02::1", "ff02::2"), "nd_format"),
    Bad("solicited to multicast", na(VIP6, "ff02::1", VIP6, flags="SO"), "nd_format"),
    Bad("dad ns with option", ns("::", "ff02::1:ff00:100", VIP6), "nd_format"),
    Bad("zero-length option", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst="ff02::1", hlim=255)
                                  / ICMPv6ND_NA(tgt=VIP6) / (b"\x02\x00" + bytes(6))),
        "bad_option"),
    Bad("option past end", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst="ff02::1", hlim=255)
                               / ICMPv6ND_NA(tgt=VIP6) / (b"\x02\x02" + bytes(6))),
        "bad_option"),
    Bad("short message", raw(Ether(src=ROGUE) / IPv6(src=VIP6, dst="ff02::1", hlim=255, nh=58)
                             / (bytes([136, 0, 0, 0]) + bytes(8))), "nd_format"),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_malformed_frames_give_their_reason(bad: Bad) -> None:
    """Each malformed frame is dropped with the reason that names its fault."""
    assert bad.reason in REASONS
    assert parse(bad.frame) == bad.reason


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_truncation_is_short(case: Case) -> None:
    """A valid frame cut anywhere inside its headers or message is ``short``."""
    claim = parse(case.frame)
    assert isinstance(claim, Claim)
    end = 42 if claim.is_arp else len(case.frame)
    for cut in range(end):
        assert parse(case.frame[:cut]) in ("short", "not_neighbour"), cut
    assert isinstance(parse(case.frame + bytes(20)), Claim)  # padding is ignored


# --- classification --------------------------------------------------------------------


MACS = {mac_bytes(OURS), mac_bytes("02:00:00:00:00:77")}  # interface + a VMAC
HELD = {ip(VIP), ip(VIP6)}
GATEWAYS = {ip(GW), ip(GW6), ip("fe80::1")}


@pytest.mark.parametrize(("frame", "note"), [
    (arp(1, ROGUE, VIP, VIP), "conflict"),
    (arp(2, ROGUE, VIP, GW, tha=ROUTER), "conflict"),
    (arp(1, ROGUE, VIP, GW), "conflict"),
    (na(VIP6, "ff02::1", VIP6), "conflict"),
    (na("fe80::66", "ff02::1", VIP6), "conflict"),
    (arp(1, ROGUE, ANY, VIP), None),           # a probe claims nothing
    (ns("fe80::66", VIP6, VIP6, eth_src=ROGUE, lladdr=ROGUE), None),  # an NS asks
    (arp(1, ROGUE, "192.0.2.200", "192.0.2.200"), None),  # not one of ours
    (arp(1, OURS, VIP, VIP), "ours"),
    (arp(1, "02:00:00:00:00:77", VIP, VIP), "ours"),   # a VMAC of this host
    (arp(1, ROGUE, VIP, VIP, eth_src=OURS), "ours"),  # sent by this host
    (na(VIP6, "ff02::1", VIP6, eth_src=OURS, lladdr=OURS), "ours"),
    (arp(2, ROUTER, GW, VIP, tha=OURS), "gateway"),
    (arp(1, ROUTER, GW, VIP), "gateway"),
    (na(GW6, VIP6, GW6, eth_src=ROUTER, lladdr=ROUTER, flags="RSO"), "gateway"),
    (na("fe80::1", VIP6, "fe80::1", eth_src=ROUTER, lladdr=ROUTER, flags="RSO"), "gateway"),
    (ns("fe80::1", VIP6, VIP6), "gateway"),
])
def test_classify(frame: bytes, note: str | None) -> None:
    """The note is ours, conflict, gateway or nothing, as SPEC's watch names them."""
    claim = parse(frame)
    assert isinstance(claim, Claim)
    assert classify(claim, MACS, HELD, GATEWAYS) == note


# --- directed probes -------------------------------------------------------------------


macs = st.binary(min_size=6, max_size=6).map(lambda b: bytes([b[0] & 0xFE]) + b[1:])
v4 = st.integers(1, 2**32 - 1).map(ipaddress.IPv4Address)
v6 = st.integers(1, 2**128 - 1).map(ipaddress.IPv6Address).filter(lambda a: not a.is_multicast)


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def scapy_arp(mac: bytes, address: ipaddress.IPv4Address, gateway: ipaddress.IPv4Address,
              gateway_mac: bytes | None) -> bytes:
    """The directed ARP request as scapy builds it."""
    dst = _mac_text(gateway_mac) if gateway_mac else BCAST
    return raw(Ether(src=_mac_text(mac), dst=dst) / ARP(
        op=1, hwsrc=_mac_text(mac), psrc=str(address), hwdst="00:00:00:00:00:00",
        pdst=str(gateway)))


def scapy_ns(mac: bytes, address: ipaddress.IPv6Address, gateway: ipaddress.IPv6Address,
             gateway_mac: bytes | None) -> bytes:
    """The directed NS as scapy builds it (solicited-node destination when no MAC)."""
    if gateway_mac is not None:
        eth_dst, ip_dst = _mac_text(gateway_mac), str(gateway)
    else:
        low = gateway.packed[13:]
        eth_dst = "33:33:ff:" + _mac_text(low + bytes(3))[:8]
        ip_dst = str(ipaddress.IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + low))
    return raw(Ether(src=_mac_text(mac), dst=eth_dst) / IPv6(src=str(address), dst=ip_dst,
                                                            hlim=255)
               / ICMPv6ND_NS(tgt=str(gateway)) / ICMPv6NDOptSrcLLAddr(lladdr=_mac_text(mac)))


def test_directed_probe_tables() -> None:
    """The documented examples: broadcast / unicast ARP, solicited-node / unicast NS."""
    mac, router = mac_bytes(OURS), mac_bytes(ROUTER)
    broadcast = directed_arp(mac, ipaddress.IPv4Address(VIP), ipaddress.IPv4Address(GW), None)
    assert len(broadcast) == DIRECTED_ARP_LEN
    assert broadcast.hex() == (
        "ffffffffffff" "020000000002" "0806" "0001" "0800" "06" "04" "0001"
        "020000000002" "c0000264" "000000000000" "c0000201")
    unicast = directed_arp(mac, ipaddress.IPv4Address(VIP), ipaddress.IPv4Address(GW), router)
    assert unicast[:6] == router
    assert unicast[6:] == broadcast[6:]
    multicast = directed_ns(mac, ipaddress.IPv6Address(VIP6), ipaddress.IPv6Address(GW6), None)
    assert len(multicast) == DIRECTED_NS_LEN
    assert multicast[:6].hex() == "3333ff000001"
    assert multicast[38:54] == ipaddress.IPv6Address("ff02::1:ff00:1").packed
    assert multicast[21] == 255
    assert solicited_node(ipaddress.IPv6Address(GW6)) == (
        ipaddress.IPv6Address("ff02::1:ff00:1"), bytes.fromhex("3333ff000001"))


@QUICK
@given(macs, v4, v4, st.none() | macs)
def test_directed_arp_equals_scapy(mac: bytes, address: ipaddress.IPv4Address,
                                   gateway: ipaddress.IPv4Address,
                                   gateway_mac: bytes | None) -> None:
    """The directed ARP request is byte-identical to scapy's and parses back."""
    frame = ProbeCache().frame(mac, address, gateway, gateway_mac)
    assert frame == scapy_arp(mac, address, gateway, gateway_mac)
    claim = parse(frame)
    if address.is_loopback or address.is_multicast or int(address) >= 0xE0000000:
        assert claim == "bad_source"
        return
    assert isinstance(claim, Claim)
    assert (claim.mac, claim.sender, claim.target, claim.target_mac) == (
        mac, address, gateway, bytes(6))
    assert claim.kind == ("garp" if address == gateway else "arp_request")


@QUICK
@given(macs, v6, v6, st.none() | macs)
def test_directed_ns_equals_scapy(mac: bytes, address: ipaddress.IPv6Address,
                                  gateway: ipaddress.IPv6Address,
                                  gateway_mac: bytes | None) -> None:
    """The directed NS is byte-identical to scapy's (checksum included) and parses back."""
    frame = ProbeCache().frame(mac, address, gateway, gateway_mac)
    assert frame == scapy_ns(mac, address, gateway, gateway_mac)
    claim = parse(frame)
    assert isinstance(claim, Claim)
    assert (claim.kind, claim.mac, claim.sender, claim.target) == ("ns", mac, address, gateway)


def test_probe_cache_reuses_and_bounds() -> None:
    """Probes are built once per key; past the limit the cache starts over."""
    cache = ProbeCache(limit=2)
    mac = mac_bytes(OURS)
    first = cache.frame(mac, ip(VIP), ip(GW), None)
    assert cache.frame(mac, ip(VIP), ip(GW), None) is first
    cache.frame(mac, ip(VIP), ip("192.0.2.2"), None)
    cache.frame(mac, ip(VIP), ip("192.0.2.3"), None)
    assert len(cache) == 1
    with pytest.raises(ValueError, match="different families"):
        cache.frame(mac, ip(VIP), ip(GW6), None)
    with pytest.raises(ValueError, match="6 bytes"):
        cache.frame(b"\x02", ip(VIP), ip(GW), None)


# --- hostile bytes ---------------------------------------------------------------------


@QUICK
@given(st.binary(max_size=200))
def test_any_bytes_give_a_claim_or_a_reason(data: bytes) -> None:
    """Random bytes never raise: a Claim or one of the documented reasons."""
    result = parse(data)
    assert isinstance(result, Claim) or result in REASONS


def _mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from([c.frame for c in CASES])))
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(frame) - 1))
        frame[index] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(frame)))
    return bytes(frame[:cut]) if draw(st.booleans()) else bytes(frame)


@QUICK
@given(st.composite(_mutated)())
def test_mutated_frames_give_a_claim_or_a_reason(data: bytes) -> None:
    """Valid frames with bytes changed or cut never raise; a claim that survives is sane."""
    result = parse(data)
    if isinstance(result, Claim):
        assert len(result.mac) == 6
        assert result.kind in ("garp", "arp_request", "arp_reply", "probe", "ns", "na")
        assert (result.kind == "probe") == (result.is_arp and result.sender is None)
    else:
        assert result in REASONS
