"""garpd.drivers.netlink: decoding rtnetlink into core events, reconciling after an overflow, and
(in a throwaway network namespace) snapshot() and the Watcher against the real kernel.

The namespace scenarios are functions of this module run inside the namespace as
``ip netns exec NS python -m tests.test_netlink SCENARIO``; each prints one JSON document
that the test asserts on. They need root (skip, or fail with GARPD_REQUIRE_LAB=1, as
tests/lab.py's require_lab() decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import json
import os
import secrets
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd.core import Announcer
from garpd.drivers import netlink
from garpd.drivers.netlink import (
    RTM_NEWNETCONF,
    State,
    Watcher,
    reconcile,
    snapshot,
)
from garpd.events import AddressChanged, AddressRemoved, Event, LinkChanged, LinkRemoved
from garpd.policy import StaticPolicy, Timing
from garpd.rtnl import RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK
from tests.lab import require_lab
from tests.sim import Sim

REPO_ROOT = Path(__file__).resolve().parent.parent
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_NOARP, IFF_LOWER_UP = (
    0x1, 0x2, 0x8, 0x40, 0x80, 0x10000)
ARPHRD_LOOPBACK = 772
MAC = bytes.fromhex("02000000000a")
A1, A2, A3, A4 = (ipaddress.ip_address(f"192.0.2.{n}") for n in (1, 2, 3, 4))
V6 = ipaddress.ip_address("2001:db8::1")

# --- synthetic messages (no root needed) -----------------------------------------------


def link_msg(index: int, name: str,
             flags: int = IFF_UP | IFF_LOWER_UP | IFF_RUNNING | IFF_BROADCAST,
             mac: str = "02:00:00:00:00:0a", kind: int = RTM_NEWLINK,
             ifi_type: int = 1) -> bytes:
    """An RTM_NEWLINK / RTM_DELLINK datagram as the kernel would send it."""
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: PLC0415

    msg = ifinfmsg()
    msg["header"]["type"] = kind
    msg["family"] = socket.AF_UNSPEC
    msg["ifi_type"] = ifi_type
    msg["index"] = index
    msg["flags"] = flags
    msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_ADDRESS", mac)]
    msg.encode()
    return bytes(msg.data)


def addr_msg(index: int, local: str | None = None, address: str | None = None,
             kind: int = RTM_NEWADDR, flags: int = 0, ifa_flags: int | None = None) -> bytes:
    """An RTM_NEWADDR / RTM_DELADDR datagram (IFA_LOCAL and/or IFA_ADDRESS, IFA_FLAGS)."""
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: PLC0415

    text = local or address or "0.0.0.0"  # noqa: S104 - only to pick the family
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    msg = ifaddrmsg()
    msg["header"]["type"] = kind
    msg["family"] = family
    msg["prefixlen"] = 64 if family == socket.AF_INET6 else 24
    msg["flags"] = flags
    msg["index"] = index
    attrs: list[tuple[str, Any]] = []
    if address is not None:
        attrs.append(("IFA_ADDRESS", address))
    if local is not None:
        attrs.append(("IFA_LOCAL", local))
    if ifa_flags is not None:
        attrs.append(("IFA_FLAGS", ifa_flags))
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


@pytest.fixture
def decoder() -> Iterator[Watcher]:
    """A Watcher that is never started: only its decode() is used."""
    w = Watcher(lambda events: None, lambda: None)
    try:
        yield w
    finally:
        w.close()


def test_decode_link_flags(decoder: Watcher) -> None:
    """IFF_UP, IFF_LOWER_UP, IFF_RUNNING, IFF_NOARP and the link type become the
    LinkChanged fields; LOWER_UP without RUNNING (carrier back, operstate not yet up) is
    carrier but not running."""
    data = (link_msg(5, "gd0", IFF_UP | IFF_LOWER_UP | IFF_RUNNING)
            + link_msg(6, "gd1", IFF_UP | IFF_NOARP | IFF_RUNNING, mac="02:00:00:00:00:0b")
            + link_msg(1, "lo", IFF_UP | IFF_LOOPBACK | IFF_LOWER_UP | IFF_RUNNING,
                       mac="00:00:00:00:00:00", ifi_type=ARPHRD_LOOPBACK)
            + link_msg(7, "gd2", IFF_UP | IFF_LOWER_UP))
    assert decoder.decode(data) == [
        LinkChanged("gd0", 5, MAC, up=True, carrier=True, noarp=False, ethernet=True),
        LinkChanged("gd1", 6, bytes.fromhex("02000000000b"), up=True, carrier=False,
                    noarp=True, ethernet=True),
        LinkChanged("lo", 1, bytes(6), up=True, carrier=True, noarp=False, ethernet=False),
        LinkChanged("gd2", 7, MAC, up=True, carrier=True, running=False),
    ]


@settings(max_examples=200, deadline=None)
@given(index=st.integers(1, 2**31 - 1),
       name=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF,
                                  exclude_characters="/"), min_size=1, max_size=5),
       flags=st.integers(0, 2**32 - 1), ifi_type=st.sampled_from([1, 772, 768, 65534]),
       mac=st.binary(min_size=6, max_size=6) | st.just(b""), delete=st.booleans(),
       junk=st.lists(st.tuples(st.sampled_from(["IFLA_MTU", "IFLA_QDISC", "IFLA_TXQLEN"]),
                               st.integers(0, 2**16)), max_size=2))
def test_parse_link_message_matches_pyroute2(index: int, name: str, flags: int,
                                             ifi_type: int, mac: bytes, delete: bool,
                                             junk: list[tuple[str, int]]) -> None:
    """The struct link decoder reads what pyroute2 encodes (and decodes) for any link."""
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: PLC0415
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl  # noqa: PLC0415

    msg = ifinfmsg()
    msg["header"]["type"] = RTM_DELLINK if delete else RTM_NEWLINK
    msg["ifi_type"] = ifi_type
    msg["index"] = index
    msg["flags"] = flags
    attrs: list[tuple[str, Any]] = [(k, v if k != "IFLA_QDISC" else str(v)) for k, v in junk]
    attrs.append(("IFLA_IFNAME", name))
    if mac:
        attrs.append(("IFLA_ADDRESS", ":".join(f"{b:02x}" for b in mac)))
    msg["attrs"] = attrs
    msg.encode()
    data = bytes(msg.data)
    ref = next(iter(MarshalRtnl().parse(data)))
    assert ref.get_attr("IFLA_IFNAME") == name
    event = netlink.parse_link_message(data, 0, len(data))
    if delete:
        assert event == LinkRemoved(name, index)
        return
    assert event == LinkChanged(
        name, index, mac, up=bool(flags & IFF_UP), carrier=bool(flags & IFF_LOWER_UP),
        noarp=bool(flags & IFF_NOARP), running=bool(flags & IFF_RUNNING),
        ethernet=ifi_type == 1 and not flags & IFF_LOOPBACK,
        forwarding=netlink.read_forwarding(name))
    assert (ref["index"], ref["flags"], ref["ifi_type"]) == (index, flags, ifi_type)


def test_parse_link_message_refuses_short_or_nameless() -> None:
    """A truncated message, or one without IFLA_IFNAME, is no event (never an exception)."""
    data = link_msg(5, "gd0")
    for cut in range(len(data)):
        netlink.parse_link_message(data[:cut], 0, cut)
    assert netlink.parse_link_message(data, 0, 31) is None
    bare = struct.pack("=IHHII", 32, RTM_NEWLINK, 0, 0, 0) + struct.pack("=BxHiII", 0, 1, 5,
                                                                         1, 0)
    assert netlink.parse_link_message(bare, 0, 32) is None


def test_decode_addresses(decoder: Watcher) -> None:
    """IFA_LOCAL wins over IFA_ADDRESS (the peer); IFA_FLAGS wins over the 8-bit flags."""
    decoder.decode(link_msg(5, "gd0"))
    data = (addr_msg(5, local="192.0.2.1", address="192.0.2.254")
            + addr_msg(5, address="2001:db8::1", flags=0x40)
            + addr_msg(5, address="2001:db8::2", flags=0, ifa_flags=0x48)
            + addr_msg(5, address="2001:db8::3", flags=0x40, ifa_flags=0x100)
            + addr_msg(5, local="192.0.2.1", kind=RTM_DELADDR)
            + addr_msg(99, local="192.0.2.9"))  # unknown interface: ignored
    assert decoder.decode(data) == [
        AddressChanged("gd0", A1),
        AddressChanged("gd0", V6, tentative=True),
        AddressChanged("gd0", ipaddress.ip_address("2001:db8::2"), tentative=True,
                       dadfailed=True),
        AddressChanged("gd0", ipaddress.ip_address("2001:db8::3")),
        AddressRemoved("gd0", A1),
    ]


def test_decode_follows_a_name_to_its_new_index(decoder: Watcher) -> None:
    """Deleted and re-created: addresses are named by the new index, the old one is gone."""
    events = decoder.decode(link_msg(5, "gd0") + addr_msg(5, local="192.0.2.1"))
    events += decoder.decode(link_msg(5, "gd0", kind=RTM_DELLINK))
    events += decoder.decode(addr_msg(5, local="192.0.2.2"))  # stale index: nobody
    events += decoder.decode(link_msg(7, "gd0", mac="02:00:00:00:00:0b")
                             + addr_msg(7, local="192.0.2.3"))
    assert events == [
        LinkChanged("gd0", 5, MAC, True, True),
        AddressChanged("gd0", A1),
        LinkRemoved("gd0", 5),
        LinkChanged("gd0", 7, bytes.fromhex("02000000000b"), True, True),
        AddressChanged("gd0", A3),
    ]
    # The core follows the name: the address on the new interface is a new takeover.
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
    for t, event in enumerate(events):
        s.at(float(t), event)
    assert s.core.ifindex("gd0") == 7
    assert s.core.held() == [("gd0", A3)]
    assert [(x.t, x.address, x.mac) for x in s.sent] == [
        (1.0, "192.0.2.1", "02:00:00:00:00:0a"), (4.0, "192.0.2.3", "02:00:00:00:00:0b")]


def test_decode_new_index_without_a_removal(decoder: Watcher) -> None:
    """A name seen again under another index (removal missed) is restated with the new one."""
    events = decoder.decode(link_msg(5, "gd0") + link_msg(8, "gd0"))
    assert [(e.ifname, e.ifindex) for e in events if isinstance(e, LinkChanged)] == [
        ("gd0", 5), ("gd0", 8)]
    assert decoder.decode(addr_msg(8, local="192.0.2.1")) == [AddressChanged("gd0", A1)]


def netconf_msg(ifindex: int, forwarding: int) -> bytes:
    """An RTM_NEWNETCONF datagram for IPv6 (netconfmsg, NETCONFA_IFINDEX, _FORWARDING)."""
    body = struct.pack("=B3x", socket.AF_INET6)
    body += struct.pack("=HHi", 8, 1, ifindex) + struct.pack("=HHi", 8, 2, forwarding)
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWNETCONF, 0, 0, 0) + body


def test_decode_netconf_restates_forwarding(decoder: Watcher,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """RTM_NEWNETCONF for a known link whose forwarding changed restates the link."""
    decoder.decode(link_msg(5, "gd0"))
    monkeypatch.setattr(netlink, "read_forwarding", lambda ifname: True)
    assert decoder.decode(netconf_msg(5, 1)) == [
        LinkChanged("gd0", 5, MAC, True, True, forwarding=True)]


class FakeSock:
    """A netlink socket answering ``recv`` from a list (an OSError in it is raised), then
    would block; and the watcher's poll of it: readable while answers are left (a pending
    error too, as the kernel's POLLERR)."""

    def __init__(self, answers: list[bytes | OSError]) -> None:
        self.answers = answers

    def recv(self, size: int) -> bytes:
        answer = self.answers.pop(0) if self.answers else BlockingIOError()
        if isinstance(answer, OSError):
            raise answer
        return answer

    def poll(self, timeout: int) -> list[tuple[int, int]]:
        return [(0, select.POLLIN)] if self.answers else []


