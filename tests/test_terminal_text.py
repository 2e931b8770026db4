"""The output sanitiser: attack strings, properties over random input, and pyte
(an independent terminal emulator) as the judge of what reaches a terminal."""

from __future__ import annotations

import re

import pyte
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repl.terminal_text import has_controls, plain_text, rich_text, safe_text

SGR = re.compile(r"\x1b\[[0-9;:]*m")
FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # checked after removing \n

ATTACKS = {
    "clear screen": "before\x1b[2J after",
    "clear + home": "\x1b[H\x1b[2Jgone",
    "window title (OSC 2, ST)": "A\x1b]2;PWNED\x1b\\B",
    "window title (OSC 0, BEL)": "A\x1b]0;PWNED\x07B",
    "icon name": "\x1b]1;x\x07",
    "clipboard write (OSC 52)": "x\x1b]52;c;cm0gLXJmIH4=\x07y",
    "hyperlink (OSC 8)": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "palette change (OSC 4)": "\x1b]4;1;rgb:ff/00/00\x1b\\",
    "cursor up": "line\x1b[5Aover",
    "cursor position": "\x1b[1;1Htop",
    "save/restore cursor": "\x1b7\x1b[10;10Hx\x1b8",
    "scroll region": "\x1b[1;2r",
    "alternate screen": "\x1b[?1049h",
    "hide cursor": "\x1b[?25l",
    "mouse tracking": "\x1b[?1000h",
    "bracketed paste off": "\x1b[?2004l",
    "insert lines": "\x1b[10L",
    "delete chars": "\x1b[5P",
    "erase line": "abc\x1b[2Kdef",
    "device attributes query": "\x1b[c\x1b[>c\x1b[6n",
    "reset terminal (RIS)": "\x1bc",
    "keypad mode": "\x1b=",
    "charset switch (SO)": "\x0eabc\x0f",
    "charset designation": "\x1b(0lqk\x1b(B",
    "reverse index": "\x1bM\x1bM\x1bM",
    "DCS (sixel)": "\x1bPq#0;2;0;0;0#1!6~\x1b\\",
    "DCS tmux passthrough": "\x1bPtmux;\x1b\x1b]2;x\x07\x1b\\",
    "APC": "\x1b_Gf=100;AAAA\x1b\\",
    "PM": "\x1b^privacy\x1b\\",
    "SOS": "\x1bXstart of string\x1b\\",
    "8-bit CSI": "\x9b2J\x9b1;1H",
    "8-bit OSC": "\x9d0;PWNED\x9c",
    "8-bit DCS": "\x90q\x9c",
    "8-bit APC/PM/SOS": "\x9fa\x9c\x9eb\x9c\x98c\x9c",
    "NEL and IND": "a\x85b\x84c",
    "unterminated OSC": "x\x1b]2;never ends",
    "unterminated CSI": "x\x1b[12",
    "lone ESC": "x\x1b",
    "bell and DEL": "a\x07b\x7fc",
    "vertical tab and form feed": "a\x0bb\x0cc",
    "CAN inside OSC": "\x1b]2;x\x18visible",
    "SGR with private marker": "\x1b[?31m",
    "very long SGR": "\x1b[" + "1;" * 200 + "31mx",
}


def no_controls_but_sgr(text: str) -> bool:
    rest = SGR.sub("", text).replace("\n", "").replace("\t", "")
    return FORBIDDEN.search(rest) is None and "\x1b" not in rest


FORBIDDEN_ACTIONS = (
    "erase_in_display", "erase_in_line", "cursor_up", "cursor_up1", "cursor_position", "reverse_index",
    "set_title", "set_icon_name", "set_mode", "reset_mode", "delete_lines", "insert_lines",
    "delete_characters", "insert_characters", "erase_characters", "set_margins", "reset",
    "alignment_display", "restore_cursor", "report_device_attributes", "report_device_status",
    "cursor_to_line", "define_charset", "shift_in", "shift_out", "cursor_back", "cursor_forward",
    "cursor_to_column", "clear_tab_stop", "carriage_return", "backspace", "bell",
)


class Judge(pyte.Screen):
    """A pyte screen that records anything a sanitised output must never make a terminal do."""

    def __init__(self) -> None:
        self.events: list[str] = []
        super().__init__(400, 200)
        self.events.clear()  # the constructor's own reset
        self.title_start, self.icon_start = self.title, self.icon_name
        self.mode_start = set(self.mode)


def _recorder(name: str):
    def method(self: Judge, *args, **kw):
        self.events.append(name)
        return getattr(pyte.Screen, name)(self, *args, **kw)
    return method


for _name in FORBIDDEN_ACTIONS:
    setattr(Judge, _name, _recorder(_name))


def judge(text: str) -> Judge:
    screen = Judge()
    stream = pyte.Stream(screen)
    y0 = screen.cursor.y
    for ch in text:
        stream.feed(ch)
        assert screen.cursor.y >= y0, "the cursor went above the start line"
        y0 = screen.cursor.y
    return screen


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_strings_are_neutralised(name):
    raw = ATTACKS[name]
    for out in (safe_text(raw), plain_text(raw)):
        assert no_controls_but_sgr(out), (name, out)
        screen = judge(out)
        assert screen.events == [], (name, out, screen.events)
        assert screen.title == screen.title_start and screen.icon_name == screen.icon_start
        assert set(screen.mode) == screen.mode_start
    assert "\x1b" not in plain_text(raw)


