"""The argparse tree of every sub-command, and the argument types it checks.

Imported only when a command other than the notify hook runs (argparse and its friends
cost the hook ~10 ms); :mod:`garpd.cli` decides.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from garpd.errors import EXIT_USAGE
from garpd.quicklog import LOG_FORMATS, LOG_LEVELS


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

    metrics = sub.add_parser("metrics", help="print the running daemon's metrics "
                             "(Prometheus text format)")
    metrics.add_argument("-c", "--config", metavar="FILE")

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

    watch = sub.add_parser("watch", help="show ARP, IPv6 NS/NA and VRRP on an interface, "
                           "live (CAP_NET_RAW)", description=(
                               "Decode the ARP, IPv6 NS/NA and VRRP frames on IFACE, one line "
                               "per frame, then print who claimed which address. Ends after "
                               "--count frames, --timeout seconds or Ctrl-C (exit 0); exit 2 "
                               "without CAP_NET_RAW."))
    watch.add_argument("-i", "--interface", required=True, metavar="IFACE")
    watch.add_argument("-c", "--config", metavar="FILE",
                       help="mark and keep only frames about its addresses and VRIDs")
    watch.add_argument("--all", action="store_true",
                       help="with -c: show every frame, not only the configured ones")
    watch.add_argument("--json", action="store_true", help="one JSON object per frame")
    watch.add_argument("--pcap", metavar="FILE", help="also write the frames shown to FILE")
    watch.add_argument("--count", type=repeat_count, metavar="N", help="stop after N frames")
    watch.add_argument("--timeout", type=seconds, metavar="S", help="stop after S seconds")
    _log_options(watch, suppress=True)

    for p in (run, ann, notify, check, status, metrics):
        _log_options(p, suppress=True)
    return parser