def test_readable_on_overflow_trusts_only_the_reread(monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOBUFS from the socket: the round's events are dropped, only on_overflow is called.

    Messages read around a loss may describe a state already gone (an add whose delete
    was dropped); the full re-read that on_overflow triggers is the only truth.
    """
    calls: list[str] = []
    got: list[Event] = []

    def on_events(events: list[Event]) -> None:
        calls.append("events")
        got.extend(events)

    w = Watcher(on_events, lambda: calls.append("overflow"))
    try:
        monkeypatch.setattr(w, "sock", FakeSock([
            link_msg(5, "gd0"), OSError(errno.ENOBUFS, "No buffer space available"),
            addr_msg(5, local="192.0.2.1")]))
        w._readable()
        monkeypatch.undo()
    finally:
        w.close()
    assert calls == ["overflow"]
    assert got == []


def _read_with_express(monkeypatch: pytest.MonkeyPatch, answers: list[bytes | OSError],
                       accept: bool = True) -> list[tuple[str, Any]]:
    """One ``_readable`` of a Watcher that knows gd0 (index 5) and has an express hook:
    what it did, in order: ("express", (ifname, address)), ("events", [...]),
    ("overflow", None)."""
    calls: list[tuple[str, Any]] = []

    def express(ifname: str, packed: bytes) -> bool:
        calls.append(("express", (ifname, ipaddress.ip_address(packed))))
        return accept

    w = Watcher(lambda events: calls.append(("events", events)),
                lambda: calls.append(("overflow", None)))
    try:
        w.decode(link_msg(5, "gd0"))
        w.express = express
        fake = FakeSock(answers)
        monkeypatch.setattr(w, "sock", fake)
        monkeypatch.setattr(w, "_queued", fake)
        w._readable()
        monkeypatch.undo()
    finally:
        w.close()
    return calls


def test_an_address_added_alone_is_offered_to_express_before_anything_is_decoded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One datagram read, one IPv4 RTM_NEWADDR of a known interface in it: express hears
    its interface and address first, then its event comes (the runner applies it as
    expressed); a refusal changes nothing else."""
    for accept in (True, False):
        calls = _read_with_express(monkeypatch, [addr_msg(5, local="192.0.2.1",
                                                          address="192.0.2.254")], accept)
        assert calls == [("express", ("gd0", A1)), ("events", [AddressChanged("gd0", A1)])]


def test_only_an_ipv4_address_added_alone_in_its_read_is_offered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """IPv6, a removal, an unknown interface, two messages in the datagram, a link
    message, an address followed by another datagram (its removal may be queued behind
    it): nothing is offered, events as ever."""
    cases: list[list[bytes | OSError]] = [
        [addr_msg(5, address="2001:db8::1")],
        [addr_msg(5, local="192.0.2.1", kind=RTM_DELADDR)],
        [addr_msg(99, local="192.0.2.1")],
        [addr_msg(5, local="192.0.2.1") + addr_msg(5, local="192.0.2.2")],
        [link_msg(5, "gd0")],
        [addr_msg(5, local="192.0.2.1"), addr_msg(5, local="192.0.2.1", kind=RTM_DELADDR)],
        [addr_msg(5, local="192.0.2.1"), addr_msg(5, local="192.0.2.2")],
    ]
    for number, answers in enumerate(cases):
        calls = _read_with_express(monkeypatch, answers)
        names = [name for name, _ in calls]
        # The unknown interface's address is no event at all; every other read is one.
        assert names == ([] if number == 2 else ["events"]), number


def test_nothing_to_read_offers_nothing_and_calls_nobody(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A wake-up with nothing queued (another reader took it): no call at all."""
    assert _read_with_express(monkeypatch, []) == []


def test_an_overflow_offers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOBUFS before or after an address added alone: only the re-read is trusted,
    nothing is offered."""
    enobufs = OSError(errno.ENOBUFS, "No buffer space available")
    reads: list[list[bytes | OSError]] = [[addr_msg(5, local="192.0.2.1"), enobufs],
                                          [enobufs, addr_msg(5, local="192.0.2.1")]]
    for answers in reads:
        assert _read_with_express(monkeypatch, answers) == [("overflow", None)]


def test_reconcile_removes_vanished_and_restates_present() -> None:
    """Vanished addresses and links (or re-created ones) are removed, then all restated."""
    state = State(
        links=[LinkChanged("eth0", 2, MAC, True, True), LinkChanged("eth2", 9, MAC, True, True)],
        addresses=[AddressChanged("eth0", A1), AddressChanged("eth2", A4)],
    )
    events = reconcile(state, {"eth0": 2, "eth1": 3, "eth2": 4},
                       [("eth0", A1), ("eth0", A2), ("eth1", A3)])
    assert events == [
        AddressRemoved("eth0", A2),
        AddressRemoved("eth1", A3),
        LinkRemoved("eth1", 3),
        LinkRemoved("eth2", 4),
        LinkChanged("eth0", 2, MAC, True, True),
        LinkChanged("eth2", 9, MAC, True, True),
        AddressChanged("eth0", A1),
        AddressChanged("eth2", A4),
    ]
    assert state.events() == [*state.links, *state.addresses]


def test_reconcile_in_the_core_releases_vanished_and_keeps_the_rest_quiet() -> None:
    """After an overflow: what vanished is released, what stayed is not announced again."""
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
    s.at(0.0, LinkChanged("eth0", 2, MAC, True, True), AddressChanged("eth0", A1),
         AddressChanged("eth0", A2))
    state = State([LinkChanged("eth0", 2, MAC, True, True)], [AddressChanged("eth0", A1)])
    s.at(5.0, *reconcile(state, s.core.links_known(), s.core.addresses_known()))
    s.advance(60.0)
    assert s.timeline() == [(0.0, "192.0.2.1"), (0.0, "192.0.2.2")]
    assert s.core.held() == [("eth0", A1)]
    assert [f["address"] for _, f in s.events("vip_released")] == ["192.0.2.2"]


def test_reconcile_with_nothing_known_is_the_state() -> None:
    """With an empty core, reconcile() is exactly the snapshot's events."""
    state = State([LinkChanged("eth0", 2, MAC, True, True)], [AddressChanged("eth0", A1)])
    assert reconcile(state, {}, []) == state.events()


# --- scenarios run inside a network namespace ---------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def _jsonable(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, bytes):
            value = value.hex(":")
        elif isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            value = str(value)
        out[f.name] = value
    return out


def _veth(name: str, peer: str) -> None:
    _ip("link", "add", name, "type", "veth", "peer", "name", peer)


def scenario_snapshot() -> dict[str, Any]:
    """Build links and addresses, then snapshot() all of them and one interface."""
    _veth("v0", "v1")
    _ip("link", "set", "v0", "address", "02:00:00:00:00:aa")
    _veth("v2", "v3")
    _ip("link", "set", "v2", "arp", "off")
    _write("/proc/sys/net/ipv6/conf/v0/accept_dad", "1")
    _write("/proc/sys/net/ipv6/conf/v0/dad_transmits", "5")
    _write("/proc/sys/net/ipv6/neigh/v0/retrans_time_ms", "3000")
    _ip("link", "set", "v1", "up")
    _ip("link", "set", "v0", "up")
    _ip("link", "set", "v2", "up")  # its peer v3 stays down: no carrier
    _ip("addr", "add", "192.0.2.10/24", "dev", "v0")
    _ip("addr", "add", "192.0.2.20", "peer", "192.0.2.21", "dev", "v0")
    _ip("addr", "add", "198.51.100.7/24", "dev", "v2")
    # DAD failure: v1 already has the address v0 then asks for (they share a wire).
    _ip("-6", "addr", "add", "2001:db8::99/64", "dev", "v1", "nodad")
    _ip("-6", "addr", "add", "2001:db8::99/64", "dev", "v0")
    _ip("-6", "addr", "add", "2001:db8::20/64", "dev", "v0", "nodad")
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "-6", "addr", "show", "dev", "v0"], capture_output=True,
                             text=True, check=True, timeout=30).stdout
        if "dadfailed" in out:
            break
        time.sleep(0.05)
    _ip("-6", "addr", "add", "2001:db8::10/64", "dev", "v0")  # DAD runs for seconds
    full = snapshot(initial=True)
    only = snapshot(ifname="v2")
    return {
        "links": [_jsonable(e) for e in full.links],
        "addresses": [_jsonable(e) for e in full.addresses],
        "only_links": [_jsonable(e) for e in only.links],
        "only_addresses": [_jsonable(e) for e in only.addresses],
    }


