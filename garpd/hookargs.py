"""The notify hook's command line, read without argparse.

keepalived appends four words to the hook's command line (``TYPE NAME STATE PRIORITY``),
and a name may start with ``-``: argparse would take it for an option and fail, and a
failing hook breaks keepalived. This module reads them by hand, imports nothing heavy
(argparse and typing cost the hook ~10 ms each), and is shared by :mod:`garpd.cli` and
:mod:`garpd.commands.notify`.
"""

from __future__ import annotations

from garpd.quicklog import LOG_FORMATS, LOG_LEVELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

_VALUED = ("--log-format", "--log-level", "-c", "--config")


class HookArgs:
    """The notify hook's arguments (an argparse.Namespace look-alike, without argparse)."""

    command = "notify"

    def __init__(self, config: str | None, log_format: str | None, log_level: str | None,
                 words: list[str]) -> None:
        self.config = config
        self.log_format = log_format
        self.log_level = log_level
        self.words = words


def notify_words(argv: Sequence[str]) -> HookArgs | None:
    """``garpd [opts] notify [opts] TYPE NAME STATE [PRIORITY]`` parsed without argparse.

    keepalived appends its four words to the hook's command line, and a name may start
    with ``-``: argparse would take it for an option and fail, and a failing hook breaks
    keepalived. So after ``notify`` every word that is not one of garpd's own options is
    a hook word, whatever it looks like. None when the sub-command is not ``notify`` (or
    help is asked for).
    """
    words = list(argv)
    opts: dict[str, str | None] = {"config": None, "log_format": None, "log_level": None}
    positional: list[str] = []
    seen_notify = False
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        allowed = ("--log-format", "--log-level") if not seen_notify else _VALUED
        if not positional and name in allowed:
            if not eq:
                i += 1
                value = words[i] if i < len(words) else ""
            key = {"-c": "config", "--config": "config"}.get(name, name[2:].replace("-", "_"))
            opts[key] = value
        elif not seen_notify:
            if word != "notify":
                return None  # another command, help or a usage error: argparse's job
            seen_notify = True
        elif not positional and word in ("-h", "--help"):
            return None
        else:
            positional.append(word)  # from here on every word is keepalived's
        i += 1
    if not seen_notify:
        return None
    fmt = opts["log_format"] if opts["log_format"] in LOG_FORMATS else None
    level = (opts["log_level"] or "").lower()
    return HookArgs(opts["config"] or None, fmt, level if level in LOG_LEVELS else None,
                    positional)
