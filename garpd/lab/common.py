"""What every part of the lab shares: its errors, running a command, waiting for a
condition, the address ranges it may use, and the environment of its child processes."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, TypeVar

T = TypeVar("T")

SWITCH: Final = "switch"
BRIDGE: Final = "br0"
HOST_DEV: Final = "eth0"
ETH_P_IP: Final = 0x0800
ETH_P_ARP: Final = 0x0806
ETH_P_IPV6: Final = 0x86DD
BROADCAST_MAC: Final = "ff:ff:ff:ff:ff:ff"
#: The lab's in-namespace helper, run as ``python -m`` (see :func:`agent_argv`).
AGENT_MODULE: Final = "garpd.lab.agent"
ALLOWED_NETWORKS: Final = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "198.18.0.0/15",
        "2001:db8::/32",
        "fe80::/10",
    )
)
CMD_TIMEOUT: Final = 30.0
_MAC_RE: Final = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
#: Variables a lab child must not inherit: it is not the service systemd started.
_SERVICE_VARS: Final = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS")


class LabError(RuntimeError):
    """The lab could not be built, driven or torn down as asked."""


class CommandFailed(subprocess.CalledProcessError):
    """A command run by the lab exited non-zero; str() includes its output."""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\n  stdout: {str(self.stdout or '').strip()}"
            f"\n  stderr: {str(self.stderr or '').strip()}"
        )


def run(argv: Sequence[str], *, check: bool = True, timeout: float = CMD_TIMEOUT,
        input_text: str | None = None, env: Mapping[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` and wait; text output captured; CommandFailed if check and non-zero."""
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, check=False, timeout=timeout,
        input=input_text, stdin=subprocess.DEVNULL if input_text is None else None,
        env=None if env is None else dict(env),
    )
    if check and proc.returncode != 0:
        raise CommandFailed(proc.returncode, list(argv), proc.stdout, proc.stderr)
    return proc


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy and return that value.

    Raises TimeoutError (with `message` and the last value) after `timeout` seconds. Use a
    generous timeout: this is for "eventually", never for asserting timings.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            raise TimeoutError(f"not true after {timeout:.1f}s: {what} (last value: {value!r})")
        time.sleep(interval)


def check_lab_address(address: str) -> None:
    """Raise LabError unless `address` (bare or with /prefix) is in a range the lab may use."""
    ip = ipaddress.ip_interface(address).ip
    if not any(ip.version == net.version and ip in net for net in ALLOWED_NETWORKS):
        raise LabError(f"{address} is outside the lab's documentation/benchmark ranges")


def normalize_mac(mac: str) -> str:
    """Return `mac` lower-cased, or raise LabError if it is not aa:bb:cc:dd:ee:ff."""
    low = mac.lower()
    if not _MAC_RE.match(low):
        raise LabError(f"not a MAC address: {mac!r}")
    return low


def child_env() -> dict[str, str]:
    """This process's environment for a lab child: garpd importable (its package root on
    PYTHONPATH, whatever the child's cwd), no systemd service variables."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, path) if p)
    return env


def agent_argv(mode: str, *args: str) -> list[str]:
    """argv that runs the lab's agent (:mod:`garpd.lab.agent`) in ``mode``."""
    return [sys.executable, "-u", "-m", AGENT_MODULE, mode, *args]
