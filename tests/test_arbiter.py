"""Unit tests of garpd.arbiter: which VRRP adverts show a split brain. Pure and fast; the
adverts are real ones, built with garpd.vrrp.build_advert and parsed with parse_vrrp."""

from __future__ import annotations

import ipaddress
from typing import Literal

import pytest

from garpd.arbiter import Arbiter, VrrpGroup
from garpd.events import LowerPriority
from garpd.vrrp import VRRP_GROUP4, VRRP_GROUP6, Advert, build_advert, parse_vrrp

OWN4 = "192.0.2.11"
PEER4 = "192.0.2.12"
OWN6 = "fe80::ff:fe00:2"
PEER6 = "fe80::ff:fe00:3"


def advert(priority: int, source: str = PEER4, *, vrid: int = 51,
           version: Literal[2, 3] | None = None) -> Advert:
    """A parsed advert for ``vrid`` from ``source`` (v2 for IPv4, v3 for IPv6 unless told)."""
    src = ipaddress.ip_address(source)
    if src.version == 4:
        dst: ipaddress.IPv4Address | ipaddress.IPv6Address = VRRP_GROUP4
        vips = [ipaddress.ip_address("192.0.2.100")]
    else:
        dst = VRRP_GROUP6
        vips = [ipaddress.ip_address("2001:db8::100")]
    ver: Literal[2, 3] = version if version is not None else (2 if src.version == 4 else 3)
    payload = build_advert(vrid, priority, vips, version=ver, source=src, destination=dst)
    return parse_vrrp(payload, source=src, destination=dst, ttl=255)


def group(priority: int | None = None, *, name: str = "VI_1", interface: str = "eth0",
          vrid: int = 51, families: frozenset[int] = frozenset({4})) -> VrrpGroup:
    """A VrrpGroup with the tests' defaults."""
    return VrrpGroup(name, interface, vrid, families, priority)


def lower(arbiter: Arbiter, adv: Advert, ifname: str = "eth0") -> bool:
    """Feed one incoming advert; whether it was judged lower."""
    events, fields = arbiter.advert(ifname, adv, outgoing=False)
    assert (fields is not None) == bool(events)
    return bool(events)


def test_learned_priority_from_own_adverts() -> None:
    """Without a configured priority nothing is lower until our own advert teaches it."""
    arbiter = Arbiter([group()])
    assert arbiter.local("eth0", 51, 4) == (None, None)
    assert not lower(arbiter, advert(100))
    assert arbiter.counters["vrrp_not_lower"] == 1

    assert arbiter.advert("eth0", advert(150, OWN4), outgoing=True) == ([], None)
    assert arbiter.local("eth0", 51, 4) == (150, ipaddress.ip_address(OWN4))
    assert arbiter.counters["vrrp_own_adverts"] == 1

    events, fields = arbiter.advert("eth0", advert(100), outgoing=False)
    assert fields == {"interface": "eth0", "vrid": 51, "priority": 100, "source": PEER4,
                      "local_priority": 150, "groups": ["VI_1"]}
    assert events == [LowerPriority(("VI_1",), record="lower_prio_advert",
                                    context=tuple(fields.items()))]
    assert arbiter.counters["vrrp_lower"] == 1
    assert not lower(arbiter, advert(200))


def test_learned_priority_follows_own_changes() -> None:
    """A later own advert with another priority replaces the learned one."""
    arbiter = Arbiter([group()])
    arbiter.advert("eth0", advert(150, OWN4), outgoing=True)
    assert lower(arbiter, advert(120))
    arbiter.advert("eth0", advert(110, OWN4), outgoing=True)  # e.g. a track script fell
    assert arbiter.local("eth0", 51, 4)[0] == 110
    assert not lower(arbiter, advert(120))


def test_configured_priority_wins() -> None:
    """A configured priority is kept even when our own adverts say otherwise."""
    arbiter = Arbiter([group(100)])
    assert arbiter.local("eth0", 51, 4) == (100, None)
    arbiter.advert("eth0", advert(200, OWN4), outgoing=True)
    assert arbiter.local("eth0", 51, 4) == (100, ipaddress.ip_address(OWN4))
    assert not lower(arbiter, advert(150))
    assert lower(arbiter, advert(50))


@pytest.mark.parametrize(("source", "expected"), [
    ("192.0.2.10", True),    # equal priority, lower address: it yields to us
    ("192.0.2.12", False),   # equal priority, higher address: it wins
    ("192.0.2.11", False),   # our own address (a looped copy): not lower
])
def test_equal_priority_tie_break_by_source(source: str, expected: bool) -> None:
    """Equal priority: lower only with a lower source address than ours."""
    arbiter = Arbiter([group()])
    arbiter.advert("eth0", advert(100, OWN4), outgoing=True)
    assert lower(arbiter, advert(100, source)) is expected


