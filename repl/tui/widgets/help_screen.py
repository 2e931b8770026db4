"""F1: help for the focused area (its description and its keys as currently
mapped), the global keys and the dot-commands."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Markdown

from repl.dotcommands import COMMANDS


def _key_display(app: App[Any], key: str) -> str:
    try:
        return app.get_key_display(Binding(key, ""))
    except Exception:
        return key


def help_markdown(app: App[Any], focused: DOMNode | None) -> str:
    parts: list[str] = []
    node = focused
    seen: set[str] = set()
    while node is not None:
        text: object = getattr(type(node), "HELP", None)  # our widgets' help, a class attribute
        if isinstance(text, str) and text and text not in seen and type(node).__module__.startswith("repl."):
            parts.append(text.strip())
            seen.add(text)
            break
        node = node.parent
    if not parts:
        parts.append("## acajs-repl\n\nType JavaScript in the editor at the bottom and press Enter.")
    # Our bindings (the ones with an id) active here, keys grouped per id.
    active: dict[str, ActiveBinding]
    try:
        active = app.screen.active_bindings
    except Exception:
        active = {}
    by_id: dict[str, tuple[list[str], str]] = {}
    for key, item in active.items():
        binding = item.binding
        if not binding.id or not binding.description:
            continue
        keys, _ = by_id.setdefault(binding.id, ([], binding.description))
        keys.append(f"`{_key_display(app, key)}`")
    rows = [
        f"| {', '.join(keys)} | {description} | `{binding_id}` |" for binding_id, (keys, description) in by_id.items()
    ]
    rows.append("| `^p` | Command palette (commands, cells, themes) | |")
    parts.append("### Keys here\n\n| key | does | id (remap in `[keys]`) |\n|---|---|---|\n" + "\n".join(rows))
    cmds = "\n".join(f"| `{c.usage}` | {c.summary} |" for c in COMMANDS)
    parts.append("### Commands (also in Ctrl+P)\n\n| command | does |\n|---|---|\n" + cmds)
    return "\n\n".join(parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "Help"
            dialog.border_subtitle = "Esc closes"
            yield Markdown(self.markdown, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
