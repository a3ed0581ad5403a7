"""Writes the fuzz targets' seeds, ``fuzz/seeds/<target>/``, from the golden vectors.

Run from the repository: ``python -m fuzz.make_seeds`` (every target but the netlink one,
from ``tests/data/vectors``, the keepalived.conf files under ``tests/data``, garpd's own
``config/garpd.toml`` and hand-made lines), and ``python -m fuzz.make_seeds --netlink``
inside a throwaway lab namespace (documentation addresses only) to capture real kernel
rtnetlink dumps (links, addresses, routes, neighbours) plus a few hand-built messages.
Seed files are named by their content's SHA-1, so re-running is idempotent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def _write(target: str, items: list[bytes]) -> None:
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    for data in items:
        name = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        (directory / name).write_bytes(data)


def vrrp_seeds() -> list[bytes]:
    """Captured keepalived adverts (frame, IP packet, message with a family byte first) and
    the auth_hmac adverts of tests/test_vrrp_trust.py."""
    from garpd.vrrp import VRRP_GROUP4, VRRP_GROUP6  # noqa: PLC0415
    from tests import test_vrrp_trust as trust  # noqa: PLC0415
    from tests.test_vrrp import ethernet, ipv4_packet, ipv6_packet, pseudo_header  # noqa: PLC0415
    from tests.vectors import vrrp_adverts  # noqa: PLC0415

    out: list[bytes] = []
    seen: set[tuple[int, int, int]] = set()
    for advert in vrrp_adverts():
        key = (advert.ip_version, advert.vrrp_version, advert.payload[2])
        if key in seen:
            continue
        seen.add(key)
        frame = advert.frame.data
        out += [frame, frame[14:], bytes((advert.ip_version == 6,)) + advert.payload]
    signed = trust.v3_ipv4_with_trailer()
    out += [signed, ethernet(signed), ethernet(signed, tags=(0x8100_0064,))]
    v2 = trust.message(2, 7, 100, trust.VIP4)
    out.append(ipv4_packet(v2 + trust.trailer(v2, 2, 7, trust.SRC4), trust.SRC4,
                                 VRRP_GROUP4))
    v3 = trust.message(3, 9, 100, trust.VIP6,
                       pseudo=pseudo_header(trust.SRC6, VRRP_GROUP6, 24))
    out.append(ipv6_packet(v3 + trust.trailer(v3, 3, 9, trust.SRC6), trust.SRC6,
                                 VRRP_GROUP6))
    return out


def neighbour_seeds() -> list[bytes]:
    """Captured GARPs and unsolicited NAs, the directed probes garpd sends, a tagged GARP."""
    from garpd.neighbour_wire import directed_arp, directed_ns  # noqa: PLC0415
    from tests.vectors import garps, unsolicited_nas  # noqa: PLC0415

    out = [g.frame.data for g in garps()[:2]] + [n.frame.data for n in unsolicited_nas()[:2]]
    mac = bytes.fromhex("020000000001")
    out.append(directed_arp(mac, ipaddress.IPv4Address("192.0.2.10"),
                            ipaddress.IPv4Address("192.0.2.1"), None))
    out.append(directed_ns(mac, ipaddress.IPv6Address("2001:db8::10"),
                           ipaddress.IPv6Address("2001:db8::1"), bytes.fromhex("020000000002")))
    garp = out[0]
    out.append(garp[:12] + b"\x81\x00\x00\x64" + garp[12:])
    return out


def control_seeds() -> list[bytes]:
    """Request lines as the hook and `garpd status` send them."""
    return [
        b'{"command": "ping"}',
        b'{"command": "status"}',
        b'{"command": "metrics"}',
        b'{"command": "notify", "type": "INSTANCE", "name": "VI_1", "state": "MASTER", '
        b'"priority": 100}',
        b'{"command": "notify", "type": "GROUP", "name": "VG_1", "state": "BACKUP", '
        b'"priority": null}',
        b'{"command": "notify", "type": "INSTANCE", "name": "\\u00e9\\"x", "state": "FAULT"}',
        b"[1, 2.5e3, true, false, null]",
        b"1" * 4301,  # a finding: int() refuses more than 4300 digits (a ValueError)
    ]


def fifo_seeds() -> list[bytes]:
    """notify_fifo lines as keepalived writes them (and a few it does not)."""
    return [
        b'INSTANCE "VI_1" MASTER 100\n',
        b'GROUP "VG_1" BACKUP 0\n',
        b'INSTANCE "VI 2" MASTER_RX_LOWER_PRI 255',
        b'INSTANCE "VI_3" STOP',
        b'GROUP "x" FAULT 7 extra',
    ]


def hook_seeds() -> list[bytes]:
    """argv after `garpd`, words separated by NUL."""
    lines = [
        ["notify", "INSTANCE", "VI_1", "MASTER", "100"],
        ["--log-format", "json", "notify", "-c", "/etc/garpd/garpd.toml", "GROUP", "-VG",
         "BACKUP", "0"],
        ["--log-level=debug", "notify", "--config=/x.toml", "INSTANCE", "--help", "FAULT"],
        ["announce", "-i", "eth0", "--repeat", "3", "--delay", "0.5", "192.0.2.10"],
        ["check", "--json", "-c", "/etc/garpd/garpd.toml"],
        ["watch", "-i", "eth0", "--count", "5", "--timeout", "1e3"],
        ["status", "--json"],
        ["--version"],
    ]
    return [b"\0".join(word.encode() for word in line) for line in lines]


def keepalived_seeds() -> list[bytes]:
    """Every keepalived.conf under tests/data, and issue 14's hostile examples."""
    files = sorted((ROOT / "tests" / "data").rglob("*.conf"))
    files += sorted((ROOT / "tests" / "data").rglob("*.inc"))
    out = [path.read_bytes() for path in files]
    out += [
        b"vrrp_instance V {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n{ }\n}\n}\n",
        b"$A=$A $A $A $A $A $A $A $A $A $A\n$A\n",
        # a finding: lines each under the line bound, 10 s in all before the count bound
        b"$E=x\n$D=$E $E $E $E $E $E $E $E\n$C=$D $D $D $D $D $D $D $D\n"
        b"$B=$C $C $C $C $C $C $C $C\n$A=" + b" ".join([b"$B"] * 15) + b"\n" + b"$A\n" * 1000,
        b"include /nonexistent/{a,b}/*.conf\n@high vrrp_instanse X {\n}\n",
        b"\xef\xbb\xbfglobal_defs {\n vmac_prefix vx\n}\nnet_namespace blue\n",
    ]
    return out


