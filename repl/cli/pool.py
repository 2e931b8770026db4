"""``acajs-repl pool``: status of the session pool (never names an identifier)."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields
from typing import Any

from repl.api.models import PoolStatus
from repl.cli.output import EXIT_OK, EXIT_SERVICE, fail, fmt_time, mode, run, shown, write_json, write_out

LABELS = {
    "name": "pool",
    "container_type": "container type",
    "provisioning_state": "state",
    "max_sessions": "max sessions",
    "ready_sessions": "ready sessions",
    "sessions_in_use": "sessions in use",
    "node_count": "nodes",
    "egress": "egress",
    "cooldown_seconds": "cooldown",
    "runtime": "runtime",
    "kernel": "kernel",
}


def cmd_pool(settings: Any, args: argparse.Namespace) -> int:
    async def body(conn: Any) -> int:
        status = await conn.client.pool_status()
        reachable = any(getattr(status, name) is not None for name in LABELS if name != "name")
        if not reachable:
            return _unreachable(status)
        sessions = await conn.client.list_sessions() if args.sessions else None
        if mode.json:
            data = asdict(status)
            data["kind"] = conn.kind
            if sessions is not None:
                data["sessions"] = [asdict(s) for s in sessions]
            write_json(data)
            return EXIT_OK
        lines = [f"{'endpoint':<16} {status.endpoint}"]
        names = [f.name for f in fields(status) if f.name in LABELS]
        for name in names:
            value = getattr(status, name)
            if value is None:
                text = "unknown"
            elif name == "cooldown_seconds":
                text = f"{value} s"
            else:
                text = shown(str(value))
            lines.append(f"{LABELS[name]:<16} {text}")
        if status.unknown:
            lines.append(f"{'unknown':<16} {', '.join(LABELS.get(u, u) for u in status.unknown)}")
        for note in status.notes:
            lines.append(f"{'note':<16} {shown(note)}")
        if sessions is not None:
            lines.append(f"{'sessions':<16} {len(sessions)}")
            for s in sessions:
                # Identifiers are access to sessions: show only a prefix.
                short = shown(s.identifier[:8]) + ("..." if len(s.identifier) > 8 else "")
                lines.append(f"  {short:<12} created {fmt_time(s.created_at)}  expires {fmt_time(s.expire_at)}")
        write_out("".join(line + "\n" for line in lines))
        return EXIT_OK

    return run(settings, body)


def _unreachable(status: PoolStatus) -> int:
    why = "; ".join(status.notes) or "nothing answered"
    return fail(f"could not read any status of the pool at {status.endpoint}: {why}", EXIT_SERVICE)
