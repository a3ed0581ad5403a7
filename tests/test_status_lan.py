"""``garpd status`` console text: the gateways' confirmation state and recent conflicts."""

from __future__ import annotations

from garpd.commands.status import render_status


def test_gateway_lines_and_recent_conflicts() -> None:
    """A confirmed gateway shows after_ms and MAC; a pending one its attempts; an address
    with conflicts a summary line; the recent conflicts are listed at the bottom."""
    doc = {
        "pid": 1, "config": "/etc/garpd/garpd.toml", "uptime": 5.0,
        "addresses": [{
            "interface": "eth0", "address": "192.0.2.100", "group": "VI_1", "held": True,
            "held_for": 4.0, "sent": 6, "schedule": [],
            "conflicts": {"policy": "defend", "count": 3, "defences": 1, "last_seen_ago": 1.5,
                          "last_mac": "02:00:00:00:00:66", "last_defence_ago": 2.0},
            "gateways": [
                {"gateway": "192.0.2.1", "state": "confirmed", "attempts": 1, "after_ms": 3,
                 "gateway_mac": "02:00:00:00:00:01", "next_try_in": None},
                {"gateway": "192.0.2.2", "state": "pending", "attempts": 2, "after_ms": None,
                 "gateway_mac": None, "next_try_in": 1.25},
            ],
        }],
        "recent_conflicts": [{"interface": "eth0", "address": "192.0.2.100",
                              "other_mac": "02:00:00:00:00:66", "frame": "arp_reply",
                              "defended": True, "suppressed": 0}],
        "counters": {},
    }
    text = render_status(doc)
    assert "    gw 192.0.2.1                confirmed   3ms 02:00:00:00:00:01\n" in text
    assert "    gw 192.0.2.2                pending     attempts 2, next in 1.2s\n" in text
    assert ("    conflicts 3 (policy defend, defences 1), last from 02:00:00:00:00:66 1.5s ago"
            in text)
    assert ("recent conflicts:\n  eth0 192.0.2.100 claimed by 02:00:00:00:00:66 (arp_reply), "
            "defended, 0 more since the previous record\n") in text
