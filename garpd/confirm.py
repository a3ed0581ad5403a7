"""Confirmation: did each gateway take the move? One small machine per (address, gateway).

Pure: no clock, no socket, no logging; time comes in as ``now``. SPEC *Directed
announcements and confirmation*: for a group with ``gateways``, after the first burst of
every schedule (and after ``mac_change``) garpd sends each gateway of the address's family
a directed request from the address (:mod:`garpd.neighbour_wire` builds it). The gateway's
answer proves it processed the request: record ``confirmed``. No answer within
``confirm_timeout``: ask again with the timeout doubled, up to ``confirm_retries`` times,
then record ``unconfirmed``. A release cancels what is pending; a new schedule restarts it.

With timeout 1 s and 3 retries the requests leave at +0, +1, +3 and +7 s and
``unconfirmed`` is recorded at +15 s.

Interface (the core calls it; the driver sends the probes and writes the records)::

    c = Confirmer()
    c.start(ifname, address, mac, gateways, timing, now, began=t0, group=None)
        # gateways: a tuple of addresses (other families are ignored) or "auto"
    c.cancel(ifname, address)                      # released
    c.set_gateways(ifname, family, gateways, now)  # "auto": the routes' next hops changed
    c.set_neighbour(ifname, ip, mac | None)        # the kernel's neighbour table entry
    c.handle_answer(ifname, claim, now) -> list[Record]   # every parsed frame may be one
    c.poll(now) -> (list[Probe], list[Record]); c.next_deadline() -> float | None
    c.status() -> list[GatewayStatus]

**What counts as the gateway's answer to the address** (the frame must show that the
gateway's neighbour entry for the address now names this host's MAC, the one ``start`` was
given):

- ARP reply from the gateway (sender protocol address = gateway) to the address (target
  protocol address = address) with target hardware address = our MAC: Linux and every
  RFC 826 stack answer a request this way, after merging the requester into the cache;
- ARP request from the gateway for the address sent to our MAC (Ethernet destination):
  the gateway's unicast re-check of an entry that already names us (Linux NUD probe);
- solicited NA (S flag) whose target is the gateway, sent to the address (IPv6 dst);
- NS from the gateway for the address sent to our MAC (IPv6 NUD probe).

A broadcast request from the gateway proves nothing (it has no entry), nor does an
unsolicited NA. An answer after ``unconfirmed`` still turns it into ``confirmed`` (the
gateway did take it, late); answers to a confirmed pair are ignored. The answering MAC is
remembered as the gateway's MAC for the next requests (besides ``set_neighbour``).

``after_ms`` counts from ``began`` (the schedule's start, t0), so it measures takeover to
confirmation; a gateway that appears later (``set_gateways``) counts from when it appeared.
"""

from __future__ import annotations

import heapq
from typing import Final, Literal

from garpd.frames import Address, mac_text
from garpd.lean import dataclass, field
from garpd.neighbour_wire import Claim
from garpd.records import Record

State = Literal["pending", "confirmed", "unconfirmed"]
GatewaySpec = tuple[Address, ...] | Literal["auto"]
AUTO: Final = "auto"
#: At most this many neighbour MACs are remembered (the cache starts over past it).
NEIGHBOUR_LIMIT: Final = 4096
EPSILON: Final = 1e-6


@dataclass(frozen=True, slots=True)
class ConfirmTiming:
    """``confirm_timeout`` (s, doubled per retry) and ``confirm_retries``."""

    timeout: float = 1.0
    retries: int = 3

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"confirm_timeout must be > 0, got {self.timeout!r}")
        if self.retries < 0:
            raise ValueError(f"confirm_retries must be >= 0, got {self.retries!r}")


@dataclass(frozen=True, slots=True)
class Probe:
    """A directed request to send now (build it with ``ProbeCache.frame``)."""

    interface: str
    address: Address
    mac: bytes
    gateway: Address
    gateway_mac: bytes | None
    """The gateway's MAC if known (unicast), else None (broadcast / solicited-node)."""
    attempt: int
    """1 for the first request, 2.. for the retries."""


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """One (address, gateway) as ``garpd status`` shows it."""

    interface: str
    address: str
    gateway: str
    state: State
    attempts: int
    after_ms: int | None
    gateway_mac: str | None
    next_try: float | None


