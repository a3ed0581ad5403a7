"""``garpd announce``: the manual one-shot on one interface.

It refuses (exit 2) an interface that does not exist or cannot carry ARP, and an address
the interface does not hold unless ``--force``. Then it is a one-shot
(:mod:`garpd.commands.oneshot`) with the master schedule (reason ``oneshot``):
``--repeat`` packets per address now and ``--repeat`` more after ``--delay``, spaced by
``--interval``. It keeps watching netlink while it runs, so an address removed (or a link
gone down) mid-way is not announced any more; an IPv6 address still in DAD is announced
once DAD completes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from garpd.commands import oneshot
from garpd.commands.oneshot import Oneshot, Selection
from garpd.errors import EXIT_OK, EXIT_RUNTIME, UsageError
from garpd.events import AddressChanged, LinkChanged
from garpd.frames import Address
from garpd.lazylog import DeferredLog
from garpd.policy import StaticPolicy, Timing

if TYPE_CHECKING:
    import argparse

#: How long an IPv6 address may stay tentative before ``announce`` gives up on it.
DAD_TIMEOUT = 10.0


def parse_addresses(texts: list[str]) -> list[Address]:
    """Parse the ADDRESS arguments (a ``/len`` suffix is ignored); duplicates dropped."""
    out: list[Address] = []
    seen: set[Address] = set()
    for text in texts:
        try:
            address = ipaddress.ip_address(text.split("/", 1)[0])
        except ValueError:
            raise UsageError(f"{text!r} is not an IPv4 or IPv6 address") from None
        if address.is_multicast or address.is_unspecified or address.is_loopback:
            raise UsageError(f"{text!r} cannot be announced (multicast, unspecified or "
                             "loopback)")
        if address not in seen:
            seen.add(address)
            out.append(address)
    return out


def main(args: argparse.Namespace) -> int:
    """Run ``garpd announce``."""
    log = DeferredLog(args.log_format, args.log_level or "info")  # set up after the frames
    addresses = parse_addresses(args.addresses)
    ifname: str = args.interface
    if not ifname or len(ifname.encode()) > 15 or "/" in ifname:
        raise UsageError(f"interface {ifname!r}: not a valid interface name")
    timing = Timing(master_repeat=args.repeat, master_delay=args.delay, master_refresh=0.0,
                    mode=args.mode, announce_on_start=True)
    return _announce(ifname, addresses, timing, args.interval, args.force, log)


def _check_link(ifname: str, links: list[LinkChanged]) -> LinkChanged:
    link = next((ln for ln in links if ln.ifname == ifname), None)
    if link is None:
        raise UsageError(f"interface {ifname!r} does not exist")
    if not link.ethernet or len(link.mac) != 6:
        raise UsageError(f"interface {ifname!r} is not an Ethernet interface "
                         "(loopback, tunnel, ...): nothing can be announced there")
    if link.noarp:
        raise UsageError(f"interface {ifname!r} has NOARP set: nothing is sent there")
    if not link.up:
        raise UsageError(f"interface {ifname!r} is down")
    if not link.carrier:
        raise UsageError(f"interface {ifname!r} has no carrier (LOWER_UP is off)")
    if not link.running:
        raise UsageError(f"interface {ifname!r} is not running yet (RUNNING is off): "
                         "frames would be dropped")
    return link


def _address_events(ifname: str, wanted: list[Address], found: list[AddressChanged],
                    force: bool) -> list[AddressChanged]:
    present = {ev.address: ev for ev in found if ev.ifname == ifname}
    events: list[AddressChanged] = []
    missing: list[str] = []
    for address in wanted:
        ev = present.get(address)
        if ev is not None and ev.dadfailed and not force:
            raise UsageError(f"{address} on {ifname} failed duplicate address detection "
                             "(dadfailed): another host uses it")
        if ev is None or ev.dadfailed:
            if not force:
                missing.append(str(address))
                continue
            ev = AddressChanged(ifname, address, initial=True)
        events.append(ev)
    if missing:
        raise UsageError(f"{ifname} does not hold {', '.join(missing)}: announcing an address "
                         "this host does not hold hijacks it (use --force to do it anyway)")
    return events


def _select(ifname: str, wanted: list[Address], force: bool
            ) -> Callable[[Any], Selection]:
    """The addresses ``announce`` sends for, checked against the kernel's state."""

    def select(state: Any) -> Selection:
        _check_link(ifname, state.links)
        events = _address_events(ifname, wanted, state.addresses, force)
        return frozenset((ifname, ev.address) for ev in events), list(events)

    return select


def _announce(ifname: str, wanted: list[Address], timing: Timing, interval: float,
                    force: bool, log: Any) -> int:
    policy = StaticPolicy(timing, group="announce", interval=interval, na_interval=interval)
    shot = Oneshot(policy, "oneshot", interface=ifname, select=_select(ifname, wanted, force),
                   dad_timeout=DAD_TIMEOUT)
    outcome = oneshot.run(shot, log)
    if outcome.released or outcome.missed:
        names = ", ".join(outcome.missed) or "some addresses"
        log.error("announce_incomplete", interface=ifname, addresses=names,
                  released=outcome.released)
        return EXIT_RUNTIME
    return EXIT_OK
