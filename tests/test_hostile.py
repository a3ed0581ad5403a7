"""Hostile input and clock faults, without the lab (fast).

- ``garpd notify`` argument handling never raises and always exits 0 (keepalived must never
  see the hook fail), whatever TYPE / NAME / STATE / PRIORITY hold;
- the FIFO, control-request, garpd.toml and keepalived.conf parsers raise nothing but their
  own error type on any input, and what they accept reads back the same
  (tests/hostile_strategies.py);
- the runner schedules on the monotonic clock: wall-clock jumps of an hour either way in
  the middle of a schedule move nothing.

The properties run 100-150 examples each; the long run, on demand::

    GARPD_FUZZ_EXAMPLES=200000 /opt/garpd-dev/bin/pytest tests/test_hostile.py tests/fuzz_vrrp.py
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import event, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from garpd import cli, frames
from garpd.config import Config, ConfigError, loads_config, parse_config
from garpd.control import parse_request
from garpd.core import Announcer
from garpd.drivers.fifo import parse_fifo_line
from garpd.drivers.sender import Sender, SendResult
from garpd.events import AddressChanged, LinkChanged
from garpd.keepalived import Imported, loads_keepalived, merge_toml
from garpd.policy import StaticPolicy, Timing
from garpd.runner import Runner
from tests.hostile_strategies import (
    control_lines,
    fifo_lines,
    fuzz_settings,
    keepalived_texts,
    notify_args,
    toml_documents,
)

HERE = Path(__file__).resolve().parent
QUICK = fuzz_settings(150)
#: The only group in the notify tests' configuration; generated names never equal it.
GROUP_NAME = "VI_hostile_no_match"


@pytest.fixture(scope="module")
def notify_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration whose control socket does not exist and whose one group, on an
    interface that does not exist, no generated name matches: nothing can be sent."""
    tmp = tmp_path_factory.mktemp("notify")
    path = tmp / "garpd.toml"
    path.write_text(
        "[control]\n"
        f'socket = "{tmp / "nothing-listens.sock"}"\n'
        "[[group]]\n"
        f'name = "{GROUP_NAME}"\n'
        'interface = "gdnone0"\n'
        'addresses = ["192.0.2.99"]\n'
    )
    return path


def run_notify(argv: list[str]) -> tuple[int, str]:
    """``garpd.cli.main(argv)`` with stderr captured; (exit code, stderr).

    SystemExit (argparse) counts as that exit code; any other exception propagates.
    """
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        structlog.reset_defaults()  # the fallback configures structlog for this process
    return code, err.getvalue()


# --------------------------------------------------------------------------- notify


@QUICK
@given(args=notify_args())
def test_notify_with_matching_config_always_exits_0(notify_config: Path,
                                                    args: tuple[str, str, str, str | None]
                                                    ) -> None:
    """Any TYPE/NAME/STATE/PRIORITY (no daemon, nothing matching): exit 0, no exception."""
    kind, name, state, priority = args
    if name == GROUP_NAME:
        return
    argv = ["notify", "-c", str(notify_config), kind, name, state]
    if priority is not None:
        argv.append(priority)
    code, _err = run_notify(argv)
    assert code == 0


@QUICK
@given(args=notify_args())
def test_notify_with_missing_config_always_exits_0(tmp_path_factory: pytest.TempPathFactory,
                                                   args: tuple[str, str, str, str | None]
                                                   ) -> None:
    """A configuration file that does not exist: still exit 0 for every argument."""
    kind, name, state, priority = args
    missing = HERE / "data" / "no-such-garpd.toml"
    assert not missing.exists()
    argv = ["notify", "-c", str(missing), kind, name, state]
    if priority is not None:
        argv.append(priority)
    code, _err = run_notify(argv)
    assert code == 0


@pytest.mark.parametrize("priority", ["-1", "-200"])
def test_notify_negative_priority_is_a_word_not_an_option(notify_config: Path,
                                                          priority: str) -> None:
    """A negative PRIORITY is taken as the priority word (ignored as out of range): exit 0."""
    code, err = run_notify(["notify", "-c", str(notify_config), "INSTANCE", "VI_x", "BACKUP",
                            priority])
    assert code == 0, err


