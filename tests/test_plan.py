"""The announcement plan of ``garpd check``: exact timelines from the real core, rendered."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garpd.config import BUILTIN_SOURCE, Config, load_config, parse_config
from garpd.plan import (
    MAX_POLLS,
    Burst,
    Timeline,
    build,
    number,
    render_json,
    render_text,
    seconds,
    simulate,
)
from garpd.policy import Timing

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "garpd.toml"
V4 = ipaddress.ip_address("192.0.2.100")
V6 = ipaddress.ip_address("2001:db8::100")


def texts(timeline: Timeline) -> list[str]:
    """The bursts of ``timeline`` as the plan writes them."""
    return [b.text() for b in timeline.bursts]


def group(**keys: object) -> dict[str, object]:
    """A valid [[group]] table, with ``keys`` added or replaced."""
    table: dict[str, object] = {"name": "VI_1", "interface": "eth0",
                                "addresses": ["192.0.2.100", "2001:db8::100"]}
    table.update(keys)
    return table


# --- timelines ----------------------------------------------------------------------------


def test_default_takeover_timeline() -> None:
    """keepalived's defaults: 5 at t=0 and 5 at t=5, nothing after."""
    timeline = simulate("master", V4, Timing(), 0.0)
    assert timeline.bursts == (
        Burst(0.0, 0.0, "master", 5, 5),
        Burst(5.0, 5.0, "master_delay", 5, 5),
    )
    assert texts(timeline) == ["t=0.000s master x5", "t=5.000s master_delay x5"]
    assert timeline.note is None


def test_notify_timeline_names_its_bursts() -> None:
    """A notify on a held address runs the master schedule named notify / notify_delay."""
    assert texts(simulate("notify", V6, Timing(master_repeat=2, master_delay=1.5), 0.0)) == [
        "t=0.000s notify x2", "t=1.500s notify_delay x2",
    ]


def test_zero_delay_is_one_burst() -> None:
    """master_delay = 0 gives a single burst."""
    assert texts(simulate("master", V4, Timing(master_delay=0.0), 0.0)) == [
        "t=0.000s master x5",
    ]


def test_refresh_timeline_folds_periodic_bursts() -> None:
    """Refresh: first at delay + refresh, shown once with its period."""
    timeline = simulate("master", V4, Timing(master_refresh=10.0), 0.0)
    assert texts(timeline) == [
        "t=0.000s master x5",
        "t=5.000s master_delay x5",
        "t=15.000s refresh x1 (then every 10s)",
    ]
    assert timeline.bursts[-1] == Burst(15.0, 15.0, "refresh", 1, 1, None, 10.0)


def test_refresh_repeat_and_fractional_period() -> None:
    """master_refresh_repeat sets the refresh burst size; periods may be fractional."""
    timeline = simulate("notify", V4, Timing(master_refresh=2.5, master_refresh_repeat=3,
                                             master_delay=1.0, master_repeat=1), 0.0)
    assert texts(timeline) == [
        "t=0.000s notify x1", "t=1.000s notify_delay x1",
        "t=3.500s refresh x3 (then every 2.5s)",
    ]


def test_pacing_spreads_a_burst() -> None:
    """With an interval every repeat waits its turn: t=0.000..0.400s master x5 @0.1s."""
    timeline = simulate("master", V4, Timing(), 0.1)
    assert texts(timeline) == [
        "t=0.000..0.400s master x5 @0.1s",
        "t=5.000..5.400s master_delay x5 @0.1s",
    ]
    assert timeline.bursts[0] == Burst(0.0, 0.4, "master", 5, 5, 0.1)


def test_pacing_with_refresh() -> None:
    """Refresh bursts are spaced too, and still fold when regular."""
    timeline = simulate("master", V6, Timing(master_refresh=30.0, master_refresh_repeat=2),
                        0.25)
    assert texts(timeline) == [
        "t=0.000..1.000s master x5 @0.25s",
        "t=5.000..6.000s master_delay x5 @0.25s",
        "t=35.000..35.250s refresh x2 @0.25s (then every 30s)",
    ]


