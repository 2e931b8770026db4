"""When the cyclic garbage collector runs in the full-screen app.

A full collection traverses every tracked object that is not frozen: with a
long transcript of live widgets that was a visible pause (120-340 ms measured
at 200 cells). Three things keep it small:

- after connect the app freezes what exists (Textual, the client, the pool's
  thread: all live as long as the app; ``ReplScreen.on_connected``) and
  raises the young generation's threshold;
- the transcript keeps the number of live widgets bounded (archives), so
  what is not frozen stays about the same size however long the session;
- after each archive step (a few cells, after the paint) the transcript
  collects the widgets it removed (garbage in reference cycles) at once
  (:func:`collect_garbage`), a small step's worth each time, instead of
  leaving them to a larger collection inside a later run;
- before that collection, Textual's memoised line caches and geometry
  caches are cleared: created after the freeze, they would otherwise fill
  with the coordinates of a growing transcript and make every collection
  traverse them.

Nothing is frozen after connect: a widget alive at a second freeze and
removed later (archived, or cleared with Ctrl+L) would never be collected.
"""

from __future__ import annotations

import gc


def collect_garbage() -> int:
    """A full collection of what is not frozen; the number collected."""
    _forget_dead_widgets()
    _forget_geometry()
    return gc.collect()


def _forget_geometry() -> None:
    """Textual memoises its geometry (``Region.grow``, ``union``, ``intersection``...:
    up to 4,096 results each). In a transcript that grows, every layout asks
    about new coordinates, so those caches only fill: at 1,000 cells they held
    ~14,000 entries, ~75,000 objects that every full collection traversed
    (about two thirds of its time). What the next frames ask is cached again."""
    try:
        from textual.geometry import Offset, Region, Size, Spacing
    except ImportError:  # another Textual: nothing to clear
        return
    for cls in (Region, Size, Offset, Spacing):
        for member in vars(cls).values():
            clear = getattr(getattr(member, "__func__", member), "cache_clear", None)
            if callable(clear):
                clear()


def _forget_dead_widgets() -> None:
    """Textual memoises a function of each widget's line cache (1,024 of
    them): in a long transcript those are removed widgets, kept alive and
    traversed by every full collection. Cleared here it fills again with the
    live ones at the next paint."""
    try:
        from textual._styles_cache import StylesCache

        StylesCache.get_inner_outer.cache_clear()
    except (ImportError, AttributeError):  # another Textual: nothing to clear
        pass
