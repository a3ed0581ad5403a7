"""Logging (garpd.log, and garpd.quicklog for the notify hand-off): JSON lines on a stream,
level filtering, and writes that fail are dropped and counted, never raised."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from garpd import log, quicklog


@pytest.fixture(autouse=True)
def reset_structlog() -> Iterator[None]:
    """Every test configures structlog itself; the defaults come back afterwards."""
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.reset_defaults()


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = stream.getvalue().splitlines()
    out = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) for r in out)
    return out


def dropped() -> int:
    """The current value of garpd.log.DROPPED."""
    return log.DROPPED


def _check_timestamp(text: object) -> None:
    assert isinstance(text, str)
    assert text.endswith("Z")
    stamp = datetime.fromisoformat(text)
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


class FailingStream(io.StringIO):
    """A stream whose write (or flush) raises ``exc``."""

    def __init__(self, exc: Exception, on: str = "write") -> None:
        super().__init__()
        self.exc = exc
        self.on = on

    def write(self, s: str) -> int:
        """Raise if writes fail."""
        if self.on == "write":
            raise self.exc
        return super().write(s)

    def flush(self) -> None:
        """Raise if flushes fail."""
        if self.on == "flush":
            raise self.exc
        super().flush()


def test_json_line_has_event_level_timestamp_and_fields() -> None:
    """One JSON object per line: event, level, ISO 8601 UTC timestamp and the fields."""
    stream = io.StringIO()
    log.setup("json", "info", stream)
    log.get().info("announce", interface="eth0", address="192.0.2.100",
                   mac="02:00:00:00:00:02", reason="master", packets=5)
    (record,) = _records(stream)
    assert record["event"] == "announce"
    assert record["level"] == "info"
    _check_timestamp(record["timestamp"])
    assert {k: record[k] for k in ("interface", "address", "mac", "reason", "packets")} == {
        "interface": "eth0", "address": "192.0.2.100", "mac": "02:00:00:00:00:02",
        "reason": "master", "packets": 5}
    assert stream.getvalue().endswith("}\n")


def test_every_record_is_its_own_line() -> None:
    """Several records, several lines, each a complete JSON object, even with newlines."""
    stream = io.StringIO()
    log.setup("json", "debug", stream)
    logger = log.get()
    logger.info("vip_acquired", interface="eth0", address="192.0.2.1")
    logger.warning("control_rejected", error="line one\nline two")
    logger.error("send_failed", interface="eth0", errno=100)
    records = _records(stream)
    assert [(r["event"], r["level"]) for r in records] == [
        ("vip_acquired", "info"), ("control_rejected", "warning"), ("send_failed", "error")]
    assert records[1]["error"] == "line one\nline two"


def test_console_format_is_one_readable_line() -> None:
    """console format: one line with the event and key=value fields, not JSON."""
    stream = io.StringIO()
    log.setup("console", "info", stream)
    log.get().info("announce", interface="eth0", packets=5)
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "announce" in text
    assert "interface=eth0" in text
    assert "packets=5" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize(("level", "written"), [
    ("debug", ["d", "i", "w", "e"]),
    ("info", ["i", "w", "e"]),
    ("warning", ["w", "e"]),
    ("error", ["e"]),
    ("INFO", ["i", "w", "e"]),
])
def test_level_filtering(level: str, written: list[str]) -> None:
    """Records below the configured level are not written."""
    stream = io.StringIO()
    log.setup("json", level, stream)
    logger = log.get()
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.error("e")
    assert [r["event"] for r in _records(stream)] == written


def test_closed_stream_does_not_raise_and_is_counted() -> None:
    """A closed stream: the record is dropped, DROPPED goes up, nothing raises."""
    stream = io.StringIO()
    log.setup("json", "info", stream)
    stream.close()
    before = dropped()
    log.get().info("announce", interface="eth0")
    log.get().error("send_failed", interface="eth0")
    assert dropped() == before + 2


@pytest.mark.parametrize(("exc", "on"), [
    (OSError(errno.ENOSPC, "No space left on device"), "write"),
    (OSError(errno.ENOSPC, "No space left on device"), "flush"),
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), "write"),
    (OSError(errno.EIO, "Input/output error"), "write"),
], ids=["enospc-write", "enospc-flush", "epipe", "eio"])
def test_failing_stream_does_not_raise_and_is_counted(exc: Exception, on: str) -> None:
    """A write or flush raising OSError (full disk, broken pipe) is dropped and counted."""
    stream = FailingStream(exc, on)
    log.setup("json", "info", stream)
    before = dropped()
    log.get().info("announce", interface="eth0")
    assert dropped() == before + 1
    log.get().debug("filtered")  # below the level: not a drop
    assert dropped() == before + 1


def test_records_go_to_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream, records go to (the current) sys.stderr, nothing to stdout."""
    log.setup("json", "info")
    log.get().info("config_loaded", source="built-in")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["event"] == "config_loaded"


def test_missing_stderr_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """sys.stderr None (fd 2 closed at start) drops and counts the record."""
    log.setup("json", "info")
    monkeypatch.setattr(sys, "stderr", None)
    before = dropped()
    log.get().info("config_loaded", source="built-in")
    assert dropped() == before + 1


# --- quicklog (the notify hand-off path) --------------------------------------------------


def test_quicklog_json_matches_the_structlog_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """QuickLog writes the same JSON shape to stderr: event, level, timestamp, fields."""
    quicklog.QuickLog("json", "info").info("notify_received", group="VI_1", state="MASTER")
    captured = capsys.readouterr()
    assert captured.out == ""
    record = json.loads(captured.err)
    assert record["event"] == "notify_received"
    assert record["level"] == "info"
    assert (record["group"], record["state"]) == ("VI_1", "MASTER")
    _check_timestamp(record["timestamp"])


def test_quicklog_level_filtering(capsys: pytest.CaptureFixture[str]) -> None:
    """QuickLog drops records below its level."""
    q = quicklog.QuickLog("json", "warning")
    q.debug("d")
    q.info("i")
    q.warning("w")
    q.error("e")
    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events == ["w", "e"]


def test_quicklog_failing_stderr_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """QuickLog on a stderr that raises ENOSPC does not raise."""
    monkeypatch.setattr(sys, "stderr", FailingStream(OSError(errno.ENOSPC, "full")))
    quicklog.QuickLog("json", "info").error("notify_failed", error="x")


def test_quicklog_missing_stderr_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """QuickLog with sys.stderr None does not raise."""
    monkeypatch.setattr(sys, "stderr", None)
    quicklog.QuickLog("json", "info").info("notify_received")


# --- exit with stderr that cannot be flushed ------------------------------------------------


_EXIT_SCRIPT = """
import sys
from garpd import log, quicklog
log.setup("json", "info")
log.get().info("stopping", held=0)
if sys.argv[1] == "release":
    quicklog.release_stderr()
sys.exit(0)
"""


@pytest.mark.parametrize(("release", "code"), [(True, 0), (False, 120)],
                         ids=["released", "not-released"])
def test_release_stderr_lets_a_full_stderr_exit_0(release: bool, code: int) -> None:
    """stderr on /dev/full, Python's default buffered stderr: exit 120 unless released."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-c", _EXIT_SCRIPT, "release" if release else "keep"],
            stderr=full, env=env, timeout=60, check=False)
    assert done.returncode == code
