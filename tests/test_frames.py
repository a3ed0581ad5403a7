"""GARP and unsolicited-NA bytes: golden frames from keepalived, field tables, scapy parity."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet

from garpd.frames import GARP_LEN, NA_LEN, Address, FrameCache, Mode, mac_bytes, mac_text
from tests import vectors

#: sha256 of keepalived-2.2.7-failover.pcap as the project received it (shared/vectors).
VECTORS_SHA256 = "ad95ad6165c44791b8b09e1c16d6f69a3ec95978ac897f3516f098ac2d07a707"

BROADCAST = "ff:ff:ff:ff:ff:ff"
ALL_NODES_MAC = "33:33:00:00:00:01"
ALL_NODES = ipaddress.IPv6Address("ff02::1")
MIN_ETH_FRAME = 60  # without FCS; shorter frames are padded with zeros


@pytest.fixture(scope="module")
def capture() -> tuple[vectors.CapturedFrame, ...]:
    """The keepalived capture; a missing file fails the test with where it was looked for."""
    try:
        return vectors.frames()
    except vectors.VectorsMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


def _ip(text: str) -> Address:
    return ipaddress.ip_address(text)


# --- golden bytes from keepalived 2.2.7 ---------------------------------------------------


def test_capture_holds_the_expected_frames(capture: tuple[vectors.CapturedFrame, ...]) -> None:
    """Both nodes' GARPs and NAs for every VIP are in the capture: golden tests are not vacuous."""
    garps = [vectors.parse_garp(f) for f in capture]
    nas = [vectors.parse_unsolicited_na(f) for f in capture]
    garp_keys = {(g.sender_mac, g.address, g.op) for g in garps if g is not None}
    na_keys = {(n.frame.src_mac, n.target) for n in nas if n is not None}
    assert garp_keys == {
        (mac, vip, 1)
        for mac in (vectors.NODE_A_MAC, vectors.NODE_B_MAC)
        for vip in (vectors.VIP4_V2, vectors.VIP4_V3)
    }
    assert na_keys == {(vectors.NODE_A_MAC, vectors.VIP6), (vectors.NODE_B_MAC, vectors.VIP6)}
    assert (len(vectors.garps()), len(vectors.unsolicited_nas())) == (48, 24)


@pytest.mark.usefixtures("capture")
def test_garp_request_matches_keepalived() -> None:
    """Every keepalived GARP in the capture equals garpd's request frame (plus zero padding)."""
    cache = FrameCache()
    garps = vectors.garps()
    assert garps
    mismatches = []
    for garp in garps:
        data = garp.frame.data
        ours = cache.slot(garp.sender_mac, garp.address, "request", False)
        if (
            len(ours) != 1
            or ours[0] != data[:GARP_LEN]
            or data[GARP_LEN:] != bytes(len(data) - GARP_LEN)
            or len(data) not in (GARP_LEN, MIN_ETH_FRAME)
        ):
            mismatches.append((garp.frame.index, data.hex(), [f.hex() for f in ours]))
    assert mismatches == []


@pytest.mark.usefixtures("capture")
def test_unsolicited_na_matches_keepalived() -> None:
    """Every keepalived unsolicited NA in the capture equals garpd's NA, all 86 bytes."""
    cache = FrameCache()
    nas = vectors.unsolicited_nas()
    assert nas
    mismatches = []
    for na in nas:
        data = na.frame.data
        assert na.src == na.target  # keepalived sends from the VIP itself
        # IPv6 ignores the ARP mode, so any mode must give the same single NA.
        ours = cache.slot(na.frame.src_mac, na.target, "both", na.router)
        if len(data) != NA_LEN or ours != (data,):
            mismatches.append((na.frame.index, data.hex(), [f.hex() for f in ours]))
    assert mismatches == []


def test_vectors_are_the_shared_capture() -> None:
    """The repository's copy of the golden capture is the keepalived 2.2.7 capture itself."""
    digest = hashlib.sha256(vectors.capture_path().read_bytes()).hexdigest()
    assert digest == VECTORS_SHA256
    assert len(vectors.read_pcap(vectors.capture_path())) == len(vectors.frames())


