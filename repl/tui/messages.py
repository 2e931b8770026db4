"""Messages the main screen's workers post back (workers never touch widgets;
the screen's handlers own the state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from repl.api.models import PoolStatus
    from repl.dotcommands import CommandResult
    from repl.engine import ReplEngine
    from repl.transcript import Cell


@dataclass
class Connected(Message):
    engine: ReplEngine


@dataclass
class ConnectFailed(Message):
    error: str


@dataclass
class RunStarted(Message):
    """A queued cell got the session: it is running now."""

    view_id: str
    waiting_behind: int | None = None  # an abandoned cell still running on the server


@dataclass
class SessionAlarm(Message):
    """The countdown reached the warning lead time, or expiry."""

    kind: str  # "warning" | "expired"
    text: str


@dataclass
class RunFinished(Message):
    view_id: str
    cell: Cell


@dataclass
class RunCrashed(Message):
    view_id: str
    error: str


@dataclass
class CommandDone(Message):
    result: CommandResult


@dataclass
class PoolStatusUpdated(Message):
    status: PoolStatus | None
    error: str | None = None
