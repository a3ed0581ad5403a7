"""FrameCache's refusals, exactly (a caller's bug, named), and its bound: a full cache
starts again rather than growing, and still hands out the right frames."""

from __future__ import annotations

import ipaddress
import re

import pytest

from garpd.frames import FrameCache, describe, mac_bytes

MAC = mac_bytes("02:00:00:00:00:02")
A4 = ipaddress.ip_address("192.0.2.10")
A6 = ipaddress.ip_address("2001:db8::10")


@pytest.mark.parametrize("method", ["slot", "first"])
@pytest.mark.parametrize(("mac", "mode", "reason"), [
    (MAC[:5], "request", "a MAC is 6 bytes, got 5"),
    (MAC + b"\0", "reply", "a MAC is 6 bytes, got 7"),
    (MAC, "gratuitous", "unknown mode 'gratuitous'"),
])
def test_refusals_are_exact(method: str, mac: bytes, mode: str, reason: str) -> None:
    """A wrong MAC length or an unknown mode raises ValueError with exactly this message,
    from ``slot`` and from ``first`` (the express frame's builder) alike."""
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        getattr(FrameCache(), method)(mac, A4, mode, False)


@pytest.mark.parametrize("address", [A4, A6])
@pytest.mark.parametrize("mode", ["request", "reply", "both"])
@pytest.mark.parametrize("router", [False, True])
def test_first_is_the_first_frame_of_the_slot(address: ipaddress.IPv4Address,
                                              mode: str, router: bool) -> None:
    """Byte for byte the slot's first frame (the request in "both" mode, the NA with its
    R flag), whether the cache memoizes or not."""
    for cache in (FrameCache(), FrameCache(limit=0)):
        frame = cache.first(MAC, address, mode, router)  # type: ignore[arg-type]
        assert frame == FrameCache().slot(MAC, address, mode, router)[0]  # type: ignore[arg-type]
        assert len(frame) == (42 if address.version == 4 else 86)


@pytest.mark.parametrize("mode", ["request", "reply", "both"])
def test_first_v4_parts_put_the_address_where_the_slot_s_first_frame_has_it(mode: str) -> None:
    """Per mode, head + address + middle + address is the slot's first frame, for every
    address."""
    parts = FrameCache().first_v4_parts(MAC)
    assert parts is not None
    assert sorted(parts) == ["both", "reply", "request"]
    head, middle = parts[mode]
    for text in ("192.0.2.10", "0.0.0.0", "255.255.255.255", "198.51.100.7"):  # noqa: S104
        address = ipaddress.IPv4Address(text)
        expected = FrameCache().slot(MAC, address, mode, False)[0]  # type: ignore[arg-type]
        assert head + address.packed + middle + address.packed == expected


def test_first_v4_parts_of_a_mac_not_6_bytes_are_none() -> None:
    """The MAC slot refuses: no parts (a link with it is not usable anyway)."""
    assert FrameCache().first_v4_parts(MAC[:5]) is None
    assert FrameCache().first_v4_parts(MAC + b"\0") is None


def test_a_full_cache_starts_again_and_stays_right() -> None:
    """With room for two slots, a third and fourth still come out right, in every mode."""
    cache = FrameCache(limit=2)
    for n in range(1, 5):
        address = ipaddress.ip_address(f"192.0.2.{n}")
        request, reply = cache.slot(MAC, address, "both", False)
        assert describe(request) == ("request", str(address), "02:00:00:00:00:02")
        assert describe(reply) == ("reply", str(address), "02:00:00:00:00:02")
    (na,) = cache.slot(MAC, A6, "reply", True)
    assert na == FrameCache().slot(MAC, A6, "request", True)[0]


def test_a_cache_of_one_slot_memoizes_it_and_of_none_builds_anew() -> None:
    """``limit=1`` hands the same slot back until another one is asked; ``limit=0`` builds
    every slot anew (equal frames, another tuple), in every mode and both families."""
    one = FrameCache(limit=1)
    first = one.slot(MAC, A4, "both", False)
    assert one.slot(MAC, A4, "both", False) is first
    assert one.slot(MAC, A6, "reply", True) is one.slot(MAC, A6, "request", True)
    assert one.slot(MAC, A4, "both", False) is not first
    none = FrameCache(limit=0)
    for address, mode, router in ((A4, "request", False), (A4, "reply", False),
                                  (A4, "both", False), (A6, "request", True),
                                  (A6, "both", False)):
        built = none.slot(MAC, address, mode, router)  # type: ignore[arg-type]
        again = none.slot(MAC, address, mode, router)  # type: ignore[arg-type]
        assert again == built == FrameCache().slot(MAC, address, mode, router)  # type: ignore[arg-type]
        assert again is not built
    assert [describe(f)[0] for f in none.slot(MAC, A4, "both", False)] == ["request", "reply"]
    assert [describe(f) for f in none.slot(MAC, A6, "reply", True)] == [
        ("na", "2001:db8::10", "02:00:00:00:00:02")]