def _matches(event: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(event.get(k) == v for k, v in expected.items())


Step = tuple[str, Callable[[], None], dict[str, Any]]


def scenario_watch() -> dict[str, Any]:
    """Run a Watcher on an asyncio loop while links and addresses change."""
    _veth("v0", "v1")
    _ip("link", "set", "v0", "address", "02:00:00:00:00:aa")
    _ip("link", "set", "v1", "up")
    _ip("link", "set", "v0", "up")

    def ip(*args: str) -> Callable[[], None]:
        return lambda: _ip(*args)

    def add_and_del() -> None:
        _ip("addr", "add", "192.0.2.31/24", "dev", "v0")
        _ip("addr", "del", "192.0.2.31/24", "dev", "v0")

    steps: list[Step] = [
        ("addr_add", ip("addr", "add", "192.0.2.30/24", "dev", "v0"),
         {"type": "AddressChanged", "ifname": "v0", "address": "192.0.2.30"}),
        ("addr6_add", ip("-6", "addr", "add", "2001:db8::30/64", "dev", "v0", "nodad"),
         {"type": "AddressChanged", "ifname": "v0", "address": "2001:db8::30"}),
        ("addr_del", ip("addr", "del", "192.0.2.30/24", "dev", "v0"),
         {"type": "AddressRemoved", "ifname": "v0", "address": "192.0.2.30"}),
        # Added and removed before the watcher reads: the add is not alone in its read.
        ("add_and_del", add_and_del,
         {"type": "AddressRemoved", "ifname": "v0", "address": "192.0.2.31"}),
        ("carrier_down", ip("link", "set", "v1", "down"),
         {"type": "LinkChanged", "ifname": "v0", "up": True, "carrier": False}),
        ("carrier_up", ip("link", "set", "v1", "up"),
         {"type": "LinkChanged", "ifname": "v0", "up": True, "carrier": True}),
        ("admin_down", ip("link", "set", "v0", "down"),
         {"type": "LinkChanged", "ifname": "v0", "up": False}),
        ("admin_up", ip("link", "set", "v0", "up"),
         {"type": "LinkChanged", "ifname": "v0", "up": True, "carrier": True}),
        ("mac", ip("link", "set", "v0", "address", "02:00:00:00:00:bb"),
         {"type": "LinkChanged", "ifname": "v0", "mac": "02:00:00:00:00:bb"}),
        ("noarp", ip("link", "set", "v0", "arp", "off"),
         {"type": "LinkChanged", "ifname": "v0", "noarp": True}),
        ("new_link", ip("link", "add", "v4", "type", "veth", "peer", "name", "v5"),
         {"type": "LinkChanged", "ifname": "v4"}),
        ("addr_on_new_link", ip("addr", "add", "192.0.2.40/24", "dev", "v4"),
         {"type": "AddressChanged", "ifname": "v4", "address": "192.0.2.40"}),
        ("del_link", ip("link", "del", "v4"),
         {"type": "LinkRemoved", "ifname": "v4"}),
        ("recreate", ip("link", "add", "v4", "type", "veth", "peer", "name", "v5"),
         {"type": "LinkChanged", "ifname": "v4"}),
        ("addr_on_recreated", ip("addr", "add", "192.0.2.41/24", "dev", "v4"),
         {"type": "AddressChanged", "ifname": "v4", "address": "192.0.2.41"}),
    ]

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        seen: list[Event] = []
        overflows: list[int] = []
        offers: list[list[str]] = []
        watcher = Watcher(seen.extend, lambda: overflows.append(1))

        def express(ifname: str, packed: bytes) -> bool:
            offers.append([ifname, str(ipaddress.ip_address(packed))])
            return False

        watcher.express = express
        try:
            watcher.learn(snapshot())
            watcher.start(loop)
            result: dict[str, list[dict[str, Any]]] = {}
            for name, action, expected in steps:
                start = len(seen)
                action()
                deadline = loop.time() + 10.0
                while loop.time() < deadline and not any(
                        _matches(_jsonable(e), expected) for e in seen[start:]):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)  # whatever else the kernel says about this step
                result[name] = [_jsonable(e) for e in seen[start:]]
        finally:
            watcher.close()
        return {"steps": result, "overflows": len(overflows), "offers": offers}

    return asyncio.run(run())


