"""Churn soak, on demand only: 1,000 held addresses refreshed every second while 100 others
are added and removed every second, the link flaps, the configuration is reloaded and a
lower-priority router keeps advertising; judged on a peer's wire.

Run it by name (it needs root for the namespace lab)::

    GARPD_CHURN_SECONDS=1800 /opt/garpd-dev/bin/pytest -s tests/churn_soak_test.py

``GARPD_CHURN_SECONDS`` is how long the churn runs (default 1800, the half hour the issue
asks for). Like tests/soak_test.py, a plain ``pytest`` run collects this file but the test
skips itself unless the file is named on the command line or ``GARPD_CHURN_SECONDS`` is set.

The daemon (group VI_1, ``networks = ["198.18.0.0/15"]``, ``vrid = 51``, ``priority =
150``; ``master_repeat = 1``, ``master_delay = 1``, ``master_refresh = 1``,
``master_refresh_repeat = 1``, so lower_prio is 1 frame now and 1 a second later) starts
with 1,000 stable addresses. Then, all at once:

- churn: a thread with its own rtnetlink socket in the daemon's namespace adds one
  address every 10 ms and removes each 2.5 s after it was added (so 100 added and 100
  removed a second, about 250 churned addresses held at any time; the removal falls
  half-way between the address's refresh at +2 s and the next). Each request's
  ``time.monotonic()`` before the send and after the kernel's ACK is recorded: the kernel
  adds or deletes the address inside that window;
- every 30 s ``ip link set eth0 down``, 0.5 s later ``up`` (a ``link_up`` takeover of
  everything held);
- every 10 s SIGHUP (the same file: a reload that must change nothing on the wire);
- every 5 s a VRRPv2 advert for VRID 51 at priority 100 from the peer;
- every minute (every tenth of the run if that is shorter) the daemon's VmRSS.

The harness (this process, its churn thread, the captures) keeps to one CPU and the daemon
may run on any (:func:`harness_cpu`); the captures run under SCHED_IDLE and read a burst
after it has left (``drain_after``): the daemon's timing is measured, not the harness's
competition with it for two CPUs.

The peer captures every ARP frame; a frame's time is the kernel's receive timestamp
(SO_TIMESTAMPNS, on the monotonic clock; on the veth + bridge path it is stamped within
microseconds of the daemon's send unless the softirq backlog is deferred). The daemon's
side captures the same frames as they leave (PACKET_OUTGOING on its eth0: stamped when the
kernel's transmit path hands each frame to the device, inside the daemon's own
``sendmmsg`` or TX-ring ``send``): each address has as many frames leaving as arriving.
Each frame is matched to the daemon's ``announce`` record of the same address, in order
(one frame per burst here), which gives every frame its reason. Then:

- **not held**: no frame for an address leaves the daemon later than
  ``NOT_HELD_TOLERANCE`` (2 ms: the daemon reads the deletion between two slices of a
  batch, so at most one slice already in the kernel and the netlink notification's way to
  it) after the ACK of its deletion, and before the start of its next addition; none while
  the link was surely down. Departures, not arrivals: "when it left" is the moment the
  frame left the host, and the peer's timestamps add the receiving softirq's backlog, which
  a busy machine defers by milliseconds (a 30-minute run at 70ecca0 saw two lower_prio
  frames arrive 3.1 ms after the ACK, from a slice handed to the kernel before it);
- **missed takeovers**: every churned address whose life did not touch a flap has its
  ``master`` frame (the takeover), its ``master_delay`` frame and its refresh (one per
  grid point before its removal, should the churn thread remove it late); every
  address held across a flap has its ``link_up`` frame; a count difference between the
  frames on the wire and the ``announce`` records also counts as a failure;
- **refresh drift**: for each ``refresh`` frame, its time minus the ideal one, ``phase +
  k * refresh``, on the grid of the same address's timer-driven frames of the same
  takeover (its ``master_delay`` or ``link_up_delay`` frame, k = 0, and its refreshes):
  the daemon starts that grid when it handles the takeover (``t0 + delay + k *
  refresh``), which no frame shows (a takeover of a thousand addresses is handled before
  its frames leave, ~10 ms), and a timer fires on time or late, never early, so the phase
  is the earliest ``t - k * refresh`` among them (see :func:`grid_drifts`); the p99 must
  be at most 5 ms. Departures again (when the frame left the daemon's host). The summary
  also gives the drift of the arrivals, of the stable and the churned addresses apart,
  and against the delayed frame alone (the measure of the first 30-minute run, which one
  late delayed round shifts for every refresh after it, until the next takeover);
- **RSS flat**: the last sample is within 5 MB of the first one after the warm-up (two
  minutes, or a quarter of a shorter run), and no sample after it grows more than that;
- the capture dropped nothing, the daemon logged no error and exits 0 on SIGTERM.

It prints a summary of the figures (the README's "Churn soak" records one run).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import ipaddress
import json
import math
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from garpd import rtnl
from garpd.lab.netns import inside
from garpd.vrrp import build_advert
from tests.daemon_helpers import Daemon, garps
from tests.keepalived_helpers import clusters, vrrp_frame
from tests.lab import ETH_P_ARP, Frame, LabFactory
from tests.test_daemon_lab import PEER4, make_pair, write_config
from tests.test_faults_lab import batch, bench_addresses, held, status

pytestmark = pytest.mark.lab

STABLE = 1000
CHURN_RATE = 100.0  # added (and removed) per second
LIFETIME = 2.5  # s a churned address is held
POOL = 120_000  # churned addresses, reused round-robin (each after POOL / CHURN_RATE s)
DELAY = 1.0
REFRESH = 1.0
FLAP_EVERY = 30.0
FLAP_DOWN = 0.5
HUP_EVERY = 10.0
ADVERT_EVERY = 5.0
VRID = 51
NOT_HELD_TOLERANCE = 0.002
MAX_DRIFT_P99 = 0.005
MAX_RSS_GROWTH_KB = 5 * 1024
DRAIN_AFTER = 0.1  # s the captures wait after a frame wakes them before they read
SETTLE = 3.0  # s after the churn stops before the daemon is stopped

TAKEOVERS = ("master", "link_up")


def churn_seconds() -> float:
    """GARPD_CHURN_SECONDS, default 1800 (the half hour issue 17 asks for)."""
    return float(os.environ.get("GARPD_CHURN_SECONDS") or 1800)


def asked_for(request: pytest.FixtureRequest) -> bool:
    """The churn soak runs only when named on the command line or given GARPD_CHURN_SECONDS."""
    if "GARPD_CHURN_SECONDS" in os.environ:
        return True
    return any("churn_soak_test" in str(arg) for arg in request.config.invocation_params.args)


def harness_cpu(cpus: set[int]) -> int | None:
    """The CPU the harness keeps to (None with a single CPU): the highest of ``cpus``.

    The test process (its churn thread, the captures' readers) and every process it starts
    (the capture agents, ``ip``) are kept to it, and the daemon is started free to run on
    any of ``cpus``. Left to the scheduler, the harness's wake-ups (a netlink request every
    10 ms, the captures' drains) pull the daemon from one CPU to the other, and a refresh
    round that starts on the CPU the daemon did not run on last takes 40-60% longer (its
    data and the kernel's send path are not in that CPU's caches): in 120-s runs on two
    vCPUs, refresh drift p99 4.0-5.4 ms with the daemon moving, 2.2 ms with the harness on
    one CPU (the daemon then kept to the other one by itself).
    """
    return max(cpus) if len(cpus) > 1 else None


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds ``pid`` (its main thread) ran on a CPU and waited, runnable, for one
    (/proc/PID/schedstat)."""
    ran, waited, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(ran) / 1e9, int(waited) / 1e9


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (nan for none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def ms(value: float) -> str:
    """Seconds as milliseconds, two decimals."""
    return f"{value * 1000:.2f} ms"


# --------------------------------------------------------------------------- the churn


@dataclass
class Change:
    """One address added or removed: the kernel did it between ``before`` and ``after``."""

    address: str
    before: float
    after: float


@dataclass
class Churner:
    """Adds an address every 1/CHURN_RATE s over its own rtnetlink socket in ``namespace``
    and removes each LIFETIME s after its addition (all that remain when it stops)."""

    namespace: str
    pool: list[str]
    adds: list[Change] = field(default_factory=list)
    removals: list[Change] = field(default_factory=list)
    error: BaseException | None = None
    behind: float = 0.0  # worst lateness of a tick, s
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _seq: int = 0

    def start(self) -> None:
        """Open the socket in the namespace and start the thread."""
        with inside(self.namespace):
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            self._ifindex = socket.if_nametoindex("eth0")
        self._sock.bind((0, 0))
        self._thread = threading.Thread(target=self._run, name="churn", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop adding, remove what is left, close the socket; re-raise the thread's error."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60.0)
        self._sock.close()
        if self.error is not None:
            raise self.error

    def _request(self, kind: int, flags: int, address: str) -> Change:
        self._seq += 1
        body = rtnl.IFADDRMSG.pack(socket.AF_INET, 32, 0, 0, self._ifindex)
        packed = ipaddress.IPv4Address(address).packed
        body += rtnl.rtattr(rtnl.IFA_LOCAL, packed) + rtnl.rtattr(rtnl.IFA_ADDRESS, packed)
        message = rtnl.nlmsg(kind, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | flags, self._seq, body)
        before = time.monotonic()
        self._sock.send(message)
        reply = self._sock.recv(65536)
        after = time.monotonic()
        for msg_type, offset, _length in rtnl.messages(reply):
            if msg_type == rtnl.NLMSG_ERROR and (code := rtnl.error_code(reply, offset)):
                raise OSError(-code, f"rtnetlink {kind} {address}: {os.strerror(-code)}")
        return Change(address, before, after)

    def _run(self) -> None:
        live: deque[tuple[str, float]] = deque()
        step = 1.0 / CHURN_RATE
        due = time.monotonic()
        index = 0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                    now = time.monotonic()
                self.behind = max(self.behind, now - due)
                while live and live[0][1] + LIFETIME <= now:
                    address, _added = live.popleft()
                    self.removals.append(self._request(rtnl.RTM_DELADDR, 0, address))
                address = self.pool[index % len(self.pool)]
                index += 1
                change = self._request(rtnl.RTM_NEWADDR, rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL,
                                       address)
                self.adds.append(change)
                live.append((address, change.after))
                due += step
            while live:
                self.removals.append(self._request(rtnl.RTM_DELADDR, 0, live.popleft()[0]))
        except BaseException as exc:  # reported by stop()
            self.error = exc


# --------------------------------------------------------------------------- the daemon's log


def announce_reasons(path: Path) -> tuple[dict[str, list[str]], list[dict[str, object]]]:
    """Per address, the reason of each frame the daemon says it sent, in order (one per
    packet of each ``announce`` record; ``lower_prio|refresh`` for a burst a refresh was
    merged into), and the error records but ENETDOWN (a send or VRRP receive racing a
    flap's ``link set down``); read line by line."""
    reasons: dict[str, list[str]] = defaultdict(list)
    errors: list[dict[str, object]] = []
    names: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.endswith("\n") or not line.strip():
                continue
            record = json.loads(line)
            if record.get("event") == "announce":
                text = "|".join([record["reason"], *record.get("merged", ())])
                reason = names.setdefault(text, text)
                reasons[record["address"]].extend([reason] * int(record["packets"]))
            elif record.get("level") in ("error", "critical") \
                    and record.get("error") != "Network is down":
                errors.append(record)
    return reasons, errors


# --------------------------------------------------------------------------- the judging


@dataclass
class Window:
    """An interval of the monotonic clock."""

    start: float
    end: float


@dataclass
class Judged:
    """What the wire showed."""

    frames: int = 0
    count_mismatches: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    not_held: list[str] = field(default_factory=list)
    late_after_removal: list[float] = field(default_factory=list)  # within the tolerance
    after_ack: list[float] = field(default_factory=list)  # the not-held ones: how late
    missed: list[str] = field(default_factory=list)
    takeover_lag: list[float] = field(default_factory=list)
    drifts: list[float] = field(default_factory=list)
    drifts_vs_delayed: list[float] = field(default_factory=list)
    arrival_drifts: list[float] = field(default_factory=list)
    stable_drifts: list[float] = field(default_factory=list)
    churned_drifts: list[float] = field(default_factory=list)
    delayed_lag: list[float] = field(default_factory=list)
    round_drifts: list[float] = field(default_factory=list)
    round_spreads: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)


def touches(windows: list[Window], start: float, end: float) -> bool:
    """Whether [start, end] overlaps any of ``windows``."""
    return any(w.start <= end and start <= w.end for w in windows)


def frame_times(frames: list[Frame]) -> dict[str, list[float]]:
    """Each sender address's kernel timestamps, in order."""
    times: dict[str, list[float]] = defaultdict(list)
    for frame in frames:
        assert frame.k is not None
        times[frame.decode()["spa"]].append(frame.k)
    for stamps in times.values():
        stamps.sort()
    return times


def grid_drifts(grid: list[tuple[float, int]]) -> list[float]:
    """The drift of each refresh of one takeover of one address: its time minus its ideal
    one, ``phase + k * REFRESH``. The phase is where the address's timer grid lies: the
    earliest of ``t - k * REFRESH`` over the takeover's delayed frame (k = 0) and its
    refreshes, every one of them a timer that fires on time or late, never early; so one
    late delayed frame (a loop held up by a burst's records) does not shift the grid for
    the refreshes after it, and no frame gets a negative drift."""
    if len(grid) < 2:
        return []
    phase = min(t - k * REFRESH for t, k in grid)
    return [t - (phase + k * REFRESH) for t, k in grid if k > 0]


def refresh_drifts(events_of: dict[str, list[tuple[float, str]]]
                   ) -> tuple[list[float], list[float], list[float], list[str]]:
    """Per refresh frame in ``events_of`` (each address's (time, reason) frames, in
    order): its drift on its takeover's grid (:func:`grid_drifts`) and against the same
    takeover's delayed frame; per delayed frame, its time after the takeover frame plus
    the delay; and the frames no schedule explains."""
    drifts: list[float] = []
    vs_delayed: list[float] = []
    delayed_lag: list[float] = []
    unexpected: list[str] = []
    for address, events in events_of.items():
        anchor: float | None = None
        taken: float | None = None
        grid: list[tuple[float, int]] = []  # this takeover's timer-driven frames: (t, round)
        for t, reason in [*events, (math.inf, "end")]:
            parts = set(reason.split("|"))
            if parts & {*TAKEOVERS, "end"}:
                drifts += grid_drifts(grid)
                taken, anchor, grid = t, None, []
            elif parts & {"master_delay", "link_up_delay"}:
                anchor = t
                grid.append((t, 0))
                if taken is not None:
                    delayed_lag.append(t - taken - DELAY)
            elif "refresh" in parts:
                if anchor is None:
                    unexpected.append(f"{address} refresh at {t:.6f} without a delayed "
                                      f"frame before it")
                    continue
                k = round((t - anchor) / REFRESH)
                grid.append((t, k))
                vs_delayed.append(t - (anchor + k * REFRESH))
            elif not all(p.startswith("lower_prio") for p in parts):
                unexpected.append(f"{address} {reason} at {t:.6f}")
    return drifts, vs_delayed, delayed_lag, unexpected


def judge(frames: list[Frame], departures: list[Frame], reasons: dict[str, list[str]],
          stable: list[str], churner: Churner, flaps: list[tuple[Window, Window]],
          ended: float) -> Judged:
    """Match frames to records and apply the checks of the module docstring.

    ``frames`` are the peer's (arrival times), ``departures`` the daemon side's outgoing
    capture of the same frames (when each left). ``flaps`` are (down, up) request windows:
    ``ip link set down`` ran within ``down``, ``up`` within ``up``; the link was surely
    down from ``down.end`` to ``up.start``.
    """
    out = Judged()
    times, left = frame_times(frames), frame_times(departures)
    out.frames = sum(len(t) for t in times.values())
    wire: dict[str, list[tuple[float, str]]] = {}
    sent: dict[str, list[tuple[float, str]]] = {}
    for address in set(times) | set(left) | set(reasons):
        got, said = times.get(address, []), reasons.get(address, [])
        gone = left.get(address, [])
        if not len(got) == len(gone) == len(said):
            out.count_mismatches[address] = (len(got), len(gone), len(said))
        wire[address] = list(zip(got, said, strict=False))
        sent[address] = list(zip(gone, said, strict=False))
        out.reasons.update(said)
    surely_down = [Window(down.end, up.start) for down, up in flaps]
    flap_zone = [Window(down.start - 0.1, up.end + DELAY + 0.2) for down, up in flaps]

    # Held intervals: stable addresses from the start, churned ones from the start of
    # their addition to the end of their removal (the ACK), minus the link's down time.
    spans: dict[str, list[tuple[Change, Change]]] = defaultdict(list)
    removals: dict[str, deque[Change]] = defaultdict(deque)
    for change in churner.removals:
        removals[change.address].append(change)
    for add in churner.adds:
        spans[add.address].append((add, removals[add.address].popleft()))
    for address, events in sent.items():
        lives = spans.get(address)
        for t, reason in events:
            if any(w.start < t < w.end for w in surely_down):
                out.not_held.append(f"{address} {reason} at {t:.6f}: link down")
            if lives is None:
                continue
            i = bisect.bisect_right([a.before for a, _r in lives], t) - 1
            if i < 0:
                out.not_held.append(f"{address} {reason} at {t:.6f}: before its first add")
                continue
            _add, removal = lives[i]
            if t > removal.after + NOT_HELD_TOLERANCE:
                out.after_ack.append(t - removal.after)
                out.not_held.append(f"{address} {reason} at {t:.6f}: "
                                    f"{ms(t - removal.after)} after its removal's ACK")
            elif t > removal.before:
                out.late_after_removal.append(t - removal.before)

    # The schedule of each churned life that did not touch a flap: master, master_delay,
    # refresh (and lower_prio frames, if an advert came); nothing else.
    for address, lives in spans.items():
        events = wire.get(address, [])
        for add, removal in lives:
            if removal.before - add.after < LIFETIME - 0.05 \
                    or touches(flap_zone, add.before, removal.after):
                continue  # cut short when the churn stopped, or the link flapped
            mine = [(t, r) for t, r in events if add.before <= t <= removal.after]
            kinds = [c for _t, r in mine for c in r.split("|") if not c.startswith("lower_prio")]
            if kinds[:1] != ["master"]:
                out.missed.append(f"{address} added at {add.before:.3f}: no takeover "
                                  f"({kinds})")
                continue
            out.takeover_lag.append(mine[0][0] - add.after)
            # LIFETIME is 2.5 s: one refresh (at +2 s); a removal the churn thread made
            # late (its process busy) leaves time for more, one per grid point before it.
            points = [add.after + DELAY + k * REFRESH for k in range(1, 100)]
            due = [g for g in points if g < removal.before]
            if any(abs(g - removal.before) < 0.1 or abs(g - removal.after) < 0.1
                   for g in points):
                continue  # a refresh due as the address went: either way is right
            if kinds != ["master", "master_delay", *["refresh"] * len(due)]:
                out.missed.append(f"{address} added at {add.before:.3f}, held "
                                  f"{removal.before - add.after:.3f} s: {kinds}")

    # Across every flap: each address held at the link's return, and still held a second
    # later, got its link_up frame.
    held_at: dict[str, list[Window]] = defaultdict(list)
    for address in stable:
        held_at[address].append(Window(-math.inf, math.inf))
    for address, lives in spans.items():
        for add, removal in lives:
            held_at[address].append(Window(add.after, removal.before))
    wire_times = {address: [t for t, _r in events] for address, events in wire.items()}
    for _down, up in flaps:
        if up.end + DELAY > ended:
            continue
        for address, lives_of in held_at.items():
            if not any(w.start <= up.start and up.end + DELAY <= w.end for w in lives_of):
                continue
            events = wire.get(address, [])
            at = wire_times.get(address, [])
            first, last = bisect.bisect_left(at, up.start), bisect.bisect_right(at, up.end + DELAY)
            if not any("link_up" in r.split("|") for _t, r in events[first:last]):
                out.missed.append(f"{address}: no link_up frame after the flap at "
                                  f"{up.start:.3f}")

    # The stable addresses' rounds: the first frame of each refresh round against the first
    # frame of the delayed round of the same takeover, and how long each round took to
    # leave.
    anchors: list[float] = []
    refreshes: list[float] = []
    for address in stable:
        for t, reason in sent.get(address, []):
            parts = set(reason.split("|"))
            if parts & {"master_delay", "link_up_delay"}:
                anchors.append(t)
            elif "refresh" in parts:
                refreshes.append(t)
    firsts = [r[0] for r in clusters(sorted(anchors))]
    for burst in clusters(sorted(refreshes)):
        out.round_spreads.append(burst[-1] - burst[0])
        i = bisect.bisect_right(firsts, burst[0]) - 1
        if i >= 0:
            k = round((burst[0] - firsts[i]) / REFRESH)
            out.round_drifts.append(burst[0] - (firsts[i] + k * REFRESH))

    # Refresh drift on each takeover's grid: as the frames left (the daemon's timing), for
    # the stable and the churned addresses apart and together, and as they arrived (plus
    # the lab's receiving path).
    kept = set(stable)
    steady = refresh_drifts({a: e for a, e in sent.items() if a in kept})
    churned = refresh_drifts({a: e for a, e in sent.items() if a not in kept})
    out.stable_drifts, out.churned_drifts = steady[0], churned[0]
    out.drifts = steady[0] + churned[0]
    out.drifts_vs_delayed = steady[1] + churned[1]
    out.delayed_lag = steady[2] + churned[2]
    out.unexpected = steady[3] + churned[3]
    out.arrival_drifts = refresh_drifts(wire)[0]
    return out


# --------------------------------------------------------------------------- the test


def test_churn_soak(make_lab: LabFactory, garpd_cmd: list[str],
                    request: pytest.FixtureRequest) -> None:
    """1,000 refreshed addresses, 100 churned a second, flaps, reloads, lower-priority
    adverts: no frame for an address not held, no missed takeover, drift p99 <= 5 ms,
    flat RSS."""
    if not asked_for(request):
        pytest.skip("churn soak runs on demand: name tests/churn_soak_test.py or set "
                    "GARPD_CHURN_SECONDS")
    seconds = churn_seconds()
    # Not pytest's tmp_path: another pytest session of the same user started during the
    # half hour would remove it (pytest keeps only its three newest base directories),
    # and with it the control socket. Kept after a failure, for its log.
    workdir = Path(tempfile.mkdtemp(prefix="garpd-churn-", dir="/tmp"))
    # The harness on one CPU, the daemon free to run on any: see harness_cpu().
    cpus = os.sched_getaffinity(0)
    harness = harness_cpu(cpus)
    daemon_cmd = garpd_cmd
    if harness is not None:
        os.sched_setaffinity(0, {harness})
        request.addfinalizer(lambda: os.sched_setaffinity(0, cpus))
        daemon_cmd = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *garpd_cmd]
    sample_every = min(60.0, seconds / 10)
    warm_up = min(120.0, seconds / 4)
    lab = make_pair(make_lab)
    stable = bench_addresses(STABLE)
    pool = bench_addresses(POOL, start="198.18.8.1")
    batch(lab, [f"address add {a}/32 dev eth0" for a in stable])
    cfg = write_config(workdir, {"master_repeat": 1, "master_delay": DELAY,
                                  "master_refresh": REFRESH, "master_refresh_repeat": 1},
                       [{"name": "VI_1", "interface": "eth0", "networks": ["198.18.0.0/15"],
                         "vrid": VRID, "priority": 150}])
    advert = vrrp_frame(lab.mac("peer"), PEER4,
                        build_advert(VRID, 100, [ipaddress.IPv4Address("198.18.0.1")],
                                     version=2))
    # Sent from a socket opened once in the peer's namespace, not by a process started
    # every 5 s (a Python start competes with the daemon for the two CPUs right as the
    # advert's burst goes out).
    with inside(lab.ns("peer")):
        advertiser = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    advertiser.bind(("eth0", 0))
    # SCHED_IDLE: the captures' wake-ups (a few per burst) must not preempt the daemon
    # in the middle of its sends (two CPUs here); their 64 MB buffers wait for them.
    cap = lab.capture("peer", ethertypes=(ETH_P_ARP,), idle=True, drain_after=DRAIN_AFTER)
    departing = lab.capture("a", ethertypes=(ETH_P_ARP,), outgoing=True, idle=True,
                            drain_after=DRAIN_AFTER)
    daemon = Daemon(lab, daemon_cmd, cfg, workdir, name="churn")
    churner = Churner(lab.ns("a"), pool)
    flaps: list[tuple[Window, Window]] = []
    adverts: list[Window] = []
    samples: list[tuple[float, int]] = []
    hups = 0
    try:
        daemon.start()
        # Millions of captured frames (no cycles among them) would make each full
        # collection of this process a pause of up to a second, the churn thread with it.
        gc.disable()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        started = time.monotonic()
        churner.start()
        next_flap, next_hup = started + FLAP_EVERY, started + HUP_EVERY
        next_advert, next_sample = started + ADVERT_EVERY, started
        next_drain = started
        end = started + seconds
        while (now := time.monotonic()) < end:
            if now >= next_drain:
                # The daemon's sd_notify is a blocking send: with the notify socket's queue
                # full (net.unix.max_dgram_qlen, often 10; each reload says RELOADING=1
                # and READY=1) it would wait for us. systemd reads at once; so do we.
                daemon.drain_messages()
                next_drain += 1.0
            if now >= next_sample:
                samples.append((now - started, rss_kb(pid)))
                next_sample += sample_every
            if now >= next_flap:
                before = time.monotonic()
                lab.ip("a", "link", "set", "eth0", "down")
                down = Window(before, time.monotonic())
                time.sleep(FLAP_DOWN)
                before = time.monotonic()
                lab.ip("a", "link", "set", "eth0", "up")
                flaps.append((down, Window(before, time.monotonic())))
                next_flap += FLAP_EVERY
            if now >= next_hup:
                daemon.signal(signal.SIGHUP)
                hups += 1
                next_hup += HUP_EVERY
            if now >= next_advert:
                before = time.monotonic()
                advertiser.send(advert)
                adverts.append(Window(before, time.monotonic()))
                next_advert += ADVERT_EVERY
            time.sleep(max(0.0, min(next_flap, next_hup, next_advert, next_sample,
                                     next_drain, end) - time.monotonic()))
        samples.append((time.monotonic() - started, rss_kb(pid)))
        ran, waited = schedstat(pid)
        churner.stop()
        ended = time.monotonic()
        time.sleep(SETTLE)
        daemon.drain_messages()
        doc = status(lab, garpd_cmd, cfg)
        code, _took = daemon.stop(30.0)
        frames = garps(cap.stop(timeout=120.0))
        departures = garps(departing.stop(timeout=120.0))
    finally:
        gc.enable()
        advertiser.close()
        with contextlib.suppress(Exception):
            churner.stop()
        daemon.close()

    judging = time.monotonic()
    reasons, errors = announce_reasons(daemon.log_path)
    got = judge(frames, departures, reasons, stable, churner, flaps, ended)
    judging = time.monotonic() - judging
    after_warm_up = [kb for at, kb in samples if at >= warm_up]
    baseline = after_warm_up[0] if after_warm_up else samples[-1][1]
    growth = max(after_warm_up or [baseline]) - baseline
    last_vs = samples[-1][1] - baseline
    drifts = [abs(d) for d in got.drifts]
    vs_delayed = [abs(d) for d in got.drifts_vs_delayed]
    arrivals = [abs(d) for d in got.arrival_drifts]
    print(f"\nchurn soak {seconds:.0f} s: {STABLE} stable addresses, {len(churner.adds)} "
          f"added and {len(churner.removals)} removed (churn thread at most "
          f"{ms(churner.behind)} behind), {len(flaps)} flaps, {hups} SIGHUPs, "
          f"{len(adverts)} lower-priority adverts\n"
          f"  frames on the wire {got.frames}, by reason {dict(got.reasons)}; capture "
          f"drops {cap.drops} (peer), {departing.drops} (daemon side); arrival/departure/"
          f"record count mismatches {len(got.count_mismatches)}\n"
          f"  not held when sent: {len(got.not_held)} (tolerance "
          f"{ms(NOT_HELD_TOLERANCE)} after the removal's ACK; those were p50 "
          f"{ms(percentile(got.after_ack, 0.5))}, max "
          f"{ms(max(got.after_ack, default=math.nan))} after it); frames after a removal "
          f"began but within it: {len(got.late_after_removal)}"
          f"{' max ' + ms(max(got.late_after_removal)) if got.late_after_removal else ''}\n"
          f"  missed takeovers / scheduled frames: {len(got.missed)}; unexpected frames: "
          f"{len(got.unexpected)}; takeover frame after the add's ACK: p50 "
          f"{ms(percentile(got.takeover_lag, 0.5))}, p99 "
          f"{ms(percentile(got.takeover_lag, 0.99))}, max "
          f"{ms(max(got.takeover_lag, default=math.nan))}\n"
          f"  refresh drift ({len(drifts)} refreshes): p50 {ms(percentile(drifts, 0.5))}, "
          f"p99 {ms(percentile(drifts, 0.99))}, p99.9 {ms(percentile(drifts, 0.999))}, "
          f"max {ms(max(drifts, default=math.nan))}; as they arrived: p50 "
          f"{ms(percentile(arrivals, 0.5))}, p99 {ms(percentile(arrivals, 0.99))}, max "
          f"{ms(max(arrivals, default=math.nan))}; the stable addresses' p99 "
          f"{ms(percentile([abs(d) for d in got.stable_drifts], 0.99))}, the churned ones' "
          f"({len(got.churned_drifts)}) p99 "
          f"{ms(percentile([abs(d) for d in got.churned_drifts], 0.99))}; against the "
          f"delayed frame instead: p50 {ms(percentile(vs_delayed, 0.5))}, p99 "
          f"{ms(percentile(vs_delayed, 0.99))}; delayed frame vs takeover frame + delay: "
          f"p50 {ms(percentile(got.delayed_lag, 0.5))}, p99 "
          f"{ms(percentile(got.delayed_lag, 0.99))}\n"
          f"  the {STABLE} stable addresses' {len(got.round_spreads)} refresh rounds: first "
          f"frame drift p50 {ms(percentile([abs(d) for d in got.round_drifts], 0.5))}, "
          f"p99 {ms(percentile([abs(d) for d in got.round_drifts], 0.99))}, max "
          f"{ms(max([abs(d) for d in got.round_drifts], default=math.nan))}; round spread "
          f"p50 {ms(percentile(got.round_spreads, 0.5))}, max "
          f"{ms(max(got.round_spreads, default=math.nan))}\n"
          f"  RSS kB {[kb for _at, kb in samples]} (every {sample_every:.0f} s); after the "
          f"{warm_up:.0f} s warm-up: max growth {growth} kB, last - first {last_vs} kB\n"
          f"  daemon on a CPU {ran:.1f} s ({ran / seconds:.0%} of one core), runnable but "
          f"waiting for one {waited:.1f} s; errors other than "
          f"ENETDOWN {len(errors)}, exit {code}; load {os.getloadavg()}; judged in "
          f"{judging:.0f} s")
    counters = doc.get("counters", {})
    print("  daemon counters: " + ", ".join(
        f"{name} {counters.get(name)}" for name in ("frames_sent", "frames_dropped",
                                                    "send_retries", "send_errors")))
    print(f"  daemon log and config in {workdir} (removed if every check passes)")
    for name, items in (("not held", got.not_held), ("missed", got.missed),
                        ("unexpected", got.unexpected),
                        ("count mismatches", list(got.count_mismatches.items()))):
        if items:
            print(f"  first {name}: {items[:10]}")
    assert code == 0
    assert held(doc) == set(stable)
    assert cap.drops == 0
    assert departing.drops == 0
    assert not errors, errors[:5]
    assert not got.count_mismatches, list(got.count_mismatches.items())[:10]
    assert not got.not_held, got.not_held[:10]
    assert not got.missed, got.missed[:10]
    assert not got.unexpected, got.unexpected[:10]
    assert percentile(drifts, 0.99) <= MAX_DRIFT_P99
    assert growth <= MAX_RSS_GROWTH_KB, samples
    assert abs(last_vs) <= MAX_RSS_GROWTH_KB, samples
    shutil.rmtree(workdir)
