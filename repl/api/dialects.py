"""Request building and response parsing for both dialects of the API.

Pure functions over dicts (see ``shared/API.md`` §2-§4). Parsing is lenient:
it accepts every documented variant (``$id`` keys anywhere, ``result`` or
``executionResult``, the ``properties`` envelope, nested ``result.result``,
status names of both dialects in any casing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..terminal_text import plain_text
from .errors import request_id_from
from .models import (
    Execution,
    ExecutionStatus,
    FileInfo,
    Package,
    PoolMetadata,
    PoolStatus,
    SessionInfo,
    value_text,
)

CURRENT = "current"
LEGACY = "legacy"

DEFAULT_API_VERSION = "2025-10-02-preview"
LEGACY_API_VERSION = "2024-10-02-preview"
# Versions that only know the legacy routes (code/execute, files/upload, files/content/{name}).
LEGACY_ONLY_VERSIONS = frozenset({"2024-02-02-preview", "2024-08-02-preview"})
# Versions that serve both execute routes.
BOTH_VERSIONS = frozenset({"2024-10-02-preview"})
# Session and pool endpoints (session, listSessions, metadata) exist from this version on.
SESSION_API_MIN = "2025-02-02-preview"
ARM_API_VERSION = "2025-10-02-preview"

TIMEOUT_TEXT = "Request timed out waiting for code execution to complete"
SERVICE_TIMEOUT_CAP = 220  # seconds; the service stops any execution after this

EXECUTE_PATH = {CURRENT: "executions", LEGACY: "code/execute"}


def candidates(api_version: str | None) -> list[tuple[str, str]]:
    """(dialect, api-version) pairs to try for execute, in order."""
    if api_version is None:
        return [(CURRENT, DEFAULT_API_VERSION), (LEGACY, LEGACY_API_VERSION)]
    if api_version in LEGACY_ONLY_VERSIONS:
        return [(LEGACY, api_version)]
    if api_version in BOTH_VERSIONS:
        return [(CURRENT, api_version), (LEGACY, api_version)]
    return [(CURRENT, api_version)]


def files_are_legacy(api_version: str) -> bool:
    """Whether the files API at ``api_version`` has the legacy routes and shapes."""
    return api_version in LEGACY_ONLY_VERSIONS


def session_api_version(api_version: str) -> str:
    """The api-version for session/pool endpoints (they need 2025-02-02-preview+)."""
    return api_version if api_version >= SESSION_API_MIN else DEFAULT_API_VERSION


def execute_body(dialect: str, code: str, timeout: float, asynchronous: bool = False) -> dict[str, Any]:
    t = int(timeout) if float(timeout).is_integer() else int(timeout) + 1
    t = max(1, t)
    if dialect == LEGACY:
        return {"properties": {"codeInputType": "inline", "executionType": "synchronous",
                               "code": code, "timeoutInSeconds": t}}
    return {"codeInputType": "Inline",
            "executionType": "Asynchronous" if asynchronous else "Synchronous",
            "code": code, "timeoutInSeconds": t}


# --- execution -------------------------------------------------------------

_STATUS = {
    "succeeded": ExecutionStatus.SUCCEEDED, "success": ExecutionStatus.SUCCEEDED,
    "completed": ExecutionStatus.SUCCEEDED, "ok": ExecutionStatus.SUCCEEDED,
    "failed": ExecutionStatus.FAILED, "failure": ExecutionStatus.FAILED,
    "error": ExecutionStatus.FAILED,
    "running": ExecutionStatus.RUNNING, "notstarted": ExecutionStatus.RUNNING,
    "queued": ExecutionStatus.RUNNING, "inprogress": ExecutionStatus.RUNNING,
    "pending": ExecutionStatus.RUNNING, "started": ExecutionStatus.RUNNING,
    "canceled": ExecutionStatus.CANCELLED, "cancelled": ExecutionStatus.CANCELLED,
    "timedout": ExecutionStatus.TIMED_OUT, "timeout": ExecutionStatus.TIMED_OUT,
}

_RESULT_KEYS = ("stdout", "stderr", "executionResult", "executionTimeInMilliseconds", "executionId")


# What the local pool appends to a stream it cut (repl/local/kernel.py ``truncation_marker``).
_TRUNCATION = re.compile(
    r"\n\[output truncated: (\d+) more characters not shown \(limit (\d+) characters\)\]\n")


def split_truncation(text: str) -> tuple[str, int, int | None]:
    """(text without the pool's truncation markers, characters dropped, the limit named)."""
    if "[output truncated: " not in text:
        return text, 0, None
    dropped = 0
    limit: int | None = None

    def take(m: re.Match[str]) -> str:
        nonlocal dropped, limit
        dropped += int(m.group(1))
        limit = int(m.group(2))
        return "\n" if m.end() < len(text) and not text.startswith("\n", m.end()) else ""

    return _TRUNCATION.sub(take, text), dropped, limit


def parse_status(raw: Any) -> ExecutionStatus | None:
    if not isinstance(raw, str):
        return None
    return _STATUS.get(raw.replace("_", "").replace("-", "").replace(" ", "").lower())


def strip_ids(value: Any) -> Any:
    """``value`` without ``$id`` keys (at any depth)."""
    if isinstance(value, dict):
        return {k: strip_ids(v) for k, v in value.items() if k != "$id"}
    if isinstance(value, list):
        return [strip_ids(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _props(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``properties`` envelope when there is one, else the body itself."""
    props = body.get("properties")
    if props is None:  # the flat shape (ABC checks are slow: a listing asks 1,000 times)
        return body
    return props if isinstance(props, Mapping) else body


def looks_like_execution(body: Any) -> bool:
    """Whether a JSON body is an execution in any dialect."""
    if not isinstance(body, dict):
        return False
    src = _props(body)
    return "status" in src or "result" in src or any(k in src for k in _RESULT_KEYS)


def parse_execution(body: Mapping[str, Any], headers: Mapping[str, str] | None = None, *,
                    round_trip_ms: float | None = None, identifier: str | None = None) -> Execution:
    """Normalise one execution response of either dialect.

    Raises ``ValueError`` when ``body`` is not an execution at all.
    """
    if not isinstance(body, Mapping):
        raise ValueError("execution body is not a JSON object")
    props = body.get("properties")
    src: Mapping[str, Any] = props if isinstance(props, Mapping) else body
    inner: Mapping[str, Any] = src
    res = src.get("result")
    if isinstance(res, Mapping) and "stdout" not in src and (
            any(k in res for k in _RESULT_KEYS) or "status" in res or "result" in res):
        inner = res  # current dialect: {"status", "result": {stdout, stderr, executionResult}}
    raw_status = src.get("status")
    if raw_status is None:
        raw_status = inner.get("status")
    if raw_status is None and not any(k in inner for k in _RESULT_KEYS) and inner is src:
        raise ValueError("execution body has neither a status nor a result")
    status = parse_status(raw_status)
    if status is None:
        # No (known) status but a result: trust the result's presence.
        status = ExecutionStatus.SUCCEEDED if raw_status is None else ExecutionStatus.FAILED
    stdout, out_dropped, limit_out = split_truncation(_text(inner.get("stdout")))
    stderr, err_dropped, limit_err = split_truncation(_text(inner.get("stderr")))
    if "executionResult" in inner:
        value = inner["executionResult"]
        has = True
    elif "result" in inner:
        value = inner["result"]  # legacy Python pools, and the nested result.result variant
        has = True
    else:
        value, has = "", False
    if isinstance(value, (dict, list)):
        value = strip_ids(value)
    value_dropped, limit_value = 0, None
    if isinstance(value, str):
        value, value_dropped, limit_value = split_truncation(value)
    if status.finished and status is not ExecutionStatus.CANCELLED and TIMEOUT_TEXT in stderr:
        status = ExecutionStatus.TIMED_OUT
    server_ms = inner.get("executionTimeInMilliseconds")
    if server_ms is None:
        server_ms = src.get("executionTimeInMilliseconds")
    try:
        server_ms = float(server_ms) if server_ms is not None else None
    except (TypeError, ValueError):
        server_ms = None
    exec_id = src.get("id") or inner.get("executionId") or src.get("executionId")
    if headers is not None and not exec_id:
        exec_id = headers.get("operation-id") or headers.get("operation_id")
    ident = src.get("identifier") or identifier
    return Execution(
        status=status,
        stdout=stdout,
        stderr=stderr,
        value=value if has else "",
        value_text=value_text(value) if has else "",
        server_ms=server_ms,
        round_trip_ms=round_trip_ms,
        execution_id=plain_text(str(exec_id)) if exec_id else None,
        request_id=plain_text(rid) if (rid := request_id_from(headers) if headers is not None else None) else None,
        raw_status=raw_status if isinstance(raw_status, str) else "",
        identifier=ident if isinstance(ident, str) else None,
        stdout_dropped=out_dropped,
        stderr_dropped=err_dropped,
        value_dropped=value_dropped,
        output_limit=limit_out or limit_err or limit_value,
    )


# --- files -----------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a server (``Z``, up to 7 fractional digits), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Python 3.11 reads what services send (Z, 7 digits truncated to 6) at
        # once: a listing of 1,000 files parses 1,000 of these.
        return datetime.fromisoformat(value)
    except ValueError:
        return _parse_time_leniently(value)


def _parse_time_leniently(value: str) -> datetime | None:
    """What ``fromisoformat`` refuses as is: spaces around it, a lowercase ``z``."""
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    # Python < 3.11 can't take 7 fractional digits; 3.11+ can, but trim anyway.
    if "." in s:
        head, _, rest = s.partition(".")
        frac = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            frac += rest[i]
            i += 1
        s = f"{head}.{frac[:6]}{rest[i:]}" if frac else head + rest[i:]
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_DATA_ROOT = "/mnt/data"


def _absolute(path: str) -> str | None:
    """``path`` relative to /mnt/data when it is an absolute /mnt/data path, else None."""
    if path == _DATA_ROOT or path.startswith(_DATA_ROOT + "/"):
        return path[len(_DATA_ROOT):].strip("/")
    return None


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def parse_file_info(item: Mapping[str, Any], *, directory: str = "", relative: bool = True) -> FileInfo:
    """One file entry of either dialect (``properties`` envelope or flat).

    ``directory`` is the directory the request named (relative to /mnt/data).
    With ``relative`` (list answers), the entry's ``directory`` and any path in
    a legacy ``filename`` are relative to it, as in the service's examples
    (``path=test-directory`` lists ``directory: ""`` for its own entries).
    Without (the answer about one named file), the entry is in ``directory``.
    Either way an absolute ``/mnt/data/...`` from the server is taken as is, and
    ``FileInfo.directory`` ends up relative to /mnt/data.
    """
    return _EntryReader(directory, relative).read(item)


class _EntryReader:
    """Reads the entries of one answer: what depends only on the request's
    directory is worked out once, and each directory an entry names is
    resolved once (a listing of 1,000 files names a handful)."""

    __slots__ = ("base_dir", "relative", "_dirs")

    def __init__(self, directory: str, relative: bool) -> None:
        abs_dir = _absolute(directory)
        self.base_dir = abs_dir if abs_dir is not None else directory.strip("/")
        self.relative = relative
        self._dirs: dict[str, str] = {}

    def _directory(self, raw: str) -> str:
        d = self._dirs.get(raw)
        if d is None:
            absolute = _absolute(raw)
            if absolute is not None:
                d = absolute
            elif self.relative:
                d = _join(self.base_dir, raw)
            else:
                d = self.base_dir
            self._dirs[raw] = d
        return d

    def read(self, item: Mapping[str, Any]) -> FileInfo:
        src = _props(item)
        name = src.get("name") or src.get("filename") or src.get("fileName") or ""
        name = str(name).replace("\\", "/")
        raw = src.get("directory")
        d = self._directory(str(raw).replace("\\", "/") if raw is not None else "")
        # Legacy filenames may carry a path ("dir/name"): split it.
        if "/" in name.strip("/"):
            parent, _, name = name.rstrip("/").rpartition("/")
            abs_parent = _absolute(parent)
            if abs_parent is not None:
                d = abs_parent
            elif self.relative:
                d = _join(d, parent)
        ftype = src.get("type")
        is_dir = (ftype if ftype.__class__ is str else str(ftype or "")).lower() == "directory"
        size = src.get("sizeInBytes", src.get("size"))
        if size.__class__ is not int:
            size = _int(size)
        modified = parse_time(src.get("lastModifiedAt") or src.get("lastModifiedTime")
                              or src.get("last_modified_time"))
        ctype = src.get("contentType") or src.get("content_type")
        # Positional (name, type, size, content_type, last_modified, directory):
        # keywords cost a third more per entry.
        return FileInfo(name, "directory" if is_dir else "file", size,
                        ctype if isinstance(ctype, str) else None, modified, d)


def parse_file_list(body: Any, *, directory: str = "", relative: bool = True) -> list[FileInfo]:
    """A list response: ``{"value": [...]}``, a bare array, or one object."""
    if isinstance(body, Mapping):
        items = body.get("value")
        if items is None:
            items = body.get("files")
        if items is None:
            if not (body.get("name") or body.get("properties") or body.get("filename")):
                raise ValueError("file list has neither 'value' nor a file")
            items = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise ValueError("file list is neither an object nor an array")
    if not isinstance(items, list):
        raise ValueError("file list 'value' is not an array")
    reader = _EntryReader(directory, relative)
    files = []
    for i in items:
        if i.__class__ is not dict and not isinstance(i, Mapping):
            raise ValueError("a file list entry is not an object")
        info = reader.read(i)
        if not info.name:
            raise ValueError("a file list entry has no name")
        files.append(info)
    return files


def parse_upload(body: Any, *, directory: str = "", name: str | None = None) -> FileInfo:
    """Upload answers one object, an array, or ``{"value": [...]}``: take the matching entry.

    The file is in ``directory`` (the request's ``path``), whatever directory
    the answer names relative to what.
    """
    files = parse_file_list(body, directory=directory, relative=False)
    if not files:
        raise ValueError("upload response names no file")
    if name is not None:
        for f in files:
            if f.name == name:
                return f
    return files[0]


# --- sessions and pool -------------------------------------------------------


def parse_session(body: Mapping[str, Any]) -> SessionInfo:
    if not isinstance(body, Mapping):
        raise ValueError("session is not an object")
    src = _props(body)
    ident = src.get("identifier") or src.get("id")
    if not isinstance(ident, str):
        raise ValueError("session has no identifier")
    return SessionInfo(identifier=ident, created_at=parse_time(src.get("createdAt")),
                       last_accessed_at=parse_time(src.get("lastAccessedAt")),
                       expire_at=parse_time(src.get("expireAt")),
                       etag=src.get("etag") if isinstance(src.get("etag"), str) else None)


def parse_session_list(body: Any) -> tuple[list[SessionInfo], str | None]:
    """(sessions, nextLink)."""
    if isinstance(body, list):
        return [parse_session(s) for s in body if isinstance(s, Mapping)], None
    if not isinstance(body, Mapping):
        raise ValueError("session list is not an object")
    items = body.get("sessions")
    if items is None:
        items = body.get("value")
    if not isinstance(items, list):
        raise ValueError("session list has no 'sessions' array")
    nxt = body.get("nextLink")
    return [parse_session(s) for s in items if isinstance(s, Mapping)], nxt if isinstance(nxt, str) and nxt else None


def _package(p: Any) -> Package | None:
    if isinstance(p, Mapping) and p.get("name"):
        v = p.get("version")
        return Package(str(p["name"]), str(v) if v is not None else None)
    if isinstance(p, str) and p:
        name, _, ver = p.partition("@") if not p.startswith("@") else (p, "", "")
        return Package(name, ver or None)
    return None


def parse_metadata(body: Mapping[str, Any]) -> PoolMetadata:
    if not isinstance(body, Mapping):
        raise ValueError("metadata is not an object")
    src = _props(body)
    if not any(k in src for k in ("runtimes", "preInstalledPackages", "packages", "jupyterKernel", "kernel")):
        raise ValueError("metadata names no runtime, package or kernel")
    runtimes = tuple(p for p in map(_package, src.get("runtimes") or ()) if p)
    packages = tuple(p for p in map(_package, src.get("preInstalledPackages") or src.get("packages") or ()) if p)
    kernel = src.get("jupyterKernel") or src.get("kernel") or {}
    kname = kernel.get("name") if isinstance(kernel, Mapping) else None
    kver = kernel.get("version") if isinstance(kernel, Mapping) else None
    return PoolMetadata(runtimes=runtimes, packages=packages,
                        kernel_name=str(kname) if kname else None,
                        kernel_version=str(kver) if kver else None)


def _dig(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def parse_arm_pool(body: Mapping[str, Any], endpoint: str) -> PoolStatus:
    """The ARM ``sessionPools/{name}`` resource, as a (partial) :class:`PoolStatus`."""
    if not isinstance(body, Mapping) or not isinstance(body.get("properties"), Mapping):
        raise ValueError("ARM pool resource has no properties")
    p = body["properties"]
    dyn = p.get("dynamicPoolConfiguration")
    cooldown = _dig(dyn, "lifecycleConfiguration", "cooldownPeriodInSeconds")
    if cooldown is None:
        cooldown = _dig(dyn, "cooldownPeriodInSeconds")
    return PoolStatus(
        endpoint=endpoint,
        name=body.get("name") if isinstance(body.get("name"), str) else None,
        container_type=p.get("containerType"),
        provisioning_state=p.get("provisioningState"),
        max_sessions=_int(_dig(p, "scaleConfiguration", "maxConcurrentSessions")),
        ready_sessions=_int(_dig(p, "scaleConfiguration", "readySessionInstances")),
        node_count=_int(p.get("nodeCount")),
        egress=_dig(p, "sessionNetworkConfiguration", "status"),
        cooldown_seconds=_int(cooldown),
    )
