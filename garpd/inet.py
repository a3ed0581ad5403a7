"""The Internet checksum (RFC 1071) and the IPv4 / IPv6 pseudo-headers it covers: pure.

garpd's one implementation, used by the NA frames (:mod:`garpd.frames`), VRRP adverts
(:mod:`garpd.vrrp`), the lab's ICMP echo and the lab's frame decoder (:mod:`garpd.lab`).
No socket, no clock, standard library only (the lab's in-namespace agent imports it).

- :func:`residue`: the one's complement sum of ``data`` reduced modulo 0xffff; 0 means a
  checksum over ``data`` (checksum field included) verifies, for any ``data`` that is not
  all zero bytes (a real header never is: it carries a version or a type).
- :func:`checksum`: the value to write into a checksum field (zeroed while summing); RFC
  1071's ``~sum & 0xffff``, so all-zero ``data`` gives 0xffff, and ``checksum(x) == 0``
  verifies ``x`` with its field filled in exactly as RFC 1071 reads it.
- :func:`ipv4_pseudo_header` / :func:`ipv6_pseudo_header`: what an upper-layer checksum
  covers before the message (RFC 768 / RFC 8200 section 8.1).
"""

from __future__ import annotations


def residue(data: bytes) -> int:
    """The RFC 1071 one's complement sum of ``data`` (16-bit big-endian words, odd length
    padded with a zero byte), reduced modulo 0xffff.

    2**16 == 1 (mod 0xffff), so the number ``data`` spells in base 2**16 is congruent to the
    sum of its words: one big-int remainder replaces the word loop. 0 means the folded sum
    is 0xffff (or all of ``data`` is zero), i.e. a checksum over it verifies.
    """
    if len(data) % 2:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def checksum(data: bytes) -> int:
    """The Internet checksum of ``data``: the one's complement of its one's complement sum.

    With the checksum field zeroed in ``data``, this is the value to write; over data whose
    field is filled in, 0 means it verifies.
    """
    folded = residue(data)
    if folded == 0 and any(data):  # the folded sum is 0xffff, not 0
        folded = 0xFFFF
    return 0xFFFF - folded


def ipv4_pseudo_header(source: bytes, destination: bytes, protocol: int, length: int) -> bytes:
    """IPv4: source(4) destination(4) zero(1) protocol(1) upper-layer length(2)."""
    return source + destination + bytes((0, protocol)) + length.to_bytes(2, "big")


def ipv6_pseudo_header(source: bytes, destination: bytes, next_header: int,
                       length: int) -> bytes:
    """IPv6 (RFC 8200 8.1): source(16) destination(16) length(4) zero(3) next header(1)."""
    return source + destination + length.to_bytes(4, "big") + bytes((0, 0, 0, next_header))
