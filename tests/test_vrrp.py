"""VRRP advert parsing and building (garpd.vrrp): golden adverts from keepalived 2.2.7,
malformed-input tables, build/parse round trips, the lower-priority rule, and a short fuzz.

The helpers that wrap a VRRP message in IPv4/IPv6 headers and Ethernet (with their own
RFC 1071 checksum, written independently of garpd.vrrp's) are shared with
``tests/fuzz_vrrp.py``, the long-running fuzzer.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd.vrrp import (
    VRRP_GROUP4,
    VRRP_GROUP6,
    Address,
    Advert,
    VrrpError,
    build_advert,
    is_lower,
    parse_frame,
    parse_ip_packet,
    parse_vrrp,
)
from tests import vectors

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address

# The capture's nodes: the source of each node's adverts (IPv4 primary, IPv6 link-local).
A4, B4 = IPv4("192.0.2.11"), IPv4("192.0.2.12")
A6, B6 = IPv6("fe80::ff:fe00:2"), IPv6("fe80::ff:fe00:3")
VIPS: dict[int, tuple[Address, ...]] = {
    51: (vectors.VIP4_V2,),
    52: (vectors.VIP4_V3,),
    53: (vectors.VIP6,),
}
VERSION_FAMILY = {51: (2, 4), 52: (3, 4), 53: (3, 6)}

# The same three adverts, built (test_build_reproduces_keepalived_bytes proves they equal
# keepalived's): used where a test should not depend on the capture file.
V2 = build_advert(51, 150, VIPS[51], version=2)
V3_4 = build_advert(52, 150, VIPS[52], source=A4)
V3_6 = build_advert(53, 150, VIPS[53], source=A6)
KINDS: dict[str, tuple[bytes, Address, Address]] = {
    "v2": (V2, A4, VRRP_GROUP4),
    "v3-ipv4": (V3_4, A4, VRRP_GROUP4),
    "v3-ipv6": (V3_6, A6, VRRP_GROUP6),
}

FUZZ = settings(max_examples=300, deadline=None)


# --- packet helpers (independent of garpd.vrrp) ----------------------------------------------


# A second Internet checksum, on purpose: garpd's one lives in garpd/inet.py, and this test
# oracle is written separately (the slow, obvious loop) so that a bug there cannot hide here.
def rfc1071(data: bytes) -> int:
    """RFC 1071 Internet checksum, the slow obvious way (0 when ``data`` verifies)."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += data[i] << 8 | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(
    payload: bytes,
    source: Address = A4,
    destination: Address = VRRP_GROUP4,
    *,
    ttl: int = 255,
    protocol: int = 112,
    options: bytes = b"",
    fragment: int = 0,
    ihl: int | None = None,
    total_length: int | None = None,
) -> bytes:
    """An IPv4 packet (keepalived's TOS 0xc0) around ``payload``, header checksum filled in."""
    ihl = (20 + len(options)) // 4 if ihl is None else ihl
    total = 20 + len(options) + len(payload) if total_length is None else total_length
    header = (
        bytes((0x40 | ihl, 0xC0))
        + total.to_bytes(2)
        + bytes(2)
        + fragment.to_bytes(2)
        + bytes((ttl, protocol, 0, 0))
        + source.packed
        + destination.packed
        + options
    )
    return header[:10] + rfc1071(header).to_bytes(2) + header[12:] + payload


def ipv6_packet(
    payload: bytes,
    source: Address = A6,
    destination: Address = VRRP_GROUP6,
    *,
    hop_limit: int = 255,
    next_header: int = 112,
    extension: bytes = b"",
) -> bytes:
    """An IPv6 packet (traffic class 0xc0) around ``extension + payload``."""
    body = extension + payload
    first = (6 << 28 | 0xC0 << 20).to_bytes(4)
    head = first + len(body).to_bytes(2) + bytes((next_header, hop_limit))
    return head + source.packed + destination.packed + body


def ethernet(packet: bytes, ethertype: int | None = None, *, tags: tuple[int, ...] = ()) -> bytes:
    """An Ethernet frame around ``packet``; ``tags`` are (TPID << 16 | TCI) VLAN tags."""
    if ethertype is None:
        ethertype = 0x86DD if packet[:1] and packet[0] >> 4 == 6 else 0x0800
    tag_bytes = b"".join(t.to_bytes(4) for t in tags)
    return bytes.fromhex("01005e000012020000000002") + tag_bytes + ethertype.to_bytes(2) + packet