def scenario_forwarding() -> dict[str, Any]:
    """Turn IPv6 forwarding on for one interface while a Watcher runs."""
    _veth("v0", "v1")
    _ip("link", "set", "v1", "up")
    _ip("link", "set", "v0", "up")

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        seen: list[Event] = []
        watcher = Watcher(seen.extend, lambda: None)
        try:
            watcher.learn(snapshot())
            watcher.start(loop)
            _write("/proc/sys/net/ipv6/conf/v0/forwarding", "1")
            deadline = loop.time() + 5.0
            while loop.time() < deadline and not any(
                    isinstance(e, LinkChanged) and e.forwarding for e in seen):
                await asyncio.sleep(0.01)
        finally:
            watcher.close()
        return {"events": [_jsonable(e) for e in seen]}

    return asyncio.run(run())


def scenario_rename() -> dict[str, Any]:
    """Rename an interface holding an address while a Watcher feeds a core (as the daemon)."""
    _veth("v6", "v7")
    _ip("link", "set", "v7", "up")
    _ip("link", "set", "v6", "up")
    _ip("addr", "add", "192.0.2.50/24", "dev", "v6")

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        core = Announcer(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
        seen: list[Event] = []

        def feed(events: list[Event]) -> None:
            seen.extend(events)
            for event in events:
                core.handle(event, loop.time())
            core.poll(loop.time())

        def overflow() -> None:
            state = snapshot()
            watcher.learn(state)
            feed(reconcile(state, core.links_known(), core.addresses_known()))

        watcher = Watcher(feed, overflow)
        try:
            state = snapshot()
            watcher.learn(state)
            watcher.start(loop)
            feed(state.events())
            _ip("link", "set", "v6", "down")
            _ip("link", "set", "v6", "name", "v8")
            _ip("link", "set", "v8", "up")
            deadline = loop.time() + 10.0
            while loop.time() < deadline and not any(
                    isinstance(e, LinkChanged) and e.ifname == "v8" and e.up and e.carrier
                    for e in seen):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
        finally:
            watcher.close()
        return {
            "links": core.links_known(),
            "addresses": [[n, str(a)] for n, a in core.addresses_known()],
            "held": [[n, str(a)] for n, a in core.held()],
        }

    return asyncio.run(run())


def scenario_protodown() -> dict[str, Any]:
    """A macvlan turned off and on with protodown, as FRR's vrrpd marks backup and master,
    its address kept all along, while a Watcher feeds a core (as the daemon)."""
    _veth("v0", "v1")
    _ip("link", "set", "v1", "up")
    _ip("link", "set", "v0", "up")
    _ip("link", "add", "mv5", "link", "v0", "type", "macvlan", "mode", "bridge")
    _ip("link", "set", "mv5", "address", "00:00:5e:00:01:05")
    _ip("link", "set", "mv5", "protodown", "on")
    _ip("link", "set", "mv5", "up")
    _ip("addr", "add", "192.0.2.60/24", "dev", "mv5")

    async def run() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        core = Announcer(StaticPolicy(Timing(master_repeat=1, master_delay=0.0)))
        vip = ipaddress.ip_address("192.0.2.60")
        seen: list[tuple[Event, bool]] = []  # each event, and whether the VIP is held after

        def feed(events: list[Event]) -> None:
            for event in events:
                core.handle(event, loop.time())
                seen.append((event, ("mv5", vip) in core.held()))
            core.poll(loop.time())

        async def settle(step: str, start: int) -> None:
            await asyncio.sleep(0.5)
            marks.append((step, start, len(seen)))

        marks: list[tuple[str, int, int]] = []
        watcher = Watcher(feed, lambda: None)
        try:
            state = snapshot()
            watcher.learn(state)
            watcher.start(loop)
            feed(state.events())
            await settle("start", 0)
            for step, value in (("off", "off"), ("on", "on"), ("off_again", "off")):
                start = len(seen)
                _ip("link", "set", "mv5", "protodown", value)
                await settle(step, start)
        finally:
            watcher.close()
        return {step: [{**_jsonable(e), "held_after": held} for e, held in seen[a:b]
                       if getattr(e, "ifname", "") == "mv5"]
                for step, a, b in marks}

    return asyncio.run(run())


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "protodown": scenario_protodown,
    "snapshot": scenario_snapshot,
    "watch": scenario_watch,
    "forwarding": scenario_forwarding,
    "rename": scenario_rename,
}


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace, deleted (with anything left in it) afterwards."""
    require_lab()
    name = f"gdnl{os.getpid()}x{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                              check=False, timeout=30).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True,
                       timeout=30)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=False, timeout=30).stdout.split()
        assert name not in listed


def run_in(netns: str, scenario: str) -> dict[str, Any]:
    """Run ``scenario`` inside ``netns`` and return its JSON document."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-m", "tests.test_netlink", scenario],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT, env=env,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict)
    return doc


