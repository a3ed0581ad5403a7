"""The benchmark's results: owns the row model, the goals, and the table and JSON output.

A :class:`Row` is one figure of one case with its goal (if the issue sets one) and its
baseline (if it has one). ``render`` prints them as a Markdown table, so the same text goes
to the terminal and into BENCHMARKS.md; ``to_json`` keeps every raw figure and detail.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

#: The case labels every full or quick run prints, in order (the smoke test checks them).
CASES: tuple[str, ...] = ("1 burst", "2 latency", "3 hand-off", "4 storm", "5 idle",
                          "6 confirm")


@dataclass
class Row:
    """One figure: ``case`` is one of :data:`CASES` plus a qualifier, e.g. "1 burst 1,000x5"."""

    case: str
    measure: str
    figure: str
    value: float | None = None
    unit: str = ""
    baseline: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        """"met", "MISSED" or "" (no goal for this figure)."""
        if self.met is None:
            return ""
        return "met" if self.met else "MISSED"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nearest rank, no interpolation)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def fmt_rate(fps: float | None) -> str:
    """Frames per second, e.g. "312,400 f/s"."""
    return "n/a" if fps is None else f"{fps:,.0f} f/s"


def fmt_ms(seconds: float | None) -> str:
    """Seconds shown in milliseconds with sensible precision."""
    if seconds is None:
        return "n/a"
    ms = seconds * 1000
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def render(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    head = ("case", "measure", "figure", "baseline", "ratio", "goal", "result")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        cells = (row.case, row.measure, row.figure, row.baseline, ratio, row.goal, row.result)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def to_json(rows: list[Row], meta: dict[str, Any]) -> str:
    """Every row with its details, plus the run's metadata, as one JSON document."""
    doc = {"meta": meta, "rows": [{**asdict(r), "result": r.result} for r in rows]}
    return json.dumps(doc, indent=2, default=str)
