"""The asyncio Runner with a real Announcer and a fake Sender, on a real event loop.

The fake stands in for the AF_PACKET sender only (its wire behaviour is covered by the lab
tests); it notes, at every call, how many announce records had been logged so far, which is
how these tests see that records are written after their frames.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from garpd import runner as runner_mod
from garpd.core import Announcer
from garpd.drivers.sender import Sender, SendResult
from garpd.events import AddressChanged, AddressRemoved, Event, LinkChanged, Trigger
from garpd.frames import Address, describe
from garpd.policy import StaticPolicy, Timing
from garpd.runner import Runner

MAC = bytes.fromhex("020000000002")
A1, A2 = ipaddress.ip_address("192.0.2.101"), ipaddress.ip_address("192.0.2.102")
WAIT = 10.0  # generous upper bound for a schedule of a few tens of milliseconds

LogList = list[MutableMapping[str, Any]]
Script = Callable[[list[bytes]], SendResult]


@dataclass
class Call:
    """One call of the fake sender."""

    ifname: str
    ifindex: int
    frames: list[bytes]
    announced: int  # announce records logged before this call

    def addresses(self) -> list[str]:
        """The address of every frame, in order."""
        return [describe(f)[1] for f in self.frames]


class FakeSender(Sender):
    """Records calls; answers each from ``script`` while it lasts, then sends everything."""

    def __init__(self, logs: LogList, script: list[Script] | None = None,
                 default: Script | None = None) -> None:
        super().__init__()
        self.logs = logs
        self.calls: list[Call] = []
        self.script = list(script or [])
        self.default = default or (lambda frames: SendResult(len(frames), []))

    def send(self, ifname: str, ifindex: int, frames: list[bytes]) -> SendResult:
        """Record the call and answer it."""
        announced = sum(1 for e in self.logs if e["event"] == "announce")
        self.calls.append(Call(ifname, ifindex, list(frames), announced))
        answer = self.script.pop(0) if self.script else self.default
        return answer(frames)

    def send_one(self, ifname: str, ifindex: int, frame: bytes) -> bool:
        """The express frame: a call of its own, answered like any."""
        result = self.send(ifname, ifindex, [frame])
        return result.sent == 1 and result.error is None

    def delivered(self) -> list[bytes]:
        """Every frame the fake accepted, in order (assumes scripted answers cut tails)."""
        return [f for c in self.calls for f in c.frames]


@pytest.fixture(autouse=True)
def plain_structlog() -> Iterator[None]:
    """capture_logs() needs structlog's defaults (no filtering from another test's setup)."""
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.reset_defaults()


def takeover(*addresses: Address) -> list[Event]:
    """eth0 up with carrier and ``addresses`` on it."""
    return [LinkChanged("eth0", 2, MAC, True, True),
            *(AddressChanged("eth0", a) for a in addresses)]


def make_runner(logs: LogList, timing: Timing, interval: float = 0.0,
                retry_give_up: float = runner_mod.RETRY_GIVE_UP,
                **sender: Any) -> tuple[Runner, FakeSender]:
    """A Runner on the running loop with a fresh core and a fake sender."""
    fake = FakeSender(logs, **sender)
    core = Announcer(StaticPolicy(timing, interval=interval))
    return Runner(core, fake, structlog.get_logger(), asyncio.get_running_loop(),
                  retry_give_up=retry_give_up), fake


def events(logs: LogList, name: str) -> list[MutableMapping[str, Any]]:
    """The captured records named ``name``."""
    return [e for e in logs if e["event"] == name]


def sent_ok(frames: list[bytes]) -> SendResult:
    """The device took everything."""
    return SendResult(len(frames), [])


def queue_full_after(n: int) -> Script:
    """The device takes ``n`` frames, then its queue is full."""
    return lambda frames: SendResult(n, frames[n:])


def test_frames_in_order_and_records_after_frames() -> None:
    """Both bursts reach the sender round-robin; each burst's records follow its frames."""

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.05))
            runner.feed(takeover(A1, A2))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    assert [(c.ifname, c.ifindex) for c in fake.calls] == [("eth0", 2), ("eth0", 2)]
    for call in fake.calls:
        assert call.addresses() == [str(A1), str(A2)] * 3
        assert {describe(f)[0] for f in call.frames} == {"request"}
    assert [c.announced for c in fake.calls] == [0, 2]
    announces = events(logs, "announce")
    assert [(e["address"], e["reason"], e["packets"], e["log_level"]) for e in announces] == [
        (str(A1), "master", 3, "info"), (str(A2), "master", 3, "info"),
        (str(A1), "master_delay", 3, "info"), (str(A2), "master_delay", 3, "info")]
    assert all(e["interface"] == "eth0" and e["mac"] == "02:00:00:00:00:02" for e in announces)
    assert len(events(logs, "vip_acquired")) == 2
    assert runner.counters == {"frames_sent": 12, "send_errors": 0, "frames_dropped": 0,
                               "send_retries": 0}


