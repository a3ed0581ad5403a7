"""The runner's alarm: a timerfd the asyncio loop watches (and its call_at fallback).

Correctness only (never early, fires once, replaced, disarmed, stale expiries ignored);
how late it fires is measured by the soak test, not asserted here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from garpd.drivers.alarm import Alarm


@pytest.fixture(params=[True, False], ids=["timerfd", "call_at"])
def kernel(request: pytest.FixtureRequest) -> bool:
    """Both ways of waking the loop."""
    return bool(request.param)


def run(scenario: object) -> None:
    asyncio.run(scenario)  # type: ignore[arg-type]


async def fired_once(fired: list[float]) -> float:
    """Wait (up to 10 s: a busy machine) for the first call, then check no second follows;
    return when the first came."""
    for _ in range(1000):
        if fired:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(fired) == 1, fired
    return fired[0]


def test_fires_once_never_before_its_deadline(kernel: bool) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        alarm = Alarm(loop, lambda: fired.append(loop.time()), kernel=kernel)
        assert alarm.kernel is kernel
        when = loop.time() + 0.2
        alarm.set(when)
        assert alarm.when == when
        remaining = alarm.remaining()
        assert remaining is not None
        assert 0 < remaining <= 0.2
        assert await fired_once(fired) >= when
        assert alarm.when is None
        assert alarm.remaining() is None
        alarm.close()

    run(scenario())


def test_set_replaces_the_deadline_and_none_disarms(kernel: bool) -> None:
    """The first deadline, replaced by a later one, never fires (the one call comes at or
    after the later); a deadline disarmed with None never fires."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        alarm = Alarm(loop, lambda: fired.append(loop.time()), kernel=kernel)
        alarm.set(loop.time() + 0.02)
        later = loop.time() + 0.15
        alarm.set(later)
        assert await fired_once(fired) >= later
        alarm.set(loop.time() + 0.02)
        alarm.set(None)
        await asyncio.sleep(0.1)
        assert len(fired) == 1
        alarm.close()

    run(scenario())


def test_expiry_overtaken_by_a_new_deadline_is_ignored(kernel: bool) -> None:
    """The timer went off while the loop was busy, then the deadline moved later before the
    loop got to it: nothing runs until the new deadline."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        alarm = Alarm(loop, lambda: fired.append(loop.time()), kernel=kernel)
        alarm.set(loop.time() - 1.0)  # already due
        time.sleep(0.01)  # the loop is busy: the expiry waits
        later = loop.time() + 0.1
        alarm.set(later)
        assert await fired_once(fired) >= later
        alarm.close()

    run(scenario())


def test_loop_keeps_running_while_armed_and_close_releases_the_fd() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        alarm = Alarm(loop, lambda: None)
        assert alarm.kernel
        fd = alarm._fd
        alarm.set(loop.time() + 60.0)
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.001)
            ticks += 1
        assert ticks == 5
        alarm.close()
        assert alarm.when is None
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(fd)

    run(scenario())


MDWE_CHILD = """
import asyncio, mmap, sys
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    pass
else:
    sys.exit("PR_SET_MDWE is not in force")
from garpd.drivers.alarm import Alarm

async def main() -> None:
    loop = asyncio.get_running_loop()
    fired = []
    alarm = Alarm(loop, lambda: fired.append(loop.time()))
    when = loop.time() + 0.01
    alarm.set(when)
    for _ in range(1000):  # up to 10 s on a busy machine
        if fired:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    print(alarm.kernel, len(fired), bool(fired) and fired[0] >= when)

asyncio.run(main())
"""


def test_timerfd_works_under_memory_deny_write_execute() -> None:
    """systemd's MemoryDenyWriteExecute=yes (the unit sets it) refuses writable executable
    memory; ctypes' import and the timerfd calls must still work. The kernel's own
    PR_SET_MDWE (Linux 6.3+, kept across exec) stands in for systemd's seccomp filter."""
    setter = (
        "import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.prctl(65, 1, 0, 0, 0) != 0:\n"
        "    sys.exit(77)\n"
        "os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "-c", setter, MDWE_CHILD], capture_output=True,
                          text=True, timeout=60, cwd=root, check=False,
                          env={**os.environ, "PYTHONPATH": root})
    if proc.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "1", "True"]
