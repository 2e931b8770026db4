"""The layers, read from the code itself (every import, also those inside
functions): the core imports no UI, the front ends reach the service only
through the engine, and nothing but the connection and the CLI starts the
local pool. See docs/architecture.md."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "repl"
UI = ("textual", "prompt_toolkit")
FRONT_ENDS = ("repl.tui", "repl.line")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


GRAPH: dict[str, set[str]] = {_module_name(p): set(_imports(p)) for p in ROOT.rglob("*.py")}


def _within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _core() -> list[str]:
    entry_points = ("repl.cli", "repl.__main__", "repl.web")
    return sorted(m for m in GRAPH if not _within(m, (*FRONT_ENDS, *entry_points, "repl.local")))


def test_the_graph_was_read() -> None:
    assert "repl.engine" in GRAPH and "repl.tui.screens.main" in GRAPH
    assert "repl.input_rules" in GRAPH["repl.tui.widgets.editor"]  # a known edge


@pytest.mark.parametrize("module", _core())
def test_the_core_imports_no_ui(module: str) -> None:
    ui = sorted(i for i in GRAPH[module] if _within(i, UI) or _within(i, (*FRONT_ENDS, "repl.cli")))
    assert not ui, f"{module} imports {ui}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _within(m, FRONT_ENDS)))
def test_front_ends_reach_the_service_only_through_the_engine(module: str) -> None:
    past = sorted(
        i for i in GRAPH[module]
        if _within(i, ("repl.api.client", "repl.api.transport", "repl.api.dialects", "repl.connection", "repl.local"))
    )
    assert not past, f"{module} imports {past}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _within(m, FRONT_ENDS)))
def test_front_ends_do_not_import_each_other(module: str) -> None:
    own = "repl.tui" if _within(module, "repl.tui") else "repl.line"
    other = "repl.line" if own == "repl.tui" else "repl.tui"
    assert not [i for i in GRAPH[module] if _within(i, other)]


@pytest.mark.parametrize(
    "module", sorted(m for m in GRAPH if not _within(m, ("repl.local", "repl.cli")) and m != "repl.connection")
)
def test_only_the_connection_and_the_cli_start_the_local_pool(module: str) -> None:
    assert not [i for i in GRAPH[module] if _within(i, "repl.local")], module
