"""VRRP parsing and building, exactly: the whole reason of every refusal (what the
``vrrp_rejected`` log shows), the edges of each length check, a packet longer than 255
bytes, and the defaults of ``build_advert``. Packets are built with the independent helpers
of ``tests/test_vrrp.py``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pytest

from garpd.vrrp import (
    VRRP_GROUP4,
    VRRP_GROUP6,
    VrrpError,
    build_advert,
    is_lower,
    parse_frame,
    parse_ip_packet,
    parse_vrrp,
)
from tests.test_vrrp import A4, A6, B4, V2, V3_4, V3_6, ethernet, ipv4_packet, ipv6_packet

PARSE_ERRORS: list[tuple[str, Callable[[], object], str]] = [
    ("v2-over-ipv6", lambda: parse_vrrp(V2, source=A6, destination=VRRP_GROUP6),
     "VRRPv2 over IPv6"),
    ("ipv4-header-only", lambda: parse_ip_packet(ipv4_packet(b"")),
     "truncated: 0 bytes, a VRRP header is 8"),
    ("ipv4-19-bytes", lambda: parse_ip_packet(ipv4_packet(b"")[:19]),
     "truncated: 19 bytes, an IPv4 header is 20"),
    ("ipv4-ethertype-ipv6-packet", lambda: parse_frame(ethernet(ipv6_packet(V3_6), 0x0800)),
     "not IPv4 (IP version 6)"),
    ("ipv6-ethertype-ipv4-packet", lambda: parse_frame(ethernet(ipv4_packet(V2), 0x86DD)),
     "not IPv6 (IP version 4)"),
    ("ipv4-bad-header-checksum",
     lambda: parse_ip_packet(ipv4_packet(V2)[:11] + b"\0" + ipv4_packet(V2)[12:]),
     "bad IPv4 header checksum"),
    ("ipv4-fragment", lambda: parse_ip_packet(ipv4_packet(V2, fragment=0x2000)),
     "IPv4 fragment"),
    ("empty-ip-packet", lambda: parse_ip_packet(b""), "truncated: empty IP packet"),
    ("ethernet-header-only", lambda: parse_frame(ethernet(b"", 0x0800)),
     "truncated: 0 bytes, an IPv4 header is 20"),
    ("ethernet-13-bytes", lambda: parse_frame(ethernet(b"", 0x0800)[:13]),
     "truncated: 13 bytes, an Ethernet header is 14"),
    ("tagged-header-only", lambda: parse_frame(ethernet(b"", 0x0800, tags=(0x8100_0064,))),
     "truncated: 0 bytes, an IPv4 header is 20"),
    ("tagged-17-bytes", lambda: parse_frame(ethernet(b"", 0x0800, tags=(0x8100_0064,))[:17]),
     "truncated: 17 bytes, a tagged Ethernet header is 18"),
    ("two-tags", lambda: parse_frame(ethernet(ipv4_packet(V2),
                                              tags=(0x8100_0064, 0x8100_0065))),
     "more than one VLAN tag"),
]


@pytest.mark.parametrize(("parse", "reason"),
                         [pytest.param(p, r, id=i) for i, p, r in PARSE_ERRORS])
def test_parse_refusal_reasons_are_exact(parse: Callable[[], object], reason: str) -> None:
    """Each malformed input is refused with exactly this reason."""
    with pytest.raises(VrrpError) as caught:
        parse()
    assert caught.value.reason == reason


BUILD_ERRORS: list[tuple[str, Callable[[], bytes], str]] = [
    ("mixed-families", lambda: build_advert(1, 1, [A4, A6], source=A4),
     "addresses and source must all be one IP family"),
    ("v2-ipv6", lambda: build_advert(1, 1, [A6], version=2),
     "VRRPv2 carries IPv4 addresses only"),
    ("v2-interval-256", lambda: build_advert(1, 1, [A4], version=2, interval=256),
     "v2 interval 256 is not whole seconds 0-255"),
    ("v2-auth-256", lambda: build_advert(1, 1, [A4], version=2, auth_type=256),
     "auth type 256 is not in 0-255"),
    ("v3-no-source", lambda: build_advert(1, 1, [A4]),
     "a v3 checksum covers the pseudo-header: give source"),
    ("v3-destination-family", lambda: build_advert(1, 1, [A4], source=A4,
                                                   destination=VRRP_GROUP6),
     "destination must be the family of the addresses"),
    ("v3-ipv6-as-v2", lambda: build_advert(1, 1, [A6], checksum_as_v2=True),
     "v3 over IPv6 always uses the pseudo-header checksum"),
]


@pytest.mark.parametrize(("build", "reason"),
                         [pytest.param(b, r, id=i) for i, b, r in BUILD_ERRORS])
def test_build_refusal_reasons_are_exact(build: Callable[[], bytes], reason: str) -> None:
    """Each input the format cannot carry is refused with exactly this message."""
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        build()


@pytest.mark.parametrize(("advert", "local", "reason"), [
    (256, 100, "advert_priority 256 is not in 0-255"),
    (100, -1, "local_priority -1 is not in 0-255"),
])
def test_is_lower_names_the_bad_priority(advert: int, local: int, reason: str) -> None:
    """The ValueError names which priority is out of range."""
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        is_lower(advert, B4, local, A4)


def test_build_edges_that_fit() -> None:
    """v2 interval 255 and auth type 255 fit; v3's default interval is 1 s (100 cs); an
    IPv6 v3 advert without a destination is checksummed for ff02::12."""
    v2 = build_advert(1, 1, [A4], version=2, interval=255, auth_type=255)
    assert (v2[4], v2[5]) == (255, 255)
    v3 = build_advert(1, 1, [A4], source=A4)
    assert int.from_bytes(v3[4:6]) == 100
    assert parse_vrrp(v3, source=A4, destination=VRRP_GROUP4).interval == 1.0
    v6 = build_advert(1, 1, [A6], source=A6)
    assert v6 == build_advert(1, 1, [A6], source=A6, destination=VRRP_GROUP6)
    assert parse_vrrp(v6, source=A6, destination=VRRP_GROUP6).checksum_ok


def test_a_packet_longer_than_255_bytes_parses() -> None:
    """60 IPv4 addresses: a 268-byte packet; its total length's high byte counts."""
    vips = [ipaddress.IPv4Address(f"198.51.100.{n}") for n in range(1, 61)]
    packet = ipv4_packet(build_advert(7, 100, vips, source=A4))
    assert len(packet) == 268
    advert = parse_ip_packet(packet + bytes(4))  # padding after the total length dropped
    assert (advert.count, advert.addresses, advert.checksum_ok) == (60, tuple(vips), True)


@pytest.mark.parametrize(("message", "source", "destination"), [
    (V2, A4, VRRP_GROUP4), (V3_4, A4, VRRP_GROUP4), (V3_6, A6, VRRP_GROUP6)])
def test_checksum_as_v2_is_false_unless_used(message: bytes, source: ipaddress.IPv4Address
                                             | ipaddress.IPv6Address,
                                             destination: ipaddress.IPv4Address
                                             | ipaddress.IPv6Address) -> None:
    """A correct advert reports checksum_as_v2 False (a bool), not merely falsy."""
    advert = parse_vrrp(message, source=source, destination=destination)
    assert advert.checksum_as_v2 is False
    assert advert.checksum_ok is True
