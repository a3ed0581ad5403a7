"""The tests' side of the namespace lab (which lives in :mod:`garpd.lab`): owns the skip or
fail decision (:func:`require_lab`, strict under GARPD_REQUIRE_LAB=1) and the type of the
``make_lab`` fixture, and re-exports what the tests use from garpd.lab, so that a test
imports its lab from one place."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

from garpd.lab.capture import Capture, Decoded, Frame, arp_frame, decode
from garpd.lab.common import (
    ALLOWED_NETWORKS,
    BRIDGE,
    BROADCAST_MAC,
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    HOST_DEV,
    SWITCH,
    CommandFailed,
    LabError,
    check_lab_address,
    normalize_mac,
    wait_for,
)
from garpd.lab.netns import Lab, lab_unavailable_reason

__all__ = [
    "ALLOWED_NETWORKS",
    "BRIDGE",
    "BROADCAST_MAC",
    "ETH_P_ARP",
    "ETH_P_IP",
    "ETH_P_IPV6",
    "HOST_DEV",
    "SWITCH",
    "Capture",
    "CommandFailed",
    "Decoded",
    "Frame",
    "Lab",
    "LabError",
    "LabFactory",
    "arp_frame",
    "check_lab_address",
    "decode",
    "lab_unavailable_reason",
    "normalize_mac",
    "require_lab",
    "wait_for",
]


def require_lab() -> None:
    """Skip the calling test if the lab cannot run; fail instead if GARPD_REQUIRE_LAB=1."""
    reason = lab_unavailable_reason()
    if reason is None:
        return
    import pytest  # noqa: PLC0415 - keep lab.py importable without pytest

    if os.environ.get("GARPD_REQUIRE_LAB") == "1":
        pytest.fail(f"GARPD_REQUIRE_LAB=1 but the namespace lab is unavailable: {reason}",
                    pytrace=False)
    pytest.skip(f"namespace lab unavailable: {reason} (GARPD_REQUIRE_LAB=1 makes this a failure)")


class LabFactory(Protocol):
    """What the `make_lab` fixture returns: builds and enters a Lab, torn down after the test."""

    def __call__(self, hosts: Sequence[str] = ("a", "b"), **options: Any) -> Lab: ...
