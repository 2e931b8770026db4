"""One table of key sequences with their REPL meanings, driven through both
front ends: Pilot for the full-screen app (tests/tui/test_key_sequences.py)
and prompt-toolkit's pipe input for line mode (tests/line/test_key_sequences.py).

A sequence is a list of steps: text typed key by key, or a special key in
angle brackets. ``<wait-run>`` waits until an execution is in flight, so the
keys after it are typed ahead. The expectation is what a person would check:
the values the finished cells printed, in order, and what is left in the
input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SLOW = "const t0 = Date.now(); while (Date.now() - t0 < 2000) {}; 'slow'"

#: special keys: name -> (Textual key for Pilot, bytes a terminal sends)
SPECIAL = {
    "<enter>": ("enter", "\r"),
    "<alt+enter>": ("alt+enter", "\x1b\r"),
    "<ctrl+j>": ("ctrl+j", "\n"),
    "<escape>": ("escape", "\x1b"),
    "<ctrl+c>": ("ctrl+c", "\x03"),
    "<left>": ("left", "\x1b[D"),
}


@dataclass(frozen=True)
class KeyCase:
    name: str
    steps: tuple[str, ...]
    values: tuple[str, ...]  # value_text of each finished cell, in order ("" for none)
    statuses: tuple[str, ...] = ()  # when given: each cell's status, in order
    left_in_input: str = ""
    sent_contains: tuple[str, ...] = field(default_factory=tuple)  # in the last cell's code


CASES: tuple[KeyCase, ...] = (
    KeyCase(
        "type-ahead during a 2 s run runs each input in order",
        (SLOW, "<enter>", "<wait-run>", "1+1", "<enter>", "2+2", "<enter>"),
        ("'slow'", "2", "4"),
    ),
    KeyCase(
        "a keystroke paste of three inputs runs each",
        ("globalThis.a = 1\rglobalThis.b = 2\ra + b\r",),
        ("1", "2", "3"),
    ),
    KeyCase(
        "} Enter f(11) Enter typed without pauses after a block",
        ("function f(x) {", "<enter>", "return x * 2", "<enter>", "}", "<enter>", "f(11)", "<enter>"),
        ("", "22"),
    ),
    KeyCase(
        # (in line mode a lone Escape then a letter is readline's Meta prefix,
        # as in bash: Escape then y is Meta+y; a space after it is just text)
        "Escape never leaves the input: later letters are text",
        ("1 +", "<escape>", " es", "<escape>", " y"),
        (),
        left_in_input="1 + es y",
    ),
    KeyCase(
        "Ctrl+C clears the input",
        ("this is not sent", "<ctrl+c>", "5", "<enter>"),
        ("5",),
    ),
    KeyCase(
        "ESC CR is Alt+Enter: it runs an unfinished block",
        ("function g() {", "<alt+enter>"),
        ("",),
        statuses=("failed",),
    ),
    KeyCase(
        "Enter inside a complete block inserts a line",
        ("function h() {", "<enter>", "return 1", "<enter>", "}", "<left>", "<enter>", "<ctrl+j>", "h()", "<enter>"),
        ("", "1"),
    ),
    KeyCase(
        "_ is the last value and _error the last error",
        ("6 * 7", "<enter>", "_ + 1", "<enter>", "null.x", "<enter>", "_error.name", "<enter>"),
        ("42", "43", "", "'TypeError'"),
        statuses=("succeeded", "succeeded", "failed", "succeeded"),
    ),
    KeyCase(
        ".break drops a pending block",
        ("if (true) {", "<enter>", ".break", "<enter>", "7", "<enter>"),
        ("7",),
    ),
)
