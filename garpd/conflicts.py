"""Conflicts: another MAC claims an address this host holds; record it, defend it or not.

Pure: no clock, no socket, no logging; time comes in as ``now``. SPEC *Seeing the LAN*:
while an address is held, a frame from a MAC that is not one of this host's interface
MACs whose ARP sender protocol address, or NA target, is the address is a *conflict*
(probes, sender 0.0.0.0, are not). ``defend``: one burst of one packet per address (two in
``both`` mode), reason ``defend``, at most once per address per ``defend_interval``;
``log``: record only; ``off``: nothing (the listener does not even listen). A conflict never
changes whether an address is held.

Interface (the core owns *held*; it tells this guard)::

    guard = ConflictGuard()
    guard.set_own_macs(macs)                    # every interface's MAC, VMACs included
    guard.link(ifname, mac)                     # the MAC the interface announces from
    guard.hold(ifname, address, policy, defend_interval, group=None)   # became held
    guard.release(ifname, address)              # no longer held: forgets its state
    decision = guard.decide(ifname, claim, now) # one parsed frame from ifname's listener
    decision.defend -> the core queues one slot (repeat 1) for (ifname, address), reason
                       "defend", on the address's pacer (so ``interval`` spaces it)
    decision.record -> a ``conflict`` Record to log at warning level, or None
    guard.status(), guard.recent(), guard.counters

Decisions, in order: ``ignore`` (reason ``ours``: the frame comes from or binds one of this
host's MACs; ``not_claim``: a probe, an NS, no claimed address; ``not_held``; ``off``),
then for a conflict ``defend`` (policy defend and no defence of this address for
``defend_interval``), ``record`` (a record is due) or ``count``.

Rules this module settles where SPEC is silent:

- *The interval runs from the last defence*, not (as RFC 5227 2.4 (b) has it) from the last
  conflict seen: under a steady flood RFC 5227's host would never defend again; garpd
  defends once per interval, as SPEC says.
- *Records are bounded too*: one ``conflict`` record per address per ``defend_interval``
  (always one with each defence). The conflicts counted in between are in the next record:
  ``suppressed`` (how many) and ``other_macs`` (the distinct MACs among them, at most
  :data:`MAX_MACS`). ``recent()`` keeps the last :data:`RECENT` records for ``status``.
  So a flood costs O(1) per frame (two dict look-ups and a few compares) and the memory
  is bounded by the held addresses, never by the frames or MACs seen.
- *A release forgets the address's defence timer*. RFC 5227 ties the timer to one use of
  the address; a new takeover starts a new use and announces it with a full master burst
  anyway, louder than a defence. Memory stays bounded by what is held.

Two garpd hosts holding the same VIP (split brain outside VRRP): each sees the other's
announcements as conflicts. A defence by X makes Y defend only if Y has not defended for
``defend_interval``; Y's defence then reaches X inside X's interval and is only counted. So a
scheduled burst of one host causes at most one defence from the other and one counter-
defence, and the exchange stops: no defend war. What an operator sees on each host: one
``conflict`` warning per interval at most, naming the other host's MAC (``other_mac``), an
``announce`` record with reason ``defend`` and one packet, ``garpd_conflicts_total`` and
``garpd_defences_total`` growing, and the neighbours' entry ending on whoever sent last.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Literal

from garpd.frames import Address, mac_text
from garpd.lean import dataclass
from garpd.neighbour_wire import Claim, classify
from garpd.records import Record

ConflictPolicy = Literal["defend", "log", "off"]
Outcome = Literal["ignore", "defend", "record", "count"]

#: How many ``conflict`` records ``recent()`` keeps for ``garpd status``.
RECENT: Final = 16
#: How many distinct rules (policy, interval, group) are shared before the cache starts over.
MAX_RULES = 1024
#: How many distinct other MACs a record lists in ``other_macs``.
MAX_MACS: Final = 4
#: Tolerance for "has the interval passed": loops wake a hair early.
EPSILON: Final = 1e-6


@dataclass(frozen=True, slots=True)
class Decision:
    """What one frame means: ``outcome``, why (``reason``), what to log and to send."""

    outcome: Outcome
    reason: str
    """For ``ignore``: ours, not_claim, not_held, off; otherwise the frame name."""
    key: tuple[str, Address] | None = None
    record: Record | None = None

    @property
    def defend(self) -> bool:
        """The core should send one ``defend`` slot for :attr:`key` now."""
        return self.outcome == "defend"


@dataclass(slots=True)
class _Held:
    policy: ConflictPolicy
    interval: float
    group: str | None
    total: int = 0
    defences: int = 0
    last_defence: float | None = None
    last_record: float | None = None
    last_seen: float | None = None
    last_mac: bytes = b""
    suppressed: int = 0
    macs: dict[bytes, None] | None = None
    """Distinct other MACs since the last record (at most MAX_MACS); None until the first
    (an empty dict per held address was 64 bytes, 640 KB with 10,000 held)."""


@dataclass(frozen=True, slots=True)
class _Rule:
    """A held address that has seen no conflict yet: only its rule, one object shared by
    every such address with the same rule (a :class:`_Held` per held address was ~150
    bytes, 1.5 MB with 10,000 held). Reads like a :class:`_Held` with nothing counted."""

    policy: ConflictPolicy
    interval: float
    group: str | None
    total = 0
    defences = 0
    last_seen = None
    last_mac = b""
    last_defence = None


@dataclass(frozen=True, slots=True)
class ConflictStatus:
    """One held address as ``garpd status`` shows it."""

    interface: str
    address: str
    policy: ConflictPolicy
    conflicts: int
    defences: int
    last_seen: float | None
    last_mac: str | None
    last_defence: float | None


_IGNORE: dict[str, Decision] = {r: Decision("ignore", r)
                                for r in ("ours", "not_claim", "not_held", "off")}


class ConflictGuard:
    """The conflict decision for every held address (rules: module docstring)."""

    def __init__(self, recent: int = RECENT) -> None:
        self._held: dict[str, dict[Address, _Held | _Rule]] = {}
        self._rules: dict[tuple[ConflictPolicy, float, str | None], _Rule] = {}
        self._own: frozenset[bytes] = frozenset()
        self._link_macs: dict[str, bytes] = {}
        self._recent: deque[Record] = deque(maxlen=recent)
        self.counters: dict[str, dict[str, int]] = {}
        """Per interface: ``conflicts`` and ``defences`` (the metrics' families)."""

    # --- inputs from the core ----------------------------------------------------------

    def set_own_macs(self, macs: frozenset[bytes] | set[bytes]) -> None:
        """Every MAC of this host's interfaces (macvlan/VMAC ones included)."""
        self._own = frozenset(macs)

    def link(self, ifname: str, mac: bytes) -> None:
        """``ifname`` announces from ``mac`` (new interface or MAC change)."""
        self._link_macs[ifname] = mac

    def hold(self, ifname: str, address: Address, policy: ConflictPolicy,
             defend_interval: float, group: str | None = None) -> None:
        """``address`` became held on ``ifname`` (or its policy changed on reload).

        A policy change keeps the address's counts and defence timer.
        """
        if policy not in ("defend", "log", "off"):
            raise ValueError(f"unknown conflict policy {policy!r}")
        if defend_interval < 0:
            raise ValueError(f"defend_interval must be >= 0, got {defend_interval!r}")
        per_link = self._held.setdefault(ifname, {})
        state = per_link.get(address)
        if isinstance(state, _Held):
            state.policy, state.interval, state.group = policy, defend_interval, group
            return
        key = (policy, defend_interval, group)
        rule = self._rules.get(key)
        if rule is None:
            if len(self._rules) >= MAX_RULES:
                self._rules.clear()  # only sharing is lost: each address keeps its own
            rule = self._rules[key] = _Rule(policy, defend_interval, group)
        per_link[address] = rule

    def release(self, ifname: str, address: Address) -> None:
        """``address`` is no longer held on ``ifname``: forget it and its defence timer."""
        per_link = self._held.get(ifname)
        if per_link is not None:
            per_link.pop(address, None)
            if not per_link:
                del self._held[ifname]

    def forget_link(self, ifname: str) -> None:
        """``ifname`` is gone: forget its addresses and its MAC."""
        self._held.pop(ifname, None)
        self._link_macs.pop(ifname, None)

    # --- the decision ------------------------------------------------------------------

    def decide(self, ifname: str, claim: Claim, now: float) -> Decision:
        """What the frame ``claim``, received on ``ifname`` at ``now``, means."""
        held = self._held.get(ifname)
        note = classify(claim, self._own, held if held is not None else ())
        if note == "ours":
            return _IGNORE["ours"]
        address = claim.claimed
        if address is None:
            return _IGNORE["not_claim"]
        if note != "conflict" or held is None:
            return _IGNORE["not_held"]
        state = held[address]
        if state.policy == "off":
            return _IGNORE["off"]
        if isinstance(state, _Rule):  # its first conflict: counts from now on
            state = held[address] = _Held(state.policy, state.interval, state.group)
        return self._conflict(ifname, address, state, claim, now)

    def _conflict(self, ifname: str, address: Address, state: _Held, claim: Claim,
                  now: float) -> Decision:
        counters = self.counters.get(ifname)
        if counters is None:
            counters = self.counters[ifname] = {"conflicts": 0, "defences": 0}
        counters["conflicts"] += 1
        state.total += 1
        state.last_seen = now
        state.last_mac = claim.mac
        due = state.interval - EPSILON
        defend = state.policy == "defend" and (
            state.last_defence is None or now - state.last_defence >= due)
        if not defend and state.last_record is not None and now - state.last_record < due:
            state.suppressed += 1
            if state.macs is None:
                state.macs = {}
            if claim.mac not in state.macs and len(state.macs) < MAX_MACS:
                state.macs[claim.mac] = None
            return Decision("count", claim.frame, (ifname, address))
        if defend:
            state.last_defence = now
            state.defences += 1
            counters["defences"] += 1
        fields: dict[str, object] = {
            "interface": ifname,
            "address": str(address),
            "mac": mac_text(self._link_macs[ifname]) if ifname in self._link_macs else None,
            "other_mac": mac_text(claim.mac),
            "frame": claim.frame,
            "policy": state.policy,
            "defended": defend,
            "suppressed": state.suppressed,
        }
        if state.macs:
            fields["other_macs"] = [mac_text(m) for m in state.macs]
        if state.group is not None:
            fields["group"] = state.group
        record = Record("conflict", fields)
        state.last_record = now
        state.suppressed = 0
        state.macs = None
        self._recent.append(record)
        return Decision("defend" if defend else "record", claim.frame, (ifname, address), record)

    # --- queries -----------------------------------------------------------------------

    def policy(self, ifname: str, address: Address) -> ConflictPolicy | None:
        """The policy of a held address, or None when it is not held."""
        state = self._held.get(ifname, {}).get(address)
        return state.policy if state is not None else None

    def listening(self) -> set[str]:
        """The interfaces where some held address has a policy other than ``off``."""
        return {ifname for ifname, per_link in self._held.items()
                if any(s.policy != "off" for s in per_link.values())}

    def watched(self, ifname: str) -> list[Address]:
        """The held addresses of ``ifname`` whose policy is not ``off`` (for the BPF filter)."""
        return [a for a, s in self._held.get(ifname, {}).items() if s.policy != "off"]

    def recent(self) -> list[Record]:
        """The last ``conflict`` records, oldest first (bounded)."""
        return list(self._recent)

    def status(self) -> list[ConflictStatus]:
        """Every held address with its conflict counts."""
        return [
            ConflictStatus(ifname, str(address), s.policy, s.total, s.defences, s.last_seen,
                           mac_text(s.last_mac) if s.last_mac else None, s.last_defence)
            for ifname, per_link in self._held.items() for address, s in per_link.items()
        ]