def test_overlapping_bursts_merge_as_the_core_does() -> None:
    """A delayed burst due while the first is still queued merges into it (core rule)."""
    timeline = simulate("master", V4, Timing(master_repeat=3, master_delay=0.2), 0.1)
    assert texts(timeline) == ["t=0.000..0.400s master+master_delay x5 @0.1s"]


def test_lower_prio_timeline() -> None:
    """lower_prio: lower_prio_repeat now and again after lower_prio_delay."""
    timeline = simulate("lower_prio", V4, Timing(lower_prio_repeat=2, lower_prio_delay=3.0), 0.0)
    assert texts(timeline) == ["t=0.000s lower_prio x2", "t=3.000s lower_prio_delay x2"]


def test_lower_prio_ignores_refresh() -> None:
    """A lower-priority schedule has no refresh of its own."""
    timeline = simulate("lower_prio", V4, Timing(master_refresh=1.0, lower_prio_delay=0.0), 0.0)
    assert texts(timeline) == ["t=0.000s lower_prio x5"]


def test_lower_prio_zero_is_ignored() -> None:
    """lower_prio_repeat = 0: nothing is sent, and the plan says why."""
    timeline = simulate("lower_prio", V4, Timing(lower_prio_repeat=0), 0.0)
    assert timeline.bursts == ()
    assert timeline.note == "ignored: lower_prio_repeat = 0"


def test_mode_both_counts_two_frames_per_repeat() -> None:
    """mode = both: each repeat is a request and a reply; IPv6 is one NA regardless."""
    burst = simulate("master", V4, Timing(mode="both"), 0.0).bursts[0]
    assert (burst.repeats, burst.frames) == (5, 10)
    burst = simulate("master", V6, Timing(mode="both"), 0.0).bursts[0]
    assert (burst.repeats, burst.frames) == (5, 5)


def test_runaway_simulation_is_cut_short() -> None:
    """A microsecond refresh under a slow interval stops at the step limit, quickly."""
    started = time.monotonic()
    timeline = simulate("master", V4, Timing(master_refresh=1e-6), 1.0)
    assert time.monotonic() - started < 5
    assert timeline.note == f"truncated after {MAX_POLLS} steps"
    assert timeline.bursts[0] == Burst(0.0, 4.0, "master", 5, 5, 1.0)
    assert timeline.bursts[-1].reason == "unfinished"


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0.000"), (5.0, "5.000"), (0.4, "0.400"), (0.0001, "0.0001"),
    (4294.967295, "4294.967295"), (15.0000004, "15.000"),
])
def test_seconds_format(value: float, text: str) -> None:
    """Times show 3 to 6 decimals."""
    assert seconds(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (10.0, "10"), (0.1, "0.1"), (2.5, "2.5"), (4294.967295, "4294.967295"),
    (0.30000000000000004, "0.3"),
])
def test_number_format(value: float, text: str) -> None:
    """Durations show without float noise."""
    assert number(value) == text


# --- the plan of a configuration ----------------------------------------------------------

BUILTIN_TEXT = """\
configuration          = built-in default
log.format             = auto (console on a TTY, JSON otherwise)
log.level              = "info"
control.socket         = "/run/garpd/garpd.sock"
keepalived.notify_fifo = none
keepalived.config      = none

group "default": every address on every interface (no [[group]])
  master_delay          = 5.0        # default
  master_repeat         = 5          # default
  master_refresh        = 0.0        # default
  master_refresh_repeat = 1          # default
  lower_prio_delay      = 5.0        # follows master_delay
  lower_prio_repeat     = 5          # follows master_repeat
  interval              = 0.0        # default
  na_interval           = 0.0        # default
  mode                  = "request"  # default
  announce_on_start     = false      # built-in default
  conflict              = "defend"   # default
  defend_interval       = 10.0       # default
  gateways              = []         # default
  confirm_timeout       = 1.0        # default
  confirm_retries       = 3          # default
  timeline of any IPv4 address (GARP request)
    and of any IPv6 address (unsolicited NA):
    takeover   t=0.000s master x5
               t=5.000s master_delay x5
    notify     t=0.000s notify x5
               t=5.000s notify_delay x5
    lower_prio t=0.000s lower_prio x5
               t=5.000s lower_prio_delay x5
  note: addresses already held at start are not announced (announce_on_start = false)
  note: lower_prio needs a [[group]] (with a vrid, or keepalived's notify_fifo)
  note: link_up and oneshot follow the takeover schedule; a MAC change sends x5 at once \
from the new MAC
  note: conflict: defend (one packet per address, at most one defence per 10s)
"""


