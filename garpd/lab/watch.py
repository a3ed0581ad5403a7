"""The host side of the lab's watchers (``garpd.lab.agent watch``): owns starting one per
host, collecting what they report (address, neighbour and GARP events, ping answers, with
the agents' CLOCK_MONOTONIC times) and waiting for an event."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from garpd.lab.common import HOST_DEV, LabError, agent_argv
from garpd.lab.netns import Lab


class Agents:
    """One watching agent per host for IPv4 address ``vip``, and everything they reported
    so far (``events``: (host, event) in arrival order)."""

    def __init__(self, lab: Lab, vip: str, dev: str = HOST_DEV) -> None:
        self.lab = lab
        self.vip = vip
        self.dev = dev
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.inbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._tags = 0

    def start(self, host: str, *, capture: bool) -> None:
        """Start the agent in ``host`` (capturing GARPs there if ``capture``)."""
        argv = agent_argv("watch", "--lab", self.lab.prefix, "--dev", self.dev,
                          "--vip", self.vip, *(["--capture"] if capture else []))
        with (self.lab.workdir / f"agent-{host}.log").open("wb") as errors:
            proc = self.lab.popen(host, *argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=errors, env=self.lab.env, cwd=self.lab.workdir)
        self.procs[host] = proc
        threading.Thread(target=self._read, args=(host, proc), daemon=True).start()

    def _read(self, host: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for line in proc.stdout:
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if isinstance(event, dict):
                        self.inbox.put((host, event))
        self.inbox.put((host, {"e": "eof", "t": time.monotonic()}))

    def pump(self, timeout: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """Collect what arrived (waiting up to ``timeout`` for the first); return it."""
        new: list[tuple[str, dict[str, Any]]] = []
        try:
            new.append(self.inbox.get(timeout=timeout) if timeout > 0
                       else self.inbox.get_nowait())
            while True:
                new.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        self.events.extend(new)
        return new

    def read(self, cursor: int, timeout: float = 0.0
             ) -> tuple[list[tuple[str, dict[str, Any]]], int]:
        """Every event from position ``cursor`` on (waiting up to ``timeout`` if there is
        none yet), and the cursor for the next call."""
        if len(self.events) <= cursor:
            self.pump(timeout)
        else:
            self.pump()
        return self.events[cursor:], len(self.events)

    def wait(self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float,
             what: str) -> dict[str, Any]:
        """The first event (already seen or arriving within ``timeout``) matching."""
        for host, event in self.events:
            if predicate(host, event):
                return event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for host, event in self.pump(min(left, 0.1)):
                if predicate(host, event):
                    return event
                if event.get("e") == "eof":
                    raise LabError(f"the agent in {self.lab.ns(host)} exited: "
                                              f"{self._errors(host)}")
        raise LabError(f"{what} did not happen within {timeout:.0f} s")

    def _errors(self, host: str) -> str:
        try:
            lines = (self.lab.workdir / f"agent-{host}.log").read_text(errors="replace")
        except OSError:
            return "(no output)"
        return " | ".join(lines.strip().splitlines()[-3:]) or "(no output)"

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until every agent has its sockets open."""
        for host in self.procs:
            def started(h: str, e: dict[str, Any], host: str = host) -> bool:
                return h == host and e.get("e") == "ready"

            self.wait(started, timeout, f"the agent in {self.lab.ns(host)} starting")

    def ping(self, host: str, target: str, timeout: float) -> str:
        """Ask ``host``'s agent to ping ``target``; the tag to wait for with ping_result."""
        self._tags += 1
        tag = f"p{self._tags}"
        stdin = self.procs[host].stdin
        assert stdin is not None
        stdin.write(f"ping {tag} {target} {timeout}\n".encode())
        stdin.flush()
        return tag

    def ping_result(self, tag: str, timeout: float) -> dict[str, Any]:
        """The answer of ping ``tag``."""
        return self.wait(lambda _h, e: e.get("e") == "ping" and e.get("tag") == tag,
                         timeout, "a ping's answer")

    def after(self, cursor: int, kind: str, host: str) -> list[dict[str, Any]]:
        """Events of ``kind`` from ``host`` since position ``cursor``, oldest first."""
        return [e for h, e in self.events[cursor:] if e.get("e") == kind and h == host]
