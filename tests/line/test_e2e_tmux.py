"""End to end: the installed command in a real terminal (tmux) on the embedded local pool."""

from __future__ import annotations

import os
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
    # CI installs tmux (.ci/run): there a missing tmux fails these tests instead of skipping them.
    pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"), reason="tmux is not installed"),
]

DEADLINE_S = 40.0


class Tmux:
    def __init__(self, tmp: Path) -> None:
        self.socket = f"acajs-line-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self("new-session", "-d", "-x", "110", "-y", "30", "-s", "t",
             f"env {exports} {command}; echo EXIT=$?; sleep 60")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-S", "-200", "-t", "t")

    def send(self, *keys: str) -> None:
        self("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self("send-keys", "-t", "t", "-l", text)

    def wait_for(self, pattern: str, *, deadline: float = DEADLINE_S) -> re.Match:
        end = time.monotonic() + deadline
        while True:
            screen = self.screen()
            m = re.search(pattern, screen, re.M)
            if m:
                return m
            if time.monotonic() > end:
                raise AssertionError(f"{pattern!r} not on screen within {deadline} s:\n{screen}")
            time.sleep(0.1)

    def wait_until(self, check, *, deadline: float = DEADLINE_S) -> str:
        end = time.monotonic() + deadline
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"condition not met within {deadline} s:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.kill()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "ACAJS_CONFIG_DIR": str(tmp / "config"),
        "ACAJS_DATA_DIR": str(tmp / "data"),
        "TERM": "xterm-256color",
    }
    env.update(extra)
    return env


def _command() -> str:
    exe = Path(sys.executable).with_name("acajs-repl")
    return shlex.quote(str(exe)) if exe.exists() else f"{shlex.quote(sys.executable)} -m repl"


def test_plain_repl_in_tmux_runs_code_continues_blocks_and_exits(tmux, tmp_path):
    tmux.start(f"{_command()} --plain", _env(tmp_path))
    tmux.wait_for(r"^js> ")
    tmux.wait_for(r"session [0-9a-f-]{36} · cooldown")  # the bottom toolbar
    tmux.type("console.log('hello ' + 'tmux'); 6 * 7")
    tmux.send("Enter")
    tmux.wait_for(r"✓ succeeded · server \d+ ms · round trip \d+ ms")
    screen = tmux.screen()
    assert re.search(r"^hello tmux$", screen, re.M) and re.search(r"^42$", screen, re.M)
    tmux.wait_for(r"cooldown \d+ s left · round trip \d+ ms")
    tmux.type("function inc(x) {")
    tmux.send("Enter")
    tmux.wait_for(r"^js> function inc\(x\) \{\n\.\.\.\s*$")  # the continuation prompt
    tmux.type("return x + 1")
    tmux.send("Enter")
    tmux.type("}")
    tmux.send("Enter")
    tmux.wait_until(lambda screen: screen.count("✓ succeeded") == 2)
    tmux.type("inc(99)")
    tmux.send("Enter")
    tmux.wait_for(r"^100$")
    # Ctrl+C in a real terminal (raw mode while waiting) abandons a long run
    tmux.type("await new Promise(r => setTimeout(r, 3000)); 'late'")
    tmux.send("Enter")
    tmux.wait_for(r"Ctrl\+C stops waiting")
    tmux.send("C-c")
    tmux.wait_for(r"⚠ stopped waiting: the code may still be running remotely")
    tmux.wait_for(r"^js> $|^js>$")
    tmux.send("C-d")
    tmux.wait_for(r"^EXIT=0$")
    history = (tmp_path / "data" / "history.jsonl").read_text()
    assert "inc(99)" in history and "function inc(x) {\\n  return x + 1\\n}" in history  # `}` dedented


def test_term_dumb_falls_back_to_line_mode_and_says_so_once(tmux, tmp_path):
    tmux.start(_command(), _env(tmp_path, TERM="dumb"))  # no --plain: chosen automatically
    tmux.wait_for(r"js> ")
    tmux.type("'dumb' + 'ok'")
    tmux.send("Enter")
    tmux.wait_for(r"succeeded")
    screen = tmux.screen()
    assert screen.count("line mode: TERM=dumb") == 1
    assert "dumbok" in screen
    tmux.send("C-d")
    tmux.wait_for(r"^EXIT=0$")


def test_output_into_a_pipe_gets_plain_lines(tmux, tmp_path):
    tmux.start(f"{_command()} | cat", _env(tmp_path))  # stdin is the terminal, stdout a pipe
    tmux.wait_for(r"^js>")
    tmux.type("'piped' + '!'")
    tmux.send("Enter")
    tmux.wait_for(r"✓ succeeded")
    tmux.send("C-d")
    screen = tmux.wait_until(lambda s: "EXIT=0" in s)
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    assert lines[0] == "line mode: output is not a terminal"
    assert lines[2:4] == ["js> 'piped' + '!'", "'piped!'"] and lines[4].startswith("✓ succeeded")
    assert lines[5] == "js>" and lines[6] == "EXIT=0"  # no repaints written as text


