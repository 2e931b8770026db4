"""Persistent input history shared by the Textual app and the line mode.

``history.jsonl`` in the user data dir (:func:`repl.paths.history_file`): one JSON
object per line, one line per submitted block::

    {"code": "1 + 1", "time": "2026-01-01T12:00:00+00:00", "session": "<id>",
     "status": "succeeded", "duration_ms": 12.5}

- Each entry is appended and flushed as it is made (the file is opened in
  append mode per write, so two processes appending is fine and a crash loses
  nothing).
- A corrupt line (half-written, edited by hand) is skipped; the rest is kept.
- The entries are kept in memory: the file is read whole once, then only the
  bytes added since (by this process or another one appending to the same
  file) are parsed. A file that was replaced (another inode), truncated or
  rewritten in place (the bytes before the read offset changed) is read whole
  again. Reading after an append of this process costs one ``stat`` (and, at
  most, parsing the new lines), not a re-parse of the file.
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
from typing import BinaryIO


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
        self._reset()

    def _reset(self) -> None:
        self._entries: list[HistoryEntry] = []
        # What the entries were read from: the file's identity, how many bytes
        # of it are parsed, the last bytes parsed (to notice a rewrite in place)
        # and the (size, mtime) seen last (nothing new to read while unchanged).
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._tail = b""
        self._seen: tuple[int, int] | None = None

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
            before = fh.tell()
            if before > 0:
                fh.seek(-1, 2)
                if fh.read(1) != b"\n":
                    line = "\n" + line
            data = line.encode("utf-8")
            fh.write(data)
            fh.flush()
            after = os.fstat(fh.fileno())
        self._remember_own(entry, data, before, after)
        return entry

    def _remember_own(
        self, entry: HistoryEntry, data: bytes, before: int, after: os.stat_result
    ) -> None:
        """Add this process's entry to memory without reading the file back, when
        the memory is current and the line landed right where memory ends (no
        other writer in between). Otherwise the next read parses the new tail."""
        if (
            self._identity == (after.st_dev, after.st_ino)
            and self._seen is not None
            and self._seen[0] == before == self._offset
            and after.st_size == before + len(data)
        ):
            self._entries.append(entry)
            self._offset = after.st_size
            self._tail = (self._tail + data)[-_TAIL_BYTES:]
            self._seen = (after.st_size, after.st_mtime_ns)

    # -- reading -------------------------------------------------------
    def entries(self) -> list[HistoryEntry]:
        """All readable entries, oldest first (newest last)."""
        self._refresh()
        return list(self._entries)

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except OSError:  # missing, or a path that cannot hold it: no history to show
            self._reset()
            return
        identity = (st.st_dev, st.st_ino)
        seen = (st.st_size, st.st_mtime_ns)
        if identity == self._identity and seen == self._seen:
            return
        if identity != self._identity or st.st_size < self._offset:
            self._reset()  # replaced or truncated: read it whole
        try:
            with open(self.path, "rb") as fh:
                if self._offset and not self._same_prefix(fh):
                    self._reset()  # rewritten in place: read it whole
                fh.seek(self._offset)
                added = fh.read()
        except OSError:  # a directory, unreadable: the REPL still starts, without history
            self._reset()
            return
        self._identity, self._seen = identity, seen
        self._consume(added)

    def _same_prefix(self, fh: BinaryIO) -> bool:
        """Do the bytes just before the read offset still read as they did?"""
        fh.seek(self._offset - len(self._tail))
        return fh.read(len(self._tail)) == self._tail

    def _consume(self, added: bytes) -> None:
        """Parse the complete lines of ``added`` (the bytes after the offset).

        An unterminated last line is taken only if it parses (a file edited by
        hand without a final newline); otherwise it is likely a line another
        process is writing right now, and it is read again next time."""
        end = added.rfind(b"\n") + 1
        complete, rest = added[:end], added[end:]
        for raw in complete.split(b"\n"):
            entry = _parse_line(raw)
            if entry is not None:
                self._entries.append(entry)
        used = end
        if rest.strip():
            entry = _parse_line(rest)
            if entry is not None:
                self._entries.append(entry)
                used = len(added)
        if used:
            self._offset += used
            self._tail = (self._tail + added[:used])[-_TAIL_BYTES:]

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


_TAIL_BYTES = 256  # bytes kept to notice a file rewritten in place


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
