"""The announcer core: who holds what, and what to send when.

Pure: it never reads a clock, never touches a socket and never logs. Drivers feed it
events with ``handle(event, now)``, ask it ``poll(now)`` for the frames due and the log
records to write, and sleep until ``next_deadline()``. Everything that decides garpd's
behaviour on the wire lives here and in :mod:`garpd.pacing`:

- *held*: an address is held while it is on its interface, the interface is up, has
  carrier (IFF_LOWER_UP) and is operational (IFF_RUNNING: operstate up), is Ethernet and
  ARP-capable, and (IPv6) the address is neither tentative nor dadfailed. An address kept
  on a link without carrier (FRR's vrrpd marks a backup so) is not held; carrier back with
  the address still there is a takeover (``link_up``), once the link is operational;
- *takeover* (an address becomes held, or a trigger such as ``notify``): ``master_repeat``
  packets at t0, ``master_repeat`` more at t0 + ``master_delay``, then
  ``master_refresh_repeat`` every ``master_refresh`` from t0 + delay + refresh;
- *lower priority*: ``lower_prio_repeat`` now and again after ``lower_prio_delay``, at most
  once a second per group;
- *MAC change*: ``master_repeat`` at once from the new MAC; queued frames use it too;
- *release*: everything pending for the address is cancelled, including its queued packets
  and its refresh, and its pending confirmations;
- *seeing the LAN* (SPEC): frames the neighbour listener read (:class:`NeighbourFrames`)
  go to the conflict guard (:mod:`garpd.conflicts`: a ``conflict`` record, and a
  ``defend`` burst of one packet per address through the pacer like any burst) and to the
  confirmer (:mod:`garpd.confirm`), which the core starts after the first burst of every
  schedule (``master``, ``notify``, ``lower_prio``, ``link_up``, ``mac_change``...) of a
  group with ``gateways``; its directed requests are not paced (a handful per takeover).

Timers are kept in one heap; a timer carries the address's *epoch*, and bumping the epoch
cancels every timer of that address at once (stale entries are skipped when popped).
Refreshes are kept apart, in *cohorts*: the held addresses whose refresh falls due at the
same moment with the same period (every address a takeover started at once) share one
timer, so a round of a thousand refreshes costs one heap operation, not a thousand. An
address leaves its cohort (O(1)) when it is released or its refresh restarts. A cohort that
falls behind (the host was suspended) sends one refresh and skips the rounds it missed,
keeping to its grid.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from garpd.confirm import Confirmer, ConfirmTiming, GatewayStatus
from garpd.conflicts import ConflictGuard, ConflictStatus
from garpd.events import (
    AddressChanged,
    AddressRemoved,
    AddrKey,
    Event,
    GatewaysChanged,
    LinkChanged,
    LinkRemoved,
    LowerPriority,
    NeighbourChanged,
    NeighbourFrames,
    Trigger,
)
from garpd.frames import Address, FrameCache, mac_text
from garpd.histogram import Histogram
from garpd.lean import dataclass, field
from garpd.neighbour_wire import ProbeCache
from garpd.pacing import EPSILON, Burst, Pacer
from garpd.policy import Policy, Timing, Watch
from garpd.records import Record

#: A notify for an address whose takeover began less than this long ago is merged into it.
NOTIFY_MERGE_WINDOW = 1.0
#: At most one lower-priority schedule per group per this many seconds.
LOWER_PRIO_MIN_GAP = 1.0

#: The reasons of the first burst of a schedule: confirmation starts once it is out.
FIRST_BURSTS = frozenset({"master", "link_up", "notify", "oneshot", "lower_prio",
                          "mac_change"})


@dataclass(slots=True)
class Batch:
    """The frames due on one interface, in order, with everything a driver needs to send
    them: the interface's index, and the address each frame announces (``owners``, the
    same length as ``frames``), so frames waiting for a retry can be matched with the
    addresses released meanwhile."""

    ifindex: int
    frames: list[bytes] = field(default_factory=list)
    owners: list[AddrKey] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.frames)


@dataclass(slots=True)
class Output:
    """What ``poll`` hands the driver: frames per interface in order, then records.

    ``released`` names the addresses released since the last poll: a driver holding their
    frames back (a retry) drops them.

    The ``announce`` records of the bursts that finished are built on first access to
    :attr:`records`, so a driver that sends the frames first does not make them wait for
    a thousand log records to be put together.
    """

    frames: dict[str, Batch] = field(default_factory=dict)
    events: list[Record] = field(default_factory=list)
    released: list[AddrKey] = field(default_factory=list)
    finished: list[Burst[_Addr]] = field(default_factory=list)
    _records: list[Record] | None = None

    def __bool__(self) -> bool:
        return (bool(self.frames) or bool(self.events) or bool(self.finished)
                or bool(self.released))

    @property
    def records(self) -> list[Record]:
        """The records to write: events from ``handle``, then one ``announce`` per burst."""
        if self._records is None:
            self._records = self.events + [_announce(b) for b in self.finished]
        return self._records

    def iter_records(self) -> Iterator[Record]:
        """The same records as :attr:`records`, the ``announce`` ones built one at a time
        as they are consumed: a driver writing them at once never holds ten thousand."""
        if self._records is not None:
            yield from self._records
            return
        yield from self.events
        for burst in self.finished:
            yield _announce(burst)


def _announce(burst: Burst[_Addr]) -> Record:
    """The ``announce`` record of a finished burst."""
    addr = burst.key
    fields: dict[str, object] = {
        "interface": addr.key[0],
        "address": addr.text,
        "mac": addr.mac_text,
        "reason": burst.reason,
        "packets": burst.sent,
    }
    if addr.watch is not None:
        fields["group"] = addr.watch.group
    if burst.merged:
        fields["merged"] = list(burst.merged)
    return Record("announce", fields)


# --- state ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Link:
    ifname: str
    ifindex: int
    mac: bytes
    usable: bool
    forwarding: bool
    mac_text: str = ""
    arp_first: dict[str, tuple[bytes, bytes]] | None = None
    """While usable: the first frame of an IPv4 takeover per ARP mode, as
    :meth:`~garpd.frames.FrameCache.first_v4_parts` (for :meth:`Announcer.express_v4`)."""

    def __post_init__(self) -> None:
        self.mac_text = mac_text(self.mac)


@dataclass(slots=True, eq=False)
class _Addr:
    key: AddrKey
    watch: Watch | None
    text: str = ""
    mac_text: str = ""
    removed: bool = False
    tentative: bool = False
    dadfailed: bool = False
    held: bool = False
    since: float | None = None
    epoch: int = 0
    frames: tuple[bytes, ...] = ()
    mac: bytes = b""
    sent: int = 0
    last_sent: float | None = None
    cohort: _Cohort | None = None
    first_due: bool = False
    """Held, announcing, and no frame handed out yet (the first-frame latency is open)."""
    pkey: tuple[str, int] = ("", 0)
    """Its pacer's key: (interface name, address family), one tuple shared per key."""
    began: float = 0.0
    """When its latest schedule (takeover, lower priority, MAC change) began."""
    router: bool = False
    mode: str = ""
    """The R flag and ARP mode :attr:`frames` were built with (with :attr:`mac`)."""