def ip_packet(message: bytes, source: Address, destination: Address) -> bytes:
    """``message`` in an IPv4 or IPv6 packet, by the family of ``source``."""
    wrap = ipv4_packet if source.version == 4 else ipv6_packet
    return wrap(message, source, destination)


def pseudo_header(source: Address, destination: Address, length: int) -> bytes:
    """The VRRPv3 checksum pseudo-header: IPv4 as keepalived builds it, IPv6 per RFC 8200."""
    if source.version == 4:
        return source.packed + destination.packed + bytes((0, 112)) + length.to_bytes(2)
    return source.packed + destination.packed + length.to_bytes(4) + bytes((0, 0, 0, 112))


def with_byte(data: bytes, index: int, value: int) -> bytes:
    """``data`` with one byte replaced."""
    return data[:index] + bytes((value,)) + data[index + 1 :]


def parse_or_error(parse: Callable[[bytes], Advert], data: bytes) -> Advert | VrrpError:
    """The parse result, or the VrrpError it raised; any other exception propagates.

    A result is checked for consistency, an error for a non-empty reason.
    """
    try:
        result: Advert | VrrpError = parse(data)
    except VrrpError as exc:
        result = exc
    if isinstance(result, VrrpError):
        assert result.reason
        assert str(result) == result.reason
        return result
    assert result.count == len(result.addresses)
    assert result.version in (2, 3)
    assert {a.version for a in result.addresses} <= {result.family}
    assert result.destination.version == result.family
    assert (result.auth_type is None) == (result.version == 3)
    assert 0 <= result.interval <= 255
    return result


def parse_message(source: Address, destination: Address) -> Callable[[bytes], Advert]:
    """parse_vrrp with the addresses bound."""
    return lambda data: parse_vrrp(data, source=source, destination=destination)


# --- golden adverts from keepalived 2.2.7 ----------------------------------------------------


@pytest.fixture(scope="module")
def adverts() -> tuple[vectors.VrrpAdvert, ...]:
    """Every VRRP advert of the capture; a missing file fails the test with where it looked."""
    try:
        return vectors.vrrp_adverts()
    except vectors.VectorsMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_capture_holds_the_expected_adverts(adverts: tuple[vectors.VrrpAdvert, ...]) -> None:
    """Per VRID: 12 adverts at 150 and one at 0 from a, 9 at 100 and one at 0 from b."""
    seen = Counter((p.vrid, p.source, p.priority) for p in map(_parse, adverts))
    expected = Counter[tuple[int, Address, int]]()
    for vrid, (a, b) in ((51, (A4, B4)), (52, (A4, B4)), (53, (A6, B6))):
        expected.update({(vrid, a, 150): 12, (vrid, a, 0): 1, (vrid, b, 100): 9, (vrid, b, 0): 1})
    assert seen == expected
    assert len(adverts) == 69


def _parse(advert: vectors.VrrpAdvert) -> Advert:
    return parse_frame(advert.frame.data)


def test_golden_advert_fields(adverts: tuple[vectors.VrrpAdvert, ...]) -> None:
    """Every captured advert parses to its VRID's version, family, VIPs, 1 s and a good sum."""
    for captured in adverts:
        advert = _parse(captured)
        version, family = VERSION_FAMILY[advert.vrid]
        assert (advert.version, advert.family) == (version, family)
        assert advert.addresses == VIPS[advert.vrid]
        assert advert.count == 1
        assert IPv4("192.0.2.101") not in advert.addresses  # not a VIP (see vectors README)
        assert advert.interval == 1.0
        assert advert.auth_type == (0 if version == 2 else None)
        assert advert.checksum_ok
        assert not advert.checksum_as_v2
        assert advert.ttl == 255
        assert advert.source in ((A4, B4) if family == 4 else (A6, B6))
        assert advert.destination == (VRRP_GROUP4 if family == 4 else VRRP_GROUP6)
        from_a = advert.source in (A4, A6)
        assert advert.priority in ((150, 0) if from_a else (100, 0))


