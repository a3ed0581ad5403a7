"""Hypothesis strategies for hostile input to garpd's parsers: notify hook arguments, FIFO
lines, control-socket request lines, garpd.toml text and keepalived.conf text; and the
settings every fuzz property runs with (:func:`fuzz_settings`).

Used by tests/test_hostile.py: a quick run on every ``pytest``, and the long run on demand
with ``GARPD_FUZZ_EXAMPLES`` (tests/fuzz_vrrp.py takes its settings from here too). Each
strategy mixes three kinds of input: plain garbage,
near-misses of the real grammar (a valid line with one part broken), and valid input, so
that both the rejection paths and the acceptance paths are exercised.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from garpd.config import ANNOUNCE_KEYS
from garpd.control import NOTIFY_STATES


def fuzz_settings(default: int) -> settings:
    """Settings for a fuzz property: ``default`` examples on a plain ``pytest`` run, or
    ``GARPD_FUZZ_EXAMPLES`` of them for the long run on demand (e.g. 200000)."""
    return settings(
        max_examples=int(os.environ.get("GARPD_FUZZ_EXAMPLES") or default),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


#: Any character a command-line word can hold: argv cannot carry NUL, but non-UTF-8 bytes
#: arrive as lone surrogates (surrogateescape), so those are included.
ARGV_CHARS = st.characters(exclude_characters="\x00", exclude_categories=[])
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)

KINDS = ["INSTANCE", "GROUP", "instance", "Group", "VRRP", "", "INSTANCE ", "İNSTANCE"]
STATES = [*NOTIFY_STATES, "master", "Master", "MASTER ", "UP", "", "FAULT\n", "MAŞTER"]


def _mutate(word: str, draw: st.DrawFn) -> str:
    how = draw(st.integers(0, 5))
    if how == 0 or not word:
        return word
    if how == 1:
        return word.lower()
    if how == 2:
        return word + draw(TEXT)
    if how == 3:
        index = draw(st.integers(0, len(word) - 1))
        return word[:index] + word[index + 1:]
    if how == 4:
        return f" {word} "
    return draw(TEXT)


# --------------------------------------------------------------------------- notify


def notify_word(*, allow_dash: bool = False) -> st.SearchStrategy[str]:
    """One argv word for ``garpd notify`` (never starting with "-" unless ``allow_dash``)."""
    word = st.text(ARGV_CHARS, max_size=30)
    if not allow_dash:
        word = word.filter(lambda w: not w.startswith("-"))
    return word


@st.composite
def notify_args(draw: st.DrawFn, *, allow_dash: bool = False) -> tuple[str, str, str, str | None]:
    """TYPE NAME STATE [PRIORITY] as keepalived (or anyone) might pass them."""
    any_word = notify_word(allow_dash=allow_dash)
    kind = draw(st.sampled_from(KINDS) | any_word)
    name = draw(any_word | st.sampled_from(["VI_1", "VG_1", "", " ", "é", "\udcff"]))
    state = draw(st.sampled_from(STATES) | any_word)
    priority = draw(st.none() | st.sampled_from(["100", "0", "255", "256", "-1", "1e3", "",
                                                  "٣", "9" * 5000, "0x10", " 7 "])
                    | any_word | st.integers(-(10**30), 10**30).map(str))
    return kind, name, state, priority


# --------------------------------------------------------------------------- FIFO


@st.composite
def fifo_lines(draw: st.DrawFn) -> str:
    """keepalived notify_fifo lines: valid, broken in one part, or garbage."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.text(max_size=300))
    kind = _mutate(draw(st.sampled_from(["INSTANCE", "GROUP"])), draw)
    name = draw(st.text(max_size=30))
    quote = draw(st.sampled_from(['"', '"', "'", "", '""']))
    state = _mutate(draw(st.sampled_from(NOTIFY_STATES)), draw)
    priority = draw(st.sampled_from(["", " 100", " 0", " 255", " 256", " -1", " 1 2", " ٣",
                                     " 99999999999999999999", " x"]))
    end = draw(st.sampled_from(["", "\n", "\r\n", " trailing", "\x00"]))
    return f"{kind} {quote}{name}{quote} {state}{priority}{end}"


# --------------------------------------------------------------------------- control


def _json_values() -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
               | st.sampled_from(["status", "notify", "ping", "INSTANCE", "GROUP", *NOTIFY_STATES]))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@st.composite
