"""A long transcript stays cheap: finished cells far above the view are folded
into archives (repl.tui.widgets.cell_archive) that draw them as live cells
draw, and come back to life on a click or Up. Real pool, real runs."""

from __future__ import annotations

import gc
import weakref

from repl.config import Settings
from repl.tui.app import AcajsApp
from repl.tui.widgets import transcript as transcript_module
from repl.tui.widgets.cell import CellView
from repl.tui.widgets.cell_archive import CellArchive
from repl.tui.widgets.transcript import ARCHIVE_CHUNK

from .conftest import settle, until

RUNS = 80
SESSION = "archive-session-7c41d09e"


def _frame_lines(widget) -> list[str]:
    """The screen lines a widget covers, as plain text."""
    region = widget.region
    strips = widget.screen._compositor.render_strips()
    return [strips[y].text[region.x : region.right] for y in range(region.y, region.bottom)]


async def _long_transcript(pilot, first: str) -> tuple[str, weakref.ref[CellView]]:
    """``first``, then RUNS - 1 more inputs typed ahead (queued, run in turn).
    Returns the first cell's view id and a weak reference to its view."""
    screen = pilot.app.screen
    screen.submit(first)
    # the cell is put on screen once its run has lasted a moment, or with its result
    await until(pilot, lambda: screen.cell_views(), "the first cell")
    view = screen.cell_views()[-1]
    first_id, first_view = view.id, weakref.ref(view)
    del view
    for i in range(2, RUNS + 1):
        screen.submit(f"console.log('line of ' + {i}); {i} * 2")
    await until(pilot, lambda: screen.transcript.cell_count() == RUNS and not screen.waiting, "the runs")
    await until(pilot, lambda: len(screen.transcript.archives()) >= 2, "the archiving")
    await settle(pilot)
    return first_id, first_view


async def test_a_long_transcript_is_archived_scrolls_whole_and_revives(pool_settings):
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        first_id, first_view = await _long_transcript(pilot, 'console.log("first out"); "first-value"')
        # Bounded: most cells are drawn by a few archives, not one widget each.
        assert transcript.cell_count() == RUNS
        assert [r.n for r in transcript.records()] == list(range(1, RUNS + 1))
        assert len(transcript.cells()) < 2 * ARCHIVE_CHUNK
        assert len(transcript.children) < 3 * ARCHIVE_CHUNK
        assert all(a.cell_count <= ARCHIVE_CHUNK for a in transcript.archives())
        assert not any(r.draw_error for r in transcript.records())
        # The archived views themselves are gone: nothing keeps them, nothing froze them.
        assert first_id not in {v.id for v in transcript.cells()}

        def collected() -> bool:
            gc.collect()
            return first_view() is None

        await until(pilot, collected, "the archived view collected")

        # Scrolling to the top shows cell 1 as it was: code, output, value, status.
        transcript.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        shown = "\n".join(_frame_lines(transcript))
        assert "In [1]" in shown and 'console.log("first out")' in shown
        assert "first out" in shown and "Out[1]: 'first-value'" in shown and " ok " in shown

        # A click on it revives its archive: cell 1 is a CellView again, focused.
        archive = transcript.archives()[0]
        await pilot.click(archive, offset=(10, 2))
        await until(pilot, lambda: isinstance(screen.focused, CellView) and screen.focused.n == 1, "cell 1 revived")
        view = screen.focused
        assert isinstance(view, CellView) and view.id == first_id  # the same id: its actions work
        await until(pilot, lambda: archive not in transcript.children, "the revived archive gone")
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "first out\n'first-value'\n" == view.output_text()
        assert [r.n for r in transcript.records()] == list(range(1, RUNS + 1))

        # Up from the first live cell below an archive revives that archive.
        later = transcript.archives()[-1]
        first_after = next(c for c in transcript.children[transcript.children.index(later) + 1:]
                           if isinstance(c, CellView))
        first_after.focus()
        await pilot.pause()
        await pilot.press("up")
        wanted = first_after.n - 1
        await until(pilot, lambda: isinstance(screen.focused, CellView) and screen.focused.n == wanted,
                    "the cell above revived")
        await until(pilot, lambda: later not in transcript.children, "the revived archive gone")
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == f"line of {wanted}\n{wanted * 2}\n"
        assert [r.n for r in transcript.records()] == list(range(1, RUNS + 1))


