"""Metrics: the first-frame histogram of the core, the collector's families read back with
Prometheus's own text parser, ``[metrics] listen`` validation, the HTTP endpoint, and the
lazy import of prometheus_client."""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from garpd.config import ConfigError, listen_address, loads_config
from garpd.drivers.metrics import MetricsServer, Snapshot, render
from garpd.events import AddressChanged, AddressRemoved, LinkChanged, Trigger
from garpd.histogram import Histogram
from garpd.policy import StaticPolicy, Timing
from tests.sim import Sim

MAC = bytes.fromhex("020000000002")
A1, A2, A3 = (ipaddress.ip_address(f"192.0.2.{n}") for n in (101, 102, 103))


def _parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample by name, keyed by its sorted labels."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_histogram_buckets_are_cumulative_with_inf() -> None:
    """Observations land in the first bucket whose bound they do not exceed; +Inf holds all."""
    h = Histogram((0.001, 0.01))
    for v in (0.0005, 0.001, 0.002, 5.0, -1.0):
        h.observe(v)
    assert h.cumulative() == [("0.001", 3), ("0.01", 4), ("+Inf", 5)]
    assert h.count == 5
    assert h.total == pytest.approx(5.0035)


def test_core_records_held_to_first_frame_per_takeover() -> None:
    """Paced frames: the latency is each address's wait for its first frame; a notify of a
    held address is not a new observation, a release and re-add is."""
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0), interval=0.5))
    s.at(10.0, LinkChanged("eth0", 2, MAC, True, True), AddressChanged("eth0", A1),
         AddressChanged("eth0", A2), AddressChanged("eth0", A3))
    s.advance(20.0)
    hist = s.core.first_frame
    assert hist.count == 3
    assert hist.total == pytest.approx(0.0 + 0.5 + 1.0)
    s.at(21.0, Trigger("notify"))
    s.advance(30.0)
    assert hist.count == 3
    s.at(31.0, AddressRemoved("eth0", A1))
    s.at(32.0, AddressChanged("eth0", A1))
    s.advance(40.0)
    assert hist.count == 4
    assert hist.total == pytest.approx(1.5)


def test_release_before_the_first_frame_records_nothing() -> None:
    """An address released while its first frame still waits for the pacer is no sample."""
    s = Sim(StaticPolicy(Timing(master_repeat=1, master_delay=0.0), interval=1.0))
    s.at(0.0, LinkChanged("eth0", 2, MAC, True, True), AddressChanged("eth0", A1),
         AddressChanged("eth0", A2))
    s.at(0.5, AddressRemoved("eth0", A2))
    s.advance(10.0)
    assert s.core.first_frame.count == 1


def _snapshot() -> Snapshot:
    first = Histogram()
    first.observe(0.0002)
    first.observe(0.003)
    return Snapshot(
        version="9.9.9", interfaces=["eth0", "eth1"],
        frames={"eth0": 30}, send_errors={"eth1": 2},
        announcements={("eth0", "master"): 3, ("eth0", "master_delay"): 3},
        held={("eth0", "ipv4"): 2, ("eth0", "ipv6"): 1}, first_frame=first,
        vrrp={"lower": 4, "not_lower": 7}, notify={"MASTER": 1, "BACKUP": 2},
        reloads={"ok": 1}, log_dropped=5)