@pytest.mark.parametrize("words", [
    ["INSTANCE", "-VI_1", "MASTER", "100"],
    ["GROUP", "--vg", "BACKUP"],
    ["INSTANCE", "VI_1", "MASTER", "-x"],
], ids=["name-dash", "name-double-dash", "priority-dash"])
def test_notify_words_starting_with_a_dash_exit_0(notify_config: Path,
                                                  words: list[str]) -> None:
    """Words that look like options are still the hook's words: exit 0."""
    code, err = run_notify(["notify", "-c", str(notify_config), *words])
    assert code == 0, err


@QUICK
@given(args=notify_args(allow_dash=True))
def test_notify_words_that_look_like_options_always_exit_0(
        notify_config: Path, args: tuple[str, str, str, str | None]) -> None:
    """Any words, including ones starting with "-" (a keepalived name may): exit 0."""
    kind, name, state, priority = args
    words = [w for w in args if w is not None]
    if name == GROUP_NAME or any(w.startswith(("-c", "--c", "--l")) for w in words):
        # A word that is one of garpd's own options before the hook words (-c, --config,
        # --log-*) is taken as that option; it could name another configuration, even the
        # built-in one that announces everything held: not something to fuzz as root.
        return
    argv = ["notify", "-c", str(notify_config), kind, name, state]
    if priority is not None:
        argv.append(priority)
    code, _err = run_notify(argv)
    event(f"exit {code}")
    assert code == 0


# --------------------------------------------------------------------------- parsers


@QUICK
@given(line=fifo_lines())
def test_fifo_line_parser_raises_only_value_error(line: str) -> None:
    """parse_fifo_line: a FifoLine (which reads back the same from its canonical form) or
    ValueError, for anything."""
    try:
        parsed = parse_fifo_line(line)
    except ValueError:
        event("rejected")
        return
    event("accepted")
    assert parsed.kind in ("INSTANCE", "GROUP")
    assert parsed.name
    assert '"' not in parsed.name
    assert parsed.priority is None or 0 <= parsed.priority <= 255
    canonical = f'{parsed.kind} "{parsed.name}" {parsed.state}'
    if parsed.priority is not None:
        canonical += f" {parsed.priority}"
    assert parse_fifo_line(canonical) == parsed


@QUICK
@given(line=control_lines())
def test_control_request_parser_raises_only_value_error(line: bytes) -> None:
    """parse_request: a request dict (that survives a JSON round trip) or ValueError, for
    any bytes."""
    try:
        request = parse_request(line)
    except ValueError:
        event("rejected")
        return
    event(f"accepted {request['command']}")
    assert request["command"] in ("status", "notify", "ping")
    assert parse_request(json.dumps(request).encode()) == request


@fuzz_settings(100)
@given(text=toml_documents())
def test_config_loader_raises_only_config_error(text: str) -> None:
    """loads_config: a Config or ConfigError with one-line reasons naming the source."""
    error: ConfigError | None = None
    try:
        config = loads_config(text, "hostile.toml")
    except ConfigError as exc:
        error = exc
    if error is not None:
        event("rejected")
        assert error.lines
        assert all(line.startswith("hostile.toml") and "\n" not in line for line in error.lines)
        return
    event("accepted")
    assert isinstance(config, Config)


@QUICK
@given(text=keepalived_texts())
def test_keepalived_loader_never_raises(text: str) -> None:
    """loads_keepalived: always an Imported (problems are notes), never an exception; the
    garp settings it imports are then validated (a ConfigError with reasons), not trusted."""
    base = HERE / "data" / "keepalived" / "empty-include-dir"
    result = loads_keepalived(text, str(base / "keepalived.conf"), base_dir=base,
                              config_id="node-a")
    assert isinstance(result, Imported)
    assert all(isinstance(note, str) for note in result.unsupported)
    event(f"groups={min(len(result.groups), 3)}")
    error: ConfigError | None = None
    try:
        parse_config(merge_toml({}, result), "hostile.toml")
    except ConfigError as exc:
        error = exc
    assert error is None or error.lines


# --------------------------------------------------------------------------- clock jumps

MAC = bytes.fromhex("020000000002")
VIP = ipaddress.ip_address("192.0.2.10")


