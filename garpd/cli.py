"""The command line: sub-commands, options, exit codes. Imports nothing heavy itself.

Exit codes (SPEC: Command line): 0 success, 1 a runtime failure (socket, netlink, interface
gone), 2 a usage or configuration error. Every command module is imported only when its
command runs, and the notify hook's words are read without argparse (:mod:`garpd.hookargs`),
so ``garpd notify`` starts fast: pyroute2, pydantic, asyncio and structlog are loaded by the
modules that use them, never here.
"""

from __future__ import annotations

import sys

from garpd.errors import EXIT_USAGE, RuntimeFailureError, UserError
from garpd.hookargs import notify_words
from garpd.quicklog import release_stderr

# typing and argparse cost ~10 ms each to import: the hook's path keeps them for the type
# checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run garpd with ``argv`` (default: sys.argv[1:]) and return the exit code.

    Whatever state stderr is in at the end (full, closed), the exit code is the command's:
    :func:`~garpd.quicklog.release_stderr` leaves nothing for the interpreter's last flush
    to fail on (which would make it 120).
    """
    try:
        return _run(argv)
    finally:
        release_stderr()


def _run(argv: Sequence[str] | None) -> int:
    hook = notify_words(sys.argv[1:] if argv is None else argv)
    if hook is not None:
        from garpd.commands.notify import main as notify  # noqa: PLC0415 - lazy by design

        return notify(hook)
    from garpd.announceargs import announce_args  # noqa: PLC0415

    # announce's plain command line without argparse (~12 ms of its start): see the module
    args: Any = announce_args(sys.argv[1:] if argv is None else argv)
    if args is None:
        args = build_parser().parse_args(argv)
    if args.command == "run":  # the daemon: asyncio without ssl, before anything imports it
        import garpd.leanio  # noqa: F401, PLC0415
    try:
        if args.command == "announce":
            from garpd.commands.announce import main as announce  # noqa: PLC0415 - lazy by design

            return announce(args)
        if args.command == "run":
            from garpd.commands.run import main as run  # noqa: PLC0415

            return run(args)
        if args.command == "check":
            from garpd.commands.check import main as check  # noqa: PLC0415

            return check(args)
        if args.command == "status":
            from garpd.commands.status import main as status  # noqa: PLC0415

            return status(args)
        if args.command == "metrics":
            from garpd.commands.metrics import main as metrics  # noqa: PLC0415

            return metrics(args)
        if args.command == "demo":
            from garpd.commands.demo import main as demo  # noqa: PLC0415

            return demo(args)
        if args.command == "watch":
            from garpd.commands.watch import main as watch  # noqa: PLC0415

            return watch(args)
    except UserError as exc:
        return _fail(exc.exit_code, str(exc))
    except RuntimeFailureError as exc:
        return _fail(exc.exit_code, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    return _fail(EXIT_USAGE, f"unknown command {args.command!r}")