def test_paced_frames_each_record_after_the_burst_s_last_frame() -> None:
    """With an interval every frame is its own call; a record waits for its last frame."""

    async def scenario() -> tuple[LogList, FakeSender]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0),
                                       interval=0.01)
            runner.feed(takeover(A1, A2))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake

    logs, fake = asyncio.run(scenario())
    assert [c.addresses() for c in fake.calls] == [[str(A1)], [str(A2)], [str(A1)], [str(A2)]]
    assert [c.announced for c in fake.calls] == [0, 0, 0, 1]
    assert [e["address"] for e in events(logs, "announce")] == [str(A1), str(A2)]


def test_queue_full_tail_is_retried_and_record_written_after() -> None:
    """A batch the device refuses part of is retried from where it stopped; then the record."""

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[queue_full_after(1)])
            runner.feed(takeover(A1))
            assert events(logs, "announce") == []  # the tail is still waiting
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    first, second = fake.calls
    assert second.frames == first.frames[1:]
    assert second.announced == 0
    assert first.frames[:1] + second.frames == first.frames
    (announce,) = events(logs, "announce")
    assert announce["packets"] == 3
    assert events(logs, "send_failed") == []
    assert runner.counters == {"frames_sent": 3, "send_errors": 0, "frames_dropped": 0,
                               "send_retries": 1}


def test_new_frames_queue_behind_a_retry_in_order() -> None:
    """Frames due while a retry is pending go after the retried tail, in order."""

    async def scenario() -> tuple[LogList, FakeSender]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[queue_full_after(1)])
            runner.feed(takeover(A1, A2))
            runner.feed([Trigger("oneshot", keys=(("eth0", A2),))])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake

    logs, fake = asyncio.run(scenario())
    first, second = fake.calls
    assert first.addresses() == [str(A1), str(A2)] * 3
    assert second.addresses() == [str(A2), str(A1), str(A2), str(A1), str(A2)] + [str(A2)] * 3
    assert second.announced == 0
    assert [(e["address"], e["reason"]) for e in events(logs, "announce")] == [
        (str(A1), "master"), (str(A2), "master"), (str(A2), "oneshot")]


def test_hard_error_is_logged_and_counted() -> None:
    """A hard send error drops the batch's rest, logs send_failed and counts it; the
    announce counts the frame that left before it."""

    def network_down(frames: list[bytes]) -> SendResult:
        return SendResult(1, [], OSError(errno.ENETDOWN, "Network is down"))

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[network_down])
            runner.feed(takeover(A1))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    assert len(fake.calls) == 1
    (failed,) = events(logs, "send_failed")
    assert failed["log_level"] == "error"
    assert {k: failed[k] for k in ("interface", "error", "errno", "dropped")} == {
        "interface": "eth0", "error": "Network is down", "errno": errno.ENETDOWN, "dropped": 2}
    assert runner.counters == {"frames_sent": 1, "send_errors": 1, "frames_dropped": 2,
                               "send_retries": 0}
    assert runner.idle()
    # The one frame that left before the error is announced; the two dropped are not.
    assert [(e["address"], e["packets"]) for e in events(logs, "announce")] == [(str(A1), 1)]


def test_device_that_stays_full_is_given_up() -> None:
    """A device that never takes a frame: after retry_give_up the backlog is dropped."""

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       retry_give_up=0.05, default=queue_full_after(0))
            runner.feed(takeover(A1))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    assert len(fake.calls) > 2
    (failed,) = events(logs, "send_failed")
    assert (failed["error"], failed["dropped"]) == ("device queue full", 3)
    assert runner.counters["frames_dropped"] == 3
    assert runner.counters["frames_sent"] == 0
    assert runner._retry is None
    assert runner.alarm.when is None
    assert events(logs, "announce") == []  # no frame left: nothing claims one did


