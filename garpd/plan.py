"""The announcement plan ``garpd check`` prints: effective settings and what is sent when.

This module owns the plan: for every group it runs the real pure core
(:class:`garpd.core.Announcer`) with literal times through the fake-clock driver
(:class:`garpd.sim.Sim`), once per trigger (takeover ``master``,
``notify``, ``lower_prio``), for one representative address per address family of the group
(its first address, else the first host of its first network) held from t=0 on a fake
Ethernet link. It never re-implements the timing rules: it reads the ``announce`` records
the core writes and the frames it hands over, and coalesces them into bursts such as
``t=5.000s master_delay x5`` or, with an interval, ``t=0.000..0.400s master x5 @0.1s``.

The frames are placeholders (:class:`_CountingFrames`): a check builds no real frame.
Each group is simulated alone: groups sharing an interface also share its queue.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from garpd.config import ANNOUNCE_KEYS, DEFAULT_GROUP, Config, Effective, Group
from garpd.config import toml_value as _toml_value
from garpd.core import Output
from garpd.events import AddressChanged, Event, LinkChanged, LowerPriority, Trigger
from garpd.frames import Address, FrameCache, Mode
from garpd.pacing import EPSILON
from garpd.policy import StaticPolicy, Timing
from garpd.sim import Sim

TriggerName = Literal["master", "notify", "lower_prio"]
NextHopsNow = Mapping[str, Sequence[str]]
"""Interface name -> the main table's next hops out of it now (for ``["auto"]``)."""
TRIGGERS: Final[tuple[TriggerName, ...]] = ("master", "notify", "lower_prio")
_LABELS: Final[dict[str, str]] = {
    "master": "takeover", "notify": "notify", "lower_prio": "lower_prio",
}

#: The simulation stops after this many polls (a tiny interval with a huge refresh horizon).
MAX_POLLS: Final = 20000
#: All simulations of one plan together stop after this many polls: a keepalived.conf with
#: many distinct heavy timings (repeat 10000 at 1 us each) would otherwise take minutes.
PLAN_POLLS: Final = 100000
#: With master_refresh on, the plan covers this many refresh periods.
REFRESH_PERIODS: Final = 3

_IFNAME: Final = "plan0"
_MAC: Final = bytes.fromhex("020000000001")
#: Stand-ins for "any address" when a configuration has no [[group]].
_ANY: Final[dict[int, Address]] = {
    4: ipaddress.ip_address("192.0.2.1"), 6: ipaddress.ip_address("2001:db8::1"),
}


class _CountingFrames(FrameCache):
    """Placeholder frames naming their kind: the plan counts frames, it never sends them."""

    def slot(self, mac: bytes, address: Address, mode: Mode, router: bool) -> tuple[bytes, ...]:
        """One ``na`` per IPv6 repeat; ``request``, ``reply`` or both per IPv4 repeat."""
        return _kinds(address.version, mode)


def _kinds(version: int, mode: Mode) -> tuple[bytes, ...]:
    if version == 6:
        return (b"na",)
    return (b"request", b"reply") if mode == "both" else (mode.encode(),)


@dataclass(frozen=True, slots=True)
class Burst:
    """One burst for one address: ``repeats`` slots from ``start`` to ``end``."""

    start: float
    end: float
    reason: str
    repeats: int
    frames: int
    spacing: float | None = None
    then_every: float | None = None

    def text(self) -> str:
        """``t=0.000s master x5``, ``t=0.000..0.400s master x5 @0.1s``, ..."""
        when = f"t={seconds(self.start)}s"
        if self.end > self.start:
            when = f"t={seconds(self.start)}..{seconds(self.end)}s"
        out = f"{when} {self.reason} x{self.repeats}"
        if self.spacing is not None:
            out += f" @{number(self.spacing)}s"
        if self.then_every is not None:
            out += f" (then every {number(self.then_every)}s)"
        return out


