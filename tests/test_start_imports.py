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
