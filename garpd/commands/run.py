"""``garpd run``: the daemon that follows VIP ownership over netlink and announces it.

Start-up order, so that no address change can fall between two steps: load and validate
the configuration, subscribe to netlink, dump links and addresses, feed them to the core
(``announce_on_start`` decides whether what is already held is announced), then tell
systemd READY=1. Signals: SIGHUP reloads (an invalid file keeps the running configuration
and says why), SIGTERM and SIGINT end cleanly with exit 0. ``--oneshot`` announces every
watched address held now with the master schedule (reason ``oneshot``) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from garpd import log as logging
from garpd.core import Announcer
from garpd.drivers import systemd
from garpd.drivers.sender import Sender
from garpd.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from garpd.events import Event, LinkChanged, LinkRemoved
from garpd.policy import Policy
from garpd.runner import Runner, debug_enabled

#: Widened neighbour listeners get their exact filter back (or are parked, nothing left
#: to listen for) at most this often (s). Not longer: a release widens the listener too,
#: and a parked one must stop reading the LAN soon after its last address went (1 s made
#: test_parked_listener_reads_nothing_and_listens_again_on_reacquire fail).
NARROW_SPACING = 0.2


def _print_errors(lines: list[str]) -> None:
    try:
        for line in lines:
            sys.stderr.write(f"garpd: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def main(args: argparse.Namespace) -> int:
    """Run ``garpd run``."""
    from garpd import config as cfgmod  # noqa: PLC0415 - pydantic only where it is used

    path = Path(args.config) if args.config else None
    try:
        cfg, source = cfgmod.resolve(path)
    except cfgmod.ConfigError as exc:
        _print_errors(exc.lines)
        return EXIT_USAGE
    logging.setup(_log_format(args.log_format) or _file_log_format(cfg),
                  args.log_level or cfg.log.level)
    log = logging.get()
    if args.oneshot:
        return _oneshot(cfg, source, log)
    daemon = Daemon(cfg, source, path, log=log, explicit_log=(args.log_format, args.log_level))
    try:
        return asyncio.run(daemon.run())
    except KeyboardInterrupt:
        return EXIT_OK


def _oneshot(cfg: Any, source: str, log: Any) -> int:
    """``run --oneshot``: every watched address held now gets the master schedule."""
    from garpd.commands import oneshot  # noqa: PLC0415
    from garpd.config import ConfigPolicy  # noqa: PLC0415

    log_loaded(log, cfg, source, reload=False)
    oneshot.run(oneshot.Oneshot(ConfigPolicy(cfg), "oneshot"), log)
    return EXIT_OK


class Daemon:
    """One running garpd: configuration, core, netlink watcher, sender, signals."""

    def __init__(self, cfg: Any, source: str, path: Path | None, *, log: Any,
                 explicit_log: tuple[str | None, str | None] = (None, None)) -> None:
        self.cfg = cfg
        self.source = source
        self.path = path
        self.started = 0.0
        self.log = log
        self.explicit_log = explicit_log
        self._stop: asyncio.Event | None = None
        self.core: Announcer | None = None
        self.runner: Runner | None = None
        self.control: Any = None
        self.listener: Any = None
        self.config_policy: Any = None
        self.arbiter: Any = None
        self.fifo: Any = None
        self.metrics: Any = None
        self.neighbours: Any = None
        self._refilter_pending: set[str] = set()
        self._narrowed_at = -NARROW_SPACING  # loop time of the last narrowing
        #: Reads the netlink messages already queued (set once the watcher runs).
        self._read_kernel: Callable[[], None] = _nothing
        self.gateways: Any = None
        self.notify_counts: dict[str, int] = {}
        self.reload_counts: dict[str, int] = {"ok": 0, "rejected": 0}

    def _policy(self, cfg: Any) -> Policy:
        from garpd.config import ConfigPolicy  # noqa: PLC0415

        self.config_policy = ConfigPolicy(cfg)  # kept: notify matches groups with it
        policy: Policy = self.config_policy
        return policy

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT."""
        from garpd.drivers import netlink  # noqa: PLC0415 - pyroute2 only where it is used

        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.started = loop.time()
        core = self.core = Announcer(self._policy(self.cfg), trigger="master")
        sender = Sender()
        runner = self.runner = Runner(core, sender, self.log, loop)

        runner.on_handled = self._sync_lan

        def on_events(events: list[Event]) -> None:
            # Listeners first: feeding may read newer messages (between a burst's slices)
            # and follow their links before these.
            if self.listener is not None:
                self._follow_links(events)
            runner.feed(events)
            if len(events) >= 500:
                gc.freeze()  # a storm's new addresses stay: spare them the full GC passes

        def on_overflow() -> None:
            self.log.warning("netlink_overflow", action="resync")
            state = netlink.snapshot()
            watcher.learn(state)
            events = netlink.reconcile(state, core.links_known(), core.addresses_known())
            if self.listener is not None:
                self._follow_links(events)
            runner.feed(events)

        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        except OSError as exc:  # fail at start, not at the first takeover
            self.log.error("raw_socket_failed", error=exc.strerror,
                           hint="garpd needs root or CAP_NET_RAW to send frames")
            return EXIT_RUNTIME
        try:
            watcher = netlink.Watcher(on_events, on_overflow)
            watcher.express = runner.express_v4
        except OSError as exc:
            self.log.error("netlink_failed", error=exc.strerror)
            return EXIT_RUNTIME
        try:
            state = netlink.snapshot(initial=True)
            watcher.learn(state)
            watcher.start(loop)
            runner.before_timer = runner.between_slices = self._read_kernel = \
                watcher.read_pending
            log_loaded(self.log, self.cfg, self.source, reload=False)
            # Routes and neighbours first: the takeovers of what is held now already know
            # their gateways and the gateways' MACs.
            self._start_gateways(loop, {link.ifindex: link.ifname for link in state.links})
            runner.feed(state.events())
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            await self._start_control(loop)
            await self._start_metrics()
            self._start_vrrp(loop, state.links)
            self._start_fifo(loop)
            held = len(core.held())
            links = core.links_known()
            self.log.info("ready", held=held, interfaces=sorted(links),
                          control=str(self.control.path) if self.control else None)
            # Everything built so far lives as long as the daemon: keep it out of the
            # garbage collector's full passes, which would otherwise stall bursts by
            # tens of ms (the soak test measures this).
            gc.collect()
            gc.freeze()
            systemd.notify("READY=1", f"STATUS=watching; {held} addresses held")
            watchdog = self._start_watchdog(loop)
            await self._stop.wait()
            if watchdog is not None:
                watchdog.cancel()
            systemd.notify("STOPPING=1")
            runner.write_waiting()
            self.log.info("stopping", held=len(core.held()))
            return EXIT_OK
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if self.control is not None:
                self.control.close()
            if self.metrics is not None:
                self.metrics.close()
            if self.listener is not None:
                self.listener.close()
            if self.neighbours is not None:
                self.neighbours.close()
            if self.gateways is not None:
                self.gateways.close()
            if self.fifo is not None:
                self.fifo.close()
            runner.close()
            watcher.close()
            sender.close()

    async def _start_control(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            from garpd.drivers.control_server import ControlServer  # noqa: PLC0415
        except ImportError:
            return
        server = ControlServer(self, Path(self.cfg.control.socket), self.log)
        try:
            await server.start()
        except OSError as exc:
            self.log.error("control_socket_failed", path=str(server.path), error=exc.strerror)
            return
        self.control = server

    async def _start_metrics(self) -> None:
        """``[metrics] listen``: serve /metrics (prometheus_client is imported only now)."""
        from garpd.config import listen_address  # noqa: PLC0415

        where = listen_address(self.cfg.metrics.listen) if self.cfg.metrics.listen else None
        if where is None:
            return
        from garpd.drivers.metrics import MetricsServer  # noqa: PLC0415

        server = MetricsServer(self.metrics_snapshot, where[0], where[1], self.log)
        try:
            await server.start()
        except OSError as exc:
            self.log.error("metrics_listen_failed", listen=self.cfg.metrics.listen,
                           error=exc.strerror or str(exc))
            return
        self.metrics = server
        self.log.info("metrics_listening", listen=self.cfg.metrics.listen)

    def metrics_snapshot(self) -> Any:
        """The counters the metrics are built from (read on the loop's thread)."""
        from garpd import __version__  # noqa: PLC0415
        from garpd.drivers.metrics import Snapshot  # noqa: PLC0415

        assert self.core is not None
        assert self.runner is not None
        held: dict[tuple[str, str], int] = {}
        for ifname, address in self.core.held():
            key = (ifname, f"ipv{address.version}")
            held[key] = held.get(key, 0) + 1
        wanted = self.config_policy.interfaces() if self.config_policy is not None else None
        interfaces = [name for name in self.core.links_known()
                      if name != "lo" and (wanted is None or name in wanted)]
        vrrp: dict[str, int] = {}
        if self.arbiter is not None:
            c = self.arbiter.counters
            vrrp.update({"lower": c["vrrp_lower"], "not_lower": c["vrrp_not_lower"],
                         "own": c["vrrp_own_adverts"], "unmatched": c["vrrp_unmatched"]})
        if self.listener is not None:
            counts = self.listener.counters
            vrrp["malformed"] = counts["vrrp_malformed"]
            vrrp["bad_checksum"] = counts["vrrp_result_bad_checksum"]
            vrrp["auth_hmac"] = counts["vrrp_result_auth_hmac"]
        runner = self.runner
        return Snapshot(version=__version__, interfaces=interfaces,
                        frames=dict(runner.if_frames), send_errors=dict(runner.if_send_errors),
                        announcements=dict(runner.announcements), held=held,
                        first_frame=self.core.first_frame, vrrp=vrrp,
                        notify=dict(self.notify_counts), reloads=dict(self.reload_counts),
                        log_dropped=logging.DROPPED,
                        conflicts={i: c["conflicts"]
                                   for i, c in self.core.conflicts.counters.items()},
                        defences={i: c["defences"]
                                  for i, c in self.core.conflicts.counters.items()},
                        unconfirmed=dict(self.core.unconfirmed),
                        confirm=dict(self.core.confirm_seconds))

    def metrics_text(self) -> str:
        """``garpd metrics``: the same text ``/metrics`` serves."""
        from garpd.drivers.metrics import render  # noqa: PLC0415

        return render(self.metrics_snapshot)

    # --- seeing the LAN: neighbour listener, routes and neighbours ------------------

    def _sync_lan(self, events: list[Event]) -> None:
        """Open, re-filter or close the neighbour listeners the core's changes call for,
        and tell the gateway watcher about interfaces gone down (their IPv4 routes go)."""
        assert self.core is not None
        if self.gateways is not None:
            for ev in events:
                if isinstance(ev, LinkRemoved) or (isinstance(ev, LinkChanged) and not ev.up):
                    self.gateways.link_gone(ev.ifindex)
        dirty = self.core.take_listen_changes()
        if not dirty:
            return
        if self.neighbours is None:
            from garpd.drivers.neighbour_listener import NeighbourListener  # noqa: PLC0415

            self.neighbours = NeighbourListener(self._on_claims, self.log,
                                                asyncio.get_running_loop())
        # Called before the frames go: an open listener is only widened now (constant
        # work), the exact filters follow once the frames are out (see neighbour_listener).
        # The exact filter costs milliseconds with a thousand addresses held (the program,
        # and the kernel's check of it): under churn it is rebuilt at most every
        # NARROW_SPACING, the socket staying wide (missing nothing) in between.
        later = {ifname for ifname in dirty if self.neighbours.widen(ifname)}
        self._refilter(dirty - later)
        if later:
            if not self._refilter_pending:
                loop = asyncio.get_running_loop()
                wait = self._narrowed_at + NARROW_SPACING - loop.time()
                if wait > 0:
                    loop.call_later(wait, self._narrow)
                else:
                    loop.call_soon(self._narrow)
            self._refilter_pending.update(later)

    def _narrow(self) -> None:
        """Give the widened listeners their exact filters again."""
        self._narrowed_at = asyncio.get_running_loop().time()
        self._refilter(self._refilter_pending)

    def _refilter(self, ifnames: set[str]) -> None:
        """Open, narrow or close the neighbour listeners of ``ifnames`` as the core says."""
        todo = sorted(ifnames)
        ifnames.clear()  # the pending set, when called back: a new one starts empty
        if self.core is None or self.neighbours is None:
            return
        for ifname in todo:
            watch = self.core.neighbour_watch(ifname)
            ifindex = self.core.ifindex(ifname)
            if ifindex is None:
                self.neighbours.close_interface(ifname)
            elif watch is None:
                self.neighbours.park(ifname)  # not closed: see NeighbourListener.park
            else:
                self.neighbours.watch(ifname, ifindex, *watch)

    def _on_claims(self, ifname: str, claims: tuple[Any, ...]) -> None:
        from garpd.events import NeighbourFrames  # noqa: PLC0415

        assert self.runner is not None
        self._feed_fresh([NeighbourFrames(ifname, claims)])

    def _on_gateway_events(self, events: list[Event]) -> None:
        assert self.runner is not None
        self.runner.feed(events)

    def _start_gateways(self, loop: asyncio.AbstractEventLoop,
                        names: dict[int, str] | None = None) -> None:
        """Follow neighbours (and routes, for ["auto"]) once some group has gateways."""
        groups = list(self.cfg.groups) or [None]
        specs = [self.cfg.effective(g).timing.gateways for g in groups]
        if not any(specs):
            return
        routes = any(spec == "auto" for spec in specs)
        if self.gateways is not None:
            if routes and not self.gateways.routes:  # a reload asks for routes now
                self.gateways.close()
                self.gateways = None
            else:
                return
        from garpd.drivers.gateways import GatewayWatcher  # noqa: PLC0415

        assert self.core is not None
        core = self.core
        try:
            watcher = GatewayWatcher(
                self._on_gateway_events,
                lambda: {index: name for name, index in core.links_known().items()} or names
                or {},
                self.log, routes=routes)
        except OSError as exc:
            self.log.error("netlink_failed", error=exc.strerror, socket="gateways")
            return
        self.gateways = watcher
        watcher.start(loop)

    # --- VRRP listener and notify FIFO ---------------------------------------------

    def _start_vrrp(self, loop: asyncio.AbstractEventLoop, links: list[LinkChanged]) -> None:
        from garpd.arbiter import Arbiter, VrrpGroup  # noqa: PLC0415
        from garpd.drivers.vrrp_listener import VrrpListener  # noqa: PLC0415

        groups = []
        for g in self.cfg.groups:
            if g.vrid is None:
                continue
            families = frozenset({a.version for a in g.addresses} | {n.version for n in g.networks})
            groups.append(VrrpGroup(g.name, g.interface, g.vrid, families or frozenset({4, 6}),
                                    g.priority))
        old = self.arbiter
        self.arbiter = Arbiter(groups)
        if old is not None:  # the counters outlive a reload (metrics never go backwards)
            self.arbiter.counters.update(old.counters)
        if self.listener is None:
            if not groups:
                return
            self.listener = VrrpListener(self._on_advert, self.log, loop)
        wanted = self.arbiter.interfaces()
        for ifname in set(self.listener.listening()) - wanted:
            self.listener.close_interface(ifname)
        for link in links:
            if link.ifname in wanted:
                self.listener.open(link.ifname, link.ifindex)

    def _follow_links(self, events: list[Event]) -> None:
        wanted = self.arbiter.interfaces() if self.arbiter is not None else set()
        for ev in events:
            if isinstance(ev, LinkChanged) and ev.ifname in wanted:
                self.listener.open(ev.ifname, ev.ifindex)
            elif isinstance(ev, LinkRemoved) and ev.ifname in wanted:
                self.listener.close_interface(ev.ifname)

    def _feed_fresh(self, events: list[Event]) -> None:
        """Feed events from outside netlink (an advert, a notification, a claim) after the
        kernel's queued messages: a burst they start never covers an address the kernel
        has already removed (the churn soak saw lower_prio frames 6-9 ms after removals)."""
        assert self.runner is not None
        self._read_kernel()
        self.runner.feed(events)

    def _on_advert(self, ifname: str, advert: Any, outgoing: bool) -> None:
        assert self.core is not None
        assert self.runner is not None
        events, _fields = self.arbiter.advert(ifname, advert, outgoing)
        if events:  # the core writes lower_prio_advert if a schedule starts
            self._feed_fresh(events)

    def _start_fifo(self, loop: asyncio.AbstractEventLoop) -> None:
        from garpd.drivers.fifo import FifoLine, FifoReader  # noqa: PLC0415

        path = self.cfg.keepalived.notify_fifo
        if self.fifo is not None:
            if path is not None and self.fifo.path == Path(path):
                return
            self.fifo.close()
            self.fifo = None
        if path is None:
            return

        def on_line(line: FifoLine) -> None:
            self.notify(line.kind, line.name, line.state, line.priority, "fifo")

        reader = FifoReader(Path(path), on_line, self.log)
        try:
            reader.open(loop)
        except OSError as exc:
            self.log.error("fifo_failed", path=str(path), error=exc.strerror or str(exc))
            return
        self.fifo = reader

    # --- control socket -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The status document of ``garpd status`` (times relative to now, in seconds)."""
        assert self.core is not None
        assert self.runner is not None
        now = asyncio.get_running_loop().time()

        def ago(t: float | None) -> float | None:
            return round(now - t, 3) if t is not None else None

        conflicts = {(c.interface, c.address): c for c in self.core.conflict_status()}
        gateways: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for g in self.core.confirm_status():
            gateways.setdefault((g.interface, g.address), []).append({
                "gateway": g.gateway, "state": g.state, "attempts": g.attempts,
                "after_ms": g.after_ms, "gateway_mac": g.gateway_mac,
                "next_try_in": round(max(0.0, g.next_try - now), 3)
                if g.next_try is not None else None})
        statuses = self.core.status()  # the snapshot; its rows are made as they are sent

        def conflict(c: Any) -> dict[str, Any] | None:
            return None if c is None else {
                "policy": c.policy, "count": c.conflicts, "defences": c.defences,
                "last_seen_ago": ago(c.last_seen), "last_mac": c.last_mac,
                "last_defence_ago": ago(c.last_defence)}

        def rows() -> Iterator[dict[str, Any]]:
            for st in statuses:
                yield {
                    "interface": st.ifname, "address": st.address, "group": st.group,
                    "held": st.held, "tentative": st.tentative,
                    "held_for": round(now - st.since, 3) if st.since is not None else None,
                    "sent": st.sent,
                    "last_sent_ago": round(now - st.last_sent, 3) if st.last_sent is not None
                    else None,
                    "pending": st.pending,
                    "next_send_in": round(max(0.0, st.next_send - now), 3)
                    if st.next_send is not None else None,
                    "schedule": [{"in": round(max(0.0, due - now), 3), "reason": reason,
                                  "packets": packets} for due, reason, packets in st.upcoming],
                    "refresh_every": st.refresh_every,
                    "conflicts": conflict(conflicts.get((st.ifname, st.address))),
                    "gateways": gateways.get((st.ifname, st.address), []),
                }
        counters: dict[str, int] = {**self.core.counters, **self.runner.counters,
                                    "log_dropped": logging.DROPPED}
        for part in (self.listener, self.arbiter, self.fifo, self.neighbours, self.gateways):
            if part is not None:
                counters.update(part.counters)
        if self.control is not None:
            counters.update({f"control_{k}": v for k, v in self.control.counters.items()})
        import os  # noqa: PLC0415

        return {"pid": os.getpid(), "config": self.source,
                "uptime": round(now - self.started, 3), "addresses": rows(),
                "recent_conflicts": [dict(r.fields) for r in self.core.recent_conflicts()],
                "counters": counters}

    def notify(self, kind: str, name: str, state: str, priority: int | None,
               source: str) -> dict[str, Any]:
        """A keepalived notification (hook or FIFO): MASTER starts the master schedule."""
        from garpd.control import group_kind  # noqa: PLC0415
        from garpd.events import LowerPriority, Trigger  # noqa: PLC0415

        assert self.runner is not None
        self.notify_counts[state] = self.notify_counts.get(state, 0) + 1
        if self.cfg.groups:
            groups = [g.name for g in self.config_policy.groups_named(name, group_kind(kind))]
        else:
            groups = ["default"]  # no [[group]]: every watched address is one group
        if not groups:
            self.log.warning("notify_unknown", type=kind, name=name, state=state,
                             source=source)
            return {"groups": [], "action": "none"}
        if state == "MASTER":
            context = (("source", source), ("type", kind), ("name", name), ("state", state),
                       ("priority", priority))
            self._feed_fresh([Trigger("notify", group=g, merge=True, context=context)
                              for g in groups])
            action = "master"
        elif state == "MASTER_RX_LOWER_PRI":
            fields = (("type", kind), ("name", name), ("state", state),
                      ("priority", priority), ("source", source), ("groups", groups))
            self._feed_fresh([LowerPriority(tuple(groups), record="notify_received",
                                            context=fields, always=True)])
            action = "lower_prio"
        else:
            self.log.info("notify_received", type=kind, name=name, state=state,
                          priority=priority, source=source, groups=groups)
            action = "none"
        return {"groups": groups, "action": action}

    def _start_watchdog(self, loop: asyncio.AbstractEventLoop) -> asyncio.TimerHandle | None:
        period = systemd.watchdog_period()
        if period is None:
            return None
        handle: asyncio.TimerHandle | None = None

        def ping() -> None:
            nonlocal handle
            systemd.notify("WATCHDOG=1")
            handle = loop.call_later(period, ping)

        handle = loop.call_later(0, ping)
        return handle

    def reload(self) -> None:
        """SIGHUP: load the file again; keep the running configuration if it is invalid."""
        from garpd import config as cfgmod  # noqa: PLC0415

        systemd.reloading()
        try:
            cfg, source = cfgmod.resolve(self.path)
        except cfgmod.ConfigError as exc:
            self.log.error("config_rejected", source=str(self.path or cfgmod.DEFAULT_PATH),
                           errors=exc.lines, kept="running configuration")
            systemd.notify("READY=1", "STATUS=reload rejected; running configuration kept")
            self.reload_counts["rejected"] += 1
            return
        self.reload_counts["ok"] += 1
        self.cfg, self.source = cfg, source
        fmt, level = self.explicit_log
        logging.setup(_log_format(fmt) or _file_log_format(cfg), level or cfg.log.level)
        self.log = logging.get()
        assert self.core is not None
        assert self.runner is not None
        self.runner.log = self.log
        self.runner.set_debug(debug_enabled(self.log))
        now = asyncio.get_running_loop().time()
        self.core.reconfigure(self._policy(cfg), now)
        loop = asyncio.get_running_loop()
        links = [LinkChanged(name, index, b"", False, False)
                 for name, index in self.core.links_known().items()]
        self._start_vrrp(loop, links)
        self._start_fifo(loop)
        log_loaded(self.log, self.cfg, self.source, reload=True)
        self.runner.feed([])
        self._start_gateways(loop)
        self._sync_lan([])
        systemd.notify("READY=1", f"STATUS=watching; {len(self.core.held())} addresses held")


def _log_format(text: str | None) -> logging.Format | None:
    if text == "json":
        return "json"
    if text == "console":
        return "console"
    return None


def _file_log_format(cfg: Any) -> logging.Format | None:
    """[log] format when the file sets it; None lets a terminal get console output."""
    return _log_format(cfg.log.format) if "format" in cfg.log.model_fields_set else None


def log_loaded(log: Any, cfg: Any, source: str, *, reload: bool) -> None:
    """``config_loaded``, and what a keepalived.conf import brought and did not."""
    log.info("config_loaded", source=source, groups=[g.name for g in cfg.groups],
             reload=reload)
    imported = cfg.keepalived_import
    if imported is not None:
        log.info("keepalived_imported", files=[str(f) for f in imported.files],
                 groups=[g.get("name") for g in imported.groups])
        for note in imported.unsupported:
            log.warning("keepalived_not_understood", note=note)


def _nothing() -> None:
    """Before the netlink watcher runs there is nothing to read."""
