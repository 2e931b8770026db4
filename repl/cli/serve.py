"""``acajs-repl serve``: the local session pool in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from repl.local.settings import PoolSettings

from repl.cli.output import EXIT_OK, EXIT_SERVICE, EXIT_USAGE, fail, guarded


def pool_settings_from_args(args: argparse.Namespace) -> PoolSettings:
    from repl.local.settings import PoolSettings

    kw: dict[str, Any] = {"host": args.host, "port": args.port, "allow_remote": bool(args.allow_remote)}
    if args.token is not None:
        kw["token"] = args.token
    for name in ("max_sessions", "ready", "cooldown", "timeout_cap", "memory_mb", "egress"):
        value = getattr(args, name)
        if value is not None:
            kw[name] = value
    if args.data_dir is not None:
        kw["data_dir"] = Path(args.data_dir).expanduser()
    if args.sandbox is not None:
        kw["sandbox"] = args.sandbox == "on"
    if getattr(args, "os_sandbox", None) is not None:
        kw["os_sandbox"] = args.os_sandbox == "on"
    for name in ("output_cap", "idle_cpu_seconds"):
        if getattr(args, name, None) is not None:
            kw[name] = getattr(args, name)
    return PoolSettings(**kw)


def _check(args: argparse.Namespace) -> str | None:
    if not 0 <= args.port <= 65535:
        return f"--port {args.port} is out of range (0-65535)"
    for name, low in (("max_sessions", 1), ("ready", 0), ("cooldown", 1), ("timeout_cap", 1), ("memory_mb", 16),
                      ("output_cap", 1), ("idle_cpu_seconds", 0.1)):
        value = getattr(args, name, None)
        if value is not None and value < low:
            return f"--{name.replace('_', '-')} must be at least {low}, got {value}"
    if args.data_dir is not None:
        data_dir = Path(args.data_dir).expanduser()
        if data_dir.exists() and not data_dir.is_dir():
            return f"--data-dir {args.data_dir} is not a directory"
    if args.token is not None and not args.token.strip():
        return "--token must not be empty"
    loopback = args.host in ("127.0.0.1", "localhost", "::1") or args.host.startswith("127.")
    if not loopback and not args.allow_remote:
        return (
            f"--host {args.host} would expose the pool (it runs arbitrary code) beyond this machine; "
            "pass --allow-remote if that is intended"
        )
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        return fail(problem, EXIT_USAGE)

    def go() -> int:
        from repl.local.embedded import serve

        result = serve(pool_settings_from_args(args))  # prints why it could not start
        # 1 there means the pool could not start (address in use, no Node.js):
        # exit 3, like every command whose pool cannot be reached, not 1 ("the code failed").
        return EXIT_SERVICE if result else EXIT_OK

    try:
        return guarded(go)
    except KeyboardInterrupt:
        return 0