async def test_archived_cells_follow_presenter_mode_and_theme_and_go_on_clear(local_pool):
    settings = Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30, session=SESSION)
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        await _long_transcript(pilot, f"console.log('{SESSION}'); 'a string value'")
        assert transcript.archives()[0].entries[0].n == 1

        def first_cell() -> str:
            return "\n".join(p.plain for p in transcript.archives()[0].entry_parts(0))

        assert SESSION in first_cell()
        # Presenter mode: the archived cell is redacted like a live one.
        screen.action_toggle_presenter()
        await settle(pilot)
        assert SESSION not in first_cell() and "<session>" in first_cell()
        transcript.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        assert SESSION not in "\n".join(_frame_lines(transcript))
        screen.action_toggle_presenter()
        await settle(pilot)
        assert SESSION in first_cell()

        # A theme switch recolours archived cells (code, value, head).
        def colours() -> set[str]:
            parts = transcript.archives()[0].entry_parts(0)
            return {str(span.style) for p in parts for span in p.text.spans} | {str(p.text.style) for p in parts}

        dark = colours()
        app.theme = "light"
        await pilot.pause()
        await pilot.pause()
        light = colours()
        assert dark and light and dark != light

        # Ctrl+L: the archives go too, and are collected (not kept frozen).
        gone = weakref.ref(transcript.archives()[0])
        screen.editor.focus()
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert transcript.cell_count() == 0 and not transcript.archives()

        def collected() -> bool:
            gc.collect()
            return gone() is None

        await until(pilot, collected, "the cleared archive collected")
        # The transcript works on: new cells, archived again later.
        screen.submit("'after clear'")
        await until(pilot, lambda: transcript.cell_count() == 1 and not screen.waiting, "a run after the clear")
        assert "'after clear'" in transcript.cells()[-1].output_text()


async def test_archive_builds_from_live_cells_with_their_drawn_parts(pool_settings):
    """An archive made of live views reuses what they drew (no second
    highlighting) and draws the same text."""
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.submit("const o = {a: 1}; o")
        await until(pilot, lambda: screen.transcript.cell_count() == 1 and not screen.waiting, "the run")
        await settle(pilot)
        view = screen.transcript.cells()[0]
        live = [p.plain for p in view.parts()]
        archive = CellArchive.of([view])
        assert archive.entries[0] is view.record
        await screen.transcript.mount(archive)
        await pilot.pause()
        assert [p.plain for p in archive.entry_parts(0)] == live


async def test_a_cell_that_cannot_be_drawn_says_so_and_keeps_its_result(pool_settings, monkeypatch):
    import repl.tui.widgets.cell as cell_module

    real = cell_module.result_parts

    def broken(rec, *args):
        if "boom-draw" in rec.code:
            raise ValueError("bad layout")
        return real(rec, *args)

    monkeypatch.setattr(cell_module, "result_parts", broken)
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.submit("'boom-draw'")
        await until(pilot, lambda: screen.transcript.cell_count() == 1 and not screen.waiting, "the run")
        await settle(pilot)
        view = screen.transcript.cells()[-1]
        error = view.part("draw-error")
        assert error is not None and error.plain.startswith("This cell could not be drawn (ValueError: bad layout)")
        assert "This cell could not be drawn" in "\n".join(_frame_lines(screen.transcript))
        assert view.output_text() == "'boom-draw'\n"  # the result is kept for copy, pager, save
        assert view.record.draw_error is not None
        screen.submit("6 * 7")
        await until(pilot, lambda: screen.transcript.cell_count() == 2 and not screen.waiting, "the next run")
        await settle(pilot)
        assert app.is_running and "42" in screen.transcript.cells()[-1].output_text()


