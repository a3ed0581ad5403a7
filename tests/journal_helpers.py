"""Reading systemd's journal native protocol in tests: a parser for its datagrams (both
the ``NAME=value`` and the binary length-prefixed form), a receiving socket that also takes
memfds passed with SCM_RIGHTS, and a real ``systemd-journald`` in a private mount
namespace whose socket and files live in a test directory."""

from __future__ import annotations

import array
import fcntl
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.lab import wait_for

Entry = dict[str, list[bytes]]
JOURNALD = "/lib/systemd/systemd-journald"
NAMESPACE = "garpdtest"


def parse(data: bytes) -> Entry:
    """One native-protocol datagram as {field: [values]} (raises ValueError if malformed)."""
    out: Entry = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        line = data[pos:end]
        if b"=" in line:
            name, _, value = line.partition(b"=")
            pos = end + 1
        else:
            name = line
            size = int.from_bytes(data[end + 1:end + 9], "little")
            value = data[end + 9:end + 9 + size]
            if len(value) != size or data[end + 9 + size:end + 10 + size] != b"\n":
                raise ValueError(f"bad binary field {name!r}")
            pos = end + 10 + size
        out.setdefault(name.decode("ascii"), []).append(value)
    return out


def one(entry: Entry) -> dict[str, str]:
    """{field: value} of an entry whose fields all have one value."""
    assert all(len(v) == 1 for v in entry.values()), entry
    return {k: v[0].decode() for k, v in entry.items()}


class Receiver:
    """A bound AF_UNIX datagram socket standing in for journald's (reads when asked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sealed: list[int] = []  # the seals of every memfd received

    def receive(self, timeout: float = 5.0) -> Entry | None:
        """The next entry (from a datagram or a memfd), None if none within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            data, ancdata, _flags, _addr = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        except TimeoutError:
            return None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
                for fd in fds:
                    try:
                        self.sealed.append(fcntl.fcntl(fd, fcntl.F_GET_SEALS))
                        data = os.pread(fd, os.fstat(fd).st_size, 0)
                    finally:
                        os.close(fd)
        return parse(data)

    def drain(self) -> list[Entry]:
        """Every entry queued now."""
        out = []
        while (got := self.receive(0.05)) is not None:
            out.append(got)
        return out

    def close(self) -> None:
        """Close and unlink the socket."""
        self.sock.close()
        self.path.unlink(missing_ok=True)


def journald_unavailable_reason() -> str | None:
    """Why a private systemd-journald cannot run here (None if it can)."""
    if not os.path.exists(JOURNALD):
        return f"{JOURNALD} missing (Debian package systemd)"
    if shutil.which("unshare") is None or shutil.which("journalctl") is None:
        return "unshare or journalctl missing"
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    return None


class Journald:
    """``systemd-journald`` (journal namespace ``garpdtest``) in a private mount namespace:
    its /run is a tmpfs in which the socket directory and the journal directories are bind
    mounts of ``root/socket`` and ``root/journal``, so nothing of the host's journal is
    touched and anything can reach the socket at :attr:`socket`."""

    def __init__(self, root: Path) -> None:
        self.sockdir = root / "socket"
        self.logdir = root / "journal"
        self.sockdir.mkdir(parents=True)
        self.logdir.mkdir()
        self.socket = self.sockdir / "socket"
        # A journal namespace of its own: no /dev/kmsg, audit or syslog, only our socket.
        script = (
            "set -e; mount -t tmpfs tmpfs /run; "
            f"mkdir -p /run/systemd/journal.{NAMESPACE} /run/log/journal; "
            f'mount --bind "$1" /run/systemd/journal.{NAMESPACE}; '
            'mount --bind "$2" /run/log/journal; '
            'if [ -d /var/log/journal ]; then mount --bind "$2" /var/log/journal; fi; '
            f"exec {JOURNALD} {NAMESPACE}")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SYSTEMD_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             str(self.sockdir), str(self.logdir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env)
        try:
            wait_for(lambda: self.socket.is_socket() or self.proc.poll() is not None, 10.0,
                     message="journald's socket")
        except TimeoutError:
            self.close()
            raise
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"systemd-journald exited {self.proc.returncode}: {err}")

    def entries(self, *matches: str) -> list[dict[str, object]]:
        """``journalctl -o json`` of the test journal with ``matches`` (FIELD=value...)."""
        files = [f"--file={f}" for f in sorted(self.logdir.rglob("*.journal"))]
        if not files:
            return []
        out = subprocess.run(
            ["journalctl", *files, "--no-pager", "--all", "-o", "json", *matches],
            capture_output=True, text=True, timeout=30, check=False)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def wait_entries(self, *matches: str, count: int = 1,
                     timeout: float = 10.0) -> list[dict[str, object]]:
        """Wait until at least ``count`` entries match; all that match."""
        def enough() -> list[dict[str, object]]:
            got = self.entries(*matches)
            return got if len(got) >= count else []

        return wait_for(enough, timeout, message=f"{count} journal entries {matches}")

    def close(self) -> None:
        """Stop journald (its PID: unshare and sh exec it) and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def journald_at(root: Path) -> Iterator[Journald]:
    """A fixture body: a private journald under ``root``, stopped afterwards."""
    journald = Journald(root)
    try:
        yield journald
    finally:
        journald.close()