def _by_name(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["ifname"]: e for e in events}


@pytest.mark.lab
def test_snapshot_in_a_namespace(netns: str) -> None:
    """snapshot() reports links (mac, up, carrier, ethernet, noarp) and their addresses."""
    doc = run_in(netns, "snapshot")
    links = _by_name(doc["links"])
    assert set(links) == {"lo", "v0", "v1", "v2", "v3"}
    v0, v2, v3, lo = links["v0"], links["v2"], links["v3"], links["lo"]
    assert (v0["mac"], v0["up"], v0["carrier"], v0["noarp"], v0["ethernet"]) == (
        "02:00:00:00:00:aa", True, True, False, True)
    assert v0["forwarding"] is False
    assert (v2["up"], v2["carrier"], v2["noarp"], v2["ethernet"]) == (True, False, True, True)
    assert (v3["up"], v3["carrier"]) == (False, False)
    assert (lo["ethernet"], lo["up"]) == (False, False)
    assert all(e["type"] == "LinkChanged" for e in doc["links"])

    addrs = {(e["ifname"], e["address"]): e for e in doc["addresses"]}
    assert all(e["type"] == "AddressChanged" and e["initial"] for e in doc["addresses"])
    plain = addrs[("v0", "192.0.2.10")]
    assert (plain["tentative"], plain["dadfailed"]) == (False, False)
    assert ("v0", "192.0.2.20") in addrs  # IFA_LOCAL ...
    assert ("v0", "192.0.2.21") not in addrs  # ... not the peer in IFA_ADDRESS
    assert ("v2", "198.51.100.7") in addrs
    fresh = addrs[("v0", "2001:db8::10")]
    assert (fresh["tentative"], fresh["dadfailed"]) == (True, False)
    nodad = addrs[("v0", "2001:db8::20")]
    assert (nodad["tentative"], nodad["dadfailed"]) == (False, False)
    failed = addrs[("v0", "2001:db8::99")]
    assert failed["dadfailed"] is True
    assert addrs[("v1", "2001:db8::99")]["dadfailed"] is False

    assert [e["ifname"] for e in doc["only_links"]] == ["v2"]
    assert {e["ifname"] for e in doc["only_addresses"]} == {"v2"}
    assert "198.51.100.7" in {e["address"] for e in doc["only_addresses"]}
    assert all(e["initial"] is False for e in doc["only_addresses"])