def test_render_text_of_builtin_default() -> None:
    """The whole text plan of the built-in default, exactly."""
    assert render_text(Config.builtin(), BUILTIN_SOURCE) == BUILTIN_TEXT


def test_file_without_groups_announces_on_start() -> None:
    """Without groups a file's plan differs from the built-in only where the file says."""
    text = render_text(parse_config({"announce": {"master_repeat": 2}}, "f.toml"), "f.toml")
    assert "  announce_on_start     = true       # default\n" in text
    assert "  master_repeat         = 2          # [announce]\n" in text
    assert "    takeover   t=0.000s master x2\n" in text
    assert "announce_on_start = false" not in text


def test_render_text_marks_overridden_keys() -> None:
    """Group overrides, [announce] values and defaults are labelled per key."""
    config = parse_config({"announce": {"master_delay": 2},
                           "group": [group(master_repeat=3, vrid=51)]}, "f.toml")
    text = render_text(config, "f.toml")
    assert "  master_repeat         = 3          # overridden by this group\n" in text
    assert "  master_delay          = 2.0        # [announce]\n" in text
    assert "  master_refresh        = 0.0        # default\n" in text
    assert "  lower_prio_repeat     = 5          # follows [announce] master_repeat\n" in text
    assert "  lower_prio_delay      = 2.0        # follows [announce] master_delay\n" in text
    assert "    takeover   t=0.000s master x3\n               t=2.000s master_delay x3\n" in text
    assert "    lower_prio t=0.000s lower_prio x5\n               t=2.000s lower_prio_delay x5\n" \
        in text


def test_plan_per_family_when_pacing_differs() -> None:
    """IPv4 and IPv6 get their own timelines when interval and na_interval differ."""
    config = parse_config({"group": [group(interval=0.1)]}, "f.toml")
    text = render_text(config, "f.toml")
    assert ("  timeline of 192.0.2.100 (GARP request, interval 0.1s):\n"
            "    takeover   t=0.000..0.400s master x5 @0.1s\n") in text
    assert ("  timeline of 2001:db8::100 (unsolicited NA):\n"
            "    takeover   t=0.000s master x5\n") in text


def test_plan_uses_the_interface_pacing_of_all_groups() -> None:
    """A group's plan uses its interface's spacing, the largest of the groups there."""
    config = parse_config({"group": [
        group(addresses=["192.0.2.1"]),
        group(name="VI_2", addresses=["192.0.2.2"], interval=0.5),
    ]}, "f.toml")
    first = build(config)[0]
    assert first.pacing == (0.5, 0.0)
    assert texts(first.addresses[0].timelines[0]) == [
        "t=0.000..2.000s master x5 @0.5s", "t=5.000..7.000s master_delay x5 @0.5s",
    ]
    assert "note: interval on eth0 is 0.5s, the largest of the groups there" in render_text(
        config, "f.toml")


def test_network_representative_is_its_first_host() -> None:
    """A group with only networks is planned with the first host of its first network."""
    config = parse_config({"group": [group(addresses=[], networks=["198.51.100.0/24",
                                                                   "2001:db8:1::/64"])]}, "f")
    labels = [a.label for a in build(config)[0].addresses]
    assert labels == ["198.51.100.1 from 198.51.100.0/24", "2001:db8:1::1 from 2001:db8:1::/64"]


def test_lower_prio_notes() -> None:
    """The plan says when lower_prio can never trigger, or only through the FIFO."""
    text = render_text(parse_config({"group": [group()]}, "f"), "f")
    assert "lower_prio is never triggered: no vrid and no [keepalived] notify_fifo" in text
    fifo = parse_config({"group": [group()], "keepalived": {"notify_fifo": "/run/k.fifo"}}, "f")
    assert "lower_prio comes only from keepalived's notify_fifo" in render_text(fifo, "f")
    with_vrid = render_text(parse_config({"group": [group(vrid=5)]}, "f"), "f")
    assert "lower_prio is never" not in with_vrid
    ignored = render_text(parse_config({"group": [group(lower_prio_repeat=0)]}, "f"), "f")
    assert "    lower_prio (ignored: lower_prio_repeat = 0)\n" in ignored


