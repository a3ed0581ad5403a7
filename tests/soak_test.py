"""Soak test, on demand only: 1,000 held addresses refreshed every second for a long time.

Run it by name (it needs root for the namespace lab)::

    GARPD_SOAK_SECONDS=600 /opt/garpd-dev/bin/pytest -s tests/soak_test.py

``GARPD_SOAK_SECONDS`` is how long the refresh runs (default 600). pytest's default file
patterns include ``*_test.py``, so a plain ``pytest`` run collects this file, but the test
skips itself unless the file is named on the command line or ``GARPD_SOAK_SECONDS`` is set.

What it checks, with ``master_repeat = 1``, ``master_delay = 1.0``, ``master_refresh = 1.0``,
``master_refresh_repeat = 1`` and the 1,000 addresses present at start (announce_on_start):

- on the wire, round r (r = 0 the takeover, 1 the delayed burst, 2... the refreshes) is
  due at t0 + delay + (r - 1) * refresh. t0 is the takeover's own time, read off the
  delayed burst's first frame (minus the delay): the takeover burst itself leaves a few
  tens of ms after t0, once the 1,000 start-up addresses are processed. Every refresh's
  drift from its ideal time is at most 10 ms (max and p99 are printed);
- every address is in every round, exactly once;
- the daemon's RSS (/proc/PID/status VmRSS, sampled every 10 s) grows by less than 5 MB
  after a 20 s warm-up.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.daemon_helpers import Daemon, bursts, control_request, garps
from tests.lab import LabFactory
from tests.test_daemon_lab import control_socket, make_pair, write_config
from tests.test_faults_lab import batch, bench_addresses, held, status

pytestmark = pytest.mark.lab

ADDRESSES = 1000
DELAY = 1.0
REFRESH = 1.0
MAX_DRIFT = 0.010
MAX_RSS_GROWTH_KB = 5 * 1024
WARM_UP = 20.0
SAMPLE_EVERY = 10.0


def soak_seconds() -> float:
    """GARPD_SOAK_SECONDS, default 600 (the ten minutes the hardening issue asks for)."""
    return float(os.environ.get("GARPD_SOAK_SECONDS") or 600)


def asked_for(request: pytest.FixtureRequest) -> bool:
    """The soak runs only when named on the command line or given GARPD_SOAK_SECONDS."""
    if "GARPD_SOAK_SECONDS" in os.environ:
        return True
    return any("soak_test" in str(arg) for arg in request.config.invocation_params.args)


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def takeover_time(sock: Path, address: str) -> float:
    """When the daemon took ``address`` over, on the monotonic clock (its loop.time()).

    A status request answered with ``held_for`` h brackets the takeover in
    [sent - h, received - h]; the daemon reads its clock right after the request arrives,
    so the lower bound is the tight one. The best of five requests, made while the daemon
    is idle between rounds, is taken.
    """
    bounds = []
    for _ in range(5):
        sent = time.monotonic()
        doc = control_request(sock, {"command": "status"}, timeout=30.0)
        held_for = float(next(r for r in doc["addresses"] if r["address"] == address)["held_for"])
        bounds.append(sent - held_for)
        time.sleep(0.1)
    return max(bounds)


def round_log_times(daemon: Daemon, count: int) -> list[float]:
    """Monotonic time of the first ``announce`` record of each of the first ``count`` rounds
    (master, master_delay, refresh...) of 198.18.0.1, from the log's wall-clock stamps."""
    offset = time.time() - time.monotonic()
    stamps = [r["timestamp"] for r in daemon.records("announce", address="198.18.0.1")]
    return [datetime.fromisoformat(str(s)).timestamp() - offset for s in stamps[:count]]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def test_soak_refresh_1000_addresses(make_lab: LabFactory, garpd_cmd: list[str],
                                     tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """1,000 addresses refreshed every second: no drift over 10 ms, none missed, flat RSS."""
    if not asked_for(request):
        pytest.skip("soak test runs on demand: name tests/soak_test.py or set "
                    "GARPD_SOAK_SECONDS")
    seconds = soak_seconds()
    lab = make_pair(make_lab)
    addresses = bench_addresses(ADDRESSES)
    batch(lab, [f"address add {a}/32 dev eth0" for a in addresses])
    cfg = write_config(tmp_path, {"master_repeat": 1, "master_delay": DELAY,
                                  "master_refresh": REFRESH, "master_refresh_repeat": 1})
    cap = lab.capture("peer")
    daemon = Daemon(lab, garpd_cmd, cfg, tmp_path, name="soak")
    try:
        daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        started = time.monotonic()
        time.sleep(DELAY + 0.3)  # past the takeover's bursts: the daemon is idle
        t0 = takeover_time(control_socket(tmp_path), addresses[0])
        samples: list[tuple[float, int]] = []
        while (elapsed := time.monotonic() - started) < seconds:
            samples.append((elapsed, rss_kb(pid)))
            time.sleep(min(SAMPLE_EVERY, max(0.0, seconds - elapsed)))
        samples.append((time.monotonic() - started, rss_kb(pid)))
        doc = status(lab, garpd_cmd, cfg)
        frames = cap.stop()
        code, _took = daemon.stop(10.0)
    finally:
        daemon.close()

    assert code == 0
    assert held(doc) == set(addresses)
    wanted = set(addresses)
    rounds = bursts([f for f in garps(frames) if f.decode()["spa"] in wanted], gap=0.3)
    assert len(rounds) >= 3, [len(r) for r in rounds]
    rounds = rounds[:-1]  # the last may have been cut by the capture's end
    takeover_lag = rounds[0][0].t - t0
    logged = round_log_times(daemon, len(rounds))
    drifts = []
    log_drifts = []
    for r, frames_of_round in enumerate(rounds):
        seen = Counter(f.decode()["spa"] for f in frames_of_round)
        assert seen == dict.fromkeys(addresses, 1), f"round {r}: {len(seen)} addresses"
        if r >= 2:
            ideal = t0 + DELAY + (r - 1) * REFRESH
            drifts.append(frames_of_round[0].t - ideal)
            log_drifts.append(logged[r] - ideal)
    spreads = [b[-1].t - b[0].t for b in rounds]
    after_warm_up = [kb for at, kb in samples if at >= WARM_UP]
    baseline = after_warm_up[0] if after_warm_up else samples[-1][1]
    growth = max(after_warm_up or [baseline]) - baseline
    worst = max(abs(d) for d in drifts)
    late = [abs(d) for d in log_drifts]
    print(f"\nsoak {seconds:.0f}s: {len(rounds)} complete rounds of {ADDRESSES} addresses "
          f"({len(drifts)} refreshes), every address once in every round\n"
          f"  wire drift (first frame of a round at the peer vs its ideal time): max "
          f"{worst * 1000:.2f} ms, p99 {percentile([abs(d) for d in drifts], 0.99) * 1000:.2f} "
          f"ms, median {percentile([abs(d) for d in drifts], 0.5) * 1000:.2f} ms\n"
          f"  daemon drift (its first announce record of the round, after the frames): max "
          f"{max(late) * 1000:.2f} ms, p99 {percentile(late, 0.99) * 1000:.2f} ms, median "
          f"{percentile(late, 0.5) * 1000:.2f} ms\n"
          f"  round spread max {max(spreads) * 1000:.2f} ms; takeover burst "
          f"{takeover_lag * 1000:.1f} ms after t0; capture drops {cap.drops}\n"
          f"  RSS kB every {SAMPLE_EVERY:.0f} s {[kb for _at, kb in samples]}; growth after "
          f"the {WARM_UP:.0f} s warm-up {growth} kB\n"
          f"  wire drifts ms {[round(d * 1000, 1) for d in drifts]}")
    assert worst <= MAX_DRIFT, [round(d * 1000, 2) for d in drifts]
    assert growth < MAX_RSS_GROWTH_KB, samples
