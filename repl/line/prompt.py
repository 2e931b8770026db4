"""The line-mode REPL loop: a prompt-toolkit ``PromptSession`` over :class:`ReplEngine`.

:class:`LineRepl` reads a block (multi-line, JavaScript-highlighted, completed
by the shared completeness check), hands it to the engine (code or
dot-command) and prints the result. It holds no REPL logic of its own.

While an execution runs, the input is watched in raw mode (type-ahead, as in
the Node REPL and IPython): each input completed with Enter is queued and
runs after the current one, echoed after the prompt as if typed there; what is
left unfinished goes into the next prompt. Ctrl+C abandons the wait (the
engine marks the cell abandoned; the code may still be running remotely) and
asks whether to drop the queued inputs; Ctrl+D twice exits.

Input and output are the current prompt-toolkit app session's, so tests run it
inside ``create_app_session(input=pipe, output=capture)``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, get_app_session, run_in_terminal
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.keys import Keys
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import ColorDepth, DummyOutput
from prompt_toolkit.utils import is_dumb_terminal
from pygments.lexers.javascript import JavascriptLexer

from repl import __version__
from repl.dotcommands import DotCommandError
from repl.input_rules import split_typeahead
from repl.line.completer import JsCompleter
from repl.line.history_adapter import SharedHistory
from repl.line.keys import CONTINUATION, PROMPT, build_key_bindings
from repl.line.render import STYLE, Printer
from repl.line.toolbar import toolbar_fragments
from repl.vocabulary import EXIT_HINT

if TYPE_CHECKING:
    from repl.dotcommands import CommandResult
    from repl.engine import ReplEngine
    from repl.transcript import Cell

#: Seconds before the "running" indicator appears (most runs finish sooner).
INDICATOR_DELAY_S = 0.5

_ABANDONED = object()


class LineRepl:
    def __init__(self, engine: ReplEngine, *, colour: bool = True, notice: str | None = None,
                 banner: bool = True) -> None:
        self.engine = engine
        self.colour = colour
        self.notice = notice
        self.banner = banner
        self._history_warned = False
        self._queue: deque[str] = deque()  # inputs typed ahead, run in order
        self._typed = ""  # typed ahead after the last Enter: the next prompt's text
        self._exit_requested = False
        self._replays: deque[Cell] = deque()  # .replay cells still to run
        self.bell = True
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
        self.printer.redact = engine.show  # presenter mode: no identifier in the scrollback

    def _make_session(self, engine: ReplEngine, colour: bool) -> PromptSession[str]:
        completer = JsCompleter(engine)
        return PromptSession(
            message=[("class:prompt", PROMPT)],
            multiline=True,
            prompt_continuation=lambda width, line_number, wrap_count: [
                ("class:prompt.continuation", CONTINUATION.rjust(width))
            ],
            lexer=PygmentsLexer(JavascriptLexer) if colour else None,
            history=SharedHistory(engine.history),
            key_bindings=build_key_bindings(lambda: self.engine.editor_mode,
                                            dumb_echo=self._dumb_echo if self.dumb else None),
            bottom_toolbar=self._toolbar,
            completer=completer,
            # the menu a Tab opened filters as you type (repl.line.completer)
            complete_while_typing=completer.while_typing,
            style=STYLE,
            include_default_pygments_style=colour,
            color_depth=None if colour else ColorDepth.DEPTH_1_BIT,
            refresh_interval=1.0,  # the cooldown in the toolbar counts down
            enable_history_search=False,
            enable_open_in_editor=True,  # Ctrl+X Ctrl+E: edit the block in $EDITOR
            tempfile_suffix=".js",
            mouse_support=False,
        )

    def _toolbar(self) -> FormattedText:
        engine = self.engine
        frags = toolbar_fragments(engine, editor_mode=engine.editor_mode, width=self._columns())
        return FormattedText([(style, engine.show(text)) for style, text in frags])

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
        watcher = asyncio.ensure_future(self._watch_session())
        try:
            return await self._loop()
        finally:
            status.cancel()
            watcher.cancel()

    async def _watch_session(self) -> None:
        """Once a second: the expiry alarm (a line in the scrollback, with the
        clock time, and the bell) and keep-alive."""
        engine = self.engine
        while True:
            await asyncio.sleep(1.0)
            alarm = engine.alarm.check()
            if alarm is not None:
                kind = "warning" if alarm.kind == "warning" else "error"
                await self._say(alarm.text, kind, bell=self.bell)
            try:
                await engine.keep_alive_tick()
            except Exception:  # keep-alive is best effort: the next tick tries again
                pass

    async def _say(self, text: str, kind: str, *, bell: bool = False) -> None:
        """A line in the scrollback above the prompt, whether or not a prompt
        is being edited."""
        def write() -> None:
            if bell:
                self.printer.write_plain("\a")
            self.printer.message(text, kind)

        app = self.session.app
        if app.is_running:
            await run_in_terminal(write)
        else:
            write()

    async def _pool_status(self) -> None:
        """Learn the pool's cooldown period (pool-level calls only, never the identifier)."""
        try:
            await self.engine.pool_status()
        except Exception:  # the toolbar keeps the default period
            pass

    async def _loop(self) -> int:
        while True:
            if self._replays:
                cell = self._replays.popleft()
                self.printer.echo_input(PROMPT, CONTINUATION, cell.code)
                await self._run_cell(cell)
                continue
            if self._queue:
                text = self._queue.popleft()
                self.printer.echo_input(PROMPT, CONTINUATION, text)
            else:
                default, self._typed = self._typed, ""
                try:
                    text = await self.session.prompt_async(default=default)
                except KeyboardInterrupt:
                    if not self.session.default_buffer.text.strip():
                        self.printer.notice(EXIT_HINT)
                    continue
                except EOFError:
                    return 0
            if not text.strip():
                continue
            try:
                done = await self.handle(text)
            except Exception as exc:  # nothing a command or run does may end the loop
                self.printer.message(f"Internal error ({type(exc).__name__}): {exc}", "error")
                continue
            if done or self._exit_requested:
                return 0

    async def handle(self, text: str) -> bool:
        """Run one submitted input. Returns True when the REPL should exit."""
        try:
            cmd = self.engine.parse_command(text)
        except DotCommandError as exc:
            self.printer.message(str(exc), "error")
            return False
        if cmd is None:
            await self._run_cell(self.engine.prepare(text))
            return False
        question = self.engine.confirmation(cmd)
        if question is not None and not await self.confirm(question):
            self.printer.message(f".{cmd.name}: not done.", "info")
            return False
        result = await self.wait(self.engine.execute_command(cmd))
        if result is _ABANDONED:
            self.printer.message(f"Stopped waiting for .{cmd.name}; it may still complete on the server.", "warning")
            await self._ask_drop_queue()
            return False
        return self.apply(result)

    async def _run_cell(self, cell: Cell) -> None:
        result = await self.wait(self.engine.execute_cell(cell), cell=cell)
        player = self.engine.player
        if cell.play_step and player is not None and cell.ok and not self._typed:
            # In line mode the next step comes into the prompt by itself.
            nxt = self.engine.play_control("next")
            if nxt.message:
                self.printer.notice(nxt.message)
            if isinstance(nxt.data, str):
                self._typed = nxt.data.rstrip("\n")
        if cell.notice:  # said first: the session was lost, a replay stopped here
            self.printer.message(cell.notice, "warning")
        self.printer.cell(cell)
        problem = self.engine.history_problem
        if problem and not self._history_warned:
            self._history_warned = True
            self.printer.message(problem, "warning")
        if result is _ABANDONED:
            self._replays.clear()
            await self._ask_drop_queue()

    async def confirm(self, question: str) -> bool:
        """A yes/no question on its own line (no history, Enter means no)."""
        if self.session.input.closed:
            return False
        asker: PromptSession[str] = PromptSession(
            input=self.session.input, output=self.session.output, mouse_support=False
        )
        try:
            answer = await asker.prompt_async(f"{question} [y/N] ")
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    async def _ask_drop_queue(self) -> None:
        n = len(self._queue)
        if n and await self.confirm(f"Also drop the {n} input{'s' if n != 1 else ''} queued behind it?"):
            dropped = list(self._queue)
            self._queue.clear()
            for text in dropped:
                self.engine.record_dropped(text)
            self.printer.message(f"Dropped {n} queued input{'s' if n != 1 else ''} (kept in the history).", "info")

    def apply(self, result: CommandResult) -> bool:
        """Carry out a command's result on this front end; True to exit."""
        action = result.action
        message = result.message
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
            return True
        if action == "play" and isinstance(result.data, str):
            # The step goes into the next prompt (Enter runs it; .play next / back / skip steer).
            self._typed = result.data.rstrip("\n")
        if action == "replay" and isinstance(result.data, list):
            self._replays.extend(result.data)
        if action == "load" and isinstance(result.data, str):
            # The file goes into the next prompt, before anything typed ahead.
            loaded = result.data.rstrip("\n")
            self._typed = loaded + ("\n" + self._typed if self._typed else "")
        return False

    # ------------------------------------------------------------------ waiting
    async def wait(self, awaitable: Any, *, cell: Cell | None = None) -> Any:
        """Await ``awaitable`` while watching the keyboard.

        Keys typed meanwhile are type-ahead: each input completed with Enter
        joins the queue (and says so), the rest is kept for the next prompt.
        Returns the result, or ``_ABANDONED`` when Ctrl+C stopped the wait (the
        task is cancelled: the engine records the cell as abandoned).
        """
        task = asyncio.ensure_future(awaitable)
        inp = self.session.input
        abandon = asyncio.Event()
        pending = [self._typed]
        self._typed = ""
        eof_presses = 0

        def take_complete_inputs() -> None:
            inputs, rest = split_typeahead("".join(pending), editor_mode=self.engine.editor_mode)
            pending[:] = [rest]
            for text in inputs:
                self._queue.append(text)
                lines = text.strip().split("\n")
                more = " …" if len(lines) > 1 else ""
                self.printer.status_note(f"queued: {lines[0]}{more}")

        def on_keys() -> None:
            nonlocal eof_presses
            for kp in inp.read_keys():
                if kp.key == Keys.ControlC:
                    abandon.set()
                elif kp.key == Keys.ControlD and not "".join(pending):
                    eof_presses += 1
                    if eof_presses == 1:
                        self.printer.status_note("Ctrl+D again exits now (the run is abandoned)")
                    else:
                        self._exit_requested = True
                        abandon.set()
                elif kp.key in (Keys.ControlM, Keys.ControlJ):
                    pending.append("\n")
                    take_complete_inputs()
                elif kp.key == Keys.BracketedPaste:
                    pending.append(kp.data.replace("\r\n", "\n").replace("\r", "\n"))
                    take_complete_inputs()
                elif kp.key == Keys.Backspace or kp.key == Keys.ControlH:
                    text = "".join(pending)
                    pending[:] = [text[:-1]]
                elif not isinstance(kp.key, Keys) and kp.data.isprintable():
                    pending.append(kp.data)
            if inp.closed:
                abandon.set()

        t0 = time.monotonic()
        stopper = asyncio.ensure_future(abandon.wait())
        indicator = asyncio.ensure_future(self._indicator(t0, cell))
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
        self._typed = "".join(pending)
        if task.cancelled():
            return _ABANDONED
        return task.result()

    async def _indicator(self, t0: float, cell: Cell | None = None) -> None:
        """``… running 3.2 s · Ctrl+C stops waiting`` on one line, erased
        afterwards; behind an abandoned run, what it waits for."""
        shown = 0
        try:
            await asyncio.sleep(INDICATOR_DELAY_S)
            if self.dumb:
                self.printer.write_plain("… running (Ctrl+C stops waiting)\n")
                await asyncio.Event().wait()
            while True:
                behind = cell.waiting_behind if cell is not None else None
                what = f"waiting for In [{behind}], still running on the server" if behind else "running"
                line = f"\r… {what} {time.monotonic() - t0:.1f} s · Ctrl+C stops waiting"
                self.printer.write_plain(line)
                shown = len(line)
                await asyncio.sleep(0.2)
        finally:
            if shown:
                self.printer.write_plain("\r" + " " * shown + "\r")
