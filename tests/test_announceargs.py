"""``garpd announce``'s argparse-free reading (:mod:`garpd.announceargs`) against argparse:
wherever it answers, the namespace is argparse's; wherever argparse refuses, it does not
answer (argparse then prints the error)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd.announceargs import announce_args
from garpd.cli import build_parser


def _argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(build_parser().parse_args(argv))
    except SystemExit:
        return None


@pytest.mark.parametrize("argv", [
    ["announce", "-i", "eth0", "192.0.2.1"],
    ["--log-format", "json", "announce", "-i", "eth0", "--repeat", "5", "--delay", "0",
     "192.0.2.1", "2001:db8::1"],
    ["--log-level=DEBUG", "announce", "--interface=eth0", "--mode", "both", "--force",
     "--interval", "0.5", "192.0.2.1"],
    ["announce", "-ieth0", "--log-format", "console", "--log-level", "warning", "192.0.2.7"],
    ["--log-format", "console", "announce", "--log-format", "json", "-i", "x", "a", "b"],
])
def test_plain_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    fast = announce_args(argv)
    assert fast is not None
    assert vars(fast) == _argparse(argv)


@pytest.mark.parametrize("argv", [
    ["announce", "-i", "eth0"],                       # no address
    ["announce", "192.0.2.1"],                        # no interface
    ["announce", "-i", "eth0", "--repeat", "0", "192.0.2.1"],
    ["announce", "-i", "eth0", "--delay", "nan", "192.0.2.1"],
    ["announce", "-i", "eth0", "--delay", "4295", "192.0.2.1"],
    ["announce", "-i", "eth0", "--mode", "loud", "192.0.2.1"],
    ["announce", "--inter", "eth0", "192.0.2.1"],     # abbreviation: argparse's
    ["announce", "-i", "eth0", "192.0.2.1", "--force"],
    ["announce", "-h"],
    ["--version"],
    ["run", "-c", "/x"],
    ["--log-format", "xml", "announce", "-i", "eth0", "192.0.2.1"],
])
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert announce_args(argv) is None


_WORDS = st.sampled_from([
    "announce", "-i", "--interface", "--interface=eth0", "-ieth0", "-i=eth0", "eth0",
    "--repeat", "--repeat=3", "3", "0", "-1", "1e3", " 7", "--delay", "--delay=0.5", "0.5",
    "nan", "inf", "4294.967295", "4294.9673", "--interval", "--mode", "both", "reply",
    "loud", "--force", "--log-format", "--log-format=json", "json", "console",
    "--log-level", "INFO", "debug", "--", "-h", "--help", "192.0.2.1", "2001:db8::1", "",
    "--inter", "--log-f", "run", "notify", "-x", "=",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(_WORDS, max_size=12))
def test_never_disagrees_with_argparse(argv: list[str]) -> None:
    fast = announce_args(argv)
    if fast is not None:
        assert vars(fast) == _argparse(argv)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=6), st.lists(_WORDS, max_size=6))
def test_never_disagrees_around_announce(before: list[str], after: list[str]) -> None:
    argv = [*before, "announce", "-i", "eth0", *after, "192.0.2.9"]
    fast = announce_args(argv)
    if fast is not None:
        assert vars(fast) == _argparse(argv)