def test_entry_points_agree(adverts: tuple[vectors.VrrpAdvert, ...]) -> None:
    """parse_frame, parse_ip_packet on the IP part and parse_vrrp on the payload agree."""
    for captured in adverts:
        by_frame = parse_frame(captured.frame.data)
        by_packet = parse_ip_packet(captured.frame.data[14:])
        by_message = parse_vrrp(
            captured.payload,
            source=captured.src,
            destination=captured.dst,
            ttl=captured.hop_limit,
        )
        assert by_frame == by_packet == by_message


def test_build_reproduces_keepalived_bytes(adverts: tuple[vectors.VrrpAdvert, ...]) -> None:
    """build_advert from the parsed fields gives keepalived's message byte for byte."""
    for captured in adverts:
        advert = _parse(captured)
        built = build_advert(
            advert.vrid,
            advert.priority,
            advert.addresses,
            version=advert.version,
            interval=advert.interval,
            source=advert.source,
            destination=advert.destination,
        )
        assert built == captured.payload
    assert {V2, V3_4, V3_6} <= {c.payload for c in adverts}


def test_keepalived_v3_ipv4_checksum_has_pseudo_header(
    adverts: tuple[vectors.VrrpAdvert, ...],
) -> None:
    """keepalived 2.2.7's v3/IPv4 sum covers the pseudo-header; its v2 sum does not."""
    for captured in adverts:
        pseudo = pseudo_header(captured.src, captured.dst, len(captured.payload))
        if captured.vrrp_version == 2:
            assert rfc1071(captured.payload) == 0
        else:
            assert rfc1071(pseudo + captured.payload) == 0
            assert rfc1071(captured.payload) != 0  # the message alone does not verify
    # Priority 0 from a and from b: one v2 message (the sum ignores the sender), but two
    # v3 messages differing only in the checksum (the sum covers the source address).
    stopping = {(c.payload[1], c.src): c.payload for c in adverts if c.payload[2] == 0}
    assert stopping[51, A4] == stopping[51, B4]
    for vrid, a, b in ((52, A4, B4), (53, A6, B6)):
        assert stopping[vrid, a] != stopping[vrid, b]
        assert stopping[vrid, a][:6] + stopping[vrid, a][8:] == (
            stopping[vrid, b][:6] + stopping[vrid, b][8:]
        )


def test_split_brain_adverts_are_lower_for_a(adverts: tuple[vectors.VrrpAdvert, ...]) -> None:
    """a (150) sees b's 100 adverts as lower; b never sees a's as lower; 0 never counts."""
    for captured in adverts:
        advert = _parse(captured)
        a_address = A4 if advert.family == 4 else A6
        b_address = B4 if advert.family == 4 else B6
        if advert.source == b_address:
            assert is_lower(advert.priority, advert.source, 150, a_address) == (
                advert.priority == 100
            )
        else:
            assert not is_lower(advert.priority, advert.source, 100, b_address)


def test_other_capture_frames_are_not_vrrp() -> None:
    """keepalived's GARPs and unsolicited NAs raise VrrpError, not anything else."""
    try:
        others = [g.frame.data for g in vectors.garps()] + [
            n.frame.data for n in vectors.unsolicited_nas()
        ]
    except vectors.VectorsMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert others
    for frame in others:
        with pytest.raises(VrrpError, match="not"):
            parse_frame(frame)


# --- framing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_ethernet_padding_is_ignored(kind: str) -> None:
    """Bytes after the IP length (Ethernet padding to 60 and beyond) change nothing."""
    message, source, destination = KINDS[kind]
    frame = ethernet(ip_packet(message, source, destination))
    expected = parse_frame(frame)
    assert expected.checksum_ok
    for pad in (bytes(max(0, 60 - len(frame))), b"\xff" * 7, bytes(100)):
        assert parse_frame(frame + pad) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_single_vlan_tag(kind: str) -> None:
    """One 802.1Q tag is skipped: a tagged frame parses like the untagged one."""
    message, source, destination = KINDS[kind]
    packet = ip_packet(message, source, destination)
    tagged = ethernet(packet, tags=(0x8100_E064,))  # PCP 7, VLAN 100
    assert parse_frame(tagged) == parse_frame(ethernet(packet)) == parse_ip_packet(packet)


