"""The asyncio runner: the only code with an event loop and a clock.

It feeds events to the pure core at ``loop.time()`` (a monotonic clock, so wall-clock jumps
do not move schedules), sends what ``poll`` returns through the
:class:`~garpd.drivers.sender.Sender`,
writes the records through structlog after their frames have left, and keeps exactly one
alarm armed for ``next_deadline()``: with nothing scheduled it never wakes up.

What keeps a deadline's frames on time:

- the alarm is a timerfd the loop watches (:mod:`garpd.drivers.alarm`), not ``call_at``: asyncio
  waits in ``epoll_wait``, whose timeout is whole milliseconds rounded up, so a ``call_at``
  fires 0-1 ms late plus the wake-up; the timerfd wakes the loop at the deadline itself
  and nothing ever blocks the loop waiting for it;
- the cyclic garbage collector is held off from the poll to the last ``send``, so a
  collection never lands between a deadline and its frames (it runs while records are
  written, after the frames are out);
- a large batch (a link flap's takeover of a thousand addresses, a refresh round) leaves
  in slices of :data:`SEND_SLICE` frames with :attr:`Runner.between_slices` (the daemon's
  netlink read) called before each: an address the kernel removed while the batch was
  being built or sent is released in the core there, and its frames still in the batch
  are dropped (its ``announce`` record counts only the frames that left). Events fed from
  that hook are applied and polled at once; what they cause leaves after the batch;
- records are written :data:`WRITE_SLICE` at a time, one slice per turn of the loop: a
  refresh round of a thousand addresses has a thousand ``announce`` records (20-60 µs
  each through structlog: 20-60 ms), which would otherwise hold up every timer and netlink
  message due meanwhile. At most :data:`UNWRITTEN_MAX` wait; beyond that (a storm) they
  are written at once, as they are built;
- an address the kernel just added, alone in its netlink read, has its first frame sent
  before the core's bookkeeping when the core can already name that frame
  (:meth:`~garpd.core.Announcer.express`): the daemon's first-frame latency is then the
  netlink read, the core's check and one ``send``; the core applies the event after and
  leaves that frame out of its poll. For IPv4 the netlink driver asks even before it
  decodes the kernel's message (:meth:`Runner.express_v4`, from the address's bytes): the
  event it then feeds is applied as of that moment.

A runner may start without a loop (``loop=None``, the one-shots): it then reads
``time.monotonic()`` (the clock of ``loop.time()``), sends what is due at once, and keeps
its deadline until :meth:`Runner.attach` hands it a loop. A one-shot's first frames thus
leave before asyncio is even imported.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from garpd.core import Announcer, Batch, Output
from garpd.drivers.sender import Sender
from garpd.events import AddressChanged, AddrKey, Event
from garpd.frames import describe
from garpd.records import Record

if TYPE_CHECKING:
    import asyncio

    from garpd.drivers.alarm import Alarm

#: How soon a batch the device refused (queue full) is retried.
RETRY_DELAY = 0.001
#: A device that stays full this long has its backlog dropped (and counted).
RETRY_GIVE_UP = 2.0
#: The most events :meth:`Runner.feed` applies before sending and writing what they caused.
FEED_SLICE = 512
#: The most records written in one turn of the loop (the rest wait for the next turn).
WRITE_SLICE = 64
#: The most records waiting to be written; more are written at once (memory stays bounded).
UNWRITTEN_MAX = 4096
#: The most frames handed to the sender at once when :attr:`Runner.between_slices` is set.
SEND_SLICE = 256

_LEVELS = {"dad_failed": "warning", "send_failed": "error", "conflict": "warning",
           "unconfirmed": "warning"}


class Runner:
    """Drives one :class:`Announcer` from an asyncio loop."""

    def __init__(self, core: Announcer, sender: Sender, log: Any,
                 loop: asyncio.AbstractEventLoop | None, *,
                 retry_give_up: float = RETRY_GIVE_UP) -> None:
        self.core = core
        #: A device that stays full this long has its backlog dropped.
        self.retry_give_up = retry_give_up
        self.sender = sender
        self.log = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: Callable[[], float] = time.monotonic
        self.counters: dict[str, int] = {"frames_sent": 0, "send_errors": 0,
                                         "frames_dropped": 0, "send_retries": 0}
        # For the metrics, counted per batch and per record (never per frame):
        self.if_frames: dict[str, int] = {}
        self.if_send_errors: dict[str, int] = {}
        self.announcements: dict[tuple[str, str], int] = {}  # (interface, reason)
        self._alarm: Alarm | None = None
        self._retry_wanted = False
        self._backlog: dict[str, Batch] = {}
        self._released: set[AddrKey] = set()
        self._backlog_since: float | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._held_records: list[Record] = []
        self._unwritten: deque[Record] = deque()  # in order, written a slice per turn
        self._writing: asyncio.Handle | None = None
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._debug = debug_enabled(log)
        #: Called after events are applied and before their frames are sent (the daemon
        #: opens neighbour listeners there, so a gateway's instant answer is not missed;
        #: an express first frame went before, which the core never names for a group
        #: with gateways).
        self.on_handled: Callable[[list[Event]], None] | None = None
        #: Called when a deadline fires, before its frames are built, and before a retry
        #: of frames the device refused (the daemon reads its netlink socket there: one
        #: non-blocking read when nothing is waiting).
        self.before_timer: Callable[[], None] | None = None
        #: Called before each slice of a batch larger than :data:`SEND_SLICE` (the daemon
        #: reads its netlink socket there, so a removal is not followed by the rest of a
        #: thousand-frame burst). It may feed events: they are applied at once.
        self.between_slices: Callable[[], None] | None = None
        # While a batch goes out: the addresses released since (in order), and the outputs
        # polled for events fed between its slices, sent once it is done.
        self._sending = False
        self._events_waiting = 0  # > 0: a feed's later slices are not applied yet
        self._gone: list[AddrKey] = []
        self._deferred: list[tuple[Output, int]] = []
        # The IPv4 first frame express_v4 sent and the next feed applies: (interface,
        # address bytes, its time).
        self._early: tuple[str, bytes, float] | None = None
        if loop is not None:
            self.attach(loop)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, wake up (deadlines, retries) from ``loop``."""
        import asyncio  # noqa: PLC0415 - imported already, by whoever made the loop

        from garpd.drivers.alarm import Alarm  # noqa: PLC0415 - asyncio once there is a loop

        self._loop = loop
        # asyncio's own clock is time.monotonic: read without the loop's Python frame (the
        # express first frame reads it); a loop with a clock of its own is asked.
        self._clock = time.monotonic if type(loop).time is asyncio.BaseEventLoop.time \
            else loop.time
        self._alarm = Alarm(loop, self._on_timer)
        if self._retry_wanted:
            self._retry_wanted = False
            self._retry = loop.call_later(RETRY_DELAY, self._flush_backlog)
        self._arm()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop given to :meth:`attach` (none yet is a programming error)."""
        assert self._loop is not None, "attach() a loop first"
        return self._loop

    @property
    def alarm(self) -> Alarm:
        """The alarm, once a loop is attached."""
        assert self._alarm is not None, "attach() a loop first"
        return self._alarm

    def time(self) -> float:
        """The runner's clock: the loop's, or (no loop yet) the same monotonic clock."""
        return self._clock()

    def set_debug(self, debug: bool) -> None:
        """Log every frame at debug level (costly with large bursts); by default, when the
        logger is enabled for debug."""
        self._debug = debug

    # --- input ----------------------------------------------------------------------

    def feed(self, events: list[Event]) -> None:
        """Apply ``events`` now, then send what is due.

        A long list (a storm read at once, the start-up dump) goes in slices of
        :data:`FEED_SLICE`, each applied, sent and written before the next: the records
        and frames of ten thousand addresses are never all alive at once (measured: a
        10,000-address storm read in one go raised the peak RSS by ~7 MB, and the freed
        small objects, interleaved with the held addresses' state, stayed resident).
        """
        if len(events) > FEED_SLICE:
            last = len(events) - FEED_SLICE
            for start in range(0, len(events), FEED_SLICE):
                self._events_waiting += start < last  # newer ones must wait for these
                try:
                    self.feed(events[start:start + FEED_SLICE])
                finally:
                    self._events_waiting -= start < last
            return
        now = self.time()
        early, self._early = self._early, None
        first = events[0] if events else None
        if early is not None and type(first) is AddressChanged and first.ifname == early[0] \
                and first.address.version == 4 and first.address.packed == early[1]:
            # Its frame left from express_v4: applied as of then, as the core's express
            # contract has it (every event of this read with it).
            now = early[2]
            self.core.handle(first, now, expressed=True)
            for event in events[1:]:
                self.core.handle(event, now)
        # Not while a batch goes out (fed between its slices: sent after it) nor behind
        # frames waiting for a retry (order).
        elif len(events) == 1 and type(first) is AddressChanged and not self._sending \
                and not self._backlog:
            expressed = self._express(first, now)
            self.core.handle(first, now, expressed=expressed)
        else:
            for event in events:
                self.core.handle(event, now)
        if self.on_handled is not None:
            self.on_handled(events)
        self._pump(now)

    def express_v4(self, ifname: str, packed: bytes) -> bool:
        """Send now the first frame of the IPv4 address ``packed`` (4 bytes) the kernel has
        just added on ``ifname``, if the core names it
        (:meth:`~garpd.core.Announcer.express_v4`): whether it left. The netlink driver
        asks before it even decodes the kernel's message; the first event it then feeds
        must be that message's (the next :meth:`feed` applies it as of now, expressed).
        Refused while a batch goes out, frames wait for a retry, a feed's slices wait, or
        an expressed event is still to be fed."""
        if self._sending or self._backlog or self._events_waiting or self._early is not None:
            return False
        now = self._clock()
        express = self.core.express_v4(ifname, packed, now)
        if express is None or not self.sender.send_one(ifname, express[0], express[1]):
            return False
        self._early = (ifname, packed, now)
        self._sent_first(ifname, express[1])
        return True

    def _express(self, event: AddressChanged, now: float) -> bool:
        """Send the first frame of ``event`` now if the core can name it: whether it left
        (if not, the core's poll sends it as usual)."""
        express = self.core.express(event, now)
        if express is None or not self.sender.send_one(event.ifname, *express):
            return False  # busy or failing: the poll's batch meets the same, and says so
        self._sent_first(event.ifname, express[1])
        return True

    def _sent_first(self, ifname: str, frame: bytes) -> None:
        """Count (and at debug level log) an express first frame that left."""
        self.counters["frames_sent"] += 1
        self.if_frames[ifname] = self.if_frames.get(ifname, 0) + 1
        if self._debug:
            kind, address, mac = describe(frame)
            self.log.debug("packet", interface=ifname, kind=kind, address=address, mac=mac)

    def idle(self) -> bool:
        """Nothing scheduled, nothing queued, nothing waiting to be written."""
        return (self.core.next_deadline() is None and not self._backlog
                and not self._held_records and not self._unwritten)

    async def wait_idle(self) -> None:
        """Return once the runner is idle."""
        if self.idle():
            return
        future: asyncio.Future[None] = self.loop.create_future()
        self._idle_waiters.append(future)
        await future

    def close(self) -> None:
        """Cancel the alarm and the retry, write the records still waiting; the caller
        closes the sender."""
        self.write_waiting()
        if self._alarm is not None:
            self._alarm.close()
        self._retry_wanted = False
        if self._retry is not None:
            self._retry.cancel()
        self._retry = None

    def write_waiting(self) -> None:
        """Write every record still waiting for its turn now (before the daemon's last
        words, and at close)."""
        if self._writing is not None:
            self._writing.cancel()
            self._writing = None
        while self._unwritten:
            self._write_one(self._unwritten.popleft())

    # --- output ---------------------------------------------------------------------

    def _pump(self, now: float) -> None:
        if self._sending:  # fed from between_slices: applied now, sent after the batch
            out = self.core.poll(now)
            self._gone.extend(out.released)
            if out:
                self._deferred.append((out, len(self._gone)))
            return
        collecting = gc.isenabled()
        # Outputs polled while a backlog went out (_flush_backlog) go first.
        pending, self._deferred = self._deferred, []
        try:
            while True:
                if collecting:
                    gc.disable()
                try:
                    out, mark = pending.pop(0) if pending else (self.core.poll(now), 0)
                    self._sending = True
                    dropped = self._send_frames(out, now, mark) if out else {}
                finally:
                    self._sending = False
                    if collecting:
                        gc.enable()
                if out:
                    self._emit(out, dropped)
                pending.extend(self._deferred)
                self._deferred = []
                if not pending:
                    break
        finally:
            self._gone = []
            self._deferred = []
        self._arm()
        self._wake_idle_waiters()

    def _wake_idle_waiters(self) -> None:
        if self.idle() and self._idle_waiters:
            waiters, self._idle_waiters = self._idle_waiters, []
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    def _send_frames(self, out: Output, now: float, mark: int) -> dict[tuple[str, str], int]:
        """Send (or queue behind a backlog) the frames of ``out``: how many frames of each
        (interface, address) did not leave, because the address was released after ``out``
        was polled (``self._gone[mark:]``) or a hard error dropped them."""
        dropped: dict[tuple[str, str], int] = {}
        if self._backlog and out.released:
            self._released.update(out.released)  # their waiting frames are not sent
        for ifname, batch in out.frames.items():
            backlog = self._backlog.get(ifname)
            if backlog is not None:
                backlog.frames.extend(batch.frames)
                backlog.owners.extend(batch.owners)
                continue
            if self.between_slices is not None and len(batch.frames) > SEND_SLICE \
                    and not self._events_waiting:
                self._send_sliced(ifname, batch, now, mark, dropped)
            else:
                self._send(ifname, batch, now, dropped=dropped)
        return dropped

    def _send_sliced(self, ifname: str, batch: Batch, now: float, mark: int,
                     dropped: dict[tuple[str, str], int]) -> None:
        """Send ``batch`` :data:`SEND_SLICE` frames at a time, calling ``between_slices``
        before each slice and leaving out the frames of addresses released meanwhile
        (counted in ``dropped``, as are those a hard error stopped)."""
        assert self.between_slices is not None
        frames, owners = batch.frames, batch.owners
        start, seen = 0, mark
        while start < len(frames):
            self.between_slices()
            if len(self._gone) > seen:  # released since: none of their frames may leave
                gone = set(self._gone[seen:])
                seen = len(self._gone)
                kept = [i for i in range(start, len(frames)) if owners[i] not in gone]
                _count_owners(dropped, [o for o in owners[start:] if o in gone])
                self.counters["frames_dropped"] += len(frames) - start - len(kept)
                frames = [frames[i] for i in kept]
                owners = [owners[i] for i in kept]
                start = 0
                if not frames:
                    break
            end = start + SEND_SLICE
            piece = Batch(batch.ifindex, frames[start:end], owners[start:end])
            # an error drops what was still to come as well
            if not self._send(ifname, piece, now, following=owners[end:], dropped=dropped):
                return
            backlog = self._backlog.get(ifname)
            if backlog is not None:  # the device is full: the rest waits with the tail
                backlog.frames.extend(frames[end:])
                backlog.owners.extend(owners[end:])
                return
            start = end

    def _emit(self, out: Output, dropped: dict[tuple[str, str], int]) -> None:
        """Write the records of ``out`` (once no frames wait for a retry); an ``announce``
        counts only the frames that left (none left: no record)."""
        records: Iterable[Record] = out.iter_records()
        if dropped:
            records = _minus_dropped(records, dict(dropped))
        if self._backlog:
            self._held_records.extend(records)
        else:  # written as they are built (a storm's ten thousand are never all held)
            self._write_records()
            self._write(records)

    def _send(self, ifname: str, batch: Batch, now: float,
              following: Sequence[AddrKey] = (),
              dropped: dict[tuple[str, str], int] | None = None) -> bool:
        """Send (or queue for retry) ``batch``; False after a hard error, which drops the
        frames not sent and those of the ``following`` owners (the rest of the same batch,
        not handed in): counted, and per (interface, address) in ``dropped``. The frames
        that left before the error did leave, and their ``announce`` says so."""
        frames = batch.frames
        if self._debug:
            for frame in frames:
                kind, address, mac = describe(frame)
                self.log.debug("packet", interface=ifname, kind=kind, address=address, mac=mac)
        result = self.sender.send(ifname, batch.ifindex, frames)
        self.counters["frames_sent"] += result.sent
        if result.sent:
            self.if_frames[ifname] = self.if_frames.get(ifname, 0) + result.sent
        if result.retry:  # always the tail the device did not take
            self.counters["send_retries"] += 1
            tail = len(batch.owners) - len(result.retry)
            self._backlog[ifname] = Batch(batch.ifindex, result.retry, batch.owners[tail:])
            if self._backlog_since is None:
                self._backlog_since = now
            if self._loop is None:
                self._retry_wanted = True
            elif self._retry is None:
                self._retry = self.loop.call_later(RETRY_DELAY, self._flush_backlog)
        elif result.error is not None:
            lost = len(frames) - result.sent + len(following)
            self.counters["send_errors"] += 1
            self.if_send_errors[ifname] = self.if_send_errors.get(ifname, 0) + 1
            self.counters["frames_dropped"] += lost
            if dropped is not None:
                _count_owners(dropped, batch.owners[result.sent:])
                _count_owners(dropped, following)
            self._held_records.append(Record("send_failed", {
                "interface": ifname, "error": result.error.strerror or str(result.error),
                "errno": result.error.errno, "dropped": lost}))
            return False
        return True

    def _flush_backlog(self) -> None:
        self._retry = None
        if self.before_timer is not None:
            # What the kernel said while the frames waited first: an address removed
            # meanwhile gets none of its waiting frames (its release is noted by the feed).
            self.before_timer()
        now = self.time()
        backlog, self._backlog = self._backlog, {}
        released, self._released = self._released, set()
        progressed = False
        dropped: dict[tuple[str, str], int] = {}  # frames whose held announce overclaims
        for ifname, waiting in backlog.items():
            batch = waiting
            if released:  # an address released while its frames waited gets nothing more
                kept = [(f, o) for f, o in zip(waiting.frames, waiting.owners, strict=True)
                        if o not in released]
                self.counters["frames_dropped"] += len(waiting.frames) - len(kept)
                _count_owners(dropped, [o for o in waiting.owners if o in released])
                batch = Batch(waiting.ifindex, [f for f, _ in kept], [o for _, o in kept])
            if not batch.frames:
                continue
            before = self.counters["frames_sent"]
            # Sliced like any batch: events read between slices are applied at once and
            # sent after it (by the _pump below), releases leave out their frames.
            self._sending = True
            try:
                if self.between_slices is not None and len(batch.frames) > SEND_SLICE:
                    self._send_sliced(ifname, batch, now, len(self._gone), dropped)
                else:
                    self._send(ifname, batch, now, dropped=dropped)
            finally:
                self._sending = False
            progressed = progressed or self.counters["frames_sent"] > before
        if progressed and self._backlog:
            self._backlog_since = now  # a device that drains is slow, not stuck
        if self._backlog and self._backlog_since is not None \
                and now - self._backlog_since > self.retry_give_up:
            for ifname, batch in self._backlog.items():
                self.counters["frames_dropped"] += len(batch.frames)
                _count_owners(dropped, batch.owners)
                self._held_records.append(Record("send_failed", {
                    "interface": ifname, "error": "device queue full",
                    "dropped": len(batch.frames)}))
            self._backlog = {}
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
        if dropped:
            self._held_records = _minus_dropped(self._held_records, dropped)
        if not self._backlog:
            self._backlog_since = None
            self._write_records()
        self._pump(now)

    def _write_records(self) -> None:
        records, self._held_records = self._held_records, []
        self._write(records)

    def _write(self, records: Iterable[Record]) -> None:
        """Write ``records`` after those still waiting: the first :data:`WRITE_SLICE` now
        (when none wait), the rest a slice per turn of the loop, or at once past
        :data:`UNWRITTEN_MAX` or without a loop."""
        unwritten = self._unwritten
        budget = WRITE_SLICE if not unwritten else 0
        for record in records:
            if budget > 0:
                budget -= 1
                self._write_one(record)
            elif len(unwritten) < UNWRITTEN_MAX and self._loop is not None:
                unwritten.append(record)
            else:  # a storm, or no loop: no more waits
                while unwritten:
                    self._write_one(unwritten.popleft())
                self._write_one(record)
        if unwritten and self._writing is None and self._loop is not None:
            self._writing = self._loop.call_soon(self._write_some)

    def _write_some(self) -> None:
        """One turn's slice of the waiting records."""
        self._writing = None
        unwritten = self._unwritten
        for _ in range(min(WRITE_SLICE, len(unwritten))):
            self._write_one(unwritten.popleft())
        if unwritten:
            self._writing = self.loop.call_soon(self._write_some)
        else:
            self._wake_idle_waiters()

    def _write_one(self, record: Record) -> None:
        if record.event == "announce":  # written after its frames left: it happened
            key = (str(record.fields.get("interface")), str(record.fields.get("reason")))
            self.announcements[key] = self.announcements.get(key, 0) + 1
        getattr(self.log, _LEVELS.get(record.event, "info"))(record.event, **record.fields)

    def _arm(self) -> None:
        if self._alarm is not None:
            self._alarm.set(self.core.next_deadline())

    def _on_timer(self) -> None:
        if self.before_timer is not None:
            # Read what the kernel already said (an address removed while the loop was busy)
            # before sending what is due: no frame for an address that has just gone.
            self.before_timer()
        self._pump(self.time())


def _count_owners(dropped: dict[tuple[str, str], int], owners: Iterable[AddrKey]) -> None:
    """Count one frame not sent for each of ``owners`` in ``dropped``."""
    for owner in owners:
        key = (owner[0], str(owner[1]))
        dropped[key] = dropped.get(key, 0) + 1


def _minus_dropped(records: Iterable[Record],
                   dropped: dict[tuple[str, str], int]) -> list[Record]:
    """``records`` with the frames counted in ``dropped`` taken off their ``announce``
    records (by interface and address), from the last record back (the frames left out
    are always an address's latest: a batch's tail, or those after its release); a record
    left with no frame is left out."""
    kept: list[Record] = []
    for record in reversed(list(records)):
        if record.event == "announce":
            key = (str(record.fields.get("interface")), str(record.fields.get("address")))
            count = dropped.get(key)
            if count:
                packets = int(str(record.fields.get("packets")))
                taken = min(count, packets)
                dropped[key] = count - taken
                if taken < packets:
                    kept.append(Record("announce", {**record.fields, "packets": packets - taken}))
                continue
        kept.append(record)
    kept.reverse()
    return kept


def debug_enabled(log: Any) -> bool:
    """Whether ``log`` writes debug records (structlog's filtering loggers say so)."""
    check = getattr(log, "is_enabled_for", None)
    return bool(check(10)) if callable(check) else False
