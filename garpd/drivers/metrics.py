"""The metrics exporter: Prometheus families built at scrape time, and ``/metrics`` over
HTTP on a loopback address.

Nothing here runs on the hot path. The core and the runner keep plain integer counters
(per batch and per record, never per frame) and a fixed-bucket histogram; a scrape takes
a :class:`Snapshot` of them and a custom collector turns it into metric families. This
module is the only one that imports ``prometheus_client``, and the daemon imports it only
when ``[metrics] listen`` is set or ``garpd metrics`` asks.

The HTTP server is a small asyncio handler on the daemon's own loop rather than
``prometheus_client``'s threaded server: a scrape then reads the core's dictionaries on
the thread that changes them (no locks, no torn reads, no thread in the daemon), and a
slow or hostile client costs one bounded coroutine (request size, time and concurrency are
all capped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from garpd.histogram import Histogram

#: The classic text format (what generate_latest writes for plain names): every Prometheus
#: reads it, whatever the client library's newest default is.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST = 8192
REQUEST_TIMEOUT = 5.0
MAX_CLIENTS = 16


@dataclass
class Snapshot:
    """The daemon's counters at one scrape (plain values, copied on the loop's thread)."""

    version: str
    interfaces: list[str] = field(default_factory=list)
    """Watched interfaces: every per-interface family has a sample for each."""
    frames: dict[str, int] = field(default_factory=dict)
    send_errors: dict[str, int] = field(default_factory=dict)
    announcements: dict[tuple[str, str], int] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    """(interface, "ipv4" | "ipv6") -> addresses held."""
    first_frame: Histogram = field(default_factory=Histogram)
    vrrp: dict[str, int] = field(default_factory=dict)
    notify: dict[str, int] = field(default_factory=dict)
    reloads: dict[str, int] = field(default_factory=dict)
    log_dropped: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)
    defences: dict[str, int] = field(default_factory=dict)
    unconfirmed: dict[str, int] = field(default_factory=dict)
    confirm: dict[str, Histogram] = field(default_factory=dict)
    """Per interface: schedule start to a gateway's confirmation."""


def _histogram(family: HistogramMetricFamily, labels: list[str], hist: Histogram) -> None:
    family.add_metric(labels, hist.cumulative(), hist.total)