@dataclass(slots=True, eq=False)
class _Cohort:
    """Held addresses whose next refresh is due at ``due`` and recurs every ``period``."""

    due: float
    period: float
    members: dict[_Addr, None] = field(default_factory=dict)
    runs: list[tuple[tuple[str, int], int, list[_Addr]]] | None = None
    """The members by (pacer key, packets), kept between rounds; None when they changed."""


@dataclass(frozen=True, slots=True)
class AddressStatus:
    """A read-only view of one watched address for ``garpd status``."""

    ifname: str
    address: str
    group: str | None
    held: bool
    tentative: bool
    since: float | None
    sent: int
    last_sent: float | None
    pending: int
    next_send: float | None
    upcoming: tuple[tuple[float, str, int], ...] = ()
    """The scheduled bursts, soonest first: (time, reason, packets)."""
    refresh_every: float = 0.0


class Announcer:
    """The pure announcer core (see the module docstring for the rules it implements)."""

    def __init__(self, policy: Policy, frames: FrameCache | None = None,
                 trigger: str = "master") -> None:
        """``trigger`` names the takeover an address starts when it becomes held."""
        self.policy = policy
        self.trigger = trigger
        # Each address keeps its own frames, so the default cache memoizes only templates.
        self.frames = frames if frames is not None else FrameCache(limit=0)
        self._links: dict[str, _Link] = {}
        self._addrs: dict[AddrKey, _Addr] = {}
        self._groups: dict[str, set[AddrKey]] = {}
        self._by_link: dict[str, dict[AddrKey, _Addr]] = {}
        # The same addresses again, IPv4 only, by value (the ints their address objects
        # hold: only the table is new), for express_v4.
        self._v4_by_link: dict[str, dict[int, _Addr]] = {}
        self._pkeys: dict[tuple[str, int], tuple[str, int]] = {}
        # Pacers and timers refer to _Addr objects (hashed by identity: cheap) not keys.
        self._pacers: dict[tuple[str, int], Pacer[_Addr]] = {}
        # (due, seq, address, epoch, repeat, reason)
        self._timers: list[tuple[float, int, _Addr, int, int, str]] = []
        # Refresh cohorts: a heap of (due, seq, cohort) and the open ones by (due, period).
        self._cohort_heap: list[tuple[float, int, _Cohort]] = []
        self._cohorts: dict[tuple[float, float], _Cohort] = {}
        self._seq = 0
        self._records: list[Record] = []
        self._released: list[AddrKey] = []
        self._lower_prio_last: dict[str, float] = {}
        self.conflicts = ConflictGuard()
        self.confirm = Confirmer()
        self.probes = ProbeCache()
        self._confirming = False  # some held address has gateways (checked per poll)
        self._listen_dirty: set[str] = set()
        #: Held addresses whose first frame left ahead of ``poll`` (see :meth:`express`).
        self._expressed: set[_Addr] = set()
        self.counters: dict[str, int] = {
            "frames": 0, "bursts": 0, "takeovers": 0, "released": 0,
            "lower_prio_started": 0, "lower_prio_limited": 0, "notify_merged": 0,
        }
        #: Address held (the core's ``now``) to its first frame handed out, per takeover.
        self.first_frame = Histogram()
        #: Per interface: schedule start to a gateway's answer (``confirmed``, after_ms).
        self.confirm_seconds: dict[str, Histogram] = {}
        #: Per interface: ``unconfirmed`` records.
        self.unconfirmed: dict[str, int] = {}

    # --- queries ------------------------------------------------------------------

    def held(self) -> list[AddrKey]:
        """Every held, watched address."""
        return [k for k, a in self._addrs.items() if a.held and a.watch is not None]

    def links_known(self) -> dict[str, int]:
        """Every interface the core knows, name -> ifindex (for reconciliation)."""
        return {name: link.ifindex for name, link in self._links.items()}

    def addresses_known(self) -> list[AddrKey]:
        """Every address the core knows, watched or not (for reconciliation)."""
        return list(self._addrs)

    def ifindex(self, ifname: str) -> int | None:
        """The kernel index of ``ifname`` as last reported, or None if unknown."""
        link = self._links.get(ifname)
        return link.ifindex if link is not None else None

    def status(self) -> list[AddressStatus]:
        """A snapshot of every watched address, for ``garpd status``."""
        upcoming: dict[AddrKey, list[tuple[float, str, int]]] = {}
        for due, _seq, addr, epoch, rep, reason in self._timers:
            if not _live(addr, epoch) or not addr.held or addr.watch is None:
                continue
            upcoming.setdefault(addr.key, []).append((due, reason, rep * len(addr.frames)))
        for due, _seq, cohort in self._cohort_heap:
            for addr in cohort.members:
                if addr.watch is not None:
                    packets = addr.watch.timing.master_refresh_repeat * len(addr.frames)
                    upcoming.setdefault(addr.key, []).append((due, "refresh", packets))
        out = []
        for key, addr in self._addrs.items():
            if addr.watch is None:
                continue
            pacer = self._pacers.get(addr.pkey)
            pending = pacer.pending(addr) if pacer is not None else 0
            planned = tuple(sorted(upcoming.get(key, ())))
            next_send = planned[0][0] if planned else None
            if pending and pacer is not None:
                queued_at = pacer.next_time
                next_send = queued_at if next_send is None else min(next_send, queued_at)
            out.append(AddressStatus(
                key[0], addr.text, addr.watch.group, addr.held, addr.tentative, addr.since,
                addr.sent,
                addr.last_sent, pending, next_send, planned,
                addr.watch.timing.master_refresh if addr.held else 0.0,
            ))
        return out

    def conflict_status(self) -> list[ConflictStatus]:
        """Every held address's conflict counts (policy not ``off``), for ``garpd status``."""
        return self.conflicts.status()

    def recent_conflicts(self) -> list[Record]:
        """The last ``conflict`` records, oldest first (bounded)."""
        return self.conflicts.recent()

    def confirm_status(self) -> list[GatewayStatus]:
        """Every (held address, gateway) being or last confirmed, for ``garpd status``."""
        return self.confirm.status()

    def take_listen_changes(self) -> set[str]:
        """The interfaces whose neighbour-listening set (:meth:`neighbour_watch`) may have
        changed since the last call."""
        dirty, self._listen_dirty = self._listen_dirty, set()
        return dirty

    def neighbour_watch(self, ifname: str) -> tuple[list[Address], list[Address]] | None:
        """What the neighbour listener of ``ifname`` must pass, (IPv4, IPv6) addresses: the
        held addresses with a conflict policy other than ``off`` or with gateways, and their
        gateways (the listener's kernel filter passes ARP by sender, NS/NA by target). None
        when nothing on ``ifname`` needs listening."""
        wanted: dict[Address, None] = {}
        auto = False
        for addr in self._by_link.get(ifname, {}).values():
            if not addr.held or addr.watch is None:
                continue
            timing = addr.watch.timing
            if timing.conflict == "off" and not timing.gateways:
                continue
            wanted[addr.key[1]] = None
            if timing.gateways == "auto":
                auto = True
            else:
                wanted.update(dict.fromkeys(timing.gateways))
        if not wanted:
            return None
        if auto:
            for family in (4, 6):
                wanted.update(dict.fromkeys(self.confirm.auto_gateways(ifname, family)))
        return ([a for a in wanted if a.version == 4], [a for a in wanted if a.version == 6])

    def next_deadline(self) -> float | None:
        """The earliest time ``poll`` has frames to send, or None when idle.

        Records made by ``handle`` wait for the next ``poll``: drivers poll after events.
        """
        timers = self._timers
        while timers:
            _due, _seq, addr, epoch, _rep, _reason = timers[0]
            if _live(addr, epoch) and addr.held:
                break
            heapq.heappop(timers)
        best = timers[0][0] if timers else None
        cohorts = self._cohort_heap
        while cohorts and not cohorts[0][2].members:
            self._close_cohort(heapq.heappop(cohorts)[2])
        if cohorts and (best is None or cohorts[0][0] < best):
            best = cohorts[0][0]
        for pacer in self._pacers.values():
            deadline = pacer.next_deadline()
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        if self._confirming:
            deadline = self.confirm.next_deadline()
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        return best

    # --- events -------------------------------------------------------------------

    def express(self, event: AddressChanged, now: float) -> tuple[int, bytes] | None:
        """The frame ``poll(now)`` would hand out first after ``handle(event, now)``, when
        that frame is certain and leaves at once: (ifindex, frame), else None.

        Certain means: the event starts a takeover (the address is watched, not held yet,
        not tentative or dadfailed, its link usable, not the start-up dump), nothing else
        is queued on its pacer or due at ``now``, and its group confirms no gateways (their
        answers need the neighbour listener open before the first frame). Changes nothing.
        A driver may send that frame before handling the event, then hand the event to
        :meth:`handle` with ``expressed=True``: ``poll`` counts the frame as sent at
        ``now`` and leaves it out of its batch, so every later frame keeps its time and
        place (the daemon's first frame no longer waits for the core's bookkeeping).
        """
        if event.initial:
            return None
        if event.address.version == 4:
            return self.express_v4(event.ifname, event.address.packed, now)
        if event.tentative or event.dadfailed:
            return None
        ifname = event.ifname
        link = self._links.get(ifname)
        if link is None or not link.usable:
            return None
        addr = self._addrs.get((ifname, event.address))
        if addr is None:
            watch = self.policy.watch(ifname, event.address)
        elif addr.held:
            return None
        else:
            watch = addr.watch
        if watch is None or watch.timing.master_repeat < 1 or watch.timing.gateways \
                or not self._nothing_due(ifname, 6, now):
            return None
        return link.ifindex, self.frames.first(link.mac, event.address, watch.timing.mode,
                                               link.forwarding)

    def express_v4(self, ifname: str, packed: bytes, now: float) -> tuple[int, bytes] | None:
        """:meth:`express` of an IPv4 address (``packed``: its 4 bytes) added on
        ``ifname``, answered from those bytes alone: the daemon asks straight from the
        kernel's message, before decoding it, so every line here is on its first-frame
        path (one call, to the policy, and the checks of :meth:`_nothing_due` inline).

        An IPv4 address the core knows already is held (watched, on a usable link: IPv4 is
        never tentative) or watched by no group: no frame either way. A new one is watched
        as the policy's :meth:`~garpd.policy.Policy.watch_v4` says.
        """
        link = self._links.get(ifname)
        if link is None or link.arp_first is None or len(packed) != 4:
            return None  # unknown or unusable
        ip = int.from_bytes(packed, "big")
        known = self._v4_by_link.get(ifname)
        if known is not None and ip in known:
            return None
        watch = self.policy.watch_v4(ifname, ip)
        if watch is None:
            return None
        timing = watch.timing
        parts = link.arp_first.get(timing.mode)
        timers, cohorts = self._timers, self._cohort_heap
        if parts is None or timing.master_repeat < 1 or timing.gateways \
                or (timers and timers[0][0] <= now + EPSILON) \
                or (cohorts and cohorts[0][0] <= now + EPSILON):
            return None
        pacer = self._pacers.get((ifname, 4))
        if pacer is not None and (len(pacer) or now + EPSILON < pacer.next_time):
            return None
        head, middle = parts
        return link.ifindex, head + packed + middle + packed

    def _nothing_due(self, ifname: str, version: int, now: float) -> bool:
        """No timer nor refresh due at ``now``, and the pacer of ``ifname`` for ``version``
        empty and free to send at ``now``: a new takeover's first frame would be the first
        frame ``poll(now)`` hands out (:meth:`express_v4` checks the same inline)."""
        timers, cohorts = self._timers, self._cohort_heap
        if (timers and timers[0][0] <= now + EPSILON) \
                or (cohorts and cohorts[0][0] <= now + EPSILON):
            return False
        pacer = self._pacers.get((ifname, version))
        return pacer is None or (not len(pacer) and now + EPSILON >= pacer.next_time)

    def handle(self, event: Event, now: float, *, expressed: bool = False) -> None:
        """Apply one event at time ``now``; what it causes is collected by ``poll``.
        ``expressed``: the frame :meth:`express` gave for this event has left."""
        match event:
            case LinkChanged():
                self._link_changed(event, now)
            case LinkRemoved():
                self._link_removed(event, now)
            case AddressChanged():
                self._address_changed(event, now)
                if expressed:  # marked for the next poll only (it clears the marks)
                    self._expressed.add(self._addrs[(event.ifname, event.address)])
            case AddressRemoved():
                self._address_removed(event.ifname, event.address, now, "address_removed")
            case Trigger():
                self._trigger(event, now)
            case LowerPriority():
                self._lower_priorities(event, now)
            case NeighbourFrames():
                self._neighbour_frames(event, now)
            case GatewaysChanged():
                self.confirm.set_gateways(event.ifname, event.family, event.gateways, now)
                self._listen_dirty.add(event.ifname)
            case NeighbourChanged():
                self.confirm.set_neighbour(event.ifname, event.ip, event.mac)

    def poll(self, now: float) -> Output:
        """Fire due timers, drain the pacers and return the frames and records due."""
        timers = self._timers
        # Due timers are requested in runs of the same (pacer, packets, reason), one pacer
        # call per run, in order (a link's takeover of a thousand addresses has a thousand
        # timers due at once: as cheap to queue as a refresh round).
        run: list[_Addr] = []
        run_key: tuple[tuple[str, int], int, str] | None = None
        while timers and timers[0][0] <= now + EPSILON:
            _due, _seq, addr, epoch, repeat, reason = heapq.heappop(timers)
            if addr.removed or addr.epoch != epoch or not addr.held:
                continue
            key = (addr.pkey, repeat * len(addr.frames), reason)
            if key != run_key:
                if run_key is not None:
                    self._pacer(run[0]).request_many(run, run_key[1], run_key[2])
                run, run_key = [], key
            run.append(addr)
        if run_key is not None:
            self._pacer(run[0]).request_many(run, run_key[1], run_key[2])
        cohorts = self._cohort_heap
        while cohorts and cohorts[0][0] <= now + EPSILON:
            self._refresh(heapq.heappop(cohorts)[2], now)
        out = Output(events=self._records, released=self._released)
        self._records = []
        self._released = []
        slots: list[tuple[_Addr, int]] = []
        finished = out.finished
        for (ifname, _family), pacer in self._pacers.items():
            if not len(pacer):
                continue
            deadline = pacer.next_deadline()
            if deadline is None or deadline > now + EPSILON:
                continue
            if pacer.interval <= 0:
                self._send_all(ifname, pacer.take_all(now), now, out, finished)
                continue
            slots.clear()
            pacer.drain(now, slots, finished)
            if not slots:
                continue
            for addr, index in slots:
                addr.sent += 1
                addr.last_sent = now
                if addr.first_due:
                    self._first_frame(addr, now)
                    if addr in self._expressed:  # it left already (express)
                        continue
                frames = addr.frames
                batch = self._batch(out, ifname)
                # One pacer slot is one frame; "both" alternates request and reply.
                batch.frames.append(frames[index % len(frames)])
                batch.owners.append(addr.key)
            self.counters["frames"] += len(slots)
        self.counters["bursts"] += len(finished)
        # A mark is good for the poll after its event only (where express put the frame).
        self._expressed.clear()
        if self._confirming:
            self._confirm_poll(now, out)
        return out

    def reconfigure(self, policy: Policy, now: float) -> None:
        """Apply a new policy (a reload) without losing held state.

        Addresses that become watched and are held start a takeover; addresses no longer
        watched are released (everything pending cancelled); addresses watched before and
        after keep their schedule, pick up the new packet mode, and restart their refresh
        from ``now`` when its period changed. Pacers take the new spacing.
        """
        self.policy = policy
        for (ifname, family), pacer in self._pacers.items():
            interval, na_interval = policy.pacing(ifname)
            pacer.set_interval(interval if family == 4 else na_interval)
        self._groups = {}
        for key, addr in list(self._addrs.items()):
            old, new = addr.watch, policy.watch(*key)
            if new is not None:
                self._groups.setdefault(new.group, set()).add(key)
            if old is not None and new is None:
                if addr.held:
                    self._release(addr, "unwatched")
                addr.watch = None
            elif old is None and new is not None:
                addr.watch = new
                self._update(addr, now, self.trigger, "unwatched")
            elif old is not None and new is not None and old != new:
                addr.watch = new
                if addr.held:
                    self._listening(addr)
                    self._refresh_frames(addr)
                    if old.timing.master_refresh != new.timing.master_refresh:
                        self._start_refresh(addr, now + new.timing.master_refresh)

    # --- seeing the LAN ------------------------------------------------------------

    def _neighbour_frames(self, ev: NeighbourFrames, now: float) -> None:
        """Frames the listener read on ``ev.ifname``: conflicts (and defences), answers."""
        ifname = ev.ifname
        decide = self.conflicts.decide
        records = self._records
        for claim in ev.claims:
            decision = decide(ifname, claim, now)
            if decision.record is not None:
                records.append(decision.record)
            if decision.defend and decision.key is not None:
                addr = self._addrs.get(decision.key)
                if addr is not None and addr.held and addr.frames:
                    # One packet per address (two in "both" mode), paced like any burst.
                    self._pacer(addr).request(addr, len(addr.frames), "defend")
            if self._confirming:
                for record in self.confirm.handle_answer(ifname, claim, now):
                    records.append(record)
                    after_ms = record.fields["after_ms"]
                    hist = self.confirm_seconds.get(ifname)
                    if hist is None:
                        hist = self.confirm_seconds[ifname] = Histogram()
                    hist.observe(float(after_ms) / 1000 if isinstance(after_ms, int) else 0.0)

    def _confirm_after(self, finished: list[Burst[_Addr]], now: float) -> None:
        """Start confirming the addresses whose schedule's first burst just went out."""
        for burst in finished:
            addr = burst.key
            if not addr.held or addr.watch is None or not addr.watch.timing.gateways:
                continue
            if burst.reason not in FIRST_BURSTS and FIRST_BURSTS.isdisjoint(burst.merged):
                continue
            timing = addr.watch.timing
            self.confirm.start(addr.key[0], addr.key[1], addr.mac, timing.gateways,
                               _confirm_timing(timing), now, began=addr.began,
                               group=addr.watch.group)

    def _confirm_poll(self, now: float, out: Output) -> None:
        """Confirmation after the bursts of this poll: start it, send the requests due."""
        if out.finished:
            self._confirm_after(out.finished, now)
        probes, records = self.confirm.poll(now)
        for record in records:  # all "unconfirmed"
            ifname = str(record.fields["interface"])
            self.unconfirmed[ifname] = self.unconfirmed.get(ifname, 0) + 1
        out.events.extend(records)
        for probe in probes:
            if probe.interface not in self._links:
                continue
            batch = self._batch(out, probe.interface)
            batch.frames.append(self.probes.frame(probe.mac, probe.address, probe.gateway,
                                                  probe.gateway_mac))
            batch.owners.append((probe.interface, probe.address))

    def _listening(self, addr: _Addr) -> None:
        """``addr`` was acquired, released or changed policy: tell the guard, mark its link."""
        watch = addr.watch
        ifname, address = addr.key
        if addr.held and watch is not None:
            timing = watch.timing
            if timing.gateways:
                self._confirming = True
            if timing.conflict != "off":
                self.conflicts.hold(ifname, address, timing.conflict, timing.defend_interval,
                                    watch.group)
            else:
                self.conflicts.release(ifname, address)
            if timing.conflict != "off" or timing.gateways:
                self._listen_dirty.add(ifname)
            if not timing.gateways:
                self.confirm.cancel(ifname, address)
            return
        self.conflicts.release(ifname, address)
        self.confirm.cancel(ifname, address)
        self._listen_dirty.add(ifname)

    # --- internals ----------------------------------------------------------------

    def _send_all(self, ifname: str, bursts: list[Burst[_Addr]], now: float, out: Output,
                  finished: list[Burst[_Addr]]) -> None:
        """Unpaced: every queued packet now, round-robin (a1 a2 ... an a1 a2 ...).

        Equivalent to draining the pacer slot by slot, with the per-packet work done in
        whole rounds: round r carries one frame of every burst that still owes more than r.
        """
        if not bursts:
            return
        batch = self._batch(out, ifname)
        frames, owners = batch.frames, batch.owners
        expressed = self._expressed
        active = bursts
        r = 0
        while active:
            # An expressed first frame left already (round 0 of its burst).
            sending = [b for b in active if b.key not in expressed] if expressed and not r \
                else active
            frames.extend([b.key.frames[(b.sent + r) % len(b.key.frames)] for b in sending])
            owners.extend([b.key.key for b in sending])
            r += 1
            active = [b for b in active if b.pending > r]
        if not frames:  # one burst of one packet, expressed
            del out.frames[ifname]
        total = 0
        for burst in bursts:
            pending = burst.pending
            addr = burst.key
            burst.sent += pending
            addr.sent += pending
            addr.last_sent = now
            if addr.first_due:
                self._first_frame(addr, now)
            total += pending
            burst.pending = 0
        finished.extend(bursts)
        self.counters["frames"] += total

    def _first_frame(self, addr: _Addr, now: float) -> None:
        """The first frame of ``addr`` since it became held was handed out at ``now``."""
        addr.first_due = False
        if addr.since is not None:
            self.first_frame.observe(now - addr.since)

    def _batch(self, out: Output, ifname: str) -> Batch:
        batch = out.frames.get(ifname)
        if batch is None:
            batch = out.frames[ifname] = Batch(self._links[ifname].ifindex)
        return batch

    def _push(self, due: float, addr: _Addr, epoch: int, repeat: int, reason: str) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, addr, epoch, repeat, reason))

    def _refresh(self, cohort: _Cohort, now: float) -> None:
        """A refresh round of ``cohort`` is due: queue it, and schedule the next round."""
        self._close_cohort(cohort)
        members = cohort.members
        if not members:
            return
        period = cohort.period
        due = cohort.due + period
        if due <= now + EPSILON:  # rounds were missed (a suspend): skip them, keep the grid
            due = cohort.due + period * (int((now - cohort.due) // period) + 1)
        # Queue the round, one pacer call per (pacer, packets) run of addresses.
        runs = cohort.runs
        if runs is None:
            runs = cohort.runs = _runs(members)
        for _pkey, packets, addrs in runs:
            self._pacer(addrs[0]).request_many(addrs, packets, "refresh")
        target = self._cohorts.get((due, period))
        if target is None:
            cohort.due = due
            self._open_cohort(cohort)
        else:  # another cohort already falls due then: join it
            for addr in members:
                addr.cohort = target
            target.members.update(members)
            target.runs = None

    def _open_cohort(self, cohort: _Cohort) -> None:
        self._cohorts[(cohort.due, cohort.period)] = cohort
        self._seq += 1
        heapq.heappush(self._cohort_heap, (cohort.due, self._seq, cohort))

    def _close_cohort(self, cohort: _Cohort) -> None:
        """``cohort`` left the heap: it takes no new members any more."""
        key = (cohort.due, cohort.period)
        if self._cohorts.get(key) is cohort:
            del self._cohorts[key]

    def _leave_cohort(self, addr: _Addr) -> None:
        cohort = addr.cohort
        if cohort is not None:
            del cohort.members[addr]
            cohort.runs = None
            addr.cohort = None

    def _pacer(self, addr: _Addr) -> Pacer[_Addr]:
        pacer = self._pacers.get(addr.pkey)
        if pacer is None:
            ifname, family = addr.pkey
            interval, na_interval = self.policy.pacing(ifname)
            pacer = Pacer(interval if family == 4 else na_interval)
            self._pacers[addr.pkey] = pacer
        return pacer

    def _record(self, event: str, **fields: object) -> None:
        self._records.append(Record(event, fields))

    def _refresh_frames(self, addr: _Addr) -> None:
        link = self._links.get(addr.key[0])
        if link is None or addr.watch is None:
            addr.frames = ()
            return
        mode = addr.watch.timing.mode
        if (not addr.frames or addr.mac != link.mac or addr.router != link.forwarding
                or addr.mode != mode):  # else the frames it has are the ones to send
            addr.mac = link.mac
            addr.mac_text = link.mac_text
            addr.router = link.forwarding
            addr.mode = mode
            addr.frames = self.frames.slot(link.mac, addr.key[1], mode, link.forwarding)
        if addr.cohort is not None:  # its packets per refresh may have changed
            addr.cohort.runs = None

    def _should_hold(self, addr: _Addr) -> bool:
        link = self._links.get(addr.key[0])
        return (
            addr.watch is not None and link is not None and link.usable
            and not addr.tentative and not addr.dadfailed
        )

    def _takeover(self, addr: _Addr, now: float, trigger: str) -> None:
        """Start the master schedule for ``addr`` at ``now``, replacing any pending one."""
        assert addr.watch is not None
        timing = addr.watch.timing
        addr.epoch += 1
        addr.since = now
        addr.began = now
        epoch = addr.epoch
        self._push(now, addr, epoch, timing.master_repeat, trigger)
        if timing.master_delay > 0:
            self._push(now + timing.master_delay, addr, epoch, timing.master_repeat,
                       f"{trigger}_delay")
        self._start_refresh(addr, now + timing.master_delay + timing.master_refresh)
        self.counters["takeovers"] += 1

    def _start_refresh(self, addr: _Addr, first: float) -> None:
        """(Re)start the refresh of ``addr`` at ``first`` if refresh is on: it joins the
        cohort due then with its period, or opens one."""
        self._leave_cohort(addr)
        if addr.watch is None or addr.watch.timing.master_refresh <= 0:
            return
        period = addr.watch.timing.master_refresh
        cohort = self._cohorts.get((first, period))
        if cohort is None:
            cohort = _Cohort(first, period)
            self._open_cohort(cohort)
        cohort.members[addr] = None
        cohort.runs = None
        addr.cohort = cohort

    def _acquire(self, addr: _Addr, now: float, trigger: str | None) -> None:
        """Mark ``addr`` held; start a takeover named ``trigger`` unless it is None."""
        addr.held = True
        self._refresh_frames(addr)
        self._listening(addr)
        self._record("vip_acquired", interface=addr.key[0], address=addr.text,
                     group=addr.watch.group if addr.watch else None,
                     announce=trigger is not None)
        if trigger is not None:
            self._takeover(addr, now, trigger)
            addr.first_due = True

    def _release(self, addr: _Addr, why: str) -> None:
        """Mark ``addr`` not held and cancel every timer and queued packet it has."""
        addr.held = False
        addr.since = None
        addr.first_due = False
        self._expressed.discard(addr)
        addr.epoch += 1
        self._leave_cohort(addr)
        pacer = self._pacers.get(addr.pkey)
        cancelled = pacer.cancel(addr) if pacer is not None else 0
        self.counters["released"] += 1
        self._released.append(addr.key)
        self._listening(addr)
        self._record("vip_released", interface=addr.key[0], address=addr.text,
                     group=addr.watch.group if addr.watch else None, why=why,
                     cancelled=cancelled)

    def _update(self, addr: _Addr, now: float, trigger: str | None, why: str) -> None:
        """Reconcile ``addr.held`` with its current state."""
        should = self._should_hold(addr)
        if should and not addr.held:
            self._acquire(addr, now, trigger)
        elif not should and addr.held:
            self._release(addr, why)

    def _link_changed(self, ev: LinkChanged, now: float) -> None:
        usable = (ev.up and ev.carrier and ev.running and not ev.noarp and ev.ethernet
                  and len(ev.mac) == 6)
        link = self._links.get(ev.ifname)
        if link is not None and link.ifindex != ev.ifindex:
            # Re-created under the same name without us seeing the removal.
            self._link_removed(LinkRemoved(ev.ifname, link.ifindex), now)
            link = None
        if link is None or link.mac != ev.mac:
            self.conflicts.link(ev.ifname, ev.mac)
            macs = {ev.mac} | {other.mac for other in self._links.values()
                               if other.ifname != ev.ifname}
            self.conflicts.set_own_macs({m for m in macs if m})
        if link is None:
            self._links[ev.ifname] = _Link(ev.ifname, ev.ifindex, ev.mac, usable, ev.forwarding,
                                           arp_first=self.frames.first_v4_parts(ev.mac)
                                           if usable else None)
            for addr in self._on_link(ev.ifname):
                self._update(addr, now, self.trigger, "link_down")
            return
        was_usable = link.usable
        mac_changed = link.mac != ev.mac
        frames_changed = mac_changed or link.forwarding != ev.forwarding
        link.mac, link.usable, link.forwarding = ev.mac, usable, ev.forwarding
        if mac_changed:
            link.mac_text = mac_text(ev.mac)
        if usable != was_usable or mac_changed:
            link.arp_first = self.frames.first_v4_parts(ev.mac) if usable else None
        for addr in self._on_link(ev.ifname):
            if was_usable and not usable:
                self._update(addr, now, None, "link_down")
            elif usable and not was_usable:
                self._update(addr, now, "link_up", "link_down")
            elif mac_changed and addr.held and addr.watch is not None:
                addr.began = now
                self._push(now, addr, addr.epoch, addr.watch.timing.master_repeat,
                           "mac_change")
        if frames_changed:
            for addr in self._on_link(ev.ifname):
                if addr.held:
                    self._refresh_frames(addr)

    def _link_removed(self, ev: LinkRemoved, now: float) -> None:
        link = self._links.get(ev.ifname)
        if link is None or link.ifindex != ev.ifindex:
            return
        for addr in list(self._on_link(ev.ifname)):
            self._address_removed(ev.ifname, addr.key[1], now, "link_removed")
        del self._links[ev.ifname]
        for family in (4, 6):
            self._pacers.pop((ev.ifname, family), None)
            self._pkeys.pop((ev.ifname, family), None)
        self.conflicts.forget_link(ev.ifname)
        self.conflicts.set_own_macs({other.mac for other in self._links.values() if other.mac})
        self._listen_dirty.add(ev.ifname)

    def _on_link(self, ifname: str) -> list[_Addr]:
        return list(self._by_link.get(ifname, {}).values())

    def _address_changed(self, ev: AddressChanged, now: float) -> None:
        key = (ev.ifname, ev.address)
        addr = self._addrs.get(key)
        if addr is None:
            watch = self.policy.watch(ev.ifname, ev.address)
            addr = _Addr(key, watch, str(ev.address))
            pkey = (ev.ifname, ev.address.version)
            addr.pkey = self._pkeys.setdefault(pkey, pkey)
            self._addrs[key] = addr
            self._by_link.setdefault(ev.ifname, {})[key] = addr
            if ev.address.version == 4:
                self._v4_by_link.setdefault(ev.ifname, {})[int(ev.address)] = addr
            if watch is not None:
                self._groups.setdefault(watch.group, set()).add(key)
        was_dadfailed = addr.dadfailed
        addr.tentative = ev.address.version == 6 and ev.tentative
        addr.dadfailed = ev.address.version == 6 and ev.dadfailed
        if addr.dadfailed and not was_dadfailed and addr.watch is not None:
            self._record("dad_failed", interface=ev.ifname, address=str(ev.address),
                         group=addr.watch.group)
        trigger: str | None = self.trigger
        if ev.initial and addr.watch is not None and not addr.watch.timing.announce_on_start:
            trigger = None
        self._update(addr, now, trigger, "dad_failed" if addr.dadfailed else "tentative")

    def _address_removed(self, ifname: str, address: Address, now: float, why: str) -> None:
        key = (ifname, address)
        addr = self._addrs.pop(key, None)
        if addr is None:
            return
        addr.removed = True
        on_link = self._by_link.get(ifname)
        if on_link is not None:
            on_link.pop(key, None)
            if not on_link:
                del self._by_link[ifname]
        v4_on_link = self._v4_by_link.get(ifname) if address.version == 4 else None
        if v4_on_link is not None:
            v4_on_link.pop(int(address), None)
            if not v4_on_link:
                del self._v4_by_link[ifname]
        if addr.held:
            self._release(addr, why)
        if addr.watch is not None:
            members = self._groups.get(addr.watch.group)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._groups[addr.watch.group]

    def _selected(self, ev: Trigger) -> list[_Addr]:
        if ev.keys is not None:
            found = (self._addrs.get(k) for k in ev.keys)
            return [a for a in found if a is not None and a.held and a.watch is not None]
        if ev.group is not None:
            keys = sorted(self._groups.get(ev.group, ()), key=_sort_key)
            return [a for a in (self._addrs[k] for k in keys) if a.held]
        return [a for a in self._addrs.values() if a.held and a.watch is not None]

    def _trigger(self, ev: Trigger, now: float) -> None:
        started = merged = 0
        for addr in self._selected(ev):
            if ev.merge and addr.since is not None and now - addr.since < NOTIFY_MERGE_WINDOW:
                merged += 1
                continue
            self._takeover(addr, now, ev.trigger)
            started += 1
        self.counters["notify_merged"] += merged
        if ev.trigger == "notify":
            self._record("notify_received", **dict(ev.context), group=ev.group,
                         started=started, merged=merged > 0, merged_addresses=merged)

    def _lower_priorities(self, ev: LowerPriority, now: float) -> None:
        groups = (ev.group,) if isinstance(ev.group, str) else ev.group
        started = sum(self._lower_priority(group, now) for group in groups)
        if ev.record is not None and (started or ev.always):
            self._record(ev.record, **dict(ev.context), started=started)

    def _lower_priority(self, group: str, now: float) -> bool:
        """Start ``group``'s lower-priority schedule unless limited; whether it started."""
        last = self._lower_prio_last.get(group)
        if last is not None and now - last < LOWER_PRIO_MIN_GAP:
            self.counters["lower_prio_limited"] += 1
            return False
        held = [self._addrs[k] for k in sorted(self._groups.get(group, ()), key=_sort_key)]
        held = [a for a in held if a.held and a.watch is not None]
        if not held:
            return False
        self._lower_prio_last[group] = now
        self.counters["lower_prio_started"] += 1
        for addr in held:
            assert addr.watch is not None
            timing = addr.watch.timing
            if timing.lower_prio_repeat <= 0:
                continue
            addr.began = now
            self._push(now, addr, addr.epoch, timing.lower_prio_repeat, "lower_prio")
            if timing.lower_prio_delay > 0:
                self._push(now + timing.lower_prio_delay, addr, addr.epoch,
                           timing.lower_prio_repeat, "lower_prio_delay")
        return True


def _runs(members: dict[_Addr, None]) -> list[tuple[tuple[str, int], int, list[_Addr]]]:
    """A refresh round's members by (pacer key, packets each), in join order."""
    runs: dict[tuple[tuple[str, int], int], list[_Addr]] = {}
    for addr in members:
        assert addr.watch is not None
        packets = addr.watch.timing.master_refresh_repeat * len(addr.frames)
        run = runs.get((addr.pkey, packets))
        if run is None:
            runs[(addr.pkey, packets)] = run = []
        run.append(addr)
    return [(pkey, packets, addrs) for (pkey, packets), addrs in runs.items()]


def _confirm_timing(timing: Timing) -> ConfirmTiming:
    return ConfirmTiming(timing.confirm_timeout, timing.confirm_retries)


def _live(addr: _Addr, epoch: int) -> bool:
    """Whether a timer still stands: its address and epoch are current."""
    return not addr.removed and addr.epoch == epoch


def _sort_key(key: AddrKey) -> tuple[str, int, int]:
    return (key[0], key[1].version, int(key[1]))

