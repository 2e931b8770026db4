"""End to end in tmux: a completion burst (Tab and the keys after it sent in
one go, as a fast typist does) and a live theme switch recolouring the
editor's syntax, read from the terminal's own colour codes."""

from __future__ import annotations

import time

from .test_e2e_tmux import _tui_env, installed_command, pytestmark, tmux  # noqa: F401 (fixture, marks)

DARK_KEYWORD = "38;2;197;148;197"  # themes/dark.toml keyword #C594C5
LIGHT_KEYWORD = "38;2;207;34;46"  # themes/light.toml keyword #CF222E


def test_a_completion_burst_keeps_every_key(tmux, tmp_path):  # noqa: F811
    tmux.start(installed_command(), _tui_env(tmp_path))
    tmux.wait_for(r"NodeLTS")
    tmux.type("const shelf = { apple: 1, apricot: 2, avocado: 3 }")
    tmux.send("Enter")
    tmux.wait_for(r"In \[1\]\s+ok")
    tmux.type("shelf.a")
    tmux.send("Tab", "p", "r")  # one burst: Tab, then keys before the session answered
    tmux.wait_for(r"shelf\.apr", r"apricot")
    tmux.send("Enter")  # chooses the candidate; it does not run
    tmux.wait_for(r"shelf\.apricot")
    tmux.send("Enter")
    tmux.wait_for(r"Out\[2\]: 2")


def _until_coloured(tmux, needle: str, deadline_s: float = 30.0) -> str:  # noqa: F811
    end = time.monotonic() + deadline_s
    while True:
        coloured = tmux.screen_with_colours()
        if needle in coloured:
            return coloured
        if time.monotonic() > end:
            raise AssertionError(f"{needle!r} never drawn:\n{coloured}")
        time.sleep(0.1)


def test_switching_theme_live_recolours_the_editor(tmux, tmp_path):  # noqa: F811
    env = _tui_env(tmp_path)
    env["COLORTERM"] = "truecolor"
    tmux.start(installed_command(), env)
    tmux.wait_for(r"NodeLTS")
    tmux.type("const answer = 42")
    tmux.wait_for(r"const answer = 42")
    _until_coloured(tmux, DARK_KEYWORD)  # `const` in the dark theme's keyword colour
    tmux.send("F3")
    tmux.wait_for(r"Theme")
    tmux.send("Down", "Down")  # dark, high-contrast, light: the live preview follows
    tmux.send("Enter")
    coloured = _until_coloured(tmux, LIGHT_KEYWORD)
    assert DARK_KEYWORD not in coloured
