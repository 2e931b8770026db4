"""What start-up does not import (each import holds the GIL the other threads
need, docs/benchmarks.md "Issue 14, third pass"): checked in a fresh Python."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def loaded_after(code: str, modules: list[str]) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_tui_first_frame_needs_no_http_client() -> None:
    """The app's modules (its screen, widgets, the core transcript) load without
    httpx: the client is imported by the connect worker after the first frame."""
    loaded = loaded_after("import repl.cli.main, repl.tui.app, repl.tui.screens.main",
                          ["httpx", "repl.api.client", "textual.app"])
    assert loaded == {"httpx": False, "repl.api.client": False, "textual.app": True}


def test_the_pools_model_needs_no_web_framework() -> None:
    """The sessions' model (which starts the first kernel) loads without starlette
    or uvicorn: those are imported while that kernel starts."""
    loaded = loaded_after("import repl.local.embedded, repl.local.pool", ["starlette", "uvicorn", "repl.local.pool"])
    assert loaded == {"starlette": False, "uvicorn": False, "repl.local.pool": True}


def test_the_tui_first_frame_defers_what_it_does_not_draw() -> None:
    """Completion, plays, pygments and the help screen load when first used (or
    in a thread once connected), not before the first frame."""
    loaded = loaded_after(
        "import repl.cli.main, repl.tui.app, repl.tui.screens.main",
        ["repl.tui.completer", "repl.js.completion", "repl.play", "pygments.lexers", "repl.tui.widgets.help_screen",
         "repl.tui.widgets.editor"],
    )
    assert loaded == {"repl.tui.completer": False, "repl.js.completion": False, "repl.play": False,
                      "pygments.lexers": False, "repl.tui.widgets.help_screen": False,
                      "repl.tui.widgets.editor": True}


def test_the_lexers_wide_patterns_compile_on_first_use() -> None:
    """The ``\\u00aa-\\uffff`` classes of the completion's and the input rules'
    patterns (~25 ms to compile) are not compiled by importing the engine (the
    connect worker does) nor the screen; the first use compiles them."""
    probe = (
        "import repl.engine, repl.tui.screens.main\n"
        "from repl.js.completeness import word_patterns, scan\n"
        "from repl.js.completion import patterns, completion_context\n"
        "before = (word_patterns.cache_info().currsize, patterns.cache_info().currsize)\n"
        "scan('a.b'); completion_context('a.b', 3)\n"
        "after = (word_patterns.cache_info().currsize, patterns.cache_info().currsize)\n"
        "import json; print(json.dumps([before, after]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[0, 0], [1, 1]]


def test_the_engine_loads_plays_and_recordings_when_used() -> None:
    """The connect worker imports the engine before the header names the
    session: ``.play`` and ``.export x.cast`` import theirs when used."""
    loaded = loaded_after("import repl.engine", ["repl.play", "repl.recording", "repl.engine"])
    assert loaded == {"repl.play": False, "repl.recording": False, "repl.engine": True}