async def test_archived_views_are_collected_in_a_session_at_human_pace(pool_settings):
    """Runs one at a time, the transcript quiet in between (its collections
    run there): no archived view is kept alive, none is frozen for ever."""
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        refs: list[weakref.ref[CellView]] = []
        for i in range(70):
            screen.submit(f"'run {i}'")
            await until(pilot, lambda: not screen.waiting, "the run")
            refs.append(weakref.ref(screen.cell_views()[-1]))
            await until(pilot, lambda: transcript._collect_timer is None and not transcript._archive_scheduled,
                        "the quiet moment's archiving and collection")
        archived = {r.view_id for a in transcript.archives() for r in a.records()}
        assert len(archived) >= 2 * ARCHIVE_CHUNK

        def none_alive() -> bool:
            gc.collect()
            return not [r for r in refs if (v := r()) is not None and v.id in archived]

        await until(pilot, none_alive, "the archived views collected")


async def test_old_archives_merge_and_a_merged_one_revives_a_chunk_at_a_time(pool_settings, monkeypatch):
    # Small numbers, same rules: archives of 5 cells, at most 2 kept apart.
    monkeypatch.setattr(transcript_module, "ARCHIVE_CHUNK", 5)
    monkeypatch.setattr(transcript_module, "MAX_ARCHIVES", 2)
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        await _long_transcript(pilot, "'first'")
        await until(pilot, lambda: len(transcript.archives()) <= 2 and transcript.archives()[0].cell_count > 5,
                    "the old archives merged")
        numbers = list(range(1, RUNS + 1))
        assert transcript.cell_count() == RUNS and [r.n for r in transcript.records()] == numbers
        big = transcript.archives()[0]
        merged = big.cell_count
        transcript.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        shown = "\n".join(_frame_lines(transcript))
        assert "In [1]" in shown and "Out[1]: 'first'" in shown and "In [2]" in shown
        live = len(transcript.cells())

        def in_order() -> bool:
            return transcript.cell_count() == RUNS and [r.n for r in transcript.records()] == numbers

        # A click in the middle of the merged archive revives the 5 entries around
        # it; the entries above and below stay archived, around them.
        middle = merged // 2
        big.post_message(CellArchive.Revive(big, middle))
        await until(pilot, lambda: isinstance(screen.focused, CellView) and screen.focused.n == middle + 1,
                    "the clicked cell revived")
        await until(pilot, in_order, "every cell once, in order")
        assert len(transcript.cells()) == live + 5
        kinds = [type(c).__name__ for c in transcript.children if c not in transcript._leaving]
        first_view = kinds.index("CellView")
        assert kinds[first_view - 1] == "CellArchive" and kinds[first_view + 5] == "CellArchive"
        assert big.cell_count == middle - 2  # the entries above the chunk
        # The archive below starts at the cell after the chunk, drawn from its kept line counts.
        below = [c for c in transcript.children if c not in transcript._leaving][first_view + 5]
        transcript.scroll_to(y=below.virtual_region.y, animate=False)
        await pilot.pause()
        await pilot.pause()
        shown = "\n".join(_frame_lines(transcript))
        assert f"In [{middle + 4}]" in shown and f"line of {middle + 4}" in shown
        screen.focused.scroll_visible(animate=False)
        await pilot.pause()
        # The revived cell works: its output is the value of that run.
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == f"line of {middle + 1}\n{(middle + 1) * 2}\n"

        # Up from the first revived cell revives the last 5 entries of the archive above.
        first = next(c for c in transcript.cells() if c.n == middle - 1)
        first.focus()
        await pilot.pause()
        await pilot.press("up")
        await until(pilot, lambda: isinstance(screen.focused, CellView) and screen.focused.n == middle - 2,
                    "the cell above revived")
        await until(pilot, in_order, "every cell once, in order, again")
        assert big.cell_count == middle - 7