@dataclass(slots=True, eq=False)
class _Gw:
    owner: _Addr
    gateway: Address
    began: float
    state: State = "pending"
    attempts: int = 0
    due: float | None = None
    epoch: int = 0
    after_ms: int | None = None
    gateway_mac: bytes | None = None


@dataclass(slots=True, eq=False)
class _Addr:
    ifname: str
    address: Address
    mac: bytes
    spec: GatewaySpec
    timing: ConfirmTiming
    group: str | None
    gateways: dict[Address, _Gw] = field(default_factory=dict)


class Confirmer:
    """Every (address, gateway) confirmation (rules: module docstring)."""

    def __init__(self) -> None:
        self._addrs: dict[tuple[str, Address], _Addr] = {}
        self._auto: dict[tuple[str, int], frozenset[Address]] = {}
        self._auto_users: dict[tuple[str, int], set[tuple[str, Address]]] = {}
        self._neighbours: dict[tuple[str, Address], bytes] = {}
        self._timers: list[tuple[float, int, _Gw, int]] = []
        self._seq = 0
        self.counters: dict[str, int] = {"probes": 0, "confirmed": 0, "unconfirmed": 0,
                                         "late": 0}

    # --- inputs --------------------------------------------------------------------------

    def start(self, ifname: str, address: Address, mac: bytes, gateways: GatewaySpec,
              timing: ConfirmTiming, now: float, began: float | None = None,
              group: str | None = None) -> None:
        """Begin (or restart) confirming ``address`` with its gateways, first request now."""
        self.cancel(ifname, address)
        key = (ifname, address)
        addr = _Addr(ifname, address, mac, gateways, timing, group)
        self._addrs[key] = addr
        if gateways == AUTO:
            family = (ifname, address.version)
            self._auto_users.setdefault(family, set()).add(key)
            chosen: tuple[Address, ...] | frozenset[Address] = self._auto.get(family,
                                                                               frozenset())
        else:
            chosen = gateways
        start = now if began is None else began
        for gateway in chosen:
            self._add_gateway(addr, gateway, start, now)

    def cancel(self, ifname: str, address: Address) -> None:
        """``address`` is released: drop everything pending for it (and its status)."""
        key = (ifname, address)
        addr = self._addrs.pop(key, None)
        if addr is None:
            return
        for gw in addr.gateways.values():
            gw.epoch += 1
        if addr.spec == AUTO:
            users = self._auto_users.get((ifname, address.version))
            if users is not None:
                users.discard(key)

    def set_gateways(self, ifname: str, family: int, gateways: frozenset[Address] | set[Address],
                     now: float) -> None:
        """The ``auto`` gateways of (``ifname``, IP ``family`` 4|6) are now ``gateways``.

        Addresses confirming with ``auto`` start on new gateways now and drop gone ones.
        """
        new = frozenset(g for g in gateways if g.version == family)
        self._auto[(ifname, family)] = new
        for key in list(self._auto_users.get((ifname, family), ())):
            addr = self._addrs[key]
            for gateway in list(addr.gateways):
                if gateway not in new:
                    addr.gateways.pop(gateway).epoch += 1
            for gateway in new:
                if gateway not in addr.gateways:
                    self._add_gateway(addr, gateway, now, now)

    def set_neighbour(self, ifname: str, ip: Address, mac: bytes | None) -> None:
        """The kernel's neighbour entry for ``ip`` on ``ifname`` (None: gone or invalid)."""
        key = (ifname, ip)
        if mac is None:
            self._neighbours.pop(key, None)
            return
        if key not in self._neighbours and len(self._neighbours) >= NEIGHBOUR_LIMIT:
            self._neighbours.clear()
        self._neighbours[key] = mac

    def handle_answer(self, ifname: str, claim: Claim, now: float) -> list[Record]:
        """A parsed frame received on ``ifname``: a ``confirmed`` record if it is an answer."""
        gateway: Address | None
        address: Address
        kind = claim.kind
        if kind == "na":
            if not claim.solicited or claim.ip_dst is None:
                return []
            gateway, address = claim.target, claim.ip_dst
        elif kind in ("arp_reply", "arp_request", "ns"):
            gateway, address = claim.sender, claim.target
        else:
            return []
        addr = self._addrs.get((ifname, address))
        if addr is None or gateway is None:
            return []
        gw = addr.gateways.get(gateway)
        if gw is None or gw.state == "confirmed":
            return []
        if kind == "arp_reply":
            if claim.target_mac != addr.mac:
                return []
        elif kind != "na" and claim.eth_dst != addr.mac:
            return []
        late = gw.state == "unconfirmed"
        gw.state = "confirmed"
        gw.epoch += 1
        gw.due = None
        gw.gateway_mac = claim.mac
        gw.after_ms = round((now - gw.began) * 1000)
        self.set_neighbour(ifname, gateway, claim.mac)
        self.counters["confirmed"] += 1
        if late:
            self.counters["late"] += 1
        fields: dict[str, object] = {
            "interface": ifname, "address": str(address), "gateway": str(gateway),
            "gateway_mac": mac_text(claim.mac), "after_ms": gw.after_ms,
            "attempts": gw.attempts,
        }
        if late:
            fields["late"] = True
        if addr.group is not None:
            fields["group"] = addr.group
        return [Record("confirmed", fields)]

    # --- time ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time ``poll`` has something to do, or None."""
        timers = self._timers
        while timers and timers[0][3] != timers[0][2].epoch:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def poll(self, now: float) -> tuple[list[Probe], list[Record]]:
        """The requests due now and the ``unconfirmed`` records of pairs that gave up."""
        probes: list[Probe] = []
        records: list[Record] = []
        timers = self._timers
        while timers and timers[0][0] <= now + EPSILON:
            _due, _seq, gw, epoch = heapq.heappop(timers)
            if epoch != gw.epoch:
                continue
            addr = gw.owner
            if gw.attempts <= addr.timing.retries:
                gw.attempts += 1
                wait = addr.timing.timeout * (1 << (gw.attempts - 1))
                self._arm(gw, now + wait)
                mac = self._neighbours.get((addr.ifname, gw.gateway))
                probes.append(Probe(addr.ifname, addr.address, addr.mac, gw.gateway, mac,
                                    gw.attempts))
                self.counters["probes"] += 1
                continue
            gw.state = "unconfirmed"
            gw.due = None
            self.counters["unconfirmed"] += 1
            fields: dict[str, object] = {
                "interface": addr.ifname, "address": str(addr.address),
                "gateway": str(gw.gateway), "attempts": gw.attempts,
                "waited_ms": round((now - gw.began) * 1000),
            }
            if addr.group is not None:
                fields["group"] = addr.group
            records.append(Record("unconfirmed", fields))
        return probes, records

    # --- queries -------------------------------------------------------------------------

    def status(self) -> list[GatewayStatus]:
        """Every (address, gateway) being or last confirmed, while the address is held."""
        return [
            GatewayStatus(addr.ifname, str(addr.address), str(gw.gateway), gw.state,
                          gw.attempts, gw.after_ms,
                          mac_text(gw.gateway_mac) if gw.gateway_mac else None, gw.due)
            for addr in self._addrs.values() for gw in addr.gateways.values()
        ]

    def auto_gateways(self, ifname: str, family: int) -> frozenset[Address]:
        """The ``auto`` gateways of (``ifname``, ``family``) as last set."""
        return self._auto.get((ifname, family), frozenset())

    def gateways(self, ifname: str, address: Address) -> list[Address]:
        """The gateways ``address`` is being confirmed with (for ``garpd check``/status)."""
        addr = self._addrs.get((ifname, address))
        return list(addr.gateways) if addr is not None else []

    # --- internals -----------------------------------------------------------------------

    def _add_gateway(self, addr: _Addr, gateway: Address, began: float, now: float) -> None:
        if gateway.version != addr.address.version or gateway == addr.address:
            return
        gw = _Gw(addr, gateway, began)
        addr.gateways[gateway] = gw
        self._arm(gw, now)

    def _arm(self, gw: _Gw, due: float) -> None:
        gw.epoch += 1
        gw.due = due
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, gw, gw.epoch))
