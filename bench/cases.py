"""The five benchmark cases. Each takes the :class:`~bench.harness.Bench` and the run's
:class:`Settings` and returns table rows; every figure comes from the peer's capture.

1. burst: N addresses x 5 packets; garpd announce vs the C floor vs keepalived's takeover;
   the daemon's notify_fifo takeover burst, metrics off and on
2. latency: address added (rtnetlink, timestamped) -> first GARP, daemon running, metrics
   off and on; the harness and the subject (garpd, or the minimal responder) each on a CPU
   of its own (:class:`Placement`)
3. hand-off: ``garpd notify ... MASTER`` (daemon up, and without one), a notify_fifo line,
   ``garpd announce`` and ``arping -U`` -> first frame; a bare ``python -c pass`` start
4. storm: 10,000 addresses in one ``ip -batch`` -> every one announced
5. idle: CPU and wakeups of a daemon holding 1,000 addresses; RSS (and peak) with 1,000 and
   10,000
6. confirm: address added -> ``confirmed`` (the peer namespace as the gateway answering the
   directed ARP request), daemon running
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import (
    ARPING,
    DEV,
    KEEPALIVED,
    PEER,
    SENDER,
    Bench,
    addresses,
    garpd_argv,
    stop_pid,
)
from bench.netns import Garp
from bench.report import Row, fmt_ms, fmt_rate, median, percentile

#: Address plan (all inside 198.18.0.0/15, the benchmarking range).
BURST_FIRST = "198.18.0.1"
BURST_NET = "198.18.0.0/16"
LATENCY_FIRST = "198.19.200.1"
LATENCY_NET = "198.19.200.0/22"
LATENCY_FLOOR_FIRST = "198.19.204.1"
STORM_FIRST = "198.19.0.1"
STORM_NET = "198.19.0.0/18"
IDLE_FIRST = "198.19.64.1"
IDLE_NET = "198.19.64.0/18"
CONFIRM_FIRST = "198.19.208.1"
CONFIRM_NET = "198.19.208.0/24"
CONFIRM_GW = "198.19.208.254"
VIP = "192.0.2.100"
REPEAT = 5
#: ``[metrics] listen`` of the daemons measured with metrics on (the sender namespace's
#: loopback; one such daemon at a time).
METRICS_LISTEN = "127.0.0.1:9478"


@dataclass(frozen=True)
class Settings:
    """Sizes, trial counts and windows of one run (``--quick`` shrinks them all)."""

    sizes: tuple[int, ...] = (1_000, 10_000)
    rounds: int = 3
    latency_trials: int = 200
    confirm_trials: int = 100
    handoff_trials: int = 20
    storm: int = 10_000
    idle_held: int = 1_000
    idle_window: float = 60.0

    @classmethod
    def quick(cls) -> Settings:
        """Tiny sizes, few trials, a short idle window: proves the bench runs, nothing more."""
        return cls(sizes=(20, 100), rounds=1, latency_trials=10, handoff_trials=2,
                   storm=200, idle_held=50, idle_window=3.0, confirm_trials=10)


def _n(value: int) -> str:
    return f"{value:,}"


def _config(announce: dict[str, float | int | bool | str], group: dict[str, Any],
            fifo: str | None = None, metrics: bool = False) -> str:
    lines = ["[announce]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in announce.items()]
    lines += ["", "[log]", 'format = "json"', 'level = "info"', "",
              "[control]", 'socket = "@SOCKET@"', ""]
    if metrics:
        lines += ["[metrics]", f'listen = "{METRICS_LISTEN}"', ""]
    if fifo is not None:
        lines += ["[keepalived]", f"notify_fifo = {json.dumps(fifo)}", ""]
    lines += ["[[group]]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in group.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- 1 burst


@dataclass
class Burst:
    """One sender's burst as the peer saw it."""

    frames: int
    expected: int
    span: float | None
    sender_time: float | None = None
    startup: float | None = None
    lost: dict[str, int] | None = None
    scraped: dict[str, Any] | None = None

    @property
    def fps(self) -> float | None:
        """Frames per second over the capture span (first frame to last)."""
        return self.frames / self.span if self.span else None


def _collect(bench: Bench, wanted: set[str], expected: int, timeout: float,
             before: dict[str, int], since: float = 0.0) -> tuple[list[Garp], dict[str, int]]:
    """Wait for the burst to end, then read it: (its GARPs, drop counters that grew since
    ``before``, including the capture socket's own)."""
    drops = bench.capture.drops
    bench.capture.wait_quiet(expected, timeout=timeout)
    frames = [f for f in bench.capture.drain()
              if f.spa in wanted and f.spa == f.tpa and f.t >= since]
    lost = bench.drops_since(before)
    if bench.capture.drops != drops:
        lost["capture_socket"] = bench.capture.drops - drops
    return frames, lost


def _burst_of(frames: list[Garp], expected: int, lost: dict[str, int]) -> Burst:
    span = frames[-1].t - frames[0].t if len(frames) > 1 else None
    return Burst(len(frames), expected, span, lost=lost or None)


def _run_floor(bench: Bench, n: int, wanted: set[str]) -> Burst | str:
    floor = bench.build_floor()
    if floor is None:
        return bench.floor_error
    bench.capture.clear()
    before = bench.path_drops()
    out = bench.lab.run(SENDER, str(floor), DEV, bench.mac, BURST_FIRST, str(n), str(REPEAT),
                        timeout=300).stdout
    result = json.loads(out)
    frames, lost = _collect(bench, wanted, n * REPEAT, 60, before)
    burst = _burst_of(frames, n * REPEAT, lost)
    burst.sender_time = result["t1"] - result["t0"]
    return burst


