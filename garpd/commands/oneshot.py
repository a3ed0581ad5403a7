"""One-shot announcements: ``garpd announce``, ``garpd run --oneshot`` and the notify hook's
fallback, one path.

A one-shot is the daemon's core fed one :class:`~garpd.events.Trigger` by the one real-time
runner, until the schedule is empty. The three commands differ only in what a
:class:`Oneshot` says:

- which addresses (``select``: from the kernel's current state, the keys to announce and
  any events to add, e.g. ``announce --force`` for an address not on the interface);
- which policy and trigger (``announce``: its arguments as one timing; ``run --oneshot``:
  the configuration, reason ``oneshot``; the notify fallback: the configuration narrowed to
  the notified groups, reason ``notify``);
- what they wait for: ``dad_timeout`` > 0 waits that long for a selected IPv6 address still
  in duplicate address detection (``announce``).

Whatever the policy says, a one-shot never refreshes, starts nothing on the initial dump
(the trigger does), and watches only the addresses chosen at start: an address that
appears later is not announced, one that goes away (or whose link goes down) is cancelled.

:func:`run` is synchronous and loads nothing heavy before the first frames: the netlink
dump, the selection, the core and the trigger's first frames run without a loop (the
runner reads the monotonic clock itself); asyncio is imported and the loop started after
them, for the rest of the schedule (delays, DAD, netlink changes). Pass a
:class:`~garpd.lazylog.DeferredLog` to keep structlog off that path too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from garpd import lean
from garpd.core import Announcer
from garpd.errors import RuntimeFailureError
from garpd.events import AddrKey, Event, Trigger
from garpd.frames import Address
from garpd.lazylog import DeferredLog
from garpd.policy import Policy, Watch, WatchV4ByAddress
from garpd.runner import Runner

if TYPE_CHECKING:
    import asyncio

Selection = tuple[frozenset[AddrKey] | None, list[Event]]
"""What a one-shot announces: the keys (None: every address the policy watches) and any
events to feed besides the kernel's state."""


