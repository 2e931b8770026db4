"""The line-mode REPL loop: a prompt-toolkit ``PromptSession`` over :class:`ReplEngine`.

:class:`LineRepl` reads a block (multi-line, JavaScript-highlighted, completed
by the shared completeness check), hands it to the engine (code or
dot-command) and prints the result. It holds no REPL logic of its own.

While an execution runs, the input is watched in raw mode: Ctrl+C abandons the
wait (the engine marks the cell abandoned; the code may still be running
remotely) and anything else typed is kept and put into the next prompt.

Input and output are the current prompt-toolkit app session's, so tests run it
inside ``create_app_session(input=pipe, output=capture)``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, get_app_session
from prompt_toolkit.keys import Keys
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import ColorDepth, DummyOutput
from prompt_toolkit.utils import is_dumb_terminal
from pygments.lexers.javascript import JavascriptLexer

from repl import __version__
from repl.dotcommands import DotCommandError
from repl.line.history_adapter import SharedHistory
from repl.line.keys import CONTINUATION, PROMPT, build_key_bindings
from repl.line.render import STYLE, Printer
from repl.line.toolbar import toolbar_fragments

if TYPE_CHECKING:
    from repl.engine import CommandResult, ReplEngine

EXIT_HINT = "(To exit, press Ctrl+D or type .exit)"
#: Seconds before the "running" indicator appears (most runs finish sooner).
INDICATOR_DELAY_S = 0.5

_ABANDONED = object()


def _completer(engine: ReplEngine) -> Any:
    """The completion engineer's prompt-toolkit completer, when it has landed."""
    try:
        from repl.line import completer as mod  # type: ignore[attr-defined]
    except ImportError:
        return None
    factory = getattr(mod, "make_completer", None) or getattr(mod, "JsCompleter", None)
    if factory is None:
        return None
    try:
        return factory(engine)
    except Exception:
        return None


