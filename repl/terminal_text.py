"""Remote text made safe to show: what a terminal would display, minus its power.

Everything a session prints (stdout, stderr, values) and everything a server
says (error messages, file names) is untrusted. Written raw to a terminal it
can clear the screen, move the cursor over earlier output, set the window
title, write the clipboard (OSC 52), plant hyperlinks (OSC 8) or switch modes.
This module is the one place that turns such text into something every front
end can show or write:

- :func:`safe_text` keeps SGR (colours and styles: ``ESC [ … m``), applies
  carriage return, backspace and tab the way a terminal would within a line
  (``10%\\r50%\\r100%`` becomes ``100%``, ``ab\\bc`` becomes ``ac``), and drops
  every other control: CSI sequences other than SGR, OSC (titles, clipboard,
  hyperlinks, colours), DCS, SOS, PM and APC strings with their payload, other
  escape sequences, C1 controls in their 8-bit form (U+0080-U+009F, including
  the 8-bit CSI/OSC/DCS introducers with what they introduce) and C0 controls
  other than ``\\n`` and ``\\t``. Tabs are kept as tabs (harmless, and TSV data
  stays TSV) except in a line that ``\\r``/``\\b`` rewrites, where they become the
  spaces up to the next tab stop (every 8 columns). A colour still set at the end
  is reset, so it cannot leak into what is printed next.
- :func:`plain_text` is the same with no escape sequence at all (exports,
  copies, error messages, Markdown).
- :func:`rich_text` is :func:`safe_text` as a Rich ``Text`` for the full-screen
  app (Rich is imported only there).

The result of either function never contains ``ESC`` except as the first byte
of a well-formed SGR sequence, and no C0/C1 control other than ``\\n``/``\\t``.
Each call stands alone: an unterminated sequence at the end of one output
cannot swallow the next. An unterminated OSC/DCS/… string loses only its
introducer, so the text after it stays visible (nothing is lost).

Why hand-written and not pyte: pyte (the terminal emulator the tests use as an
independent model) was evaluated. Its parser has no DCS/SOS/PM/APC states, so
their payload (a sixel image, a tmux passthrough) would come out as text; its
screen needs a fixed width and height, so a 10 MB output would be wrapped and
scrolled off a virtual screen rather than kept, and SGR spans would have to be
rebuilt from per-cell attributes; and it interprets every character in Python,
about two orders of magnitude slower than this module on plain text. What we
need is a tokenizer over the ECMA-48 grammar (one compiled regular expression)
plus a one-line model for ``\\r``/``\\b``/tab, with ``wcwidth`` (already a
dependency of prompt-toolkit) for the column width of wide and combining
characters. Text with no control character at all (the usual case) is
returned as is after one regex scan.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.text import Text

__all__ = ["plain_text", "rich_text", "safe_text", "has_controls"]

TAB_STOP = 8
_MAX_SGR_PARAMS = 64  # a longer parameter string is not a real style: dropped
_MAX_STYLE_PARTS = 32  # SGR sequences remembered since the last reset

# Any character that needs the slow path: C0 except \n and \t, DEL, C1.
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# One token of "special" input; plain text runs lie between matches.
_TOKEN = re.compile(
    r"""
    (?P<sgr>\x1b\[[0-9;:]*m)                                   # SGR: kept
    | (?P<csi>(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]) # any other CSI: dropped
    | (?P<osc>(?:\x1b\]|\x9d)[^\x07\x1b\x9c\x18\x1a]*(?:\x07|\x1b\\|\x9c|[\x18\x1a]))  # OSC … BEL/ST
    | (?P<string>(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c\x18\x1a]*(?:\x1b\\|\x9c|[\x18\x1a]))  # DCS SOS PM APC
    | (?P<esc>\x1b[\x20-\x2f]*[\x30-\x7e])                     # other escape sequences (nF, Fp, Fe, Fs)
    | (?P<cr>\r) | (?P<bs>\x08) | (?P<tab>\t)
    | (?P<ctl>[\x00-\x08\x0b-\x1f\x7f-\x9f])                   # a lone control: dropped
    """,
    re.VERBOSE,
)

_SGR_PARAMS = re.compile(r"\x1b\[([0-9;:]*)m")


def has_controls(text: str) -> bool:
    """Whether ``text`` holds any character :func:`safe_text` would change."""
    return _NEEDS_WORK.search(text) is not None


def safe_text(raw: str) -> str:
    """``raw`` with SGR kept, ``\\r``/``\\b``/tabs applied, every other control neutralised."""
    if _NEEDS_WORK.search(raw) is None:
        return raw
    return _Renderer(keep_sgr=True).render(raw)


def plain_text(raw: str) -> str:
    """``raw`` as a terminal would show it, with no escape sequence at all."""
    if _NEEDS_WORK.search(raw) is None:
        return raw
    return _Renderer(keep_sgr=False).render(raw)


def rich_text(raw: str) -> Text:
    """:func:`safe_text` as a Rich ``Text`` (colours kept), for the full-screen app."""
    from rich.text import Text

    return Text.from_ansi(safe_text(raw), end="")


def _is_reset(params: str) -> bool:
    return params in ("", "0") or all(p in ("", "0") for p in params.split(";"))


class _Renderer:
    """One call's worth of state: the SGR in effect and the output being built."""

    def __init__(self, *, keep_sgr: bool) -> None:
        self.keep_sgr = keep_sgr
        self.style: list[str] = []  # SGR sequences in effect since the last reset
        self.out: list[str] = []

    # --- style -------------------------------------------------------------

    def _apply_sgr(self, seq: str) -> bool:
        """Track one SGR sequence; False when it is dropped (too long)."""
        m = _SGR_PARAMS.fullmatch(seq)
        params = m.group(1) if m else ""
        if len(params) > _MAX_SGR_PARAMS:
            return False
        if _is_reset(params):
            self.style.clear()
        else:
            if seq in self.style:
                self.style.remove(seq)
            self.style.append(seq)
            if len(self.style) > _MAX_STYLE_PARTS:
                del self.style[0]
        return True

    def _style_key(self) -> str:
        return "".join(self.style)

    # --- rendering -----------------------------------------------------------

    def render(self, raw: str) -> str:
        lines = raw.split("\n")
        last = len(lines) - 1
        for i, line in enumerate(lines):
            if "\r" in line or "\x08" in line:
                self._grid_line(line)
            else:
                self._stream_line(line)
            if i != last:
                self.out.append("\n")
        if self.keep_sgr and self.style:
            self.out.append("\x1b[0m")
        return "".join(self.out)

    def _stream_line(self, line: str) -> None:
        """A line with no \\r or \\b: text and tabs as they are, SGR kept, the rest dropped."""
        out = self.out
        pos = 0
        for m in _TOKEN.finditer(line):
            if m.start() > pos:
                out.append(line[pos:m.start()])
            pos = m.end()
            kind = m.lastgroup
            if kind == "sgr":
                seq = m.group()
                if self._apply_sgr(seq) and self.keep_sgr:
                    out.append(seq)
            elif kind == "tab":
                out.append("\t")
        if pos < len(line):
            out.append(line[pos:])

    def _grid_line(self, line: str) -> None:
        """A line that \\r or \\b rewrites: laid out in columns, then written left to right."""
        from wcwidth import wcwidth  # only here: the common paths never need it (10 ms to import)

        start_key = self._style_key()
        chars: list[str] = []  # one entry per column; "" continues a wide character
        styles: list[str] = []
        col = 0

        def put(text: str) -> None:
            nonlocal col
            key = self._style_key()
            if text.isascii() and text.isprintable():
                end = col + len(text)
                if col > len(chars):
                    pad = col - len(chars)
                    chars.extend(" " * pad)
                    styles.extend([key] * pad)
                _fix_wide_edges(chars, col, end)
                chars[col:end] = text
                styles[col:end] = [key] * len(text)
                col = end
                return
            for ch in text:
                w = wcwidth(ch)
                if w < 0:
                    continue  # not printable (wcwidth's view): dropped
                if w == 0:
                    if col > 0 and col - 1 < len(chars):
                        chars[col - 1] += ch  # a combining mark joins the character before
                    continue
                while len(chars) < col + w:
                    chars.append(" ")
                    styles.append(key)
                _fix_wide_edges(chars, col, col + w)
                chars[col] = ch
                styles[col] = key
                if w == 2:
                    chars[col + 1] = ""
                    styles[col + 1] = key
                col += w

        pos = 0
        for m in _TOKEN.finditer(line):
            if m.start() > pos:
                put(line[pos:m.start()])
            pos = m.end()
            kind = m.lastgroup
            if kind == "sgr":
                self._apply_sgr(m.group())
            elif kind == "cr":
                col = 0
            elif kind == "bs":
                col = max(0, col - 1)
                while col > 0 and col < len(chars) and chars[col] == "":
                    col -= 1  # back over the right half of a wide character
            elif kind == "tab":
                nxt = (col // TAB_STOP + 1) * TAB_STOP
                if nxt > len(chars):
                    key = self._style_key()
                    pad = nxt - len(chars)
                    chars.extend(" " * pad)
                    styles.extend([key] * pad)
                col = nxt
        if pos < len(line):
            put(line[pos:])

        end_key = self._style_key()
        current = start_key
        out = self.out
        for ch, key in zip(chars, styles, strict=True):
            if not ch:
                continue
            if key != current and self.keep_sgr:
                out.append("\x1b[0m" + key)
                current = key
            out.append(ch)
        if current != end_key and self.keep_sgr:
            out.append("\x1b[0m" + end_key)


def _fix_wide_edges(chars: list[str], start: int, end: int) -> None:
    """Before columns [start, end) are overwritten: a wide character cut in half
    by the edges of that range leaves a space in its other half."""
    if 0 < start < len(chars) and chars[start] == "":
        chars[start - 1] = " "
    if end < len(chars) and chars[end] == "":
        chars[end] = " "
