"""``acajs-repl config``: the effective settings and where each came from."""

from __future__ import annotations

from typing import Any

from repl.cli.output import EXIT_OK, write_json, write_out
from repl.config import describe


def _source_text(source: str) -> str:
    if source.startswith("flag "):
        return f"from flag {source[5:]}"
    if source.startswith("env "):
        return f"from env {source[4:]}"
    if source.startswith("file "):
        return f"from file {source[5:]}"
    return source


def cmd_config(settings: Any, *, as_json: bool = False) -> int:
    rows = describe(settings)  # never contains the token itself
    if as_json:
        write_json({name: {"value": value, "source": source} for name, value, source in rows})
        return EXIT_OK
    width = max(len(name) for name, _, _ in rows)
    write_out("".join(f"{name:<{width}}  {value} ({_source_text(source)})\n" for name, value, source in rows))
    return EXIT_OK
