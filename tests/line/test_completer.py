"""The prompt-toolkit completer over the completion core, with a real local pool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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
        assert not engine.completer.cached_properties("lineModeValue")
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


def menu(h) -> list[str]:
    state = h.repl.session.default_buffer.complete_state
    return [c.display_text for c in state.completions] if state is not None else []


async def test_a_burst_after_tab_lands_in_the_buffer_and_the_menu_narrows(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        cell = await engine.run("const shelf = { apple: 1, apricot: 2, avocado: 3, banana: 4 }")
        assert cell.ok
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buffer = h.repl.session.default_buffer
            h.type("shelf.a")
            await h.wait_for(lambda: buffer.text == "shelf.a")
            h.type("\tp")  # Tab, then a key without a pause
            await h.wait_for(lambda: buffer.text == "shelf.ap" and menu(h) == ["apple", "apricot"])
            h.type("r")  # the menu filters as you type
            await h.wait_for(lambda: buffer.text == "shelf.apr" and menu(h) == ["apricot"])
            h.type("\t")  # Tab walks the menu: the one candidate
            await h.wait_for(lambda: buffer.text == "shelf.apricot")
            m = h.mark()
            h.type("\r")
            await h.wait_for("succeeded", after=m)
            assert engine.transcript.cells[-1].code == "shelf.apricot"
            assert await h.exit() == 0


async def test_the_menu_filters_as_you_type_after_tab_only(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        cell = await engine.run("let appleOne = 1, appleTwo = 2, appleThree = 3")
        assert cell.ok
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buffer = h.repl.session.default_buffer
            h.type("appl")
            await h.wait_for(lambda: buffer.text == "appl")
            assert buffer.complete_state is None  # no menu pops up while typing
            h.type("\t")
            await h.wait_for(lambda: buffer.text == "apple" and menu(h) == ["appleOne", "appleThree", "appleTwo"])
            h.type("T")
            await h.wait_for(lambda: buffer.text == "appleT" and menu(h) == ["appleThree", "appleTwo"])
            h.type("w")
            await h.wait_for(lambda: buffer.text == "appleTw" and menu(h) == ["appleTwo"])
            h.type(" + ")  # the word is done: the menu closes and stays closed
            await h.wait_for(lambda: buffer.text == "appleTw + " and buffer.complete_state is None)
            h.type("ap")
            await h.wait_for(lambda: buffer.text == "appleTw + ap")
            assert buffer.complete_state is None
            # after a run, the next prompt does not pop up a menu for the same word
            h.type("\x7f" * len(buffer.text) + "app\t")
            await h.wait_for(lambda: buffer.text == "apple" and len(menu(h)) == 3)
            m = h.mark()
            h.type("\x1b\r")  # Alt+Enter: run as it is
            await h.wait_for("apple is not defined", after=m)
            await h.idle_prompt()
            h.type("appleO")
            await h.wait_for(lambda: buffer.text == "appleO")
            assert buffer.complete_state is None


async def test_load_completes_local_paths(pool_settings, data_dir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "demo-script.js").write_text("40 + 2\n")
    (tmp_path / "dev").mkdir()
    monkeypatch.chdir(tmp_path)
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        completer = JsCompleter(engine)
        items = await collect(completer, ".load de", tab=True)
        assert [(c.text, c.display_text, c.display_meta_text) for c in items] == [
            ("demo-script.js", "demo-script.js", "file"),
            ("dev/", "dev/", "directory"),
        ]
        assert await collect(completer, ".load Ma", tab=True) == []  # never JavaScript names
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buffer = h.repl.session.default_buffer
            h.type(".load demo\t")
            await h.wait_for(lambda: buffer.text == ".load demo-script.js")
            h.type("\r")
            await h.wait_for(lambda: buffer.text == "40 + 2")  # loaded into the next prompt
        assert not engine.cooldown.started  # local paths ask nothing of the session


async def test_keys_typed_while_the_session_answers_are_kept(pool_settings, data_dir, local_pool, tmp_path: Path):
    """The probe is held at the pool (behind an execution sent around the
    engine) until the test releases it: the keys typed meanwhile are kept."""
    import asyncio

    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        engine.completer.timeout = 30  # wait for the held probe (the default bound is short)
        cell = await engine.run("const shelf = { apple: 1, apricot: 2, avocado: 3, banana: 4 }")
        assert cell.ok
        session = local_pool.pool.get(engine.identifier)
        hold = asyncio.create_task(
            engine.client.execute(
                "const fs = require('fs'); const t0 = Date.now();"
                " while (!fs.existsSync('/mnt/data/go') && Date.now() - t0 < 20000) {}",
                identifier=engine.identifier,
                timeout=30,
            )
        )
        while session.pending < 1:
            await asyncio.sleep(0.01)
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buffer = h.repl.session.default_buffer
            h.type("shelf.a\t")
            await h.wait_for(lambda: session.pending >= 2)  # the probe is queued
            h.type("pr")
            await h.wait_for(lambda: buffer.text == "shelf.apr")
            assert buffer.complete_state is None or menu(h) == []
            go = tmp_path / "go"
            go.write_text("")
            await engine.client.upload(engine.identifier, go, name="go")
            await hold
            # prompt-toolkit completes the Tab for the text as it is now: the one
            # candidate left is inserted after the keys typed meanwhile
            await h.wait_for(lambda: buffer.text == "shelf.apricot")