@pytest.mark.parametrize("then", ["give_up", "hard_error"])
def test_a_backlog_that_ends_in_a_drop_announces_only_what_left(then: str) -> None:
    """Frames waiting for a retry and then dropped (given up, or a hard error on the
    retry) leave the held announce records with only the frames that left, the dropped
    ones taken off the latest record first."""

    def network_down(frames: list[bytes]) -> SendResult:
        return SendResult(1, [], OSError(errno.ENETDOWN, "Network is down"))

    script = [queue_full_after(1)] + ([network_down] if then == "hard_error" else [])

    async def scenario() -> LogList:
        with capture_logs() as logs:
            runner, _fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                        retry_give_up=0.05, script=script,
                                        default=queue_full_after(0))
            runner.feed(takeover(A1))
            runner.feed([Trigger("oneshot", keys=(("eth0", A1),))])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs

    logs = asyncio.run(scenario())
    # 5 frames waited (2 master, 3 oneshot): all 5 dropped, or 1 sent and 4 dropped.
    assert [(e["reason"], e["packets"]) for e in events(logs, "announce")] == [
        ("master", 1 if then == "give_up" else 2)]


def test_slow_but_draining_device_is_not_given_up() -> None:
    """A device taking one frame per retry keeps making progress: nothing is dropped."""

    async def scenario() -> tuple[LogList, Runner]:
        with capture_logs() as logs:
            runner, _fake = make_runner(logs, Timing(master_repeat=100, master_delay=0.0),
                                        retry_give_up=0.05, default=queue_full_after(1))
            runner.feed(takeover(A1))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, runner

    logs, runner = asyncio.run(scenario())
    assert events(logs, "send_failed") == []
    assert runner.counters["frames_sent"] == 100


def test_released_address_frames_leave_the_retry_backlog() -> None:
    """An address removed while its frames wait for a retry gets nothing more sent."""

    async def scenario() -> FakeSender:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[queue_full_after(1)])
            runner.feed(takeover(A1))
            runner.feed([AddressRemoved("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake

    fake = asyncio.run(scenario())
    assert sum(len(c.addresses()) for c in fake.calls[1:]) == 0


def test_retry_backlog_keeps_the_frames_of_addresses_still_held() -> None:
    """Releasing one address drops only its waiting frames: the other's are still sent."""

    async def scenario() -> tuple[FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[queue_full_after(1)])
            runner.feed(takeover(A1, A2))
            runner.feed([AddressRemoved("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake, runner

    fake, runner = asyncio.run(scenario())
    first, *rest = fake.calls
    assert first.addresses()[:1] == [str(A1)]  # one frame left before the queue filled
    assert [a for c in rest for a in c.addresses()] == [str(A2)] * 3
    assert runner.counters["frames_dropped"] == 2  # A1's two waiting frames


def test_wait_idle_and_no_timer_when_idle() -> None:
    """wait_idle() returns at once when idle, else once the schedule ends; no timer is left."""

    async def scenario() -> None:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.05))
            assert runner.idle()
            assert runner.alarm.when is None
            assert runner.alarm.remaining() is None
            await asyncio.wait_for(runner.wait_idle(), 1.0)  # nothing to wait for
            runner.feed(takeover(A1))
            assert len(fake.calls) == 1
            assert not runner.idle()
            assert runner.alarm.when == runner.core.next_deadline()  # the delayed burst
            assert runner.alarm.remaining() is not None
            waiter = asyncio.ensure_future(runner.wait_idle())
            await asyncio.sleep(0)
            assert not waiter.done()
            await asyncio.wait_for(waiter, WAIT)
            assert len(fake.calls) == 2
            assert runner.idle()
            assert runner.core.next_deadline() is None
            assert runner.alarm.when is None
            assert runner.alarm.remaining() is None
            assert runner._retry is None
            runner.feed([])  # an empty feed arms nothing either
            assert runner.alarm.when is None
            assert runner.alarm.remaining() is None

    asyncio.run(scenario())


def test_exactly_one_timer_at_the_next_deadline() -> None:
    """With refresh on, one alarm stays armed at next_deadline(), in the kernel (a timerfd
    the loop watches); re-arming for the same deadline changes nothing; close() disarms."""

    async def scenario() -> None:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.02,
                                                    master_refresh=60.0))
            assert runner.alarm.kernel
            runner.feed(takeover(A1))
            while len(fake.calls) < 2:  # the delayed burst
                await asyncio.sleep(0.01)
            deadline = runner.core.next_deadline()
            assert deadline is not None
            assert runner.alarm.when == deadline
            before = runner.loop.time()
            remaining = runner.alarm.remaining()
            after = runner.loop.time()
            assert remaining is not None  # the kernel's own count-down to the deadline:
            assert deadline - after - 1e-6 <= remaining <= deadline - before + 1e-6
            assert remaining > 59.0
            runner.feed([])
            assert runner.alarm.when == deadline
            runner.close()
            assert runner.alarm.when is None

    asyncio.run(scenario())


def test_debug_logs_every_packet() -> None:
    """With set_debug(True) every frame gets a debug 'packet' record."""

    async def scenario() -> LogList:
        with capture_logs() as logs:
            runner, _fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0))
            runner.set_debug(True)
            runner.feed(takeover(A1))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs

    logs = asyncio.run(scenario())
    packets = events(logs, "packet")
    assert [(p["log_level"], p["kind"], p["address"]) for p in packets] == [
        ("debug", "request", str(A1))] * 2


