"""Per-interface pacing of announcements: keepalived's garp_delay queue, done right.

Pure: no clock, no socket. One :class:`Pacer` exists per (interface, address family). It
enforces the least spacing ``interval`` between two packets garpd sends there, across all
groups, and keeps a FIFO of the addresses that still owe packets together with how many
each owes (its *pending* count). Draining pops the head, sends one packet for it and, if
it still owes more, appends it again, which yields round-robin order (a1 a2 … an a1 …).

Differences from keepalived (``vrrp_arp.c``), both deliberate:

- a queued address keeps its whole pending count (keepalived before 2.3.2 lost it, #1760);
- a cancelled address is dropped from the queue at once and sends nothing more.

A second burst for an address that is still queued merges into it: its pending count
becomes ``max(pending, repeat)``, which is what keepalived's capped increments amount to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

from garpd.lean import dataclass

K = TypeVar("K")

#: Tolerance for "is it due yet": event loops may wake a hair before a deadline.
EPSILON = 1e-6


@dataclass(slots=True, eq=False)
class Burst(Generic[K]):
    """What one address still owes on one pacer: the burst being sent and its progress."""

    key: K
    pending: int
    reason: str
    sent: int = 0
    merged: tuple[str, ...] = ()
    live: bool = True


class Pacer(Generic[K]):
    """The send queue of one (interface, family): spacing, pending counts, round-robin."""

    __slots__ = ("_by_key", "_queue", "interval", "next_time")

    def __init__(self, interval: float = 0.0) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval!r}")
        self.interval = interval
        self.next_time = float("-inf")
        self._queue: deque[Burst[K]] = deque()
        self._by_key: dict[K, Burst[K]] = {}

    def set_interval(self, interval: float) -> None:
        """Change the spacing; the next packet is spaced from the last one by the new value."""
        if interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval!r}")
        if self.next_time != float("-inf"):
            self.next_time += interval - self.interval
        self.interval = interval

    def __len__(self) -> int:
        """Number of addresses that still owe packets."""
        return len(self._by_key)

    def pending(self, key: K) -> int:
        """How many packets ``key`` still owes here (0 if none)."""
        burst = self._by_key.get(key)
        return burst.pending if burst is not None else 0

    def request(self, key: K, repeat: int, reason: str) -> None:
        """Owe ``repeat`` more packets for ``key``; merge into a burst still queued."""
        self.request_many((key,), repeat, reason)

    def request_many(self, keys: Iterable[K], repeat: int, reason: str) -> None:
        """:meth:`request` for each of ``keys`` in order (a refresh round, in one call)."""
        if repeat <= 0:
            return
        by_key = self._by_key
        queue = self._queue
        for key in keys:
            burst = by_key.get(key)
            if burst is not None:
                burst.pending = max(burst.pending, repeat)
                if reason != burst.reason and reason not in burst.merged:
                    burst.merged += (reason,)
                continue
            burst = Burst(key, repeat, reason)
            by_key[key] = burst
            queue.append(burst)

    def cancel(self, key: K) -> int:
        """Forget everything ``key`` still owes; return how many packets were dropped."""
        burst = self._by_key.pop(key, None)
        if burst is None:
            return 0
        dropped, burst.pending, burst.live = burst.pending, 0, False
        return dropped

    def next_deadline(self) -> float | None:
        """When the next packet may leave, or None when nothing is queued."""
        if not self._by_key:
            return None
        return self.next_time

    def take_all(self, now: float) -> list[Burst[K]]:
        """With ``interval == 0``: every queued burst at once, in queue order, to be sent
        round-robin by the caller (same order as :meth:`drain`, no per-packet queue work).
        They leave the pacer no longer live; the caller sends them and finishes them
        (adds ``pending`` to ``sent``, sets ``pending`` to 0)."""
        bursts = [b for b in self._queue if b.live]
        self._queue.clear()
        self._by_key.clear()
        for burst in bursts:
            burst.live = False
        self.next_time = now
        return bursts

    def drain(self, now: float, slots: list[tuple[K, int]], finished: list[Burst[K]]) -> None:
        """With ``interval > 0``: send what may leave at ``now``, at most one slot per
        call: append (key, index in its burst) and move ``next_time`` to ``now + interval``.

        A burst that completes is appended to ``finished``. With ``interval == 0`` the
        caller uses :meth:`take_all` instead (the core never drains an unpaced pacer).
        """
        queue = self._queue
        while queue and now + EPSILON >= self.next_time:
            burst = queue.popleft()
            if not burst.live:
                continue
            slots.append((burst.key, burst.sent))
            burst.sent += 1
            burst.pending -= 1
            self.next_time = now + self.interval
            if burst.pending > 0:
                queue.append(burst)
            else:
                burst.live = False
                del self._by_key[burst.key]
                finished.append(burst)
            break
        # Release cancelled bursts at the head now (memory only: drain skips them anyway).
        while queue and not queue[0].live:
            queue.popleft()
