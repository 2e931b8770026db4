"""The child process that textual-serve starts for each browser tab.

``python -m repl.web.app_process [REPL flags]`` runs the full-screen Textual
app with the given flags, whatever stdin is: under textual-serve stdin is the
web driver's pipe, which ``acajs-repl`` without a subcommand would read as code
to run. Settings load as for ``acajs-repl`` (flags > environment > config file),
so the server forwards secrets (the bearer token) in the environment, never on
the command line (visible in ``ps``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from repl.cli.main import build_parser
    from repl.cli.output import EXIT_USAGE, fail
    from repl.config import ConfigError, load_settings

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        settings = load_settings(args)
    except ConfigError as err:
        return fail(err, EXIT_USAGE)
    from repl.tui.app import run_app

    return run_app(settings)


if __name__ == "__main__":  # pragma: no cover - run by textual-serve
    raise SystemExit(main())