def control_lines(draw: st.DrawFn) -> bytes:
    """Request lines for the control socket: JSON objects near the protocol, or garbage."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=600))
    if kind == 1:  # deep nesting, huge numbers, odd encodings
        depth = draw(st.integers(1, 5000))
        return draw(st.sampled_from([
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"command": "notify", "priority": ' + b"9" * depth + b"}",
            json.dumps({"command": "status"}).encode("utf-16"),
            json.dumps({"command": "status"}).encode("utf-32"),
            b"\xef\xbb\xbf" + json.dumps({"command": "ping"}).encode(),
        ]))
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["command"] = draw(st.sampled_from(["status", "notify", "ping"]) | _json_values())
    for key, values in (("type", st.sampled_from(["INSTANCE", "GROUP"])),
                        ("name", st.text(max_size=300)),
                        ("state", st.sampled_from(NOTIFY_STATES)),
                        ("priority", st.integers(-5, 300))):
        if draw(st.booleans()):
            fields[key] = draw(values | _json_values())
    extra = draw(st.dictionaries(st.text(max_size=8), _json_values(), max_size=2))
    text = json.dumps({**extra, **fields}, ensure_ascii=draw(st.booleans()),
                      allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- garpd.toml

_SECTIONS = ["[announce]", "[log]", "[control]", "[keepalived]", "[[group]]", "[group]",
             "[[announce]]", "[other]", "[announce.sub]", "[", "[[group]"]
_KEYS = sorted({*ANNOUNCE_KEYS, "format", "level", "socket", "notify_fifo", "config", "name",
                "interface", "addresses", "networks", "sync_group", "priority", "vrid"})
_STRINGS = ["192.0.2.1", "192.0.2.1/24", "2001:db8::1", "198.51.100.0/24", "0.0.0.0/0",
            "::/0", "eth0", "lo", "a" * 16, "request", "reply", "both", "json", "console",
            "debug", "/nonexistent/garpd.sock", "relative.sock", "/dev/null",
            "/nonexistent/keepalived.conf", "fe80::1%eth0", "", "\u00e9th0", "eth0\n"]


def _toml_scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.integers(-3, 300).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["nan", "inf", "-inf", "+inf", "1e400", "-0.0", "0x10", "0o7",
                         "1_000", "true", "false", "1979-05-27T07:32:00Z", "07:32:00",
                         "1979-05-27"]),
        st.sampled_from(_STRINGS).map(json.dumps),
        st.text(max_size=20).map(json.dumps),
        st.text(max_size=10).map(lambda s: f"'{s}'"),
    )


def _toml_value() -> st.SearchStrategy[str]:
    return st.recursive(
        _toml_scalar(),
        lambda inner: st.lists(inner, max_size=4).map(lambda v: "[" + ", ".join(v) + "]")
        | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"),
        max_leaves=6,
    )


@st.composite
def toml_documents(draw: st.DrawFn) -> str:
    """garpd.toml-like text: real sections and keys with random values, and garbage."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.text(max_size=400))
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        what = draw(st.integers(0, 9))
        if what == 0:
            lines.append(draw(st.sampled_from(_SECTIONS)))
        elif what == 1:
            lines.append(draw(st.text(max_size=40)))
        else:
            key = draw(st.sampled_from(_KEYS) | st.text(min_size=1, max_size=8).map(json.dumps))
            lines.append(f"{key} = {draw(_toml_value())}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


# --------------------------------------------------------------------------- keepalived.conf

_KA_WORDS = [
    "global_defs", "vrrp_instance", "vrrp_sync_group", "group", "virtual_ipaddress",
    "virtual_ipaddress_excluded", "interface", "state", "MASTER", "BACKUP",
    "virtual_router_id", "priority", "advert_int", "use_vmac", "vmac_xmit_base", "dev",
    "label", "scope", "brd", "garp_master_delay", "garp_master_repeat", "garp_master_refresh",
    "garp_master_refresh_repeat", "garp_lower_prio_delay", "garp_lower_prio_repeat",
    "garp_interval", "gna_interval", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
    "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_min_garp", "vrrp_garp_lower_prio_repeat",
    "include", "@node-a", "@^node-a", "$VAR=1", "$VAR", "{", "}", "{", "}", "!", "#", "\n",
    "eth0", "eth1", "VI_1", "VG_1", "192.0.2.1", "192.0.2.1/24", "2001:db8::1/64",
    "198.51.100.0/24", "0", "1", "51", "100", "255", "256", "-1", "1.5", "yes", "no", "~SEQ(x,1,3)",
    "notify", "\"quoted name\"", "'", "\"", "\\", "/nonexistent/*.conf",
]


@st.composite
def keepalived_texts(draw: st.DrawFn) -> str:
    """keepalived.conf-like text: the real vocabulary shuffled, nested, and garbage."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=400))
    words = draw(st.lists(st.sampled_from(_KA_WORDS) | st.text(max_size=6), max_size=120))
    separators = draw(st.lists(st.sampled_from([" ", " ", "\n", "\t", " \n  "]),
                               min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, separators, strict=True))