def test_removal_queued_before_a_deadline_is_read_before_its_frames() -> None:
    """A deadline fires while the kernel already said the address went (the churn soak saw
    frames up to 0.7 s after a removal): before_timer is called first, its removal applied,
    and the delayed burst never goes out for it; the other address's burst does."""

    async def scenario() -> tuple[FakeSender, list[float]]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.05))
            calls: list[float] = []

            def before_timer() -> None:
                calls.append(runner.time())
                if len(calls) == 1:
                    runner.feed([AddressRemoved("eth0", A1)])

            runner.before_timer = before_timer
            runner.feed(takeover(A1, A2))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake, calls

    fake, calls = asyncio.run(scenario())
    assert len(calls) == 1
    assert [c.addresses() for c in fake.calls] == [[str(A1), str(A2)], [str(A2)]]


MANY = [ipaddress.ip_address("198.18.0.1") + i for i in range(300)]  # > SEND_SLICE + 10


def test_large_batch_leaves_in_slices_and_a_removal_between_them_stops_its_frames() -> None:
    """A 600-frame batch (300 addresses, two frames each, round-robin) goes to the sender
    SEND_SLICE frames at a time, between_slices called before each slice. An address
    removed between the first and second slice: its frame in the first slice left, its
    second one (in a later slice) never does, and its announce record says one packet;
    an address removed before any of its frames left gets none and no record. Everyone
    else's frames and records are untouched, in order."""
    first, never = MANY[0], MANY[runner_mod.SEND_SLICE + 10]  # in the 1st / 2nd slice
    slice_ = runner_mod.SEND_SLICE

    async def scenario() -> tuple[LogList, FakeSender, int]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0))
            drains: list[int] = []

            def between_slices() -> None:
                drains.append(len(fake.calls))
                if len(drains) == 2:  # one slice out
                    runner.feed([AddressRemoved("eth0", first), AddressRemoved("eth0", never)])

            runner.between_slices = between_slices
            runner.feed(takeover(*MANY))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, len(drains)

    logs, fake, drains = asyncio.run(scenario())
    sent = [a for c in fake.calls for a in c.addresses()]
    expected = [str(a) for a in MANY] * 2
    assert sent[:slice_] == expected[:slice_]
    assert sent[slice_:] == [a for a in expected[slice_:] if a not in (str(first), str(never))]
    assert all(len(c.frames) <= slice_ for c in fake.calls)
    assert len(fake.calls) == drains == -(-(600 - 3) // slice_)
    announced = {e["address"]: e["packets"] for e in events(logs, "announce")}
    assert announced[str(first)] == 1
    assert str(never) not in announced
    assert len(announced) == 299
    assert {announced[str(a)] for a in MANY if a not in (first, never)} == {2}
    assert [e["address"] for e in events(logs, "vip_released")] == [str(first), str(never)]


def test_a_hard_error_in_a_slice_drops_the_rest_of_the_batch_in_one_record() -> None:
    """The second slice of a 600-frame batch meets ENETDOWN after 10 frames: nothing more
    of the batch is handed in, one send_failed counts the slice's unsent frames and every
    frame still to come, and the counters agree with it."""
    slice_ = runner_mod.SEND_SLICE

    def network_down(frames: list[bytes]) -> SendResult:
        return SendResult(10, [], OSError(errno.ENETDOWN, "Network is down"))

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0),
                                       script=[sent_ok, network_down])
            runner.between_slices = lambda: None
            runner.feed(takeover(*MANY))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    assert [len(c.frames) for c in fake.calls] == [slice_, slice_]
    (failed,) = events(logs, "send_failed")
    assert (failed["errno"], failed["dropped"]) == (errno.ENETDOWN, 600 - slice_ - 10)
    assert runner.counters == {"frames_sent": slice_ + 10, "send_errors": 1,
                               "frames_dropped": 600 - slice_ - 10, "send_retries": 0}