def test_collector_output_parses_with_prometheus_text_parser() -> None:
    """Every SPEC family is present with the snapshot's values, and parses back exactly."""
    text = render(_snapshot)
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == {
        "garpd_announcements": "counter", "garpd_frames_sent": "counter",
        "garpd_send_errors": "counter", "garpd_addresses_held": "gauge",
        "garpd_conflicts": "counter", "garpd_defences": "counter",
        "garpd_unconfirmed": "counter", "garpd_confirm_seconds": "histogram",
        "garpd_first_frame_seconds": "histogram", "garpd_vrrp_adverts": "counter",
        "garpd_notify": "counter", "garpd_config_reloads": "counter",
        "garpd_log_dropped": "counter", "garpd_build_info": "gauge",
    }
    s = _parse(text)
    assert s["garpd_announcements_total"] == {
        (("interface", "eth0"), ("reason", "master")): 3.0,
        (("interface", "eth0"), ("reason", "master_delay")): 3.0}
    assert s["garpd_frames_sent_total"] == {(("interface", "eth0"),): 30.0,
                                            (("interface", "eth1"),): 0.0}
    assert s["garpd_send_errors_total"][(("interface", "eth1"),)] == 2.0
    assert s["garpd_addresses_held"] == {
        (("family", "ipv4"), ("interface", "eth0")): 2.0,
        (("family", "ipv6"), ("interface", "eth0")): 1.0,
        (("family", "ipv4"), ("interface", "eth1")): 0.0,
        (("family", "ipv6"), ("interface", "eth1")): 0.0}
    assert set(s["garpd_conflicts_total"].values()) == {0.0}
    assert s["garpd_confirm_seconds_count"] == {(("interface", "eth0"),): 0.0,
                                                (("interface", "eth1"),): 0.0}
    assert s["garpd_first_frame_seconds_count"] == {(): 2.0}
    assert s["garpd_first_frame_seconds_sum"][()] == pytest.approx(0.0032)
    buckets = s["garpd_first_frame_seconds_bucket"]
    assert buckets[(("le", "0.00025"),)] == 1.0
    assert buckets[(("le", "0.005"),)] == 2.0
    assert buckets[(("le", "+Inf"),)] == 2.0
    assert s["garpd_vrrp_adverts_total"] == {(("result", "lower"),): 4.0,
                                             (("result", "not_lower"),): 7.0}
    assert s["garpd_notify_total"] == {(("state", "BACKUP"),): 2.0,
                                       (("state", "MASTER"),): 1.0}
    assert s["garpd_config_reloads_total"] == {(("result", "ok"),): 1.0,
                                               (("result", "rejected"),): 0.0}
    assert s["garpd_log_dropped_total"] == {(): 5.0}
    assert s["garpd_build_info"] == {(("version", "9.9.9"),): 1.0}


def test_collector_has_no_per_address_labels() -> None:
    """No sample carries an address: 10,000 VIPs must not mean 10,000 series."""
    for family in text_string_to_metric_families(render(_snapshot)):
        for sample in family.samples:
            assert set(sample.labels) <= {"interface", "reason", "family", "result", "state",
                                          "version", "le"}


@pytest.mark.parametrize("value", ["127.0.0.1:9477", "[::1]:9477", "127.1.2.3:1", ""])
def test_listen_accepts_loopback(value: str) -> None:
    """Loopback addresses with a port (or "" for off) are accepted as written."""
    cfg = loads_config(f'[metrics]\nlisten = "{value}"\n', "t.toml")
    assert cfg.metrics.listen == value


@pytest.mark.parametrize("value", ["0.0.0.0:9477", "192.0.2.1:9477", "127.0.0.1", "::1:9477",
                                   "[127.0.0.1]:9", "127.0.0.1:0", "127.0.0.1:65536",
                                   "localhost:9477", "[::1%lo]:9", "[2001:db8::1]:9"])
def test_listen_rejects_anything_else_with_a_clear_error(value: str) -> None:
    """A non-loopback or malformed listen value names the key, the value and what is accepted."""
    with pytest.raises(ConfigError) as info:
        loads_config(f'[metrics]\nlisten = "{value}"\n', "t.toml")
    text = "\n".join(info.value.lines)
    assert "metrics.listen" in text
    assert value in text
    assert '"127.0.0.1:PORT" or "[::1]:PORT"' in text


def test_listen_address_splits_host_and_port() -> None:
    """The parsed form the daemon binds to."""
    assert listen_address("[::1]:9477") == ("::1", 9477)
    assert listen_address("127.0.0.1:80") == ("127.0.0.1", 80)


async def _http(host: str, port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


def test_http_server_serves_metrics_and_refuses_other_paths() -> None:
    """GET /metrics answers 200 with parseable text; other paths 404, garbage 400."""

    async def scenario() -> tuple[bytes, bytes, bytes, dict[str, int]]:
        server = MetricsServer(_snapshot, "127.0.0.1", 0, None)
        await server.start()
        try:
            host, port = server.bound()
            ok = await _http(host, port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            missing = await _http(host, port, b"GET / HTTP/1.1\r\n\r\n")
            bad = await _http(host, port, b"\x00\x01 nonsense\r\n\r\n")
        finally:
            server.close()
        return ok, missing, bad, server.counters

    ok, missing, bad, counters = asyncio.run(scenario())
    head, _, body = ok.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Type: text/plain; version=0.0.4" in head
    assert _parse(body.decode())["garpd_frames_sent_total"][(("interface", "eth0"),)] == 30.0
    assert missing.startswith(b"HTTP/1.1 404")
    assert bad.startswith(b"HTTP/1.1 400")
    assert counters == {"scrapes": 1, "rejected": 2}


def test_daemon_modules_do_not_import_prometheus_client() -> None:
    """With metrics off and no ``metrics`` request, prometheus_client is never loaded."""
    code = ("import sys, garpd.commands.run, garpd.runner, garpd.core, garpd.config, "
            "garpd.drivers.control_server, garpd.commands.metrics, garpd.cli; "
            "sys.exit('prometheus_client' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
