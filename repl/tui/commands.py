"""The Ctrl+P palette: the dot-commands and the palette extras (copy a cell's
output, copy a cell as curl, switch theme, toggle the side panel, history)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from repl.dotcommands import COMMANDS, DotCommand, lookup

#: (name, help, what choosing it does)
PaletteEntry = tuple[str, str, Callable[[], object]]


class ReplCommands(Provider):
    def _commands(self) -> list[PaletteEntry]:
        from repl.tui.screens.main import ReplScreen

        screen = self.screen
        if not isinstance(screen, ReplScreen):
            return []
        out: list[PaletteEntry] = []
        for spec in COMMANDS:
            out.append((f".{spec.name}", spec.summary + (f"  ({spec.usage})" if spec.args else ""),
                        partial(screen.palette_dot_command, spec)))
        out.append(("Switch theme…", "Pick a theme with live preview", screen.action_pick_theme))
        out.append(("Toggle presenter mode", "Hide subscription, resource group, endpoint host and session on screen",
                    screen.action_toggle_presenter))
        engine = screen.engine
        if engine is not None and engine.player is not None:
            for word, what in (("next", "Next step"), ("back", "Previous step"), ("skip", "Skip this step"),
                               ("stop", "Leave play mode")):
                out.append((f"Play: {what}", f".play {word}", partial(screen.run_dot_command,
                            DotCommand("play", (word,), lookup("play")))))
        out.append(("Toggle keep-alive", "Keep the session from expiring while the REPL is open (on/off)",
                    screen.action_toggle_keep_alive))
        out.append(("Toggle side panel", "Show or hide the side panel", screen.action_toggle_side_panel))
        out.append(("Copy session identifier", "The identifier is access to the session: share with care",
                    screen.action_copy_identifier))
        out.append(("History…", "Browse and search the input history", screen.action_history))
        out.append(("Help for the focused area", "F1", screen.action_help))
        for view in reversed(screen.cell_views()[-20:]):
            view_id = view.id
            if view_id is None:  # every cell view gets an id when it is made
                continue
            label = f"In [{view.n}]"
            out.append((f"Copy output of {label}", "stdout, stderr and value, in full",
                        partial(screen.cell_action, view_id, "copy_output")))
            out.append((f"Copy {label} as curl", "the service tutorial's form, with $AUTH_HEADER",
                        partial(screen.cell_action, view_id, "curl")))
            out.append((f"Open output of {label} in pager", "$PAGER", partial(screen.cell_action, view_id, "pager")))
            out.append((f"Save output of {label} to a file", "", partial(screen.cell_action, view_id, "save")))
            cell = view.cell
            if cell is not None and cell.sent_code and cell.sent_code != cell.code:
                out.append((f"Show the code sent for {label}", "the top-level await rewrite the session ran",
                            partial(screen.cell_action, view_id, "sent_code")))
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