@dataclass(frozen=True, slots=True)
class Timeline:
    """What one trigger sends for one address, and any remark about it."""

    trigger: TriggerName
    bursts: tuple[Burst, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AddressPlan:
    """The timelines of one representative address."""

    address: Address | None
    """None: any address of this family (a configuration without groups)."""
    label: str
    frames: tuple[str, ...]
    spacing: float
    timelines: tuple[Timeline, ...]


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """A group's effective settings and the plans of its representative addresses."""

    name: str
    group: Group | None
    effective: Effective
    pacing: tuple[float, float]
    addresses: tuple[AddressPlan, ...]
    notes: tuple[str, ...]


# --- simulation ---------------------------------------------------------------------------


def simulate(trigger: TriggerName, address: Address, timing: Timing, spacing: float,
             group: str = DEFAULT_GROUP) -> Timeline:
    """:func:`_simulate` with a budget of :data:`MAX_POLLS` polls."""
    return _simulate(trigger, address, timing, spacing, group)[0]


def _simulate(trigger: TriggerName, address: Address, timing: Timing, spacing: float,
              group: str = DEFAULT_GROUP, max_polls: int = MAX_POLLS) -> tuple[Timeline, int]:
    """Run the core for ``address`` held from t=0 and ``trigger`` at t=0; return its bursts.

    ``master`` is the takeover of an address appearing at t=0. ``notify`` and
    ``lower_prio`` hit an address already held (found at start, not announced then).
    With ``master_refresh`` on, the plan stops after :data:`REFRESH_PERIODS` periods and
    regular refresh bursts fold into one ``(then every ...)``.
    """
    if trigger == "lower_prio" and timing.lower_prio_repeat <= 0:
        return Timeline(trigger, (), "ignored: lower_prio_repeat = 0"), 0
    timing = replace(timing, gateways=())  # directed requests are shown as a note
    quiet = replace(timing, announce_on_start=False)
    policy = StaticPolicy(timing if trigger == "master" else quiet, group=group,
                          interval=spacing, na_interval=spacing)
    horizon = float("inf")
    if trigger != "lower_prio" and timing.master_refresh > 0:
        horizon = timing.master_delay + REFRESH_PERIODS * timing.master_refresh
    collector = _Collector(len(_kinds(address.version, timing.mode)))
    run = Sim(policy, _CountingFrames(), on_output=collector.take)
    start: list[Event] = [LinkChanged(_IFNAME, 1, _MAC, up=True, carrier=True),
                          AddressChanged(_IFNAME, address, initial=trigger != "master")]
    if trigger == "notify":
        start.append(Trigger("notify", group=group, merge=True))
    elif trigger == "lower_prio":
        start.append(LowerPriority(group))
    run.at(0.0, *start)
    note = None
    if not run.advance(float("inf"), max_polls=max_polls,
                       stop=lambda t: t > horizon + EPSILON and not collector.unclaimed):
        note = (f"truncated after {MAX_POLLS} steps" if max_polls == MAX_POLLS else
                f"truncated: the plan's budget of {PLAN_POLLS} steps is spent")
    bursts = collector.finish()
    if timing.master_refresh > 0:
        bursts, irregular = _fold_refresh(bursts, timing.master_refresh)
        if irregular and note is None:
            note = f"refresh continues every {number(timing.master_refresh)}s"
    return Timeline(trigger, tuple(bursts), note), run.polls


class _Collector:
    """Turns the core's output into bursts: frames since the last ``announce`` record."""

    def __init__(self, per_repeat: int) -> None:
        self.per_repeat = per_repeat
        self.unclaimed: list[float] = []
        self.bursts: list[Burst] = []

    def take(self, now: float, out: Output) -> None:
        """Add the frames of one ``poll`` and close the bursts it reports finished."""
        for frames in out.frames.values():
            self.unclaimed.extend(now for _ in frames)
        for record in out.records:
            if record.event != "announce":
                continue
            fields = record.fields
            packets = fields.get("packets")
            count = packets if isinstance(packets, int) else len(self.unclaimed)
            reasons = [str(fields.get("reason"))]
            merged = fields.get("merged")
            if isinstance(merged, list):
                reasons.extend(str(m) for m in merged)
            self._close(count, "+".join(reasons))

    def finish(self) -> list[Burst]:
        """The bursts, with frames of a burst cut short by the step limit as ``unfinished``."""
        if self.unclaimed:
            self._close(len(self.unclaimed), "unfinished")
        return self.bursts

    def _close(self, count: int, reason: str) -> None:
        times, self.unclaimed = self.unclaimed[:count], self.unclaimed[count:]
        if not times:
            return
        # The pacer spaces frames (a "both" repeat is two frames, each paced).
        repeats = -(-len(times) // self.per_repeat)
        start, end = round(times[0], 9), round(times[-1], 9)
        spacing = round((end - start) / (len(times) - 1), 9) if end > start else None
        self.bursts.append(Burst(start, end, reason, repeats, len(times), spacing))


def _fold_refresh(bursts: list[Burst], period: float) -> tuple[list[Burst], bool]:
    """Fold regular refresh bursts into the first one; say whether they were irregular."""
    refresh = [i for i, b in enumerate(bursts) if b.reason == "refresh"]
    if not refresh:
        return bursts, False
    first = bursts[refresh[0]]
    regular = all(
        abs(bursts[i].start - first.start - k * period) < 1e-6
        and bursts[i].repeats == first.repeats
        and abs((bursts[i].end - bursts[i].start) - (first.end - first.start)) < 1e-6
        for k, i in enumerate(refresh)
    )
    if not regular:
        return bursts, True
    out = [b for i, b in enumerate(bursts) if i not in refresh[1:]]
    out[refresh[0]] = replace(first, then_every=period)
    return out, False


# --- the plan -----------------------------------------------------------------------------


def _representatives(group: Group | None) -> list[tuple[int, Address | None, str]]:
    """(family, address or None for "any", label) for each family the group covers."""
    if group is None:
        return [(4, None, "any IPv4 address"), (6, None, "any IPv6 address")]
    out: list[tuple[int, Address | None, str]] = []
    firsts: dict[int, Address] = {}
    for each in group.addresses:
        if each.version not in firsts:
            firsts[each.version] = each
    for version in (4, 6):
        address = firsts.get(version)
        if address is not None:
            out.append((version, address, str(address)))
            continue
        network = next((n for n in group.networks if n.version == version), None)
        if network is not None:
            first = network.network_address
            host: Address = first + 1 if network.num_addresses > 2 else first
            out.append((version, host, f"{host} from {network}"))
    return out


def build(config: Config, routes: NextHopsNow | None = None) -> list[GroupPlan]:
    """The plan of every group (or of the implicit "default" group without groups).

    ``routes``: the main table's next hops per interface right now (``garpd check`` reads
    them), so that a group with ``gateways = ["auto"]`` shows the gateways it would use.
    """
    return list(iter_plans(config, routes))


def iter_plans(config: Config, routes: NextHopsNow | None = None) -> Iterator[GroupPlan]:
    """:func:`build`, one group at a time.

    The core is run once per distinct (family, timing, spacing): groups that share them
    share one :class:`Timeline` tuple (the simulation does not depend on the address or
    the group's name). A keepalived.conf with 40,000 instances has a handful of distinct
    timings, not 40,000.
    """
    groups: list[Group | None] = list(config.groups) or [None]
    effective = [config.effective(group) for group in groups]
    # ConfigPolicy.pacing: per interface, the largest interval of its groups.
    pacings: dict[str, tuple[float, float]] = {}
    for group, eff in zip(groups, effective, strict=True):
        if group is not None:
            old = pacings.get(group.interface, (0.0, 0.0))
            pacings[group.interface] = (max(old[0], eff.interval),
                                        max(old[1], eff.na_interval))
    # Keyed by the identity of the (memoised, shared) Timing, kept alive in the value:
    # hashing a Timing for each of 40,000 groups costs more than simulating.
    simulated: dict[tuple[int, int, float], tuple[Timing, tuple[Timeline, ...]]] = {}
    notes: dict[tuple[object, ...], tuple[Effective, tuple[str, ...]]] = {}
    kinds_of: dict[tuple[int, str], tuple[str, ...]] = {}
    budget = PLAN_POLLS
    for group, eff in zip(groups, effective, strict=True):
        name = group.name if group is not None else DEFAULT_GROUP
        pacing = pacings[group.interface] if group is not None else (
            eff.interval, eff.na_interval)
        timing = eff.timing
        addresses = []
        for version, address, label in _representatives(group):
            spacing = pacing[0] if version == 4 else pacing[1]
            key = (version, id(timing), spacing)
            sim = simulated.get(key)
            if sim is None or sim[0] is not timing:
                sim_address = address if address is not None else _ANY[version]
                timelines = []
                for trigger in TRIGGERS:
                    timeline, polls = _simulate(trigger, sim_address, timing, spacing, name,
                                                min(MAX_POLLS, budget))
                    budget = max(budget - polls, 0)
                    timelines.append(timeline)
                sim = simulated[key] = (timing, tuple(timelines))
            kinds = kinds_of.get((version, timing.mode))
            if kinds is None:
                kinds = kinds_of[(version, timing.mode)] = tuple(
                    k.decode() for k in _kinds(version, timing.mode))
            addresses.append(AddressPlan(address, label, kinds, spacing, sim[1]))
        notes_key = (id(eff), pacing, group is None,
                     group.interface if group is not None else None,
                     group is not None and group.vrid is None)
        known = notes.get(notes_key)
        if known is None or known[0] is not eff:
            known = notes[notes_key] = (eff, tuple(_notes(config, group, eff, pacing, routes)))
        yield GroupPlan(name, group, eff, pacing, tuple(addresses), known[1])


def _notes(config: Config, group: Group | None, eff: Effective,
           pacing: tuple[float, float], routes: NextHopsNow | None = None) -> list[str]:
    notes = []
    timing = eff.timing
    if not timing.announce_on_start:
        notes.append("addresses already held at start are not announced "
                     "(announce_on_start = false)")
    if group is not None:
        for key, value in zip(("interval", "na_interval"), pacing, strict=True):
            own: float = getattr(eff, key)
            if value > own:
                notes.append(f"{key} on {group.interface} is {number(value)}s, "
                             "the largest of the groups there")
    if timing.lower_prio_repeat > 0:
        if group is None:
            notes.append("lower_prio needs a [[group]] (with a vrid, or keepalived's notify_fifo)")
        elif group.vrid is None and config.keepalived.notify_fifo is None:
            notes.append("lower_prio is never triggered: no vrid and no "
                         "[keepalived] notify_fifo")
        elif group.vrid is None:
            notes.append("lower_prio comes only from keepalived's notify_fifo "
                         "(MASTER_RX_LOWER_PRI): no vrid")
    notes.append(f"link_up and oneshot follow the takeover schedule; a MAC change sends "
                 f"x{timing.master_repeat} at once from the new MAC")
    notes.append(_conflict_note(timing))
    if timing.gateways:
        notes.append(_confirm_note(timing, group, routes))
    return notes


def _conflict_note(timing: Timing) -> str:
    """What another MAC claiming a held address causes (SPEC *Seeing the LAN*)."""
    if timing.conflict == "off":
        return "conflict: off (no listening for other claimants)"
    if timing.conflict == "log":
        return (f"conflict: log (a conflict record at most every "
                f"{number(timing.defend_interval)}s per address, no defence)")
    return (f"conflict: defend (one packet per address, at most one defence per "
            f"{number(timing.defend_interval)}s)")


def _confirm_note(timing: Timing, group: Group | None,
                  routes: NextHopsNow | None = None) -> str:
    """The gateways and the directed requests after each schedule's first burst."""
    if timing.gateways == "auto":
        where = group.interface if group is not None else "the address's interface"
        gateways = f"auto (the main table's next hops out of {where}, followed as routes change"
        if routes is not None and group is not None:
            now = routes.get(group.interface, ())
            gateways += f"; now: {', '.join(now)}" if now else "; now: none"
        gateways += ")"
    else:
        gateways = ", ".join(str(g) for g in timing.gateways)
    waits = [timing.confirm_timeout * (1 << n) for n in range(timing.confirm_retries + 1)]
    times = [sum(waits[:n]) for n in range(len(waits) + 1)]
    retries = ", ".join(f"+{number(t)}" for t in times[1:-1])
    retry_text = f"retries at {retries}, " if retries else ""
    return (f"gateways: {gateways}; after the first burst of each schedule a directed "
            f"request to each, {retry_text}unconfirmed at +{number(times[-1])}s")


# --- rendering ----------------------------------------------------------------------------


def seconds(t: float) -> str:
    """A time with at least 3 and at most 6 decimals: ``0.000``, ``0.0001``."""
    text = f"{t:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(3, '0')}"


def number(x: float) -> str:
    """A duration without noise: ``10``, ``0.1``, ``4294.967295``."""
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(round(x, 9))


_SOURCE_NOTES: Final[dict[str, str]] = {
    "group": "# overridden by this group",
    "announce": "# [announce]",
    "default": "# default",
    "builtin": "# built-in default",
    "master_delay": "# follows [announce] master_delay",
    "master_repeat": "# follows [announce] master_repeat",
}


def _aligned(rows: list[tuple[str, str, str]], indent: str) -> list[str]:
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, c in rows if c) if any(c for _, _, c in rows) else 0
    out = []
    for key, value, comment in rows:
        line = f"{indent}{key:<{width}} = {value}"
        if comment:
            line = f"{indent}{key:<{width}} = {value:<{vwidth}}  {comment}"
        out.append(line.rstrip())
    return out


def _path(value: object) -> str:
    return "none" if value is None else _toml_value(str(value))


def render_text(config: Config, source: str, *, picture: bool = False,
                colour: bool = False, routes: NextHopsNow | None = None) -> str:
    """The plan as plain text: settings as aligned ``key = value`` lines, then timelines.

    ``picture`` adds a bar under each trigger's bursts, drawn to one scale per group
    (``#`` a burst, ``.`` silence); ``colour`` adds ANSI colours for a terminal.
    """
    return "".join(iter_text(config, source, picture=picture, colour=colour, routes=routes))


#: With more groups than this, a group whose settings, pacing, timelines and notes equal an
#: earlier group's is shown by its own keys and a reference to that group (40,000 imported
#: instances would otherwise print 1.7 KB of the same plan each, 69 MB in all).
FULL_GROUPS: Final = 100


def iter_text(config: Config, source: str, *, picture: bool = False,
              colour: bool = False, routes: NextHopsNow | None = None) -> Iterator[str]:
    """:func:`render_text` in pieces, one group at a time (for large configurations)."""
    log_format = config.log.format
    yield "\n".join(_aligned([
        ("configuration", source, ""),
        ("log.format", _toml_value(log_format) if log_format else
         "auto (console on a TTY, JSON otherwise)", ""),
        ("log.level", _toml_value(config.log.level), ""),
        ("control.socket", _path(config.control.socket), ""),
        ("keepalived.notify_fifo", _path(config.keepalived.notify_fifo), ""),
        ("keepalived.config", _path(config.keepalived.config), ""),
    ], ""))
    renderer = _Renderer(picture=picture, colour=colour,
                         share=len(config.groups) > FULL_GROUPS)
    for plan in iter_plans(config, routes):
        yield "\n\n" + "\n".join(renderer.group(plan))
    yield "\n"


BAR_WIDTH = 50
_COLOURS = {"master": "32", "notify": "32", "lower_prio": "33", "oneshot": "32",
            "refresh": "36"}


def _horizon(timelines: tuple[Timeline, ...]) -> float:
    """The time span every bar of a block is drawn to: the last burst, rounded up."""
    last = max((b.end for t in timelines for b in t.bursts), default=0.0)
    for step in (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600):
        if last < step:
            return float(step)
    return float(int(last) + 1)


def _bar(timeline: Timeline, horizon: float, colour: bool) -> str:
    """``#....#....``: where the bursts of ``timeline`` fall in [0, horizon]."""
    cells = ["."] * BAR_WIDTH
    marks: dict[int, str] = {}
    for burst in timeline.bursts:
        first = min(BAR_WIDTH - 1, int(burst.start / horizon * BAR_WIDTH))
        last = min(BAR_WIDTH - 1, int(burst.end / horizon * BAR_WIDTH))
        for i in range(first, last + 1):
            cells[i] = "#"
            marks[i] = burst.reason
    if not colour:
        return "".join(cells)
    out = []
    for i, cell in enumerate(cells):
        reason = marks.get(i, "")
        code = next((c for key, c in _COLOURS.items() if reason.startswith(key)), "2")
        out.append(f"\x1b[{code}m{cell}\x1b[0m")
    return "".join(out)


def _render_group(plan: GroupPlan, *, picture: bool = False,
                  colour: bool = False) -> list[str]:
    return _Renderer(picture=picture, colour=colour).group(plan)


#: A string as TOML (and JSON) writes it: what :func:`garpd.config.toml_value` does for a
#: ``str``, without its dispatch (it runs once per group and key).
_quote: Final = json.encoder.encode_basestring


def _short(text: str, limit: int = 80) -> str:
    """``text`` shortened as :func:`garpd.config.toml_value` shortens it."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _signature(plan: GroupPlan) -> tuple[object, ...]:
    """What two groups must share for one to be shown as "as group X": everything but
    their own keys (name, interface, addresses, ...) and their addresses' labels."""
    return (id(plan.effective), plan.pacing, plan.notes,
            tuple((a.frames, a.spacing, id(a.timelines)) for a in plan.addresses))


class _Renderer:
    """Renders groups, reusing the text of settings and timelines shared between groups."""

    def __init__(self, *, picture: bool, colour: bool, share: bool = False) -> None:
        self.picture = picture
        self.colour = colour
        self.share = share
        # Cached by the identity of an object kept alive in the value.
        self.settings: dict[tuple[int, bool], tuple[Effective, list[tuple[str, str, str]]]] = {}
        self.timelines: dict[int, tuple[tuple[Timeline, ...], list[str]]] = {}
        self.shown: dict[tuple[object, ...], tuple[GroupPlan, str]] = {}

    def group(self, plan: GroupPlan) -> list[str]:
        group = plan.group
        rows: list[tuple[str, str, str]] = []
        if group is None:
            head = f'group "{plan.name}": every address on every interface (no [[group]])'
        else:
            head = f"group {_short(_quote(group.name))}"
            rows.append(("interface", _short(_quote(group.interface)), ""))
            if group.addresses:
                rows.append(("addresses", _short(
                    "[" + ", ".join([_quote(str(a)) for a in group.addresses]) + "]"), ""))
            if group.networks:
                rows.append(("networks", _toml_value([str(n) for n in group.networks]), ""))
            if group.sync_group is not None:
                rows.append(("sync_group", _short(_quote(group.sync_group)), ""))
            if group.priority is not None:
                rows.append(("priority", str(group.priority), ""))
            if group.vrid is not None:
                rows.append(("vrid", str(group.vrid), ""))
        if self.share and group is not None:
            signature = _signature(plan)
            first = self.shown.get(signature)
            if first is not None:
                width = max(len(key) for key, _, _ in rows)
                return [head, *[f"  {key:<{width}} = {value}" for key, value, _ in rows],
                        f"  settings, timelines and notes: as group {first[1]}"]
            self.shown[signature] = (plan, _toml_value(group.name))
        lines = [head, *_aligned(rows + self.settings_rows(plan), "  ")]
        for titles, timelines in _timeline_blocks(plan):
            lines.extend(f"  {title}" for title in titles)
            lines.extend(self.timeline_lines(timelines))
        lines.extend(f"  note: {note}" for note in plan.notes)
        return lines

    def settings_rows(self, plan: GroupPlan) -> list[tuple[str, str, str]]:
        key = (id(plan.effective), plan.group is None)
        cached = self.settings.get(key)
        if cached is None or cached[0] is not plan.effective:
            rows = []
            for name in ANNOUNCE_KEYS:
                note = _SOURCE_NOTES[plan.effective.sources[name]]
                if plan.group is None:
                    note = note.replace("follows [announce] ", "follows ")
                rows.append((name, _toml_value(plan.effective.value(name)), note))
            cached = self.settings[key] = (plan.effective, rows)
        return cached[1]

    def timeline_lines(self, timelines: tuple[Timeline, ...]) -> list[str]:
        cached = self.timelines.get(id(timelines))
        if cached is not None and cached[0] is timelines:
            return cached[1]
        lines = []
        horizon = _horizon(timelines)
        for timeline in timelines:
            label = f"    {_LABELS[timeline.trigger]:<11}"
            items = [b.text() for b in timeline.bursts]
            if timeline.note:
                items.append(f"({timeline.note})")
            if not items:
                items = ["nothing"]
            if self.picture and timeline.bursts:
                items.append(f"{_bar(timeline, horizon, self.colour)}  0..{number(horizon)}s")
            lines.append(label + items[0])
            lines.extend(" " * len(label) + item for item in items[1:])
        self.timelines[id(timelines)] = (timelines, lines)
        return lines


def _describe_frames(address: AddressPlan) -> str:
    ipv6 = address.frames == ("na",)
    kind = "unsolicited NA" if ipv6 else "GARP " + "+".join(address.frames)
    spacing = "na_interval" if ipv6 else "interval"
    if address.spacing > 0:
        return f"{kind}, {spacing} {number(address.spacing)}s"
    return kind


def _timeline_blocks(plan: GroupPlan) -> list[tuple[list[str], tuple[Timeline, ...]]]:
    """One block per address, or one for all when their timelines are the same."""
    addresses = plan.addresses
    if len(addresses) > 1 and all(a.timelines == addresses[0].timelines for a in addresses):
        titles = [f"  and of {a.label} ({_describe_frames(a)})" for a in addresses]
        titles[0] = titles[0].replace("  and of", "timeline of", 1)
        titles[-1] += ":"
        return [(titles, addresses[0].timelines)]
    return [([f"timeline of {a.label} ({_describe_frames(a)}):"], a.timelines)
            for a in addresses]


def _json_burst(burst: Burst) -> dict[str, Any]:
    return {
        "start": burst.start, "end": burst.end, "reason": burst.reason,
        "repeats": burst.repeats, "frames": burst.frames, "spacing": burst.spacing,
        "then_every": burst.then_every, "text": burst.text(),
    }


def _json_value(value: object) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return str(value)


def render_json(config: Config, source: str,
                routes: NextHopsNow | None = None) -> dict[str, Any]:
    """The plan as a JSON-serialisable dict (the same content as :func:`render_text`).

    With more than :data:`FULL_GROUPS` groups, a group sharing its settings, pacing, plans
    and notes with an earlier group has ``"same_as": NAME`` instead of those four keys.
    """
    doc = _json_head(config, source)
    doc["groups"] = list(_json_groups(config, routes))
    return doc


def iter_json(config: Config, source: str, routes: NextHopsNow | None = None,
              extra: Mapping[str, Any] | None = None) -> Iterator[str]:
    """``json.dumps({**render_json(...), **extra}, indent=2)`` in pieces, one group at a
    time (a large configuration's plan is never held whole)."""
    head = _json_head(config, source)
    keys = [*head, "groups", *(extra or {})]
    yield "{"
    for index, key in enumerate(keys):
        yield ("," if index else "") + "\n  " + json.dumps(key) + ": "
        if key != "groups":
            value = head[key] if key in head else (extra or {})[key]
            yield _indented(value, "\n  ")
            continue
        empty = True
        for entry in _json_groups(config, routes):
            yield ("[" if empty else ",") + "\n    " + _indented(entry, "\n    ")
            empty = False
        yield "[]" if empty else "\n  ]"
    yield "\n}"


def _indented(value: object, newline: str) -> str:
    return json.dumps(value, indent=2).replace("\n", newline)


def _json_head(config: Config, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "builtin": config.is_builtin,
        "log": {"format": config.log.format, "level": config.log.level},
        "control": {"socket": str(config.control.socket)},
        "keepalived": _json_paths(config.keepalived.model_dump()),
    }


def _json_groups(config: Config, routes: NextHopsNow | None) -> Iterator[dict[str, Any]]:
    share = len(config.groups) > FULL_GROUPS
    shown: dict[tuple[object, ...], tuple[GroupPlan, str]] = {}
    settings_cache: dict[int, tuple[Effective, dict[str, Any]]] = {}
    triggers_cache: dict[int, tuple[tuple[Timeline, ...], dict[str, Any]]] = {}
    for plan in iter_plans(config, routes):
        group = plan.group
        entry: dict[str, Any] = {
            "name": plan.name,
            "interface": group.interface if group is not None else None,
            "addresses": [str(a) for a in group.addresses] if group is not None else None,
            "networks": [str(n) for n in group.networks] if group is not None else None,
            "sync_group": group.sync_group if group is not None else None,
            "priority": group.priority if group is not None else None,
            "vrid": group.vrid if group is not None else None,
        }
        if share:
            signature = _signature(plan)
            first = shown.get(signature)
            if first is not None:
                entry["same_as"] = first[1]
                yield entry
                continue
            shown[signature] = (plan, plan.name)
        cached = settings_cache.get(id(plan.effective))
        if cached is None or cached[0] is not plan.effective:
            cached = settings_cache[id(plan.effective)] = (plan.effective, {
                key: {"value": _json_value(plan.effective.value(key)),
                      "source": plan.effective.sources[key]}
                for key in ANNOUNCE_KEYS
            })
        entry["settings"] = cached[1]
        entry["pacing"] = {"interval": plan.pacing[0], "na_interval": plan.pacing[1]}
        plans = []
        for a in plan.addresses:
            triggers = triggers_cache.get(id(a.timelines))
            if triggers is None or triggers[0] is not a.timelines:
                triggers = triggers_cache[id(a.timelines)] = (a.timelines, {
                    t.trigger: {"bursts": [_json_burst(b) for b in t.bursts], "note": t.note}
                    for t in a.timelines
                })
            plans.append({
                "address": str(a.address) if a.address is not None else None,
                "label": a.label,
                "family": "ipv4" if a.frames != ("na",) else "ipv6",
                "frames_per_repeat": list(a.frames),
                "spacing": a.spacing,
                "triggers": triggers[1],
            })
        entry["plans"] = plans
        entry["notes"] = list(plan.notes)
        yield entry


def _json_paths(values: Mapping[str, object]) -> dict[str, str | bool | int | None]:
    """Paths as strings; flags and numbers as themselves."""
    return {k: v if v is None or isinstance(v, (bool, int)) else str(v)
            for k, v in values.items()}


__all__ = [
    "FULL_GROUPS", "MAX_POLLS", "PLAN_POLLS", "REFRESH_PERIODS", "TRIGGERS", "AddressPlan", "Burst",
    "GroupPlan", "Timeline", "build", "iter_json", "iter_plans", "iter_text", "number",
    "render_json", "render_text", "seconds", "simulate",
]