class GarpdCollector(Collector):
    """Builds every garpd family from a :class:`Snapshot` each time it is collected."""

    def __init__(self, source: Callable[[], Snapshot]) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        """The families of the SPEC's *Metrics* list, from one fresh snapshot."""
        return list(self._families(self.source()))

    def _families(self, snap: Snapshot) -> Iterator[Metric]:
        ifaces = sorted(set(snap.interfaces) | set(snap.frames) | set(snap.send_errors)
                        | {i for i, _ in snap.announcements} | {i for i, _ in snap.held})

        fam = CounterMetricFamily("garpd_announcements", "Bursts announced (one per address "
                                  "per burst), by reason", labels=["interface", "reason"])
        for (iface, reason), n in sorted(snap.announcements.items()):
            fam.add_metric([iface, reason], n)
        yield fam
        fam = CounterMetricFamily("garpd_frames_sent", "Frames the kernel accepted",
                                  labels=["interface"])
        for iface in ifaces:
            fam.add_metric([iface], snap.frames.get(iface, 0))
        yield fam
        fam = CounterMetricFamily("garpd_send_errors", "Batches the device refused "
                                  "(their frames dropped)", labels=["interface"])
        for iface in ifaces:
            fam.add_metric([iface], snap.send_errors.get(iface, 0))
        yield fam
        gauge = GaugeMetricFamily("garpd_addresses_held", "Watched addresses this host holds",
                                  labels=["interface", "family"])
        for iface in ifaces:
            for fam_name in ("ipv4", "ipv6"):
                gauge.add_metric([iface, fam_name], snap.held.get((iface, fam_name), 0))
        yield gauge
        # SPEC *Seeing the LAN*: conflicts, defences, gateway confirmation.
        for name, text, counts in (
                ("garpd_conflicts", "Frames from another MAC claiming a held address",
                 snap.conflicts),
                ("garpd_defences", "Defence bursts after a conflict (one per address)",
                 snap.defences),
                ("garpd_unconfirmed", "Gateways that did not answer a directed request "
                 "after every retry", snap.unconfirmed)):
            fam = CounterMetricFamily(name, text, labels=["interface"])
            for iface in ifaces:
                fam.add_metric([iface], counts.get(iface, 0))
            yield fam
        hist = HistogramMetricFamily("garpd_confirm_seconds", "Schedule start to a gateway's "
                                     "answer to the directed request", labels=["interface"])
        for iface in ifaces:
            _histogram(hist, [iface], snap.confirm.get(iface, Histogram()))
        yield hist
        hist = HistogramMetricFamily("garpd_first_frame_seconds", "Address held (as the core "
                                     "saw it) to its first frame handed to the sender")
        _histogram(hist, [], snap.first_frame)
        yield hist
        fam = CounterMetricFamily("garpd_vrrp_adverts", "VRRP adverts received, by what "
                                  "they meant", labels=["result"])
        for result, n in sorted(snap.vrrp.items()):
            fam.add_metric([result], n)
        yield fam
        fam = CounterMetricFamily("garpd_notify", "keepalived notifications (hook or FIFO), "
                                  "by state", labels=["state"])
        for state, n in sorted(snap.notify.items()):
            fam.add_metric([state], n)
        yield fam
        fam = CounterMetricFamily("garpd_config_reloads", "SIGHUP reloads, by result",
                                  labels=["result"])
        for result in ("ok", "rejected"):
            fam.add_metric([result], snap.reloads.get(result, 0))
        yield fam
        fam = CounterMetricFamily("garpd_log_dropped", "Log records dropped (stderr full)")
        fam.add_metric([], snap.log_dropped)
        yield fam
        gauge = GaugeMetricFamily("garpd_build_info", "garpd's version", labels=["version"])
        gauge.add_metric([snap.version], 1)
        yield gauge


def render(source: Callable[[], Snapshot]) -> str:
    """Every family in the Prometheus text format (version 0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GarpdCollector(source))
    return generate_latest(registry).decode()


class MetricsServer:
    """``GET /metrics`` on one loopback address, served from the daemon's loop."""

    def __init__(self, source: Callable[[], Snapshot], host: str, port: int, log: Any) -> None:
        self.source = source
        self.host = host
        self.port = port
        self.log = log
        self.counters = {"scrapes": 0, "rejected": 0}
        self._server: asyncio.base_events.Server | None = None
        self._clients = 0

    async def start(self) -> None:
        """Listen (raises OSError when the address is taken or not local)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=MAX_REQUEST, reuse_address=True)

    def bound(self) -> tuple[str, int]:
        """The address and port listened on (the port the kernel chose for port 0)."""
        assert self._server is not None
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients += 1
        try:
            if self._clients > MAX_CLIENTS:
                self.counters["rejected"] += 1
                return
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError):
                self.counters["rejected"] += 1
                return
            status, body, ctype = self._answer(head)
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
            await writer.drain()
        except OSError:
            pass
        finally:
            self._clients -= 1
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    def _answer(self, head: bytes) -> tuple[str, bytes, str]:
        words = head.split(b"\r\n", 1)[0].split(b" ")
        plain = "text/plain; charset=utf-8"
        if len(words) != 3 or not words[2].startswith(b"HTTP/1."):
            self.counters["rejected"] += 1
            return "400 Bad Request", b"bad request\n", plain
        method, target = words[0], words[1].split(b"?", 1)[0]
        if target != b"/metrics":
            self.counters["rejected"] += 1
            return "404 Not Found", b"only /metrics is served here\n", plain
        if method not in (b"GET", b"HEAD"):
            self.counters["rejected"] += 1
            return "405 Method Not Allowed", b"GET /metrics\n", plain
        self.counters["scrapes"] += 1
        body = render(self.source).encode() if method == b"GET" else b""
        return "200 OK", body, CONTENT_TYPE