def test_ipv4_options_are_skipped() -> None:
    """An IPv4 header with options (router alert) is skipped by its IHL."""
    packet = ipv4_packet(V2, options=bytes.fromhex("94040000"))
    advert = parse_ip_packet(packet)
    assert advert == parse_vrrp(V2, source=A4, destination=VRRP_GROUP4, ttl=255)
    assert advert.checksum_ok


def test_ttl_and_hop_limit_are_reported_not_judged() -> None:
    """A TTL / hop limit other than 255 parses; the caller decides what to do with it."""
    assert parse_ip_packet(ipv4_packet(V2, ttl=1)).ttl == 1
    assert parse_ip_packet(ipv6_packet(V3_6, hop_limit=64)).ttl == 64
    assert parse_vrrp(V2, source=A4, destination=VRRP_GROUP4).ttl is None


def test_trailing_bytes_inside_ip_length() -> None:
    """Bytes after the addresses (and v2 auth) inside the IP length parse and are summed."""
    v2_padded = parse_ip_packet(ipv4_packet(V2 + bytes(4)))  # zero words leave a v2 sum alone
    assert v2_padded.checksum_ok
    assert v2_padded.addresses == VIPS[51]
    trailer = b"\x12\x34\x56"
    # A v3 trailer not covered by the sender's checksum: reported, not raised.
    assert not parse_ip_packet(ipv4_packet(V3_4 + trailer)).checksum_ok
    # One the sender did sum: fix the checksum so that message + trailer verifies.
    unsummed = V3_4[:6] + bytes(2) + V3_4[8:] + trailer
    pseudo = pseudo_header(A4, VRRP_GROUP4, len(unsummed))
    summed = V3_4[:6] + rfc1071(pseudo + unsummed).to_bytes(2) + V3_4[8:] + trailer
    advert = parse_ip_packet(ipv4_packet(summed))
    assert advert.checksum_ok
    assert advert.addresses == VIPS[52]


# --- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_truncation_raises(kind: str) -> None:
    """Cutting the message, the IP packet or the frame anywhere short raises VrrpError."""
    message, source, destination = KINDS[kind]
    packet = ip_packet(message, source, destination)
    frame = ethernet(packet)
    for whole, parse in (
        (message, parse_message(source, destination)),
        (packet, parse_ip_packet),
        (frame, parse_frame),
    ):
        parse(whole)
        for length in range(len(whole)):
            with pytest.raises(VrrpError, match="truncated"):
                parse(whole[:length])


MESSAGE_CASES: list[tuple[str, bytes, int, str]] = [
    # (id, VRRP message, family, expected reason)
    ("version-0", with_byte(V2, 0, 0x01), 4, "version 0"),
    ("version-1", with_byte(V2, 0, 0x11), 4, "version 1"),
    ("version-4", with_byte(V3_4, 0, 0x41), 4, "version 4"),
    ("version-15", with_byte(V3_6, 0, 0xF1), 6, "version 15"),
    ("type-0", with_byte(V2, 0, 0x20), 4, "type 0"),
    ("type-2", with_byte(V3_4, 0, 0x32), 4, "type 2"),
    ("type-15", with_byte(V3_6, 0, 0x3F), 6, "type 15"),
    ("v2-count-too-large", with_byte(V2, 3, 2), 4, "count 2 needs 24"),
    ("v3-ipv4-count-too-large", with_byte(V3_4, 3, 2), 4, "count 2 needs 16"),
    ("v3-ipv6-count-too-large", with_byte(V3_6, 3, 2), 6, "count 2 needs 40"),
    ("count-255", with_byte(V3_6, 3, 255), 6, "count 255"),
    ("v2-without-auth-data", V2[:-8], 4, "truncated"),
    ("v2-over-ipv6", V2, 6, "VRRPv2 over IPv6"),
    ("empty", b"", 4, "truncated"),
]


@pytest.mark.parametrize(
    ("message", "family", "reason"),
    [pytest.param(m, f, r, id=i) for i, m, f, r in MESSAGE_CASES],
)
def test_malformed_message(message: bytes, family: int, reason: str) -> None:
    """A malformed VRRP message raises VrrpError with a telling reason, in every wrapping."""
    source, destination = (A4, VRRP_GROUP4) if family == 4 else (A6, VRRP_GROUP6)
    with pytest.raises(VrrpError, match=reason):
        parse_vrrp(message, source=source, destination=destination)
    packet = ip_packet(message, source, destination)
    with pytest.raises(VrrpError, match=reason):
        parse_ip_packet(packet)
    with pytest.raises(VrrpError, match=reason):
        parse_frame(ethernet(packet))


