"""The prompt-toolkit completer over the completion core, with a real local pool."""

from __future__ import annotations

import re

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from repl.line.completer import JsCompleter, make_completer

from .conftest import engine_for, run_repl


async def collect(completer: JsCompleter, text: str, *, tab: bool, cursor: int | None = None):
    doc = Document(text, len(text) if cursor is None else cursor)
    return [c async for c in completer.get_completions_async(doc, CompleteEvent(completion_requested=tab))]


async def test_tab_after_a_dot_offers_the_session_properties(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        completer = make_completer(engine)
        items = await collect(completer, "x = Math.fl", tab=True)
        assert [c.text for c in items] == ["floor"]
        assert items[0].start_position == -2  # replaces "fl"
        assert items[0].display_meta_text == "property"
        assert engine.cooldown.started
        # in the middle of a line
        items = await collect(completer, "Math.ma + 1", tab=True, cursor=7)
        assert [c.text for c in items] == ["max"]


async def test_typing_without_tab_never_asks_the_session(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        completer = JsCompleter(engine)
        assert await collect(completer, "Math.fl", tab=False) == []
        assert not engine.cooldown.started
        # local candidates still come while typing
        items = await collect(completer, "Prom", tab=False)
        assert [(c.text, c.display_meta_text) for c in items] == [("Promise", "global")]


async def test_declared_names_and_synchronous_completions(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        cell = await engine.run("let lineModeValue = { piece: 1 }")
        assert cell.ok
        completer = JsCompleter(engine)
        items = list(completer.get_completions(Document("lineMo"), CompleteEvent(completion_requested=True)))
        assert [(c.text, c.display_meta_text) for c in items] == [("lineModeValue", "declared")]
        # synchronous completion has no network: properties only once cached
        assert list(completer.get_completions(Document("lineModeValue.pi"), CompleteEvent())) == []
        items = await collect(completer, "lineModeValue.pi", tab=True)
        assert [c.text for c in items] == ["piece"]
        items = list(completer.get_completions(Document("lineModeValue.pi"), CompleteEvent()))
        assert [c.text for c in items] == ["piece"]


async def test_tab_in_the_line_repl_completes_and_runs(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            h.type("Math.floo\t")
            await h.wait_for(lambda: h.repl.session.default_buffer.text == "Math.floor")
            m = h.mark()
            h.type("(2.5)\r")
            await h.wait_for("succeeded", after=m)
            assert re.search(r"^2$", h.since(m), re.M)
            assert engine.transcript.cells[-1].code == "Math.floor(2.5)"
            assert await h.exit() == 0
