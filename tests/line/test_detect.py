"""should_use_line_mode: when the full-screen app cannot run."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios

import pytest

from repl.line.detect import should_use_line_mode
from repl.line.render import colour_enabled


@pytest.fixture
def pty_out():
    master, slave = os.openpty()
    f = os.fdopen(slave, "w")

    def resize(cols: int, rows: int) -> None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    f.resize = resize  # type: ignore[attr-defined]
    try:
        yield f
    finally:
        f.close()
        os.close(master)


def test_a_normal_terminal_hosts_the_full_screen_app(pty_out):
    pty_out.resize(120, 40)
    assert should_use_line_mode({"TERM": "xterm-256color"}, pty_out) is None


def test_term_dumb_chooses_line_mode(pty_out):
    pty_out.resize(120, 40)
    assert should_use_line_mode({"TERM": "dumb"}, pty_out) == "TERM=dumb"


def test_output_that_is_not_a_terminal_chooses_line_mode():
    assert should_use_line_mode({"TERM": "xterm"}, io.StringIO()) == "output is not a terminal"


def test_unset_term_chooses_line_mode(pty_out):
    pty_out.resize(120, 40)
    assert should_use_line_mode({}, pty_out) == "TERM is not set"


def test_a_tiny_terminal_chooses_line_mode(pty_out):
    pty_out.resize(30, 8)
    reason = should_use_line_mode({"TERM": "xterm"}, pty_out)
    assert reason is not None and "30x8" in reason


def test_no_color_and_dumb_turn_colour_off():
    assert colour_enabled({"TERM": "xterm"})
    assert not colour_enabled({"TERM": "xterm", "NO_COLOR": "1"})
    assert not colour_enabled({"TERM": "dumb"})
    assert colour_enabled({"TERM": "xterm", "NO_COLOR": ""})  # empty means unset (no-color.org)