HOP_BY_HOP_ALERT = bytes((112, 0, 5, 2, 0, 0, 1, 0))  # next header 112, router alert option
PACKET_CASES: list[tuple[str, bytes, str]] = [
    # (id, IP packet, expected reason)
    ("ipv6-hop-by-hop", ipv6_packet(V3_6, next_header=0, extension=HOP_BY_HOP_ALERT), "header 0"),
    ("ipv6-routing", ipv6_packet(V3_6, next_header=43, extension=HOP_BY_HOP_ALERT), "header 43"),
    ("ipv6-fragment", ipv6_packet(V3_6, next_header=44, extension=HOP_BY_HOP_ALERT), "header 44"),
    ("ipv6-dest-opts", ipv6_packet(V3_6, next_header=60, extension=HOP_BY_HOP_ALERT), "header 60"),
    ("ipv6-ah", ipv6_packet(V3_6, next_header=51, extension=bytes(24)), "extension header 51"),
    ("ipv6-icmpv6", ipv6_packet(V3_6, next_header=58), "not VRRP"),
    ("ipv4-ah", ipv4_packet(V2, protocol=51), r"not VRRP \(IP protocol 51\)"),
    ("ipv4-udp", ipv4_packet(V2, protocol=17), "not VRRP"),
    ("ipv4-more-fragments", ipv4_packet(V2, fragment=0x2000), "fragment"),
    ("ipv4-fragment-offset", ipv4_packet(V2, fragment=0x0001), "fragment"),
    ("ipv4-bad-header-checksum", with_byte(ipv4_packet(V2), 11, 0), "header checksum"),
    ("ipv4-ihl-4", ipv4_packet(V2, ihl=4), "header length 16"),
    ("ipv4-total-below-ihl", ipv4_packet(V2, total_length=19), "total length 19"),
    ("ipv4-total-beyond-data", ipv4_packet(V2, total_length=41), "truncated"),
    ("ipv6-payload-beyond-data", ipv6_packet(V3_6)[:-1], "truncated"),
    ("ip-version-5", bytes((0x55,)) + ipv4_packet(V2)[1:], "not IP"),
    ("ip-version-0", bytes(40), "not IP"),
    ("empty", b"", "truncated"),
]


@pytest.mark.parametrize(
    ("packet", "reason"), [pytest.param(p, r, id=i) for i, p, r in PACKET_CASES]
)
def test_malformed_ip_packet(packet: bytes, reason: str) -> None:
    """IP-level problems raise VrrpError: extension headers, other protocols, bad headers."""
    with pytest.raises(VrrpError, match=reason):
        parse_ip_packet(packet)
    if packet and packet[0] >> 4 in (4, 6):
        with pytest.raises(VrrpError, match=reason):
            parse_frame(ethernet(packet))


FRAME_CASES: list[tuple[str, bytes, str]] = [
    ("arp", ethernet(bytes(28), 0x0806), "ethertype 0x0806"),
    ("ipv4-ethertype-ipv6-packet", ethernet(ipv6_packet(V3_6), 0x0800), "not IPv4"),
    ("ipv6-ethertype-ipv4-packet", ethernet(ipv4_packet(V2), 0x86DD), "not IPv6"),
    ("two-vlan-tags", ethernet(ipv4_packet(V2), tags=(0x8100_0064, 0x8100_0065)), "VLAN"),
    ("qinq-inner-8021ad", ethernet(ipv4_packet(V2), tags=(0x8100_0064, 0x88A8_0001)), "VLAN"),
    ("8021ad-outer", ethernet(ipv4_packet(V2), tags=(0x88A8_0064,)), "ethertype 0x88a8"),
    ("short-header", bytes(13), "truncated"),
    ("short-vlan-header", ethernet(b"", 0x8100)[:16], "truncated"),
    ("ethernet-only", ethernet(b"", 0x0800), "truncated"),
]