class LineRepl:
    def __init__(self, engine: ReplEngine, *, colour: bool = True, notice: str | None = None,
                 banner: bool = True) -> None:
        self.engine = engine
        self.colour = colour
        self.notice = notice
        self.banner = banner
        self.editor_mode = False
        self._history_warned = False
        self.dumb = is_dumb_terminal()
        if self.dumb:
            # PromptSession builds its full-screen Application now, whose renderer
            # resets the cursor with escape codes: build it over a dummy output,
            # then point it at the terminal (only the dumb prompt writes to it).
            real = get_app_session().output
            with create_app_session(input=get_app_session().input, output=DummyOutput()):
                self.session = self._make_session(engine, colour)
            self.session.app.output = real
        else:
            self.session = self._make_session(engine, colour)
        self.printer = Printer(self.session.output, colour=colour)

    def _make_session(self, engine: ReplEngine, colour: bool) -> PromptSession[str]:
        completer = _completer(engine)
        return PromptSession(
            message=[("class:prompt", PROMPT)],
            multiline=True,
            prompt_continuation=lambda width, line_number, wrap_count: [
                ("class:prompt.continuation", CONTINUATION.rjust(width))
            ],
            lexer=PygmentsLexer(JavascriptLexer) if colour else None,
            history=SharedHistory(engine.history),
            key_bindings=build_key_bindings(lambda: self.editor_mode,
                                            dumb_echo=self._dumb_echo if self.dumb else None),
            bottom_toolbar=lambda: toolbar_fragments(self.engine, editor_mode=self.editor_mode,
                                                     width=self._columns()),
            completer=completer,
            # the menu a Tab opened filters as you type (repl.line.completer)
            complete_while_typing=completer.while_typing if completer is not None else False,
            style=STYLE,
            include_default_pygments_style=colour,
            color_depth=None if colour else ColorDepth.DEPTH_1_BIT,
            refresh_interval=1.0,  # the cooldown in the toolbar counts down
            enable_history_search=False,
            enable_open_in_editor=True,  # Ctrl+X Ctrl+E: edit the block in $EDITOR
            tempfile_suffix=".js",
            mouse_support=False,
        )

    def _columns(self) -> int | None:
        try:
            return self.session.output.get_size().columns
        except Exception:  # no size known: the whole toolbar
            return None

    def _dumb_echo(self, text: str) -> None:
        self.session.output.write(text)
        self.session.output.flush()

    # ------------------------------------------------------------------ loop
    async def run(self) -> int:
        """Read, run, print until Ctrl+D or ``.exit``; returns the exit status."""
        if self.notice:
            self.printer.notice(f"line mode: {self.notice}")
        if self.banner:
            first = f"acajs-repl {__version__} · {self.engine.connection.label}"
            hints = ".help for commands · Alt+Enter runs · Ctrl+D exits"
            columns = None if self.dumb else self._columns()  # a dumb terminal or pipe: one line
            if columns is not None and len(first) + 3 + len(hints) > columns:
                self.printer.notice(first)  # two short lines rather than one that wraps
                self.printer.notice(hints)
            else:
                self.printer.notice(f"{first} · {hints}")
        status = asyncio.ensure_future(self._pool_status())
        try:
            return await self._loop()
        finally:
            status.cancel()

    async def _pool_status(self) -> None:
        """Learn the pool's cooldown period (pool-level calls only, never the identifier)."""
        try:
            await self.engine.pool_status()
        except Exception:  # the toolbar keeps the default period
            pass

    async def _loop(self) -> int:
        default = ""
        while True:
            try:
                text = await self.session.prompt_async(default=default)
            except KeyboardInterrupt:
                default = ""
                if not self.session.default_buffer.text.strip():
                    self.printer.notice(EXIT_HINT)
                continue
            except EOFError:
                return 0
            default = ""
            if not text.strip():
                continue
            try:
                done, default = await self.handle(text)
            except Exception as exc:  # nothing a command or run does may end the loop
                self.printer.message(f"Internal error ({type(exc).__name__}): {exc}", "error")
                continue
            if done:
                return 0

    async def handle(self, text: str) -> tuple[bool, str]:
        """Run one submitted input. Returns (exit requested, text for the next prompt)."""
        try:
            cmd = self.engine.parse_command(text)
        except DotCommandError as exc:
            self.printer.message(str(exc), "error")
            return False, ""
        if cmd is None:
            cell = self.engine.prepare(text)
            _, typed = await self.wait(self.engine.execute_cell(cell))
            self.printer.cell(cell)
            problem = self.engine.history_problem
            if problem and not self._history_warned:
                self._history_warned = True
                self.printer.message(problem, "warning")
            return False, typed
        result, typed = await self.wait(self.engine.execute_command(cmd))
        if result is _ABANDONED:
            self.printer.message(f"Stopped waiting for .{cmd.name}; it may still complete on the server.", "warning")
            return False, typed
        return self.apply(result, typed)

    def apply(self, result: CommandResult, typed: str) -> tuple[bool, str]:
        action = result.action
        message = result.message
        if action == "editor":
            self.editor_mode = not self.editor_mode
            message = (
                "Editor mode: Enter inserts a newline, Alt+Enter or Ctrl+J runs. .editor again to leave."
                if self.editor_mode
                else "Editor mode off: Enter runs a complete input."
            )
        if action == "clear":
            if self.dumb:
                message = "(.clear needs a terminal that can clear its screen)"
            else:
                out = self.session.output
                out.erase_screen()
                out.cursor_goto(0, 0)
                out.flush()
        if message:
            self.printer.message(message, result.kind)
        if action == "exit":
            return True, ""
        if action == "load" and isinstance(result.data, str):
            return False, result.data.rstrip("\n")
        return False, typed

    # ------------------------------------------------------------------ waiting
    async def wait(self, awaitable: Any) -> tuple[Any, str]:
        """Await ``awaitable`` while watching the keyboard.

        Returns ``(result, typeahead)``; result is ``_ABANDONED`` when Ctrl+C
        stopped the wait (the task is cancelled: the engine records the cell as
        abandoned).
        """
        task = asyncio.ensure_future(awaitable)
        inp = self.session.input
        abandon = asyncio.Event()
        typed: list[str] = []

        def on_keys() -> None:
            for kp in inp.read_keys():
                if kp.key == Keys.ControlC:
                    abandon.set()
                elif kp.key in (Keys.ControlM, Keys.ControlJ):
                    typed.append("\n")
                elif kp.key == Keys.BracketedPaste:
                    typed.append(kp.data.replace("\r\n", "\n").replace("\r", "\n"))
                elif not isinstance(kp.key, Keys) and kp.data.isprintable():
                    typed.append(kp.data)
            if inp.closed:
                abandon.set()

        t0 = time.monotonic()
        stopper = asyncio.ensure_future(abandon.wait())
        indicator = asyncio.ensure_future(self._indicator(t0))
        try:
            with inp.raw_mode(), inp.attach(on_keys):
                await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            indicator.cancel()
            try:
                await indicator
            except asyncio.CancelledError:
                pass
            if not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        text = "".join(typed).rstrip("\n")
        if task.cancelled():
            return _ABANDONED, text
        return task.result(), text

    async def _indicator(self, t0: float) -> None:
        """``… running 3.2 s · Ctrl+C stops waiting`` on one line, erased afterwards."""
        shown = 0
        try:
            await asyncio.sleep(INDICATOR_DELAY_S)
            if self.dumb:
                self.printer.write_plain("… running (Ctrl+C stops waiting)\n")
                await asyncio.Event().wait()
            while True:
                line = f"\r… running {time.monotonic() - t0:.1f} s · Ctrl+C stops waiting"
                self.printer.write_plain(line)
                shown = len(line)
                await asyncio.sleep(0.2)
        finally:
            if shown:
                self.printer.write_plain("\r" + " " * shown + "\r")
