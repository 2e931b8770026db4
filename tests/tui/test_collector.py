"""The app's own collections traverse what a long session keeps, not what
Textual memoised about coordinates long scrolled away (repl.tui.collector)."""

from __future__ import annotations

import gc

from textual.geometry import Region, Spacing

from repl.tui import collector


def test_a_collection_first_forgets_textuals_memoised_geometry() -> None:
    # A growing transcript asks about new coordinates at every layout: these
    # caches only fill (up to 4,096 entries each), and every entry is objects
    # each full collection traverses.
    for y in range(500):
        region = Region(0, y * 3, 80, 3)
        region.grow(Spacing(1, 1, 1, 1))
        region.union(Region(0, 0, 80, y + 1))
        region.intersection(Region(0, y, 80, 40))
    assert Region.grow.cache_info().currsize >= 500
    tracked = len(gc.get_objects())
    collector.collect_garbage()
    assert Region.grow.cache_info().currsize == 0
    assert Region.union.cache_info().currsize == 0
    assert Region.intersection.cache_info().currsize == 0
    assert len(gc.get_objects()) < tracked - 1500  # the entries' keys, results and links are gone
