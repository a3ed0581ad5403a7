"""``garpd status [--json]``: ask the running daemon over the control socket and show
its answer as a timeline a person reads at a glance (or the JSON document as it came)."""

from __future__ import annotations

import sys
from typing import Any

from garpd.control import Unreachable, request, socket_path
from garpd.errors import EXIT_OK, EXIT_RUNTIME


def _ago(value: object) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    if value >= 120:
        minutes, secs = divmod(int(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
    return f"{value:.1f}s"


STATUS_WINDOW = 30.0
STATUS_BAR = 40


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _status_bar(schedule: list[dict[str, Any]], colour: bool) -> str:
    """``#...#...``: the scheduled bursts of the next STATUS_WINDOW seconds."""
    cells = ["."] * STATUS_BAR
    for item in schedule:
        due = item.get("in")
        if isinstance(due, (int, float)) and 0 <= due < STATUS_WINDOW:
            cells[int(due / STATUS_WINDOW * STATUS_BAR)] = "#"
    bar = "".join(_paint(c, "32" if c == "#" else "2", colour) for c in cells)
    return f"{bar}  now..+{int(STATUS_WINDOW)}s"


def _next_text(row: dict[str, Any]) -> str:
    schedule = row.get("schedule")
    parts: list[str] = []
    if isinstance(schedule, list):
        for item in schedule[:2]:
            if isinstance(item, dict):
                parts.append(f"{item.get('reason')} x{item.get('packets')} "
                             f"in {_ago(item.get('in'))}")
    pending = row.get("pending")
    if isinstance(pending, int) and pending:
        parts.insert(0, f"{pending} queued, next in {_ago(row.get('next_send_in'))}")
    refresh = row.get("refresh_every")
    if isinstance(refresh, (int, float)) and refresh > 0:
        parts.append(f"refresh every {_ago(refresh)}")
    return ", ".join(parts) if parts else "nothing scheduled"


def _lan_lines(row: dict[str, Any], colour: bool) -> list[str]:
    """Per gateway: ``gw 192.0.2.1 confirmed 3ms 02:00:...``; and the conflicts seen."""
    out: list[str] = []
    gateways = row.get("gateways")
    for gw in gateways if isinstance(gateways, list) else []:
        if not isinstance(gw, dict):
            continue
        state = str(gw.get("state"))
        code = {"confirmed": "32", "unconfirmed": "31"}.get(state, "33")
        text = f"    gw {gw.get('gateway')!s:<24} {_paint(f'{state:<11}', code, colour)}"
        if state == "confirmed":
            text += f" {gw.get('after_ms')}ms {gw.get('gateway_mac')}"
        else:
            text += f" attempts {gw.get('attempts')}"
            if gw.get("next_try_in") is not None:
                text += f", next in {_ago(gw.get('next_try_in'))}"
        out.append(text)
    conflicts = row.get("conflicts")
    if isinstance(conflicts, dict) and conflicts.get("count"):
        out.append(f"    conflicts {conflicts.get('count')} (policy {conflicts.get('policy')}, "
                   f"defences {conflicts.get('defences')}), last from "
                   f"{conflicts.get('last_mac')} {_ago(conflicts.get('last_seen_ago'))} ago")
    return out


def render_status(doc: dict[str, Any], colour: bool = False) -> str:
    """The status document as a timeline a person reads at a glance.

    One line per address (state, how long held, packets sent, what comes next), and for
    addresses with something scheduled a bar of the next 30 seconds. ``colour`` adds ANSI
    colours for a terminal; the text is the same without them.
    """
    rows = doc.get("addresses") or []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    held = sum(1 for r in rows if r.get("held"))
    lines = [f"garpd pid {doc.get('pid')}  config {doc.get('config')}  "
             f"up {_ago(doc.get('uptime'))}  held {held} of {len(rows)}"]
    by_if: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_if.setdefault(str(row.get("interface")), []).append(row)
    if not by_if:
        lines.append("  no watched addresses")
    for ifname in sorted(by_if):
        lines.append(_paint(ifname, "1", colour))
        for row in by_if[ifname]:
            if row.get("held"):
                state = _paint(f"{'held':<9}", "32", colour)
                since = f"for {_ago(row.get('held_for')):<7}"
            else:
                word = "tentative" if row.get("tentative") else "not held"
                state = _paint(f"{word:<9}", "33", colour)
                since = " " * 11
            lines.append(f"  {row.get('address')!s:<28} {row.get('group')!s:<10} {state} "
                         f"{since} sent {row.get('sent')!s:<6} next: {_next_text(row)}")
            schedule = row.get("schedule")
            if row.get("held") and isinstance(schedule, list) and schedule:
                lines.append(" " * 42 + _status_bar(schedule, colour))
            lines.extend(_lan_lines(row, colour))
    recent = doc.get("recent_conflicts")
    if isinstance(recent, list) and recent:
        lines.append("recent conflicts:")
        for item in recent:
            if isinstance(item, dict):
                lines.append(f"  {item.get('interface')} {item.get('address')} claimed by "
                             f"{item.get('other_mac')} ({item.get('frame')}), "
                             f"{'defended' if item.get('defended') else 'not defended'}, "
                             f"{item.get('suppressed')} more since the previous record")
    counters = doc.get("counters")
    if isinstance(counters, dict):
        lines.append("counters: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))
    return "\n".join(lines) + "\n"


def main(args: Any) -> int:
    """``garpd status [--json]``: ask the running daemon."""
    path = socket_path(args.config)
    try:
        reply = request(path, {"command": "status"})
    except Unreachable as exc:
        sys.stderr.write(f"garpd: no daemon answers on {exc}\n")
        return EXIT_RUNTIME
    if not reply.get("ok"):
        sys.stderr.write(f"garpd: the daemon refused: {reply.get('error', 'permission denied')}\n")
        return EXIT_RUNTIME
    if args.json:
        import json  # noqa: PLC0415

        sys.stdout.write(json.dumps(reply) + "\n")
    else:
        from garpd.term import colour_enabled  # noqa: PLC0415

        sys.stdout.write(render_status(reply, colour=colour_enabled(sys.stdout)))
    return EXIT_OK
