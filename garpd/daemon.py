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
import dataclasses
import gc
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from garpd import log as logging
from garpd import systemd
from garpd.cli import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from garpd.core import (
    AddressChanged,
    Announcer,
    Event,
    LinkChanged,
    LinkRemoved,
    Policy,
    Watch,
)
from garpd.frames import Address
from garpd.runner import Runner
from garpd.sender import Sender


@dataclasses.dataclass(frozen=True, slots=True)
class _OneshotPolicy:
    """The configured policy with refresh off, so a one-shot ends after the delayed burst;
    optionally narrowed to some groups (the notify fallback)."""

    inner: Policy
    groups: frozenset[str] | None = None

    def watch(self, ifname: str, address: Address) -> Watch | None:
        watch = self.inner.watch(ifname, address)
        if watch is None or (self.groups is not None and watch.group not in self.groups):
            return None
        return Watch(watch.group, dataclasses.replace(watch.timing, master_refresh=0.0))

    def pacing(self, ifname: str) -> tuple[float, float]:
        return self.inner.pacing(ifname)


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
    daemon = Daemon(cfg, source, path, oneshot=args.oneshot, log=logging.get(),
                    explicit_log=(args.log_format, args.log_level))
    try:
        return asyncio.run(daemon.run())
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        logging.release_stderr()  # SIGTERM exits 0 whatever state stderr is in