def test_render_json_is_serialisable_and_matches_text() -> None:
    """render_json round-trips through json and carries the same bursts as the text."""
    config = load_config(EXAMPLE)
    data = json.loads(json.dumps(render_json(config, str(EXAMPLE))))
    text = render_text(config, str(EXAMPLE))
    assert data["source"] == str(EXAMPLE)
    assert [g["name"] for g in data["groups"]] == ["VI_1", "VI_2"]
    vi1 = data["groups"][0]
    assert vi1["settings"]["master_repeat"] == {"value": 3, "source": "group"}
    assert vi1["vrid"] == 51
    master = vi1["plans"][0]["triggers"]["master"]["bursts"]
    assert master[0] == {"start": 0.0, "end": 0.0, "reason": "master", "repeats": 3,
                         "frames": 3, "spacing": None, "then_every": None,
                         "text": "t=0.000s master x3"}
    for group_data in data["groups"]:
        for plan in group_data["plans"]:
            for trigger in plan["triggers"].values():
                for burst in trigger["bursts"]:
                    assert burst["text"] in text


def test_render_json_of_builtin() -> None:
    """The built-in default's JSON plan says so and has the one "default" group."""
    data: dict[str, Any] = render_json(Config.builtin(), BUILTIN_SOURCE)
    assert data["builtin"] is True
    assert data["log"] == {"format": None, "level": "info"}
    assert data["keepalived"] == {"notify_fifo": None, "config": None, "config_id": None,
                                  "allow_no_groups": False}
    (default,) = data["groups"]
    assert default["name"] == "default"
    assert default["interface"] is None
    assert default["settings"]["announce_on_start"] == {"value": False, "source": "builtin"}
    assert [p["address"] for p in default["plans"]] == [None, None]
    assert [p["family"] for p in default["plans"]] == ["ipv4", "ipv6"]


def test_example_config_renders() -> None:
    """The example configuration's plan shows refresh and pacing of its second group."""
    text = render_text(load_config(EXAMPLE), str(EXAMPLE))
    assert "    takeover   t=0.000..0.040s master x5 @0.01s\n" in text
    assert "               t=65.000s refresh x1 (then every 60s)\n" in text


_timings = st.builds(
    Timing,
    master_repeat=st.integers(1, 20), master_delay=st.sampled_from([0.0, 0.5, 1.0, 5.0]),
    master_refresh=st.sampled_from([0.0, 0.3, 2.0, 10.0]),
    master_refresh_repeat=st.integers(1, 5), lower_prio_delay=st.sampled_from([0.0, 3.0]),
    lower_prio_repeat=st.integers(0, 5), mode=st.sampled_from(["request", "reply", "both"]),
)


@settings(max_examples=150, deadline=None)
@given(_timings, st.sampled_from([0.0, 0.01, 0.1, 1.0]), st.sampled_from([V4, V6]),
       st.sampled_from(["master", "notify", "lower_prio"]))
def test_plans_account_for_every_frame(timing: Timing, spacing: float,
                                       address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                                       trigger: str) -> None:
    """Any timing yields ordered bursts whose spacing is the interval; nothing is lost."""
    timeline = simulate(trigger, address, timing, spacing)  # type: ignore[arg-type]
    starts = [b.start for b in timeline.bursts]
    assert starts == sorted(starts)
    for burst in timeline.bursts:
        assert burst.repeats >= 1
        per_repeat = 2 if timing.mode == "both" and address.version == 4 else 1
        assert burst.repeats == -(-burst.frames // per_repeat)
        if burst.spacing is not None:
            assert burst.spacing == pytest.approx(spacing)
    if trigger == "lower_prio" and timing.lower_prio_repeat == 0:
        assert timeline.bursts == ()
    else:
        assert timeline.bursts[0].start == 0.0