def test_type_ahead_and_pastes_run_each_input_in_a_real_terminal(tmux, tmp_path):
    """During a 2 s run: `1+1` Enter `2+2` Enter typed ahead run as two
    inputs; a paste of three inputs without bracketing (keystrokes) runs
    each; a bracketed one (-p) lands as a block that Enter runs; ESC CR
    runs an unfinished line."""
    tmux.start(f"{_command()} --plain", _env(tmp_path))
    tmux.wait_for(r"js> ")
    tmux.type("const t0 = Date.now(); while (Date.now() - t0 < 2000) {}; 'slow'")
    tmux.send("Enter")
    tmux.wait_for(r"running")
    tmux.type("1+1")
    tmux.send("Enter")
    tmux.type("2+2")
    tmux.send("Enter")
    tmux.wait_for(r"js> 2\+2\n4\n")
    screen = tmux.screen()
    assert re.search(r"'slow'.*js> 1\+1\n2\n.*js> 2\+2\n4\n", screen, re.S), screen
    tmux("set-buffer", "-b", "p", "globalThis.a = 20\nglobalThis.b = 22\na + b\n")
    tmux("paste-buffer", "-b", "p", "-t", "t")
    tmux.wait_for(r"\n42\n")
    tmux("set-buffer", "-b", "q", "globalThis.c = 1\nglobalThis.d = 2\nc + d + 100\n")
    tmux("paste-buffer", "-b", "q", "-p", "-t", "t")
    # A bracketed paste lands in the input as one block (as in IPython and
    # the full-screen app); Enter runs it.
    tmux.wait_for(r"\.\.\. c \+ d \+ 100")
    tmux.send("Enter")
    tmux.wait_for(r"\n103\n")
    tmux.type("function g() {")
    tmux.send("M-Enter")  # ESC CR in one write, as a terminal sends Alt+Enter
    tmux.wait_for(r"SyntaxError")


def test_expiry_is_a_line_in_the_scrollback_and_the_next_run_says_it_ran_fresh(tmux, tmp_path, short_pool):
    env = _env(tmp_path, ACAJS_ENDPOINT=short_pool.endpoint, ACAJS_TOKEN=short_pool.token,
               ACAJS_EXPIRY_WARNING="1")
    tmux.start(f"{_command()} --plain", env)
    tmux.wait_for(r"js> ")
    tmux.type("globalThis.k = 42; k")
    tmux.send("Enter")
    tmux.wait_for(r"\n42\n")
    tmux.wait_for(r"expires in \d+ s \(at \d\d:\d\d:\d\d\)")
    tmux.wait_for(r"expired at \d\d:\d\d:\d\d")
    tmux.type("typeof k")
    tmux.send("Enter")
    tmux.wait_for(r"Session expired at \d\d:\d\d:\d\d; this run started a fresh session")
    tmux.wait_for(r"'undefined'")


def test_play_and_presenter_mode_in_line_mode(tmux, tmp_path):
    script = tmp_path / "talk.js"
    script.write_text("// %% one\n6 * 7\n\n// %% two\n'second step'\n")
    env = _env(tmp_path, ACAJS_SESSION="stage-session-9c1e7a")
    tmux.start(f"{_command()} --plain --present --play {shlex.quote(str(script))}", env)
    tmux.wait_for(r"js> 6 \* 7")
    tmux.send("Enter")
    tmux.wait_for(r"\n42\n")
    tmux.wait_for(r"js> 'second step'")  # the next step came into the prompt
    tmux.send("Enter")
    tmux.wait_for(r"play finished: 2 of 2")
    tmux.wait_for(r"session <session>")  # the toolbar, redrawn with the prompt
    screen = tmux.screen()
    assert "stage-session-9c1e7a" not in screen
    assert not re.search(r"127\.0\.0\.1:\d+", screen), screen


def test_hostile_output_leaves_the_scrollback_and_the_title_intact(tmux, tmp_path):
    tmux.start(f"{_command()} --plain", _env(tmp_path))
    tmux.wait_for(r"js> ")
    tmux("select-pane", "-t", "t", "-T", "my-title")
    tmux.type("'earlier line'")
    tmux.send("Enter")
    tmux.wait_for(r"\n'earlier line'\n")
    tmux.type("console.log('before\\x1b[2J after'); console.log('A\\x1b]2;PWNED\\x1b\\\\B'); 'done'")
    tmux.send("Enter")
    tmux.wait_for(r"\n'done'\n")
    screen = tmux.screen()
    assert "'earlier line'" in screen and "before after" in screen.replace("  ", " ") and "AB" in screen
    assert tmux("display-message", "-p", "-t", "t", "#{pane_title}").strip() == "my-title"