class ClockedSender(Sender):
    """Takes every frame and notes the monotonic time of each call."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def send(self, ifname: str, ifindex: int, frames: list[bytes]) -> SendResult:
        """Record when, accept everything."""
        self.times.append(time.monotonic())
        return SendResult(len(frames), [])


@pytest.fixture
def jumping_wall_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """time.time() made to run ``offset[0]`` seconds off; callers from garpd are failures."""
    real = time.time
    offset = [0.0]
    garpd_callers: list[str] = []

    def fake() -> float:
        caller = sys._getframe(1).f_globals.get("__name__", "?")
        if str(caller).startswith("garpd"):
            garpd_callers.append(str(caller))
        return real() + offset[0]

    monkeypatch.setattr(time, "time", fake)
    yield offset
    assert garpd_callers == [], f"garpd read the wall clock from {sorted(set(garpd_callers))}"


def test_schedule_ignores_wall_clock_jumps(jumping_wall_clock: list[float]) -> None:
    """time.time jumping +1 h then -1 h mid-schedule: frames still at the monotonic offsets."""
    offset = jumping_wall_clock
    timing = Timing(master_repeat=1, master_delay=0.2, master_refresh=0.2,
                    master_refresh_repeat=1)
    drift: list[float] = []

    frames.FrameCache().slot(MAC, VIP, "request", False)  # warm: imports done before t0

    async def scenario() -> tuple[float, ClockedSender, Runner]:
        loop = asyncio.get_running_loop()
        sender = ClockedSender()
        runner = Runner(Announcer(StaticPolicy(timing)), sender, structlog.get_logger(), loop)

        def jump(to: float) -> None:
            offset[0] = to
            drift.append(loop.time() - time.monotonic())
            assert abs(time.time() - (time.monotonic() + to)) > 3000 or to == 0.0

        for at, to in ((0.1, 3600.0), (0.3, -3600.0), (0.7, 0.0), (0.9, -3600.0)):
            loop.call_later(at, jump, to)
        start = time.monotonic()
        runner.feed([LinkChanged("eth0", 2, MAC, True, True), AddressChanged("eth0", VIP)])
        await asyncio.sleep(1.1)
        runner.close()
        return start, sender, runner

    with capture_logs() as logs:
        start, sender, runner = asyncio.run(scenario())
    offsets = [t - start for t in sender.times]
    expected = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert len(offsets) == len(expected), offsets
    for got, want in zip(offsets, expected, strict=True):
        assert abs(got - want) < 0.08, (offsets, expected)
    assert [e["reason"] for e in logs if e["event"] == "announce"] == [
        "master", "master_delay", "refresh", "refresh", "refresh", "refresh"]
    # The loop's clock is the monotonic clock: the jumps never showed in loop.time().
    assert len(drift) == 4
    assert all(abs(d) < 0.05 for d in drift), drift
    assert runner.counters["frames_sent"] == 6


def test_event_loop_clock_is_monotonic() -> None:
    """asyncio's default loop.time() is time.monotonic(), not the wall clock."""
    loop = asyncio.new_event_loop()
    try:
        before = time.monotonic()
        now = loop.time()
        after = time.monotonic()
        assert before <= now <= after
        assert getattr(loop, "_clock_resolution", None) \
            == time.get_clock_info("monotonic").resolution
    finally:
        loop.close()


@given(st.floats(min_value=-86400 * 365, max_value=86400 * 365, allow_nan=False))
@settings(max_examples=20, deadline=None)
def test_core_timeline_is_relative_to_the_time_it_is_given(shift: float) -> None:
    """The core only sees the times it is handed: any epoch gives the same relative plan."""
    timing = Timing(master_repeat=2, master_delay=0.5, master_refresh=1.0)

    def plan(base: float) -> list[tuple[float, int]]:
        core = Announcer(StaticPolicy(timing))
        core.handle(LinkChanged("eth0", 2, MAC, True, True), base)
        core.handle(AddressChanged("eth0", VIP), base)
        out = []
        now = base
        for _ in range(6):
            deadline = core.next_deadline()
            assert deadline is not None
            now = deadline
            sent = sum(len(f) for f in core.poll(now).frames.values())
            out.append((round(now - base, 6), sent))
        return out

    assert plan(1000.0 + shift) == plan(1000.0)
