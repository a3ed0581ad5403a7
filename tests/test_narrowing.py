"""The daemon's neighbour-listener narrowing under address churn: widened at once before
the frames, given its exact filter back at most every ``NARROW_SPACING`` (the exact program
costs milliseconds with a thousand addresses held; rebuilt on every change it took ~60% of
the daemon's CPU in the churn soak). Fakes stand in for the core and the listener; the
event loop and its clock are real."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from garpd.commands import run
from garpd.frames import Address


class FakeCore:
    """Says eth0's listening set changed whenever told to."""

    def __init__(self) -> None:
        self.dirty: set[str] = set()

    def take_listen_changes(self) -> set[str]:
        """The interfaces marked since the last call."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def neighbour_watch(self, ifname: str) -> tuple[list[Address], list[Address]]:
        """Something to watch on every interface."""
        return [], []

    def ifindex(self, ifname: str) -> int:
        """Every interface exists."""
        return 2


class FakeListener:
    """Notes when each interface was widened and narrowed (``watch``), on the loop's clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.widened: list[float] = []
        self.narrowed: list[float] = []

    def widen(self, ifname: str) -> bool:
        """An open socket: widened."""
        self.widened.append(self.loop.time())
        return True

    def watch(self, ifname: str, ifindex: int, v4: Any, v6: Any) -> None:
        """The exact filter."""
        self.narrowed.append(self.loop.time())


def test_narrowing_waits_for_the_spacing_and_covers_every_change_meanwhile() -> None:
    """Three changes 10 ms apart: each widens at once; the first is narrowed on the next
    loop turn, the next two together, NARROW_SPACING after that narrowing, not before.
    (The bounds leave a busy machine room: only a stall of over 100 ms between the loop's
    turns could break them.)"""

    async def scenario() -> FakeListener:
        loop = asyncio.get_running_loop()
        daemon = run.Daemon(None, "test", None, log=structlog.get_logger())
        core = FakeCore()
        listener = FakeListener(loop)
        daemon.core = core  # type: ignore[assignment]
        daemon.neighbours = listener
        for _ in range(3):
            core.dirty.add("eth0")
            daemon._sync_lan([])
            await asyncio.sleep(0.01)
        await asyncio.sleep(run.NARROW_SPACING + 0.1)
        return listener

    listener = asyncio.run(scenario())
    assert len(listener.widened) == 3
    assert len(listener.narrowed) == 2
    assert listener.narrowed[0] - listener.widened[0] < run.NARROW_SPACING / 2
    assert listener.narrowed[1] - listener.narrowed[0] >= run.NARROW_SPACING - 0.001
    assert listener.narrowed[1] > listener.widened[2]
