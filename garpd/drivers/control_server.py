"""The daemon's end of the control socket (asyncio).

The socket is created mode 0600 in a directory the daemon creates (0700) if missing;
every connection's peer is checked with SO_PEERCRED, and only root or the daemon's own
user get an answer (others get ``{"ok": false}`` and nothing else). Requests that are too
long, malformed or too slow are answered with an error or dropped, and counted; the daemon
never blocks on a client, and at most :data:`MAX_CLIENTS` are served at once: a new client
when all are taken closes the longest-idle one, so idle connections cannot lock anyone
out.

A reply whose values include an iterator (``status``'s addresses) is written as it is
encoded, a chunk of :data:`STREAM_ROWS` rows at a time with a ``drain`` between chunks:
the rows of ten thousand addresses are never all built, encoded and buffered at once
(measured: a ``status`` with 10,000 held raised the daemon's peak RSS by ~13 MB, most of
which stayed resident).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from garpd.control import parse_request

MAX_LINE = 64 * 1024
IDLE_TIMEOUT = 10.0
MAX_CLIENTS = 64
#: How many rows of a streamed reply are encoded and written before each ``drain``.
STREAM_ROWS = 256


class Handler(Protocol):
    """What the daemon exposes to the control socket."""

    def status(self) -> dict[str, Any]:
        """The status document (without ``ok``)."""

    def notify(self, kind: str, name: str, state: str, priority: int | None,
               source: str) -> dict[str, Any]:
        """Apply a keepalived notification; returns the reply fields (without ``ok``)."""

    def metrics_text(self) -> str:
        """The metrics in Prometheus text format."""


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class ControlServer:
    """The daemon's end of the control socket."""

    def __init__(self, handler: Handler, path: Path, log: Any, *,
                 idle_timeout: float = IDLE_TIMEOUT, uid: int | None = None) -> None:
        """``idle_timeout``: a client silent this long mid-line is closed; ``uid``: the
        user answered besides root (default: this process's)."""
        self.handler = handler
        self.path = path
        self.log = log
        self.idle_timeout = idle_timeout
        self.counters = {"requests": 0, "rejected": 0, "denied": 0}
        self._server: asyncio.base_events.Server | None = None
        self._active: dict[asyncio.StreamWriter, float] = {}  # client -> last request
        self._uid = os.getuid() if uid is None else uid

    async def start(self) -> None:
        """Create the directory and the socket (0600) and start serving."""
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISSOCK(mode):
                raise OSError(17, f"{self.path} exists and is not a socket; not removing it")
            if _listening(self.path):
                raise OSError(98, f"another garpd is listening on {self.path}")
            self.path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        """Stop serving and remove the socket file."""
        if self._server is not None:
            self._server.close()
            self._server = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        try:
            if uid is None or uid not in (0, self._uid):
                self.counters["denied"] += 1
                self.log.warning("control_denied", uid=uid)
                writer.write(b'{"ok": false}\n')
                await writer.drain()
                return
            if len(self._active) >= MAX_CLIENTS:
                # Full: the longest-idle client makes room, so idle connections can never
                # lock out status and keepalived's notify.
                oldest = min(self._active, key=self._active.__getitem__)
                self._active.pop(oldest)
                self.counters["evicted"] = self.counters.get("evicted", 0) + 1
                oldest.close()
            self._active[writer] = asyncio.get_running_loop().time()
            try:
                await self._conversation(reader, writer)
            finally:
                self._active.pop(writer, None)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _conversation(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout=self.idle_timeout)
            except TimeoutError:
                return
            except (ValueError, asyncio.LimitOverrunError):
                self.counters["rejected"] += 1
                self.log.warning("control_rejected", error="request too long")
                writer.write(_reply({"ok": False, "error": f"request longer than {MAX_LINE}"}))
                await writer.drain()
                return
            if not line:
                return
            if not line.strip():
                continue
            self.counters["requests"] += 1
            if writer in self._active:
                self._active[writer] = asyncio.get_running_loop().time()
            await self._send(writer, self._answer(line))

    async def _send(self, writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
        """Write ``answer`` as one JSON line, its iterator values streamed (see the module
        docstring); the same bytes as encoding it with its iterators made lists."""
        if not any(isinstance(v, Iterator) for v in answer.values()):
            writer.write(_reply(answer))
            await writer.drain()
            return
        sep = "{"
        for key, value in answer.items():
            head = f"{sep}{json.dumps(key)}:"
            sep = ","
            if not isinstance(value, Iterator):
                writer.write((head + _encode(value)).encode())
                continue
            writer.write((head + "[").encode())
            chunk: list[str] = []
            first = True
            try:
                for row in value:
                    chunk.append(_encode(row))
                    if len(chunk) >= STREAM_ROWS:
                        writer.write((("" if first else ",") + ",".join(chunk)).encode())
                        first, chunk = False, []
                        await writer.drain()
            except Exception as exc:  # a bug in a handler: the client sees a cut reply
                self.counters["failed"] = self.counters.get("failed", 0) + 1
                self.log.error("control_failed", command="status",
                               error=f"{type(exc).__name__}: {exc}")
                raise OSError("reply abandoned") from exc
            if chunk:
                writer.write((("" if first else ",") + ",".join(chunk)).encode())
            writer.write(b"]")
        writer.write(b"}\n")
        await writer.drain()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = parse_request(line)
        except ValueError as exc:
            self.counters["rejected"] += 1
            self.log.warning("control_rejected", error=str(exc))
            return {"ok": False, "error": str(exc)}
        try:
            return self._dispatch(request)
        except Exception as exc:  # a bug in a handler must not cost the client its answer
            self.counters["failed"] = self.counters.get("failed", 0) + 1
            self.log.error("control_failed", command=request.get("command"),
                           error=f"{type(exc).__name__}: {exc}")
            return {"ok": False, "error": "internal error"}

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request["command"]
        if command == "ping":
            return {"ok": True}
        if command == "status":
            return {"ok": True, **self.handler.status()}
        if command == "metrics":
            return {"ok": True, "text": self.handler.metrics_text()}
        return {"ok": True, **self.handler.notify(
            request["type"], request["name"], request["state"], request.get("priority"),
            "control")}


def _reply(data: dict[str, Any]) -> bytes:
    return _encode(data).encode() + b"\n"


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True
