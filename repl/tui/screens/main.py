"""The main screen: header, transcript, input editor, side panel, footer.

The screen owns the state (engine, running execution, history cursor). Network
calls run in workers that only post messages; the handlers here update the
widgets. No exception from the network, auth or the pool reaches Textual: it
becomes a cell's error text or a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from repl.dotcommands import CommandResult, CommandSpec, DotCommand, DotCommandError, lookup, parse
from repl.history import History, HistoryCursor
from repl.paths import history_file
from repl.tui.messages import (
    CommandDone,
    Connected,
    ConnectFailed,
    PoolStatusUpdated,
    RunCrashed,
    RunFinished,
    RunStarted,
)
from repl.tui.widgets.cell import CellView, highlighter, new_record, start_record
from repl.tui.widgets.cell_render import CellRecord
from repl.tui.widgets.confirm_screen import ConfirmScreen
from repl.tui.widgets.countdown import Countdown
from repl.tui.widgets.editor import InputEditor, prepare_highlighting
from repl.tui.widgets.footer import KeyHints
from repl.tui.widgets.side_panel import SidePanel
from repl.tui.widgets.transcript import TranscriptView
from repl.vocabulary import EXIT_HINT

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rich.table import Table

    from repl.config import Settings
    from repl.engine import ReplEngine
    from repl.transcript import Cell
    from repl.tui.completer import CompletionController

POOL_POLL_S = 15.0
RUNNING_CELL_DELAY = 0.05  # s: a run still going after this shows as a running cell
GC_THRESHOLD_0 = 20_000  # allocations between young collections (Python's default: 700)
DEFAULT_KEEP_ALIVE_MINUTES = 60.0
EXTRAS_AT_LATEST_S = 2.0  # s: the side panel and preloads wait at most this for a first run's paint
SIDE_PANEL_FROM = 120  # columns: the side panel is shown at start from this width
NARROW_BELOW = 100  # columns: a narrower side panel below this width


class ReplScreen(Screen[None]):
    HELP = """\
## acajs-repl