def _run_announce(bench: Bench, n: int, addrs: list[str], wanted: set[str]) -> Burst:
    bench.capture.clear()
    before = bench.path_drops()
    argv = [*garpd_argv(), "--log-format", "json", "announce", "-i", DEV,
            "--repeat", str(REPEAT), "--delay", "0", *addrs]
    start = time.monotonic()
    proc = bench.spawn_inside(argv, stderr=subprocess.PIPE)
    _out, err = proc.communicate(timeout=600)
    end = time.monotonic()
    if proc.returncode != 0:
        raise RuntimeError(f"garpd announce exited {proc.returncode}: {err[-1500:]!r}")
    frames, lost = _collect(bench, wanted, n * REPEAT, 60, before)
    burst = _burst_of(frames, n * REPEAT, lost)
    burst.sender_time = end - start
    burst.startup = frames[0].t - start if frames else None
    return burst


def _run_warm(bench: Bench, n: int, wanted: set[str]) -> Burst:
    bench.capture.clear()
    before = bench.path_drops()
    argv = [sys.executable, "-m", "bench.warm_sender", "--dev", DEV, "--mac", bench.mac,
            "--first", BURST_FIRST, "--count", str(n), "--repeat", str(REPEAT)]
    proc = bench.spawn_inside(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"warm sender exited {proc.returncode}: {err[-1500:]!r}")
    result = json.loads(out)
    frames, lost = _collect(bench, wanted, 2 * n * REPEAT, 60, before,
                            since=result["t0"] - 1e-4)
    burst = _burst_of(frames, n * REPEAT, lost)
    burst.sender_time = result["t1"] - result["t0"]
    return burst


