"""Tests of the command line itself (no lab, no root): help, sub-command errors, the
global options' placement, and that the CLI module stays light to import."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
from collections.abc import Sequence

import pytest

from garpd.cli import build_parser
from garpd.errors import EXIT_USAGE


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with captured text output; never raise on a non-zero exit."""
    return subprocess.run(list(argv), capture_output=True, text=True, check=False,
                          timeout=60, stdin=subprocess.DEVNULL)


def one_clean_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (no traceback, nothing on stdout)."""
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_module_help(garpd_cmd: list[str]) -> None:
    """`python -m garpd --help` exits 0 and lists every sub-command on stdout."""
    proc = run([*garpd_cmd, "--help"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for command in ("run", "announce", "notify", "check", "status"):
        assert command in proc.stdout
    assert "--log-format" in proc.stdout


def test_announce_help(garpd_cmd: list[str]) -> None:
    """`garpd announce --help` exits 0 and documents every announce option."""
    proc = run([*garpd_cmd, "announce", "--help"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for option in ("--interface", "--repeat", "--delay", "--interval", "--mode", "--force",
                   "ADDRESS"):
        assert option in proc.stdout


def test_unknown_subcommand(garpd_cmd: list[str]) -> None:
    """An unknown sub-command exits 2 with one line naming it."""
    proc = run([*garpd_cmd, "frobnicate"])
    assert proc.returncode == EXIT_USAGE
    assert "frobnicate" in one_clean_error_line(proc)


def test_missing_subcommand(garpd_cmd: list[str]) -> None:
    """No sub-command at all exits 2 with one line, no traceback."""
    proc = run(garpd_cmd)
    assert proc.returncode == EXIT_USAGE
    one_clean_error_line(proc)


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_log_options_before_or_after_subcommand(before: bool) -> None:
    """--log-format / --log-level parse the same before or after the sub-command."""
    options = ["--log-format", "json", "--log-level", "DEBUG"]
    command = ["announce", "-i", "eth0", "192.0.2.10"]
    argv = [*options, *command] if before else [*command[:1], *options, *command[1:]]
    args = build_parser().parse_args(argv)
    assert args.command == "announce"
    assert args.log_format == "json"
    assert args.log_level == "debug"
    assert args.addresses == ["192.0.2.10"]


def test_log_option_defaults_when_absent() -> None:
    """Without the options, both read as None (the command picks its default)."""
    args = build_parser().parse_args(["announce", "-i", "eth0", "192.0.2.10"])
    assert args.log_format is None
    assert args.log_level is None


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_log_format_accepted_by_the_real_cli(garpd_cmd: list[str], before: bool) -> None:
    """The real CLI accepts --log-format on either side: it gets as far as the address."""
    opt = ["--log-format", "json"]
    argv = [*opt, "announce"] if before else ["announce", *opt]
    proc = run([*garpd_cmd, *argv, "-i", "eth0", "192.0.2.300"])
    assert proc.returncode == EXIT_USAGE
    line = one_clean_error_line(proc)
    assert "192.0.2.300" in line
    assert "--log-format" not in line


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_bad_log_format_refused(garpd_cmd: list[str], before: bool) -> None:
    """A bad --log-format value exits 2 with one line naming it, on either side."""
    opt = ["--log-format", "xml"]
    argv = [*opt, "announce"] if before else ["announce", *opt]
    proc = run([*garpd_cmd, *argv, "-i", "eth0", "192.0.2.10"])
    assert proc.returncode == EXIT_USAGE
    line = one_clean_error_line(proc)
    assert "--log-format" in line
    assert "xml" in line


def test_cli_import_is_light(garpd_cmd: list[str]) -> None:
    """Importing garpd.cli loads none of scapy, pyroute2 or pydantic."""
    code = ("import garpd.cli, sys; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('scapy','pyroute2','pydantic')))")
    proc = run([garpd_cmd[0], "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert ast.literal_eval(proc.stdout.strip()) == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"up": False}, "is down"),
    ({"carrier": False}, "has no carrier"),
    ({"running": False}, "is not running yet"),
    ({"noarp": True}, "has NOARP set"),
    ({"ethernet": False}, "is not an Ethernet interface"),
])
def test_announce_refuses_a_link_that_cannot_send(fields: dict[str, bool], message: str) -> None:
    """announce checks the link before it sends: up, carrier, RUNNING (a macvlan leaving
    protodown has carrier a moment before RUNNING; frames sent then are dropped), ARP."""
    from garpd.commands.announce import _check_link  # noqa: PLC0415
    from garpd.errors import UsageError  # noqa: PLC0415
    from garpd.events import LinkChanged  # noqa: PLC0415

    good = LinkChanged("eth0", 2, b"\x02\x00\x00\x00\x00\x01", up=True, carrier=True)
    assert _check_link("eth0", [good]) is good
    bad = LinkChanged(**{**dataclasses.asdict(good), **fields})
    with pytest.raises(UsageError, match=message):
        _check_link("eth0", [bad])
    with pytest.raises(UsageError, match="does not exist"):
        _check_link("eth1", [good])
