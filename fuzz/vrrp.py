"""Fuzz target: VRRP adverts (:mod:`garpd.vrrp`), auth_hmac trailers included.

Contract: :func:`parse_frame`, :func:`parse_ip_packet` and :func:`parse_vrrp` return an
:class:`Advert` or raise :class:`VrrpError`, nothing else, for any bytes; an Advert is
self-consistent (``count`` addresses of the packet's family, a trailer only of 28 bytes
starting with ext_type 1, a ``result`` among the three counted ones), its interval finite,
and :func:`is_lower` can judge it; and the entry points agree (a frame, its IP packet and
its VRRP message with the packet's addresses give the same advert).
Run: ``python -m fuzz.vrrp [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

import ipaddress

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.vrrp import Advert, VrrpError, is_lower, parse_frame, parse_ip_packet, parse_vrrp

_SOURCES = (
    (ipaddress.IPv4Address("192.0.2.1"), ipaddress.IPv4Address("224.0.0.18")),
    (ipaddress.IPv6Address("fe80::1"), ipaddress.IPv6Address("ff02::12")),
)


def _check(advert: Advert) -> None:
    assert advert.version in (2, 3)
    assert advert.count == len(advert.addresses)
    assert all(a.version == advert.family for a in advert.addresses)
    assert advert.interval >= 0
    assert advert.interval == advert.interval
    assert advert.auth_hmac is None or (len(advert.auth_hmac) == 28
                                        and advert.auth_hmac[0] == 1)
    assert advert.result in ("ok", "bad_checksum", "auth_hmac")
    assert (advert.auth_type is None) == (advert.version == 3)
    for priority in (0, advert.priority, 255):
        is_lower(advert.priority, advert.source, priority, advert.source)


def _message(packet: bytes) -> bytes:
    """The VRRP message of a packet that parsed: the IP payload cut to the IP length."""
    if packet[0] >> 4 == 4:
        return packet[(packet[0] & 0x0F) * 4:int.from_bytes(packet[2:4])]
    return packet[40:40 + int.from_bytes(packet[4:6])]


def _agree(packet: bytes, advert: Advert) -> None:
    """The packet's message, parsed alone with the packet's addresses, is the same advert
    (the three entry points agree, as tests/fuzz_vrrp.py checks by property)."""
    alone = parse_vrrp(_message(packet), source=advert.source,
                       destination=advert.destination, ttl=advert.ttl)
    assert alone == advert, (alone, advert)


def test_one_input(data: bytes) -> None:
    """Every entry point on ``data``; the first byte picks the family of a bare message."""
    try:
        framed = parse_frame(data)
    except VrrpError:
        pass
    else:
        _check(framed)
        packet = data[18:] if data[12:14] == b"\x81\x00" else data[14:]
        assert parse_ip_packet(packet) == framed
        _agree(packet, framed)
    try:
        advert = parse_ip_packet(data)
    except VrrpError:
        pass
    else:
        _check(advert)
        _agree(data, advert)
    source, destination = _SOURCES[data[0] & 1] if data else _SOURCES[0]
    try:
        advert = parse_vrrp(data[1:], source=source, destination=destination, ttl=255)
    except VrrpError:
        return
    _check(advert)


if __name__ == "__main__":
    main("vrrp", test_one_input)