# --- field-by-field tables ------------------------------------------------------------------


@dataclass(frozen=True)
class ArpCase:
    """One GARP to build, the fields it must parse back to and, by hand, its wire bytes."""

    name: str
    mac: str
    address: str
    mode: Mode
    op: int
    hwdst: str
    wire: tuple[str, ...]
    """Hex fields, grouped as in the layout (Ethernet, ARP header, sender, target)."""


ARP_CASES = [
    ArpCase(
        name="request",
        mac="02:00:00:00:00:02",
        address="192.0.2.100",
        mode="request",
        op=1,
        hwdst=BROADCAST,
        wire=(
            "ffffffffffff 020000000002 0806",  # Ethernet dst, src, type
            "0001 0800 06 04 0001",  # htype, ptype, hlen, plen, op
            "020000000002 c0000264",  # sender MAC, IP
            "ffffffffffff c0000264",  # target MAC, IP
        ),
    ),
    ArpCase(
        name="reply",
        mac="02:00:00:00:00:02",
        address="192.0.2.100",
        mode="reply",
        op=2,
        hwdst="02:00:00:00:00:02",
        wire=(
            "ffffffffffff 020000000002 0806",
            "0001 0800 06 04 0002",
            "020000000002 c0000264",
            "020000000002 c0000264",
        ),
    ),
    ArpCase(
        name="request-high-bytes",
        mac="fe:dc:ba:98:76:54",
        address="255.255.255.254",
        mode="request",
        op=1,
        hwdst=BROADCAST,
        wire=(
            "ffffffffffff fedcba987654 0806",
            "0001 0800 06 04 0001",
            "fedcba987654 fffffffe",
            "ffffffffffff fffffffe",
        ),
    ),
    ArpCase(
        name="reply-low-address",
        mac="00:00:5e:00:01:33",
        address="10.0.0.1",
        mode="reply",
        op=2,
        hwdst="00:00:5e:00:01:33",
        wire=(
            "ffffffffffff 00005e000133 0806",
            "0001 0800 06 04 0002",
            "00005e000133 0a000001",
            "00005e000133 0a000001",
        ),
    ),
]


@pytest.mark.parametrize("case", ARP_CASES, ids=lambda c: c.name)
def test_garp_fields(case: ArpCase) -> None:
    """A GARP has the hand-written wire bytes and parses back (scapy) to the expected fields."""
    (frame,) = FrameCache().slot(mac_bytes(case.mac), _ip(case.address), case.mode, False)
    assert frame == bytes.fromhex(" ".join(case.wire))
    packet = Ether(frame)
    assert (packet.dst, packet.src, packet.type) == (BROADCAST, case.mac, 0x0806)
    arp = packet[ARP]
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) == (1, 0x0800, 6, 4)
    assert arp.op == case.op
    assert (arp.hwsrc, arp.psrc) == (case.mac, case.address)
    assert (arp.hwdst, arp.pdst) == (case.hwdst, case.address)
    assert len(frame) == GARP_LEN
    assert not arp.payload  # nothing after the ARP body (no padding: the kernel pads)


@dataclass(frozen=True)
class NaCase:
    """One unsolicited NA to build and the flags it must carry."""

    name: str
    mac: str
    address: str
    router: bool


NA_CASES = [
    NaCase("host", "02:00:00:00:00:02", "2001:db8::100", router=False),
    NaCase("router", "02:00:00:00:00:02", "2001:db8::100", router=True),
    NaCase("link-local", "00:00:5e:00:02:35", "fe80::1", router=False),
    NaCase("all-ones", "fe:ff:ff:ff:ff:fe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", True),
    NaCase("v4-mapped", "02:11:22:33:44:55", "::ffff:192.0.2.1", router=False),
]


