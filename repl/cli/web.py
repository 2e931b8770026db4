"""``acajs-repl web``: the REPL in a browser (see :mod:`repl.web`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from repl.cli.output import EXIT_OK, EXIT_SERVICE, EXIT_USAGE, fail
from repl.web import WEB_EXTRA_HINT, is_loopback

# REPL flags forwarded to each app process as flags: (argparse dest, flag).
# The bearer token is forwarded in the environment instead (ACAJS_TOKEN).
FORWARDED_FLAGS: tuple[tuple[str, str], ...] = (
    ("endpoint", "--endpoint"),
    ("session", "--session"),
    ("api_version", "--api-version"),
    ("pool", "--pool"),
    ("resource_group", "--resource-group"),
    ("subscription", "--subscription"),
    ("config", "--config"),
    ("timeout", "--timeout"),
    ("theme", "--theme"),
    ("keep_alive", "--keep-alive"),
    ("expiry_warning", "--expiry-warning"),
    ("play", "--play"),
    ("play_speed", "--play-speed"),
)
#: switches: dest -> (flag when True, flag when False)
FORWARDED_SWITCHES: tuple[tuple[str, str | None, str | None], ...] = (
    ("replay_on_expiry", "--replay-on-expiry", None),
    ("bell", None, "--no-bell"),
    ("present", "--present", None),
)
WEB_TOKEN_ENV = "ACAJS_WEB_TOKEN"


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser], epilog: str) -> None:
    """Register ``web`` on the main parser's subcommands."""
    p = sub.add_parser(
        "web", help="serve the REPL to a browser (textual-serve)", parents=parents, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the full-screen REPL to a web browser. Each browser tab runs its own REPL\n"
        "with the settings given here. It listens on 127.0.0.1 on a free port and prints the\n"
        "URL to open, which carries an access token.\n"
        "Needs the web extra: pip install 'acajs-repl[web]'. See docs/demos.md.")
    p.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS, help="REPL colour theme")
    from repl.cli.main import _continuity_flags

    _continuity_flags(p)
    g = p.add_argument_group("web server")
    g.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    g.add_argument("--web-token", metavar="T", default=None,
                   help=f"access token for the page (default: ${WEB_TOKEN_ENV} or a random one)")
    g.add_argument("--allow-remote", action="store_true",
                   help="allow listening on a non-loopback address (anyone with the token gets a REPL)")


def forwarded(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """(flags, environment) that give each app process the settings of this command line."""
    argv: list[str] = []
    for dest, flag in FORWARDED_FLAGS:
        value = getattr(args, dest, None)
        if value is not None:
            argv += [flag, str(value)]
    for dest, when_true, when_false in FORWARDED_SWITCHES:
        value = getattr(args, dest, None)
        chosen = when_true if value is True else when_false if value is False else None
        if chosen is not None:
            argv.append(chosen)
    env: dict[str, str] = {}
    token = getattr(args, "token", None)
    if token is not None:
        env["ACAJS_TOKEN"] = token
    return argv, env


def _check(args: argparse.Namespace, web_token: str | None) -> str | None:
    if not 0 <= args.port <= 65535:
        return f"--port {args.port} is out of range (0-65535)"
    if web_token is not None and len(web_token.strip()) < 8:
        return "the web token must have at least 8 characters (it is all that guards the REPL)"
    if not is_loopback(args.host) and not args.allow_remote:
        return (f"--host {args.host} would serve the REPL (which runs code in your sessions) beyond this "
                "machine; pass --allow-remote if that is intended")
    return None


def cmd_web(args: argparse.Namespace) -> int:
    from repl.config import ConfigError, load_settings

    web_token = args.web_token if args.web_token is not None else (os.environ.get(WEB_TOKEN_ENV) or None)
    problem = _check(args, web_token)
    if problem:
        return fail(problem, EXIT_USAGE)
    try:
        load_settings(args)  # a bad config file is reported now, not in every browser tab
    except ConfigError as err:
        return fail(err, EXIT_USAGE)
    try:
        from repl.web.server import WebOptions, WebServer
    except ImportError:
        return fail(WEB_EXTRA_HINT, EXIT_USAGE)

    app_args, app_env = forwarded(args)
    server = WebServer(WebOptions(host=args.host, port=args.port, token=web_token,
                                  allow_remote=args.allow_remote, app_args=app_args, app_env=app_env))
    try:
        server.bind()
    except OSError as err:
        return fail(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}", EXIT_SERVICE)

    def ready(s: WebServer) -> None:
        print(f"acajs-repl web: open {s.url}", flush=True)
        print("Each browser tab runs its own REPL. Ctrl+C stops the server.", flush=True)
        if not is_loopback(args.host):
            print("acajs-repl web: the connection is plain HTTP: use it on a trusted network or behind "
                  "an HTTPS proxy (the token and the REPL travel unencrypted)", file=sys.stderr, flush=True)

    try:
        server.run(ready)
    except KeyboardInterrupt:
        pass
    return EXIT_OK

