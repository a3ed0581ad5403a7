"""The tests' view of :class:`garpd.sim.Sim`: every frame named with its time.

:class:`Sim` is the one fake-clock driver (``garpd.sim``) with a watcher that decodes each
frame handed over just enough to name it, so a test reads a timeline of
``(time, address)`` or :class:`Sent` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from garpd import sim
from garpd.core import Output
from garpd.frames import describe


@dataclass(frozen=True)
class Sent:
    """One frame as the timeline shows it."""

    t: float
    ifname: str
    kind: str  # "request" | "reply" | "na"
    address: str
    mac: str


@dataclass
class Sim(sim.Sim):
    """:class:`garpd.sim.Sim` keeping every frame sent, decoded, with its time."""

    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.on_output = self._collect

    def _collect(self, t: float, out: Output) -> None:
        for ifname, frames in out.frames.items():
            for frame in frames:
                kind, address, mac = describe(frame)
                self.sent.append(Sent(round(t, 6), ifname, kind, address, mac))

    def timeline(self) -> list[tuple[float, str]]:
        """(time, address) of every frame so far."""
        return [(s.t, s.address) for s in self.sent]