def test_equal_priority_tie_break_ipv6() -> None:
    """The tie-break compares IPv6 link-local sources too (v3 over IPv6)."""
    arbiter = Arbiter([group(families=frozenset({6}))])
    arbiter.advert("eth0", advert(100, OWN6, vrid=51), outgoing=True)
    assert arbiter.local("eth0", 51, 6) == (100, ipaddress.ip_address(OWN6))
    assert lower(arbiter, advert(100, "fe80::1"))
    assert not lower(arbiter, advert(100, PEER6))
    assert lower(arbiter, advert(99, PEER6))


def test_priority_zero_ignored() -> None:
    """Priority 0 (a router leaving) is never lower, and our own 0 teaches nothing."""
    arbiter = Arbiter([group()])
    arbiter.advert("eth0", advert(150, OWN4), outgoing=True)
    assert not lower(arbiter, advert(0))
    arbiter.advert("eth0", advert(0, OWN4), outgoing=True)  # keepalived stopping here
    assert arbiter.local("eth0", 51, 4) == (150, ipaddress.ip_address(OWN4))
    assert lower(arbiter, advert(100))


def test_priority_zero_ignored_with_configured_priority() -> None:
    """Priority 0 is not lower even without any own advert seen."""
    arbiter = Arbiter([group(150)])
    assert not lower(arbiter, advert(0))


@pytest.mark.parametrize(("ifname", "adv"), [
    ("eth0", advert(100, vrid=52)),
    ("eth1", advert(100)),
    ("eth0", advert(100, PEER6)),
])
def test_unmatched_vrid_family_interface(ifname: str, adv: Advert) -> None:
    """Another VRID, another interface or another family: no events, counted unmatched."""
    arbiter = Arbiter([group(150)])
    assert arbiter.advert(ifname, adv, outgoing=False) == ([], None)
    assert arbiter.advert(ifname, adv, outgoing=True) == ([], None)
    assert arbiter.counters["vrrp_unmatched"] == 2
    assert arbiter.counters["vrrp_adverts"] == 0
    assert arbiter.local("eth0", 51, 4) == (150, None)


def test_families_learn_separately() -> None:
    """VRIDs are per family: an own IPv4 advert teaches nothing about IPv6."""
    arbiter = Arbiter([group(families=frozenset({4, 6}))])
    arbiter.advert("eth0", advert(150, OWN4), outgoing=True)
    assert arbiter.local("eth0", 51, 6) == (None, None)
    assert not lower(arbiter, advert(100, PEER6))
    assert lower(arbiter, advert(100, PEER4))


def test_strictly_lower_without_local_source() -> None:
    """Configured priority and no own advert yet: only strictly lower counts (no tie-break)."""
    arbiter = Arbiter([group(100)])
    assert not lower(arbiter, advert(100, "192.0.2.1"))
    assert not lower(arbiter, advert(101))
    assert lower(arbiter, advert(99))


def test_several_groups_on_one_vrid() -> None:
    """Every group sharing the interface and VRID gets its event."""
    arbiter = Arbiter([group(150, name="VI_1"), group(150, name="VI_1b"),
                       group(150, name="other", vrid=52)])
    events, fields = arbiter.advert("eth0", advert(100), outgoing=False)
    assert fields is not None
    assert events == [LowerPriority(("VI_1", "VI_1b"), record="lower_prio_advert",
                                    context=tuple(fields.items()))]
    assert fields["groups"] == ["VI_1", "VI_1b"]
    assert arbiter.interfaces() == {"eth0"}


def test_interfaces() -> None:
    """The arbiter listens on every configured group's interface."""
    arbiter = Arbiter([group(interface="eth0"), group(interface="bond0", vrid=7)])
    assert arbiter.interfaces() == {"eth0", "bond0"}
    assert Arbiter([]).interfaces() == set()


def test_configured_priority_of_a_later_group_on_the_vrid_wins_over_own_adverts() -> None:
    """The first group of a VRID has no priority, a later one does: that configured
    priority is the local one at start and stays so after an own advert says otherwise."""
    arbiter = Arbiter([group(None, name="VI_1"), group(120, name="VI_1b")])
    assert arbiter.local("eth0", 51, 4) == (120, None)
    arbiter.advert("eth0", advert(200, OWN4), outgoing=True)
    assert arbiter.local("eth0", 51, 4) == (120, ipaddress.ip_address(OWN4))
    assert lower(arbiter, advert(110))
    assert not lower(arbiter, advert(150))
