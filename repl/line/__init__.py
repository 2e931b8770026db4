"""Line mode: the REPL as a prompt-toolkit line editor (``acajs-repl --plain``).

Chosen with ``--plain``, or automatically when :func:`should_use_line_mode`
gives a reason (``TERM=dumb``, output not a terminal, a tiny terminal); the
reason is shown once in a dim line. Everything the REPL does comes from the
UI-free core (:class:`repl.engine.ReplEngine`); see ``docs/line-mode.md``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Literal, TextIO

from repl.line.detect import should_use_line_mode

if TYPE_CHECKING:
    from repl.config import Settings

__all__ = ["run_line_mode", "should_use_line_mode", "main_async"]


class _Unset(Enum):
    """``reason`` not given (``None`` means: no reason to show)."""

    UNSET = "unset"


_UNSET = _Unset.UNSET


def run_line_mode(settings: Settings, *, reason: str | None | Literal[_Unset.UNSET] = _UNSET) -> int:
    """Run the line-mode REPL until Ctrl+D or ``.exit``; returns the exit status.

    ``reason`` is why line mode was chosen automatically; by default it is
    worked out here (nothing when ``settings.plain`` asked for it).
    """
    if reason is _UNSET:
        reason = None if getattr(settings, "plain", False) else should_use_line_mode(os.environ, sys.stdout)
    if not _isatty(sys.stdout):
        # Output into a pipe or file: prompt-toolkit's dumb prompt writes plain
        # lines (its full renderer would write every repaint as text).
        os.environ["TERM"] = "dumb"
    try:
        return asyncio.run(main_async(settings, reason=reason))
    except KeyboardInterrupt:  # a SIGINT between prompts
        return 130


def _isatty(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


async def main_async(settings: Settings, *, reason: str | None = None,
                     environ: Mapping[str, str] | None = None) -> int:
    from prompt_toolkit.patch_stdout import patch_stdout

    from repl.engine import open_engine
    from repl.line.prompt import LineRepl
    from repl.line.render import Printer, colour_enabled

    env = os.environ if environ is None else environ
    colour = colour_enabled(env)
    with patch_stdout():
        try:
            engine = await open_engine(settings, wait_ready=True, environ=env)
        except Exception as exc:  # config, endpoint resolution, no Node for the local pool
            from prompt_toolkit.application import get_app_session

            printer = Printer(get_app_session().output, colour=colour)
            if reason:
                printer.notice(f"line mode: {reason}")
            printer.message(f"Cannot connect: {exc}", "error")
            return 3  # as the CLI: the service could not be reached
        try:
            repl = LineRepl(engine, colour=colour, notice=reason)
            repl.bell = settings.bell
            if settings.play:
                repl.apply(engine.play(settings.play))
            return await repl.run()
        finally:
            await engine.connection.aclose()
