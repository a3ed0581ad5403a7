"""Long-running fuzzer for garpd.vrrp: owns the structure-aware and differential fuzz tests.

Not collected by a plain ``pytest`` run (the file name does not match ``test_*.py``); run it
by name. It is cheap by default (``GARPD_FUZZ_EXAMPLES``, default 200 examples per test);
for a long run::

    GARPD_FUZZ_EXAMPLES=200000 /opt/garpd-dev/bin/pytest tests/fuzz_vrrp.py -q

Properties, beyond "nothing but VrrpError" (which ``tests/test_vrrp.py`` checks briefly):

- the three entry points agree: a frame, its IP packet and its VRRP message (with the
  packet's addresses and TTL) give the same Advert or all raise VrrpError;
- a well-formed message (v2 auth data zero, v3 reserved bits zero, no trailing bytes)
  that parses with a good checksum is rebuilt byte for byte by ``build_advert``;
- padding after the IP length never changes the result.
"""

from __future__ import annotations

import ipaddress

from hypothesis import event, given
from hypothesis import strategies as st

from garpd.vrrp import Address, Advert, VrrpError, build_advert, parse_frame, parse_ip_packet
from garpd.vrrp import parse_vrrp as parse_vrrp_message
from tests.hostile_strategies import fuzz_settings
from tests.test_vrrp import (
    ethernet,
    ipv4_packet,
    ipv6_packet,
    mutated,
    parse_message,
    parse_or_error,
    pseudo_header,
    rfc1071,
)
from tests.vectors import vrrp_adverts

LONG = fuzz_settings(200)

ADDRESS4: st.SearchStrategy[Address] = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ADDRESS6: st.SearchStrategy[Address] = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@st.composite
def vrrp_messages(draw: st.DrawFn, ipv6: bool) -> tuple[bytes, Address, Address]:
    """A VRRP message that is mostly well-formed (random fields, sometimes a broken version,
    type, count, length or checksum), with the source and destination it travels with."""
    address = ADDRESS6 if ipv6 else ADDRESS4
    source, destination = draw(address), draw(address)
    version = draw(st.sampled_from([3, 3, 2, draw(st.integers(0, 15))]))
    kind = draw(st.sampled_from([1, 1, 1, draw(st.integers(0, 15))]))
    addresses = draw(st.lists(address, max_size=8))
    count = draw(st.sampled_from([len(addresses), len(addresses), draw(st.integers(0, 255))]))
    # v2: auth type and whole seconds; v3: reserved bits (mostly 0) and centiseconds.
    clean_word = draw(st.integers(0, 0x0FFF if version == 3 else 0xFFFF)).to_bytes(2)
    second_word = draw(
        st.sampled_from([clean_word, clean_word, draw(st.binary(min_size=2, max_size=2))])
    )
    body = b"".join(a.packed for a in addresses)
    if version == 2:
        body += draw(st.sampled_from([bytes(8), draw(st.binary(max_size=12))]))
    body += draw(st.sampled_from([b"", b"", draw(st.binary(max_size=8))]))
    head = bytes((version << 4 | kind, draw(st.integers(0, 255)), draw(st.integers(0, 255))))
    head += bytes((count,)) + second_word
    unsummed = head + bytes(2) + body
    covered = unsummed
    if version != 2 and (ipv6 or draw(st.booleans())):
        covered = pseudo_header(source, destination, len(unsummed)) + unsummed
    checksum = draw(
        st.sampled_from([rfc1071(covered), rfc1071(covered), draw(st.integers(0, 65535))])
    )
    return head + checksum.to_bytes(2) + body, source, destination


@st.composite
def ip_packets(draw: st.DrawFn) -> tuple[bytes, bytes, Address, Address, int]:
    """(packet, VRRP message, source, destination, ttl): a message in an IPv4 packet (random
    options, TTL, sometimes another protocol or a fragment) or an IPv6 packet."""
    ipv6 = draw(st.booleans())
    message, source, destination = draw(vrrp_messages(ipv6))
    ttl = draw(st.sampled_from([255, draw(st.integers(0, 255))]))
    if ipv6:
        next_header = draw(st.sampled_from([112, 112, 112, 112, draw(st.integers(0, 255))]))
        packet = ipv6_packet(message, source, destination, hop_limit=ttl, next_header=next_header)
    else:
        options = draw(st.sampled_from([b"", bytes.fromhex("94040000"), bytes(40)]))
        protocol = draw(st.sampled_from([112, 112, 112, 112, draw(st.integers(0, 255))]))
        fragment = draw(st.sampled_from([0, 0, 0, 0x4000, draw(st.integers(0, 65535))]))  # DF
        packet = ipv4_packet(
            message,
            source,
            destination,
            ttl=ttl,
            protocol=protocol,
            options=options,
            fragment=fragment,
        )
    return packet, message, source, destination, ttl