def test_a_removal_read_when_the_retry_fires_drops_its_waiting_frames() -> None:
    """The retry of a backlog first reads what the kernel said meanwhile (before_timer):
    an address removed while its frames waited gets none of them, its announce counts the
    one that left; the other address's frames go."""

    async def scenario() -> tuple[LogList, FakeSender, int]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       script=[queue_full_after(1)])
            reads: list[int] = []

            def before_timer() -> None:
                reads.append(len(fake.calls))
                if len(reads) == 1:
                    runner.feed([AddressRemoved("eth0", A1)])

            runner.before_timer = before_timer
            runner.feed(takeover(A1, A2))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, reads[0]

    logs, fake, read_after = asyncio.run(scenario())
    assert read_after == 1  # read before the retry's call
    assert [c.addresses() for c in fake.calls] == [[str(A1), str(A2)] * 3, [str(A2)] * 3]
    assert [(e["address"], e["packets"]) for e in events(logs, "announce")] == [
        (str(A1), 1), (str(A2), 3)]


def test_a_large_backlog_is_retried_in_slices_and_a_removal_between_them_stops_its_frames(
) -> None:
    """A 600-frame batch the device refuses at first: the retry sends it SEND_SLICE frames
    at a time, between_slices before each; an address removed after the retry's first
    slice gets none of its later frames and no announce."""
    slice_ = runner_mod.SEND_SLICE
    never = MANY[slice_ + 10]  # its frames: in the retry's 2nd slice and in its 3rd

    async def scenario() -> tuple[LogList, FakeSender]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0),
                                       script=[queue_full_after(0)])

            def between_slices() -> None:
                if len(fake.calls) == 2:  # the first call refused, the retry's first went
                    runner.feed([AddressRemoved("eth0", never)])

            runner.between_slices = between_slices
            runner.feed(takeover(*MANY))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake

    logs, fake = asyncio.run(scenario())
    refused, *retried = fake.calls
    assert len(refused.frames) == slice_
    assert all(len(c.frames) <= slice_ for c in retried)
    expected = [str(a) for a in MANY] * 2
    sent = [a for c in retried for a in c.addresses()]
    assert sent == expected[:slice_] + [a for a in expected[slice_:] if a != str(never)]
    announced = {e["address"]: e["packets"] for e in events(logs, "announce")}
    assert str(never) not in announced
    assert len(announced) == 299


def test_a_large_batch_s_records_are_written_a_slice_per_turn_of_the_loop() -> None:
    """600 records (300 vip_acquired, 300 announce): WRITE_SLICE written with the frames,
    the rest a slice per turn of the loop (a callback queued right after the feed runs
    before they are all out), all in order; wait_idle returns once every one is written;
    write_waiting writes what is left at once."""
    slice_ = runner_mod.WRITE_SLICE

    async def scenario() -> tuple[LogList, list[int], list[int]]:
        with capture_logs() as logs:
            runner, _fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.0))
            runner.set_debug(False)  # no "packet" record per frame (written at once)
            seen: list[int] = []
            runner.feed(takeover(*MANY))
            at_once = len(logs)
            asyncio.get_running_loop().call_soon(lambda: seen.append(len(logs)))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
            runner.feed([Trigger("oneshot")])
            before = len(logs)
            runner.write_waiting()
            after = len(logs)
        return logs, [at_once, *seen], [before, after]

    logs, counts, flushed = asyncio.run(scenario())
    assert counts == [slice_, 2 * slice_]
    assert [(e["event"], e["address"]) for e in logs[:600]] == [
        *(("vip_acquired", str(a)) for a in MANY), *(("announce", str(a)) for a in MANY)]
    assert [(e["event"], e["address"], e["reason"]) for e in logs[600:]] == [
        ("announce", str(a), "oneshot") for a in MANY]
    assert flushed == [600 + slice_, 900]