@pytest.mark.parametrize(("frame", "reason"), [pytest.param(f, r, id=i) for i, f, r in FRAME_CASES])
def test_malformed_frame(frame: bytes, reason: str) -> None:
    """Ethernet-level problems raise VrrpError: not IP, wrong version, stacked tags, short."""
    with pytest.raises(VrrpError, match=reason):
        parse_frame(frame)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("index", "mask"), [(6, 0x01), (7, 0x80), (8, 0x01), (1, 0x01)])
def test_bad_checksum_is_reported_not_raised(kind: str, index: int, mask: int) -> None:
    """A flipped bit in the checksum, an address or the VRID gives checksum_ok False."""
    message, source, destination = KINDS[kind]
    damaged = with_byte(message, index, message[index] ^ mask)
    advert = parse_vrrp(damaged, source=source, destination=destination)
    assert not advert.checksum_ok
    assert not advert.checksum_as_v2
    good = parse_vrrp(message, source=source, destination=destination)
    assert advert.count == good.count
    assert advert.priority == good.priority
    assert parse_ip_packet(ip_packet(damaged, source, destination)) == replace(advert, ttl=255)


def test_v3_checksum_depends_on_the_addresses_v2_does_not() -> None:
    """The v3 pseudo-header covers source and destination; the v2 sum covers neither."""
    other4, other6 = IPv4("192.0.2.99"), IPv6("fe80::99")
    assert parse_vrrp(V2, source=other4, destination=other4).checksum_ok
    assert not parse_vrrp(V3_4, source=other4, destination=VRRP_GROUP4).checksum_ok
    assert not parse_vrrp(V3_4, source=A4, destination=other4).checksum_ok
    assert not parse_vrrp(V3_6, source=other6, destination=VRRP_GROUP6).checksum_ok
    assert not parse_vrrp(V3_6, source=A6, destination=other6).checksum_ok
    unicast = build_advert(52, 150, VIPS[52], source=A4, destination=B4)
    assert parse_vrrp(unicast, source=A4, destination=B4).checksum_ok


def test_v3_ipv4_message_only_checksum_is_accepted_and_flagged() -> None:
    """v3/IPv4 with keepalived's v3_checksum_as_v2 sum: ok, and checksum_as_v2 says so."""
    as_v2 = build_advert(52, 150, VIPS[52], checksum_as_v2=True)
    assert rfc1071(as_v2) == 0
    advert = parse_vrrp(as_v2, source=A4, destination=VRRP_GROUP4)
    assert advert.checksum_ok
    assert advert.checksum_as_v2
    # IPv6 has no message-only form: the same trick there is a bad checksum.
    v6_as_v2 = V3_6[:6] + rfc1071(V3_6[:6] + bytes(2) + V3_6[8:]).to_bytes(2) + V3_6[8:]
    assert not parse_vrrp(v6_as_v2, source=A6, destination=VRRP_GROUP6).checksum_ok


def test_v3_interval_ignores_reserved_bits() -> None:
    """The v3 interval is the low 12 bits in centiseconds; the 4 reserved bits are ignored."""
    message = build_advert(52, 150, VIPS[52], interval=40.95, source=A4)
    assert message[4:6] == b"\x0f\xff"
    assert parse_vrrp(message, source=A4, destination=VRRP_GROUP4).interval == 40.95
    reserved = with_byte(message, 4, 0xFF)
    assert parse_vrrp(reserved, source=A4, destination=VRRP_GROUP4).interval == 40.95


def test_mixed_families_are_a_caller_error() -> None:
    """parse_vrrp with an IPv4 source and IPv6 destination is a ValueError, not a VrrpError."""
    with pytest.raises(ValueError, match="differ in family") as info:
        parse_vrrp(V3_4, source=A4, destination=VRRP_GROUP6)
    assert not isinstance(info.value, VrrpError)


# --- build / parse round trip ----------------------------------------------------------------

ADDRESS4: st.SearchStrategy[Address] = st.integers(0, 2**32 - 1).map(IPv4)
ADDRESS6: st.SearchStrategy[Address] = st.integers(0, 2**128 - 1).map(IPv6)