Type JavaScript at the bottom and press Enter. Each run becomes a cell in the
transcript. **Ctrl+P** opens the command palette, **F1** shows help for the
focused area, **Ctrl+B** toggles the side panel, **Escape** stops waiting for a
running execution.
"""

    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+b", "toggle_side_panel", "Panel", id="app.side_panel"),
        Binding("ctrl+r", "history_search", "Search history", id="app.history_search"),
        Binding("f2", "history", "History", id="app.history"),
        Binding("f3", "pick_theme", "Theme", show=False, id="app.theme"),
        Binding("ctrl+l", "clear", "Clear", show=False, id="app.clear"),
        Binding("escape", "cancel", "Stop waiting", id="app.cancel", priority=True),
        Binding("ctrl+c", "interrupt", "Clear / stop", show=False, id="app.interrupt", priority=True),
        Binding("pagedown", "play('next')", "Next step", id="play.next", priority=True),
        Binding("pageup", "play('back')", "Previous step", id="play.back", priority=True),
        Binding("ctrl+t", "focus_transcript", "Cells", show=False, id="app.focus_cells"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: Callable[[Settings], Awaitable[ReplEngine]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.engine: ReplEngine | None = None
        # The screen's parts, made once and kept: a `query_one` per use (a few
        # per run) filled Textual's query cache, whose key changes with every
        # cell the transcript mounts (~2k objects at 1,000 cells).
        self._transcript = TranscriptView(id="transcript")
        self._mode_line = Static(id="mode-line")
        self._editor = InputEditor(id="editor")
        self._panel = SidePanel(id="side-panel")
        self._engine_factory = engine_factory
        self._clock = clock
        # Runs in flight, in submission order: the first is running, the rest
        # are queued behind it (type-ahead).
        self._runs: dict[str, Worker[None]] = {}
        self._history_cursor: HistoryCursor | None = None
        self._connect_error: str | None = None
        self._history_problem_shown = False
        self._completion: CompletionController | None = None
        #: runs not on screen yet (their views are made when shown, see _start_cell), in order
        self._unshown: dict[str, CellRecord] = {}
        self._mode_line_text: str | None = None  # what the mode line shows (None: not set yet)
        self._started = False  # _start_extras has run

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header(icon="⬢")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield self._transcript
                yield self._mode_line
                yield self._editor
            yield self._panel
        yield KeyHints(id='footer')

    def on_mount(self) -> None:
        self.app.sub_title = "connecting…"
        panel = self.panel
        # The panel is drawn once the header names the session (or says why
        # not): it is not needed to start typing, and laying it out would hold
        # up the first paint and then the connection (they share the GIL).
        panel.display = False
        panel.set_class(self.app.size.width < NARROW_BELOW, "-narrow")
        self._update_mode_line()
        # Focused now, not on the next turn of the loop (Widget.focus), so the
        # first frame's key hints are the editor's ("Run"...): no second frame
        # just for them.
        self.set_focus(self.editor)
        self.query_one(KeyHints).show_hints()
        self._hide_toast_rack()
        # The connection starts now, not after the first frame: its imports run
        # in a thread, which takes the GIL whenever the event loop waits (for
        # the terminal, or for the next frame's slot) instead of leaving those
        # waits idle.
        self.connect()

    def _hide_toast_rack(self) -> None:
        # Textual hides its (empty) notification rack right after the first
        # frame by an inline style, which lays the whole screen out again
        # (~20 ms, before the connection starts). The same style set now is
        # part of the first layout, and that later one is then no change.
        with contextlib.suppress(NoMatches):
            self.get_child_by_id("textual-toastrack").display = False

    def _after_connect_painted(self) -> None:
        """What waits for the connection's outcome to be on screen: the side
        panel (at start, when there is room), the editor's highlighting and the
        preloads. A run sent before that paint goes first: they wait for its
        cell's paint (the pool's first kernel is still starting, and they
        would share the GIL with it), or ``EXTRAS_AT_LATEST_S``."""
        if self._started:
            return
        if self._runs:
            self.set_timer(EXTRAS_AT_LATEST_S, self._start_extras)
            return
        self._start_extras()

    def _start_extras(self) -> None:
        if self._started:
            return
        self._started = True
        if self.app.size.width >= SIDE_PANEL_FROM:
            self.panel.display = True
            self._show_compact_countdown()
        # In a thread, so a first run sent now is not held up: the highlighting's
        # preparation, then (on the loop) switching it on, then the rest. After
        # the connection, not before: they would hold it up (the GIL is shared).
        editor = self.editor
        app = self.app

        def preload() -> None:
            prepare_highlighting()
            app.call_from_thread(editor.enable_highlighting)
            _preload_after_connect()

        self.run_worker(preload, thread=True, group="preload", exit_on_error=False)

    def on_resize(self, event: events.Resize) -> None:
        self.panel.set_class(event.size.width < NARROW_BELOW, "-narrow")

    @property
    def editor(self) -> InputEditor:
        return self._editor

    @property
    def transcript(self) -> TranscriptView:
        return self._transcript

    @property
    def panel(self) -> SidePanel:
        return self._panel

    @property
    def countdown(self) -> Countdown:
        return self._panel.countdown

    def cell_views(self) -> list[CellView]:
        return self.transcript.cells()

    # ---------------------------------------------------------------- connect
    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        try:
            # Import the network stack in a thread so the first frames are not
            # held up by ~0.2 s of imports on the event loop.
            await asyncio.to_thread(_preload_core)
            from repl.engine import open_engine

            if self._engine_factory is not None:
                engine = await self._engine_factory(self.settings)
            else:
                engine = await open_engine(self.settings, clock=self._clock)
        except Exception as exc:  # config, network, auth, Node missing: a message, not a crash
            self.post_message(ConnectFailed(_explain(exc)))
            return
        self.post_message(Connected(engine))

    def on_connected(self, message: Connected) -> None:
        # The header shows the session first; the side panel, the editor's
        # highlighting and the collection (~35 ms here) wait until it is painted.
        self.call_after_refresh(self._after_connect_painted)
        self.call_after_refresh(self._freeze_what_lives_on)
        self.engine = message.engine
        self.engine.defer_follow_ups = True  # started by _after_run_painted
        self._connect_error = None
        self._show_session()
        self.countdown.attach(self.engine.cooldown)
        if self.settings.play:
            self.run_dot_command(DotCommand("play", (self.settings.play,), lookup("play")))
        self.call_after_refresh(self.poll_pool_status)  # a request: after the header's paint too
        self.set_interval(POOL_POLL_S, self.poll_pool_status)
        self.set_interval(0.5, self._watch_session)

    @staticmethod
    def _freeze_what_lives_on() -> None:
        # Everything made so far (Textual, the client, the pool's thread) lives as
        # long as the app: out of the cyclic collector's sight, and collections
        # rarer, so a long transcript does not bring long pauses (bench/perf_table.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD_0, 20, 50)

    # ---------------------------------------------------------------- session continuity
    def _watch_session(self) -> None:
        """Twice a second: the expiry alarm (a notification with the clock
        time, and the bell) and keep-alive."""
        engine = self.engine
        if engine is None:
            return
        alarm = engine.alarm.check()
        if alarm is not None:
            self.notify(
                alarm.text,
                title="Session expiring" if alarm.kind == "warning" else "Session expired",
                severity="warning" if alarm.kind == "warning" else "error",
                timeout=15,
            )
            if self.settings.bell:
                self.app.bell()
        if engine.keep_alive is not None and not engine.busy:
            self.keep_alive_worker()

    @work(exclusive=True, group="keep-alive")
    async def keep_alive_worker(self) -> None:
        engine = self.engine
        if engine is not None:
            await engine.keep_alive_tick()

    def action_toggle_keep_alive(self) -> None:
        """Palette: keep the session alive while the REPL is open (or stop)."""
        engine = self.engine
        if engine is None:
            return
        if engine.keep_alive is None:
            minutes = self.settings.keep_alive or DEFAULT_KEEP_ALIVE_MINUTES
            engine.set_keep_alive(minutes)
            self.notify(
                f"Keep-alive on: the session is kept until you have been idle {minutes:g} min "
                "(on Azure a session is billed while it is allocated)."
            )
        else:
            engine.set_keep_alive(None)
            self.notify("Keep-alive off: the session expires after the pool's cooldown.")

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self._connect_error = message.error
        self.app.sub_title = "not connected"
        self.transcript.add_note(
            Text.assemble(("Not connected. ", "bold"), message.error, "\nFix the settings and restart acajs-repl."),
            classes="note -error",
        )
        self.panel.show_connection("not connected", None)
        self.notify(message.error, title="Not connected", severity="error", timeout=10)
        self.call_after_refresh(self._after_connect_painted)

    def _show_session(self) -> None:
        engine = self.engine
        if engine is None:
            return
        conn = engine.connection
        self.app.sub_title = engine.show(f"{conn.label} · session {engine.identifier}")
        self.panel.show_connection(conn.endpoint, engine.identifier)
        self.set_class(engine.presenter.enabled and engine.presenter.roomy, "-present")

    def action_toggle_presenter(self) -> None:
        """Palette: presenter mode on/off; everything on screen is drawn again."""
        engine = self.engine
        if engine is None:
            return
        engine.set_presenting(not engine.presenter.enabled)
        self._show_session()
        panel = self.panel
        panel.show_pool(engine.last_pool_status)
        self.transcript.rerender()
        state = "on: identifiers are hidden on screen" if engine.presenter.enabled else "off"
        self.notify(f"Presenter mode {state}.")

    # ---------------------------------------------------------------- pool status
    @work(exclusive=True, group="pool")
    async def poll_pool_status(self) -> None:
        engine = self.engine
        if engine is None:
            return
        try:
            status = await engine.pool_status()
        except Exception as exc:
            self.post_message(PoolStatusUpdated(None, _explain(exc)))
            return
        self.post_message(PoolStatusUpdated(status))

    def on_pool_status_updated(self, message: PoolStatusUpdated) -> None:
        self.panel.show_pool(message.status, message.error)
        self.countdown.tick()

    # ---------------------------------------------------------------- input
    @on(InputEditor.Submitted)
    def on_submitted(self, message: InputEditor.Submitted) -> None:
        self.submit(message.text)

    def submit(self, text: str) -> None:
        """An input from the editor (already taken out of it): a dot-command,
        or code that runs now or, typed ahead, after the runs before it."""
        try:
            command = parse(text)
        except DotCommandError as exc:
            self.transcript.add_note(Text(str(exc)), classes="note -error")
            return
        self._history_cursor = None
        if command is not None:
            self.run_dot_command(command)
            return
        if self.engine is None:
            self._give_back(text)
            why = self._connect_error or "still connecting"
            self.notify(f"Not connected ({why}); your input is back in the editor.", severity="warning")
            return
        self._start_cell(self.engine.prepare(text))

    def _start_cell(self, cell: Cell) -> None:
        """Run ``cell`` (now, or queued behind the runs before it) and show it.

        The request goes first: nothing on screen changes between Enter and the
        request being written (a layout of the screen costs more than a quick
        run on the local pool, and shares its event loop). The cell appears
        when the run is still going after ``RUNNING_CELL_DELAY``, or with its
        result when that comes sooner."""
        engine = self.engine
        assert engine is not None
        queued = engine.busy or bool(self._runs)
        record = new_record(cell.n, cell.code, queued=queued)  # its view is made when shown
        view_id = record.view_id
        self._unshown[view_id] = record
        self._runs[view_id] = self.run_cell(cell, view_id)
        self.set_timer(RUNNING_CELL_DELAY, lambda: self._show_runs(view_id))

    def _show_runs(self, upto: str | None = None, *, result: Cell | None = None) -> CellView | None:
        """Put the cells not yet on screen into the transcript, in submission
        order, up to the one ``upto`` (None: all), that one drawn with its
        ``result`` when it has one (returned); and say that runs are going."""
        if upto is not None and upto not in self._unshown:
            return None
        view = None
        while self._unshown:
            view_id, record = next(iter(self._unshown.items()))
            del self._unshown[view_id]
            # finished before it was shown: drawn once, with its result
            view = CellView(record.n, record.code, record=record, cell=result if view_id == upto else None)
            self.transcript.add_cell(view)
            if view_id == upto:
                break
        self.transcript.anchor()
        if result is None:  # with a result, _done_running says what still runs, right after
            self._update_mode_line()
            self.refresh_bindings()
        return view

    def _give_back(self, text: str) -> None:
        """Put a submission that could not run back into the editor, before
        whatever was typed since (nothing typed is ever lost)."""
        typed = self.editor.text
        self.editor.set_text(text + ("\n" + typed if typed else ""))

    @work(group="run")
    async def run_cell(self, cell: Cell, view_id: str) -> None:
        engine = self.engine
        assert engine is not None
        try:
            finished = await engine.execute_cell(
                cell, on_start=lambda: self._post(RunStarted(view_id, cell.waiting_behind))
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an unexpected bug below: keep the app
            self.post_message(RunCrashed(view_id, _explain(exc)))
            return
        self.post_message(RunFinished(view_id, finished))

    def _post(self, message: Message) -> None:
        self.post_message(message)

    def on_run_started(self, message: RunStarted) -> None:
        record = self._unshown.get(message.view_id)
        if record is not None:  # not on screen yet: its view starts from the record
            start_record(record, message.waiting_behind)
            return
        view = self._view(message.view_id)
        if view is not None:
            view.start(message.waiting_behind)

    def on_run_finished(self, message: RunFinished) -> None:
        view_id = message.view_id
        if view_id in self._unshown:
            # Done before it was shown: it appears once, with its result.
            view = self._show_runs(view_id, result=message.cell)
        else:
            view = self._view(view_id)
            if view is not None:
                view.finish(message.cell)
        self._done_running(view_id)
        self._mention_history_problem()
        engine = self.engine
        if engine is not None:
            self.panel.show_round_trips(list(engine.round_trips))
        self.countdown.tick()
        # The countdown correction and the pool status are more requests: they
        # go out once the finished cell is on screen, not before. Asked of the
        # cell, the callback waits behind its composing, then for the refresh.
        (view or self).call_after_refresh(self._after_run_painted)

    def _after_run_painted(self) -> None:
        self._start_extras()
        engine = self.engine
        if engine is not None:
            engine.start_follow_ups()
        self.poll_pool_status()

    def _mention_history_problem(self) -> None:
        """The history file could not be written (full disk, a directory in
        its place): the runs go on; say it once."""
        problem = self.engine.history_problem if self.engine is not None else None
        if problem and not self._history_problem_shown:
            self._history_problem_shown = True
            self.notify(problem, title="History", severity="warning", timeout=10)

    def on_run_crashed(self, message: RunCrashed) -> None:
        self._show_runs(message.view_id)
        view = self._view(message.view_id)
        if view is not None:
            view.fail(message.error)
        self._done_running(message.view_id)

    def _done_running(self, view_id: str) -> None:
        self._runs.pop(view_id, None)
        self._update_mode_line()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "run" or event.state != WorkerState.CANCELLED:
            return
        for view_id, worker in list(self._runs.items()):
            if worker is event.worker:
                self._show_runs(view_id)
                view = self._view(view_id)
                if view is not None:
                    view.abandon()
                self._done_running(view_id)
        self.countdown.tick()

    @property
    def waiting(self) -> bool:
        """A run is in flight or queued."""
        return bool(self._runs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The footer shows the keys that matter now: "Stop waiting" only while
        # an execution runs; from a cell or the side panel Escape goes back to
        # the editor; otherwise Escape belongs to the focused widget.
        if action == "play":
            return self.check_play()
        if action == "cancel" and not self.waiting:
            return isinstance(self.focused, (CellView, SidePanel)) or self._completions_open()
        return True

    def action_cancel(self) -> None:
        """Escape: close the completion list, else stop waiting, else go back
        to the editor. It never leaves the editor."""
        if self._close_completions():
            return
        if self.waiting:
            self.stop_waiting()
            return
        if not self.editor.has_focus:
            self.editor.focus()

    def action_interrupt(self) -> None:
        """Ctrl+C: copy a selection; stop waiting while a run is in flight;
        else clear the input (Ctrl+Z brings it back); on an empty editor, say
        how to exit.

        Decided once the editor has taken what was typed or pasted before the
        key: a priority binding runs when the key reaches the app, ahead of
        those (a paste then Ctrl+C left the paste in the editor)."""
        self.editor.call_later(self._interrupt)

    def _interrupt(self) -> None:
        editor = self.editor
        if editor.has_focus and editor.selected_text:
            editor.action_copy()
            return
        if self.waiting:
            self.stop_waiting()
            return
        if editor.text:
            editor.clear()
            editor.focus()
            return
        self.notify(EXIT_HINT)

    def stop_waiting(self) -> None:
        """Stop waiting for the running cell; when inputs are queued behind
        it, ask whether to drop them too."""
        runs = list(self._runs.items())
        if not runs or self.engine is None:
            return
        engine = self.engine
        self._show_runs()  # what is stopped or asked about is on screen
        queued = runs[1:]
        if queued:
            engine.hold_queue()  # nothing queued starts while the question is open
        view_id, worker = runs[0]
        worker.cancel()
        view = self._view(view_id)
        if view is not None:
            view.abandon()  # at once; the worker's state change follows
        if not queued:
            return

        def answer(drop: bool | None) -> None:
            if drop:
                for _, queued_worker in queued:
                    queued_worker.cancel()
            engine.release_queue()

        n = len(queued)
        self.app.push_screen(
            ConfirmScreen(
                f"Also drop the {n} input{'s' if n != 1 else ''} queued behind it? They have not been sent.",
                yes="Drop",
                no="Keep",
            ),
            answer,
        )

    def on_input_editor_exit_requested(self, message: InputEditor.ExitRequested) -> None:
        self.request_exit()

    def request_exit(self) -> None:
        """Exit, asking first when a run or queued inputs would be lost."""
        if not self.waiting:
            self.app.exit(0)
            return
        n = len(self._runs)

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.exit(0)

        self.app.push_screen(
            ConfirmScreen(
                f"{n} input{'s are' if n != 1 else ' is'} running or queued. Exit anyway?",
                yes="Exit",
                no="Stay",
            ),
            answer,
        )

    def _view(self, view_id: str) -> CellView | None:
        """The cell's view on screen (None for a run not shown yet: see _show_runs)."""
        return self.transcript.view(view_id)

    # ---------------------------------------------------------------- play mode
    def _put_step(self, code: str) -> None:
        """A play's step into the editor, at once or typed out for the audience."""
        speed = self.settings.play_speed
        if speed <= 0:
            self.editor.set_text(code)
            self.editor.focus()
            return
        self.editor.set_text("")
        self.type_step(code, speed)

    @work(exclusive=True, group="typewriter")
    async def type_step(self, code: str, speed: float) -> None:
        from repl.play import typewriter

        for chunk in typewriter(code, speed):
            await asyncio.sleep(chunk.delay)
            self.editor.insert(chunk.text)

    def check_play(self) -> bool:
        engine = self.engine
        return engine is not None and engine.player is not None and engine.player.state.value in ("playing", "failed")

    def action_play(self, word: str) -> None:
        """PageDown / PageUp in play mode: the next / previous step."""
        if self.engine is None or not self.check_play():
            return
        self._command_effect(self.engine.play_control(word))

    def _update_mode_line(self) -> None:
        parts = []
        engine = self.engine
        if engine is not None and engine.player is not None:
            parts.append(f"play: {engine.player.progress} · PageDown next · PageUp back")
        if self.editor.editor_mode:
            parts.append("editor mode: Enter = newline, Ctrl+J runs")
        if self._runs:
            queued = len(self._runs) - 1
            parts.append("running… Esc stops waiting" + (f" · {queued} queued" if queued else ""))
        text = " · ".join(parts)
        if text == self._mode_line_text:
            return  # unchanged: no update, no layout
        self._mode_line_text = text
        line = self._mode_line
        line.update(text)
        line.display = bool(parts)

    # ---------------------------------------------------------------- dot-commands
    def run_dot_command(self, command: DotCommand, *, confirmed: bool = False) -> None:
        engine = self.engine
        if engine is None:
            if command.spec is not None and not command.spec.queued:
                # .help, .clear, .editor, .exit work before the connection
                self._command_effect(_offline_result(command))
                return
            self.notify(f"Not connected ({self._connect_error or 'still connecting'}).", severity="warning")
            return
        question = None if confirmed else engine.confirmation(command)
        if question is not None:

            def answer(yes: bool | None) -> None:
                if yes:
                    self.run_dot_command(command, confirmed=True)
                else:
                    self.transcript.add_note(Text(f".{command.name}: not done."), classes="note")

            self.app.push_screen(ConfirmScreen(question), answer)
            return
        if command.spec is not None and command.spec.queued:
            self.transcript.add_note(Text(command_line(command), style="bold"), classes="note -command")
        self.command_worker(command)

    @work(group="command")
    async def command_worker(self, command: DotCommand) -> None:
        engine = self.engine
        assert engine is not None
        try:
            result = await engine.execute_command(command)
        except Exception as exc:
            result = CommandResult(_explain(exc), "error")
        self.post_message(CommandDone(result))

    def on_command_done(self, message: CommandDone) -> None:
        self._command_effect(message.result)

    def _command_effect(self, result: CommandResult) -> None:
        """The front-end side of a command's result: each action once."""
        action = result.action
        message = result.message
        if action == "load":
            self._replace_draft(result.data or "")
        elif action == "clear":
            self.action_clear()
        elif action == "exit":
            self.request_exit()
        elif action == "session":
            self._show_session()
        elif action == "editor":
            engine = self.engine
            self.editor.editor_mode = engine.editor_mode if engine is not None else not self.editor.editor_mode
            self._update_mode_line()
        elif action == "break":
            self.editor.clear()
        elif action == "play":
            if isinstance(result.data, str):
                self._put_step(result.data)
            self._update_mode_line()
        elif action == "replay":
            for cell in result.data or []:
                self._start_cell(cell)
        elif action == "help":
            self.transcript.add_note(Text(".help", style="bold"), classes="note -command")
            self.transcript.add_note(commands_table(), classes="note help-table")
            message = ""
        if message:
            classes = "note -error" if result.kind == "error" else "note"
            self.transcript.add_note(Text(message), classes=classes)
        self.countdown.tick()

    def _replace_draft(self, text: str, *, ask: bool = False) -> None:
        """Put ``text`` into the editor; with ``ask``, an unsent draft is only
        replaced after a yes."""
        editor = self.editor
        if ask and editor.text.strip() and editor.text != text:

            def answer(yes: bool | None) -> None:
                if yes:
                    self._replace_draft(text)

            self.app.push_screen(ConfirmScreen("Replace the unsent input in the editor?", yes="Replace"), answer)
            return
        editor.set_text(text)
        editor.focus()

    def palette_dot_command(self, spec: CommandSpec) -> None:
        """From the palette: run at once when it takes no arguments, else put
        the command in the editor for the arguments (asking before it replaces
        an unsent draft)."""
        if spec.args:
            self._replace_draft(f".{spec.name} ", ask=True)
            return
        self.submit(f".{spec.name}")

    # ---------------------------------------------------------------- history
    def on_input_editor_history_step(self, message: InputEditor.HistoryStep) -> None:
        engine_history = self._history()
        if engine_history is None:
            return
        editor = self.editor
        try:
            if self._history_cursor is None:
                if message.step > 0:
                    return
                self._history_cursor = engine_history.cursor(editor.text)
            cursor = self._history_cursor
            text = cursor.previous(editor.text) if message.step < 0 else cursor.next(editor.text)
        except Exception as exc:  # an unreadable history file: say so, keep the app
            self._history_cursor = None
            self.notify(f"Cannot read the history: {_explain(exc)}", severity="error")
            return
        if text is None:
            return
        editor.load_text(text)
        if message.step < 0:
            editor.move_cursor((0, len(editor.document.get_line(0))))
        else:
            editor.move_cursor(editor.document.end)
        if cursor.at_draft:
            self._history_cursor = None

    def _history(self) -> History | None:
        if self.engine is not None:
            return self.engine.history
        try:
            return History(history_file())
        except OSError:
            return None

    def action_history(self, query: str = "") -> None:
        history = self._history()
        if history is None:
            return
        from repl.tui.widgets.history_screen import HistoryScreen

        def chosen(code: str | None) -> None:
            if code is not None:
                self._replace_draft(code, ask=True)
            self.editor.focus()

        self.app.push_screen(HistoryScreen(history, query=query, highlight=highlighter(self.app)), chosen)

    def action_history_search(self) -> None:
        line = self.editor.text if "\n" not in self.editor.text else ""
        self.action_history(line)

    # ---------------------------------------------------------------- panels, help, theme
    def action_toggle_side_panel(self) -> None:
        panel = self.panel
        panel.display = not panel.display
        self._show_compact_countdown()

    def on_countdown_changed(self, message: Countdown.Changed) -> None:
        self._show_compact_countdown()

    def _show_compact_countdown(self) -> None:
        """With the side panel hidden (a narrow terminal), the cooldown shows
        on the editor's frame: time left, in the warning / error colour near
        and at expiry."""
        summary, level = self.countdown.summary
        editor = self.editor
        if self.panel.display or not summary:
            editor.border_subtitle = None
            return
        colour = {"warning": "$text-warning", "expired": "$text-error"}.get(level)
        editor.border_subtitle = f"[{colour}]{summary}[/]" if colour else summary

    def action_focus_transcript(self) -> None:
        cells = self.cell_views()
        if self.focused in cells or not cells:
            self.editor.focus()
        else:
            cells[-1].focus()

    def action_focus_editor(self) -> None:
        self.editor.focus()

    def action_help(self) -> None:
        from repl.tui.widgets.help_screen import HelpScreen, help_markdown

        self.app.push_screen(HelpScreen(help_markdown(self.app, self.focused or self)))

    def action_pick_theme(self) -> None:
        self.app.action_change_theme()

    def action_clear(self) -> None:
        """Ctrl+L / .clear: the screen is cleared; running and queued cells stay."""
        self.transcript.clear(keep=set(self._runs))

    def rehighlight(self) -> None:
        self.transcript.rehighlight()

    # ---------------------------------------------------------------- cells
    def on_cell_view_action(self, message: CellView.Action) -> None:
        if message.view.id is not None:
            self.cell_action(message.view.id, message.action)

    def action_cell_action(self, view_id: str, action: str) -> None:
        self.cell_action(view_id, action)

    def cell_action(self, view_id: str, action: str) -> None:
        view = self._view(view_id)
        if view is None:
            return
        if action == "focus_editor":
            self.editor.focus()
            return
        if action == "reinsert":
            self._replace_draft(view.code, ask=True)
            return
        if action == "curl":
            self.copy_curl(view)
            return
        if action == "sent_code":
            self.show_sent_code(view)
            return
        text = view.output_text()
        if view.cell is None:
            self.notify("The cell has no result yet.", severity="warning")
            return
        if action == "copy_output":
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {len(text):,} characters of In [{view.n}]'s output.")
        elif action == "pager":
            self.open_in_pager(view.output_text(colours=True))
        elif action == "save":
            self.save_output(view, text)

    def show_sent_code(self, view: CellView) -> None:
        from repl.tui.widgets.sent_code_screen import SentCodeScreen

        cell = view.cell
        if cell is None or not cell.sent_code or cell.sent_code == cell.code:
            self.notify(f"In [{view.n}] was sent exactly as typed.")
            return
        self.app.push_screen(SentCodeScreen(view.n, cell.sent_code))

    def copy_curl(self, view: CellView) -> None:
        from repl.tui.curl import curl_command

        if self.engine is None:
            return
        cell = view.cell
        code = (cell.sent_code or cell.code) if cell is not None else view.code
        identifier = (cell.session if cell is not None and cell.session else None) or self.engine.identifier
        command = curl_command(self.engine.connection.endpoint, identifier, code)
        self.app.copy_to_clipboard(command)
        self.last_copied = command
        self.notify('Copied as curl. Set AUTH_HEADER first, e.g. AUTH_HEADER="Authorization: Bearer <token>".')

    def open_in_pager(self, text: str) -> None:
        pager = os.environ.get("PAGER") or "less -R"
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
                fh.write(text)
                path = fh.name
            try:
                with self.app.suspend():
                    subprocess.run([*shlex.split(pager), path], check=False)
            finally:
                Path(path).unlink(missing_ok=True)
        except Exception as exc:  # no pager, no terminal to suspend: say so
            self.notify(f"Cannot open the pager ({pager}): {exc}", severity="error")

    def save_output(self, view: CellView, text: str) -> None:
        from repl.tui.widgets.prompt_screen import PromptScreen

        def save(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.notify(f"Cannot write {target}: {exc.strerror or exc}", severity="error")
                return
            self.notify(f"Saved {len(text):,} characters to {target}.")

        self.app.push_screen(PromptScreen(f"Save the output of In [{view.n}] to:", f"out-{view.n}.txt"), save)

    def action_copy_identifier(self) -> None:
        if self.engine is None:
            return
        self.app.copy_to_clipboard(self.engine.identifier)
        self.notify("Copied the session identifier.")

    # ---------------------------------------------------------------- $EDITOR
    def on_input_editor_external_edit(self, message: InputEditor.ExternalEdit) -> None:
        editor_cmd = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False, encoding="utf-8") as fh:
                fh.write(self.editor.text)
                path = fh.name
            try:
                with self.app.suspend():
                    subprocess.run([*shlex.split(editor_cmd), path], check=False)
                text = Path(path).read_text(encoding="utf-8")
            finally:
                Path(path).unlink(missing_ok=True)
        except Exception as exc:
            self.notify(f"Cannot run the editor ({editor_cmd}): {exc}", severity="error")
            return
        self.editor.set_text(text.rstrip("\n"))
        self.editor.focus()

    # ---------------------------------------------------------------- completion
    # Tab completion lives in repl.tui.completer; these are its hooks.

    @property
    def completion(self) -> CompletionController:
        if self._completion is None:
            from repl.tui.completer import CompletionController

            keys = getattr(self.settings, "keys", None) or {}
            self._completion = CompletionController(self, self.editor, lambda: self.engine, keymap=keys)
        return self._completion

    def on_input_editor_complete_requested(self, message: InputEditor.CompleteRequested) -> None:
        self.completion.request(message.source, message.cursor)

    def _completions_open(self) -> bool:
        return self._completion is not None and self._completion.is_open

    def _close_completions(self) -> bool:
        return self._completion is not None and self._completion.close()