def test_an_archive_counts_its_cells_through_extend_absorb_and_split():
    """The count is kept with the entries (the transcript asks it at every run),
    notes not counted, whatever the archive went through."""
    from rich.text import Text

    from repl.tui.widgets.cell_render import CellRecord, NoteRecord

    def entries(first: int, count: int) -> list[CellRecord | NoteRecord]:
        out: list[CellRecord | NoteRecord] = []
        for n in range(first, first + count):
            out.append(CellRecord(f"cell-{n}", n, f"{n}"))
            if n % 3 == 0:
                out.append(NoteRecord(Text(f"note {n}"), "note"))
        return out

    def consistent(archive: CellArchive) -> int:
        assert archive.cell_count == len(archive.records())
        return archive.cell_count

    upper, lower = CellArchive(entries(1, 30)), CellArchive(entries(31, 20))
    assert consistent(upper) == 30 and consistent(lower) == 20
    views = [CellView(r.n, r.code, record=r) if isinstance(r, CellRecord) else r for r in entries(51, 4)]
    upper.extend(views)  # live views (and notes), as the transcript folds them
    assert consistent(upper) == 34
    upper.absorb(lower)
    assert consistent(upper) == 54
    taken, after = upper.split(10, 35)
    assert after is not None
    assert consistent(upper) + consistent(after) + sum(isinstance(e, CellRecord) for e in taken) == 54


async def test_a_run_in_a_full_transcript_does_not_draw_the_transcript_background_again(pool_settings, monkeypatch):
    """Each run grows the transcript's virtual size, which makes Textual drop
    the lines it cached for the transcript itself. Those lines are only its
    background (``TranscriptView.BLANK``): drawn as one blank strip, not again
    line by line under the cells at every run. A spy counts the lines drawn
    through Textual's styles cache, by widget."""
    from collections import Counter

    from textual._styles_cache import StylesCache

    from repl.tui.widgets.transcript import TranscriptView

    drawn: Counter[str] = Counter()
    real = StylesCache.render_line

    def counting(self, styles, y, size, content_size, padding, base, background, render_content_line, *rest):
        drawn[type(render_content_line.__self__).__name__] += 1
        return real(self, styles, y, size, content_size, padding, base, background, render_content_line, *rest)

    monkeypatch.setattr(StylesCache, "render_line", counting)
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript
        for i in range(1, 31):
            screen.submit(f"{i} * 2")
        await until(pilot, lambda: transcript.cell_count() == 30 and not screen.waiting, "the runs")
        await settle(pilot)
        assert transcript.max_scroll_y > 0  # full: a run scrolls every cell up
        drawn.clear()
        screen.submit("'one more'")
        await until(pilot, lambda: transcript.cell_count() == 31 and not screen.waiting, "the run")
        await settle(pilot)
        assert drawn["CellView"] > 0 and drawn["ScrollBar"] > 0  # the spy sees the frame
        assert drawn[TranscriptView.__name__] == 0


async def test_what_a_collection_traverses_grows_by_a_few_objects_a_cell(pool_settings):
    """Outside the generation frozen at connect, a long transcript keeps its
    cells' data (record, cell, execution: ~5 objects a cell) and Textual's
    bounded caches while they fill: live widgets are bounded by the archives,
    and Textual's memoised geometry and line caches are cleared before each of
    the app's collections. Here: ~16 objects a cell from 100 to 250 cells
    (~72 without that clearing). The bound, 40 a cell, catches a cache or
    list keyed per cell or per coordinate."""
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        transcript = screen.transcript

        async def grow_to(count: int) -> int:
            for i in range(transcript.cell_count() + 1, count + 1):
                screen.submit(f"{i} + 1")
            await until(pilot, lambda: transcript.cell_count() == count and not screen.waiting, "the runs", 120)
            await settle(pilot)
            for _ in range(30):  # the archive steps that follow, five cells each
                await pilot.pause(0.02)
            transcript._collect()  # the app's own collection, as after an archive step
            return len(gc.get_objects())

        before = await grow_to(100)
        after = await grow_to(250)
        assert after - before < 40 * 150, (before, after)