@pytest.mark.lab
def test_watcher_in_a_namespace(netns: str) -> None:
    """RTM_NEWADDR / RTM_DELADDR / RTM_NEWLINK / RTM_DELLINK / netconf arrive as core events."""
    doc = run_in(netns, "watch")
    steps: dict[str, list[dict[str, Any]]] = doc["steps"]

    def one(step: str, **expected: Any) -> dict[str, Any]:
        found = [e for e in steps[step] if _matches(e, expected)]
        assert found, (step, steps[step])
        return found[-1]

    added = one("addr_add", type="AddressChanged", ifname="v0", address="192.0.2.30")
    assert (added["tentative"], added["dadfailed"], added["initial"]) == (False, False, False)
    one("addr6_add", type="AddressChanged", ifname="v0", address="2001:db8::30",
        tentative=False)
    one("addr_del", type="AddressRemoved", ifname="v0", address="192.0.2.30")
    one("carrier_down", type="LinkChanged", ifname="v0", up=True, carrier=False)
    one("carrier_up", type="LinkChanged", ifname="v0", up=True, carrier=True)
    one("admin_down", type="LinkChanged", ifname="v0", up=False)
    one("admin_up", type="LinkChanged", ifname="v0", up=True, carrier=True)
    one("mac", type="LinkChanged", ifname="v0", mac="02:00:00:00:00:bb")
    one("noarp", type="LinkChanged", ifname="v0", noarp=True)
    first = one("new_link", type="LinkChanged", ifname="v4")
    one("addr_on_new_link", type="AddressChanged", ifname="v4", address="192.0.2.40")
    one("del_link", type="LinkRemoved", ifname="v4", ifindex=first["ifindex"])
    second = one("recreate", type="LinkChanged", ifname="v4")
    assert second["ifindex"] != first["ifindex"]
    one("addr_on_recreated", type="AddressChanged", ifname="v4", address="192.0.2.41")
    # Nothing is reported for another interface's address, and nothing overflowed.
    assert all(e.get("ifname") in ("v0", "v1", "v4", "v5") for s in steps.values() for e in s)
    assert doc["overflows"] == 0
    # The kernel's own RTM_NEWADDR is what the express peek reads: each IPv4 address
    # added alone was offered (interface, address), nothing else was (not the one whose
    # removal was queued behind it: the poll saw it).
    one("add_and_del", type="AddressChanged", ifname="v0", address="192.0.2.31")
    assert doc["offers"] == [["v0", "192.0.2.30"], ["v4", "192.0.2.40"], ["v4", "192.0.2.41"]]


