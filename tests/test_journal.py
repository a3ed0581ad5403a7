"""The journal's native protocol (garpd.drivers.journal): fields, MESSAGE and MESSAGE_ID,
the wire form, the writer (sent, dropped when full, unavailable when absent, memfd when
large), and garpd.log / garpd.quicklog choosing the journal only when JOURNAL_STREAM
names stderr."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from garpd import log, quicklog
from garpd.drivers import journal
from tests.journal_helpers import Receiver, one, parse

REPO = Path(__file__).resolve().parent.parent

ANNOUNCE = {"interface": "eth0", "address": "192.0.2.100", "mac": "02:00:00:00:00:01",
            "reason": "master", "packets": 5, "group": "VI_1", "event": "announce",
            "level": "info", "timestamp": "2024-01-01T00:00:00.000000Z"}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A datagram socket reading the native protocol, standing in for journald."""
    got = Receiver(tmp_path / "journal.socket")
    try:
        yield got
    finally:
        got.close()


@pytest.fixture(autouse=True)
def reset_structlog() -> Iterator[None]:
    """Every test configures structlog itself; the defaults come back afterwards."""
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.reset_defaults()


def stream_id(fd: int) -> str:
    """``device:inode`` of ``fd``, as systemd writes JOURNAL_STREAM."""
    st = os.fstat(fd)
    return f"{st.st_dev}:{st.st_ino}"


# --------------------------------------------------------------------------- pure parts


def test_stream_is_journal_compares_device_and_inode(tmp_path: Path) -> None:
    """JOURNAL_STREAM matches only the device:inode of the given fd; garbage never does."""
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        assert journal.stream_is_journal(stream_id(a.fileno()), a.fileno())
        assert not journal.stream_is_journal(stream_id(b.fileno()), a.fileno())
        dev, ino = stream_id(a.fileno()).split(":")
        for value in (None, "", dev, f"{dev}:", f":{ino}", f"{dev}:{ino}x", "x:y",
                      f"{dev};{ino}", f"{dev}:{int(ino) + 1}"):
            assert not journal.stream_is_journal(value, a.fileno()), value
    assert not journal.stream_is_journal("1:1", 999)  # a closed fd


@pytest.mark.parametrize(("key", "name"), [
    ("event", "GARPD_EVENT"),
    ("address", "GARPD_ADDRESS"),
    ("local_priority", "GARPD_LOCAL_PRIORITY"),
    ("x-y.z", "GARPD_X_Y_Z"),
    ("_private", "GARPD__PRIVATE"),
    ("ümlaut", "GARPD__MLAUT"),
    ("9lives", "GARPD_9LIVES"),
    ("k" * 80, "GARPD_" + "K" * 58),
])
def test_field_names_follow_the_journal_rules(key: str, name: str) -> None:
    """GARPD_ + the key upper-cased, A-Z0-9_ only, never starting with _, 64 at most."""
    assert journal.field_name(key) == name
    assert re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", journal.field_name(key))


def test_announce_entry_fields() -> None:
    """An announce record: MESSAGE, PRIORITY 6, identifier, MESSAGE_ID, every key a field."""
    assert journal.entry(ANNOUNCE) == [
        ("MESSAGE", "announce 192.0.2.100 on eth0 (master, 5 packets)"),
        ("PRIORITY", "6"),
        ("SYSLOG_IDENTIFIER", "garpd"),
        ("MESSAGE_ID", journal.EVENTS["announce"][0]),
        ("GARPD_INTERFACE", "eth0"),
        ("GARPD_ADDRESS", "192.0.2.100"),
        ("GARPD_MAC", "02:00:00:00:00:01"),
        ("GARPD_REASON", "master"),
        ("GARPD_PACKETS", "5"),
        ("GARPD_GROUP", "VI_1"),
        ("GARPD_EVENT", "announce"),
        ("GARPD_LEVEL", "info"),
        ("GARPD_TIMESTAMP", "2024-01-01T00:00:00.000000Z"),
    ]


