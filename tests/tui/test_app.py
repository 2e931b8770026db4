"""Pilot tests of the Textual app against the real local pool (HTTP, Node)."""

from __future__ import annotations

import contextlib
import json
import socket

from repl.config import Settings
from repl.tui.app import AcajsApp, all_binding_ids
from repl.tui.screens.main import ReplScreen
from repl.tui.widgets.cell import CellView
from repl.tui.widgets.cell_render import Part
from repl.tui.widgets.confirm_screen import ConfirmScreen
from repl.tui.widgets.countdown import EXPIRED_TEXT, Countdown
from repl.tui.widgets.side_panel import BARS, SidePanel, sparkline

from .conftest import run_code, settle


def _text(shown) -> str:
    """The plain text a Static or a part of a cell shows."""
    if isinstance(shown, Part):
        return shown.plain
    return str(shown.render())


def cell_text(view: CellView) -> str:
    return view.shown_text()


async def test_submit_shows_cell_with_output_value_and_timing(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplScreen)
        assert pool_settings.session in app.sub_title
        assert "local pool" in app.sub_title
        await pilot.press(*'console.log("hi"); 6*7')
        await pilot.press("enter")
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.state == "succeeded"
        assert view.has_class("-ok")
        stdout = view.part("stdout")
        assert stdout.full_text == "hi\n"
        value = view.part("value")
        assert "Out[1]: 42" in _text(value)
        head = _text(view.part("head"))
        assert "In [1]" in head and "ok" in head
        assert "server " in head and "round trip " in head and " ms" in head
        assert screen.editor.text == ""
        # The history file got the block, as typed.
        entries = screen.engine.history.entries()
        assert entries[-1].code == 'console.log("hi"); 6*7'
        assert entries[-1].status == "succeeded"
        # The sparkline got the round trip: one bar per run.
        panel = screen.query_one(SidePanel)
        bars = _text(panel.query_one("#round-trips"))
        assert len(bars) == len(screen.engine.round_trips) == 1 and bars in BARS
        # Pool status came from pool-level calls.
        pool_text = _text(panel.query_one("#panel-pool"))
        assert "NodeLTS" in pool_text and "sessions" in pool_text


