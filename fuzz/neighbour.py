"""Fuzz target: ARP and ND frames for the neighbour listener (:mod:`garpd.neighbour_wire`).

Contract: :func:`parse` never raises; it returns a :class:`Claim` or one of
:data:`REASONS`. A claim is self-consistent (ARP claims carry IPv4 addresses and a target
MAC, ND claims IPv6 ones; the bound MAC is 6 bytes and unicast for ARP) and
:func:`classify` judges it. Run: ``python -m fuzz.neighbour [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

from fuzz.harness import instrumented, main

with instrumented():
    from garpd.frames import Address
    from garpd.neighbour_wire import REASONS, Claim, classify, parse


def test_one_input(data: bytes) -> None:
    """Parse ``data`` as one received frame; check and classify the claim."""
    result = parse(data)
    if isinstance(result, str):
        assert result in REASONS, result
        return
    assert isinstance(result, Claim)
    assert len(result.mac) == 6
    assert len(result.eth_src) == 6
    if result.is_arp:
        assert result.kind in ("garp", "arp_request", "arp_reply", "probe")
        assert result.target.version == 4
        assert not result.mac[0] & 1
    else:
        assert result.kind in ("ns", "na")
        assert result.target.version == 6
        assert not result.target.is_multicast
    assert result.frame in ("arp_request", "arp_reply", "ns", "na")
    claimed = result.claimed
    mine: set[Address] = set() if claimed is None else {claimed}
    for macs, addresses in (((), set()), ({result.mac}, set()), ((), mine)):
        note = classify(result, macs, addresses, {result.target})
        assert note in ("ours", "conflict", "gateway", None)


if __name__ == "__main__":
    main("neighbour", test_one_input)
