"""``acajs-repl``: the REPL (no subcommand) and the scriptable subcommands.

Front ends are imported lazily inside their branch, so ``acajs-repl exec``
never imports Textual or prompt-toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from repl import __version__

EXIT_OK = 0
EXIT_CODE_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVICE = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell shows for `yes | head`

EPILOG = """\
exit codes (exec, run, code on stdin and the other subcommands):
  0  success
  1  the code failed (threw, timed out, or the kernel died)
  2  usage or configuration error (bad flag, bad config file)
  3  the service could not be reached or refused the request
     (connection refused, authentication, role missing, pool full,
     no such session or file, 5xx), or answered garbage (HTML, cut or
     deep JSON, the wrong shape, too large, past the deadline);
     for serve: the pool cannot start
  141 the reader of the output went away (| head)

With --json, errors are one JSON object on stdout:
  {"exit_code": N, "error": {"code": "...", "message": "..."}}

With no endpoint configured, every command runs on an embedded local pool that
lives as long as the command. To keep a session across invocations
(--session ID), run `acajs-repl serve` and pass the endpoint and token it
prints (--endpoint/--token or ACAJS_ENDPOINT/ACAJS_TOKEN).

environment: ACAJS_ENDPOINT (or ACA_POOL_MANAGEMENT_ENDPOINT), ACAJS_TOKEN,
ACAJS_SESSION, ACAJS_API_VERSION, ACAJS_POOL, ACAJS_RESOURCE_GROUP,
ACAJS_SUBSCRIPTION, ACAJS_TIMEOUT, ACAJS_THEME, ACAJS_ARM_BASE, ACAJS_CONFIG,
ACAJS_CONFIG_DIR, ACAJS_DATA_DIR.
Precedence: command line > environment > config file > defaults
(see `acajs-repl config`).
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), pointing at ``--help``; with
    ``--json`` anywhere on the line, one JSON object on stdout instead."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            from repl.cli.output import fail, mode

            mode.json = True
            raise SystemExit(fail(f"{message} (see `{self.prog} --help`)", EXIT_USAGE, error="usage"))
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _common(suppress: bool) -> _Parser:
    """Connection and output flags shared by the REPL and every subcommand."""
    p = _Parser(add_help=False)
    d = argparse.SUPPRESS if suppress else None
    g = p.add_argument_group("connection")
    g.add_argument("--endpoint", metavar="URL", default=d,
                   help="pool management endpoint (\"local\": the embedded local pool)")
    g.add_argument("--token", metavar="T", default=d,
                   help="bearer token (default: Azure credentials via azure-identity); prefer ACAJS_TOKEN")
    g.add_argument("--session", metavar="ID", default=d,
                   help="session identifier to reuse (default: a fresh random one)")
    g.add_argument("--api-version", metavar="V", default=d,
                   help="API version; picks the dialect (default: current, falling back to legacy)")
    g.add_argument("--pool", metavar="NAME", default=d, help="session pool name (resolves the endpoint via ARM)")
    g.add_argument("--resource-group", metavar="RG", default=d, help="resource group of --pool")
    g.add_argument("--subscription", metavar="SUB", default=d, help="subscription of --pool")
    g.add_argument("--config", metavar="FILE", default=d, help="config file (TOML)")
    g.add_argument("--timeout", metavar="SECONDS", type=float, default=d,
                   help="execution timeout in seconds (default 60, the service caps it at 220)")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", default=d,
                   help="print the result as one JSON object on stdout; errors too "
                   '({"exit_code", "error": {"code", "message", ...}})')
    o.add_argument("--raw-output", dest="output", action="store_const", const="raw", default=d,
                   help="write remote output byte for byte, even on a terminal (the default when stdout "
                   "is not a terminal)")
    o.add_argument("--safe-output", dest="output", action="store_const", const="safe", default=d,
                   help="sanitise remote output (keep colours, apply \\r and \\b, drop every other "
                   "escape sequence), even into a pipe (the default on a terminal)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="acajs-repl",
        description="A JavaScript REPL on Azure Container Apps dynamic sessions (NodeLTS). "
        "Without a subcommand it starts the interactive REPL; when stdin is not a terminal, "
        "it runs the code read from stdin instead.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(suppress=True)],
    )
    parser.add_argument("--version", action="version", version=f"acajs-repl {__version__}")
    parser.add_argument("--plain", action="store_true", default=None, help="line-mode REPL instead of full screen")
    parser.add_argument("--verbatim", action="store_true",
                        help="with code on stdin: send it byte for byte (no top-level await rewrite)")
    parser.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS, help="REPL colour theme")
    _continuity_flags(parser)
    common = [_common(suppress=True)]
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=common,
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter, **kw)

    verbatim_help = ("send the code byte for byte (default: top-level await is rewritten as in the REPL, "
                     "see docs/top-level-await.md)")
    p = add("exec", "run JavaScript code given as an argument (or on stdin with '-' or no argument)")
    p.add_argument("code", nargs="?", default="-", help="the code; '-' reads stdin")
    p.add_argument("--verbatim", action="store_true", help=verbatim_help)

    p = add("run", "run a JavaScript file")
    p.add_argument("file", help="path of a .js file; '-' reads stdin")
    p.add_argument("--verbatim", action="store_true", help=verbatim_help)

    p = add("files", "list, upload, download and delete files of a session (/mnt/data)")
    fsub = p.add_subparsers(dest="files_command", metavar="ACTION", required=True)
    f = fsub.add_parser("ls", help="list files", parents=common)
    f.add_argument("directory", nargs="?", default=None, help="directory under /mnt/data")
    f.add_argument("-r", "--recursive", action="store_true")
    f = fsub.add_parser("put", help="upload a local file", parents=common)
    f.add_argument("local", help="local file to upload")
    f.add_argument("--name", default=None, help="name to store it under (default: the local file name)")
    f.add_argument("--dir", dest="directory", default=None, help="directory under /mnt/data")
    f = fsub.add_parser("get", help="download a file", parents=common)
    f.add_argument("name", help="file name (path under /mnt/data)")
    f.add_argument("dest", nargs="?", default=None, help="local destination ('-': stdout; default: ./NAME)")
    f.add_argument("-f", "--force", action="store_true", help="overwrite an existing local file")
    f = fsub.add_parser("rm", help="delete files", parents=common)
    f.add_argument("names", nargs="+", metavar="name")

    p = add("session", "show or delete the session named by --session")
    ssub = p.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    ssub.add_parser("show", help="show the session and its time left", parents=common)
    ssub.add_parser("delete", help="delete the session, its state and files", parents=common)

    p = add("pool", "status of the session pool (parts that cannot be read are listed as unknown)")
    p.add_argument("--sessions", action="store_true", help="also list the pool's sessions")

    from repl.cli.web import add_parser as add_web_parser

    add_web_parser(sub, common, EPILOG)

    p = sub.add_parser("serve", help="run a local session pool in the foreground",
                       description="Run the local session pool in the foreground and print its endpoint "
                       "and token. Other acajs-repl invocations reach it with --endpoint/--token.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    p.add_argument("--token", default=None,
                   help="bearer token clients must send (visible in ps: prefer --token-file or $ACAJS_SERVE_TOKEN)")
    p.add_argument("--token-file", default=None, metavar="PATH", help="read the bearer token from this file")
    p.add_argument("--tls", choices=["self-signed"], default=None,
                   help="serve HTTPS with a self-signed certificate kept in the data directory")
    p.add_argument("--tls-cert", default=None, metavar="PEM", help="serve HTTPS with this certificate (chain)")
    p.add_argument("--tls-key", default=None, metavar="PEM", help="private key of --tls-cert (if not in it)")
    p.add_argument("--max-sessions", type=int, default=None)
    p.add_argument("--ready", type=int, default=None, help="kernels started ahead of time")
    p.add_argument("--cooldown", type=int, default=None, help="seconds of idleness before a session ends")
    p.add_argument("--timeout-cap", type=int, default=None, help="maximum execution time in seconds")
    p.add_argument("--memory-mb", type=int, default=None, help="memory limit of each kernel")
    p.add_argument("--egress", choices=["enabled", "disabled"], default=None)
    p.add_argument("--data-dir", default=None, help="where session directories live (default: a temp dir)")
    p.add_argument("--sandbox", choices=["on", "off"], default=None,
                   help="protect the host from session code (off: no protection at all)")
    p.add_argument("--os-sandbox", choices=["on", "off"], default=None,
                   help="bubblewrap namespaces where available (off: Node's permission model only)")
    p.add_argument("--output-cap", type=int, default=None,
                   help="characters kept per stream and for the value of an execution (default 1048576)")
    p.add_argument("--idle-cpu-seconds", type=float, default=None,
                   help="CPU burst an idle kernel may use before it is stopped (default 10)")
    p.add_argument("--allow-remote", action="store_true", help="allow binding to a non-loopback host")
    p.add_argument("--json", action="store_true", default=None,
                   help="print the endpoint, token and limits as one JSON object (errors too)")

    add("config", "print the effective settings and where each came from (never the token)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from repl.cli.output import configure

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_errors = "--json" in argv[:argv.index("--")] if "--" in argv else "--json" in argv
    try:
        args = parser.parse_args(argv)  # inside: `acajs-repl --help | head -1` closes the pipe too
        configure(args)
        return _dispatch(parser, args)
    except KeyboardInterrupt:
        from repl.cli.output import fail

        return fail("interrupted", 130, error="interrupted")
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do on SIGPIPE.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from repl.cli.output import fail

    command = args.command
    if command == "serve":
        from repl.cli.serve import cmd_serve

        return cmd_serve(args)
    if command == "web":
        from repl.cli.web import cmd_web

        return cmd_web(args)

    from repl.config import ConfigError, load_settings

    try:
        settings = load_settings(args)
    except ConfigError as err:
        return fail(err, EXIT_USAGE)

    if command is None:
        if not sys.stdin.isatty():
            from repl.cli.exec import cmd_exec_code, read_stdin

            code = read_stdin()
            if code is None:
                return EXIT_USAGE
            if not code.strip():
                from repl.cli.output import fail

                return fail("no code on stdin (stdin is not a terminal, so acajs-repl runs the code it "
                            "reads from it; start it from a terminal for the REPL)", EXIT_USAGE)
            return cmd_exec_code(settings, code, as_json=bool(getattr(args, "json", False)),
                                 verbatim=bool(getattr(args, "verbatim", False)))
        return _run_repl(settings)
    if command == "config":
        from repl.cli.config_cmd import cmd_config

        return cmd_config(settings, as_json=bool(getattr(args, "json", False)))
    if command in ("exec", "run"):
        from repl.cli.exec import cmd_exec, cmd_run

        return cmd_exec(settings, args) if command == "exec" else cmd_run(settings, args)
    if command == "files":
        from repl.cli.files import cmd_files

        return cmd_files(settings, args)
    if command == "session":
        from repl.cli.session import cmd_session

        return cmd_session(settings, args)
    if command == "pool":
        from repl.cli.pool import cmd_pool

        return cmd_pool(settings, args)
    parser.error(f"unknown command {command!r}")


def _run_repl(settings: Any) -> int:
    reason = None
    if not settings.plain:
        from repl.line.detect import should_use_line_mode

        reason = should_use_line_mode(os.environ, sys.stdout)
        if reason is None:
            from repl.tui.app import run_app

            return run_app(settings)
    from repl.line import run_line_mode

    return run_line_mode(settings, reason=reason)



def _continuity_flags(parser: argparse.ArgumentParser) -> None:
    """The REPL's session-continuity flags (docs/repl.md, "When the session expires")."""
    parser.add_argument("--keep-alive", metavar="MINUTES", nargs="?", type=float, const=60.0, default=None,
                        help="keep the session from expiring while the REPL is open, until you have been idle "
                             "MINUTES (default 60); off by default: a session is billed while allocated")
    parser.add_argument("--replay-on-expiry", action="store_true", default=None,
                        help="when the session has expired, rebuild it (re-run what succeeded) before the next run")
    parser.add_argument("--expiry-warning", metavar="SECONDS", type=float, default=None,
                        help="warn this long before the session expires (default 60)")
    parser.add_argument("--no-bell", dest="bell", action="store_false", default=None,
                        help="no terminal bell with the expiry warnings")
    demo = parser.add_argument_group("live demos (docs/demos.md)")
    demo.add_argument("--present", action="store_true", default=None,
                      help="presenter mode: subscription, resource group, endpoint host and session hidden on screen")
    demo.add_argument("--play", metavar="FILE", default=None,
                      help="start a play: FILE's steps (// %%%% markers or blank lines) come into the input one by one")
    demo.add_argument("--play-speed", metavar="CHARS", type=float, default=None,
                      help="type each step out at CHARS characters per second (default: at once)")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

