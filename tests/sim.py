"""A test driver for the pure core: literal times in, an exact timeline of frames out.

It plays the part of the asyncio runner without a clock: events are applied at the time
given, and ``advance`` jumps from one ``next_deadline()`` to the next, recording every
frame with the time it was handed over and decoding it just enough to name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from garpd.core import Announcer, Output, Record
from garpd.events import Event
from garpd.frames import describe
from garpd.policy import Policy


@dataclass(frozen=True)
class Sent:
    """One frame as the timeline shows it."""

    t: float
    ifname: str
    kind: str  # "request" | "reply" | "na"
    address: str
    mac: str


@dataclass
class Sim:
    """Drives an :class:`Announcer` through literal times."""

    policy: Policy
    core: Announcer = field(init=False)
    sent: list[Sent] = field(default_factory=list)
    records: list[tuple[float, Record]] = field(default_factory=list)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.core = Announcer(self.policy)

    def _collect(self, t: float, out: Output) -> None:
        for ifname, frames in out.frames.items():
            for frame in frames:
                kind, address, mac = describe(frame)
                self.sent.append(Sent(round(t, 6), ifname, kind, address, mac))
        self.records.extend((round(t, 6), r) for r in out.records)

    def advance(self, until: float) -> None:
        """Poll at every deadline up to and including ``until``; then the clock is there."""
        while True:
            deadline = self.core.next_deadline()
            if deadline is None or deadline > until:
                break
            t = max(deadline, self.now)
            self.now = t
            self._collect(t, self.core.poll(t))
        self.now = max(self.now, until)

    def at(self, t: float, *events: Event) -> None:
        """Advance to ``t``, then apply ``events`` at ``t`` and poll once."""
        self.advance(t)
        for event in events:
            self.core.handle(event, t)
        self._collect(t, self.core.poll(t))

    def timeline(self) -> list[tuple[float, str]]:
        """(time, address) of every frame so far."""
        return [(s.t, s.address) for s in self.sent]

    def events(self, name: str) -> list[tuple[float, dict[str, object]]]:
        """(time, fields) of every record named ``name``."""
        return [(t, r.fields) for t, r in self.records if r.event == name]
