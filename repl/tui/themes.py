"""Themes: Textual colours and syntax colours from one TOML file.

A theme file (``themes/NAME.toml`` in the repository, ``repl/_themes`` in an
installed wheel, or ``<config dir>/themes/NAME.toml`` for user themes) holds::

    name = "dark"
    dark = true
    [colors]            # Textual theme colours (primary, background, error, ...)
    [syntax]            # syntax colours shared by the editor and the cells

From it come a Textual ``Theme``, a ``TextAreaTheme`` for the editor (tree-sitter
capture names) and a pygments style for highlighted code and values in cells.
A theme that cannot be read is reported (``load_themes`` returns the problems)
and skipped; the app falls back to the default theme.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.style import Style
from textual.theme import Theme

if TYPE_CHECKING:
    from pygments.style import Style as PygmentsStyle
    from rich.syntax import SyntaxTheme
    from textual.widgets.text_area import TextAreaTheme

DEFAULT_THEME = "dark"

COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
SYNTAX_KEYS = (
    "background",
    "text",
    "keyword",
    "string",
    "regex",
    "number",
    "constant",
    "comment",
    "function",
    "operator",
    "property",
    "type",
    "punctuation",
    "variable",
    "builtin",
    "error",
)

# Syntax colours for Textual's own themes (which have no [syntax] table).
_FALLBACK_DARK = {
    "text": "#D8DEE9",
    "keyword": "#C594C5",
    "string": "#99C794",
    "regex": "#5FB3B3",
    "number": "#F99157",
    "constant": "#F99157",
    "comment": "#6B7785",
    "function": "#6699CC",
    "operator": "#5FB3B3",
    "property": "#D8DEE9",
    "type": "#FAC863",
    "punctuation": "#A7ADBA",
    "variable": "#D8DEE9",
    "builtin": "#EC5F67",
    "error": "#F2777A",
}
_FALLBACK_LIGHT = {
    "text": "#1F2328",
    "keyword": "#CF222E",
    "string": "#0A3069",
    "regex": "#116329",
    "number": "#0550AE",
    "constant": "#0550AE",
    "comment": "#6E7781",
    "function": "#8250DF",
    "operator": "#CF222E",
    "property": "#0550AE",
    "type": "#953800",
    "punctuation": "#57606A",
    "variable": "#1F2328",
    "builtin": "#953800",
    "error": "#CF222E",
}


class ThemeError(Exception):
    """A theme file is unreadable or invalid; ``str()`` names the file and the problem."""


@dataclass(frozen=True)
class ReplTheme:
    name: str
    dark: bool
    colors: dict[str, str]
    syntax: dict[str, str]
    path: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def textual_theme(self) -> Theme:
        c = self.colors.get
        return Theme(
            name=self.name,
            dark=self.dark,
            primary=self.colors["primary"],
            secondary=c("secondary"),
            accent=c("accent"),
            foreground=c("foreground"),
            background=c("background"),
            surface=c("surface"),
            panel=c("panel"),
            boost=c("boost"),
            warning=c("warning"),
            error=c("error"),
            success=c("success"),
        )

    def text_area_theme(self) -> TextAreaTheme:
        """The editor theme (tree-sitter capture names -> styles)."""
        from textual.widgets.text_area import TextAreaTheme

        s = self.syntax

        def st(key: str, **extra: Any) -> Style:
            return Style(color=s.get(key) or s.get("text"), **extra)

        return TextAreaTheme(
            name=f"acajs-{self.name}",
            syntax_styles={
                "comment": st("comment", italic=True),
                "keyword": st("keyword"),
                "string": st("string"),
                "string.special": st("regex"),
                "number": st("number"),
                "constant": st("constant"),
                "constant.builtin": st("constant"),
                "function": st("function"),
                "function.method": st("function"),
                "function.builtin": st("builtin"),
                "constructor": st("type"),
                "operator": st("operator"),
                "property": st("property"),
                "punctuation.bracket": st("punctuation"),
                "punctuation.delimiter": st("punctuation"),
                "punctuation.special": st("keyword"),
                "variable": st("variable"),
                "variable.builtin": st("builtin"),
                "embedded": st("text"),
            },
        )

    def pygments_style(self) -> type[PygmentsStyle]:
        """A pygments ``Style`` class with this theme's syntax colours (cached)."""
        cached: type[PygmentsStyle] | None = self._cache.get("pygments")
        if cached is not None:
            return cached
        from pygments.style import Style as PygmentsStyle
        from pygments.token import (
            Comment,
            Error,
            Keyword,
            Name,
            Number,
            Operator,
            Punctuation,
            String,
            Text,
            Token,
        )

        s = self.syntax
        styles = {
            Token: s["text"],
            Text: s["text"],
            Comment: f"italic {s['comment']}",
            Keyword: s["keyword"],
            Keyword.Constant: s["constant"],
            Keyword.Type: s["type"],
            String: s["string"],
            String.Regex: s["regex"],
            Number: s["number"],
            Operator: s["operator"],
            Operator.Word: s["keyword"],
            Punctuation: s["punctuation"],
            Name: s["variable"],
            Name.Builtin: s["builtin"],
            Name.Function: s["function"],
            Name.Class: s["type"],
            Name.Attribute: s["property"],
            Name.Property: s["property"],
            Name.Other: s["property"],
            Name.Tag: s["keyword"],
            Error: s["error"],
        }
        style: type[PygmentsStyle] = type(
            f"Acajs{self.name.title().replace('-', '')}Style",
            (PygmentsStyle,),
            {"styles": styles, "background_color": s.get("background", "#000000")},
        )
        self._cache["pygments"] = style
        return style

    def syntax_theme(self) -> SyntaxTheme:
        """A Rich ``SyntaxTheme`` for ``rich.syntax.Syntax`` (cached)."""
        if "rich" not in self._cache:
            from rich.syntax import PygmentsSyntaxTheme, TokenType

            class NoBackground(PygmentsSyntaxTheme):
                # Cells and the preview have their own background (from CSS).
                def get_style_for_token(self, token_type: TokenType) -> Style:
                    style = super().get_style_for_token(token_type)
                    return Style(color=style.color, bold=style.bold, italic=style.italic, underline=style.underline)

                def get_background_style(self) -> Style:
                    return Style()

            self._cache["rich"] = NoBackground(self.pygments_style())
        theme: SyntaxTheme = self._cache["rich"]
        return theme


