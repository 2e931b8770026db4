"""When the cyclic garbage collector runs in the full-screen app.

A full collection traverses every tracked object: with a long transcript and
Textual's objects that is a visible pause (120-340 ms measured at 200 cells).
So the app freezes what lives as long as it (after connect, see
``ReplScreen.on_connected``), and the transcript, when it has archived old
cells and nothing runs, collects the little that is not frozen and freezes
the survivors (:func:`collect_and_freeze`): automatic collections then only
ever see what was made since. Frozen objects are never collected, so when
the transcript is cleared (Ctrl+L) the freeze is undone (:func:`thaw`) and
the next quiet moment collects everything once.
"""

from __future__ import annotations

import gc


def collect_and_freeze() -> None:
    """Collect the unfrozen objects (garbage among them: archived widgets),
    then freeze the survivors."""
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """Give frozen objects back to the collector (what was cleared can go)."""
    gc.unfreeze()
