"""The control socket: a real ControlServer (garpd.drivers.control_server) on an asyncio loop in a
thread, driven by raw sockets and the real blocking client (garpd.control.request)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd import control
from garpd.commands.status import render_status
from garpd.control import (
    DEFAULT_SOCKET,
    Unreachable,
    encode_request,
    parse_request,
    request,
    socket_path,
)
from garpd.drivers.control_server import MAX_CLIENTS, MAX_LINE, STREAM_ROWS, ControlServer
from garpd.errors import RemoteError
from tests.privileges import require_root_and_setpriv

T = TypeVar("T")

NOBODY = 65534
STATUS_DOC: dict[str, Any] = {
    "pid": 4242,
    "config": "/etc/garpd/garpd.toml",
    "uptime": 12.345,
    "addresses": [
        {"interface": "eth1", "address": "2001:db8::100", "group": "VI_2", "held": False,
         "tentative": True, "held_for": None, "sent": 0, "last_sent_ago": None,
         "pending": 0, "next_send_in": None},
        {"interface": "eth0", "address": "192.0.2.100", "group": "VI_1", "held": True,
         "tentative": False, "held_for": 3.25, "sent": 10, "last_sent_ago": 1.0,
         "pending": 2, "next_send_in": 1.75},
    ],
    "counters": {"frames": 10, "bursts": 2},
}


class FakeHandler:
    """Records notify calls and answers status with a fixed document."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, int | None, str]] = []

    def status(self) -> dict[str, Any]:
        """The fixed sample status document."""
        return dict(STATUS_DOC)

    def notify(self, kind: str, name: str, state: str, priority: int | None,
               source: str) -> dict[str, Any]:
        """Record the call; MASTER is reported as starting the master schedule."""
        self.calls.append((kind, name, state, priority, source))
        return {"groups": [name], "action": "master" if state == "MASTER" else "none"}

    def metrics_text(self) -> str:
        """A fixed metrics text."""
        return "garpd_log_dropped_total 0.0\n"


