"""Live demos in the full-screen app: play files and presenter mode."""

from __future__ import annotations

import re
import time
from pathlib import Path

from repl.config import Settings
from repl.tui.app import AcajsApp

from .conftest import run_code, settle, until

PLAY = """\
// %% Setup
const greet = (name) => `hello ${name}`

// %% Use it
greet('stage')

// %% This one fails
undefinedFunction()

// %% Never reached
'after'
"""



def _mode_line(screen) -> str:
    return str(screen.query_one("#mode-line").render())


async def test_play_steps_advance_go_back_edit_and_stop_on_failure(local_pool, tmp_path: Path):
    script = tmp_path / "demo.js"
    script.write_text(PLAY)
    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30)
    settings.play = str(script)
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await until(pilot, lambda: "greet" in screen.editor.text, "the first step")
        assert "step 1 of 4: Setup" in _mode_line(screen)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.cell_views()[-1].state == "succeeded"
        await pilot.press("pagedown")
        await pilot.pause()
        assert screen.editor.text.strip() == "greet('stage')"
        assert "step 2 of 4: Use it" in _mode_line(screen)
        await pilot.press("pageup")  # back to step 1, then forward again
        await pilot.pause()
        assert "step 1 of 4" in _mode_line(screen) and "const greet" in screen.editor.text
        await pilot.press("pagedown")
        await pilot.pause()
        # edit the step before running it
        await pilot.press("end", "backspace", "backspace", *"!')")
        await pilot.pause()
        assert screen.editor.text.strip() == "greet('stage!')"
        await pilot.press("enter")
        await settle(pilot)
        assert "'hello stage!'" in screen.cell_views()[-1].output_text()
        await pilot.press("pagedown")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        failed = screen.cell_views()[-1]
        assert failed.state == "failed"
        notice_part = failed.part("notice")
        assert notice_part is not None
        notice = notice_part.plain
        assert "play stopped: step 3 of 4 (This one fails) failed at demo.js:8" in notice
        assert "failed" in _mode_line(screen)


async def test_play_types_steps_out_at_the_given_speed(local_pool, tmp_path: Path):
    script = tmp_path / "typed.js"
    script.write_text("'typed out'\n")
    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30)
    settings.play, settings.play_speed = str(script), 10.0
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        # not settle(): it would wait for the typing to end
        await until(pilot, lambda: app.screen.engine is not None, "the connection")
        seen: set[str] = set()
        end = time.monotonic() + 20
        while app.screen.editor.text != "'typed out'" and time.monotonic() < end:
            seen.add(app.screen.editor.text)
            await pilot.pause(0.005)
        assert app.screen.editor.text == "'typed out'"
        assert any(0 < len(t) < len("'typed out'") for t in seen)  # it appeared in parts


async def test_presenter_mode_hides_every_identifier_on_screen(local_pool, tmp_path: Path):
    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30,
                        session="demo-session-4f9a2c71e0", subscription="5e8d1c3a-7b2f-4d6e-9a10-3c4b5d6e7f80",
                        resource_group="rg-secret-demo")
    settings.present = True
    host = re.sub(r"^https?://", "", local_pool.endpoint).split("/", 1)[0]  # 127.0.0.1:PORT
    app = AcajsApp(settings)
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "'ran in ' + 'demo-session-4f9a2c71e0'.length + ' chars'")
        await run_code(pilot, "console.log('rg: rg-secret-demo, sub 5E8D1C3A-7B2F-4D6E-9A10-3C4B5D6E7F80')")
        screen.action_copy_identifier()  # its notification names no identifier either
        await settle(pilot)
        svg = app.export_screenshot()
        for secret in ("demo-session-4f9a2c71e0", host, "rg-secret-demo", "5e8d1c3a-7b2f-4d6e-9a10-3c4b5d6e7f80"):
            assert secret.lower() not in svg.lower(), secret
        assert "&lt;session&gt;" in svg or "<session>" in svg
        assert screen.has_class("-present")
        assert screen.engine.keep_alive is not None  # presenting keeps the session alive
        # off again: the identifiers come back
        screen.action_toggle_presenter()
        await settle(pilot)
        assert "demo-session-4f9a2c71e0" in app.export_screenshot()


async def test_export_cast_records_the_transcript(local_pool, tmp_path: Path):
    import json

    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30)
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.engine.cwd = tmp_path
        await run_code(pilot, "console.log('on stage'); 6 * 7")
        screen.editor.load_text(".export talk.cast")
        await pilot.press("enter")
        await settle(pilot)
    lines = (tmp_path / "talk.cast").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    events = [json.loads(line) for line in lines[1:]]
    text = "".join(e[2] for e in events if e[1] == "o")
    assert "on stage" in text and "42" in text