@FUZZ
@given(
    data=st.data(),
    version=st.sampled_from([2, 3]),
    ipv6=st.booleans(),
    vrid=st.integers(0, 255),
    priority=st.integers(0, 255),
    auth_type=st.integers(0, 255),
)
def test_build_parse_round_trip(
    data: st.DataObject, version: int, ipv6: bool, vrid: int, priority: int, auth_type: int
) -> None:
    """Whatever build_advert builds, every parser reads back with a verifying checksum."""
    ipv6 = ipv6 and version == 3
    address = ADDRESS6 if ipv6 else ADDRESS4
    addresses = tuple(data.draw(st.lists(address, max_size=20)))
    source, destination = data.draw(address), data.draw(address)
    if version == 2:
        interval = float(data.draw(st.integers(0, 255)))
        message = build_advert(
            vrid, priority, addresses, version=2, interval=interval, auth_type=auth_type
        )
    else:
        interval = data.draw(st.integers(0, 4095)) / 100
        message = build_advert(
            vrid, priority, addresses, interval=interval, source=source, destination=destination
        )
    advert = parse_vrrp(message, source=source, destination=destination, ttl=255)
    assert (advert.version, advert.vrid, advert.priority) == (version, vrid, priority)
    assert (advert.count, advert.addresses) == (len(addresses), addresses)
    assert advert.interval == interval
    assert advert.auth_type == (auth_type if version == 2 else None)
    assert advert.checksum_ok
    assert not advert.checksum_as_v2
    packet = ip_packet(message, source, destination)
    assert parse_ip_packet(packet) == parse_frame(ethernet(packet)) == advert
    # The checksum also verifies by the independent RFC 1071 code and pseudo-header.
    covered = message if version == 2 else pseudo_header(source, destination, len(message))
    assert rfc1071(covered + message if version == 3 else message) == 0


BUILD_ERRORS: list[tuple[str, Callable[[], bytes], str]] = [
    ("v2-ipv6", lambda: build_advert(1, 1, [A6], version=2), "IPv4 addresses only"),
    ("mixed-families", lambda: build_advert(1, 1, [A4, A6], source=A4), "one IP family"),
    ("source-family", lambda: build_advert(1, 1, [A4], source=A6), "one IP family"),
    ("v3-no-source", lambda: build_advert(1, 1, [A4]), "give source"),
    ("vrid-256", lambda: build_advert(256, 1, [A4], version=2), "vrid 256"),
    ("priority-negative", lambda: build_advert(1, -1, [A4], version=2), "priority -1"),
    ("too-many-addresses", lambda: build_advert(1, 1, [A4] * 256, version=2), "count 256"),
    ("v2-fractional", lambda: build_advert(1, 1, [A4], version=2, interval=0.5), "whole"),
    ("v3-too-long", lambda: build_advert(1, 1, [A4], interval=41, source=A4), "40.95"),
    ("v3-nan", lambda: build_advert(1, 1, [A4], interval=float("nan"), source=A4), "40.95"),
    ("v6-as-v2", lambda: build_advert(1, 1, [A6], checksum_as_v2=True), "pseudo-header"),
]


@pytest.mark.parametrize(
    ("build", "reason"), [pytest.param(b, r, id=i) for i, b, r in BUILD_ERRORS]
)
def test_build_rejects_what_does_not_fit(build: Callable[[], bytes], reason: str) -> None:
    """build_advert raises ValueError for inputs the wire format cannot carry."""
    with pytest.raises(ValueError, match=reason):
        build()


# --- the lower-priority rule -----------------------------------------------------------------

LOWER_CASES: list[tuple[str, int, Address, int, Address, bool]] = [
    # (id, advert priority, advert source, local priority, local address, is lower)
    ("lower", 100, B4, 150, A4, True),
    ("lower-from-lower-address", 100, IPv4("192.0.2.1"), 150, A4, True),
    ("higher", 200, B4, 150, A4, False),
    ("higher-from-lower-address", 200, IPv4("192.0.2.1"), 150, A4, False),
    ("equal-lower-source", 150, A4, 150, B4, True),
    ("equal-higher-source", 150, B4, 150, A4, False),
    ("equal-same-source", 150, A4, 150, A4, False),  # our own advert looped back
    ("equal-compares-as-integers", 150, IPv4("10.0.0.9"), 150, IPv4("10.0.0.10"), True),
    ("priority-0", 0, B4, 150, A4, False),
    ("priority-0-lower-source", 0, IPv4("192.0.2.1"), 150, A4, False),
    ("priority-0-vs-local-1", 0, IPv4("192.0.2.1"), 1, A4, False),
    ("owner-sees-254", 254, B4, 255, A4, True),
    ("owner-vs-owner-lower-source", 255, A4, 255, B4, True),
    ("ipv6-lower", 100, B6, 150, A6, True),
    ("ipv6-equal-lower-source", 150, A6, 150, B6, True),
    ("ipv6-equal-higher-source", 150, B6, 150, A6, False),
    ("families-differ-equal", 150, IPv4("0.0.0.1"), 150, A6, False),
    ("families-differ-lower", 100, B4, 150, A6, True),
]


