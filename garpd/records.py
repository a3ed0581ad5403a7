"""The log record the pure pieces hand their driver: an event name and its fields.

It lives apart from :mod:`garpd.core` so that the core's pure neighbours
(:mod:`garpd.conflicts`, :mod:`garpd.confirm`) can make records without importing the core
that will call them. Same shape as ``garpd.core.Record`` (the core can re-export this one).
"""

from __future__ import annotations

from garpd.lean import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """A log record the driver writes: an event name and its fields."""

    event: str
    fields: dict[str, object]
