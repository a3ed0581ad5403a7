"""The core's settings: how each watched address is announced (:class:`Timing`), why it is
watched (:class:`Watch`) and what the configuration tells the core (:class:`Policy`).

The configuration (:mod:`garpd.config`) implements :class:`Policy` for a TOML file;
:class:`StaticPolicy` serves one-shot commands and tests. A new announcement setting is a
field of :class:`Timing`.
"""

from __future__ import annotations

from typing import Literal, Protocol

from garpd.events import AddrKey
from garpd.frames import Address, Mode
from garpd.lean import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """The announcement settings of one group; the defaults are keepalived's."""

    master_repeat: int = 5
    master_delay: float = 5.0
    master_refresh: float = 0.0
    master_refresh_repeat: int = 1
    lower_prio_delay: float = 5.0
    lower_prio_repeat: int = 5
    mode: Mode = "request"
    announce_on_start: bool = True
    conflict: Literal["defend", "log", "off"] = "defend"
    """Another MAC claims a held address: defend it, log it, or do not listen."""
    defend_interval: float = 10.0
    """At most one defence per address per this many seconds."""
    gateways: tuple[Address, ...] | Literal["auto"] = ()
    """Directed announcements and confirmation: these gateways, or the routes' ("auto")."""
    confirm_timeout: float = 1.0
    confirm_retries: int = 3


@dataclass(frozen=True, slots=True)
class Watch:
    """Why an address is watched: the group it belongs to and that group's timing."""

    group: str
    timing: Timing


class Policy(Protocol):
    """What the configuration tells the core: which addresses to watch, how to pace."""

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """The group watching ``address`` on ``ifname``, or None to ignore it."""

    def pacing(self, ifname: str) -> tuple[float, float]:
        """(interval, na_interval) in seconds for ``ifname``."""


@dataclass(frozen=True, slots=True)
class StaticPolicy:
    """One timing for every address (or only for ``only``), one pacing for every interface."""

    timing: Timing = Timing()
    group: str = "default"
    interval: float = 0.0
    na_interval: float = 0.0
    only: frozenset[AddrKey] | None = None

    def watch(self, ifname: str, address: Address) -> Watch | None:
        """Watch everything, or just the addresses in ``only``."""
        if self.only is not None and (ifname, address) not in self.only:
            return None
        return Watch(self.group, self.timing)

    def pacing(self, ifname: str) -> tuple[float, float]:
        """The same spacing on every interface."""
        return (self.interval, self.na_interval)