@pytest.mark.lab
def test_protodown_carrier_is_followed_in_two_steps(netns: str) -> None:
    """FRR's backup/master switch (protodown on a macvlan, address kept): the carrier-less
    link is never held; protodown off is reported first with LOWER_UP but not RUNNING
    (not yet held: the kernel would drop frames), then with RUNNING (held)."""
    doc = run_in(netns, "protodown")
    links = {step: [e for e in events if e["type"] == "LinkChanged"]
             for step, events in doc.items()}
    start = doc["start"]
    assert any(e["type"] == "AddressChanged" and e["address"] == "192.0.2.60" for e in start)
    assert not any(e["held_after"] for e in start), start
    for step in ("off", "off_again"):
        states = [(e["carrier"], e["running"], e["held_after"]) for e in links[step]]
        assert states[-1] == (True, True, True), (step, states)
        assert (True, False, False) in states, (step, states)
        assert states.index((True, False, False)) < len(states) - 1
    on = [(e["carrier"], e["held_after"]) for e in links["on"]]
    assert on, doc["on"]
    assert on[0] == (False, False), on
    assert not any(h for _, h in on), on


NETCONF_BUG = ("bug: pyroute2's MarshalRtnl has no class for RTM_NEWNETCONF (it parses as a bare "
               "nlmsg without attributes), so Watcher.decode() never finds NETCONFA_IFINDEX and "
               "an IPv6 forwarding change (the NA Router flag) is never followed")


@pytest.mark.lab
def test_forwarding_change_in_a_namespace(netns: str) -> None:
    """net.ipv6.conf.IF.forwarding = 1 restates the link with forwarding True."""
    doc = run_in(netns, "forwarding")
    assert any(e["type"] == "LinkChanged" and e["ifname"] == "v0" and e["forwarding"]
               for e in doc["events"])


@pytest.mark.lab
def test_rename_moves_addresses_to_the_new_name(netns: str) -> None:
    """After `ip link set v6 name v8`, the core knows v8 with its address and no v6."""
    doc = run_in(netns, "rename")
    assert "v6" not in doc["links"]
    assert ["v8", "192.0.2.50"] in doc["addresses"]
    assert ["v8", "192.0.2.50"] in doc["held"]


if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
