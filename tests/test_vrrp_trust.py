"""Trusting VRRP adverts: a bad checksum is counted and never starts a schedule, and
keepalived 2.4's ``auth_hmac`` trailer parses (golden adverts built here, independently of
garpd.vrrp, from keepalived's vrrp_auth_hmac.h layout) and is counted as ``auth_hmac``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import struct
from typing import Any, cast

import pytest

from garpd.arbiter import Arbiter, VrrpGroup
from garpd.drivers.vrrp_listener import PACKET_OUTGOING, VrrpListener
from garpd.vrrp import VRRP_GROUP4, VRRP_GROUP6, parse_frame, parse_ip_packet
from tests.test_vrrp import ethernet, ipv4_packet, ipv6_packet, pseudo_header, rfc1071

SRC4 = ipaddress.IPv4Address("192.0.2.12")
SRC6 = ipaddress.IPv6Address("fe80::ff:fe00:3")
VIP4 = ipaddress.IPv4Address("192.0.2.100")
VIP6 = ipaddress.IPv6Address("2001:db8::100")
KEY = bytes(range(32))  # keepalived's minimum key length is 32 bytes
SECONDS, SUBSEC, COUNTER = 1_780_000_000, 0x8000, 7


def message(version: int, vrid: int, priority: int,
            vip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, pseudo: bytes = b"") -> bytes:
    """A VRRP advert with its checksum (v3 over ``pseudo``), by RFC 3768 / 9568 5.1."""
    if version == 2:
        head = bytes((0x21, vrid, priority, 1, 0, 1))
        tail = vip.packed + bytes(8)
    else:
        head = bytes((0x31, vrid, priority, 1)) + (100).to_bytes(2)
        tail = vip.packed
    checksum = rfc1071(pseudo + head + bytes(2) + tail)
    return head + checksum.to_bytes(2) + tail


def trailer(advert: bytes, version: int, vrid: int, source: Any, *, key_id: int = 3) -> bytes:
    """keepalived 2.4's auth_hmac trailer for ``advert`` (vrrp_auth_hmac.c pdu_hmac): HMAC-
    SHA256 over the 20-byte pseudo header, the advert with its checksum zeroed, and the
    trailer's first 12 bytes with 16 zero bytes for the HMAC; truncated to 16 bytes."""
    pseudo = bytes((6 if source.version == 6 else 4, version, vrid, 0)) + \
        source.packed.ljust(16, b"\0")
    head = struct.pack("!BBHIHH", 1, key_id, 0, SECONDS, SUBSEC, COUNTER)
    signed = pseudo + advert[:6] + bytes(2) + advert[8:] + head + bytes(16)
    return head + hmac.new(KEY, signed, hashlib.sha256).digest()[:16]


def v3_ipv4_with_trailer(*, corrupt: bool = False) -> bytes:
    """A v3 IPv4 advert + trailer in an IPv4 packet (IP length covers the trailer)."""
    advert = message(3, 51, 90, VIP4, pseudo=pseudo_header(SRC4, VRRP_GROUP4, 12))
    if corrupt:
        advert = advert[:6] + bytes((advert[6] ^ 0xFF,)) + advert[7:]
    return ipv4_packet(advert + trailer(advert, 3, 51, SRC4), SRC4, VRRP_GROUP4)


def test_golden_v3_ipv4_auth_hmac() -> None:
    """A signed v3 IPv4 advert parses, checksum over the advert alone, result auth_hmac."""
    packet = v3_ipv4_with_trailer()
    assert len(packet) == 20 + 12 + 28
    advert = parse_ip_packet(packet)
    assert (advert.vrid, advert.priority, advert.addresses) == (51, 90, (VIP4,))
    assert advert.checksum_ok
    assert advert.auth_hmac is not None
    assert advert.auth_hmac[:12] == struct.pack("!BBHIHH", 1, 3, 0, SECONDS, SUBSEC, COUNTER)
    assert advert.result == "auth_hmac"
    assert parse_frame(ethernet(packet)) == advert


