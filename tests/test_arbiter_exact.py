"""The arbiter exactly: every counter after a known sequence of adverts, the strict edge
of "lower" without a local source, the local view of unknown VRIDs, and a configured
priority found on a later group of the same VRID."""

from __future__ import annotations

from dataclasses import replace

from garpd.arbiter import Arbiter
from tests.test_arbiter import OWN4, advert, group, lower


def test_every_counter_after_a_known_sequence() -> None:
    """2 own adverts, 4 incoming (2 lower, 2 not), 1 unmatched, 1 bad checksum."""
    arbiter = Arbiter([group()])
    arbiter.advert("eth0", advert(150, OWN4), outgoing=True)
    arbiter.advert("eth0", advert(150, OWN4), outgoing=True)
    assert lower(arbiter, advert(100))
    assert lower(arbiter, advert(120))
    assert not lower(arbiter, advert(200))
    assert not lower(arbiter, advert(250))
    assert not lower(arbiter, advert(100, vrid=52))
    assert not lower(arbiter, replace(advert(100), checksum_ok=False))
    assert arbiter.counters == {
        "vrrp_adverts": 4, "vrrp_own_adverts": 2, "vrrp_lower": 2, "vrrp_not_lower": 2,
        "vrrp_unmatched": 1, "vrrp_bad_checksum": 1}


def test_priority_one_is_lower_without_a_local_source() -> None:
    """No own advert seen, configured 100: priority 1 is lower, 0 is not, 100 is not."""
    arbiter = Arbiter([group(100)])
    assert lower(arbiter, advert(1))
    assert not lower(arbiter, advert(0))
    assert not lower(arbiter, advert(100))


def test_local_view_of_an_unknown_vrid() -> None:
    """A VRID, interface or family no group has: (None, None)."""
    arbiter = Arbiter([group(100)])
    assert arbiter.local("eth0", 51, 4) == (100, None)
    assert arbiter.local("eth0", 52, 4) == (None, None)
    assert arbiter.local("eth1", 51, 4) == (None, None)
    assert arbiter.local("eth0", 51, 6) == (None, None)


def test_configured_priority_of_a_later_group_on_the_same_vrid() -> None:
    """Two groups on one VRID, only the second configured: its priority is the local one;
    the first configured one wins when both are."""
    arbiter = Arbiter([group(None, name="a"), group(90, name="b")])
    assert arbiter.local("eth0", 51, 4) == (90, None)
    both = Arbiter([group(80, name="a"), group(90, name="b")])
    assert both.local("eth0", 51, 4) == (80, None)