def test_what_the_issue_saw():
    assert safe_text("before\x1b[2J after") == "before after"
    assert safe_text("A\x1b]2;PWNED\x1b\\B") == "AB"
    assert "PWNED" not in safe_text(ATTACKS["8-bit OSC"])
    assert "cm0gLXJmIH4" not in safe_text(ATTACKS["clipboard write (OSC 52)"])
    assert safe_text(ATTACKS["hyperlink (OSC 8)"]) == "click"


def test_carriage_return_progress_and_backspace():
    assert safe_text("10%\r50%\r100%") == "100%"
    assert safe_text("10%\r50%\r100%\ndone\n") == "100%\ndone\n"
    assert safe_text("loading...\rok") == "okading..."  # a terminal overwrites, it does not erase
    assert safe_text("ab\bc") == "ac"
    assert safe_text("abc\b\b\bxy") == "xyc"
    assert safe_text("\b\bx") == "x"  # backspace stops at the left margin
    assert safe_text("windows\r\nline\r\n") == "windows\nline\n"


def test_tabs_are_kept_and_expanded_only_where_a_line_is_rewritten():
    assert safe_text("a\tb\tc\n") == "a\tb\tc\n"  # TSV stays TSV
    assert safe_text("a\tb\rX") == "X       b"
    assert safe_text("abcdefghij\t|\r-") == "-bcdefghij      |"


def test_wide_and_combining_characters_take_their_columns():
    assert safe_text("中文\rab") == "ab文"
    assert safe_text("中文\ra") == "a 文"  # half of a wide character cannot stay
    assert safe_text("ab\rx中") == "x中"
    assert safe_text("e\u0301x\ry") == "yx"
    assert safe_text("e\u0301\u0302") == "e\u0301\u0302"


def test_colours_are_kept_and_never_leak_past_the_end():
    assert safe_text("\x1b[31mred\x1b[0m ok") == "\x1b[31mred\x1b[0m ok"
    assert safe_text("\x1b[1;38;5;208mhot") == "\x1b[1;38;5;208mhot\x1b[0m"
    assert plain_text("\x1b[31mred\x1b[0m ok") == "red ok"
    # A style set before a \r rewrite stays on the characters written in it.
    out = safe_text("ab\x1b[32mc\rX")
    assert plain_text(out) == "Xbc"
    text = rich_text(out)
    assert text.plain == "Xbc"
    green = rich_text("\x1b[32mx").spans[0].style
    styled = {i for s in text.spans if s.style == green for i in range(s.start, s.end)}
    assert styled == {0, 2}  # X and c are green (the style was set before the \r), b is not
    # The colour in effect at the end of a rewritten line carries to the next line.
    assert rich_text(safe_text("\x1b[34ma\rb\nc")).spans[-1].style == rich_text("\x1b[34mc").spans[0].style


def test_rich_text_never_gets_a_link_or_a_control():
    text = rich_text(ATTACKS["hyperlink (OSC 8)"] + ATTACKS["clear screen"])
    assert text.plain == "clickbefore after"
    assert all(getattr(s.style, "link", None) is None for s in text.spans)


def test_plain_text_without_controls_is_returned_as_is():
    s = "ünïcödé 中文 tab\there\n" * 3
    assert not has_controls(s)
    assert safe_text(s) is s and plain_text(s) is s


def test_a_large_output_with_progress_lines():
    line = "".join(f"{i}%\r" for i in range(100)) + "done\x1b[K\n"
    out = safe_text(line * 20_000)
    assert out == "done\n" * 20_000


control_heavy = st.text(
    alphabet=st.sampled_from(
        list("\x1b\x9b\x9d\x90\x9c\x98\x9e\x9f\x07\x18\x1a\r\b\t\n\x00\x7f\x85")
        + list("[]\\;:0123456789?>mHJKPX^_c ab中\u0301")
    ),
    max_size=80,
)
any_text = st.one_of(
    control_heavy,
    st.text(max_size=80),
    st.binary(max_size=120).map(lambda b: b.decode("latin-1")),  # every byte, C1 included
    st.binary(max_size=120).map(lambda b: b.decode("utf-8", "replace")),
    st.lists(st.sampled_from(list(ATTACKS.values())), max_size=4).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_output_never_holds_a_control_other_than_sgr(raw):
    safe = safe_text(raw)
    plain = plain_text(raw)
    assert no_controls_but_sgr(safe)
    assert FORBIDDEN.search(plain.replace("\n", "").replace("\t", "")) is None and "\x1b" not in plain
    assert SGR.sub("", safe) == plain
    assert safe.count("\n") == raw.count("\n")  # no line is lost or invented
    assert safe_text(safe) == safe  # already safe: unchanged


@settings(max_examples=150, deadline=None)
@given(any_text)
def test_a_terminal_fed_the_output_never_moves_up_changes_mode_or_title(raw):
    screen = judge(safe_text(raw))
    assert screen.events == []
    assert screen.title == screen.title_start and screen.icon_name == screen.icon_start
    assert set(screen.mode) == screen.mode_start
