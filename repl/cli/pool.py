"""``acajs-repl pool``: status of the session pool (never names an identifier)."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields

from repl.cli.output import EXIT_OK, EXIT_SERVICE, fail, fmt_time, run, write_json

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


def cmd_pool(settings, args: argparse.Namespace) -> int:
    async def body(conn) -> int:
        status = await conn.client.pool_status()
        sessions = await conn.client.list_sessions() if args.sessions else None
        reachable = any(getattr(status, name) is not None for name in LABELS if name != "name")
        if args.json:
            data = asdict(status)
            data["kind"] = conn.kind
            if sessions is not None:
                data["sessions"] = [asdict(s) for s in sessions]
            write_json(data)
            return EXIT_OK if reachable else _unreachable(status)
        print(f"{'endpoint':<16} {status.endpoint}")
        names = [f.name for f in fields(status) if f.name in LABELS]
        for name in names:
            value = getattr(status, name)
            if value is None:
                shown = "unknown"
            elif name == "cooldown_seconds":
                shown = f"{value} s"
            else:
                shown = str(value)
            print(f"{LABELS[name]:<16} {shown}")
        if status.unknown:
            print(f"{'unknown':<16} {', '.join(LABELS.get(u, u) for u in status.unknown)}")
        for note in status.notes:
            print(f"{'note':<16} {note}")
        if sessions is not None:
            print(f"{'sessions':<16} {len(sessions)}")
            for s in sessions:
                # Identifiers are access to sessions: show only a prefix.
                short = s.identifier[:8] + ("..." if len(s.identifier) > 8 else "")
                print(f"  {short:<12} created {fmt_time(s.created_at)}  expires {fmt_time(s.expire_at)}")
        return EXIT_OK if reachable else _unreachable(status)

    return run(settings, body)


def _unreachable(status) -> int:
    why = "; ".join(status.notes) or "nothing answered"
    return fail(f"could not read any status of the pool at {status.endpoint}: {why}", EXIT_SERVICE)
