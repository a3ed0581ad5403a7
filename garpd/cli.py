"""The command line: sub-commands, options, exit codes. Imports nothing heavy itself.

Exit codes (SPEC: Command line): 0 success, 1 a runtime failure (socket, netlink, interface
gone), 2 a usage or configuration error. Every command module is imported only when its
command runs, so ``garpd notify`` and ``--help`` start fast: scapy, pyroute2 and pydantic
are loaded by the modules that use them, never here.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

# typing costs ~10 ms to import: the hook's path keeps it for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """The user asked for something impossible: printed as one line, exit 2."""


class RuntimeFailureError(Exception):
    """The system would not do what was asked (socket, netlink, interface): exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def repeat_count(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: must be an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be an integer >= 1")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number of seconds >= 0")
    if value > 4294.967295:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at most 4294.967295 seconds")
    return value


def _log_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=default,
                        help="json or console (default: console on a terminal, else json)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=default,
                        type=str.lower, help="default: info")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every sub-command."""
    parser = _Parser(prog="garpd", description=(
        "Keep ARP and IPv6 neighbour caches pointing at whichever host holds a VIP."))
    _log_options(parser, suppress=False)
    from garpd import __version__  # noqa: PLC0415 - a constant, no heavy import

    parser.add_argument("--version", action="version", version=f"garpd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser("run", help="the daemon: follow VIP ownership and announce it")
    run.add_argument("-c", "--config", metavar="FILE", help="default: /etc/garpd/garpd.toml")
    run.add_argument("--oneshot", action="store_true",
                     help="announce every watched address held now (master schedule), exit")

    ann = sub.add_parser("announce", help="announce addresses of one interface now, then exit")
    ann.add_argument("-i", "--interface", required=True, metavar="IFACE")
    ann.add_argument("--repeat", type=repeat_count, default=5,
                     help="packets per address per burst (default 5)")
    ann.add_argument("--delay", type=seconds, default=5.0,
                     help="seconds until the second burst; 0 = none (default 5)")
    ann.add_argument("--interval", type=seconds, default=0.0,
                     help="least spacing of two GARPs, and of two NAs, on the interface "
                     "(default 0)")
    ann.add_argument("--mode", choices=("request", "reply", "both"), default="request",
                     help="GARP request, reply or both (IPv6 always sends an NA)")
    ann.add_argument("--force", action="store_true",
                     help="announce even addresses the interface does not hold")
    ann.add_argument("addresses", nargs="+", metavar="ADDRESS")

    notify = sub.add_parser("notify", help="keepalived notify hook")
    notify.add_argument("-c", "--config", metavar="FILE")
    notify.add_argument("type", metavar="TYPE")
    notify.add_argument("name", metavar="NAME")
    notify.add_argument("state", metavar="STATE")
    notify.add_argument("priority", metavar="PRIORITY", nargs="?")

    check = sub.add_parser("check", help="validate the configuration and show the plan")
    check.add_argument("-c", "--config", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print the plan as JSON")

    status = sub.add_parser("status", help="ask the running daemon what it holds")
    status.add_argument("-c", "--config", metavar="FILE")
    status.add_argument("--json", action="store_true", help="print exactly one JSON document")

    demo = sub.add_parser("demo", help="show a failover fixed by garpd in a throwaway "
                          "namespace lab (root)", description=(
                              "As root: build a throwaway lab of network namespaces (a router "
                              "and two nodes on a bridge, 192.0.2.0/24), move a VIP from node "
                              "a to node b without and then with garpd, and show the router's "
                              "neighbour entry. About 10 s; everything is removed afterwards, "
                              "also on Ctrl-C. Exit 0 if the entry followed the move with "
                              "garpd, 1 if not, 2 without the privileges."))
    demo.add_argument("--no-keepalived", action="store_true",
                      help="move the VIP with plain `ip addr` even if keepalived is installed")
    demo.add_argument("--json", action="store_true",
                      help="print the outcome as one JSON document (narration on stderr)")
    _log_options(demo, suppress=True)

    for p in (run, ann, notify, check, status):
        _log_options(p, suppress=True)
    return parser


def _fail(code: int, message: str) -> int:
    try:
        sys.stderr.write(f"garpd: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


_VALUED = ("--log-format", "--log-level", "-c", "--config")


def notify_words(argv: Sequence[str]) -> argparse.Namespace | None:
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
    return argparse.Namespace(
        command="notify", config=opts["config"] or None, log_format=fmt,
        log_level=level if level in LOG_LEVELS else None, words=positional)


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
        if args.command == "notify":
            from garpd.notify import main as notify  # noqa: PLC0415

            return notify(args)
        if args.command == "demo":
            from garpd.demo import main as demo  # noqa: PLC0415

            return demo(args)
    except UsageError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except RuntimeFailureError as exc:
        return _fail(EXIT_RUNTIME, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    return _fail(EXIT_USAGE, f"unknown command {args.command!r}")
