"""The one fake-clock driver: the pure core run through literal times.

It plays the part of the asyncio runner (:mod:`garpd.runner`) without a clock or a socket:
events are applied at the time given, and :meth:`Sim.advance` jumps from one
``next_deadline()`` to the next, handing every poll's :class:`~garpd.core.Output` to
whoever watches (``on_output``) and keeping the records with their times. With
``express``, an address added alone has its first frame handed over before the core
handles it, as the runner does (:meth:`~garpd.core.Announcer.express`). ``garpd check``
builds its plan with it (:mod:`garpd.plan`), and the tests drive the core with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from garpd.core import Announcer, Batch, Output
from garpd.events import AddressChanged, Event
from garpd.frames import FrameCache
from garpd.policy import Policy
from garpd.records import Record

OutputWatcher = Callable[[float, Output], None]


@dataclass
class Sim:
    """Drives an :class:`Announcer` through literal times."""

    policy: Policy
    frames: FrameCache | None = None
    """The frame cache the core builds from (default: real frames)."""
    on_output: OutputWatcher | None = None
    """Called with (time, output) after every poll that produced something."""
    core: Announcer = field(init=False)
    records: list[tuple[float, Record]] = field(default_factory=list)
    now: float = 0.0
    express: bool = False
    """Hand an address added alone its first frame ahead of the core, as the runner does."""
    expressed: int = 0
    """How many first frames left that way so far."""
    polls: int = 0
    """Polls made at a deadline by :meth:`advance` so far."""

    def __post_init__(self) -> None:
        self.core = Announcer(self.policy, self.frames)

    def _take(self, t: float, out: Output) -> None:
        if not out:
            return
        if self.on_output is not None:
            self.on_output(t, out)
        self.records.extend((round(t, 6), r) for r in out.records)

    def advance(self, until: float, *, stop: Callable[[float], bool] | None = None,
                max_polls: int | None = None) -> bool:
        """Poll at every deadline up to and including ``until``; then the clock is there.

        ``stop(deadline)`` ends the run early before polling at ``deadline``; after
        ``max_polls`` polls the run ends too and False is returned (truncated).
        """
        while True:
            deadline = self.core.next_deadline()
            if deadline is None or deadline > until or (stop is not None and stop(deadline)):
                break
            if max_polls is not None and self.polls >= max_polls:
                return False
            t = max(deadline, self.now)
            self.now = t
            self.polls += 1
            self._take(t, self.core.poll(t))
        if until != float("inf"):
            self.now = max(self.now, until)
        return True

    def at(self, t: float, *events: Event) -> None:
        """Advance to ``t``, then apply ``events`` at ``t`` and poll once."""
        self.advance(t)
        if self.express and len(events) == 1 and isinstance(events[0], AddressChanged):
            added = events[0]
            express = self.core.express(added, t)
            if express is not None:
                ifindex, frame = express
                self.expressed += 1
                self._take(t, Output(frames={added.ifname: Batch(
                    ifindex, [frame], [(added.ifname, added.address)])}))
            self.core.handle(added, t, expressed=express is not None)
        else:
            for event in events:
                self.core.handle(event, t)
        self._take(t, self.core.poll(t))

    def events(self, name: str) -> list[tuple[float, dict[str, object]]]:
        """(time, fields) of every record named ``name``."""
        return [(t, r.fields) for t, r in self.records if r.event == name]