def parse_theme(data: dict[str, Any], *, path: Path | None = None, name: str | None = None) -> ReplTheme:
    where = str(path) if path else "theme"
    theme_name = data.get("name", name)
    if not isinstance(theme_name, str) or not theme_name:
        raise ThemeError(f"{where}: 'name' must be a non-empty string")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{where}: 'dark' must be true or false")
    colors = data.get("colors", {})
    syntax = data.get("syntax", {})
    if not isinstance(colors, dict) or not isinstance(syntax, dict):
        raise ThemeError(f"{where}: [colors] and [syntax] must be tables")
    if "primary" not in colors:
        raise ThemeError(f"{where}: [colors] needs at least 'primary'")
    from textual.color import Color, ColorParseError

    for table, values, keys in (("colors", colors, COLOR_KEYS), ("syntax", syntax, SYNTAX_KEYS)):
        for key, value in values.items():
            if key not in keys:
                raise ThemeError(f"{where}: unknown key [{table}] {key!r} (known: {', '.join(keys)})")
            if not isinstance(value, str):
                raise ThemeError(f"{where}: [{table}] {key} must be a colour string such as \"#5FA8FF\"")
            try:
                Color.parse(value)
            except ColorParseError:
                raise ThemeError(f"{where}: [{table}] {key} = {value!r} is not a colour") from None
    colours: dict[str, str] = dict(colors)  # checked above: colour strings by known key
    merged = dict(_FALLBACK_DARK if dark else _FALLBACK_LIGHT)
    merged["background"] = colours.get("surface", colours.get("background", "#000000" if dark else "#FFFFFF"))
    merged.update(syntax)
    return ReplTheme(theme_name, dark, colours, merged, path)


def load_theme_file(path: Path) -> ReplTheme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: not valid TOML ({exc})") from None
    return parse_theme(data, path=path, name=path.stem)


def shipped_themes_dir() -> Path:
    """``themes/`` in a source checkout, ``repl/_themes`` in an installed wheel."""
    here = Path(__file__).resolve().parent.parent  # repl/
    installed = here / "_themes"
    if installed.is_dir():
        return installed
    return here.parent / "themes"


def user_themes_dir() -> Path:
    from repl.config import config_dir

    return config_dir() / "themes"


def load_themes(extra_dirs: list[Path] | None = None) -> tuple[dict[str, ReplTheme], list[str]]:
    """All shipped and user themes by name, and the problems found (one sentence each)."""
    themes: dict[str, ReplTheme] = {}
    problems: list[str] = []
    dirs = [shipped_themes_dir()]
    try:
        dirs.append(user_themes_dir())
    except Exception as exc:  # a broken config dir must not stop the app
        problems.append(f"user themes: {exc}")
    dirs.extend(extra_dirs or [])
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                problems.append(str(exc))
                continue
            themes[theme.name] = theme
    return themes, problems


def fallback_for(theme: Theme) -> ReplTheme:
    """Syntax colours for a Textual theme that has no theme file (e.g. ``nord``)."""
    syntax = dict(_FALLBACK_DARK if theme.dark else _FALLBACK_LIGHT)
    syntax["background"] = theme.surface or theme.background or ("#000000" if theme.dark else "#FFFFFF")
    return ReplTheme(theme.name, theme.dark, {"primary": theme.primary}, syntax)