@pytest.mark.parametrize(("level", "priority"), [
    ("critical", "2"), ("error", "3"), ("warning", "4"), ("info", "6"), ("debug", "7"),
    ("unheard-of", "6")])
def test_priority_per_level(level: str, priority: str) -> None:
    """SPEC: error 3, warning 4, info 6, debug 7 (critical 2; anything else info)."""
    fields = dict(journal.entry({"event": "x", "level": level}))
    assert fields["PRIORITY"] == priority


def test_values_as_json_writes_them_and_none_left_out() -> None:
    """Numbers, booleans, lists and objects as JSON text; a None value is no field."""
    fields = dict(journal.entry({"event": "vip_released", "level": "info", "count": 3,
                                 "ratio": 0.25, "reload": True, "cancelled": False,
                                 "groups": ["VI_1", "VI_2"], "doc": {"a": 1}, "group": None}))
    assert (fields["GARPD_COUNT"], fields["GARPD_RATIO"], fields["GARPD_RELOAD"],
            fields["GARPD_CANCELLED"], fields["GARPD_GROUPS"], fields["GARPD_DOC"]) == (
        "3", "0.25", "true", "false", '["VI_1","VI_2"]', '{"a":1}')
    assert "GARPD_GROUP" not in fields


@pytest.mark.parametrize(("record", "text"), [
    ({"event": "vip_acquired", "interface": "eth0", "address": "192.0.2.1", "group": "VI_1"},
     "192.0.2.1 acquired on eth0 (group VI_1)"),
    ({"event": "send_failed", "interface": "eth0", "error": "No buffer space available",
      "dropped": 3}, "frames could not be sent on eth0: No buffer space available (3 dropped)"),
    ({"event": "config_loaded", "source": "/etc/garpd/garpd.toml", "groups": ["a", "b"]},
     "configuration loaded from /etc/garpd/garpd.toml (groups a, b)"),
    ({"event": "notify_failed", "type": "INSTANCE", "name": "VI_1", "errors": ["bad", "x"]},
     "notify INSTANCE VI_1 failed: bad, x"),
    ({"event": "announce", "address": "192.0.2.1"}, "announce 192.0.2.1 on ? (?, ? packets)"),
    ({"event": "not_in_table", "a": 1, "b": None}, "not_in_table a=1"),
])
def test_message_is_a_readable_sentence(record: dict[str, object], text: str) -> None:
    """MESSAGE from the event's template; missing fields read ?, unknown events key=value."""
    event = str(record.pop("event"))
    assert journal.message(event, record) == text


def test_every_logged_event_has_a_message_id() -> None:
    """Every event name garpd logs is in EVENTS: ids unique, 128-bit hex, in the README."""
    source = "\n".join(p.read_text() for p in (REPO / "garpd").rglob("*.py"))
    logged = set(re.findall(
        r"\.(?:debug|info|warning|error|critical)\(\s*\"([a-z_0-9]+)\"", source))
    logged |= set(re.findall(r"(?:Record|_record)\(\"([a-z_0-9]+)\"", source))
    assert len(logged) > 25
    assert logged - set(journal.EVENTS) == set()
    ids = [mid for mid, _ in journal.EVENTS.values()]
    assert all(re.fullmatch(r"[0-9a-f]{32}", mid) for mid in ids)
    assert len(set(ids)) == len(ids)
    readme = (REPO / "README.md").read_text()
    for event, (mid, _) in journal.EVENTS.items():
        assert re.search(rf"`{event}`\s*\|\s*`{mid}`", readme), event


def test_encode_plain_and_binary_forms_parse_back() -> None:
    """NAME=value for one-line values, NAME\\n<le64 size>value\\n otherwise; parses back."""
    data = journal.encode([("MESSAGE", "two\nlines"), ("PRIORITY", "3"),
                           ("GARPD_NOTE", "a=b"), ("GARPD_EMPTY", ""), ("GARPD_U", "é")])
    assert data == (b"MESSAGE\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\n"
                    b"PRIORITY=3\nGARPD_NOTE=a=b\nGARPD_EMPTY=\nGARPD_U=\xc3\xa9\n")
    assert one(parse(data)) == {"MESSAGE": "two\nlines", "PRIORITY": "3",
                                "GARPD_NOTE": "a=b", "GARPD_EMPTY": "", "GARPD_U": "é"}


