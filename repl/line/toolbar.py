"""The bottom toolbar: session identifier, cooldown seconds left, last round trip."""

from __future__ import annotations

from typing import TYPE_CHECKING

from repl.vocabulary import format_ms, read_cooldown

if TYPE_CHECKING:
    from repl.engine import ReplEngine

Fragments = list[tuple[str, str]]


_ms = format_ms


def cooldown_fragments(engine: ReplEngine) -> Fragments:
    """The countdown in seconds (a toolbar has room for digits, not a bar);
    its levels and words are the core's (repl.vocabulary.read_cooldown)."""
    reading = read_cooldown(engine.cooldown)
    if reading.level == "idle":
        return [("", f"cooldown {engine.cooldown.period_s:.0f} s (starts at the first run)")]
    if reading.level == "paused":
        return [("", "cooldown paused while the session runs")]
    if reading.level == "expired":
        return [("class:toolbar.expired", reading.long)]
    style = "class:toolbar.warn" if reading.level == "warning" else ""
    return [(style, f"cooldown {reading.seconds_left:.0f} s left")]


def last_round_trip(engine: ReplEngine) -> float | None:
    if engine.round_trips:
        return engine.round_trips[-1]
    return None


def toolbar_fragments(engine: ReplEngine, *, editor_mode: bool = False, width: int | None = None) -> Fragments:
    """The toolbar; with ``width`` (the terminal's columns) it is fitted: the
    connection label goes first, then the identifier is shortened, so the
    cooldown and the round trip always show."""
    variants = [(False, True), (False, False), (True, True), (True, False)]
    frags: Fragments = []
    for short, label in variants:
        frags = _fragments(engine, editor_mode=editor_mode, short_id=short, label=label)
        if width is None or sum(len(t) for _, t in frags) <= width:
            break
    return frags


def _fragments(engine: ReplEngine, *, editor_mode: bool, short_id: bool, label: bool) -> Fragments:
    sep = ("class:toolbar.key", " · ")
    ident = engine.identifier
    if short_id and len(ident) > 9:
        ident = ident[:8] + "…"
    frags: Fragments = [("", f" session {ident}"), sep]
    frags += cooldown_fragments(engine)
    frags.append(sep)
    rt = last_round_trip(engine)
    frags.append(("", f"round trip {_ms(rt)}" if rt is not None else "round trip –"))
    if label:
        frags.append(sep)
        frags.append(("", engine.connection.label))
    if editor_mode:
        frags += [sep, ("class:toolbar.warn", "editor mode: Alt+Enter runs")]
    return frags


def toolbar_text(engine: ReplEngine, *, editor_mode: bool = False, width: int | None = None) -> str:
    return "".join(t for _, t in toolbar_fragments(engine, editor_mode=editor_mode, width=width))