def toml_seeds() -> list[bytes]:
    """garpd's shipped configuration and small hand-made ones."""
    out = [(ROOT / "config" / "garpd.toml").read_bytes()]
    out += [
        b'[control]\nsocket = "/run/garpd/x.sock"\n',
        b'[announce]\nrepeat = 3\ndelay = 1.5\nmode = "both"\n\n[[group]]\nname = "VI_1"\n'
        b'interface = "eth0"\naddresses = ["192.0.2.10", "2001:db8::10"]\nvrid = 51\n'
        b'priority = 100\ngateways = ["auto"]\n',
        b'[keepalived]\nnotify_fifo = "/run/keepalived.fifo"\nconfig_id = "a"\n'
        b'allow_no_groups = true\n[metrics]\nlisten = "127.0.0.1:9400"\n',
        b'watch = ["192.0.2.0/24"]\n[control]\nsocket = \'/tmp/s\' # c\n',
        # a finding: Python 3.11's tomllib raises RecursionError on deep nesting
        b'[control]\nsocket = "/x"\nx = ' + b"[" * 1000 + b"]" * 1000 + b"\n",
    ]
    return out


def netlink_seeds() -> list[bytes]:
    """Real dumps of this namespace's links, addresses, routes and neighbours (one datagram
    each), and hand-built messages: an error, a multipath route, a renamed link."""
    from garpd import rtnl  # noqa: PLC0415

    out: list[bytes] = []
    requests = [
        rtnl.nlmsg(rtnl.RTM_GETLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP, 1,
                   struct.pack("=BxHiII", 0, 0, 0, 0, 0)),
        rtnl.nlmsg(rtnl.RTM_GETADDR, rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP, 1,
                   struct.pack("=BBBBI", 0, 0, 0, 0, 0)),
        rtnl.dump_request(rtnl.RTM_GETROUTE),
        rtnl.dump_request(rtnl.RTM_GETNEIGH),
    ]
    for request in requests:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.bind((0, 0))
            sock.send(request)
            out.append(sock.recv(1 << 16))
    hop = rtnl.rtattr(rtnl.RTA_GATEWAY, ipaddress.IPv4Address("192.0.2.1").packed)
    nexthop = struct.pack("=HBBi", 8 + len(hop), 0, 0, 2) + hop
    route = struct.pack("=8BI", socket.AF_INET, 0, 0, 0, 254, 3, 0, 1, 0)
    route += rtnl.rtattr(rtnl.RTA_MULTIPATH, nexthop + nexthop)
    route += rtnl.rtattr(rtnl.RTA_VIA, struct.pack("=H", socket.AF_INET6) + bytes(16))
    out.append(rtnl.nlmsg(rtnl.RTM_NEWROUTE, rtnl.NLM_F_REPLACE, 0, route))
    out.append(rtnl.nlmsg(rtnl.NLMSG_ERROR, 0, 0, struct.pack("=i", -1) + bytes(16)))
    return out


def main() -> int:
    """Write the seeds (``--netlink``: only the netlink ones, from this namespace)."""
    if "--netlink" in sys.argv[1:]:
        _write("netlink", netlink_seeds())
        return 0
    for target, make in (("vrrp", vrrp_seeds), ("neighbour", neighbour_seeds),
                         ("control", control_seeds), ("fifo", fifo_seeds),
                         ("hook", hook_seeds), ("keepalived", keepalived_seeds),
                         ("toml", toml_seeds)):
        _write(target, make())
    return 0


if __name__ == "__main__":
    sys.exit(main())
