"""``python -m repl.local``: run the local pool in the foreground (like ``acajs-repl serve``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from repl.local.embedded import serve
from repl.local.settings import PoolSettings


def main(argv: list[str] | None = None) -> int:
    d = PoolSettings()
    p = argparse.ArgumentParser(prog="python -m repl.local", description=__doc__)
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=d.port, help="0 = any free port")
    p.add_argument("--token", default=None, help="default: a random token")
    p.add_argument("--max-sessions", type=int, default=d.max_sessions)
    p.add_argument("--ready", type=int, default=d.ready)
    p.add_argument("--cooldown", type=int, default=d.cooldown)
    p.add_argument("--timeout-cap", type=int, default=d.timeout_cap)
    p.add_argument("--memory-mb", type=int, default=d.memory_mb)
    p.add_argument("--egress", choices=["enabled", "disabled"], default=d.egress)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--sandbox", choices=["on", "off"], default="on")
    p.add_argument("--os-sandbox", choices=["on", "off"], default="on")
    p.add_argument("--output-cap", type=int, default=d.output_cap)
    p.add_argument("--idle-cpu-seconds", type=float, default=d.idle_cpu_seconds)
    p.add_argument("--allow-remote", action="store_true")
    a = p.parse_args(argv)
    settings = PoolSettings(
        host=a.host, port=a.port, token=a.token, max_sessions=a.max_sessions, ready=a.ready,
        cooldown=a.cooldown, timeout_cap=a.timeout_cap, memory_mb=a.memory_mb, egress=a.egress,
        data_dir=a.data_dir, sandbox=a.sandbox == "on", allow_remote=a.allow_remote,
        os_sandbox=a.os_sandbox == "on", output_cap=a.output_cap, idle_cpu_seconds=a.idle_cpu_seconds,
    )
    return serve(settings)


if __name__ == "__main__":
    raise SystemExit(main())
