"""Fuzz target: VRRP adverts (:mod:`garpd.vrrp`), auth_hmac trailers included.

Contract: :func:`parse_frame`, :func:`parse_ip_packet` and :func:`parse_vrrp` return an
:class:`Advert` or raise :class:`VrrpError`, nothing else, for any bytes; an Advert is
self-consistent (``count`` addresses of the packet's family, a trailer only of 28 bytes
starting with ext_type 1, a ``result`` among the three counted ones), its interval finite,
and :func:`is_lower` can judge it. Run: ``python -m fuzz.vrrp [libFuzzer options] [corpus]``.
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


def test_one_input(data: bytes) -> None:
    """Every entry point on ``data``; the first byte picks the family of a bare message."""
    for parse in (parse_frame, parse_ip_packet):
        try:
            advert = parse(data)
        except VrrpError:
            continue
        _check(advert)
    source, destination = _SOURCES[data[0] & 1] if data else _SOURCES[0]
    try:
        advert = parse_vrrp(data[1:], source=source, destination=destination, ttl=255)
    except VrrpError:
        return
    _check(advert)


if __name__ == "__main__":
    main("vrrp", test_one_input)