# --------------------------------------------------------------------------- the writer


def test_writer_sends_one_datagram_per_record(receiver: Receiver) -> None:
    """A record reaches the socket as one entry with its fields."""
    writer = journal.JournalWriter(str(receiver.path))
    try:
        assert writer.write({**ANNOUNCE, "note": "first\nsecond"}) == journal.SENT
    finally:
        writer.close()
    got = receiver.receive()
    assert got is not None
    fields = one(got)
    assert fields["PRIORITY"] == "6"
    assert fields["GARPD_ADDRESS"] == "192.0.2.100"
    assert fields["GARPD_NOTE"] == "first\nsecond"
    assert fields["MESSAGE_ID"] == journal.EVENTS["announce"][0]


def test_writer_absent_socket_is_unavailable(tmp_path: Path) -> None:
    """No socket at the path (or not a socket): UNAVAILABLE, nothing raised."""
    (tmp_path / "file").write_text("")
    for path in (tmp_path / "missing", tmp_path / "file", tmp_path / "no" / "dir"):
        writer = journal.JournalWriter(str(path))
        try:
            assert writer.write(ANNOUNCE) == journal.UNAVAILABLE
        finally:
            writer.close()


def test_writer_full_socket_drops_without_blocking(receiver: Receiver) -> None:
    """A receiver that does not read: writes soon come back DROPPED, and never block."""
    writer = journal.JournalWriter(str(receiver.path))
    outcomes: list[str] = []

    def flood() -> None:
        outcomes.extend(writer.write({**ANNOUNCE, "n": n}) for n in range(5000))

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    thread.join(60.0)
    writer.close()
    assert not thread.is_alive(), "a write blocked on a full journal socket"
    assert outcomes.count(journal.SENT) > 0
    assert outcomes.count(journal.DROPPED) > 0
    assert set(outcomes) == {journal.SENT, journal.DROPPED}
    assert len(receiver.drain()) == outcomes.count(journal.SENT)


def test_writer_large_record_goes_in_a_sealed_memfd(receiver: Receiver) -> None:
    """A record over a datagram's size: a sealed memfd passed with SCM_RIGHTS, all of it."""
    big = "x" * (1 << 20)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)  # < the record
    writer = journal.JournalWriter(str(receiver.path), sock=sock)
    try:
        assert writer.write({**ANNOUNCE, "big": big, "lines": "a\nb"}) == journal.SENT
    finally:
        writer.close()
    got = receiver.receive()
    assert got is not None
    fields = one(got)
    assert fields["GARPD_BIG"] == big
    assert fields["GARPD_LINES"] == "a\nb"
    seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
    assert receiver.sealed == [seals]


def test_writer_socket_of_another_kind_is_unavailable(tmp_path: Path) -> None:
    """A stream socket where journald's datagram socket should be: UNAVAILABLE."""
    path = tmp_path / "stream.socket"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        writer = journal.JournalWriter(str(path))
        try:
            assert writer.write(ANNOUNCE) == journal.UNAVAILABLE
        finally:
            writer.close()


# --------------------------------------------------------------------------- log / quicklog


