"""End to end: the installed ``acajs-repl`` (Textual app) in a real terminal
(tmux) on the embedded local pool: type code, see the output, the timing and
the countdown on screen. Polls the screen with a deadline, never sleeps a
fixed time to wait for something."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

DEADLINE_S = 45.0


def installed_command() -> str:
    exe = Path(sys.executable).with_name("acajs-repl")
    return str(exe) if exe.exists() else f"{shlex.quote(sys.executable)} -m repl"


class Tmux:
    def __init__(self) -> None:
        self.socket = f"acajs-tui-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True, timeout=10
        ).stdout

    def start(self, command: str, env: dict[str, str], *, width: int = 140, height: int = 40) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "t",
             # -u: a COLUMNS/LINES inherited by the tmux server would pin the app to 80x24
             f"env -u COLUMNS -u LINES {exports} {command}; echo EXIT=$?; sleep 60")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")

    def screen_with_colours(self) -> str:
        return self("capture-pane", "-p", "-e", "-t", "t")

    def send(self, *keys: str) -> None:
        self("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self("send-keys", "-t", "t", "-l", text)

    def wait_for(self, *patterns: str, deadline: float = DEADLINE_S) -> str:
        end = time.monotonic() + deadline
        while True:
            screen = self.screen()
            if all(re.search(p, screen, re.M) for p in patterns):
                return screen
            if time.monotonic() > end:
                missing = [p for p in patterns if not re.search(p, screen, re.M)]
                raise AssertionError(f"{missing!r} not on screen within {deadline} s:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux():
    t = Tmux()
    try:
        yield t
    finally:
        t.kill()


def test_installed_app_runs_code_on_the_embedded_pool(tmux, tmp_path):
    env = {
        "ACAJS_CONFIG_DIR": str(tmp_path / "config"),
        "ACAJS_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        # $EDITOR and $PAGER are real programs run while the app is suspended.
        "EDITOR": "sh -c 'printf 40+2 > \"$1\"' --",
        "PAGER": f"sh -c 'wc -l < \"$1\" > {tmp_path}/paged.txt' --",
    }
    for var in ("ACAJS_ENDPOINT", "ACA_POOL_MANAGEMENT_ENDPOINT", "ACAJS_TOKEN", "ACAJS_SESSION"):
        env[var] = ""
    tmux.start(installed_command(), env)
    # The interactive screen, then the embedded pool (header label, pool status).
    tmux.wait_for(r"Run", r"local pool 127\.0\.0\.1:\d+ · session [0-9a-f-]{36}", r"NodeLTS")
    tmux.type('console.log("e2e-" + 6 * 7); [1, 2].map((x) => x * 10)')
    tmux.send("Enter")
    screen = tmux.wait_for(
        r"^.*e2e-42",
        r"Out\[1\]: \[ ?10, 20 ?\]",
        r"In \[1\]\s+ok\s+server \d+ ms · round trip \d+ ms",
        r"\d:\d\d left \(\d+ s\)",
    )
    assert "█" in screen  # the countdown bar
    assert "sessions  1 of" in screen or "sessions" in screen
    # A code failure shows as failed, the app stays up.
    tmux.type('throw new TypeError("nope")')
    tmux.send("Enter")
    tmux.wait_for(r"In \[2\]\s+failed", r"TypeError: nope")
    # History persisted as JSON lines, as typed.
    history = (tmp_path / "data" / "history.jsonl").read_text().splitlines()
    codes = [json.loads(line)["code"] for line in history]
    assert codes[0] == 'console.log("e2e-" + 6 * 7); [1, 2].map((x) => x * 10)'
    # Ctrl+O edits the input in $EDITOR (the app suspends and resumes).
    tmux.send("C-o")
    tmux.wait_for(r"│ 40\+2")
    tmux.send("Enter")
    tmux.wait_for(r"Out\[3\]: 42")
    # Large output: capped on screen, the full text goes to the pager.
    tmux.type("for (let i = 0; i < 5000; i++) console.log(i)")
    tmux.send("Enter")
    tmux.wait_for(r"\s4999\s", r"lines hidden", r"open in pager")
    tmux.send("C-t")  # focus the last cell
    tmux.wait_for(r"p Pager")  # the footer shows the cell's keys once it has the focus
    tmux.send("p")
    deadline = time.monotonic() + DEADLINE_S
    paged = tmp_path / "paged.txt"
    while not (paged.exists() and paged.read_text().strip()):
        assert time.monotonic() < deadline, tmux.screen()
        time.sleep(0.1)
    assert paged.read_text().strip() == "5000"
    tmux.wait_for(r"lines hidden")  # back in the app after the pager
    tmux.send("Escape")  # back to the editor
    tmux.wait_for(r"\^j Run")  # the footer shows the editor's keys again
    # .exit leaves cleanly.
    tmux.type(".exit")
    tmux.send("Enter")
    tmux.wait_for(r"EXIT=0")


@pytest.mark.parametrize("theme", ["light", "nosuch"])
def test_installed_app_takes_theme_from_the_command_line(tmux, tmp_path, theme):
    env = {
        "ACAJS_CONFIG_DIR": str(tmp_path / "config"),
        "ACAJS_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    tmux.start(f"{installed_command()} --theme {theme}", env, width=100, height=30)
    tmux.wait_for(r"\^j Run", r"local pool")
    coloured = tmux.screen_with_colours()
    white = "48;2;255;255;255" in coloured  # the light theme's background (#FFFFFF)
    if theme == "light":
        assert white
    else:  # an unknown theme: a notification and the default (dark) theme, no crash
        tmux.wait_for(r"Unknown theme 'nosuch'; using 'dark'")
        assert not white
    tmux.type(".exit")
    tmux.send("Enter")
    tmux.wait_for(r"EXIT=0")


def _tui_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "ACAJS_CONFIG_DIR": str(tmp_path / "config"),
        "ACAJS_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
    }
    for var in ("ACAJS_ENDPOINT", "ACA_POOL_MANAGEMENT_ENDPOINT", "ACAJS_TOKEN", "ACAJS_SESSION"):
        env[var] = ""
    return env


def test_type_ahead_block_then_call_and_esc_cr_in_a_real_terminal(tmux, tmp_path):
    """Keys sent without pauses: a block closed by `}` then f(11), typed
    during a 2 s run; ESC CR (what tmux sends for Alt+Enter) runs an
    unfinished line instead of continuing it."""
    tmux.start(installed_command(), _tui_env(tmp_path))
    tmux.wait_for(r"local pool 127\.0\.0\.1:\d+", r"NodeLTS")
    tmux.type("const t0 = Date.now(); while (Date.now() - t0 < 2000) {}; 'slow'")
    tmux.send("Enter")
    tmux.wait_for(r"running")
    for line in ("function f(x) {", "return x * 2", "}", "f(11)"):
        tmux.type(line)
        tmux.send("Enter")
    tmux.wait_for(r"Out\[1\]: 'slow'", r"Out\[3\]: 22")
    tmux.type("function g() {")
    tmux.send("M-Enter")  # tmux writes Alt+Enter as ESC CR, in one write as a terminal does
    tmux.wait_for(r"In \[4\]\s+failed", r"SyntaxError")


@pytest.mark.parametrize("bracketed", [True, False], ids=["paste-buffer -p", "paste-buffer (keystrokes)"])
def test_pasting_three_inputs_runs_each(tmux, tmp_path, bracketed):
    tmux.start(installed_command(), _tui_env(tmp_path))
    tmux.wait_for(r"local pool 127\.0\.0\.1:\d+", r"NodeLTS")
    tmux("set-buffer", "-b", "p", "globalThis.a = 20\nglobalThis.b = 22\na + b\n")
    tmux("paste-buffer", "-b", "p", "-t", "t", *(["-p"] if bracketed else []))
    if bracketed:
        # A bracketed paste lands in the editor as text; Ctrl+J runs it all.
        tmux.wait_for(r"a \+ b")
        tmux.send("C-j")
        tmux.wait_for(r"Out\[1\]: 42")
    else:
        tmux.wait_for(r"Out\[1\]: 20", r"Out\[2\]: 22", r"Out\[3\]: 42")


def test_expiry_is_announced_and_the_next_cell_says_it_ran_fresh(tmux, tmp_path, short_pool):
    env = _tui_env(tmp_path)
    env.update(ACAJS_ENDPOINT=short_pool.endpoint, ACAJS_TOKEN=short_pool.token, ACAJS_EXPIRY_WARNING="1")
    tmux.start(installed_command(), env)
    tmux.wait_for(r"NodeLTS")
    tmux.type("globalThis.k = 42; k")
    tmux.send("Enter")
    tmux.wait_for(r"Out\[1\]: 42")
    tmux.wait_for(r"expired at \d\d:\d\d:\d\d")
    tmux.type("typeof k")
    tmux.send("Enter")
    tmux.wait_for(r"Session expired at \d\d:\d\d:\d\d; this run started a fresh session", r"Out\[2\]: 'undefined'")


def test_play_mode_and_presenter_mode_in_a_real_terminal(tmux, tmp_path):
    """--play: the first step waits in the editor, Enter runs it, PageDown
    brings the next, the mode line counts; --present: no identifier on screen."""
    script = tmp_path / "talk.js"
    script.write_text("// %% one\n6 * 7\n\n// %% two\n'second step'\n")
    env = _tui_env(tmp_path)
    env["ACAJS_SESSION"] = "stage-session-9c1e7a"
    tmux.start(f"{installed_command()} --present --play {shlex.quote(str(script))}", env)
    tmux.wait_for(r"play: step 1 of 2: one", r"6 \* 7")
    tmux.send("Enter")
    tmux.wait_for(r"Out\[1\]: 42")
    tmux.send("NPage")
    tmux.wait_for(r"play: step 2 of 2: two", r"'second step'")
    tmux.send("Enter")
    screen = tmux.wait_for(r"Out\[2\]: 'second step'")
    assert "stage-session-9c1e7a" not in screen
    assert not re.search(r"127\.0\.0\.1:\d+", screen), screen
    assert "<session>" in screen


ATTACK_JS = (
    "console.log('before\\x1b[2J after'); console.log('A\\x1b]2;PWNED\\x1b\\\\B');"
    " console.log('\\x1b]52;c;SGVsbG8=\\x07clip'); console.log('\\x1b[?1049h\\x1b[H\\x1b[2Jgone?');"
    " console.log('\\x1bc reset'); 'done'"
)


def test_hostile_output_leaves_the_screen_and_the_title_intact(tmux, tmp_path):
    tmux.start(installed_command(), _tui_env(tmp_path))
    tmux.wait_for(r"NodeLTS")
    tmux("select-pane", "-t", "t", "-T", "my-title")
    tmux.type("'earlier cell'")
    tmux.send("Enter")
    tmux.wait_for(r"Out\[1\]: 'earlier cell'")
    tmux.type(ATTACK_JS)
    tmux.send("Enter")
    screen = tmux.wait_for(r"Out\[2\]: 'done'")
    for still_there in (r"Out\[1\]: 'earlier cell'", r"acajs-repl", r"NodeLTS", r"\^p", r"before after", r"AB"):
        assert re.search(still_there, screen), (still_there, screen)
    assert tmux("display-message", "-p", "-t", "t", "#{pane_title}").strip() == "my-title"
    assert tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "1"  # still the app's screen
