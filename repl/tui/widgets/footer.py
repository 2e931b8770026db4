"""The footer: the key hints that matter now, as one line of text.

Textual's ``Footer`` builds a widget per key and rebuilds them all whenever the
bindings change (focus moves, a run starts); that cost a noticeable part of the
start-up time. This footer renders the same hints (``key description`` for
every shown, enabled binding of the focused chain, then the palette key) into
a single ``Static``.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyHints(Static):
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    # When the hints do not fit, these go first (in this order): each is also
    # in F1's key list and the palette. Run, Help, Stop waiting, Quit and the
    # palette key stay.
    DROP_FIRST = ("history", "external_editor", "history_search", "toggle_side_panel")

    _shown: Text | None = None  # the hints on screen

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_hints()

    def _bindings_changed(self, _screen: Screen[Any]) -> None:
        if self.is_attached:
            self.show_hints()

    def hints(self) -> list[tuple[str, str, str]]:
        """(key display, description, key) of the hints shown, in order."""
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING
        for key, (_node, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            if not binding.show or not enabled or not binding.description or key == palette:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((self.app.get_key_display(binding), binding.description, key))
        if palette and self.app.ENABLE_COMMAND_PALETTE and palette in self.screen.active_bindings:
            binding = self.screen.active_bindings[palette].binding
            out.append((self.app.get_key_display(binding), "palette", palette))
        return out

    def show_hints(self) -> None:
        try:
            hints = self.hints()
        except Exception:  # during shutdown the screen may be gone
            return
        hints = self._fit(hints)
        key_style = f"bold {self.app.current_theme.accent or ''}".strip()
        text = Text(no_wrap=True, overflow="ellipsis")
        for display, description, _key in hints:
            text.append(f" {display} ", style=Style.parse(key_style))
            text.append(f"{description} ")
        text.append(" ")
        if self.border_subtitle is not None:  # (setting it, even to the same, repaints)
            self.border_subtitle = None
        if text == self._shown:
            return  # the bindings changed, not the hints (focus moved, a run started)
        self._shown = text
        # One line docked at the bottom whatever the text: no layout of the
        # screen (~20 ms at start, when the bindings change twice after the
        # first frame).
        self.update(text, layout=False)

    def _fit(self, hints: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        width = self.size.width or self.app.size.width

        def length(items: list[tuple[str, str, str]]) -> int:
            return sum(len(d) + len(desc) + 3 for d, desc, _ in items) + 1

        if length(hints) <= width:
            return hints
        bindings = self.screen.active_bindings
        for action in self.DROP_FIRST:
            hints = [h for h in hints if h[2] not in bindings or bindings[h[2]].binding.action != action]
            if length(hints) <= width:
                break
        return hints

    def on_resize(self) -> None:
        self.show_hints()