def test_log_goes_to_the_journal_when_journal_stream_names_stderr(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """JOURNAL_STREAM = stderr's device:inode: entries on the socket, nothing on stderr."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    log.setup("json", "debug", journal_socket=str(receiver.path))
    logger = log.get()
    logger.error("send_failed", interface="eth0", error="No buffer space available",
                 dropped=2)
    logger.warning("notify_unknown", type="INSTANCE", name="VI_9", state="MASTER")
    logger.info("announce", interface="eth0", address="192.0.2.100",
                mac="02:00:00:00:00:01", reason="master", packets=5)
    logger.debug("packet", interface="eth0", kind="garp", address="192.0.2.100",
                 mac="02:00:00:00:00:01")
    entries = [one(e) for e in receiver.drain()]
    assert [(e["GARPD_EVENT"], e["PRIORITY"]) for e in entries] == [
        ("send_failed", "3"), ("notify_unknown", "4"), ("announce", "6"), ("packet", "7")]
    assert entries[2]["MESSAGE"] == "announce 192.0.2.100 on eth0 (master, 5 packets)"
    assert all(e["SYSLOG_IDENTIFIER"] == "garpd" for e in entries)
    assert capfd.readouterr().err == ""


def test_log_ignores_journal_stream_naming_something_else(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    """JOURNAL_STREAM of another file (say, a parent's): JSON lines on stderr, no entries."""
    with (tmp_path / "other").open("w") as other:
        monkeypatch.setenv("JOURNAL_STREAM", stream_id(other.fileno()))
        monkeypatch.setenv(journal.SOCKET_ENV, str(receiver.path))
        log.setup("json", "info")
        log.get().warning("notify_unknown", name="VI_9")
    assert receiver.drain() == []
    assert json.loads(capfd.readouterr().err)["event"] == "notify_unknown"


def test_log_falls_back_to_stderr_without_a_journal_socket(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    """No socket where the journal should be: the record goes to stderr as elsewhere."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    before = log.DROPPED
    log.setup("json", "info", journal_socket=str(tmp_path / "absent"))
    log.get().info("ready", held=0)
    record = json.loads(capfd.readouterr().err)
    assert (record["event"], record["held"]) == ("ready", 0)
    assert before == log.DROPPED


def test_log_full_journal_counts_dropped(receiver: Receiver,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    """A journal that does not read: records dropped, each counted in DROPPED, none on stderr."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    monkeypatch.setenv(journal.SOCKET_ENV, str(receiver.path))
    log.setup("json", "info")
    before = log.DROPPED
    for n in range(3000):
        log.get().info("announce", n=n)
    sent = len(receiver.drain())
    assert sent > 0
    assert log.DROPPED - before == 3000 - sent
    assert capfd.readouterr().err == ""


def test_log_with_an_explicit_stream_never_uses_the_journal(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream given to setup (tests, demo) is written even under JOURNAL_STREAM."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    stream = io.StringIO()
    log.setup("json", "info", stream, journal_socket=str(receiver.path))
    log.get().info("ready", held=1)
    assert json.loads(stream.getvalue())["held"] == 1
    assert receiver.drain() == []


def test_quicklog_goes_to_the_journal_too(receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    """QuickLog under a matching JOURNAL_STREAM: entries with priority, fields, MESSAGE_ID."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    monkeypatch.setenv(journal.SOCKET_ENV, str(receiver.path))
    q = quicklog.QuickLog("json", "info")
    q.error("notify_refused", type="INSTANCE", name="VI_1", state="MASTER",
            error="permission denied")
    q.debug("filtered")
    (entry,) = [one(e) for e in receiver.drain()]
    assert entry["PRIORITY"] == "3"
    assert entry["GARPD_NAME"] == "VI_1"
    assert entry["MESSAGE_ID"] == journal.EVENTS["notify_refused"][0]
    assert entry["MESSAGE"] == \
        "notify INSTANCE VI_1 MASTER refused by the daemon: permission denied"
    assert capfd.readouterr().err == ""


def test_quicklog_falls_back_to_stderr_without_a_journal(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    """QuickLog, matching JOURNAL_STREAM but no socket: the JSON line on stderr."""
    monkeypatch.setenv("JOURNAL_STREAM", stream_id(2))
    monkeypatch.setenv(journal.SOCKET_ENV, str(tmp_path / "absent"))
    quicklog.QuickLog("json", "info").warning("notify_ignored", reason="x")
    assert json.loads(capfd.readouterr().err)["event"] == "notify_ignored"


def test_quicklog_without_journal_stream_does_not_import_the_journal() -> None:
    """The notify hook's logger imports the journal module only under JOURNAL_STREAM."""
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    code = ("import sys; from garpd.quicklog import QuickLog; QuickLog('json').info('x'); "
            "print('garpd.drivers.journal' in sys.modules, 'structlog' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]