def test_events_fed_between_slices_are_sent_after_the_batch() -> None:
    """An address added between two slices: its takeover is applied at once, and its frames
    leave after the batch in flight, never inside it; its record follows the batch's."""
    late = ipaddress.ip_address("198.18.9.1")

    async def scenario() -> tuple[LogList, FakeSender]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.0))
            drains: list[int] = []

            def between_slices() -> None:
                drains.append(1)
                if len(drains) == 2:
                    runner.feed([AddressChanged("eth0", late)])

            runner.between_slices = between_slices
            runner.feed(takeover(*MANY))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake

    logs, fake = asyncio.run(scenario())
    assert [a for c in fake.calls[:-1] for a in c.addresses()] == [str(a) for a in MANY]
    assert fake.calls[-1].addresses() == [str(late)]
    assert [e["address"] for e in events(logs, "announce")] == [*map(str, MANY), str(late)]


def test_without_between_slices_a_large_batch_goes_in_one_call() -> None:
    """No between_slices hook (the one-shots): one sender call for the whole batch."""

    async def scenario() -> FakeSender:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.0))
            runner.feed(takeover(*MANY))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake

    assert [len(c.frames) for c in asyncio.run(scenario()).calls] == [300]


def test_no_reading_between_slices_while_a_feed_still_has_events_to_apply() -> None:
    """A feed longer than FEED_SLICE goes in slices; newer events read between the frames
    of an early slice would overtake the later ones (an address removed before its own
    addition was applied would stay held). between_slices is only called once every event
    of the feed is applied, so the removal lands after the addition."""
    # 901 events: slices of 512 and 389; the last slice's 389 frames go out in slices.
    addresses = [ipaddress.ip_address("198.18.0.1") + i for i in range(900)]
    last = addresses[-1]

    async def scenario() -> tuple[Runner, list[int]]:
        with capture_logs():
            runner, _fake = make_runner(LogList(), Timing(master_repeat=1, master_delay=0.0))
            held: list[int] = []

            def between_slices() -> None:
                held.append(len(runner.core.held()))
                if len(held) == 1:
                    runner.feed([AddressRemoved("eth0", last)])

            runner.between_slices = between_slices
            runner.feed(takeover(*addresses))
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return runner, held

    runner, held = asyncio.run(scenario())
    assert held[0] == 900
    assert ("eth0", last) not in runner.core.held()
    assert len(runner.core.held()) == 899


# --- the express first frame ---------------------------------------------------------


def link_then(*later: list[Event], repeat: int = 3, **sender: Any) -> Callable[
        [], tuple[LogList, FakeSender, Runner]]:
    """A scenario: eth0 comes up alone, then each of ``later`` is fed on its own."""

    def run() -> tuple[LogList, FakeSender, Runner]:
        async def scenario() -> tuple[LogList, FakeSender, Runner]:
            with capture_logs() as logs:
                runner, fake = make_runner(logs, Timing(master_repeat=repeat,
                                                        master_delay=0.0), **sender)
                runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
                for events_ in later:
                    runner.feed(events_)
                await asyncio.wait_for(runner.wait_idle(), WAIT)
            return logs, fake, runner
        return asyncio.run(scenario())
    return run