@pytest.mark.parametrize("case", NA_CASES, ids=lambda c: c.name)
def test_unsolicited_na_fields(case: NaCase) -> None:
    """An NA parses back (scapy) to the expected Ethernet, IPv6, NA and option fields."""
    address = ipaddress.IPv6Address(case.address)
    (frame,) = FrameCache().slot(mac_bytes(case.mac), address, "request", case.router)
    assert len(frame) == NA_LEN
    packet = Ether(frame)
    assert (packet.dst, packet.src, packet.type) == (ALL_NODES_MAC, case.mac, 0x86DD)
    ip6 = packet[IPv6]
    assert (ip6.version, ip6.tc, ip6.fl, ip6.plen, ip6.nh, ip6.hlim) == (6, 0, 0, 32, 58, 255)
    assert ipaddress.IPv6Address(ip6.src) == address
    assert ipaddress.IPv6Address(ip6.dst) == ALL_NODES
    na = packet[ICMPv6ND_NA]
    assert (na.type, na.code) == (136, 0)
    assert (na.R, na.S, na.O, na.res) == (int(case.router), 0, 1, 0)
    assert ipaddress.IPv6Address(na.tgt) == address
    option = packet[ICMPv6NDOptDstLLAddr]
    assert (option.type, option.len, option.lladdr) == (2, 1, case.mac)
    assert not option.payload  # the option is the last thing in the frame


@pytest.mark.parametrize("case", NA_CASES, ids=lambda c: c.name)
def test_unsolicited_na_checksum(case: NaCase) -> None:
    """The NA's ICMPv6 checksum is the one scapy computes when rebuilding the packet."""
    address = ipaddress.IPv6Address(case.address)
    (frame,) = FrameCache().slot(mac_bytes(case.mac), address, "request", case.router)
    packet = Ether(frame)
    stored = packet[ICMPv6ND_NA].cksum
    del packet[ICMPv6ND_NA].cksum
    rebuilt = bytes(packet)
    assert Ether(rebuilt)[ICMPv6ND_NA].cksum == stored
    assert rebuilt == frame


# --- modes ----------------------------------------------------------------------------------


def test_both_mode_is_request_then_reply() -> None:
    """For IPv4, "both" gives the request frame followed by the reply frame."""
    cache = FrameCache()
    mac, address = mac_bytes("02:00:00:00:00:02"), _ip("192.0.2.100")
    both = cache.slot(mac, address, "both", False)
    request = cache.slot(mac, address, "request", False)
    reply = cache.slot(mac, address, "reply", False)
    assert both == request + reply
    assert [Ether(f)[ARP].op for f in both] == [1, 2]


@pytest.mark.parametrize("router", [False, True])
def test_ipv6_ignores_mode(router: bool) -> None:
    """For IPv6 every ARP mode gives the same single unsolicited NA."""
    cache = FrameCache()
    mac, address = mac_bytes("02:00:00:00:00:02"), _ip("2001:db8::100")
    modes: tuple[Mode, ...] = ("request", "reply", "both")
    slots = {cache.slot(mac, address, mode, router) for mode in modes}
    assert len(slots) == 1
    (slot,) = slots
    assert len(slot) == 1
    assert bool(Ether(slot[0])[ICMPv6ND_NA].R) is router


# --- parity with a full scapy build ---------------------------------------------------------


def _scapy_frames(mac: bytes, address: Address, mode: Mode, router: bool) -> tuple[bytes, ...]:
    """The slot built entirely by scapy, leaving every field scapy can fill to scapy."""
    text = mac_text(mac)
    if address.version == 6:
        packet: Packet = (
            Ether(dst=ALL_NODES_MAC, src=text)
            / IPv6(src=str(address), dst=str(ALL_NODES), hlim=255)
            / ICMPv6ND_NA(R=int(router), S=0, O=1, tgt=str(address))
            / ICMPv6NDOptDstLLAddr(lladdr=text)
        )
        return (bytes(packet),)
    ops = {"request": (1,), "reply": (2,), "both": (1, 2)}[mode]
    return tuple(
        bytes(
            Ether(dst=BROADCAST, src=text)
            / ARP(
                op=op,
                hwsrc=text,
                psrc=str(address),
                hwdst=BROADCAST if op == 1 else text,
                pdst=str(address),
            )
        )
        for op in ops
    )


