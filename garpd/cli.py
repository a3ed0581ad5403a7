"""The command line: sub-commands, options, exit codes. Imports nothing heavy itself.

Exit codes (SPEC: Command line): 0 success, 1 a runtime failure (socket, netlink, interface
gone), 2 a usage or configuration error. Every command module is imported only when its
command runs, and the notify hook's words are read without argparse (:func:`notify_words`),
so ``garpd notify`` starts fast: pyroute2, pydantic, asyncio and structlog are loaded by the
modules that use them, never here.
"""

from __future__ import annotations

import sys

# typing and argparse cost ~10 ms each to import: the hook's path keeps them for the type
# checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """The user asked for something impossible: printed as one line, exit 2."""


class RuntimeFailureError(Exception):
    """The system would not do what was asked (socket, netlink, interface): exit 1."""


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree (built by :mod:`garpd.argv`, imported on demand)."""
    from garpd.argv import build_parser as build  # noqa: PLC0415 - argparse is ~10 ms

    return build()


def _fail(code: int, message: str) -> int:
    try:
        sys.stderr.write(f"garpd: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run garpd with ``argv`` (default: sys.argv[1:]) and return the exit code."""
    hook = notify_words(sys.argv[1:] if argv is None else argv)
    if hook is not None:
        from garpd.notify import main as notify  # noqa: PLC0415 - lazy by design

        return notify(hook)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "announce":
            from garpd.announce import main as announce  # noqa: PLC0415 - lazy by design

            return announce(args)
        if args.command == "run":
            from garpd.daemon import main as run  # noqa: PLC0415

            return run(args)
        if args.command == "check":
            from garpd.check import main as check  # noqa: PLC0415

            return check(args)
        if args.command == "status":
            from garpd.control import status_main  # noqa: PLC0415

            return status_main(args)
        if args.command == "demo":
            from garpd.demo import main as demo  # noqa: PLC0415

            return demo(args)
        # --- garpd watch (issue 13) ---
        if args.command == "watch":
            from garpd.commands.watch import main as watch  # noqa: PLC0415

            return watch(args)
        # --- end garpd watch ---
    except UsageError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except RuntimeFailureError as exc:
        return _fail(EXIT_RUNTIME, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    return _fail(EXIT_USAGE, f"unknown command {args.command!r}")