def test_golden_v2_and_v3_ipv6_auth_hmac() -> None:
    """v2 (auth data included in the advert) and v3 over IPv6 carry the trailer too."""
    v2 = message(2, 7, 100, VIP4)
    parsed = parse_ip_packet(ipv4_packet(v2 + trailer(v2, 2, 7, SRC4), SRC4, VRRP_GROUP4))
    assert (parsed.result, parsed.vrid, parsed.addresses) == ("auth_hmac", 7, (VIP4,))
    v3 = message(3, 9, 100, VIP6, pseudo=pseudo_header(SRC6, VRRP_GROUP6, 24))
    parsed6 = parse_ip_packet(ipv6_packet(v3 + trailer(v3, 3, 9, SRC6), SRC6, VRRP_GROUP6))
    assert (parsed6.result, parsed6.addresses) == ("auth_hmac", (VIP6,))
    # the IPV6_CHECKSUM form: the kernel's checksum over the whole payload, trailer included
    whole = message(3, 9, 100, VIP6, pseudo=pseudo_header(SRC6, VRRP_GROUP6, 24 + 28))
    sign = trailer(whole, 3, 9, SRC6)
    body = whole[:6] + bytes(2) + whole[8:] + sign
    fixed = body[:6] + rfc1071(pseudo_header(SRC6, VRRP_GROUP6, 52) + body).to_bytes(2) + \
        body[8:]
    assert parse_ip_packet(ipv6_packet(fixed, SRC6, VRRP_GROUP6)).result == "auth_hmac"


def test_other_trailing_bytes_are_tolerated() -> None:
    """Bytes after the advert that are not a trailer (length or ext_type) parse as before."""
    advert = message(2, 7, 100, VIP4)
    for extra in (bytes(28), bytes(4), b"\x02" + bytes(27)):
        body = advert[:6] + bytes(2) + advert[8:] + extra
        body = body[:6] + rfc1071(body).to_bytes(2) + body[8:]
        parsed = parse_ip_packet(ipv4_packet(body, SRC4, VRRP_GROUP4))
        assert parsed.result == "ok"
        assert parsed.auth_hmac is None


def test_bad_checksum_with_trailer_is_bad_checksum() -> None:
    """A signed advert whose checksum is wrong counts as bad_checksum."""
    assert parse_ip_packet(v3_ipv4_with_trailer(corrupt=True)).result == "bad_checksum"


def test_arbiter_never_trusts_a_bad_checksum() -> None:
    """A bad-checksum advert from a lower priority starts nothing and teaches nothing."""
    arbiter = Arbiter([VrrpGroup("VI_1", "eth0", 51, frozenset({4}), 200)])
    bad = parse_ip_packet(v3_ipv4_with_trailer(corrupt=True))
    for _ in range(1000):
        assert arbiter.advert("eth0", bad, outgoing=False) == ([], None)
        assert arbiter.advert("eth0", bad, outgoing=True) == ([], None)
    assert arbiter.counters["vrrp_bad_checksum"] == 2000
    assert arbiter.local("eth0", 51, 4) == (200, None)
    good = parse_ip_packet(v3_ipv4_with_trailer())
    events, _fields = arbiter.advert("eth0", good, outgoing=False)
    assert [e.group for e in events] == [("VI_1",)]


class _Log:
    """Collects the listener's log calls."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.records.append((event, fields))

    error = warning


@pytest.mark.skipif(not hasattr(socket, "AF_PACKET"), reason="Linux only")
def test_listener_counts_results_and_drops_bad_checksums() -> None:
    """Through a real socket pair: each frame counted by result; only good ones handed on."""
    frames = [ethernet(v3_ipv4_with_trailer()), ethernet(v3_ipv4_with_trailer(corrupt=True)),
              ethernet(ipv4_packet(message(2, 7, 100, VIP4), SRC4, VRRP_GROUP4)), b"\0" * 20]
    frames += [ethernet(v3_ipv4_with_trailer(corrupt=True))] * 50
    seen: list[int] = []
    loop = asyncio.new_event_loop()
    try:
        listener = VrrpListener(lambda _if, adv, _out: seen.append(adv.vrid), _Log(), loop)
        reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with reader, writer:
            reader.setblocking(False)
            for frame in frames:
                writer.send(frame)
            listener._readable("eth0", cast(socket.socket, _Datagrams(reader)))
    finally:
        loop.close()
    assert seen == [51, 7]
    counters = listener.counters
    assert (counters["vrrp_result_ok"], counters["vrrp_result_auth_hmac"],
            counters["vrrp_result_bad_checksum"], counters["vrrp_result_malformed"]) == \
        (1, 1, 51, 1)


class _Datagrams:
    """A datagram socket presented as AF_PACKET's recvfrom (address[2] = packet type)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int, int]]:
        return self.sock.recv(size), ("eth0", 0x0800, PACKET_OUTGOING - 4)