@pytest.mark.parametrize(
    ("advert_priority", "advert_source", "local_priority", "local_address", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in LOWER_CASES],
)
def test_is_lower(
    advert_priority: int,
    advert_source: Address,
    local_priority: int,
    local_address: Address,
    expected: bool,
) -> None:
    """Lower priority, or equal with a lower source address, and never priority 0."""
    assert is_lower(advert_priority, advert_source, local_priority, local_address) is expected


@pytest.mark.parametrize(("advert", "local"), [(256, 100), (100, -1), (-1, 100), (100, 300)])
def test_is_lower_rejects_impossible_priorities(advert: int, local: int) -> None:
    """Priorities outside 0-255 are a caller bug: ValueError."""
    with pytest.raises(ValueError, match="not in 0-255"):
        is_lower(advert, B4, local, A4)


# --- fuzz: nothing but VrrpError ----------------------------------------------------------


def _golden() -> list[vectors.VrrpAdvert]:
    """One captured advert per distinct frame (the capture repeats them)."""
    try:
        adverts = vectors.vrrp_adverts()
    except vectors.VectorsMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    return list({a.frame.data: a for a in adverts}.values())


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` after 1-4 bit flips, byte writes, truncations or extensions."""
    buf = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "write", "truncate", "extend", "insert", "delete"]))
        at = draw(st.integers(0, len(buf)))
        if op == "flip" and at < len(buf):
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "write" and at < len(buf):
            buf[at] = draw(st.integers(0, 255))
        elif op == "truncate":
            del buf[at:]
        elif op == "extend":
            buf += draw(st.binary(min_size=1, max_size=64))
        elif op == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del buf[at : at + draw(st.integers(1, 16))]
    return bytes(buf)


def check_all_parsers(data: bytes, source: Address, destination: Address) -> None:
    """Feed ``data`` to every entry point; each returns an Advert or raises VrrpError."""
    parse_or_error(parse_frame, data)
    parse_or_error(parse_ip_packet, data)
    parse_or_error(parse_message(source, destination), data)


@FUZZ
@given(data=st.binary(max_size=200), ipv6=st.booleans())
def test_random_bytes_raise_only_vrrp_error(data: bytes, ipv6: bool) -> None:
    """Random bytes never raise anything but VrrpError from any parser."""
    check_all_parsers(data, *((A6, VRRP_GROUP6) if ipv6 else (A4, VRRP_GROUP4)))


@FUZZ
@given(data=st.data())
def test_mutated_golden_adverts_raise_only_vrrp_error(data: st.DataObject) -> None:
    """Bit flips, truncations and extensions of the real adverts: Advert or VrrpError only."""
    golden = data.draw(st.sampled_from(_golden()))
    frame = data.draw(mutated(golden.frame.data))
    check_all_parsers(frame, golden.src, golden.dst)
    check_all_parsers(frame[14:], golden.src, golden.dst)
    payload = data.draw(mutated(golden.payload))
    parse_or_error(parse_message(golden.src, golden.dst), payload)
    parse_or_error(parse_ip_packet, ip_packet(payload, golden.src, golden.dst))


@FUZZ
@given(data=st.data(), extra=st.binary(min_size=1, max_size=100))
def test_extending_a_golden_frame_changes_nothing(data: st.DataObject, extra: bytes) -> None:
    """Any bytes after the IP length are padding: the parse is the same."""
    golden = data.draw(st.sampled_from(_golden()))
    assert parse_frame(golden.frame.data + extra) == parse_frame(golden.frame.data)
