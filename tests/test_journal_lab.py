"""garpd's records in a real systemd-journald (a private one, in its own mount namespace):
priorities and fields as journalctl filters them; JOURNAL_STREAM naming something else or
no journal socket -> stderr as before; a journal that does not read -> records dropped and
counted while frames keep their timing and SIGTERM still exits 0."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from garpd.drivers import journal
from tests.daemon_helpers import DaemonFactory, control_request
from tests.journal_helpers import Journald, Receiver, journald_unavailable_reason, one
from tests.lab import LabFactory
from tests.test_daemon_lab import (
    VIP4,
    VIP4B,
    add_vip,
    control_socket,
    group,
    make_pair,
    wait_frames,
    write_config,
)
from tests.test_faults_lab import batch, rows, spas, status, stop_ok

pytestmark = pytest.mark.lab

#: Runs "$@" with JOURNAL_STREAM naming its real stderr, as systemd's StandardError=journal
#: does, and with Python's default (buffered) stderr.
AS_SYSTEMD = ["sh", "-c", 'unset PYTHONUNBUFFERED; '
              'export JOURNAL_STREAM="$(stat -L -c %d:%i /proc/$$/fd/2)"; exec "$@"', "sh"]


@pytest.fixture
def journald(tmp_path: Path) -> Iterator[Journald]:
    """A private systemd-journald whose socket is under tmp_path (skip if it cannot run)."""
    reason = journald_unavailable_reason()
    if reason is not None:
        if os.environ.get("GARPD_REQUIRE_LAB") == "1":
            pytest.fail(f"GARPD_REQUIRE_LAB=1 but journald cannot run: {reason}")
        pytest.skip(f"systemd-journald cannot run: {reason}")
    got = Journald(tmp_path / "journald")
    try:
        yield got
    finally:
        got.close()


def garpd_entries(journald: Journald, *matches: str) -> list[dict[str, object]]:
    """garpd's entries in the test journal matching ``matches``."""
    return journald.entries("SYSLOG_IDENTIFIER=garpd", *matches)