def _keepalived_conf(addrs: list[str]) -> str:
    lines = [
        "global_defs {", "  router_id garpd_bench", "  script_user root",
        "  vrrp_garp_master_delay 0", f"  vrrp_garp_master_repeat {REPEAT}",
        "  vrrp_garp_master_refresh 0", "  vrrp_garp_lower_prio_repeat 0",
        "  vrrp_garp_interval 0", "}",
        "vrrp_instance VI_BENCH {", "  state MASTER", f"  interface {DEV}",
        "  virtual_router_id 77", "  priority 200", "  advert_int 1",
        "  virtual_ipaddress {",
    ]
    lines += [f"    {a}/32 dev {DEV}" for a in addrs]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _run_keepalived(bench: Bench, n: int, addrs: list[str], wanted: set[str]) -> Burst | str:
    if not bench.have(KEEPALIVED):
        return "keepalived not installed"
    bench.flush(BURST_NET)
    bench.capture.clear()
    conf = bench.workdir / f"keepalived-{n}.conf"
    conf.write_text(_keepalived_conf(addrs))
    base = bench.workdir / f"keepalived-{n}"
    log = bench.workdir / f"keepalived-{n}.log"
    before = bench.path_drops()
    with log.open("ab") as out:
        start = time.monotonic()
        proc = bench.lab.popen(
            SENDER, KEEPALIVED, "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
            "--use-file", str(conf), "--pid", f"{base}.pid", "--vrrp_pid", f"{base}-vrrp.pid",
            "--checkers_pid", f"{base}-checkers.pid", "--bfd_pid", f"{base}-bfd.pid",
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        frames, lost = _collect(bench, wanted, n * REPEAT, 300, before)
    finally:
        stop_pid(proc, 300)
    burst = _burst_of(frames, n * REPEAT, lost)
    burst.startup = frames[0].t - start if frames else None
    bench.flush(BURST_NET)
    return burst


def _run_daemon(bench: Bench, n: int, wanted: set[str], metrics: bool) -> Burst:
    """``garpd run`` holding the N addresses (nothing announced at start), then
    keepalived's notify_fifo line ``MASTER``: the daemon's takeover burst of N x 5 frames,
    timed from right before the write. With ``metrics``, ``/metrics`` is served and
    scraped once after the burst (the counts go in the details)."""
    fifo = bench.workdir / "garpd-burst.fifo"
    toml = _config({"master_delay": 0.0, "master_repeat": REPEAT, "master_refresh": 0.0,
                    "announce_on_start": False},
                   {"name": "VI_B", "interface": DEV, "networks": [BURST_NET]},
                   fifo=str(fifo), metrics=metrics)
    daemon = bench.start_daemon("burst-metrics" if metrics else "burst", toml, timeout=120)
    try:
        time.sleep(0.3)
        bench.capture.clear()
        before = bench.path_drops()
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            start = time.monotonic()
            os.write(fd, b'INSTANCE "VI_B" MASTER 100\n')
        finally:
            os.close(fd)
        frames, lost = _collect(bench, wanted, n * REPEAT, 120, before)
        burst = _burst_of(frames, n * REPEAT, lost)
        burst.startup = frames[0].t - start if frames else None
        if metrics:
            try:
                samples = scrape(bench)
            except (OSError, ValueError) as exc:
                burst.scraped = {"error": str(exc)}
            else:
                burst.scraped = {
                    "frames_sent": _total(samples, "garpd_frames_sent_total"),
                    "announcements": _total(samples, "garpd_announcements_total")}
    finally:
        bench.stop_daemon(daemon)
    return burst


def burst(bench: Bench, settings: Settings) -> list[Row]:
    """Case 1: N x 5 frames from garpd announce, the C floor, garpd warm, keepalived."""
    rows: list[Row] = []
    runs: dict[tuple[int, str], list[Burst]] = {}
    missing: dict[str, str] = {}
    for rnd in range(settings.rounds):
        for n in settings.sizes:
            addrs = addresses(BURST_FIRST, n)
            wanted = set(addrs)
            bench.say(f"burst {_n(n)}x{REPEAT}, round {rnd + 1}/{settings.rounds}")
            bench.flush(BURST_NET)
            bench.batch("add", addrs)
            got: dict[str, Burst | str] = {
                "floor": _run_floor(bench, n, wanted),
                "announce": _run_announce(bench, n, addrs, wanted),
                "warm": _run_warm(bench, n, wanted),
            }
            # The daemon's burst, metrics off and on, in alternating order per round.
            for metrics in (False, True) if rnd % 2 == 0 else (True, False):
                got["daemon_metrics" if metrics else "daemon"] = _run_daemon(
                    bench, n, wanted, metrics)
            got["keepalived"] = _run_keepalived(bench, n, addrs, wanted)
            for name, value in got.items():
                if isinstance(value, str):
                    missing[name] = value
                else:
                    runs.setdefault((n, name), []).append(value)
    for n in settings.sizes:
        rows += _burst_rows(n, runs, missing)
    return rows


def _pick(runs: list[Burst]) -> Burst | None:
    """The round with the median rate (rounds that lost frames count as they are)."""
    timed = [r for r in runs if r.fps is not None]
    if not timed:
        return runs[0] if runs else None
    ordered = sorted(timed, key=lambda r: r.fps or 0.0)
    return ordered[(len(ordered) - 1) // 2]


def _burst_rows(n: int, runs: dict[tuple[int, str], list[Burst]],
                missing: dict[str, str]) -> list[Row]:
    case = f"1 burst {_n(n)}x{REPEAT}"
    picked = {name: _pick(runs.get((n, name), [])) for name in
              ("floor", "announce", "warm", "keepalived", "daemon", "daemon_metrics")}

    def details(name: str) -> dict[str, Any]:
        all_runs = runs.get((n, name), [])
        return {"rounds": [vars(r) | {"fps": r.fps} for r in all_runs],
                "missing": missing.get(name)}

    def figure(b: Burst | None, name: str) -> str:
        if b is None:
            return f"n/a ({missing.get(name, 'not run')})"
        text = f"{fmt_rate(b.fps)} ({_n(b.frames)}/{_n(b.expected)} frames in {fmt_ms(b.span)}"
        if b.lost:
            text += f"; drops {sum(b.lost.values())}"
        return text + ")"

    floor, announce = picked["floor"], picked["announce"]
    warm, keep = picked["warm"], picked["keepalived"]
    floor_fps = floor.fps if floor else None
    keep_fps = keep.fps if keep else None
    rows = [Row(case, "C floor: AF_PACKET sendto per frame", figure(floor, "floor"),
                floor_fps, "f/s", details=details("floor")),
            Row(case, "keepalived 2.2.7 takeover burst", figure(keep, "keepalived"),
                keep_fps, "f/s", details=details("keepalived"))]
    a_fps = announce.fps if announce else None
    complete = announce is not None and announce.frames == announce.expected
    ratio_c = a_fps / floor_fps if a_fps and floor_fps else None
    rows.append(Row(case, "garpd announce (process; span on the wire)",
                    figure(announce, "announce"), a_fps, "f/s",
                    baseline=fmt_rate(floor_fps) + " C floor", ratio=ratio_c,
                    goal=">= 0.75x C floor, every frame",
                    met=None if ratio_c is None else (ratio_c >= 0.75 and complete),
                    details=details("announce")))
    ratio_k = a_fps / keep_fps if a_fps and keep_fps else None
    rows.append(Row(case, "garpd announce vs keepalived", fmt_rate(a_fps), a_fps, "f/s",
                    baseline=fmt_rate(keep_fps) + " keepalived", ratio=ratio_k,
                    goal=">= 1.00x keepalived",
                    met=None if ratio_k is None else ratio_k >= 1.0))
    if announce is not None:
        rows.append(Row(case, "garpd announce: process start -> first frame; whole run",
                        f"{fmt_ms(announce.startup)}; {fmt_ms(announce.sender_time)}",
                        announce.startup, "s"))
    w_fps = warm.fps if warm else None
    rows.append(Row(case, "garpd Sender.send, warm, in-process", figure(warm, "warm")
                    + (f"; call {fmt_ms(warm.sender_time)}" if warm else ""),
                    w_fps, "f/s", baseline=fmt_rate(floor_fps) + " C floor",
                    ratio=w_fps / floor_fps if w_fps and floor_fps else None,
                    details=details("warm")))
    rows += _daemon_burst_rows(case, n, runs, picked, floor_fps, figure, details)
    return rows


def _daemon_burst_rows(case: str, n: int, runs: dict[tuple[int, str], list[Burst]],
                       picked: dict[str, Burst | None], floor_fps: float | None,
                       figure: Any, details: Any) -> list[Row]:
    """The daemon's notify_fifo takeover burst, metrics off, then on beside it."""
    off, on = picked["daemon"], picked["daemon_metrics"]
    off_fps = off.fps if off else None
    on_fps = on.fps if on else None
    rows = [Row(case, "garpd run: notify_fifo MASTER -> takeover burst (span on the wire)",
                figure(off, "daemon"), off_fps, "f/s",
                baseline=fmt_rate(floor_fps) + " C floor",
                ratio=off_fps / floor_fps if off_fps and floor_fps else None,
                details=details("daemon"))]
    # The run's noise: the spread of the rounds of each setting (frames/s).
    spreads = []
    for name in ("daemon", "daemon_metrics"):
        rates = [r.fps for r in runs.get((n, name), []) if r.fps]
        if len(rates) > 1:
            spreads.append(max(rates) - min(rates))
    noise = max(spreads) if spreads else None
    complete = on is not None and on.frames == on.expected
    scraped = [r.scraped for r in runs.get((n, "daemon_metrics"), []) if r.scraped]
    counted = bool(scraped) and all(
        s.get("frames_sent", 0) >= n * REPEAT for s in scraped)
    met: bool | None = None
    if on_fps and off_fps and noise is not None:
        met = abs(on_fps - off_fps) <= noise and complete and counted
    rows.append(Row(case, "garpd run, metrics on: the same burst (/metrics scraped after)",
                    figure(on, "daemon_metrics"), on_fps, "f/s",
                    baseline=fmt_rate(off_fps) + " metrics off",
                    ratio=on_fps / off_fps if on_fps and off_fps else None,
                    goal=("= metrics off +/- noise"
                          + (f" ({fmt_rate(noise)})" if noise is not None else "")
                          + ", every frame counted"),
                    met=met, details=details("daemon_metrics")))
    for label, b in (("off", off), ("on", on)):
        if b is not None:
            rows.append(Row(case, f"garpd run, metrics {label}: FIFO write -> first frame "
                            "(first notify after start)", fmt_ms(b.startup), b.startup, "s"))
    if scraped:
        last = scraped[-1]
        rows.append(Row(case, "garpd run, metrics on: /metrics after the burst",
                        f"{len(scraped)} scrapes; last: frames_sent "
                        f"{last.get('frames_sent', 0):.0f}, announcements "
                        f"{last.get('announcements', 0):.0f} ({_n(n * REPEAT)} frames, "
                        f"{_n(n)} addresses sent)", goal="every frame counted", met=counted))
    return rows


# --------------------------------------------------------------------------- 2 latency


def latency_daemon(bench: Bench, metrics: bool = False, tag: str = "latency",
                   conflict: str | None = None) -> Any:
    """The daemon of cases 2 and 3: one packet per takeover, no delayed burst, VIP in VI_1,
    keepalived's notify_fifo read; with ``metrics``, ``/metrics`` served on
    :data:`METRICS_LISTEN`; ``conflict`` sets ``[announce] conflict`` (default: defend)."""
    announce: dict[str, float | int | bool | str] = {
        "master_delay": 0.0, "master_repeat": 1, "master_refresh": 0.0}
    if conflict is not None:
        announce["conflict"] = conflict
    toml = _config(announce,
                   {"name": "VI_1", "interface": DEV, "addresses": [VIP],
                    "networks": [LATENCY_NET]}, fifo=str(bench.workdir / "garpd-latency.fifo"),
                   metrics=metrics)
    return bench.start_daemon(tag, toml)


def scrape(bench: Bench) -> dict[str, float]:
    """GET ``/metrics`` from the daemon in the sender namespace: every sample (name with
    its labels -> value). Raises OSError or ValueError when nothing sensible answers."""
    import socket  # noqa: PLC0415

    from garpd.lab.netns import inside  # noqa: PLC0415

    host, port = METRICS_LISTEN.rsplit(":", 1)
    with inside(bench.sender_ns):
        sock = socket.create_connection((host, int(port)), timeout=5.0)
    with sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ValueError(f"/metrics answered {head[:40]!r}")
    samples: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _total(samples: dict[str, float], family: str) -> float:
    """The sum of a family's samples (over every label set)."""
    return sum(v for k, v in samples.items() if k == family or k.startswith(family + "{"))


class Placement:
    """Case 2's CPUs: the harness (this process: the address adds, the capture) on the
    last CPU, every subject (the minimal responder, each garpd daemon) on the first.

    Left to the scheduler, a subject lands on the harness's CPU (woken only once the
    harness blocks, on warm caches) or on the other one (woken from idle, on caches the
    harness did not touch) from one process start to the next, and the two differ by
    ~50 us on this project's 2-vCPU machines: one daemon block measured 0.10 ms, the next
    0.19 ms, and the ratio to the responder moved with where each happened to land. Here
    every subject gets the same CPU and the same wake-up, the case of a daemon woken by
    another process (keepalived, ``ip``) on another CPU. A one-CPU machine pins nothing.
    """

    def __init__(self) -> None:
        cpus = sorted(os.sched_getaffinity(0))
        self.before = set(cpus)
        self.harness = {cpus[-1]} if len(cpus) > 1 else None
        self.subject = {cpus[0]} if len(cpus) > 1 else None

    def __enter__(self) -> Placement:
        if self.harness is not None:
            os.sched_setaffinity(0, self.harness)
        return self

    def __exit__(self, *exc: object) -> None:
        os.sched_setaffinity(0, self.before)

    def pin(self, pid: int) -> None:
        """Keep the subject ``pid`` on the subjects' CPU."""
        if self.subject is not None:
            os.sched_setaffinity(pid, self.subject)

    def release(self, pid: int) -> None:
        """Let ``pid`` run anywhere again (the daemon case 3 goes on with)."""
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, self.before)

    def describe(self) -> str:
        """For the rows' details."""
        if self.subject is None:
            return "one CPU: nothing pinned"
        return (f"harness on CPU {min(self.harness or ())}, "
                f"subject on CPU {min(self.subject)}")


def _trials(bench: Bench, addrs: list[str], warmup: int) -> tuple[list[float], int]:
    """Add each address (timestamped right before the kernel call), wait for its first
    GARP, remove it; (latencies after the warm-up trials, trials with no frame)."""
    values: list[float] = []
    missed = 0
    for i, address in enumerate(addrs):
        bench.capture.clear()
        stamp = bench.nl.add(address)
        frame = bench.capture.wait_for(address, stamp, timeout=2.0)
        bench.nl.remove(address)
        if i >= warmup:
            if frame is None:
                missed += 1
            else:
                values.append(frame.t - stamp)
        time.sleep(0.01)
    bench.capture.clear()
    return values, missed


def _floor_trials(bench: Bench, count: int, placement: Placement
                  ) -> tuple[list[float], int] | None:
    """The same trials against bench.latency_floor (a minimal asyncio responder)."""
    argv = [sys.executable, "-m", "bench.latency_floor", "--dev", DEV, "--mac", bench.mac]
    proc = bench.spawn_inside(argv, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"READY":
            return None
        placement.pin(proc.pid)
        return _trials(bench, addresses(LATENCY_FLOOR_FIRST, count + 3), 3)
    finally:
        stop_pid(proc)


def latency(bench: Bench, settings: Settings) -> tuple[list[Row], Any]:
    """Case 2: rtnetlink add (timestamped right before the kernel call) -> first GARP, for
    the minimal responder and then for garpd's daemon, with metrics off and on (returns the
    last daemon, metrics off as before, for case 3).

    garpd's trials are split into blocks, metrics on and off alternating (on, off, on, off:
    a fresh daemon each, 3 warm-up trials each), so a drift of the machine's load falls on
    both alike; the spread between the two blocks of the same setting is the run's noise.
    After its trials, each metrics-on daemon is scraped once, to prove it counted them.
    Every subject runs on the same CPU, the harness on another (:class:`Placement`).
    """
    with Placement() as placement:
        rows, daemon = _latency(bench, settings, placement)
    if daemon is not None:
        placement.release(daemon.proc.pid)
    return rows, daemon


def _latency(bench: Bench, settings: Settings, placement: Placement
             ) -> tuple[list[Row], Any]:
    case = "2 latency"
    blocks = 2 if settings.latency_trials >= 20 else 1
    per_block = max(1, settings.latency_trials // blocks)
    bench.say(f"latency: {settings.latency_trials} trials each, the minimal responder and "
              f"garpd (metrics off and on), {blocks} blocks each; {placement.describe()}")
    floor: list[float] = []
    floor_p50: list[float] = []
    warmup = 3
    first = LATENCY_FIRST
    values: dict[bool, list[float]] = {False: [], True: []}
    block_p50: dict[bool, list[float]] = {False: [], True: []}
    missed = {False: 0, True: 0}
    scraped: list[dict[str, float]] = []
    scrape_errors: list[str] = []
    daemon: Any = None
    # Diagnostic: one block with conflict = "off" (no neighbour listener to re-filter
    # before the first frame), to show what the listener's filter update costs.
    plain = latency_daemon(bench, tag="latency-noconflict", conflict="off")
    placement.pin(plain.proc.pid)
    addrs = addresses(first, per_block + warmup)
    first = str(addresses(addrs[-1], 2)[1])
    no_conflict, no_conflict_missed = _trials(bench, addrs, warmup)
    bench.stop_daemon(plain)
    order = [mode for _ in range(blocks) for mode in (True, False)]  # ends with off
    for metrics in order:
        if daemon is not None:
            bench.stop_daemon(daemon)
        if not metrics:
            # A responder block (a fresh process) right before each metrics-off block:
            # both sides of the ratio get the machine's drift alike, and more than one
            # process each (their p50s differ by tens of µs from one start to the next).
            got_floor = _floor_trials(bench, per_block, placement)
            if got_floor and got_floor[0]:
                floor += got_floor[0]
                floor_p50.append(median(got_floor[0]))
        tag = "latency" if not metrics else "latency-metrics"
        daemon = latency_daemon(bench, metrics=metrics, tag=tag)
        placement.pin(daemon.proc.pid)
        addrs = addresses(first, per_block + warmup)
        first = str(addresses(addrs[-1], 2)[1])
        got, lost = _trials(bench, addrs, warmup)
        values[metrics] += got
        missed[metrics] += lost
        if got:
            block_p50[metrics].append(median(got))
        if metrics:
            try:
                samples = scrape(bench)
            except (OSError, ValueError) as exc:
                scrape_errors.append(str(exc))
            else:
                scraped.append({
                    "frames_sent": _total(samples, "garpd_frames_sent_total"),
                    "announcements": _total(samples, "garpd_announcements_total"),
                    "first_frame_count": _total(samples, "garpd_first_frame_seconds_count"),
                    "trials": len(addrs)})
    off, on = values[False], values[True]
    detail: dict[str, Any] = {"trials": len(off), "missed": missed[False],
                              "warmup_discarded": warmup, "values": off,
                              "floor_values": floor or None,
                              "floor_block_p50": floor_p50,
                              "metrics_on_values": on, "metrics_on_missed": missed[True],
                              "block_p50": {"off": block_p50[False], "on": block_p50[True]},
                              "scrapes": scraped, "scrape_errors": scrape_errors,
                              "conflict_off_values": no_conflict,
                              "placement": placement.describe(),
                              "conflict_off_missed": no_conflict_missed}
    if not off:
        return [Row(case, "address add -> first GARP", "no frame seen", details=detail)], daemon
    fvals = floor or None

    def base(q: float | None) -> tuple[str, float | None]:
        if fvals is None:
            return "", None
        f = max(fvals) if q is None else percentile(fvals, q)
        return f"{fmt_ms(f)} minimal responder", f

    rows = []
    trials = f"{len(off)} trials, {missed[False]} missed"
    for label, q, goal, limit in (("p50", 0.5, "<= 1.3x responder", 1.3),
                                  ("p99", 0.99, "<= 1.5x responder", 1.5),
                                  ("max", None, "", None)):
        value = max(off) if q is None else percentile(off, q)
        text, fval = base(q)
        rows.append(Row(
            case, f"address add -> first GARP, {label}" + (f" ({trials})" if q == 0.5 else ""),
            fmt_ms(value), value, "s", baseline=text,
            ratio=value / fval if fval else None, goal=goal,
            met=None if limit is None or not fval else value <= limit * fval and missed[False] == 0,
            details=detail if q == 0.5 else {}))
    rows += _metrics_rows(case, off, on, missed[True], block_p50, scraped, scrape_errors)
    if no_conflict:
        for label, q in (("p50", 0.5), ("p99", 0.99)):
            value = percentile(no_conflict, q)
            text, fval = base(q)
            rows.append(Row(case, f"diagnostic, conflict = off (no listener to re-filter): "
                            f"address add -> first GARP, {label}"
                            + (f" ({len(no_conflict)} trials, {no_conflict_missed} missed)"
                               if q == 0.5 else ""), fmt_ms(value), value, "s",
                            baseline=text, ratio=value / fval if fval else None))
    return rows, daemon


def _metrics_rows(case: str, off: list[float], on: list[float], missed: int,
                  block_p50: dict[bool, list[float]], scraped: list[dict[str, float]],
                  errors: list[str]) -> list[Row]:
    """The metrics-on rows of case 2 beside the metrics-off figures of the same run."""
    if not on:
        return [Row(case, "metrics on: address add -> first GARP", "no frame seen")]
    # The run's noise: how far apart two blocks of the same setting came out (p50).
    spreads = [max(v) - min(v) for v in block_p50.values() if len(v) > 1]
    noise = max(spreads) if spreads else None
    rows = []
    trials = f"{len(on)} trials, {missed} missed"
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, ref = percentile(on, q), percentile(off, q)
        if q == 0.5 and noise is not None:
            goal = f"= metrics off +/- noise ({fmt_ms(noise)})"
            met: bool | None = abs(value - ref) <= noise and missed == 0
        else:
            goal, met = "", None
        rows.append(Row(case, f"metrics on: address add -> first GARP, {label}"
                        + (f" ({trials})" if q == 0.5 else ""), fmt_ms(value), value, "s",
                        baseline=f"{fmt_ms(ref)} metrics off", ratio=value / ref,
                        goal=goal, met=met))
    if scraped:
        last = scraped[-1]
        text = (f"{len(scraped)} scrapes; last: frames_sent {last['frames_sent']:.0f}, "
                f"announcements {last['announcements']:.0f}, first-frame histogram count "
                f"{last['first_frame_count']:.0f} ({last['trials']:.0f} trials)")
        counted = all(s["frames_sent"] >= s["trials"] for s in scraped)
    else:
        text, counted = f"no scrape ({'; '.join(errors)[:80]})", False
    rows.append(Row(case, "metrics on: /metrics scraped after the trials", text,
                    goal="every trial counted", met=counted))
    return rows


# --------------------------------------------------------------------------- 3 hand-off


def _first_frame(bench: Bench, argv: list[str], spa: str, timeout: float = 10.0
                 ) -> tuple[float | None, float | None]:
    """Start ``argv`` in the sender namespace; (start -> first frame from ``spa``,
    start -> exit)."""
    bench.capture.clear()
    start = time.monotonic()
    proc = bench.spawn_inside(argv)
    frame = bench.capture.wait_for(spa, start, timeout)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        stop_pid(proc)
    exited = time.monotonic() - start if proc.returncode == 0 else None
    return (frame.t - start if frame else None), exited


#: The least a Python notify hook can do: connect, send the request, read the reply.
_MINIMAL_CLIENT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.connect(sys.argv[1])\n"
    "s.sendall(b'{\"command\": \"notify\", \"type\": \"INSTANCE\", \"name\": \"VI_1\", '\n"
    "          b'\"state\": \"MASTER\", \"priority\": 100}\\n')\n"
    "s.recv(65536)\n"
)


def _fifo_trial(bench: Bench, fifo: Path, spa: str, timeout: float = 10.0) -> float | None:
    """Write keepalived's notify_fifo line (timestamped right before the write); the time
    to the first frame from ``spa``."""
    bench.capture.clear()
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        start = time.monotonic()
        os.write(fd, b'INSTANCE "VI_1" MASTER 100\n')
    finally:
        os.close(fd)
    frame = bench.capture.wait_for(spa, start, timeout)
    return frame.t - start if frame else None


def _start_trial(bench: Bench, argv: list[str]) -> float | None:
    """Start ``argv`` in the sender namespace; start -> exit (None if it failed)."""
    start = time.monotonic()
    proc = bench.spawn_inside(argv)
    proc.wait(30)
    return time.monotonic() - start if proc.returncode == 0 else None


def handoff(bench: Bench, settings: Settings, daemon: Any) -> list[Row]:
    """Case 3: notify hand-off (daemon up, and without one), a notify_fifo line, announce
    cold start and arping, each to its first frame; a bare interpreter start."""
    case = "3 hand-off"
    bench.say(f"hand-off: {settings.handoff_trials} trials each")
    bench.nl.add(VIP)
    time.sleep(1.2)  # the takeover for the VIP is older than the notify merge window
    # The same configuration with a control socket nobody listens on: the hook's fallback.
    lone = bench.workdir / "garpd-nodaemon.toml"
    lone.write_text(daemon.config.read_text().replace(
        str(daemon.socket), str(bench.workdir / "absent.sock")))
    fifo = bench.workdir / "garpd-latency.fifo"
    cmds: dict[str, list[str] | None] = {
        "notify": [*garpd_argv(), "--log-format", "json", "notify", "-c", str(daemon.config),
                   "INSTANCE", "VI_1", "MASTER", "100"],
        "fallback": [*garpd_argv(), "--log-format", "json", "notify", "-c", str(lone),
                     "INSTANCE", "VI_1", "MASTER", "100"],
        "fifo": [] if fifo.exists() else None,
        "announce": [*garpd_argv(), "--log-format", "json", "announce", "-i", DEV,
                     "--repeat", "1", "--delay", "0", VIP],
        "arping": [ARPING, "-U", "-c", "1", "-I", DEV, VIP] if bench.have(ARPING) else None,
        "client": [sys.executable, "-c", _MINIMAL_CLIENT, str(daemon.socket)],
    }
    first: dict[str, list[float]] = {k: [] for k in cmds}
    exits: dict[str, list[float]] = {k: [] for k in cmds}
    missed: dict[str, int] = dict.fromkeys(cmds, 0)
    bare: list[float] = []
    for _ in range(settings.handoff_trials):
        bare_s = _start_trial(bench, [sys.executable, "-c", "pass"])
        if bare_s is not None:
            bare.append(bare_s)
        for name, argv in cmds.items():
            if argv is None:
                continue
            begun = time.monotonic()
            if name == "fifo":
                latency_s, exited = _fifo_trial(bench, fifo, VIP), None
            else:
                latency_s, exited = _first_frame(bench, argv, VIP)
            if latency_s is None:
                missed[name] += 1
            else:
                first[name].append(latency_s)
            if exited is not None:
                exits[name].append(exited)
            # Every trial's takeover must be older than the 1 s merge window of the next.
            time.sleep(max(0.0, 1.15 - (time.monotonic() - begun)))
    bench.nl.remove(VIP)
    notified = daemon.log_events("notify_received")

    def stats(name: str) -> tuple[float | None, str]:
        values = first[name]
        if not values:
            return None, "n/a" if cmds[name] is None else f"no frame ({missed[name]} missed)"
        p50 = median(values)
        exit_text = f"; exits after {fmt_ms(median(exits[name]))}" if exits[name] else ""
        return p50, (f"p50 {fmt_ms(p50)}, max {fmt_ms(max(values))} "
                     f"({len(values)} trials{exit_text})")

    arping_p50, arping_text = stats("arping")
    notify_p50, notify_text = stats("notify")
    fallback_p50, fallback_text = stats("fallback")
    fifo_p50, fifo_text = stats("fifo")
    announce_p50, announce_text = stats("announce")
    client_p50, client_text = stats("client")
    bare_p50 = median(bare) if bare else None
    bare_text = (f"p50 {fmt_ms(bare_p50)}, max {fmt_ms(max(bare))} ({len(bare)} trials)"
                 if bare_p50 is not None else "did not run")

    def against(value: float | None, base: float | None, name: str
                ) -> tuple[str, float | None]:
        if value is None or not base:
            return "", None
        return f"{fmt_ms(base)} {name}", value / base

    def met(value: float | None, name: str, limit: float, base: float | None) -> bool | None:
        if value is None or not base:
            return None
        return value <= limit * base and not missed[name]

    detail = {"first_frame": first, "exit": exits, "missed": missed, "bare_start": bare,
              "daemon_notify_received": notified}
    return [
        Row(case, "garpd notify MASTER (daemon running): start -> first frame", notify_text,
            notify_p50, "s", *against(notify_p50, client_p50, "minimal client"),
            goal="<= 1.2x minimal client (p50)",
            met=met(notify_p50, "notify", 1.2, client_p50), details=detail),
        Row(case, "garpd notify MASTER, no daemon (the hook's own one-shot) -> first frame",
            fallback_text, fallback_p50, "s", *against(fallback_p50, bare_p50, "python -c pass"),
            goal="<= 4x python -c pass (p50)",
            met=met(fallback_p50, "fallback", 4.0, bare_p50)),
        Row(case, "keepalived notify_fifo line -> daemon -> first frame", fifo_text, fifo_p50,
            "s", goal="<= 1 ms (p50)",
            met=None if fifo_p50 is None else fifo_p50 <= 0.001 and not missed["fifo"]),
        Row(case, "garpd announce, cold start -> first frame", announce_text, announce_p50,
            "s", *against(announce_p50, bare_p50, "python -c pass"),
            goal="<= 4x python -c pass (p50)",
            met=met(announce_p50, "announce", 4.0, bare_p50)),
        Row(case, "python -c pass (bare interpreter): start -> exit", bare_text, bare_p50,
            "s"),
        Row(case, "arping -U -c 1 (today's notify scripts) -> first frame", arping_text,
            arping_p50, "s"),
        Row(case, "minimal Python client (socket only) -> daemon -> first frame", client_text,
            client_p50, "s"),
    ]


# --------------------------------------------------------------------------- 4 storm, 5 idle


def storm(bench: Bench, settings: Settings) -> tuple[list[Row], Any]:
    """Case 4: ``ip -batch`` of N addresses -> time until each had its first GARP."""
    case = f"4 storm {_n(settings.storm)}"
    bench.say(f"storm: {_n(settings.storm)} addresses in one ip -batch")
    toml = _config({"master_delay": 0.0, "master_repeat": REPEAT, "master_refresh": 0.0},
                   {"name": "storm", "interface": DEV, "networks": [STORM_NET]})
    daemon = bench.start_daemon("storm", toml)
    addrs = addresses(STORM_FIRST, settings.storm)
    wanted = set(addrs)
    bench.capture.clear()
    drops = bench.capture.drops
    before = bench.path_drops()
    start, proc = bench.spawn_batch("add", addrs)
    proc.wait(300)
    batch_time = time.monotonic() - start
    bench.capture.wait_quiet(settings.storm * REPEAT, timeout=300, give_up_quiet=3.0)
    firsts: dict[str, float] = {}
    frames = 0
    for frame in bench.capture.drain():
        if frame.spa in wanted and frame.spa == frame.tpa:
            frames += 1
            firsts.setdefault(frame.spa, frame.t)
    done = max(firsts.values()) - start if firsts else None
    status = daemon.status()
    counters = status.get("counters", {})
    lost = bench.drops_since(before)
    detail = {"ip_batch_s": batch_time, "frames": frames, "expected_frames": len(addrs) * REPEAT,
              "capture_drops": bench.capture.drops - drops, "path_drops": lost,
              "netlink_overflows": daemon.log_events("netlink_overflow"),
              "held_by_daemon": sum(1 for r in status.get("addresses", []) if r.get("held")),
              "counters": counters}
    rows = [
        Row(case, "ip -batch start -> every address had its first GARP",
            ("" if len(firsts) == len(addrs) else
             f"never: {_n(len(addrs) - len(firsts))} never announced; last first-GARP at ")
            + f"{fmt_ms(done)} (ip -batch itself {fmt_ms(batch_time)}; "
            f"{_n(frames)}/{_n(len(addrs) * REPEAT)} frames; path drops "
            f"{sum(lost.values())}; daemon sent {counters.get('frames_sent')})", done, "s",
            details=detail),
        Row(case, "addresses announced", f"{_n(len(firsts))} / {_n(len(addrs))}",
            float(len(firsts)), "", goal="all", met=len(firsts) == len(addrs)),
    ]
    return rows, daemon


def idle(bench: Bench, settings: Settings, storm_daemon: Any) -> list[Row]:
    """Case 5: a daemon holding addresses, refresh off, once its bursts are over."""
    case = "5 idle"
    rss_storm, hwm_storm = storm_daemon.rss_mb()
    bench.stop_daemon(storm_daemon)
    bench.flush(STORM_NET)
    addrs = addresses(IDLE_FIRST, settings.idle_held)
    bench.batch("add", addrs)
    bench.capture.clear()
    toml = _config({"master_delay": 0.5, "master_repeat": REPEAT, "master_refresh": 0.0},
                   {"name": "idle", "interface": DEV, "networks": [IDLE_NET]})
    daemon = bench.start_daemon("idle", toml)
    bench.capture.wait_quiet(2 * REPEAT * len(addrs), timeout=120, quiet=1.0)
    announced = len({f.spa for f in bench.capture.drain() if f.spa in set(addrs)})
    time.sleep(1.0)
    bench.say(f"idle: {settings.idle_window:.0f} s window, {_n(len(addrs))} held")
    cpu0, sw0, threads = daemon.cpu_and_switches()
    t0 = time.monotonic()
    time.sleep(settings.idle_window)
    cpu1, sw1, _ = daemon.cpu_and_switches()
    window = time.monotonic() - t0
    rss_idle, hwm_idle = daemon.rss_mb()
    bench.stop_daemon(daemon)
    bench.flush(IDLE_NET)
    wakeups = sw1 - sw0
    detail = {"window_s": window, "threads": threads, "announced_at_start": announced,
              "rss_mb_held_idle": rss_idle, "hwm_mb_held_idle": hwm_idle,
              "rss_mb_storm": rss_storm, "hwm_mb_storm": hwm_storm}
    held = _n(len(addrs))
    return [
        Row(case, f"CPU over {window:.0f} s, {held} held, refresh off",
            f"{cpu1 - cpu0:.2f} s", cpu1 - cpu0, "s", details=detail),
        Row(case, f"wakeups (context switches, {threads} threads) over {window:.0f} s",
            str(wakeups), float(wakeups), "", goal="0 timer wakeups", met=wakeups == 0),
        Row(case, f"RSS with {_n(settings.storm)} held (peak {hwm_storm:.1f} MB)",
            f"{rss_storm:.1f} MB", rss_storm, "MB", goal="<= 45 MB, peak included",
            met=max(rss_storm, hwm_storm) <= 45),
        Row(case, f"RSS with {held} held (peak {hwm_idle:.1f} MB)", f"{rss_idle:.1f} MB",
            rss_idle, "MB", goal="<= 38 MB, peak included", met=max(rss_idle, hwm_idle) <= 38),
    ]



# --------------------------------------------------------------------------- 6 confirm


def _confirmed_at(log: Any, address: str, seen: int) -> tuple[float | None, int]:
    """The wall-clock time of the ``confirmed`` record for ``address`` in the daemon's log
    (reading from line ``seen`` on), and how many lines were read."""
    lines = log.read_text(errors="replace").splitlines()
    for line in lines[seen:]:
        if '"confirmed"' not in line or f'"{address}"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        from datetime import datetime  # noqa: PLC0415

        return datetime.fromisoformat(str(record["timestamp"])).timestamp(), len(lines)
    return None, max(seen, len(lines) - 1)


def confirm(bench: Bench, settings: Settings) -> list[Row]:
    """Case 6: address added (wall clock right before the rtnetlink call) -> the daemon's
    ``confirmed`` record (its timestamp), the peer namespace answering as the gateway."""
    case = "6 confirm"
    bench.say(f"confirm: {settings.confirm_trials} takeovers against a gateway namespace")
    bench.lab.add_address(PEER, f"{CONFIRM_GW}/24")
    toml = _config({"master_delay": 0.0, "master_repeat": 1, "confirm_retries": 0},
                   {"name": "VI_C", "interface": DEV, "networks": [CONFIRM_NET],
                    "gateways": [CONFIRM_GW]})
    daemon = bench.start_daemon("confirm", toml)
    warmup = 3
    values: list[float] = []
    garps: list[float] = []
    missed = 0
    seen = 0
    try:
        for i, address in enumerate(addresses(CONFIRM_FIRST, settings.confirm_trials + warmup)):
            bench.capture.clear()
            stamp = time.time()
            mono = bench.nl.add(address)
            frame = bench.capture.wait_for(address, mono, timeout=2.0)
            deadline = time.monotonic() + 3.0
            at: float | None = None
            while at is None and time.monotonic() < deadline:
                at, seen = _confirmed_at(daemon.log, address, seen)
                if at is None:
                    time.sleep(0.001)
            bench.nl.remove(address)
            if i >= warmup:
                if at is None:
                    missed += 1
                else:
                    values.append(at - stamp)
                if frame is not None:
                    garps.append(frame.t - mono)
            time.sleep(0.01)
    finally:
        bench.stop_daemon(daemon)
    bench.capture.clear()
    detail: dict[str, Any] = {"trials": len(values), "missed": missed,
                              "warmup_discarded": warmup, "values": values,
                              "first_garp_values": garps}
    if not values:
        return [Row(case, "takeover -> confirmed", "no confirmed record", details=detail)]
    trials = f"{len(values)} trials, {missed} missed"
    rows = []
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        base = f"{fmt_ms(percentile(garps, q))} first GARP, same trials" if garps else ""
        rows.append(Row(case, f"address add -> confirmed record, {label}"
                        + (f" ({trials})" if q == 0.5 else ""),
                        fmt_ms(percentile(values, q)), percentile(values, q), "s",
                        baseline=base, details=detail if q == 0.5 else {}))
    return rows