class RecordingLog:
    """A stand-in for the structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def _add(self, level: str, event: str, fields: dict[str, Any]) -> None:
        self.records.append((level, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        """Record at debug."""
        self._add("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Record at info."""
        self._add("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Record at warning."""
        self._add("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Record at error."""
        self._add("error", event, fields)

    def events(self) -> list[str]:
        """The event names logged so far."""
        return [event for _level, event, _fields in self.records]


class LoopThread:
    """An asyncio loop running forever in a daemon thread, for in-process servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="control-loop",
                                       daemon=True)
        self.thread.start()
        self.servers: list[ControlServer] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def server(self, path: Path, handler: FakeHandler | None = None,
               start: bool = True, **options: Any) -> ControlServer:
        """A ControlServer with a fake handler and a recording log, started unless told;
        ``options`` go to its constructor."""
        srv = ControlServer(handler or FakeHandler(), path, RecordingLog(), **options)
        self.servers.append(srv)
        if start:
            self.run(srv.start())
        return srv

    def close(self) -> None:
        """Close every server, cancel every connection task, stop and close the loop."""

        async def shutdown() -> None:
            for srv in self.servers:
                srv.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Conn:
    """A raw line-oriented client connection (blocking, with a timeout)."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.sendall(data)

    def line(self) -> bytes:
        """The next line from the server (without the newline); EOFError at end."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def ask(self, data: bytes) -> dict[str, Any]:
        """Send one request line and decode the reply line."""
        self.send(data + b"\n")
        reply = json.loads(self.line())
        assert isinstance(reply, dict)
        return reply

    def closed_by_server(self) -> bool:
        """Whether the server closed its end (EOF or reset) with nothing more to read."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        """Close the client end."""
        self.sock.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    """A running loop thread, shut down after the test."""
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    """A socket path inside tmp_path (short enough for sun_path)."""
    path = tmp_path / "garpd.sock"
    assert len(str(path)) < 100
    return path


@pytest.fixture
def served(loop_thread: LoopThread, sock_path: Path) -> ControlServer:
    """A started server on ``sock_path``."""
    return loop_thread.server(sock_path)


async def _call(fn: Callable[[], object]) -> None:
    fn()


def _log(srv: ControlServer) -> RecordingLog:
    log = srv.log
    assert isinstance(log, RecordingLog)
    return log


def _handler(srv: ControlServer) -> FakeHandler:
    handler = srv.handler
    assert isinstance(handler, FakeHandler)
    return handler


# --- the socket file -------------------------------------------------------------------


def test_socket_is_0600_in_a_new_0700_directory(loop_thread: LoopThread, tmp_path: Path) -> None:
    """A missing socket directory is created 0700 and the socket itself is mode 0600."""
    path = tmp_path / "run" / "garpd" / "garpd.sock"
    loop_thread.server(path)
    st_sock = os.stat(path)
    assert stat.S_ISSOCK(st_sock.st_mode)
    assert stat.S_IMODE(st_sock.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert request(path, {"command": "ping"}) == {"ok": True}


def test_socket_mode_does_not_depend_on_umask(loop_thread: LoopThread, tmp_path: Path) -> None:
    """Even with a permissive umask the socket is 0600 and the umask is restored."""
    old = os.umask(0)
    try:
        srv = loop_thread.server(tmp_path / "garpd.sock")
        assert os.umask(0) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(srv.path).st_mode) == 0o600


def test_close_removes_the_socket(loop_thread: LoopThread, served: ControlServer) -> None:
    """close() removes the socket file; a client then finds nobody there."""
    assert served.path.exists()
    loop_thread.run(_call(served.close))
    assert not served.path.exists()
    with pytest.raises(Unreachable):
        request(served.path, {"command": "ping"}, timeout=2.0)


def test_stale_socket_from_a_dead_daemon_is_replaced(loop_thread: LoopThread,
                                                      sock_path: Path) -> None:
    """A socket file nobody listens on (the daemon died) is replaced by the new server."""
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_path))
    dead.close()
    assert sock_path.exists()
    loop_thread.server(sock_path)
    assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o600
    assert request(sock_path, {"command": "ping"}) == {"ok": True}


def test_start_refuses_when_another_server_listens(loop_thread: LoopThread,
                                                   served: ControlServer) -> None:
    """A second server on a live socket raises EADDRINUSE and leaves the first one alone."""
    second = loop_thread.server(served.path, start=False)
    with pytest.raises(OSError, match="another garpd") as info:
        loop_thread.run(second.start())
    assert info.value.errno == 98
    assert served.path.exists()
    assert request(served.path, {"command": "status"})["pid"] == 4242


def test_metrics_command_returns_the_handlers_text(served: ControlServer) -> None:
    """``{"command": "metrics"}`` answers with the handler's metrics text under "text"."""
    reply = request(served.path, {"command": "metrics"})
    assert reply == {"ok": True, "text": "garpd_log_dropped_total 0.0\n"}


def test_regular_file_at_the_socket_path_is_not_deleted(loop_thread: LoopThread,
                                                         sock_path: Path) -> None:
    """A regular file where the socket should go is an error, never deleted."""
    sock_path.write_text("precious\n")
    srv = loop_thread.server(sock_path, start=False)
    with contextlib.suppress(OSError):
        loop_thread.run(srv.start())
    assert sock_path.is_file()
    assert sock_path.read_text() == "precious\n"


# --- round trips -----------------------------------------------------------------------


def test_status_round_trip(served: ControlServer) -> None:
    """request(status) returns ok plus the handler's document."""
    reply = request(served.path, {"command": "status"})
    assert reply == {"ok": True, **STATUS_DOC}
    assert served.counters["requests"] == 1


def test_ping_round_trip(served: ControlServer) -> None:
    """ping is answered with ok and nothing else."""
    assert request(served.path, {"command": "ping"}) == {"ok": True}


@pytest.mark.parametrize(("payload", "expected"), [
    ({"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "MASTER",
      "priority": 100}, ("INSTANCE", "VI_1", "MASTER", 100, "control")),
    ({"command": "notify", "type": "GROUP", "name": "VG_1", "state": "BACKUP"},
     ("GROUP", "VG_1", "BACKUP", None, "control")),
    ({"command": "notify", "type": "INSTANCE", "name": "x" * 256,
      "state": "MASTER_RX_LOWER_PRI", "priority": 0},
     ("INSTANCE", "x" * 256, "MASTER_RX_LOWER_PRI", 0, "control")),
    ({"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "FAULT",
      "priority": 255}, ("INSTANCE", "VI_1", "FAULT", 255, "control")),
])
def test_notify_round_trip(served: ControlServer, payload: dict[str, Any],
                           expected: tuple[str, str, str, int | None, str]) -> None:
    """A valid notify reaches the handler once and its answer comes back with ok."""
    reply = request(served.path, payload)
    assert reply["ok"] is True
    assert reply["groups"] == [payload["name"]]
    assert _handler(served).calls == [expected]


def test_several_requests_on_one_connection(served: ControlServer) -> None:
    """One reply per line, in order; blank lines are skipped without a reply."""
    conn = Conn(served.path)
    try:
        conn.send(b'{"command": "ping"}\n\n  \n{"command": "status"}\n')
        assert json.loads(conn.line()) == {"ok": True}
        assert json.loads(conn.line())["pid"] == 4242
    finally:
        conn.close()
    assert served.counters["requests"] == 2


class StreamingHandler(FakeHandler):
    """A status whose addresses are an iterator, as the daemon's (streamed rows)."""

    ROWS: ClassVar[list[dict[str, Any]]] = [
        {"interface": "eth0", "address": f"198.18.{i // 256}.{i % 256}", "sent": i,
         "held_for": i / 7, "gateways": []} for i in range(STREAM_ROWS * 2 + 3)]

    def status(self) -> dict[str, Any]:
        """The sample document with its addresses made lazily, in the middle of the keys."""
        doc = dict(STATUS_DOC)
        doc["addresses"] = iter(self.ROWS)
        return doc


def test_streamed_status_is_the_same_json_line(loop_thread: LoopThread,
                                               sock_path: Path) -> None:
    """An iterator in a reply is streamed in chunks: byte for byte the line the same
    document gives with a list, keys in the same order, and the connection goes on."""
    srv = loop_thread.server(sock_path, StreamingHandler())
    conn = Conn(srv.path)
    try:
        conn.send(b'{"command": "status"}\n{"command": "ping"}\n')
        line = conn.line()
        expected = {"ok": True, **STATUS_DOC, "addresses": StreamingHandler.ROWS}
        assert line.rstrip(b"\n") == json.dumps(expected, separators=(",", ":")).encode()
        assert json.loads(conn.line()) == {"ok": True}
    finally:
        conn.close()


class FailingHandler(FakeHandler):
    """A handler whose status() raises, as a daemon bug would."""

    def status(self) -> dict[str, Any]:
        """Fail like a daemon bug."""
        raise RuntimeError("boom")


def test_handler_failure_is_answered_with_an_error(loop_thread: LoopThread,
                                                   sock_path: Path) -> None:
    """A handler that raises still yields a reply with ok false and an error."""
    srv = loop_thread.server(sock_path, FailingHandler())
    try:
        reply = request(srv.path, {"command": "status"}, timeout=5.0)
    finally:
        assert request(srv.path, {"command": "ping"}) == {"ok": True}  # it survived
    assert reply["ok"] is False
    assert reply["error"]


# --- malformed requests ----------------------------------------------------------------

MALFORMED: list[tuple[bytes, str]] = [
    (b"not json", "not a JSON object"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"status"', "not a JSON object"),
    (b"null", "not a JSON object"),
    (b"\xff\xfe{\x00", "not a JSON object"),
    (b"[" * 50_000, "not a JSON object"),
    (b"{}", "unknown command"),
    (b'{"command": "reboot"}', "unknown command"),
    (b'{"command": ["status"]}', "unknown command"),
    (b'{"command": "notify", "type": "VRRP", "name": "VI_1", "state": "MASTER"}', "type"),
    (b'{"command": "notify", "name": "VI_1", "state": "MASTER"}', "type"),
    (b'{"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "PRIMARY"}', "state"),
    (b'{"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "master"}', "state"),
    (b'{"command": "notify", "type": "INSTANCE", "name": "", "state": "MASTER"}', "name"),
    (b'{"command": "notify", "type": "INSTANCE", "name": 5, "state": "MASTER"}', "name"),
    (b'{"command": "notify", "type": "INSTANCE", "state": "MASTER"}', "name"),
    (b'{"command": "notify", "type": "INSTANCE", "name": "' + b"x" * 257
     + b'", "state": "MASTER"}', "name"),
    *[(b'{"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "MASTER", '
       b'"priority": ' + prio + b"}", "priority")
      for prio in (b"true", b"false", b"256", b"-1", b'"x"', b"100.0", b"[100]")],
]


@pytest.mark.parametrize(("line", "fragment"), MALFORMED,
                         ids=[repr(line[:40]) for line, _ in MALFORMED])
def test_malformed_request_is_answered_and_connection_survives(
        served: ControlServer, line: bytes, fragment: str) -> None:
    """A malformed request gets ok false and an error; the next request is answered."""
    conn = Conn(served.path)
    try:
        reply = conn.ask(line)
        assert reply["ok"] is False
        assert isinstance(reply["error"], str)
        assert fragment in reply["error"]
        assert set(reply) == {"ok", "error"}
        assert conn.ask(b'{"command": "ping"}') == {"ok": True}
    finally:
        conn.close()
    assert _handler(served).calls == []
    assert served.counters["rejected"] == 1
    assert "control_rejected" in _log(served).events()


def test_oversized_line_is_refused_and_closes_the_connection(served: ControlServer) -> None:
    """A line over 64 KiB gets an error and the connection closes; new ones still work."""
    conn = Conn(served.path)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(b'{"command": "ping", "pad": "' + b"x" * (MAX_LINE + 10) + b'"}\n')
        reply = json.loads(conn.line())
        assert reply["ok"] is False
        assert str(MAX_LINE) in reply["error"]
        assert conn.closed_by_server()
    finally:
        conn.close()
    assert request(served.path, {"command": "ping"}) == {"ok": True}
    assert served.counters["rejected"] == 1


def test_long_line_under_the_limit_is_answered(served: ControlServer) -> None:
    """A request padded with whitespace to just under 64 KiB is still a request."""
    line = b'{"command": "ping"' + b" " * (MAX_LINE - 100) + b"}"
    conn = Conn(served.path)
    try:
        assert conn.ask(line) == {"ok": True}
    finally:
        conn.close()


def test_slow_client_does_not_block_others(loop_thread: LoopThread, sock_path: Path) -> None:
    """Half a line from one client delays nobody; the idle client is dropped later."""
    served = loop_thread.server(sock_path, idle_timeout=0.5)
    slow = Conn(served.path, timeout=10.0)
    try:
        slow.send(b'{"command": "sta')
        for _ in range(3):
            assert request(served.path, {"command": "status"}, timeout=5.0)["ok"] is True
        # The slow one is closed without a reply once the idle timeout passes.
        assert slow.closed_by_server()
    finally:
        slow.close()
    assert request(served.path, {"command": "ping"}) == {"ok": True}


def test_a_new_client_beyond_max_clients_evicts_the_longest_idle(
        served: ControlServer) -> None:
    """With MAX_CLIENTS connections open, a new client is served; the longest-idle goes."""
    conns = [Conn(served.path) for _ in range(MAX_CLIENTS)]
    try:
        for conn in conns:  # every one of them is being served; conns[0] is idle longest
            assert conn.ask(b'{"command": "ping"}') == {"ok": True}
        time.sleep(0.05)
        for conn in conns[1:]:
            assert conn.ask(b'{"command": "ping"}') == {"ok": True}
        assert request(served.path, {"command": "ping"}) == {"ok": True}
        assert conns[0].closed_by_server()
        assert served.counters["evicted"] >= 1
        # The others are still answered.
        assert conns[-1].ask(b'{"command": "ping"}') == {"ok": True}
    finally:
        for conn in conns:
            conn.close()


# --- peer credentials -------------------------------------------------------------------

_PEER_CLIENT = """
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"command": "status"}\\n')
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
buf = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
except OSError:
    pass
print(json.dumps({"uid": os.getuid(), "reply": buf.decode("latin-1")}))
"""


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A short directory under /tmp that another uid can traverse (for this test only)."""
    path = Path(tempfile.mkdtemp(prefix="gdctl", dir="/tmp"))
    try:
        os.chmod(path, 0o755)  # noqa: S103 - another uid must traverse it
        yield path
    finally:
        os.chmod(path, 0o700)
        shutil.rmtree(path, ignore_errors=True)


def _as_nobody(path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-I", "-c", _PEER_CLIENT, str(path)],
        capture_output=True, text=True, timeout=30, check=False, cwd="/",
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert isinstance(result, dict)
    assert result["uid"] == NOBODY
    return result


@pytest.mark.parametrize("daemon_uid", [0, NOBODY], ids=["root-daemon", "nobody-daemon"])
def test_peer_credentials(loop_thread: LoopThread, open_dir: Path, daemon_uid: int) -> None:
    """Another uid gets exactly {"ok": false}; the daemon's own uid is answered."""
    require_root_and_setpriv("connecting as another uid")
    path = open_dir / "garpd.sock"
    srv = loop_thread.server(path, uid=daemon_uid)  # as if the daemon ran as this user
    os.chmod(path, 0o666)  # noqa: S103 - let the other uid reach the socket: SO_PEERCRED must stop it
    try:
        result = _as_nobody(path)
    finally:
        os.chmod(path, 0o600)
    if daemon_uid == 0:
        assert result["reply"] == '{"ok": false}\n'
        assert json.loads(result["reply"]) == {"ok": False}
        assert srv.counters["denied"] == 1
        assert ("warning", "control_denied", {"uid": NOBODY}) in _log(srv).records
    else:
        reply = json.loads(result["reply"])
        assert reply == {"ok": True, **STATUS_DOC}
        assert srv.counters["denied"] == 0
    assert request(path, {"command": "ping"}) == {"ok": True}  # root is always answered


# --- clients ----------------------------------------------------------------------------


def test_request_to_nothing_is_unreachable(tmp_path: Path) -> None:
    """request() raises Unreachable when no socket exists."""
    with pytest.raises(Unreachable):
        request(tmp_path / "missing.sock", {"command": "status"}, timeout=1.0)


def test_request_to_a_foreign_server_is_unreachable(tmp_path: Path) -> None:
    """A peer that answers something other than a JSON object is not a garpd."""
    path = tmp_path / "foreign.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"220 smtp ready\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(Unreachable, match="not a garpd control socket"):
            request(path, {"command": "status"}, timeout=5.0)
    finally:
        thread.join(timeout=5)
        listener.close()


def test_socket_path_reads_control_socket(tmp_path: Path) -> None:
    """socket_path() returns [control] socket from the TOML file."""
    cfg = tmp_path / "garpd.toml"
    cfg.write_text('[announce]\nmaster_repeat = 3\n\n[control]\nsocket = "/run/x/y.sock"\n')
    assert socket_path(str(cfg)) == "/run/x/y.sock"


@pytest.mark.parametrize("text", [
    None,  # missing file
    "[control\nsocket = ",  # broken TOML
    "\xff",  # not UTF-8 once written as latin-1
    '[announce]\nmaster_repeat = 3\n',  # no [control]
    'control = "x"\n',  # not a table
    '[control]\nsocket = 5\n',  # not a string
    '[control]\nsocket = ""\n',  # empty
    # Python 3.11's tomllib raises RecursionError on deep nesting (seen writing fuzz/toml.py)
    '[control]\nsocket = "/x"\nx = ' + "[" * 1000 + "]" * 1000 + "\n",
])
def test_socket_path_falls_back_to_the_default(tmp_path: Path, text: str | None) -> None:
    """Missing, broken or unhelpful files mean the built-in default socket."""
    cfg = tmp_path / "garpd.toml"
    if text is not None:
        cfg.write_bytes(text.encode("latin-1"))
    assert socket_path(str(cfg)) == DEFAULT_SOCKET


def test_socket_path_without_config_uses_the_default_file(tmp_path: Path) -> None:
    """No -c: the default config file is read, and its absence means the default socket."""
    cfg = tmp_path / "default.toml"
    assert socket_path(None, default_config=str(cfg)) == DEFAULT_SOCKET
    cfg.write_text('[control]\nsocket = "/run/elsewhere.sock"\n')
    assert socket_path(None, default_config=str(cfg)) == "/run/elsewhere.sock"
    assert socket_path(str(cfg), default_config="/nonexistent") == "/run/elsewhere.sock"


def test_render_status_sample() -> None:
    """render_status() prints the header, interfaces sorted, one row each, and counters."""
    text = render_status({"ok": True, **STATUS_DOC})
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == "garpd pid 4242  config /etc/garpd/garpd.toml  up 12.3s  held 1 of 2"
    assert lines[1] == "eth0"
    assert lines[2].split() == ["192.0.2.100", "VI_1", "held", "for", "3.2s", "sent", "10",
                                "next:", "2", "queued,", "next", "in", "1.8s"]
    assert lines[3] == "eth1"
    assert lines[4].split() == ["2001:db8::100", "VI_2", "tentative", "sent", "0",
                                "next:", "nothing", "scheduled"]
    assert lines[5] == "counters: bursts=2, frames=10"
    assert len(lines) == 6
    assert "\x1b[" not in text


def test_render_status_draws_the_schedule() -> None:
    """A held address with bursts ahead gets a bar of the next 30 s; colour only on request."""
    row = {"interface": "eth0", "address": "192.0.2.100", "group": "VI_1", "held": True,
           "held_for": 1.0, "sent": 5, "pending": 0, "refresh_every": 60.0,
           "schedule": [{"in": 4.0, "reason": "master_delay", "packets": 5},
                        {"in": 64.0, "reason": "refresh", "packets": 1}]}
    text = render_status({"addresses": [row]})
    line, bar = text.splitlines()[2:4]
    assert "next: master_delay x5 in 4.0s, refresh x1 in 64.0s, refresh every 60.0s" in line
    cells = bar.split()[0]
    assert len(cells) == 40
    assert cells.index("#") == int(4.0 / 30 * 40)
    assert cells.count("#") == 1
    coloured = render_status({"addresses": [row]}, colour=True)
    assert "\x1b[32m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text


@pytest.mark.parametrize(("doc", "empty"), [
    ({}, True),
    ({"addresses": [], "counters": {}}, True),
    ({"addresses": "junk", "counters": ["x"], "uptime": "long"}, True),
    ({"addresses": [None, 5, {"interface": "eth0"}]}, False),
])
def test_render_status_tolerates_odd_documents(doc: dict[str, Any], empty: bool) -> None:
    """Whatever a daemon answers, render_status() prints something and never raises."""
    text = render_status(doc)
    assert text.startswith("garpd pid ")
    assert ("no watched addresses" in text) is empty


# --- parse_request ----------------------------------------------------------------------

_json_leaf = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
              | st.floats(allow_nan=False) | st.text(max_size=20))
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_parse_request_on_arbitrary_bytes_raises_only_value_error(line: bytes) -> None:
    """parse_request() returns a dict with a known command, or raises ValueError."""
    try:
        data = parse_request(line)
    except ValueError:
        return
    assert isinstance(data, dict)
    assert data["command"] in ("status", "notify", "ping")


@pytest.mark.parametrize("line", [
    b"1" * 4301,  # found by fuzz/control.py: int() refuses more than 4300 digits
    b'{"command": "notify", "priority": ' + b"9" * 5000 + b"}",
    b"[" * 100_000,
])
def test_parse_request_refuses_with_a_remote_error_only(line: bytes) -> None:
    """What json.loads raises beyond JSONDecodeError (a ValueError for an integer of more
    than 4300 digits, RecursionError) is the client's error, said as such."""
    with pytest.raises(RemoteError, match="not a JSON object"):
        parse_request(line)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "command": st.sampled_from(["status", "notify", "ping", "x"]) | _json,
    "type": st.sampled_from(["INSTANCE", "GROUP"]) | _json,
    "name": st.text(max_size=300) | _json,
    "state": st.sampled_from(control.NOTIFY_STATES) | _json,
    "priority": st.integers(-5, 300) | _json,
}))
def test_parse_request_on_structured_json(data: dict[str, Any]) -> None:
    """Accepted notify requests always carry valid type, name, state and priority."""
    line = json.dumps(data).encode()
    parsed: dict[str, Any] | None
    try:
        parsed = parse_request(line)
    except ValueError as exc:
        parsed, reason = None, str(exc)
    if parsed is None:
        assert reason  # every refusal says why
        return
    assert parsed == data
    if parsed["command"] == "notify":
        assert parsed["type"] in ("INSTANCE", "GROUP")
        assert isinstance(parsed["name"], str)
        assert 0 < len(parsed["name"]) <= 256
        assert parsed["state"] in control.NOTIFY_STATES
        prio = parsed.get("priority")
        assert prio is None or (type(prio) is int and 0 <= prio <= 255)