@lean.dataclass(frozen=True, slots=True)
class OneshotPolicy(WatchV4ByAddress):
    """A policy seen through a one-shot: refresh off, nothing started on the initial dump,
    no conflict listening nor gateway confirmation (a one-shot does not stay to hear the
    answers), only the chosen ``keys`` (if given) of the chosen ``groups`` (if given)."""

    inner: Policy
    keys: frozenset[AddrKey] | None = None
    groups: frozenset[str] | None = None

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The inner watch, narrowed and without refresh; None outside the selection."""
        if self.keys is not None and (ifname, address) not in self.keys:
            return None
        watch = self.inner.watch(ifname, address)
        if watch is None or (self.groups is not None and watch.group not in self.groups):
            return None
        # A one-shot neither listens nor waits for gateways: no conflicts, no confirmation.
        timing = lean.replace(watch.timing, master_refresh=0.0,
                              announce_on_start=False, conflict="off", gateways=())
        return Watch(watch.group, timing)

    def pacing(self, ifname: str) -> tuple[float, float]:
        """The inner pacing."""
        return self.inner.pacing(ifname)


@lean.dataclass(frozen=True, slots=True)
class Oneshot:
    """What one one-shot command asks for (see the module docstring)."""

    policy: Policy
    trigger: str
    triggers: Sequence[Trigger] = ()
    """The triggers to feed once the state is known; default: one ``Trigger(trigger)``."""
    groups: frozenset[str] | None = None
    interface: str | None = None
    """Dump (and open a socket on) this interface only."""
    select: Callable[[Any], Selection] | None = None
    """Called with the kernel's state (:class:`garpd.drivers.netlink.State`); may raise
    :class:`~garpd.errors.UserError` to refuse (``announce``)."""
    dad_timeout: float = 0.0


@lean.dataclass(frozen=True, slots=True)
class Outcome:
    """How a one-shot ended."""

    announced: list[str]
    """Addresses whose frames all left."""
    missed: list[str]
    """Selected addresses never announced (not held, still tentative, or failed sends)."""
    released: int
    """Selected addresses that stopped being held before their schedule ended."""


def run(shot: Oneshot, log: Any) -> Outcome:
    """Run ``shot`` to the end of its schedule with the one real-time runner."""
    from garpd.drivers import netlink  # noqa: PLC0415
    from garpd.drivers.sender import Sender  # noqa: PLC0415

    runner: Runner | None = None
    changed: list[asyncio.Event] = []  # once the loop runs

    def on_events(events: list[Event]) -> None:
        if runner is not None:
            runner.feed(events)
            for event in changed:
                event.set()

    def on_overflow() -> None:
        if runner is not None:
            state = netlink.snapshot(ifname=shot.interface)
            watcher.learn(state)
            runner.feed(netlink.reconcile(state, core.links_known(), core.addresses_known()))
            for event in changed:
                event.set()

    try:
        watcher = netlink.Watcher(on_events, on_overflow)
    except OSError as exc:
        raise RuntimeFailureError(f"cannot subscribe to netlink: {exc.strerror}") from None
    sender = Sender()
    probe: Any = None
    try:
        probe = _require_raw_socket()
        state = netlink.snapshot(initial=True, ifname=shot.interface)
        keys, extra = shot.select(state) if shot.select is not None else (None, [])
        core = Announcer(OneshotPolicy(shot.policy, keys, shot.groups), trigger=shot.trigger)
        runner = Runner(core, sender, log, None)
        if shot.interface is not None:
            link = next((ln for ln in state.links if ln.ifname == shot.interface), None)
            if link is not None:
                try:
                    sender.open(link.ifname, link.ifindex)
                except OSError as exc:
                    raise RuntimeFailureError(
                        f"cannot open a raw socket on {link.ifname}: {exc.strerror} "
                        "(garpd needs root or CAP_NET_RAW)") from None
        watcher.learn(state)
        # Records the state and the trigger produce wait until the first frames are out
        # (a DeferredLog would otherwise import structlog for ``vip_acquired``).
        if isinstance(log, DeferredLog):
            log.hold()
        # The state first (frames are built, nothing starts), then the trigger: its first
        # frames leave here, before any loop exists. The chosen addresses come right after
        # the links, in the order chosen (announce's argument order is the round-robin
        # order); the rest of the dump after them.
        runner.feed([*state.links, *extra, *state.addresses])
        runner.feed(list(shot.triggers) or [Trigger(shot.trigger)])
        _release(log)
        if not runner.idle() or _waiting(core):
            # asyncio (without ssl) only for what is left after the first frames
            from garpd.leanio import asyncio  # noqa: PLC0415

            asyncio.run(_finish(core, runner, watcher, changed, shot.dad_timeout))
    finally:
        _release(log)
        if probe is not None:
            probe.close()
        if runner is not None:
            runner.close()
        watcher.close()
        sender.close()
    announced = [st.address for st in core.status() if st.held and st.sent > 0]
    missed = [st.address for st in core.status() if st.sent == 0 or not st.held]
    return Outcome(announced, missed, core.counters["released"])


def _release(log: Any) -> None:
    """Write the records a :class:`~garpd.lazylog.DeferredLog` held back (if it did)."""
    if isinstance(log, DeferredLog):
        log.release()


def _waiting(core: Announcer) -> bool:
    """Whether a selected address still waits (not held yet, nothing sent: DAD)."""
    return any(not st.held and st.sent == 0 for st in core.status())


async def _finish(core: Announcer, runner: Runner, watcher: Any,
                  changed: list[asyncio.Event], dad_timeout: float) -> None:
    """The rest of the schedule, from a loop."""
    import asyncio  # noqa: PLC0415
    import contextlib  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    changed.append(event)
    give_up = runner.time() + dad_timeout
    runner.attach(loop)
    watcher.start(loop)
    try:
        while True:
            await runner.wait_idle()
            left = give_up - loop.time()
            if not _waiting(core) or core.counters["released"] or left <= 0:
                return
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=left)
    finally:
        runner.close()
        watcher.close()


def _require_raw_socket() -> Any:
    """Fail at start, not at the first frame, without CAP_NET_RAW; the probe socket, for
    the caller to close once the frames are out (closing an AF_PACKET socket waits for an
    RCU grace period in the kernel, ``synchronize_net``: 5-20 ms measured here on the way
    to the first frame)."""
    import socket  # noqa: PLC0415

    try:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except OSError as exc:
        raise RuntimeFailureError(f"cannot open a raw socket: {exc.strerror} "
                                  "(garpd needs root or CAP_NET_RAW)") from None
