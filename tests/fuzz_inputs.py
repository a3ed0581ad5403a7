"""Long-running fuzzer for garpd's input parsers: the notify hook's arguments, keepalived's
FIFO lines, control-socket requests, garpd.toml and keepalived.conf.

Not collected by a plain ``pytest`` run (the file name matches neither ``test_*.py`` nor
``*_test.py``); run it by name. It is cheap by default (``GARPD_FUZZ_EXAMPLES``, default
200 examples per test); for a long run::

    GARPD_FUZZ_EXAMPLES=200000 /opt/garpd-dev/bin/pytest tests/fuzz_inputs.py -q

The properties are those of tests/test_hostile.py (which runs them briefly on every pytest
run), with the same strategies (tests/hostile_strategies.py), plus a few that only pay off
with many examples: the notify hook with words that may start with "-" (keepalived names
may) still exits 0, and every accepted input is
checked for internal consistency (an accepted FIFO line re-parses to itself, an accepted
control request round-trips through JSON, an accepted configuration validates again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings

from garpd.config import Config, ConfigError, loads_config, parse_config
from garpd.control import parse_request
from garpd.fifo import parse_fifo_line
from garpd.keepalived import Imported, loads_keepalived, merge_toml
from tests.hostile_strategies import (
    control_lines,
    fifo_lines,
    keepalived_texts,
    notify_args,
    toml_documents,
)
from tests.test_hostile import GROUP_NAME, run_notify

EXAMPLES = int(os.environ.get("GARPD_FUZZ_EXAMPLES", "200"))
LONG = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def notify_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration nothing can be sent with (see tests/test_hostile.py)."""
    tmp = tmp_path_factory.mktemp("fuzz-notify")
    path = tmp / "garpd.toml"
    path.write_text(f'[control]\nsocket = "{tmp / "none.sock"}"\n[[group]]\n'
                    f'name = "{GROUP_NAME}"\ninterface = "gdnone0"\n'
                    'addresses = ["192.0.2.99"]\n')
    return path


@LONG
@given(args=notify_args())
def test_notify_exits_0(notify_config: Path, args: tuple[str, str, str, str | None]) -> None:
    """garpd notify with any words that are not options: exit 0, never an exception."""
    kind, name, state, priority = args
    if name == GROUP_NAME:
        return
    argv = ["notify", "-c", str(notify_config), kind, name, state]
    if priority is not None:
        argv.append(priority)
    code, _err = run_notify(argv)
    assert code == 0


@LONG
@given(args=notify_args(allow_dash=True))
def test_notify_words_that_look_like_options_exit_0(
        notify_config: Path, args: tuple[str, str, str, str | None]) -> None:
    """Words that may start with "-" (a keepalived name may): still exit 0."""
    kind, name, state, priority = args
    words = [w for w in args if w is not None]
    if name == GROUP_NAME or any(w.startswith(("-c", "--c", "--l")) for w in words):
        # A word that is one of garpd's own options before the hook words (-c, --config,
        # --log-*) is taken as that option; it could name another configuration, even the
        # built-in one that announces everything held: not something to fuzz as root.
        return
    argv = ["notify", "-c", str(notify_config), kind, name, state]
    if priority is not None:
        argv.append(priority)
    code, _err = run_notify(argv)
    event(f"exit {code}")
    assert code == 0


@LONG
@given(line=fifo_lines())
def test_fifo_lines(line: str) -> None:
    """A FifoLine (which reads back the same from its canonical form) or ValueError."""
    try:
        parsed = parse_fifo_line(line)
    except ValueError:
        event("rejected")
        return
    event("accepted")
    assert parsed.kind in ("INSTANCE", "GROUP")
    assert parsed.name
    assert '"' not in parsed.name
    canonical = f'{parsed.kind} "{parsed.name}" {parsed.state}'
    if parsed.priority is not None:
        canonical += f" {parsed.priority}"
    assert parse_fifo_line(canonical) == parsed


@LONG
@given(line=control_lines())
def test_control_requests(line: bytes) -> None:
    """A request (that survives a JSON round trip) or ValueError, for any bytes."""
    try:
        request = parse_request(line)
    except ValueError:
        event("rejected")
        return
    event(f"accepted {request['command']}")
    assert parse_request(json.dumps(request).encode()) == request


@LONG
@given(text=toml_documents())
def test_config_documents(text: str) -> None:
    """A Config or a ConfigError with one-line reasons naming the source."""
    error: ConfigError | None = None
    try:
        config = loads_config(text, "fuzz.toml")
    except ConfigError as exc:
        error = exc
    if error is not None:
        event("rejected")
        assert error.lines
        assert all(line.startswith("fuzz.toml") and "\n" not in line for line in error.lines)
        return
    event("accepted")
    assert isinstance(config, Config)


@LONG
@given(text=keepalived_texts())
def test_keepalived_texts(text: str) -> None:
    """Always an Imported; the garp settings it imports are then validated, not trusted."""
    base = HERE / "data" / "keepalived" / "empty-include-dir"
    result = loads_keepalived(text, str(base / "keepalived.conf"), base_dir=base,
                              config_id="node-a")
    assert isinstance(result, Imported)
    event(f"groups={min(len(result.groups), 3)}")
    error: ConfigError | None = None
    try:
        parse_config(merge_toml({}, result), "fuzz.toml")
    except ConfigError as exc:
        error = exc
    assert error is None or error.lines
