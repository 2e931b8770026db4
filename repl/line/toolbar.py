"""The bottom toolbar: session identifier, cooldown seconds left, last round trip."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repl.engine import ReplEngine

Fragments = list[tuple[str, str]]

WARN_BELOW_S = 60


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def cooldown_fragments(engine: ReplEngine) -> Fragments:
    cd = engine.cooldown
    if not cd.started:
        return [("", f"cooldown {cd.period_s:.0f} s (starts at the first run)")]
    if cd.expired:
        return [("class:toolbar.expired", "expired: state lost, the next run starts a fresh session")]
    left = cd.remaining()
    style = "class:toolbar.warn" if left < WARN_BELOW_S else ""
    return [(style, f"cooldown {left:.0f} s left")]


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
