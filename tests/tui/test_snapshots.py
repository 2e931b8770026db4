"""Snapshots of the main screen at 80x24 and 160x48 in every shipped theme.

Deterministic: a local pool with a fixed token and no ready kernels (so the
pool status never changes under the test), a fixed session identifier, a clock
that does not move, and cells with fixed timings. The pool listens on any free
port (two test runs at once never collide); the connection's display texts
(header label, side panel endpoint) are pinned to a fixed port after it opens,
so the screen does not depend on the port the pool got.
Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look
at the SVGs in ``tests/tui/__snapshots__/``.
"""

from __future__ import annotations

import pytest

from repl.api.models import Execution, ExecutionStatus
from repl.config import Settings
from repl.transcript import Cell
from repl.tui.app import AcajsApp
from repl.tui.themes import load_themes
from repl.tui.widgets.cell import CellView
from repl.tui.widgets.side_panel import SidePanel

from .conftest import ManualClock

SHOWN_HOST = "127.0.0.1:47613"  # what the screen shows, whatever port the pool got
SNAPSHOT_TOKEN = "snapshot-token"
SNAPSHOT_ID = "5f0c2d1e-8a4b-4c3d-9e2f-000000000001"
SHIPPED = ["dark", "light", "high-contrast"]


@pytest.fixture(scope="module")
def snapshot_pool(tmp_path_factory):
    from repl.local.settings import PoolSettings

    from ..conftest import running_pool

    yield from running_pool(
        PoolSettings(
            token=SNAPSHOT_TOKEN,
            ready=0,
            max_sessions=5,
            cooldown=300,
            data_dir=tmp_path_factory.mktemp("snapshot-pool"),
        )
    )


def fixed_cells() -> list[Cell]:
    return [
        Cell(
            n=1,
            code='console.log("hello from NodeLTS");\n[1, 2, 3].map((x) => x * 2)',
            execution=Execution(
                ExecutionStatus.SUCCEEDED,
                stdout="hello from NodeLTS\n",
                value=[2, 4, 6],
                value_text="[ 2, 4, 6 ]",
                server_ms=3,
                round_trip_ms=41,
            ),
        ),
        Cell(
            n=2,
            code="JSON.parse('{oops')",
            execution=Execution(
                ExecutionStatus.FAILED,
                stderr="SyntaxError: Expected property name or '}' in JSON at position 1",
                server_ms=2,
                round_trip_ms=38,
            ),
        ),
        Cell(
            n=3,
            code="await fetch('https://example.com')",
            error=(
                f"Cannot reach the pool at {SHOWN_HOST} (connection refused): "
                "check that the endpoint is right and the pool is running."
            ),
        ),
    ]


async def open_pinned_engine(settings: Settings):
    """The real engine on the snapshot pool, with its display texts on a fixed port."""
    from urllib.parse import urlsplit

    from repl.engine import open_engine

    engine = await open_engine(settings, clock=ManualClock(5000.0))
    conn = engine.connection
    real_host = urlsplit(conn.endpoint).netloc
    conn.label = conn.label.replace(real_host, SHOWN_HOST)
    conn.endpoint = conn.endpoint.replace(real_host, SHOWN_HOST)
    assert SHOWN_HOST in conn.label and SHOWN_HOST in conn.endpoint
    return engine


def make_app(snapshot_pool, theme: str) -> AcajsApp:
    settings = Settings(
        endpoint=snapshot_pool.endpoint,
        token=SNAPSHOT_TOKEN,
        session=SNAPSHOT_ID,
        theme=theme,
    )
    return AcajsApp(settings, engine_factory=open_pinned_engine)


async def populate(pilot) -> None:
    app = pilot.app
    for _ in range(4):
        await pilot.pause()
        await app.workers.wait_for_complete()
    screen = app.screen
    for cell in fixed_cells():
        screen.transcript.add_cell(CellView(cell.n, cell.code, cell=cell))
    screen.engine.cooldown.touch()
    screen.query_one("#countdown").tick()
    screen.query_one(SidePanel).show_round_trips([41.0, 38.0, 52.0, 40.0, 61.0, 39.0])
    screen.editor.cursor_blink = False  # a blinking cursor is not deterministic
    screen.editor.load_text("const total = [1, 2, 3].reduce((a, b) => a + b, 0)")
    screen.editor.move_cursor(screen.editor.document.end)
    await pilot.pause()


def test_shipped_themes_are_the_snapshot_themes():
    themes, problems = load_themes()
    assert problems == []
    assert set(SHIPPED) <= set(themes)


@pytest.mark.parametrize("theme", SHIPPED)
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen_snapshot(snap_compare, snapshot_pool, theme, size):
    assert snap_compare(make_app(snapshot_pool, theme), terminal_size=size, run_before=populate)