@given(st.dictionaries(st.text(max_size=20), st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
    st.text(max_size=60)), max_size=6))
def test_encode_request_is_json(payload: dict[str, object]) -> None:
    """The hook's hand-written request encoder agrees with json.loads for flat objects."""
    line = encode_request(payload)
    assert line.endswith(b"\n")
    assert json.loads(line.decode("utf-8", "surrogatepass")) == payload


def _tomllib_socket(raw: bytes) -> str:
    """What tomllib says the control socket is (the default when it cannot parse)."""
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return DEFAULT_SOCKET
    section = data.get("control")
    value = section.get("socket") if isinstance(section, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_SOCKET


@pytest.mark.parametrize("text", [
    '[ control ]\nsocket = "/run/a.sock"\n',
    '["control"]\nsocket = "/run/b.sock"\n',
    "['control']\nsocket = '/run/c.sock'\n",
    '["\\u0063ontrol"]\nsocket = "/run/d.sock"\n',
    'control.socket = "/run/e.sock"\n',
    'control = { socket = "/run/f.sock" }\n',
    'x = """\n[control]\nsocket = "/run/g.sock"\n"""\n',
    '[control]\nsocket = "/run/h.sock"\nbroken = \n',
])
def test_socket_path_agrees_with_tomllib_on_tricky_files(tmp_path: Path, text: str) -> None:
    """Spaced or quoted headers, escapes, dotted keys, strings and broken files: tomllib's
    answer, every time (a daemon on a non-default socket is found)."""
    cfg = tmp_path / "garpd.toml"
    cfg.write_text(text)
    assert socket_path(str(cfg)) == _tomllib_socket(text.encode())


_TOML_PIECES = st.sampled_from([
    "[control]", "[ control ]", '["control"]', "[announce]", "[control.x]", "control",
    'socket = "/run/p.sock"', "socket = '/run/q.sock'", 'socket = ""', "socket = 1",
    'control.socket = "/run/r.sock"', '"""', "'''", "#", "\\u0063", "=", '"', "\n", " ",
    "[[group]]", 'name = "VI_1"', "x = [", "]", "{", "}",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOML_PIECES, max_size=12).map("\n".join))
def test_socket_path_agrees_with_tomllib_on_any_file(text: str) -> None:
    """Whatever the file holds, socket_path() answers what tomllib reads from it."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "garpd.toml"
        cfg.write_text(text)
        assert socket_path(str(cfg)) == _tomllib_socket(text.encode())


_SUBSET_LINES = st.sampled_from([
    "[control]", "[announce]", "[[group]]", "[group]", "[log]", "[control] # c", "  [metrics]",
    'socket = "/run/p.sock"', "socket = '/run/q.sock'", 'socket = ""', "socket = 1",
    "socket = true", 'socket = ["/run/s.sock"]', 'socket="/run/t.sock"  # x',
    'socket = "/run/\\u0075.sock"', 'socket = "a\tb"', "socket = '\x01'", 'socket = "é"',
    "control = 1", 'name = "VI_1"', "name = 'VI_2'", "master_repeat = 3", "x = -0.5",
    "x = +0", "x = 01", "x = 1_000", "x = 1e3", "x = [1, 'a', \"b\",]", "x = [ ]", "x = [,]",
    "x = [1 2]", "x = 1#c", "x = truex", "x = 2024-01-01", "x = inf", "# comment",
    "#\x7f", "", "   ", "\t", "x = 1\r", "x = 1 \r ", 'x = """a"""', "a.b = 1",
    '"q" = 1', "x = {a = 1}", "[ control ]", "[control.sub]", "[[control]]", "= 1",
])
_PLAIN_LINES = st.sampled_from([
    "[control]", 'socket = "/run/p.sock"', "socket = '/run/q.sock'", "[announce]", "[[group]]",
    'name = "VI_1"', "master_repeat = 3", "", "# c", "[log]", 'level = "info"',
])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PLAIN_LINES, _PLAIN_LINES, _PLAIN_LINES, _SUBSET_LINES), max_size=10),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_subset_socket_agrees_with_tomllib(lines: list[str], newline: str,
                                           final: bool) -> None:
    """Inside the subset the fast path answers exactly as tomllib; outside it says None."""
    text = newline.join(lines) + (newline if final else "")
    raw = text.encode()
    quick = control.subset_socket(raw)
    if quick is not None:
        assert quick == _tomllib_socket(raw)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "garpd.toml"
        cfg.write_bytes(raw)
        assert socket_path(str(cfg)) == _tomllib_socket(raw)


_LOAD_LINES = st.sampled_from([
    "[[group]]", "[announce]", "[group]", "a = 1", "a = 2", "b = -0.5", "b = +0", "c = true",
    "c = false", 'd = ["192.0.2.1", "192.0.2.2"]', "d = [1, 2.5, 'x', false, ]", "d = []",
    'e = "é #"', "e = ''", "a = 1.0", "a = 0", "[[announce]]", "a = [[1]]",
])


def _typed(value: object) -> object:
    """``value`` with every scalar paired with its type (True == 1 in Python, not in TOML)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PLAIN_LINES, _LOAD_LINES, _LOAD_LINES, _SUBSET_LINES), max_size=12),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_subset_load_agrees_with_tomllib(lines: list[str], newline: str, final: bool) -> None:
    """Inside the subset the hook's reader gives exactly what tomllib gives (types too);
    outside it, and for every file tomllib refuses, it says None."""
    text = newline.join(lines) + (newline if final else "")
    loaded = control.subset_load(text.encode())
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert loaded is None
        return
    if loaded is not None:
        assert _typed(loaded) == _typed(expected)