def commands_table() -> Table:
    """The dot-commands as a two-column table: a long summary wraps inside its
    column instead of under the command names."""
    from rich.table import Table

    from repl.dotcommands import COMMANDS

    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for spec in COMMANDS:
        table.add_row(spec.usage, spec.summary)
    table.add_row("", "")
    table.add_row("JavaScript", "Anything else is sent to the session. Paths with spaces: quote them.")
    table.add_row("Keys", "F1 help for the focused area · Ctrl+P palette · Ctrl+B side panel")
    return table


def _explain(exc: BaseException) -> str:
    text = str(exc).strip()
    if hasattr(exc, "status_code") or type(exc).__name__ in ("ConfigError", "NodeNotFound"):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def command_line(command: DotCommand) -> str:
    """A command as the user typed it, for the transcript."""
    return " ".join([f".{command.name}", *command.args])


def _offline_result(command: DotCommand) -> CommandResult:
    """The result of a screen-only command (.help, .clear, .editor, .break,
    .exit) before the engine exists."""
    from repl.dotcommands import COMMANDS, help_text

    action = {"help": "help", "clear": "clear", "editor": "editor", "break": "break", "exit": "exit"}.get(command.name)
    if action == "help":
        return CommandResult(help_text(), data=COMMANDS, action="help")
    return CommandResult("", action=action)  # type: ignore[arg-type]


def _preload_core() -> None:
    import repl.engine  # noqa: F401  (and through it the client and the connection)


def _preload_after_connect() -> None:
    # Compiling the JavaScript lexer's regexes takes ~0.1 s: do it here, not
    # on the event loop when the first cell is highlighted. Then the
    # completion's (~20 ms) and the input rules' (~4 ms), and the completer's
    # imports, for the first Tab and Enter.
    try:
        from pygments.lexers import JavascriptLexer

        list(JavascriptLexer().get_tokens("x"))
    except Exception:
        pass
    from repl.js.completeness import word_patterns
    from repl.js.completion import patterns

    word_patterns()
    patterns()
    import repl.tui.completer  # noqa: F401