def test_an_address_added_alone_has_its_first_frame_sent_before_the_core_handles_it() -> None:
    """One address in the read: its first frame goes in a call of its own before the
    core's bookkeeping (no record yet, the core knows nothing of it), the rest after;
    every frame counted once, the announce counts all three."""
    seen: list[tuple[int, list[Any]]] = []
    runner_ref: list[Runner] = []

    def watch(frames: list[bytes]) -> SendResult:
        seen.append((len(frames), runner_ref[0].core.addresses_known()))
        return SendResult(len(frames), [])

    async def scenario() -> tuple[LogList, FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0),
                                       default=watch)
            runner_ref.append(runner)
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            runner.feed([AddressChanged("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner

    logs, fake, runner = asyncio.run(scenario())
    assert [c.addresses() for c in fake.calls] == [[str(A1)], [str(A1)] * 2]
    assert seen == [(1, []), (2, [("eth0", A1)])]
    assert [(e["packets"], e["reason"]) for e in events(logs, "announce")] == [(3, "master")]
    assert runner.counters == {"frames_sent": 3, "send_errors": 0, "frames_dropped": 0,
                               "send_retries": 0}
    assert runner.if_frames == {"eth0": 3}
    assert runner.core.first_frame.count == 1


def test_an_expressed_frame_the_device_refuses_is_sent_with_its_burst() -> None:
    """The device refuses the express frame (queue full): nothing is lost, the whole
    burst leaves from the core's poll as usual, each frame counted once."""
    logs, fake, runner = link_then([AddressChanged("eth0", A1)],
                                   script=[queue_full_after(0)])()
    assert [c.addresses() for c in fake.calls] == [[str(A1)], [str(A1)] * 3]
    assert [e["packets"] for e in events(logs, "announce")] == [3]
    assert runner.counters["frames_sent"] == 3
    assert runner.counters["send_retries"] == 0  # the refusal left no backlog behind


def test_an_expressed_frame_after_a_hard_error_is_not_counted() -> None:
    """A hard error on the express frame: the burst's own send meets the device next and
    says what happened (here it works: three frames, one announce of three)."""

    def network_down(frames: list[bytes]) -> SendResult:
        return SendResult(0, [], OSError(errno.ENETDOWN, "Network is down"))

    logs, fake, runner = link_then([AddressChanged("eth0", A1)], script=[network_down])()
    assert [len(c.frames) for c in fake.calls] == [1, 3]
    assert runner.counters == {"frames_sent": 3, "send_errors": 0, "frames_dropped": 0,
                               "send_retries": 0}
    assert events(logs, "send_failed") == []


def test_no_express_with_other_events_in_the_same_read() -> None:
    """Two messages in one read (the address and its removal, or two addresses): the core
    sees them all before anything is sent, so a removed address sends nothing."""
    _logs, fake, _runner = link_then(
        [AddressChanged("eth0", A1), AddressRemoved("eth0", A1)],
        [AddressChanged("eth0", A1), AddressChanged("eth0", A2)])()
    assert [c.addresses() for c in fake.calls] == [[str(A1), str(A2)] * 3]


def test_no_express_behind_a_retry_backlog() -> None:
    """Frames waiting for a retry on the device: a new address's frames queue behind
    them, in order, none jumping ahead."""
    _logs, fake, _runner = link_then([AddressChanged("eth0", A1)], [AddressChanged("eth0", A2)],
                                    script=[sent_ok, queue_full_after(1)])()
    assert [c.addresses() for c in fake.calls] == [
        [str(A1)], [str(A1)] * 2, [str(A1)] + [str(A2)] * 3]


def test_debug_logs_the_expressed_packet_too() -> None:
    """With debug on, the expressed frame has its 'packet' record like the others."""

    async def scenario() -> LogList:
        with capture_logs() as logs:
            runner, _fake = make_runner(logs, Timing(master_repeat=2, master_delay=0.0))
            runner.set_debug(True)
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            runner.feed([AddressChanged("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs

    packets = events(asyncio.run(scenario()), "packet")
    assert [(p["kind"], p["address"], p["interface"]) for p in packets] == [
        ("request", str(A1), "eth0")] * 2


# --- the express first frame, from the kernel's message (express_v4) ------------------


def test_express_v4_sends_before_the_event_and_the_feed_applies_it_as_of_then() -> None:
    """express_v4 (the netlink driver's peek) sends the first frame at once, in a call of
    its own; the feed of the message's event then applies it as of that moment, expressed:
    the burst's other frames follow, every frame counted once, one announce of all."""

    async def scenario() -> tuple[LogList, FakeSender, Runner, float, float, bool]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0))
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            before = runner.time()
            sent = runner.express_v4("eth0", A1.packed)
            after = runner.time()
            assert runner.core.addresses_known() == []  # nothing handled yet
            runner.feed([AddressChanged("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return logs, fake, runner, before, after, sent

    logs, fake, runner, before, after, sent = asyncio.run(scenario())
    assert sent is True
    assert [c.addresses() for c in fake.calls] == [[str(A1)], [str(A1)] * 2]
    assert [(e["packets"], e["reason"]) for e in events(logs, "announce")] == [(3, "master")]
    assert runner.counters["frames_sent"] == 3
    assert runner.if_frames == {"eth0": 3}
    held = runner.core.status()[0]
    assert held.sent == 3
    assert held.since is not None
    assert before <= held.since <= after


def test_express_v4_refuses_what_it_must_not_send() -> None:
    """Nothing sent and False: an address no group watches, an unknown interface, a second
    address while the first's event is still to be fed, frames waiting for a retry."""

    async def scenario() -> tuple[list[bool], FakeSender]:
        with capture_logs() as logs:
            fake = FakeSender(logs, script=[sent_ok, queue_full_after(0)])
            policy = StaticPolicy(Timing(master_repeat=2, master_delay=0.0),
                                  only=frozenset({("eth0", A1), ("eth0", A2)}))
            runner = Runner(Announcer(policy), fake, structlog.get_logger(),
                            asyncio.get_running_loop())
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            answers = [runner.express_v4("eth0", ipaddress.ip_address("192.0.2.9").packed),
                       runner.express_v4("eth1", A1.packed)]
            answers.append(runner.express_v4("eth0", A1.packed))
            answers.append(runner.express_v4("eth0", A2.packed))  # A1 not fed yet
            runner.feed([AddressChanged("eth0", A1)])  # its second frame: queue full
            answers.append(runner.express_v4("eth0", A2.packed))  # behind the backlog
            runner.feed([AddressChanged("eth0", A2)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return answers, fake

    answers, fake = asyncio.run(scenario())
    assert answers == [False, False, True, False, False]
    # A1's expressed frame, its refused second, then the retry with A2's burst behind it.
    assert [c.addresses() for c in fake.calls][:2] == [[str(A1)], [str(A1)]]
    assert [f for c in fake.calls[2:] for f in c.addresses()] == [str(A1)] + [str(A2)] * 2


def test_express_v4_s_event_fed_with_its_removal_sends_nothing_more() -> None:
    """The address was removed in the same read: its expressed frame left (counted), the
    core applies the add and the removal together and sends nothing else for it."""

    async def scenario() -> tuple[FakeSender, Runner]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=3, master_delay=0.0))
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            assert runner.express_v4("eth0", A1.packed)
            runner.feed([AddressChanged("eth0", A1), AddressRemoved("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake, runner

    fake, runner = asyncio.run(scenario())
    assert [c.addresses() for c in fake.calls] == [[str(A1)]]
    assert runner.counters["frames_sent"] == 1
    assert runner.core.held() == []


def test_a_feed_that_does_not_start_with_the_expressed_event_forgets_it() -> None:
    """A driver feeding something else first (a bug): the express is forgotten, the core
    handles the events as ever (the address's burst then has its first frame again),
    and a later express works."""

    async def scenario() -> tuple[FakeSender, bool]:
        with capture_logs() as logs:
            runner, fake = make_runner(logs, Timing(master_repeat=1, master_delay=0.0))
            runner.feed([LinkChanged("eth0", 2, MAC, True, True)])
            assert runner.express_v4("eth0", A1.packed)
            runner.feed([AddressChanged("eth0", A2)])
            runner.feed([AddressChanged("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
            runner.feed([AddressRemoved("eth0", A1)])
            again = runner.express_v4("eth0", A1.packed)
            runner.feed([AddressChanged("eth0", A1)])
            await asyncio.wait_for(runner.wait_idle(), WAIT)
        return fake, again

    fake, again = asyncio.run(scenario())
    assert again is True
    assert [c.addresses() for c in fake.calls] == [[str(A1)], [str(A2)], [str(A1)], [str(A1)]]


def test_the_clock_is_asyncio_s_own_without_its_frame_or_the_loop_s_own() -> None:
    """A stock loop: the runner reads time.monotonic itself (the loop's clock, one call
    less on the express path); a loop with a clock of its own is asked."""
    import time  # noqa: PLC0415

    class Shifted(asyncio.SelectorEventLoop):
        def time(self) -> float:
            return 1000.0 + super().time()

    for loop_type, shift in ((asyncio.SelectorEventLoop, 0.0), (Shifted, 1000.0)):
        loop = loop_type()
        try:
            runner = Runner(Announcer(StaticPolicy()), FakeSender([]), structlog.get_logger(),
                            loop)
            before = time.monotonic()
            now = runner.time()
            assert before + shift <= now <= time.monotonic() + shift
            runner.close()
        finally:
            loop.close()