def test_subset_load_reads_the_shipped_and_the_bench_configurations() -> None:
    """The shipped example and the bench's daemon configuration are inside the subset."""
    shipped = (Path(__file__).resolve().parent.parent / "config" / "garpd.toml").read_bytes()
    bench = (b'[announce]\nmaster_delay = 0.0\nmaster_repeat = 1\nmaster_refresh = 0.0\n\n'
             b'[log]\nformat = "json"\nlevel = "info"\n\n[control]\nsocket = "/tmp/x.sock"\n\n'
             b'[keepalived]\nnotify_fifo = "/tmp/x.fifo"\n\n[[group]]\nname = "VI_1"\n'
             b'interface = "eth0"\naddresses = ["192.0.2.100"]\nnetworks = ["198.19.200.0/22"]\n')
    for raw in (shipped, bench):
        loaded = control.subset_load(raw)
        assert loaded is not None
        assert _typed(loaded) == _typed(tomllib.loads(raw.decode()))
    assert control.subset_load(b'[control]\nsocket = "\\u0041"\n') is None  # an escape


def test_subset_socket_reads_the_shipped_and_the_bench_configurations() -> None:
    """The shipped example and a typical file are answered without tomllib."""
    shipped = (Path(__file__).resolve().parent.parent / "config" / "garpd.toml").read_bytes()
    assert control.subset_socket(shipped) == _tomllib_socket(shipped)
    typical = (b'[announce]\nmaster_delay = 0.0\nmaster_repeat = 1\n\n[log]\nformat = "json"\n'
               b'\n[control]\nsocket = "/run/garpd/x.sock"\n\n[[group]]\nname = "VI_1"\n'
               b'interface = "eth0"\naddresses = ["192.0.2.100"]\n')
    assert control.subset_socket(typical) == "/run/garpd/x.sock"