unicast_macs = st.binary(min_size=6, max_size=6).map(lambda b: bytes([b[0] & 0xFE]) + b[1:])
addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
modes = st.sampled_from(["request", "reply", "both"])


@settings(max_examples=200, deadline=None)
@given(
    mac=unicast_macs,
    targets=st.lists(st.tuples(addresses, modes, st.booleans()), min_size=1, max_size=4),
)
def test_slot_equals_full_scapy_build(
    mac: bytes, targets: list[tuple[Address, Mode, bool]]
) -> None:
    """Patched template frames equal a full scapy build byte for byte, for any MAC/address/R."""
    cache = FrameCache()  # several addresses per MAC: later ones patch a cached template
    for address, mode, router in targets:
        assert cache.slot(mac, address, mode, router) == _scapy_frames(mac, address, mode, router)


# --- cache ----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["192.0.2.100", "2001:db8::100"])
def test_cache_returns_same_objects(address: str) -> None:
    """A second call returns the very same bytes objects, not equal copies."""
    cache = FrameCache()
    mac = mac_bytes("02:00:00:00:00:02")
    first = cache.slot(mac, _ip(address), "both", False)
    second = cache.slot(mac, _ip(address), "both", False)
    assert first is second
    assert all(a is b for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("address", ["192.0.2.100", "2001:db8::100"])
def test_cache_rebuilds_for_new_mac(address: str) -> None:
    """Changing the MAC gives different frames that carry the new MAC."""
    cache = FrameCache()
    old, new = mac_bytes("02:00:00:00:00:02"), mac_bytes("02:00:00:00:00:03")
    before = cache.slot(old, _ip(address), "both", False)
    after = cache.slot(new, _ip(address), "both", False)
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        assert a != b
        assert (a[6:12], b[6:12]) == (old, new)
        assert old not in b
    assert cache.slot(old, _ip(address), "both", False) is before


# --- MAC text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("02:00:00:00:00:01", bytes.fromhex("020000000001")),
        ("AA:bb:CC:dd:EE:ff", bytes.fromhex("aabbccddeeff")),
        ("fe-dc-ba-98-76-54", bytes.fromhex("fedcba987654")),
        ("2:0:0:0:0:a", bytes.fromhex("02000000000a")),
    ],
)
def test_mac_bytes_parses(text: str, raw: bytes) -> None:
    """mac_bytes accepts either case, ':' or '-', and one- or two-digit groups."""
    assert mac_bytes(text) == raw
    assert mac_text(raw) == mac_text(mac_bytes(text.upper()))


@given(st.binary(min_size=6, max_size=6))
def test_mac_round_trip(raw: bytes) -> None:
    """mac_text gives lower-case colon form and mac_bytes reads it back unchanged."""
    text = mac_text(raw)
    assert text == text.lower()
    assert len(text) == 17
    assert mac_bytes(text) == raw
    assert mac_bytes(text.upper()) == raw


@pytest.mark.parametrize("text", ["", "02:00:00:00:00", "zz:00:00:00:00:00", "002:00:00:00:00:01"])
def test_mac_bytes_rejects_malformed(text: str) -> None:
    """mac_bytes raises ValueError on empty, short, non-hex and over-long-group input."""
    with pytest.raises(ValueError, match="not a MAC address"):
        mac_bytes(text)


@pytest.mark.parametrize("bad", ["+2:00:00:00:00:01", " 2:00:00:00:00:01", "02:00:00:00:00:0\n",
                                 "\u0660\u0662:00:00:00:00:01"])
def test_mac_bytes_rejects_signs_spaces_and_unicode_digits(bad: str) -> None:
    """int(x, 16) leniency (signs, spaces, Unicode digits) does not leak into MAC parsing."""
    with pytest.raises(ValueError, match="not a MAC"):
        mac_bytes(bad)