def _same_outcome(first: Advert | VrrpError, second: Advert | VrrpError) -> bool:
    if isinstance(first, VrrpError) or isinstance(second, VrrpError):
        return isinstance(first, VrrpError) and isinstance(second, VrrpError)
    return first == second


@LONG
@given(data=st.binary(max_size=2000), ipv6=st.booleans())
def test_random_bytes(data: bytes, ipv6: bool) -> None:
    """Random bytes: every entry point returns an Advert or raises VrrpError."""
    source: Address = ipaddress.IPv6Address(1) if ipv6 else ipaddress.IPv4Address(1)
    parse_or_error(parse_frame, data)
    parse_or_error(parse_ip_packet, data)
    parse_or_error(parse_message(source, source), data)


@LONG
@given(case=ip_packets(), tag=st.sampled_from([(), (0x8100_0064,)]), pad=st.binary(max_size=64))
def test_entry_points_agree(
    case: tuple[bytes, bytes, Address, Address, int], tag: tuple[int, ...], pad: bytes
) -> None:
    """Frame, IP packet and VRRP message of a (mostly valid) advert parse the same."""
    packet, message, source, destination, ttl = case
    by_packet = parse_or_error(parse_ip_packet, packet)
    if isinstance(by_packet, Advert):
        event(f"parsed, checksum_ok={by_packet.checksum_ok}")
    else:
        event(f"VrrpError: {by_packet.reason.split(':')[0].split(' (')[0]}")
    assert _same_outcome(by_packet, parse_or_error(parse_frame, ethernet(packet, tags=tag) + pad))
    assert _same_outcome(by_packet, parse_or_error(parse_ip_packet, packet + pad))
    if isinstance(by_packet, Advert):
        assert by_packet == parse_vrrp_message(
            message, source=source, destination=destination, ttl=ttl
        )


@LONG
@given(case=ip_packets())
def test_good_adverts_rebuild_byte_for_byte(
    case: tuple[bytes, bytes, Address, Address, int],
) -> None:
    """A clean message with a good checksum is exactly what build_advert makes of its fields."""
    _, message, source, destination, _ = case
    result = parse_or_error(parse_message(source, destination), message)
    if not isinstance(result, Advert) or not result.checksum_ok:
        return
    address_len = 4 if result.family == 4 else 16
    structured = 8 + result.count * address_len + (8 if result.version == 2 else 0)
    clean = len(message) == structured and (
        message[-8:] == bytes(8) if result.version == 2 else message[4] >> 4 == 0
    )
    if not clean:
        return
    event("rebuilt")
    rebuilt = build_advert(
        result.vrid,
        result.priority,
        result.addresses,
        version=result.version,
        interval=result.interval,
        source=source,
        destination=destination,
        auth_type=result.auth_type or 0,
        checksum_as_v2=result.checksum_as_v2,
    )
    # A checksum of 0x0000 and 0xffff both verify; build_advert writes 0x0000 for the latter.
    assert rebuilt[:6] + rebuilt[8:] == message[:6] + message[8:]
    assert rebuilt[6:8] == message[6:8] or {rebuilt[6:8], message[6:8]} == {b"\0\0", b"\xff\xff"}


@LONG
@given(data=st.data())
def test_mutated_golden_frames(data: st.DataObject) -> None:
    """Repeated mutations of the captured adverts: an Advert or a VrrpError, nothing else."""
    golden = data.draw(st.sampled_from(vrrp_adverts()))
    frame = golden.frame.data
    for _ in range(data.draw(st.integers(1, 4))):
        frame = data.draw(mutated(frame))
    parse_or_error(parse_frame, frame)
    parse_or_error(parse_ip_packet, frame[14:])
    parse_or_error(parse_message(golden.src, golden.dst), frame[14 + 20 :])
    parse_or_error(parse_message(golden.src, golden.dst), frame[14 + 40 :])