class Daemon:
    """One running garpd: configuration, core, netlink watcher, sender, signals."""

    def __init__(self, cfg: Any, source: str, path: Path | None, *, oneshot: bool, log: Any,
                 explicit_log: tuple[str | None, str | None] = (None, None),
                 trigger: str = "oneshot", groups: frozenset[str] | None = None) -> None:
        self.cfg = cfg
        self.source = source
        self.path = path
        self.oneshot = oneshot
        self.oneshot_trigger = trigger
        self.oneshot_groups = groups
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

    def _policy(self, cfg: Any) -> Policy:
        from garpd.config import ConfigPolicy  # noqa: PLC0415

        self.config_policy = ConfigPolicy(cfg)  # kept: notify matches groups with it
        policy: Policy = self.config_policy
        return _OneshotPolicy(policy, self.oneshot_groups) if self.oneshot else policy

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (or, with --oneshot, until the schedule is done)."""
        from garpd import netlink  # noqa: PLC0415 - pyroute2 only where it is used

        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.started = loop.time()
        core = self.core = Announcer(self._policy(self.cfg),
                                     trigger=self.oneshot_trigger if self.oneshot else "master")
        sender = Sender()
        runner = self.runner = Runner(core, sender, self.log, loop)
        runner.set_debug(_debug_enabled(self.log))

        def on_events(events: list[Event]) -> None:
            if self.oneshot:  # nothing new starts after the one shot; removals still cancel
                known = set(core.addresses_known())
                events = [ev for ev in events if not (
                    isinstance(ev, AddressChanged) and (ev.ifname, ev.address) not in known)]
            runner.feed(events)
            if self.listener is not None:
                self._follow_links(events)
            if len(events) >= 500:
                gc.freeze()  # a storm's new addresses stay: spare them the full GC passes

        def on_overflow() -> None:
            self.log.warning("netlink_overflow", action="resync")
            state = netlink.snapshot()
            watcher.learn(state)
            events = netlink.reconcile(state, core.links_known(), core.addresses_known())
            runner.feed(events)
            if self.listener is not None:
                self._follow_links(events)

        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        except OSError as exc:  # fail at start, not at the first takeover
            self.log.error("raw_socket_failed", error=exc.strerror,
                           hint="garpd needs root or CAP_NET_RAW to send frames")
            return EXIT_RUNTIME
        try:
            watcher = netlink.Watcher(on_events, on_overflow)
        except OSError as exc:
            self.log.error("netlink_failed", error=exc.strerror)
            return EXIT_RUNTIME
        try:
            state = netlink.snapshot(initial=not self.oneshot)
            watcher.learn(state)
            watcher.start(loop)
            self._log_loaded(reload=False)
            runner.feed(state.events())
            if self.oneshot:
                await runner.wait_idle()
                return EXIT_OK
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            await self._start_control(loop)
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
            self.log.info("stopping", held=len(core.held()))
            return EXIT_OK
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if self.control is not None:
                self.control.close()
            if self.listener is not None:
                self.listener.close()
            if self.fifo is not None:
                self.fifo.close()
            runner.close()
            watcher.close()
            sender.close()

    async def _start_control(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            from garpd.control_server import ControlServer  # noqa: PLC0415
        except ImportError:
            return
        server = ControlServer(self, Path(self.cfg.control.socket), self.log)
        try:
            await server.start()
        except OSError as exc:
            self.log.error("control_socket_failed", path=str(server.path), error=exc.strerror)
            return
        self.control = server

    # --- VRRP listener and notify FIFO ---------------------------------------------

    def _start_vrrp(self, loop: asyncio.AbstractEventLoop, links: list[LinkChanged]) -> None:
        from garpd.arbiter import Arbiter, VrrpGroup  # noqa: PLC0415
        from garpd.vrrp_listener import VrrpListener  # noqa: PLC0415

        groups = []
        for g in self.cfg.groups:
            if g.vrid is None:
                continue
            families = frozenset({a.version for a in g.addresses} | {n.version for n in g.networks})
            groups.append(VrrpGroup(g.name, g.interface, g.vrid, families or frozenset({4, 6}),
                                    g.priority))
        self.arbiter = Arbiter(groups)
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

    def _on_advert(self, ifname: str, advert: Any, outgoing: bool) -> None:
        assert self.core is not None
        assert self.runner is not None
        events, fields = self.arbiter.advert(ifname, advert, outgoing)
        if not events:
            return
        before = self.core.counters["lower_prio_started"]
        self.runner.feed(events)
        if self.core.counters["lower_prio_started"] > before:
            self.log.info("lower_prio_advert", **fields)

    def _start_fifo(self, loop: asyncio.AbstractEventLoop) -> None:
        from garpd.fifo import FifoLine, FifoReader  # noqa: PLC0415

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
        rows = []
        for st in self.core.status():
            rows.append({
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
            })
        counters: dict[str, int] = {**self.core.counters, **self.runner.counters,
                                    "log_dropped": logging.DROPPED}
        for part in (self.listener, self.arbiter, self.fifo):
            if part is not None:
                counters.update(part.counters)
        if self.control is not None:
            counters.update({f"control_{k}": v for k, v in self.control.counters.items()})
        import os  # noqa: PLC0415

        return {"pid": os.getpid(), "config": self.source,
                "uptime": round(now - self.started, 3), "addresses": rows,
                "counters": counters}

    def notify(self, kind: str, name: str, state: str, priority: int | None,
               source: str) -> dict[str, Any]:
        """A keepalived notification (hook or FIFO): MASTER starts the master schedule."""
        from garpd.control import group_kind  # noqa: PLC0415
        from garpd.core import LowerPriority, Trigger  # noqa: PLC0415

        assert self.runner is not None
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
            self.runner.feed([Trigger("notify", group=g, merge=True, context=context)
                              for g in groups])
            action = "master"
        elif state == "MASTER_RX_LOWER_PRI":
            assert self.core is not None
            before = self.core.counters["lower_prio_started"]
            self.runner.feed([LowerPriority(g) for g in groups])
            started = self.core.counters["lower_prio_started"] - before
            self.log.info("notify_received", type=kind, name=name, state=state,
                          priority=priority, source=source, groups=groups, started=started)
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

    def _log_loaded(self, reload: bool) -> None:
        groups = [g.name for g in self.cfg.groups]
        self.log.info("config_loaded", source=self.source, groups=groups, reload=reload)
        imported = self.cfg.keepalived_import
        if imported is not None:
            self.log.info("keepalived_imported", files=[str(f) for f in imported.files],
                          groups=[g.get("name") for g in imported.groups])
            for note in imported.unsupported:
                self.log.warning("keepalived_not_understood", note=note)

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
            return
        self.cfg, self.source = cfg, source
        fmt, level = self.explicit_log
        logging.setup(_log_format(fmt) or _file_log_format(cfg), level or cfg.log.level)
        self.log = logging.get()
        assert self.core is not None
        assert self.runner is not None
        self.runner.log = self.log
        now = asyncio.get_running_loop().time()
        self.core.reconfigure(self._policy(cfg), now)
        loop = asyncio.get_running_loop()
        links = [LinkChanged(name, index, b"", False, False)
                 for name, index in self.core.links_known().items()]
        self._start_vrrp(loop, links)
        self._start_fifo(loop)
        self._log_loaded(reload=True)
        self.runner.feed([])
        systemd.notify("READY=1", f"STATUS=watching; {len(self.core.held())} addresses held")


def _debug_enabled(log: Any) -> bool:
    check = getattr(log, "is_enabled_for", None)
    return bool(check(10)) if callable(check) else False


def _log_format(text: str | None) -> logging.Format | None:
    if text == "json":
        return "json"
    if text == "console":
        return "console"
    return None


def _file_log_format(cfg: Any) -> logging.Format | None:
    """[log] format when the file sets it; None lets a terminal get console output."""
    return _log_format(cfg.log.format) if "format" in cfg.log.model_fields_set else None