def test_daemon_records_in_a_real_journal(make_lab: LabFactory, garpd_cmd: list[str],
                                          daemons: DaemonFactory, tmp_path: Path,
                                          journald: Journald) -> None:
    """Under JOURNAL_STREAM: PRIORITY per level, GARPD_* fields, MESSAGE, MESSAGE_ID; the
    filters of SPEC *Logs* work; nothing on stderr; SIGTERM exits 0."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0},
                       [group(VIP4, VIP4B)])
    cap = lab.capture("peer")
    daemon = daemons(lab, cfg, cmd=[*AS_SYSTEMD, *garpd_cmd],
                     env={journal.SOCKET_ENV: str(journald.socket)})
    assert daemon.proc is not None
    add_vip(lab, VIP4)
    assert len(wait_frames(cap, VIP4, 2)) == 2
    (entry,) = journald.wait_entries(f"GARPD_ADDRESS={VIP4}", "GARPD_EVENT=announce")
    assert {k: entry[k] for k in ("PRIORITY", "MESSAGE", "MESSAGE_ID", "SYSLOG_IDENTIFIER",
                                  "GARPD_INTERFACE", "GARPD_REASON", "GARPD_PACKETS",
                                  "GARPD_GROUP", "GARPD_LEVEL", "_PID")} == {
        "PRIORITY": "6", "MESSAGE": f"announce {VIP4} on eth0 (master, 2 packets)",
        "MESSAGE_ID": journal.EVENTS["announce"][0], "SYSLOG_IDENTIFIER": "garpd",
        "GARPD_INTERFACE": "eth0", "GARPD_REASON": "master", "GARPD_PACKETS": "2",
        "GARPD_GROUP": "VI_1", "GARPD_LEVEL": "info", "_PID": str(daemon.proc.pid)}
    assert entry["GARPD_MAC"] == lab.mac("a")

    # A warning: a notification naming no group.
    reply = control_request(control_socket(tmp_path), {
        "command": "notify", "type": "INSTANCE", "name": "VI_NONE", "state": "MASTER"})
    assert reply["ok"] is True, reply
    (warning,) = journald.wait_entries("GARPD_EVENT=notify_unknown")
    assert (warning["PRIORITY"], warning["GARPD_NAME"]) == ("4", "VI_NONE")

    # journalctl -p warning: that warning, none of the info records.
    warnings = garpd_entries(journald, "-p", "warning")
    assert [e["GARPD_EVENT"] for e in warnings] == ["notify_unknown"]
    # journalctl GARPD_ADDRESS=...: that address's history only.
    history = garpd_entries(journald, f"GARPD_ADDRESS={VIP4}")
    assert [e["GARPD_EVENT"] for e in history] == ["vip_acquired", "announce"]
    events = {str(e["GARPD_EVENT"]) for e in garpd_entries(journald)}
    assert {"config_loaded", "ready", "vip_acquired", "announce", "notify_unknown"} <= events
    stop_ok(daemon)
    journald.wait_entries("GARPD_EVENT=stopping")
    assert daemon.log_text() == ""  # every record went to the journal, none to stderr


@pytest.mark.parametrize("case", ["stream-mismatch", "socket-absent"])
def test_without_a_journal_records_go_to_stderr(make_lab: LabFactory, garpd_cmd: list[str],
                                                daemons: DaemonFactory, tmp_path: Path,
                                                journald: Journald, case: str) -> None:
    """JOURNAL_STREAM not naming stderr, or no journal socket: JSON lines on stderr, as
    everywhere else; the journal gets nothing; SIGTERM exits 0."""
    lab = make_pair(make_lab)
    cfg = write_config(tmp_path, {"master_repeat": 2, "master_delay": 0.0}, [group(VIP4)])
    cap = lab.capture("peer")
    other = tmp_path / "other-stream"
    other.write_text("")
    st = other.stat()
    if case == "stream-mismatch":  # a stream inherited from some parent, not our stderr
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
               journal.SOCKET_ENV: str(journald.socket)}
        cmd = garpd_cmd
    else:
        env = {journal.SOCKET_ENV: str(tmp_path / "no-journal" / "socket")}
        cmd = [*AS_SYSTEMD, *garpd_cmd]
    daemon = daemons(lab, cfg, cmd=cmd, env=env)
    add_vip(lab, VIP4)
    assert len(wait_frames(cap, VIP4, 2)) == 2
    (record,) = daemon.wait_records("announce", address=VIP4)
    assert (record["level"], record["packets"]) == ("info", 2)
    stop_ok(daemon)
    daemon.wait_records("stopping")
    assert garpd_entries(journald) == []


def test_full_journal_drops_and_counts_without_blocking(
        make_lab: LabFactory, garpd_cmd: list[str], daemons: DaemonFactory,
        tmp_path: Path) -> None:
    """A journal socket nobody reads: records dropped and counted in log_dropped; paced
    frames keep their spacing, status answers, nothing on stderr, SIGTERM exits 0."""
    lab = make_pair(make_lab)
    vips = [f"192.0.2.{n}" for n in range(100, 112)]
    cfg = write_config(tmp_path, {"master_repeat": 3, "master_delay": 0.0, "interval": 0.2},
                       [group(*vips)])
    cap = lab.capture("peer")
    receiver = Receiver(tmp_path / "stuck-journal.socket")  # never read until the end
    try:
        daemon = daemons(lab, cfg, cmd=[*AS_SYSTEMD, *garpd_cmd],
                         env={journal.SOCKET_ENV: str(receiver.path)})
        batch(lab, [f"address add {a}/24 dev eth0" for a in vips])
        for vip in vips:
            frames = wait_frames(cap, vip, 3)
            assert len(frames) == 3
            assert all(b.t - a.t > 0.15 for a, b in itertools.pairwise(frames))
        doc = status(lab, garpd_cmd, cfg)
        assert all(rows(doc)[v]["sent"] == 3 for v in vips)
        dropped = doc["counters"]["log_dropped"]
        assert dropped > 0
        assert spas(cap.frames_so_far()) == dict.fromkeys(vips, 3)
        stop_ok(daemon)
        entries = [one(e) for e in receiver.drain()]
        print(f"journal entries received {len(entries)}, dropped {dropped}")
        assert entries
        assert entries[0]["GARPD_EVENT"] == "config_loaded"
        assert all(e["SYSLOG_IDENTIFIER"] == "garpd" for e in entries)
        assert daemon.log_text() == ""
    finally:
        receiver.close()


def test_large_entry_reaches_journald_through_a_memfd(journald: Journald) -> None:
    """An entry over the socket's send buffer goes in a sealed memfd: journald stores it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)
    writer = journal.JournalWriter(str(journald.socket), sock=sock)
    big = "y" * (512 << 10)
    try:
        assert writer.write({"event": "config_loaded", "level": "info", "source": "big",
                             "note": big, "lines": "one\ntwo"}) == journal.SENT
    finally:
        writer.close()
    (entry,) = journald.wait_entries("GARPD_SOURCE=big")
    assert (entry["GARPD_NOTE"], entry["GARPD_LINES"], entry["PRIORITY"]) == (
        big, "one\ntwo", "6")


def test_notify_hook_records_in_a_real_journal(garpd_cmd: list[str], tmp_path: Path,
                                               journald: Journald) -> None:
    """``garpd notify`` (the light logger) under JOURNAL_STREAM: an entry, not a line."""
    cfg = write_config(tmp_path, {}, [group(VIP4)])
    env = {**os.environ, journal.SOCKET_ENV: str(journald.socket)}
    with (tmp_path / "notify.err").open("wb") as err:
        done = subprocess.run([*AS_SYSTEMD, *garpd_cmd, "notify", "-c", str(cfg),
                               "INSTANCE", "VI_1", "BACKUP"], stderr=err, env=env,
                              timeout=60, check=False)
    assert done.returncode == 0
    (entry,) = journald.wait_entries("GARPD_EVENT=notify_received")
    assert (entry["PRIORITY"], entry["GARPD_STATE"], entry["GARPD_DAEMON"]) == (
        "6", "BACKUP", "unreachable")
    assert entry["MESSAGE"] == "notify INSTANCE VI_1 BACKUP"
    assert (tmp_path / "notify.err").read_bytes() == b""

