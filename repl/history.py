"""Persistent input history shared by the Textual app and the line mode.

``history.jsonl`` in the user data dir (:func:`repl.paths.history_file`): one JSON
object per line, one line per submitted block::

    {"code": "1 + 1", "time": "2026-01-01T12:00:00+00:00", "session": "<id>",
     "status": "succeeded", "duration_ms": 12.5}

- Each entry is appended and flushed as it is made (the file is opened in
  append mode per write, so two processes appending is fine and a crash loses
  nothing).
- A corrupt line (half-written, edited by hand) is skipped; the rest is kept.
- A history that cannot be read (a directory, no permission) reads as empty;
  one that cannot be written raises ``OSError`` from :meth:`History.append`.
- Only what the user typed is stored: never the rewritten code, never config
  or tokens. A new file is created readable by its owner only (0600; a new
  folder 0700): entries name session identifiers.
- :class:`HistoryCursor` walks the entries (Up/Down) keeping the current draft.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    code: str
    time: str  # ISO 8601, UTC
    session: str | None = None
    status: str | None = None
    duration_ms: float | None = None

    @property
    def timestamp(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.time)
        except ValueError:
            return None


class History:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._cache: list[HistoryEntry] | None = None
        self._cache_key: tuple[int, int] | None = None

    # -- writing -------------------------------------------------------
    def append(
        self,
        code: str,
        *,
        session: str | None = None,
        status: str | None = None,
        duration_ms: float | None = None,
        time: datetime | None = None,
    ) -> HistoryEntry:
        when = time or datetime.now(UTC)
        entry = HistoryEntry(
            code=code,
            time=when.isoformat(),
            session=session,
            status=status,
            duration_ms=None if duration_ms is None else round(float(duration_ms), 3),
        )
        line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
        # Private to the user: entries name session identifiers, which are access
        # to the sessions (API.md §1). Existing files and folders keep their modes.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        # One write call of one line in append mode: concurrent appenders interleave
        # whole lines. If a previous writer crashed mid-line, start on a new line.
        with os.fdopen(fd, "a+b") as fh:
            fh.seek(0, 2)
            if fh.tell() > 0:
                fh.seek(-1, 2)
                if fh.read(1) != b"\n":
                    line = "\n" + line
            fh.write(line.encode("utf-8"))
            fh.flush()
        return entry

    # -- reading -------------------------------------------------------
    def entries(self) -> list[HistoryEntry]:
        """All readable entries, oldest first (newest last)."""
        try:
            st = self.path.stat()
        except OSError:  # missing, or a path that cannot hold it: no history to show
            return []
        key = (st.st_size, st.st_mtime_ns)
        if self._cache is not None and self._cache_key == key:
            return list(self._cache)
        out: list[HistoryEntry] = []
        try:
            with open(self.path, "rb") as fh:
                for raw in fh:
                    entry = _parse_line(raw)
                    if entry is not None:
                        out.append(entry)
        except OSError:  # a directory, unreadable: the REPL still starts, without history
            return []
        self._cache, self._cache_key = out, key
        return list(out)

    def codes(self) -> list[str]:
        return [e.code for e in self.entries()]

    def search(self, text: str) -> list[HistoryEntry]:
        """Entries whose code contains ``text`` (case-insensitive), newest first,
        one per distinct code (its newest occurrence)."""
        needle = text.casefold()
        seen: set[str] = set()
        out: list[HistoryEntry] = []
        for entry in reversed(self.entries()):
            if entry.code in seen:
                continue
            if needle in entry.code.casefold():
                seen.add(entry.code)
                out.append(entry)
        return out

    def cursor(self, draft: str = "") -> HistoryCursor:
        return HistoryCursor(self.codes(), draft)


def _parse_line(raw: bytes) -> HistoryEntry | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("code"), str):
        return None
    duration = obj.get("duration_ms")
    if not isinstance(duration, (int, float)) or isinstance(duration, bool):
        duration = None
    return HistoryEntry(
        code=obj["code"],
        time=str(obj.get("time") or ""),
        session=obj.get("session") if isinstance(obj.get("session"), str) else None,
        status=obj.get("status") if isinstance(obj.get("status"), str) else None,
        duration_ms=duration,
    )


class HistoryCursor:
    """Up/Down walking over history, keeping the draft being edited.

    ``previous(current)`` moves to an older entry and returns its code (``None``
    at the oldest); ``next(current)`` moves to a newer one and finally back to
    the draft (``None`` when already at the draft). ``current`` is the text in
    the editor now: when walking away from the draft it is remembered, so
    coming back restores what the user was typing. Consecutive duplicate
    entries are collapsed.
    """

    def __init__(self, codes: Sequence[str], draft: str = "") -> None:
        items: list[str] = []
        for code in codes:
            if not items or items[-1] != code:
                items.append(code)
        self._items = items
        self._index = len(items)  # == len: at the draft
        self.draft = draft

    @property
    def at_draft(self) -> bool:
        return self._index == len(self._items)

    @property
    def index(self) -> int:
        return self._index

    def previous(self, current: str | None = None) -> str | None:
        if self._index == 0:
            return None
        if self.at_draft and current is not None:
            self.draft = current
        self._index -= 1
        return self._items[self._index]

    def next(self, current: str | None = None) -> str | None:
        if self.at_draft:
            return None
        self._index += 1
        if self._index == len(self._items):  # back at the draft
            return self.draft
        return self._items[self._index]

    def reset(self, draft: str = "") -> None:
        self._index = len(self._items)
        self.draft = draft

    def add(self, code: str) -> None:
        """Record a newly submitted block and go back to an empty draft."""
        if not self._items or self._items[-1] != code:
            self._items.append(code)
        self.reset()
