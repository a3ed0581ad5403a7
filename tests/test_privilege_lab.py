"""The daemon as the packaged unit runs it: an unprivileged user whose only capability is
CAP_NET_RAW (systemd/garpd.service: User=garpd, AmbientCapabilities=CAP_NET_RAW,
CapabilityBoundingSet=CAP_NET_RAW, RuntimeDirectory=garpd).

``setpriv`` gives ``garpd run`` in lab namespace "a" exactly that: uid/gid ``nobody``
(standing in for the system user garpd, which a test must not create on the host) and
CAP_NET_RAW in its inheritable, ambient and bounding sets, nothing else. The test checks
/proc/PID/status, that frames still reach a peer, that the notify FIFO is created in the
runtime directory and root's writes to it are heard, and that root's ``garpd status``
reaches the control socket while another unprivileged user does not.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_helpers import Daemon, announcements, config_text, wait_neighbour
from tests.lab import Lab, LabFactory, wait_for

pytestmark = pytest.mark.lab

VIP4 = "192.0.2.30"
VIP6 = "2001:db8::30"
PEER4 = "192.0.2.31"
NOBODY = 65534
OTHER_UID = 65533  # an unprivileged uid that is not the daemon's
CAP_NET_RAW = 13
CMD_TIMEOUT = 60.0


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory every user may traverse (tmp_path is private to root): the config,
    the NOTIFY_SOCKET and the log live here; run/ is the daemon's own, mode 0700, as
    systemd's RuntimeDirectory= makes it."""
    path = Path(tempfile.mkdtemp(prefix="garpd-priv-"))
    try:
        path.chmod(0o755)
        run = path / "run"
        run.mkdir(mode=0o700)
        os.chown(run, NOBODY, NOBODY)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def setpriv(uid: int) -> list[str]:
    """argv prefix: become ``uid`` (and its gid, no supplementary groups) with CAP_NET_RAW
    as the only capability in the inheritable, ambient and bounding sets."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is missing")
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw",
            "--bounding-set=-all,+net_raw", "--"]


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_daemon_runs_as_an_unprivileged_user_with_cap_net_raw_only(
        make_lab: LabFactory, garpd_cmd: list[str], workdir: Path) -> None:
    """As uid nobody with CAP_NET_RAW alone the daemon announces, creates its FIFO, and
    answers root's `garpd status`; /proc shows that uid and CapEff = CAP_NET_RAW."""
    lab: Lab = make_lab(["a", "peer"], accept_dad=0, locktime=0)
    lab.add_address("peer", f"{PEER4}/24")
    lab.set_neighbour("peer", VIP4, "02:00:00:00:00:99")  # a stale entry the GARPs must move
    sock = workdir / "run" / "garpd.sock"
    fifo = workdir / "run" / "keepalived.fifo"
    cfg = workdir / "garpd.toml"
    cfg.write_text(config_text(sock, {"master_repeat": 2, "master_delay": 0},
                               [{"name": "VI_1", "interface": "eth0",
                                 "addresses": [VIP4, VIP6]}])
                   + f'\n[keepalived]\nnotify_fifo = "{fifo}"\n')
    cfg.chmod(0o644)
    # The NOTIFY_SOCKET the Daemon binds (as root) must be writable by the daemon's user:
    # a root shell opens it up, then drops to the daemon's privileges and execs garpd.
    # (From /: the checkout may sit in a directory only root can read.)
    wrapper = ["sh", "-c", 'chmod 0666 "$NOTIFY_SOCKET" && cd / && exec "$@"', "sh",
               *setpriv(NOBODY), *garpd_cmd]
    cap = lab.capture("peer")
    daemon = Daemon(lab, wrapper, cfg, workdir, name="garpd-unprivileged")
    try:
        daemon.start()
        assert daemon.proc is not None
        status = proc_status(daemon.proc.pid)
        assert status["Uid"].split() == [str(NOBODY)] * 4
        assert status["Gid"].split() == [str(NOBODY)] * 4
        assert status["Groups"] == ""
        for key in ("CapEff", "CapPrm", "CapAmb", "CapBnd"):
            assert int(status[key], 16) == 1 << CAP_NET_RAW, (key, status[key])

        # It still announces: raw frames leave with CAP_NET_RAW alone.
        lab.run("a", "ip", "addr", "add", f"{VIP4}/24", "dev", "eth0")
        lab.run("a", "ip", "addr", "add", f"{VIP6}/64", "dev", "eth0", "nodad")
        wait_for(lambda: len(announcements(cap.frames_so_far(), VIP4)) >= 2
                 and len(announcements(cap.frames_so_far(), VIP6)) >= 2, 15.0,
                 message="2 GARPs and 2 NAs from the unprivileged daemon")
        wait_neighbour(lab, VIP4, lab.mac("a"))
        assert daemon.errors() == []

        # The FIFO it created in its runtime directory: its own, 0600; root writes to it.
        info = fifo.lstat()
        assert stat.S_ISFIFO(info.st_mode)
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (NOBODY, 0o600)
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, b'INSTANCE "VI_1" MASTER 100\n')
        finally:
            os.close(fd)
        daemon.wait_records("notify_received", 1, source="fifo", name="VI_1")

        # The control socket: the daemon's own, 0600, in its 0700 directory.
        info = sock.lstat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (NOBODY, 0o600)
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        root = subprocess.run([*garpd_cmd, "status", "-c", str(cfg), "--json"], env=env,
                              capture_output=True, text=True, timeout=CMD_TIMEOUT,
                              check=False)
        assert root.returncode == 0, root.stderr
        assert '"ok": true' in root.stdout.replace('"ok":true', '"ok": true')
        assert VIP4 in root.stdout
        other = subprocess.run([*setpriv(OTHER_UID), *garpd_cmd, "status", "-c", str(cfg)],
                               env=env, cwd="/", capture_output=True, text=True,
                               timeout=CMD_TIMEOUT, check=False)
        assert other.returncode == 1, other.stderr
        assert VIP4 not in other.stdout
    finally:
        daemon.close()
