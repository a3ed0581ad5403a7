"""``garpd announce``'s command line in its plain form, read without argparse.

``garpd announce`` is a one-shot whose cost is its start: importing argparse (with gettext
and its locale look-ups) and building the whole sub-command tree was ~12-17 ms of a path
to the first frame of ~60 ms on this project's machines (``python -X importtime`` and a
per-stage timer, 2 vCPUs). This module reads the common form, every option spelled in
full or by its short name, then the addresses, and answers only when argparse would
give exactly the same namespace. Anything else (``--help``, an abbreviated or unknown
option, a value argparse would refuse, an option after the addresses, ``--``) returns
None and argparse parses it: every error message and exit code stays argparse's.
``tests/test_announceargs.py`` checks the agreement on generated command lines.
"""

from __future__ import annotations

from types import SimpleNamespace

from garpd.quicklog import LOG_FORMATS, LOG_LEVELS

TYPE_CHECKING = False  # typing costs the one-shot ~3 ms
if TYPE_CHECKING:
    from collections.abc import Sequence

#: keepalived's and argv.seconds' upper bound for a number of seconds.
MAX_SECONDS = 4294.967295
_MODES = ("request", "reply", "both")
#: Options taking a value -> the namespace attribute.
_VALUED = {"-i": "interface", "--interface": "interface", "--repeat": "repeat",
           "--delay": "delay", "--interval": "interval", "--mode": "mode",
           "--log-format": "log_format", "--log-level": "log_level"}
_TOP = ("--log-format", "--log-level")


def _repeat(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 1 else None


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_SECONDS else None  # NaN compares False: refused


def _convert(attr: str, text: str) -> object | None:
    """The value argparse would store for ``attr``, or None where it would refuse it."""
    if attr == "repeat":
        return _repeat(text)
    if attr in ("delay", "interval"):
        return _seconds(text)
    if attr == "mode":
        return text if text in _MODES else None
    if attr == "log_format":
        return text if text in LOG_FORMATS else None
    if attr == "log_level":
        return text.lower() if text.lower() in LOG_LEVELS else None
    return text  # interface: any string


def announce_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """The namespace argparse would give for ``garpd [log opts] announce OPTS ADDRESS...``,
    or None when the command line is anything else (argparse's job)."""
    words = list(argv)
    found: dict[str, object] = {"log_format": None, "log_level": None}
    i = 0
    while i < len(words) and words[i] != "announce":
        got = _option(words, i, _TOP, found)
        if got is None:
            return None
        i = got
    if i >= len(words):
        return None
    found.update(command="announce", interface=None, repeat=5, delay=5.0, interval=0.0,
                 mode="request", force=False)
    addresses: list[str] = []
    i += 1
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            if addresses:
                return None  # an option after the addresses: argparse decides
            if word == "--force":
                found["force"] = True
                i += 1
                continue
            got = _option(words, i, tuple(_VALUED), found)
            if got is None:
                return None
            i = got
        else:
            addresses.append(word)
            i += 1
    if not addresses or found["interface"] is None:
        return None
    found["addresses"] = addresses
    return SimpleNamespace(**found)


def _option(words: list[str], i: int, allowed: tuple[str, ...],
            found: dict[str, object]) -> int | None:
    """Read the valued option at ``words[i]`` into ``found``; the index after it, or None."""
    word = words[i]
    name, eq, value = word.partition("=")
    if name.startswith("--") and eq:
        pass  # --name=value
    elif word in allowed:
        name = word
        if i + 1 >= len(words) or words[i + 1].startswith("-"):
            return None
        i += 1
        value = words[i]
    elif word.startswith("-i") and not word.startswith("--") and "-i" in allowed:
        name, value = "-i", word[2:]  # -iIFACE
        if value.startswith("=") or not value:
            return None
    else:
        return None
    if name not in allowed or (name == "-i" and eq) or not value or value.startswith("-"):
        return None
    attr = _VALUED[name]
    converted = _convert(attr, value)
    if converted is None:
        return None
    found[attr] = converted
    return i + 1
