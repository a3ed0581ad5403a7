"""Exact tests of :class:`garpd.pacing.Pacer` on its own: spacing, pending counts,
round-robin order, merging, cancelling, the unpaced ``take_all`` and the paced ``drain``.

The table drives one pacer through literal steps and compares everything its public API
shows after each step: the slots a drain hands out, the bursts it finishes, ``len``,
``pending`` of every key and ``next_deadline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from garpd.pacing import EPSILON, Burst, Pacer


@dataclass(frozen=True)
class Req:
    """request(key, repeat, reason)."""

    key: str
    repeat: int
    reason: str = "master"


@dataclass(frozen=True)
class ReqMany:
    """request_many(keys, repeat, reason)."""

    keys: tuple[str, ...]
    repeat: int
    reason: str = "refresh"


@dataclass(frozen=True)
class Cancel:
    """cancel(key); the table states what it returns."""

    key: str
    dropped: int


@dataclass(frozen=True)
class Drain:
    """drain(now); the table states the slots handed out and the keys finished."""

    now: float
    slots: tuple[tuple[str, int], ...]
    finished: tuple[str, ...] = ()


Step = Req | ReqMany | Cancel | Drain

KEYS = ("a", "b", "c")


def state(pacer: Pacer[str]) -> tuple[int, dict[str, int], float | None]:
    """Everything the public API shows: len, pending per key, next deadline."""
    return len(pacer), {k: pacer.pending(k) for k in KEYS}, pacer.next_deadline()


# (name, interval, steps, state after the last step)
CASES: list[tuple[str, float, list[Step], tuple[int, dict[str, int], float | None]]] = [
    ("nothing queued", 1.0, [Drain(0.0, ())],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("one burst, one slot per interval", 1.0,
     [Req("a", 3), Drain(10.0, (("a", 0),)), Drain(10.5, ()), Drain(11.0, (("a", 1),)),
      Drain(12.0, (("a", 2),), ("a",)), Drain(13.0, ())],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("due a hair early is due (event loops wake early)", 1.0,
     [Req("a", 2), Drain(10.0, (("a", 0),)), Drain(11.0 - EPSILON / 2, (("a", 1),), ("a",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("due exactly at the edge of the tolerance", EPSILON,
     [Req("a", 2), Drain(0.0, (("a", 0),)), Drain(0.0, (("a", 1),), ("a",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("more than a hair early is not due", 1.0,
     [Req("a", 2), Drain(10.0, (("a", 0),)), Drain(11.0 - 2 * EPSILON, ())],
     (1, {"a": 1, "b": 0, "c": 0}, 11.0)),
    ("round-robin across keys, every repeat kept", 0.5,
     [Req("a", 2), Req("b", 3), Drain(1.0, (("a", 0),)), Drain(1.5, (("b", 0),)),
      Drain(2.0, (("a", 1),), ("a",)), Drain(2.5, (("b", 1),)), Drain(3.0, (("b", 2),), ("b",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("a second burst merges into the queued one: max, not sum", 1.0,
     [Req("a", 3), Req("a", 2), Drain(0.0, (("a", 0),))],
     (1, {"a": 2, "b": 0, "c": 0}, 1.0)),
    ("a larger second burst raises the pending count", 1.0,
     [Req("a", 2), Drain(0.0, (("a", 0),)), Req("a", 5)],
     (1, {"a": 5, "b": 0, "c": 0}, 1.0)),
    ("repeat 0 or less asks for nothing", 1.0,
     [Req("a", 0), Req("b", -1)],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("repeat 1 is one packet", 1.0,
     [Req("a", 1), Drain(4.0, (("a", 0),), ("a",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("request_many queues in order and merges the keys already queued", 1.0,
     [Req("b", 1), ReqMany(("a", "b", "c"), 2), Drain(0.0, (("b", 0),)),
      Drain(1.0, (("a", 0),)), Drain(2.0, (("c", 0),))],
     (3, {"a": 1, "b": 1, "c": 1}, 3.0)),
    ("cancel drops what is owed, and the queue skips it", 1.0,
     [Req("a", 3), Req("b", 2), Drain(0.0, (("a", 0),)), Cancel("a", 2), Cancel("a", 0),
      Drain(1.0, (("b", 0),)), Drain(2.0, (("b", 1),), ("b",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("cancelling the only key leaves nothing due", 1.0,
     [Req("a", 3), Cancel("a", 3)],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("cancelled bursts at the head are skipped, the live one behind them sends", 1.0,
     [Req("a", 1), Req("b", 1), Req("c", 1), Cancel("a", 1), Cancel("b", 1),
      Drain(0.0, (("c", 0),), ("c",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("a key requested again after cancel starts a new burst at index 0", 1.0,
     [Req("a", 2), Drain(0.0, (("a", 0),)), Cancel("a", 1), Req("a", 2),
      Drain(1.0, (("a", 0),)), Drain(2.0, (("a", 1),), ("a",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
    ("spacing counts from the last packet, not from the request", 2.0,
     [Req("a", 1), Drain(5.0, (("a", 0),), ("a",)), Req("b", 1), Drain(6.0, ()),
      Drain(7.0, (("b", 0),), ("b",))],
     (0, {"a": 0, "b": 0, "c": 0}, None)),
]


@pytest.mark.parametrize(("interval", "steps", "after"),
                         [pytest.param(i, s, a, id=n) for n, i, s, a in CASES])
def test_pacer_table(interval: float, steps: list[Step],
                     after: tuple[int, dict[str, int], float | None]) -> None:
    """Each step's output and the final state are exactly the table's."""
    pacer: Pacer[str] = Pacer(interval)
    for step in steps:
        match step:
            case Req(key, repeat, reason):
                pacer.request(key, repeat, reason)
            case ReqMany(keys, repeat, reason):
                pacer.request_many(keys, repeat, reason)
            case Cancel(key, dropped):
                assert pacer.cancel(key) == dropped, step
            case Drain(now, expected, done):
                slots: list[tuple[str, int]] = []
                finished: list[Burst[str]] = []
                pacer.drain(now, slots, finished)
                assert (tuple(slots), tuple(b.key for b in finished)) == (expected, done), step
                for burst in finished:
                    assert (burst.pending, burst.live) == (0, False), step
    assert state(pacer) == after


def test_new_pacer_is_due_at_once() -> None:
    """A first request may leave at any time: the deadline is minus infinity."""
    pacer: Pacer[str] = Pacer(1.0)
    assert pacer.interval == 1.0
    assert pacer.next_deadline() is None
    pacer.request("a", 1, "master")
    assert pacer.next_deadline() == -math.inf
    assert pacer.pending("a") == 1
    assert len(pacer) == 1


def test_unpaced_pacer_takes_no_interval() -> None:
    """interval 0 is allowed (no spacing)."""
    assert Pacer(0.0).interval == 0.0
    assert Pacer().interval == 0.0


@pytest.mark.parametrize("bad", [-1.0, -1e-9])
def test_negative_interval_is_refused(bad: float) -> None:
    """A negative spacing is a programming error, named in the message."""
    with pytest.raises(ValueError, match=rf"^interval must be >= 0, got {bad!r}$"):
        Pacer(bad)
    pacer: Pacer[str] = Pacer(1.0)
    with pytest.raises(ValueError, match=rf"^interval must be >= 0, got {bad!r}$"):
        pacer.set_interval(bad)
    assert pacer.interval == 1.0


def test_set_interval_respaces_from_the_last_packet() -> None:
    """After a packet at 10 with interval 1, interval 3 moves the next slot to 13, and
    interval 0.5 to 10.5; before any packet the deadline stays minus infinity."""
    pacer: Pacer[str] = Pacer(1.0)
    pacer.set_interval(0.0)
    pacer.set_interval(1.0)
    pacer.request("a", 3, "master")
    assert pacer.next_deadline() == -math.inf
    slots: list[tuple[str, int]] = []
    pacer.drain(10.0, slots, [])
    assert pacer.next_deadline() == 11.0
    pacer.set_interval(3.0)
    assert (pacer.interval, pacer.next_deadline()) == (3.0, 13.0)
    pacer.set_interval(0.5)
    assert (pacer.interval, pacer.next_deadline()) == (0.5, 10.5)
    pacer.drain(10.5, slots, [])
    assert slots == [("a", 0), ("a", 1)]
    assert pacer.next_deadline() == 11.0


def test_merged_reasons_are_kept_once_each() -> None:
    """A burst records the reasons merged into it, once each, never its own."""
    pacer: Pacer[str] = Pacer(1.0)
    pacer.request("a", 2, "master")
    pacer.request("a", 2, "master")
    pacer.request_many(("a",), 1, "refresh")
    pacer.request("a", 3, "refresh")
    pacer.request("a", 1, "conflict")
    finished: list[Burst[str]] = []
    slots: list[tuple[str, int]] = []
    for now in (0.0, 1.0, 2.0):
        pacer.drain(now, slots, finished)
    assert slots == [("a", 0), ("a", 1), ("a", 2)]
    [burst] = finished
    assert (burst.key, burst.reason, burst.merged) == ("a", "master", ("refresh", "conflict"))
    assert (burst.sent, burst.pending, burst.live) == (3, 0, False)


def test_cancel_marks_the_burst_dead() -> None:
    """The cancelled burst object owes nothing and is no longer live."""
    pacer: Pacer[str] = Pacer(1.0)
    pacer.request("a", 4, "master")
    pacer.request("b", 1, "master")
    finished: list[Burst[str]] = []
    pacer.drain(0.0, [], finished)
    pacer.drain(1.0, [], finished)
    [done] = finished
    assert done.key == "b"
    assert pacer.cancel("a") == 3
    assert pacer.take_all(2.0) == []


def test_take_all_hands_out_every_live_burst_in_queue_order() -> None:
    """Unpaced: take_all returns the live bursts in queue order, no longer live, and
    empties the pacer; the caller sends and finishes them (sent/pending untouched)."""
    pacer: Pacer[str] = Pacer(0.0)
    pacer.request("b", 2, "master")
    pacer.request("a", 5, "refresh")
    pacer.request("c", 1, "master")
    pacer.cancel("a")
    bursts = pacer.take_all(7.0)
    assert [(b.key, b.pending, b.sent, b.reason, b.live) for b in bursts] == [
        ("b", 2, 0, "master", False), ("c", 1, 0, "master", False)]
    assert state(pacer) == (0, {"a": 0, "b": 0, "c": 0}, None)
    assert pacer.take_all(8.0) == []
    pacer.request("a", 1, "master")
    assert pacer.next_deadline() == 8.0


def test_take_all_then_paced_drain_spaces_from_the_take() -> None:
    """take_all at t is the last packet time: after set_interval(1) the next slot is t+1."""
    pacer: Pacer[str] = Pacer(0.0)
    pacer.request("a", 1, "master")
    pacer.take_all(4.0)
    pacer.set_interval(1.0)
    pacer.request("b", 1, "master")
    assert pacer.next_deadline() == 5.0
    slots: list[tuple[str, int]] = []
    pacer.drain(4.5, slots, [])
    assert slots == []
    pacer.drain(5.0, slots, [])
    assert slots == [("b", 0)]