async def test_code_failure_shows_stderr_in_failed_cell(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await run_code(pilot, 'throw new Error("boom")')
        assert view.state == "failed"
        assert view.has_class("-failed") and not view.has_class("-service")
        stderr = view.part("stderr")
        assert "boom" in stderr.full_text
        assert view.part("service-error") is None


async def test_enter_continues_incomplete_input_with_indent(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"function f() {")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.cell_views() == []
        assert screen.editor.text.startswith("function f() {\n")
        assert screen.editor.text.split("\n")[1].startswith(" ")  # indented continuation
        await pilot.press(*"return 41 + 1")
        await pilot.press("enter")
        await pilot.press(*"}")
        await pilot.press("enter")  # complete declaration: runs
        await settle(pilot)
        assert len(screen.cell_views()) == 1
        await pilot.press(*"f()")
        await pilot.press("enter")
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.state == "succeeded"
        assert "42" in _text(view.part("value"))


async def test_closing_bracket_on_an_indent_only_line_dedents(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = app.screen.editor
        await pilot.press(*"function f() {")
        await pilot.press("enter")
        await pilot.press(*"return [")
        await pilot.press("enter")
        await pilot.press(*"1")
        await pilot.press("enter")
        await pilot.press(*"]")
        await pilot.press("enter")
        await pilot.press(*"}")
        await pilot.pause()
        assert editor.text == "function f() {\n  return [\n    1\n  ]\n}"
        # A bracket typed after code on the same line never moves the line.
        editor.load_text("  g(1")
        editor.move_cursor(editor.document.end)
        await pilot.press(*")")
        assert editor.text == "  g(1)"


async def test_unterminated_template_literal_continues(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"`a")
        await pilot.press("enter")
        await pilot.press(*"b`")
        await pilot.pause()
        assert screen.cell_views() == []
        await pilot.press("enter")
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.code == "`a\nb`"
        assert view.state == "succeeded"


async def test_two_blank_lines_force_a_run_and_server_reports_syntax_error(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"foo(")
        await pilot.press("enter")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.cell_views() == []  # one blank line: still continuing
        await pilot.press("enter")  # second blank line: forced run
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.code.strip() == "foo("
        assert view.state == "failed"
        assert "SyntaxError" in view.part("stderr").full_text


async def test_ctrl_j_always_runs(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"[1, 2")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert len(screen.cell_views()) == 1
        assert screen.cell_views()[0].state == "failed"


async def test_history_walk_with_up_and_down(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "let a = 1")
        await run_code(pilot, "a + 1")
        await pilot.press(*"draft")
        await pilot.press("up")
        assert screen.editor.text == "a + 1"
        await pilot.press("up")
        assert screen.editor.text == "let a = 1"
        await pilot.press("down")
        assert screen.editor.text == "a + 1"
        await pilot.press("down")
        assert screen.editor.text == "draft"


async def test_up_inside_a_block_moves_the_cursor_not_history(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "1")
        screen.editor.load_text("x\ny")
        screen.editor.move_cursor((1, 1))
        await pilot.press("up")
        assert screen.editor.text == "x\ny"
        assert screen.editor.cursor_location[0] == 0
        await pilot.press("up")  # now on the first line: history
        assert screen.editor.text == "1"


async def test_history_search_reinserts_entry(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "const needle = 'found'")
        await run_code(pilot, "1 + 1")
        await pilot.press("ctrl+r")
        await pilot.pause()
        from repl.tui.widgets.history_screen import HistoryScreen

        assert isinstance(app.screen, HistoryScreen)
        await pilot.press(*"needl")
        await pilot.pause()
        assert "needle" in _text(app.screen.query_one("#history-preview"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert screen.editor.text == "const needle = 'found'"


async def test_history_browser_escape_keeps_editor(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "'one'")
        await run_code(pilot, "'two'")
        screen.editor.load_text("typing")
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("down")  # the older entry
        await pilot.pause()
        assert "'one'" in _text(app.screen.query_one("#history-preview"))
        await pilot.press("escape")
        await pilot.pause()
        assert screen.editor.text == "typing"


async def test_countdown_follows_controllable_clock_and_expires(pool_settings, clock):
    app = AcajsApp(pool_settings, clock=clock)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        countdown = screen.query_one("#countdown", Countdown)
        assert "starts with the first run" in _text(countdown)
        await run_code(pilot, "1")
        cooldown = screen.engine.cooldown
        period = cooldown.period_s  # from the pool's status (the test pool: 60 s)
        left = cooldown.remaining()
        assert 0 < left <= period
        countdown.tick()
        assert f"({int(left + 0.999)} s)" in _text(countdown)
        assert "█" in _text(countdown)
        clock.advance(left - 30)
        countdown.tick()
        assert "0:30 left (30 s)" in _text(countdown)
        assert countdown.has_class("-warning")
        clock.advance(31)
        countdown.tick()
        assert EXPIRED_TEXT in _text(countdown)
        assert countdown.has_class("-expired")
        # A run restarts it.
        await run_code(pilot, "2")
        countdown.tick()
        assert EXPIRED_TEXT not in _text(countdown)
        assert "left" in _text(countdown)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_service_error_on_closed_port_is_a_cell_not_a_crash():
    port = _closed_port()
    settings = Settings(
        endpoint=f"http://127.0.0.1:{port}/subscriptions/x/resourceGroups/y/sessionPools/z",
        token="secret-token-value",
        session="closed-port",
    )
    app = AcajsApp(settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        view = await run_code(pilot, "1 + 1")
        assert view.state == "error"
        assert view.has_class("-service") and not view.has_class("-failed")
        message = _text(view.part("service-error"))
        assert str(port) in message or "connect" in message.lower()
        assert "secret-token-value" not in cell_text(view)
        # The side panel says the pool status could not be read, and the app lives on.
        pool_text = _text(screen.query_one("#panel-pool"))
        assert pool_text and "loading" not in pool_text
        view2 = await run_code(pilot, "2")
        assert view2.state == "error"
        assert app.is_running


@contextlib.asynccontextmanager
async def _azure_answering(status: int, code: str, message: str, token: str, session: str):
    """The app on an Azure endpoint whose data plane and ARM answer ``status``
    to everything (faults the local pool cannot produce: respx)."""
    import httpx
    import respx

    endpoint = "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/r/sessionPools/p"
    settings = Settings(endpoint=endpoint, token=token, session=session)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="eastus.dynamicsessions.io").mock(
            return_value=httpx.Response(status, json={"error": {"code": code, "message": message}})
        )
        mock.route(host="management.azure.com").mock(return_value=httpx.Response(status))
        app = AcajsApp(settings)
        async with app.run_test(size=(140, 44)) as pilot:
            await settle(pilot)
            yield app, pilot


async def test_server_5xx_is_a_service_error_with_advice(local_pool):
    async with _azure_answering(503, "ServiceUnavailable", "busy", "t0ken-never-shown", "five-hundred") as (app, pilot):
        view = await run_code(pilot, "1")
        assert view.state == "error"
        message = _text(view.part("service-error"))
        assert "503" in message
        assert "try again" in message.lower() or "moment" in message.lower()
        assert "t0ken-never-shown" not in message
        assert app.is_running


async def test_escape_abandons_running_execution_and_app_stays_responsive(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 2500) {}")
        await pilot.press("ctrl+j")
        # Wait until the cell is on screen and running (no fixed sleep: poll messages).
        for _ in range(50):
            await pilot.pause()
            if screen.cell_views() and screen.cell_views()[-1].running:
                break
        view = screen.cell_views()[-1]
        assert view.running
        await pilot.press("escape")
        await pilot.pause()
        assert view.state == "abandoned"
        assert "may still be running remotely" in cell_text(view)
        await app.workers.wait_for_complete()
        # Responsive: typing works, the editor is free again.
        await pilot.press(*"1+1")
        assert screen.editor.text == "1+1"
        assert not screen.waiting
        # The engine recorded the abandoned cell.
        assert screen.engine.transcript.cells[-1].abandoned


async def test_large_output_is_capped_and_kept_in_full(pool_settings, tmp_path):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await run_code(pilot, 'for (let i = 0; i < 200000; i++) console.log(i)')
        assert view.state == "succeeded"
        out = view.part("stdout")
        assert out.capped.capped
        total = out.full_text.count("\n")
        assert total > 1000
        assert out.capped.hidden_lines > 1000
        shown = _text(out)
        assert f"{out.capped.hidden_lines:,} lines hidden" in shown
        assert len(shown) < 10_000
        assert "open in pager" in cell_text(view)
        # Save to file keeps the full text.
        target = tmp_path / "out.txt"
        view.focus()
        await pilot.press("s")
        await pilot.pause()
        prompt = app.screen.query_one("#prompt-input")
        prompt.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == view.output_text()
        assert target.read_text().startswith("0\n1\n2\n")
        # Copy keeps the full text too.
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == view.output_text()


async def test_ten_megabyte_cell_renders_capped(pool_settings):
    """A 10 MB / 200,000-line result (as Azure can send) renders in bounded time."""
    from repl.api.models import Execution, ExecutionStatus
    from repl.transcript import Cell

    big = ("y" * 49 + "\n") * 200_000
    assert len(big) == 10_000_000
    cell = Cell(n=1, code="big()", execution=Execution(ExecutionStatus.SUCCEEDED, stdout=big, value=1, value_text="1"))
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        view = screen.transcript.add_cell(CellView(1, "big()", cell=cell))
        await pilot.pause()
        out = view.part("stdout")
        assert out.full_text is big
        assert f"{200_000 - 40:,} lines hidden" in _text(out)
        # Still responsive.
        await pilot.press(*"ok")
        assert screen.editor.text == "ok"


async def test_dot_commands_help_editor_mode_clear_and_save(pool_settings, tmp_path):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "let z = 5")
        screen.editor.load_text(".help")
        await pilot.press("enter")
        await settle(pilot)
        shown = "\n".join(_lines(screen.transcript.query(".help-table").last()))
        assert ".session ID" in shown and ".export FILE.md" in shown
        # .editor: Enter is a newline, Ctrl+J runs.
        screen.editor.load_text(".editor")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.editor.editor_mode
        await pilot.press(*"z")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.editor.text == "z\n"
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert screen.cell_views()[-1].state == "succeeded"
        # .save writes the inputs as a .js file.
        target = tmp_path / "inputs.js"
        screen.editor.load_text(f".save {target}")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert "let z = 5" in target.read_text()
        # .clear clears the screen, not the session.
        screen.editor.load_text(".clear")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert screen.cell_views() == []
        view = await run_code(pilot, "z * 2")
        assert "10" in _text(view.part("value"))


async def test_unknown_dot_command_is_a_message(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text(".frobnicate")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert screen.cell_views() == []
        assert any("Unknown command" in _text(n) for n in screen.transcript.query(".note"))


async def test_new_session_changes_identifier_in_header_and_panel(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        old = screen.engine.identifier
        screen.editor.load_text(".new")
        await pilot.press("ctrl+j")
        await settle(pilot)
        new = screen.engine.identifier
        assert new != old
        assert new in app.sub_title
        assert new in _text(screen.query_one("#panel-identifier"))


async def test_copy_cell_as_curl_uses_auth_header_never_token(pool_settings, local_pool):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        view = await run_code(pilot, 'console.log("it\'s")')
        screen.cell_action(view.id, "curl")
        await pilot.pause()
        command = app.clipboard
        assert command.startswith("curl -v -X 'POST' -H \"$AUTH_HEADER\"")
        assert "/code/execute?api-version=" in command
        assert local_pool.token not in command
        assert pool_settings.session in command
        # The body is valid JSON with the code once the shell quoting is undone.
        body = command.split("-d '", 1)[1].rstrip("'").replace("'\\''", "'")
        assert json.loads(body)["properties"]["code"] == 'console.log("it\'s")'


async def test_palette_lists_dot_commands_and_cell_extras(pool_settings):
    from repl.tui.commands import ReplCommands

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await run_code(pilot, "1")
        provider = ReplCommands(app.screen)
        names = [name for name, _help, _cb in provider._commands()]
        for expected in (".new", ".session", ".export", "Switch theme…", "Toggle side panel",
                         "Copy output of In [1]", "Copy In [1] as curl"):
            assert expected in names
        # Running one from the palette: toggle side panel.
        panel = app.screen.query_one(SidePanel)
        before = panel.display
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Toggle side panel")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert panel.display != before


async def test_keymap_from_config_remaps_bindings(pool_settings):
    pool_settings.keys = {"app.side_panel": "f9", "no.such.binding": "f10"}
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(SidePanel)
        before = panel.display
        await pilot.press("f9")
        await pilot.pause()
        assert panel.display != before
        await pilot.press("ctrl+b")  # the old key no longer toggles
        await pilot.pause()
        assert panel.display != before
        assert any("no.such.binding" in str(n.message) for n in app._notifications)


def test_every_binding_has_an_id():
    from textual.binding import Binding

    from repl.tui.app import AcajsApp as App_
    from repl.tui.screens.main import ReplScreen as Screen_
    from repl.tui.widgets.cell import CellView as Cell_
    from repl.tui.widgets.editor import InputEditor
    from repl.tui.widgets.help_screen import HelpScreen
    from repl.tui.widgets.history_screen import HistoryScreen
    from repl.tui.widgets.prompt_screen import PromptScreen
    from repl.tui.widgets.theme_picker import ThemePicker

    for cls in (App_, Screen_, Cell_, InputEditor, SidePanel, HistoryScreen, HelpScreen, ThemePicker, PromptScreen):
        for b in cls.BINDINGS:
            assert isinstance(b, Binding) and b.id, f"{cls.__name__}: {b}"
    ids = all_binding_ids()
    assert len(ids) == len(set(ids))


async def test_f1_shows_help_for_the_focused_area(pool_settings):
    from repl.tui.widgets.help_screen import HelpScreen

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "## Input editor" in app.screen.markdown
        assert "Esc closes" in str(app.screen.query_one("#help-dialog").border_subtitle)
        assert "editor.run" in app.screen.markdown  # keys with their ids
        await pilot.press("escape")
        await pilot.pause()
        view = await run_code(pilot, "1")
        view.focus()
        await pilot.press("f1")
        await pilot.pause()
        assert "## Cell" in app.screen.markdown


async def test_theme_picker_previews_and_reverts(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "dark"
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        previewed = app.theme
        assert previewed != "dark"
        await pilot.press("escape")
        await pilot.pause()
        assert app.theme == "dark"
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == previewed


async def test_bad_theme_and_unknown_theme_fall_back_with_notification(pool_settings, tmp_path, monkeypatch):
    themes = tmp_path / "cfg" / "themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text("name = 'broken'\n[colors\nprimary = 1\n")
    (themes / "badcolour.toml").write_text("name = 'badcolour'\n[colors]\nprimary = 'not-a-colour'\n")
    (themes / "mine.toml").write_text("name = 'mine'\ndark = false\n[colors]\nprimary = '#123456'\n")
    monkeypatch.setenv("ACAJS_CONFIG_DIR", str(tmp_path / "cfg"))
    pool_settings.theme = "broken"
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "dark"
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "broken.toml" in messages and "badcolour" in messages
        assert "Unknown theme 'broken'" in messages
        assert "mine" in app.available_themes
        app.theme = "mine"
        await pilot.pause()
        view = await run_code(pilot, "1")
        assert view.state == "succeeded"


async def test_connect_failure_is_a_message(monkeypatch):
    settings = Settings(endpoint="not a url at all", token="x", session="s")
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert app.is_running
        screen.editor.load_text("1")
        await pilot.press("ctrl+j")
        await settle(pilot)
        # Either the connection was refused at once (note) or the run failed (cell).
        notes = [_text(n) for n in screen.transcript.query(".note")]
        cells = screen.cell_views()
        assert notes or (cells and cells[-1].state == "error")


async def test_tab_completes_declared_names_and_remote_properties(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "const myObject = { alphaBeta: 1 }")
        await pilot.press(*"myOb")
        await pilot.press("tab")
        await settle(pilot)
        assert screen.editor.text == "myObject"
        await pilot.press(*".alp")
        await pilot.press("tab")
        await settle(pilot)
        assert screen.editor.text == "myObject.alphaBeta"
        # Tab on blank space indents.
        screen.editor.load_text("")
        await pilot.press("tab")
        await settle(pilot)
        assert screen.editor.text.strip() == "" and len(screen.editor.text) > 0


async def test_tab_with_many_candidates_opens_the_dropdown(pool_settings):
    from repl.tui.widgets.completion import CompletionList

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "let appleOne = 1, appleTwo = 2")
        await pilot.press(*"appl")
        await pilot.press("tab")
        await settle(pilot)
        assert screen.editor.text == "apple"  # the common prefix first
        await pilot.press("tab")
        await settle(pilot)
        menu = screen.query_one(CompletionList)
        assert menu.is_open
        await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.editor.text in ("appleOne", "appleTwo")
        assert screen.editor.has_focus
        # Escape closes an open dropdown without touching a run.
        screen.editor.load_text("apple")
        screen.editor.move_cursor(screen.editor.document.end)
        await pilot.press("tab")
        await settle(pilot)
        assert menu.is_open
        await pilot.press("escape")
        await pilot.pause()
        assert not menu.is_open
        assert screen.editor.text == "apple"


async def test_alt_enter_runs_and_stop_waiting_shows_only_while_running(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        footer_keys = lambda: {b.binding.action for b in screen.active_bindings.values() if b.enabled}  # noqa: E731
        assert "cancel" not in footer_keys()
        await pilot.press(*"[1, 2")
        await pilot.press("alt+enter")  # always runs, even incomplete input
        await settle(pilot)
        assert screen.cell_views()[-1].code == "[1, 2"
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 800) {}")
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert screen.cell_views()[-1].running
        assert "cancel" in footer_keys()
        await settle(pilot)
        assert screen.cell_views()[-1].state == "succeeded"
        assert "cancel" not in footer_keys()


async def test_transcript_stays_where_the_user_scrolled(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        for i in range(4):
            await run_code(pilot, f"console.log('line\\n'.repeat(8)); {i}")
        assert transcript.max_scroll_y > 0
        assert transcript.scroll_y == transcript.max_scroll_y  # pinned to the bottom
        # Start a run, scroll up while it runs: the result must not yank the view down.
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 600) {}; 'late'")
        await pilot.press("ctrl+j")
        await pilot.pause()
        transcript.scroll_to(y=0, animate=False)
        transcript.release_anchor()
        await pilot.pause()
        await settle(pilot)
        assert screen.cell_views()[-1].state == "succeeded"
        assert transcript.scroll_y == 0
        # Scrolling back to the bottom follows new output again.
        transcript.scroll_end(animate=False)
        await pilot.pause()
        await run_code(pilot, "console.log('x\\n'.repeat(10))")
        await pilot.pause()
        assert transcript.scroll_y == transcript.max_scroll_y


async def test_file_commands_and_load_export_through_the_ui(pool_settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("alpha\nbeta\n")
    (tmp_path / "prog.js").write_text("const fromFile = 40;\nfromFile + 2\n")
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen

        async def command(text: str) -> str:
            screen.editor.load_text(text)
            await pilot.press("ctrl+j")
            await settle(pilot)
            return _text(list(screen.transcript.query(".note"))[-1])

        assert "Uploaded data.txt" in await command(f".upload {tmp_path / 'data.txt'}")
        assert "data.txt" in await command(".files")
        view = await run_code(pilot, "require('fs').readFileSync('/mnt/data/data.txt', 'utf8').split('\\n')[1]")
        assert "beta" in _text(view.part("value"))
        assert "Downloaded" in await command(f".download data.txt {tmp_path / 'copy.txt'}")
        assert (tmp_path / "copy.txt").read_text() == "alpha\nbeta\n"
        # .load puts the file into the editor (not run).
        await command(f".load {tmp_path / 'prog.js'}")
        assert screen.editor.text == "const fromFile = 40;\nfromFile + 2\n"
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert "42" in _text(screen.cell_views()[-1].part("value"))
        # .export writes the transcript with outputs and timings.
        assert "Wrote" in await command(f".export {tmp_path / 't.md'}")
        md = (tmp_path / "t.md").read_text()
        assert "## In [1]" in md and "beta" in md and "round trip" in md


async def test_pool_status_polling_never_touches_the_session(pool_settings, local_pool):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "1")
        client = screen.engine.client
        before = (await client.get_session(screen.engine.identifier)).expire_at
        for _ in range(3):
            screen.poll_pool_status()
            await settle(pilot)
        after = (await client.get_session(screen.engine.identifier)).expire_at
        assert before is not None and after == before
        assert "sessions" in _text(screen.query_one("#panel-pool"))


async def test_token_never_reaches_screen_or_history(pool_settings, local_pool):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "console.log(process.env.HOME); 1")
        await pilot.press("ctrl+b")
        await pilot.press("f1")
        await pilot.pause()
        assert local_pool.token not in app.export_screenshot()
        await pilot.press("escape")
        await pilot.pause()
        assert local_pool.token not in app.export_screenshot()
        assert local_pool.token not in screen.engine.history.path.read_text()
        assert local_pool.token not in screen.engine.transcript.to_markdown()


async def test_huge_code_block_is_capped_in_its_cell(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        code = "\n".join(f"let v{i} = {i};" for i in range(20_000)) + "\nv19999"
        view = await run_code(pilot, code)
        assert view.state == "succeeded"
        assert "19999" in _text(view.part("value"))
        shown = _text(view.part("code"))
        assert "lines hidden" in shown and len(shown) < 5_000
        assert view.code == code  # kept in full (edit again, history)


async def test_top_level_await_shows_the_value_and_keeps_what_was_typed(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        code = "const r = await new Promise((ok) => setTimeout(() => ok(21), 50)); r * 2"
        view = await run_code(pilot, code)
        assert view.state == "succeeded"
        assert "42" in _text(view.part("value"))
        assert "await new Promise" in _text(view.part("code"))
        assert view.code == code


async def test_palette_shows_the_rewritten_code_of_an_await_cell_only(pool_settings):
    from repl.tui.commands import ReplCommands
    from repl.tui.widgets.sent_code_screen import SentCodeScreen

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await run_code(pilot, "1 + 1")
        await run_code(pilot, "await Promise.resolve(5)")
        names = [name for name, _help, _cb in ReplCommands(app.screen)._commands()]
        assert "Show the code sent for In [2]" in names
        assert "Show the code sent for In [1]" not in names  # sent as typed
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Show the code sent for In [2]")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SentCodeScreen)
        shown = app.screen.query_one("#sent-code").text
        assert shown == app.screen.code
        assert "$$" in shown and "await Promise.resolve(5)" in shown  # the rewrite, not the input
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SentCodeScreen)


def _lines(widget) -> list[str]:
    """The lines a widget shows on screen, as plain text."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


def _frame_lines(widget) -> list[str]:
    """The screen lines a widget covers, border included, as plain text."""
    region = widget.region
    strips = widget.screen._compositor.render_strips()
    return [strips[y].text[region.x : region.right] for y in range(region.y, region.bottom)]


async def test_help_is_a_table_whose_long_summaries_wrap_in_their_column(pool_settings):
    from repl.dotcommands import COMMANDS

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text(".help")
        await pilot.press("enter")
        await settle(pilot)
        table = screen.transcript.query(".help-table").last()
        lines = _lines(table)
        usage_width = max(len(c.usage) for c in COMMANDS)
        column = lines[0].index(COMMANDS[0].summary)
        assert column > usage_width
        for spec in COMMANDS:
            row = next(i for i, line in enumerate(lines) if line.lstrip().startswith(spec.usage + " "))
            assert lines[row].index(spec.summary.split()[0]) == column
        # At 80 columns some summaries wrap: the continuation stays in the summary column.
        wrapped = [line for line in lines if line.strip() and not line[:column].strip()]
        assert wrapped, lines
        assert all(line[column] != " " for line in wrapped)


async def test_empty_editor_shows_a_placeholder(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        editor = app.screen.editor
        assert ".help" in "".join(_lines(editor))
        await pilot.press("1")
        await pilot.pause()
        assert ".help" not in "".join(_lines(editor))


def test_sparkline_one_bar_per_value_newest_right():
    assert str(sparkline([], 10)) == ""
    assert str(sparkline([10, 20, 30], 10)) == "▁▅█"
    assert str(sparkline([5, 5], 10)) == BARS[len(BARS) // 2] * 2
    assert str(sparkline(list(range(100)), 4)) == "▁▃▆█"  # the last 4 only, rescaled


async def test_side_panel_fits_an_identifier_and_narrows_on_small_terminals(local_pool):
    import uuid

    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, session=str(uuid.uuid4()))
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(SidePanel)
        assert panel.display and not panel.has_class("-narrow")
        lines = _lines(panel.query_one("#panel-identifier"))
        assert lines[0].strip() == settings.session  # on one line, not broken
        assert "copy" in "".join(lines)
        assert not panel.query_one("#round-trips").display  # no empty chart before the first run
        wide = panel.outer_size.width
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not panel.display or panel.has_class("-narrow")
        panel.display = True
        await pilot.pause()
        assert panel.has_class("-narrow") and panel.outer_size.width < wide
        transcript = app.screen.transcript
        assert transcript.outer_size.width == 80 - panel.outer_size.width


async def test_running_cell_shows_a_spinner_and_the_elapsed_time(pool_settings):
    import re
    import time

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 6000) {}; 'done'")
        await pilot.press("ctrl+j")
        view = screen.cell_views()[-1]
        await pilot.pause()
        class_changes = []
        original_remove = view.remove_class
        view.remove_class = lambda *names, **kw: (class_changes.append(names), original_remove(*names, **kw))[1]
        seen = set()
        deadline = time.monotonic() + 10
        while view.running and len(seen) < 3 and time.monotonic() < deadline:
            await pilot.pause(0.05)
            m = re.search(r"([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) running (\d+\.\d) s", _text(view.part("head")))
            if m:
                seen.add(m.groups())
        assert len(seen) >= 3, seen  # the spinner turns and the time goes up while it runs
        assert view.has_class("-running")
        assert class_changes == []  # redrawing the spinner does not restyle the cell
        assert "running… Esc stops waiting" in _text(screen.query_one("#mode-line"))
        await settle(pilot)
        assert view.state == "succeeded" and not view.has_class("-running")
        assert "running" not in _text(view.part("head"))
        assert not screen.query_one("#mode-line").display


async def test_session_attach_and_delete_through_the_ui(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen

        async def command(text: str) -> str:
            screen.editor.load_text(text)
            await pilot.press("enter")
            await settle(pilot)
            return _text(list(screen.transcript.query(".note"))[-1])

        first = screen.engine.identifier
        await run_code(pilot, "let kept = 'state'")
        await command(".new")
        assert screen.engine.identifier != first
        assert "ReferenceError" in (await run_code(pilot, "kept")).output_text()
        # .session ID attaches to the first session: its state is there.
        await command(f".session {first}")
        assert screen.engine.identifier == first
        assert first in app.sub_title and first in _text(screen.query_one("#panel-identifier"))
        assert "'state'" in (await run_code(pilot, "kept")).output_text()
        # .delete asks first; "n" keeps the session, "y" deletes it on the server.
        screen.editor.load_text(".delete")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "cannot" not in app.screen.question and "gone for good" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert "not done" in _text(list(screen.transcript.query(".note"))[-1])
        assert "'state'" in (await run_code(pilot, "kept")).output_text()
        screen.editor.load_text(".delete")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "deleted" in _text(list(screen.transcript.query(".note"))[-1]).lower()
        view = await run_code(pilot, "typeof kept")
        assert "'undefined'" in view.output_text()


async def test_editor_highlights_javascript_after_the_first_frame(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        editor = app.screen.editor
        assert editor.language == "javascript"
        editor.load_text("const answer = 42 // note")
        await pilot.pause()
        styles = {span[2] for spans in editor._highlights.values() for span in spans}
        assert {"keyword", "number", "comment"} <= styles


async def test_switching_highlighting_on_keeps_the_cursor_where_it_was():
    """Highlighting is switched on after start-up, when text may be in the editor
    already (a paste, a play's step being typed): Textual's language switch put
    the cursor at the start, so the rest of a typed step landed before the text."""
    from textual.app import App, ComposeResult

    from repl.tui.widgets.editor import InputEditor

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield InputEditor()

    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        editor = app.query_one(InputEditor)
        assert editor.language != "javascript"
        editor.insert("const x")
        editor.enable_highlighting()
        await pilot.pause()
        assert editor.language == "javascript"
        assert editor.cursor_location == (0, 7)
        editor.insert(" = 1")
        assert editor.text == "const x = 1"


async def test_side_panel_copies_the_identifier(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(SidePanel)
        panel.focus()
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == pool_settings.session
        await pilot.press("escape")  # back to the editor
        await pilot.pause()
        assert app.screen.editor.has_focus


async def test_malformed_service_answer_is_a_cell_not_a_crash(local_pool):
    import httpx
    import respx

    endpoint = "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/r/sessionPools/p"
    settings = Settings(endpoint=endpoint, token="t0ken", session="garbage")
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="eastus.dynamicsessions.io").mock(
            return_value=httpx.Response(200, content=b"<html>proxy login</html>", headers={"content-type": "text/html"})
        )
        mock.route(host="management.azure.com").mock(return_value=httpx.Response(200, content=b"not json"))
        app = AcajsApp(settings)
        async with app.run_test(size=(140, 44)) as pilot:
            await settle(pilot)
            view = await run_code(pilot, "1")
            assert view.state == "error" and view.has_class("-service")
            assert _text(view.part("service-error"))
            assert app.is_running
            await pilot.press(*"2")
            assert app.screen.editor.text == "2"


async def test_enter_sends_a_genuine_syntax_error_and_ctrl_enter_always_runs(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"1 +* 2")  # not unfinished, just wrong: the server says so
        await pilot.press("enter")
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.code == "1 +* 2" and view.state == "failed"
        assert "SyntaxError" in view.output_text()
        await pilot.press(*"[1, 2")
        await pilot.press("ctrl+enter")  # where the terminal reports it: always runs
        await settle(pilot)
        assert screen.cell_views()[-1].code == "[1, 2"


async def test_countdown_on_the_editor_frame_when_the_side_panel_is_hidden(pool_settings, clock):
    app = AcajsApp(pool_settings, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        panel = screen.query_one(SidePanel)
        assert not panel.display  # 80 columns: no room for the panel
        editor = screen.editor
        assert not editor.border_subtitle  # nothing to count before the first run
        await run_code(pilot, "1")
        countdown = screen.query_one("#countdown", Countdown)
        left = screen.engine.cooldown.remaining()
        countdown.tick()
        await pilot.pause()
        assert "left" in str(editor.border_subtitle)
        frame = _frame_lines(editor)[-1]
        assert f"session {int(left + 0.999) // 60}:" in frame
        clock.advance(left - 30)
        countdown.tick()
        await pilot.pause()
        assert "session 0:30 left" in _frame_lines(editor)[-1]
        assert "warning" in str(editor.border_subtitle)
        clock.advance(31)
        countdown.tick()
        await pilot.pause()
        assert "session expired" in _frame_lines(editor)[-1]
        # The panel shown: the countdown is there, not on the frame.
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert panel.display and not editor.border_subtitle
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert "session expired" in _frame_lines(editor)[-1]


async def test_footer_keeps_the_key_hints_that_matter_on_a_narrow_terminal(pool_settings):
    from repl.tui.widgets.footer import KeyHints

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        footer = screen.query_one(KeyHints)
        wide = _lines(footer)[0]
        for hint in ("^j Run", "f1 Help", "f2 History", "^r Search history", "^o $EDITOR", "^q Quit", "^p palette"):
            assert hint in wide
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 1000) {}")
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert screen.cell_views()[-1].running
        narrow = _lines(footer)[0]
        assert len(narrow) <= 80 and "…" not in narrow
        for hint in ("^j Run", "f1 Help", "esc Stop waiting", "^q Quit", "^p palette"):
            assert hint in narrow, narrow
        assert "f2 History" not in narrow  # dropped first; still in F1 and the palette
        await settle(pilot)
        assert "Stop waiting" not in _lines(footer)[0]


async def test_history_entries_are_one_line_each_with_status_and_time(pool_settings):
    import re

    from repl.tui.widgets.history_screen import HistoryScreen

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await run_code(pilot, "function add(a, b) {\n  return a + b\n}")
        await run_code(pilot, "throw new Error('x'.repeat(120))")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        options = app.screen.query_one("#history-list")
        assert options.option_count >= 2
        lines = [line.strip(" ▊▎▔▁") for line in _lines(options)]
        newest, older = lines[0], lines[1]
        assert re.match(r"✗ (\d\d-\d\d )?\d\d:\d\d  throw new Error\('x'", newest) and newest.endswith("…"), lines
        assert re.match(r"✓ (\d\d-\d\d )?\d\d:\d\d  function add\(a, b\) \{ ⏎…$", older), lines
        # The preview shows the whole block.
        await pilot.press("down")
        await pilot.pause()
        assert "return a + b" in _text(app.screen.query_one("#history-preview"))


def test_cap_text_bounds_lines_and_characters():
    from repl.tui.widgets.output_view import HEAD_LINES, MAX_LINE_CHARS, TAIL_LINES, cap_text

    small = cap_text("a\nb\n")
    assert not small.capped and small.head == "a\nb"
    many = cap_text("".join(f"{i}\n" for i in range(1000)))
    assert many.head.split("\n") == [str(i) for i in range(HEAD_LINES)]
    assert many.tail.split("\n") == [str(i) for i in range(1000 - TAIL_LINES, 1000)]
    assert many.hidden_lines == 1000 - HEAD_LINES - TAIL_LINES
    assert many.notice() == f"{many.hidden_lines:,} lines hidden"
    one_long = cap_text("z" * 50_000)
    assert one_long.total_lines == 1 and one_long.hidden_lines == 0
    assert one_long.head == "z" * MAX_LINE_CHARS + "…"
    assert one_long.notice() == f"{50_000 - MAX_LINE_CHARS:,} characters not shown"


async def test_one_huge_line_is_capped_on_screen_and_kept_in_full(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await run_code(pilot, "console.log('x'.repeat(900000)); 'y'.repeat(300000)")
        assert view.state == "succeeded"
        out = view.part("stdout")
        assert out.full_text == 'x' * 900_000 + '\n'
        assert "characters not shown" in _text(out) and len(_text(out)) < 5_000
        value = view.part("value")
        assert "characters not shown" in _text(value) and len(_text(value)) < 5_000
        assert view.part("actions")  # pager / save / copy offered
        view.focus()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard.count("x") == 900_000
        assert value.full_text in app.clipboard  # the value as the kernel gave it (~10,000 characters)
        assert len(value.full_text) > 9_000
        app.screen.editor.focus()
        await pilot.press(*"ok")
        assert app.screen.editor.text == "ok"


async def test_auth_failure_is_a_service_error_that_says_what_to_do(local_pool):
    async with _azure_answering(401, "Unauthorized", "token expired", "expired-t0ken", "four-oh-one") as (app, pilot):
        view = await run_code(pilot, "1")
        assert view.state == "error" and view.has_class("-service")
        message = _text(view.part("service-error"))
        assert "401" in message or "auth" in message.lower()
        assert any(w in message.lower() for w in ("token", "sign in", "log in", "az login", "credential"))
        assert "expired-t0ken" not in app.export_screenshot()
        assert app.is_running


async def test_switching_theme_recolours_cells_and_editor(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        view = await run_code(pilot, "const word = 'text'; word")

        def colours() -> set:
            code = view.part("code").text
            value = view.part("value").text
            return {str(span.style) for text in (code, value) for span in text.spans}

        dark = colours()
        assert screen.editor.theme == "acajs-dark"
        app.theme = "light"
        await pilot.pause()
        await pilot.pause()
        light = colours()
        assert light and dark and light != dark
        assert screen.editor.theme == "acajs-light"


async def test_an_unusable_history_file_never_stops_the_app(pool_settings, monkeypatch, tmp_path):
    from repl.paths import history_file

    monkeypatch.setenv("ACAJS_DATA_DIR", str(tmp_path / "data"))
    history_file().mkdir(parents=True)  # a directory where the history file should be
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        view = await run_code(pilot, "6 * 7")
        assert view.state == "succeeded" and "42" in _text(view.part("value"))
        await pilot.press("up")  # walking a history that cannot be read
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        view = await run_code(pilot, "'still here'")
        assert view.state == "succeeded"
        problem = getattr(screen.engine, "history_problem", None)
        if problem is not None:  # the engine reports it: the app says it once
            said = [n for n in app._notifications if str(n.message) == problem]
            assert len(said) == 1


def _editor_keyword_colour(editor) -> str | None:
    """The colour the editor draws ``const`` in, read from its rendered line
    (the cursor, at the end, does not cover it)."""
    editor.move_cursor(editor.document.end)
    strip = editor.render_line(0)
    for segment in strip:
        if segment.text.startswith("const") and segment.style is not None and segment.style.color is not None:
            return segment.style.color.triplet.hex if segment.style.color.triplet else str(segment.style.color)
    return None


async def test_switching_theme_live_recolours_the_editors_syntax(pool_settings):
    """Through the picker (a modal on top of the main screen, live preview):
    the editor's keywords take the new theme's keyword colour at once."""
    from repl.tui.widgets.theme_picker import ThemePicker

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text("const word = 1")
        await settle(pilot)
        dark = _editor_keyword_colour(screen.editor)
        assert dark is not None and dark.lower() == app.current_repl_theme().syntax["keyword"].lower()
        app.push_screen(ThemePicker(app.theme_names(), app.theme))
        await settle(pilot)
        while app.theme != "light":
            await pilot.press("down")
            await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        light = _editor_keyword_colour(screen.editor)
        assert light is not None and light.lower() == app.current_repl_theme().syntax["keyword"].lower()
        assert light != dark


async def test_ctrl_l_during_a_run_keeps_the_running_cell_and_its_result(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "'before'")
        screen.editor.load_text("await new Promise((r) => setTimeout(r, 800)); 'after clear'")
        await pilot.press("ctrl+j")
        while not screen.engine.busy:
            await pilot.pause()
        await pilot.press("ctrl+l")
        await settle(pilot)
        views = screen.cell_views()
        assert len(views) == 1 and views[0].state == "succeeded"
        assert "'after clear'" in views[0].output_text()


async def test_down_on_the_last_cell_goes_back_to_the_editor(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "1")
        await run_code(pilot, "2")
        await pilot.press("ctrl+t")  # focus the last cell
        await pilot.pause()
        assert app.focused is screen.cell_views()[-1]
        await pilot.press("up")
        await pilot.pause()
        assert app.focused is screen.cell_views()[0]
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.focused is screen.editor


async def test_ctrl_d_exits_on_an_empty_editor_and_asks_while_a_run_is_pending(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"12")
        await pilot.press("ctrl+d")  # text in the editor: deletes to the right, does not exit
        await pilot.pause()
        assert app.is_running and screen.editor.text == "12"
        screen.editor.load_text("await new Promise((r) => setTimeout(r, 20000)); 1")
        await pilot.press("ctrl+j")
        while not screen.engine.busy:
            await pilot.pause()
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "running or queued" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and screen.waiting
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_stopping_a_run_asks_whether_to_drop_the_queue(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text("await new Promise((r) => setTimeout(r, 6000)); 'slow'")
        await pilot.press("ctrl+j")
        while not screen.engine.busy:
            await pilot.pause()
        for code in ("q1=1", "q2=2"):
            await pilot.press(*code, "enter")  # typed ahead
        queued = [v for v in screen.cell_views() if v.state == "queued"]
        assert len(queued) == 2
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "2 inputs queued" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        states = [v.state for v in screen.cell_views()]
        assert states == ["abandoned", "dropped", "dropped"]
        view = await run_code(pilot, "typeof q1 + typeof q2")
        assert "'undefinedundefined'" in view.output_text()  # never sent


ATTACKS = [
    "before\x1b[2J after",  # erase the screen
    "A\x1b]2;PWNED\x1b\\B",  # window title
    "\x1b]52;c;SGVsbG8=\x07clip",  # clipboard write (OSC 52)
    "\x1b]8;;http://evil\x07link\x1b]8;;\x07",  # hyperlink
    "\x1b[?1049h\x1b[999;1H",  # alternate screen, cursor moves
    "\x9b2J\x9d0;t\x9c",  # 8-bit CSI / OSC
]


async def test_hostile_output_reaches_the_screen_neutralised_and_copies_hold_no_escape(pool_settings):
    """What the kernel prints is drawn as text: no segment on screen carries a
    control character (Textual would write it to the terminal as is), colours
    stay, \\r progress is applied; copies hold no escape at all."""
    import json as _json

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        code = "; ".join(f"console.log({_json.dumps(a)})" for a in ATTACKS)
        view = await run_code(pilot, code + "; console.log('\\x1b[31mred\\x1b[0m'); console.log('10%\\r50%\\r100%')")
        out = view.part("stdout")
        rendered = out.text
        text = rendered.plain
        assert "before after" in text.replace("  ", " ") and "AB" in text and "clip" in text and "link" in text
        assert "100%" in text and "10%" not in text
        assert not any(ch in text for ch in "\x1b\x07\x9b\x9c\x9d")
        assert any(str(span.style) in ("red", "color(1)") for span in rendered.spans)  # SGR colour kept as a style
        for line in range(40):
            strip = screen.render_line(line) if hasattr(screen, "render_line") else []
            for segment in strip:
                assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in segment.text), repr(segment.text)
        copied = view.output_text()
        assert "\x1b" not in copied and "\x9b" not in copied and "PWNED" not in copied


async def test_connecting_shows_the_session_before_the_collectors_pass(pool_settings, monkeypatch):
    """Start-up: the header names the session as soon as the client is ready; the
    full collection and freeze after connecting (tens of ms) wait until it is
    painted, and still happen."""
    seen: list[str] = []
    freeze = ReplScreen._freeze_what_lives_on

    def recording() -> None:
        seen.append(app.sub_title)
        freeze()

    monkeypatch.setattr(ReplScreen, "_freeze_what_lives_on", staticmethod(recording))
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert len(seen) == 1 and pool_settings.session in seen[0], seen


async def test_while_connecting_the_panel_waits_and_a_key_switches_highlighting_on(pool_settings):
    """The side panel and the editor's highlighting wait for the connection's
    paint (start-up, docs/benchmarks.md "Issue 14, fourth pass"); a key typed
    sooner switches highlighting on at once, and the panel comes with the header."""
    import asyncio

    from repl.engine import open_engine

    gate = asyncio.Event()

    async def gated(settings: Settings):
        await gate.wait()
        return await open_engine(settings)

    app = AcajsApp(pool_settings, engine_factory=gated)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplScreen)
        panel = screen.query_one(SidePanel)
        assert screen.editor.language is None and not panel.display
        await pilot.press("c", "o", "n", "s", "t")
        assert screen.editor.language == "javascript"
        assert screen.editor.text == "const"
        assert not panel.display and "session" not in app.sub_title
        gate.set()
        await settle(pilot)
        assert pool_settings.session in app.sub_title
        assert panel.display
        styles = {span[2] for spans in screen.editor._highlights.values() for span in spans}
        assert "keyword" in styles
