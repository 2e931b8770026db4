"""The Textual app: one ``App`` with the main :class:`~repl.tui.screens.main.ReplScreen`.

``run_app(settings)`` is what ``acajs-repl`` (no subcommand) calls. Startup is
kept light: the event loop imports no httpx, azure or local pool before the
first paint; the connection (and the embedded pool, in its own thread) is
opened by a worker started when the screen mounts, its imports in a thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from repl.config import Settings
from repl.tui import terminal_keys
from repl.tui.commands import ReplCommands

if TYPE_CHECKING:
    from rich.syntax import SyntaxTheme

    from repl.engine import ReplEngine
    from repl.tui.screens.main import ReplScreen
    from repl.tui.themes import ReplTheme

terminal_keys.install()

#: builds the engine for the main screen instead of ``open_engine`` (tests)
EngineFactory = Callable[[Settings], Awaitable["ReplEngine"]]


class AcajsApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "acajs-repl"
    COMMANDS = App.COMMANDS | {ReplCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: EngineFactory | None = None,
        clock: Callable[[], float] | None = None,
        extra_theme_dirs: list[Path] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._engine_factory = engine_factory
        self._clock = clock
        self._extra_theme_dirs = extra_theme_dirs
        self.repl_themes: dict[str, ReplTheme] = {}
        self._theme_problems: list[str] = []
        self._main_screen: ReplScreen | None = None
        self._load_themes()

    # ---------------------------------------------------------------- themes
    def _load_themes(self) -> None:
        from repl.tui.themes import DEFAULT_THEME, load_themes

        themes, problems = load_themes(self._extra_theme_dirs)
        self._theme_problems = problems
        for theme in themes.values():
            try:
                self.register_theme(theme.textual_theme())
            except Exception as exc:  # a colour Textual rejects
                problems.append(f"theme {theme.name}: {exc}")
                continue
            self.repl_themes[theme.name] = theme
        wanted = self.settings.theme or DEFAULT_THEME
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            if wanted != DEFAULT_THEME:
                problems.append(
                    f"Unknown theme {wanted!r}; using {DEFAULT_THEME!r}. Themes: {', '.join(self.theme_names())}"
                )
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME

    def theme_names(self) -> list[str]:
        ours = sorted(self.repl_themes)
        return ours + sorted(n for n in self.available_themes if n not in self.repl_themes and n != "textual-ansi")

    def action_change_theme(self) -> None:
        """Textual's "Theme" palette command: our picker (live preview, Escape reverts)."""
        from repl.tui.widgets.theme_picker import ThemePicker

        self.push_screen(ThemePicker(self.theme_names(), self.theme))

    def current_repl_theme(self) -> ReplTheme:
        from repl.tui.themes import fallback_for

        theme = self.repl_themes.get(self.theme)
        if theme is None:
            theme = fallback_for(self.current_theme)
            self.repl_themes.setdefault(f"~{theme.name}", theme)
        return theme

    def syntax_theme(self) -> SyntaxTheme:
        return self.current_repl_theme().syntax_theme()

    def _apply_theme(self, *_: Any) -> None:
        # The main screen's editor, also while a modal screen (the theme
        # picker's live preview) is on top: ``self.screen`` would be the modal.
        screen = self._main_screen
        if screen is None:
            return
        from repl.tui.widgets.editor import InputEditor

        tat = self.current_repl_theme().text_area_theme()
        for editor in screen.query(InputEditor):
            editor.register_theme(tat)
            editor.theme = tat.name
        screen.rehighlight()

    # ---------------------------------------------------------------- lifecycle
    def get_default_screen(self) -> ReplScreen:
        # The main screen is the default screen: no blank frame before it.
        from repl.tui.screens.main import ReplScreen

        self._main_screen = ReplScreen(self.settings, engine_factory=self._engine_factory, clock=self._clock)
        return self._main_screen

    def on_mount(self) -> None:
        keys = dict(self.settings.keys)
        if keys:
            unknown = sorted(set(keys) - set(all_binding_ids()))
            self.set_keymap({k: v for k, v in keys.items() if k not in unknown})
            if unknown:
                self._theme_problems.append(
                    f"Unknown binding id(s) in [keys]: {', '.join(unknown)}. Known: see F1 or docs/repl.md."
                )
        self.theme_changed_signal.subscribe(self, self._apply_theme)
        self.call_after_refresh(self._apply_theme)
        for problem in self._theme_problems:
            self.notify(problem, title="Configuration", severity="warning", timeout=8)

    async def on_unmount(self) -> None:
        screen = self._main_screen
        engine = screen.engine if screen is not None else None
        if engine is not None:
            try:
                await engine.connection.aclose()
            except Exception:
                pass


    # ---------------------------------------------------------------- presenter mode
    def shown(self, text: str) -> str:
        """``text`` as the screen may show it: in presenter mode with every
        identifier of the connection replaced (repl.presenter)."""
        screen = self._main_screen
        engine = screen.engine if screen is not None else None
        return engine.show(text) if engine is not None else text

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification goes through :meth:`shown` (presenter mode)."""
        super().notify(self.shown(message), title=self.shown(title), severity=severity, timeout=timeout,
                       markup=markup)


def all_binding_ids() -> list[str]:
    """Every binding id the app defines (for the config's ``[keys]`` table)."""
    from repl.tui.screens.main import ReplScreen
    from repl.tui.widgets.cell import CellView
    from repl.tui.widgets.completion import CompletionList
    from repl.tui.widgets.confirm_screen import ConfirmScreen
    from repl.tui.widgets.editor import InputEditor
    from repl.tui.widgets.help_screen import HelpScreen
    from repl.tui.widgets.history_screen import HistoryScreen
    from repl.tui.widgets.prompt_screen import PromptScreen
    from repl.tui.widgets.sent_code_screen import SentCodeScreen
    from repl.tui.widgets.side_panel import SidePanel
    from repl.tui.widgets.theme_picker import ThemePicker

    ids: list[str] = []
    owners = (
        AcajsApp, ReplScreen, InputEditor, CellView, SidePanel, HistoryScreen, HelpScreen, ThemePicker, PromptScreen,
        SentCodeScreen, CompletionList, ConfirmScreen,
    )  # fmt: skip
    for cls in owners:
        for b in cls.BINDINGS:
            if isinstance(b, Binding) and b.id and b.id not in ids:
                ids.append(b.id)
    return ids


def acajs_app(app: App[Any]) -> AcajsApp:
    """``app`` as the acajs app, for widgets that use its theme methods (they
    only ever run inside it)."""
    if not isinstance(app, AcajsApp):
        raise TypeError(f"expected the acajs-repl app, got {type(app).__name__}")
    return app


def run_app(settings: Settings) -> int:
    app = AcajsApp(settings)
    result = app.run()
    return int(result or app.return_code or 0)
