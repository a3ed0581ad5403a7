"""``garpd notify TYPE NAME STATE [PRIORITY]``: keepalived's generic notify hook.

The hand-off path imports nothing heavy (no pyroute2, pydantic, asyncio or structlog): it reads the
control socket's path from the configuration (a checked TOML subset, else tomllib), sends one
JSON line and exits.
With no daemon reachable, MASTER runs the master schedule (reason ``notify``) for the
matching groups itself, from the configuration, as a one-shot
(:mod:`garpd.commands.oneshot`). A notify hook must never break keepalived:
whatever happens (unknown names or states, no daemon, bad configuration) it exits 0.
"""

from __future__ import annotations

from garpd.control import NOTIFY_STATES, Unreachable, group_kind, request, socket_path
from garpd.quicklog import QuickLog

TYPE_CHECKING = False  # typing itself costs ~10 ms on the hook's path
if TYPE_CHECKING:
    from typing import Any

    from garpd.hookargs import HookArgs


def main(args: HookArgs) -> int:
    """Run ``garpd notify``; always returns 0."""
    log = QuickLog(args.log_format, args.log_level)
    words: list[str] = args.words
    if not 3 <= len(words) <= 4:
        log.warning("notify_ignored", words=words,
                    reason="expected TYPE NAME STATE [PRIORITY] (keepalived's four words)")
        return 0
    kind, name, state = words[0].upper(), words[1], words[2].upper()
    priority: int | None = None
    if len(words) == 4 and words[3].isascii() and words[3].isdigit() and len(words[3]) <= 3:
        priority = int(words[3])
        if not 0 <= priority <= 255:
            priority = None
    if kind not in ("INSTANCE", "GROUP") or state not in NOTIFY_STATES or not name:
        log.warning("notify_ignored", type=words[0], name=name, state=words[2],
                    reason="unknown type or state")
        return 0
    path = socket_path(args.config)
    try:
        reply = request(path, {"command": "notify", "type": kind, "name": name,
                               "state": state, "priority": priority}, timeout=2.0)
    except Unreachable as exc:
        return _fallback(args, log, kind, name, state, priority, str(exc))
    if reply.get("ok"):
        log.info("notify_handed_off", type=kind, name=name, state=state, socket=path,
                 groups=reply.get("groups"), action=reply.get("action"))
    else:
        log.error("notify_refused", type=kind, name=name, state=state, socket=path,
                  error=reply.get("error", "permission denied"))
    return 0


def _fallback(args: HookArgs, log: Any, kind: str, name: str, state: str,
              priority: int | None, why: str) -> int:
    """No daemon: run the master schedule for the named groups ourselves (MASTER only)."""
    if state != "MASTER":
        log.info("notify_received", type=kind, name=name, state=state, daemon="unreachable")
        return 0
    from garpd import quickconfig  # noqa: PLC0415 - only without a daemon
    from garpd.commands import oneshot  # noqa: PLC0415
    from garpd.events import Trigger  # noqa: PLC0415
    from garpd.lazylog import DeferredLog  # noqa: PLC0415

    fmt = "json" if args.log_format == "json" else (
        "console" if args.log_format == "console" else None)
    logger = DeferredLog(fmt, args.log_level or "info")  # structlog after the first frame
    # asyncio (without ssl) is imported by the one-shot after its first frames, if at all.
    # A plain configuration is read without pydantic (~120 ms); anything else, and every
    # error, goes through the full validation (garpd.config), as before.
    policy: Any = quickconfig.load(args.config)
    if policy is not None:
        has_groups = bool(policy.groups)
    else:
        from pathlib import Path  # noqa: PLC0415

        from garpd import config as cfgmod  # noqa: PLC0415

        try:
            cfg, _source = cfgmod.resolve(Path(args.config) if args.config else None)
        except cfgmod.ConfigError as exc:
            logger.error("notify_failed", type=kind, name=name, errors=exc.lines)
            return 0
        policy = cfgmod.ConfigPolicy(cfg)
        has_groups = bool(cfg.groups)
    if has_groups:
        groups = frozenset(g.name for g in policy.groups_named(name, group_kind(kind)))
    else:
        groups = frozenset({"default"})  # garpd.config.DEFAULT_GROUP
    if not groups:
        logger.warning("notify_unknown", type=kind, name=name, state=state)
        return 0
    context = (("type", kind), ("name", name), ("state", state), ("priority", priority),
               ("daemon", "unreachable"), ("why", why))
    triggers = [Trigger("notify", group=g, context=context) for g in sorted(groups)]
    shot = oneshot.Oneshot(policy, "notify", triggers=triggers, groups=groups)
    try:
        oneshot.run(shot, logger)
    except Exception as exc:  # a hook must never break keepalived
        logger.error("notify_failed", type=kind, name=name, error=str(exc))
    return 0
