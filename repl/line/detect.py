"""Decide whether the terminal can host the full-screen (Textual) app.

:func:`should_use_line_mode` returns the reason to fall back to line mode, as a
short phrase for the one dim notice line, or ``None`` when the full-screen app
fits. The CLI calls it before choosing a front end; :func:`repl.line.run_line_mode`
shows the reason once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

#: Below this size the Textual screen (header, transcript, editor, footer) is unusable.
MIN_COLUMNS = 40
MIN_ROWS = 10


def should_use_line_mode(environ: Mapping[str, str], stdout: TextIO | None) -> str | None:
    """The reason the full-screen app cannot run here, or ``None`` when it can.

    Checked, in order: ``TERM=dumb`` (Emacs shell, serial consoles), output that
    is not a terminal, ``TERM`` unset (POSIX only), and a terminal smaller than
    ``MIN_COLUMNS`` x ``MIN_ROWS``.
    """
    term = environ.get("TERM", "")
    if term.lower() in ("dumb", "unknown") or term.lower().startswith("dumb"):
        return f"TERM={term}"
    if stdout is None:
        return "no output stream"
    try:
        isatty = stdout.isatty()
    except (AttributeError, ValueError, OSError):
        isatty = False
    if not isatty:
        return "output is not a terminal"
    if not term and sys.platform != "win32":
        return "TERM is not set"
    try:
        size = os.get_terminal_size(stdout.fileno())
    except (AttributeError, ValueError, OSError):
        return None
    if size.columns and size.lines and (size.columns < MIN_COLUMNS or size.lines < MIN_ROWS):
        return (
            f"the terminal is {size.columns}x{size.lines}, smaller than the "
            f"{MIN_COLUMNS}x{MIN_ROWS} the full-screen app needs"
        )
    return None
