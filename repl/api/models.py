"""Normalised results of the dynamic sessions API.

Every dialect and response variant of the wire (see ``shared/API.md``) is parsed
into these few immutable types; nothing above the client sees raw JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExecutionStatus(StrEnum):
    """Outcome of one execution, whatever the dialect called it."""

    RUNNING = "running"  # an asynchronous execution that has not ended yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the code threw, ran out of memory, or the kernel died
    TIMED_OUT = "timed_out"  # the execution hit its timeout (reported by the service)
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self is not ExecutionStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution of code in a session, normalised from either dialect.

    ``value`` is the JSON value of ``executionResult``/``result`` (any JSON type);
    ``value_text`` is how a REPL shows it: ``""`` when the code produced no value
    (``undefined``), ``"null"`` for JSON null, the text itself for a string
    (iJavaScript sends ``util.inspect`` text such as ``'hi'`` or ``{ a: 1 }``),
    else compact JSON.

    ``stdout_dropped``, ``stderr_dropped`` and ``value_dropped`` count the
    characters the pool cut from each (its ``[output truncated: …]`` marker is
    taken out of the text and counted here instead), ``output_limit`` is the
    limit it named; ``truncated`` says whether anything was cut.
    """

    status: ExecutionStatus
    stdout: str = ""
    stderr: str = ""
    value: Any = ""
    value_text: str = ""
    server_ms: float | None = None  # executionTimeInMilliseconds
    round_trip_ms: float | None = None  # measured by the client
    execution_id: str | None = None
    request_id: str | None = None
    raw_status: str = ""
    identifier: str | None = None
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    value_dropped: int = 0
    output_limit: int | None = None

    @property
    def truncated(self) -> bool:
        return bool(self.stdout_dropped or self.stderr_dropped or self.value_dropped)

    def truncation_notes(self) -> list[str]:
        """One sentence per stream the pool cut, e.g. ``stdout was cut by the pool:
        1,200 more characters not shown (limit 1,048,576 characters)``."""
        limit = f" (limit {self.output_limit:,} characters)" if self.output_limit else ""
        notes = []
        for name, dropped in (("stdout", self.stdout_dropped), ("stderr", self.stderr_dropped),
                              ("the value", self.value_dropped)):
            if dropped:
                notes.append(f"{name} was cut by the pool: {dropped:,} more characters not shown{limit}")
        return notes

    @property
    def ok(self) -> bool:
        return self.status is ExecutionStatus.SUCCEEDED

    @property
    def has_value(self) -> bool:
        return self.value_text != ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["truncated"] = self.truncated
        return data


_VALUE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def value_text(value: Any) -> str:
    """The display text of an ``executionResult`` value (see :class:`Execution`)."""
    if value is None:
        return "null"
    t = type(value)
    if t is str:
        return str(value)
    if t is int:  # the common case (1+1), without building a JSON encoder
        return str(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _VALUE_ENCODER.encode(value)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file or directory under the session's ``/mnt/data``."""

    name: str
    type: str = "file"  # "file" | "directory" (lower-cased)
    size: int | None = None
    content_type: str | None = None
    last_modified: datetime | None = None
    directory: str = ""  # parent directory relative to /mnt/data, "" for the root

    @property
    def is_dir(self) -> bool:
        return self.type == "directory"

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.name}" if self.directory else self.name


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """``GET session`` / ``listSessions`` entry. ``expire_at - now`` is the time left."""

    identifier: str
    created_at: datetime | None = None
    last_accessed_at: datetime | None = None
    expire_at: datetime | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class PoolMetadata:
    """``GET metadata``: runtimes, preinstalled packages and the kernel."""

    runtimes: tuple[Package, ...] = ()
    packages: tuple[Package, ...] = ()
    kernel_name: str | None = None
    kernel_version: str | None = None


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """What the side panel and ``acajs-repl pool`` show.

    Every field is ``None`` when unknown; ``unknown`` names the parts that could
    not be read and ``notes`` says why (for example "ARM denied access (403)").
    """

    endpoint: str
    name: str | None = None
    container_type: str | None = None
    provisioning_state: str | None = None
    max_sessions: int | None = None
    ready_sessions: int | None = None
    sessions_in_use: int | None = None
    node_count: int | None = None
    egress: str | None = None  # "EgressEnabled" | "EgressDisabled"
    cooldown_seconds: int | None = None
    runtime: str | None = None  # e.g. "node 20.2.4"
    kernel: str | None = None  # e.g. "IJavascript 5.2.1"
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
