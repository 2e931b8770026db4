"""The local pool's HTTP face: the dynamic sessions API (both dialects) and ARM.

``create_app(pool, settings)`` returns a Starlette app serving every route of
``shared/API.md`` §2-§5 at the root and under ``settings.endpoint_path`` (so the
endpoint looks like Azure's), plus an ARM-shaped pool resource at
``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}``.

api-version rules [decided, from the swagger files and API.md]:

* ``2024-02-02-preview``, ``2024-08-02-preview``: legacy dialect only
  (``code/execute``, ``files/upload``, ``files/content/{name}``, legacy ``GET files``).
* ``2024-10-02-preview``: both; ``code/execute`` (the NodeLTS tutorial uses
  it with this version) and legacy file routes answer in the legacy shape, the
  current routes in the current shape; ``GET files`` is the current shape;
  synchronous ``executions`` answer 202 as that version's swagger says.
* ``2025-02-02-preview``, ``2025-10-02-preview``: current dialect, plus
  ``session``, ``listSessions`` and ``metadata``; ``executions`` answer 200.
* Anything else: 400 ``SessionRequestNotSupported``.  A route that exists but
  not in the requested version: 400 ``SessionRequestNotSupported`` as well.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import binascii
import hmac
import ipaddress
import json
import logging
import math
import mimetypes
import os
import re
import secrets
import shutil
import stat
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import Message
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from repl import __version__
from repl.local.errors import PoolError, not_supported, session_not_found, validation_failed
from repl.local.pool import ExecutionRecord, Session, SessionPool
from repl.local.settings import (
    LOCAL_POOL_NAME,
    LOCAL_RESOURCE_GROUP,
    LOCAL_SUBSCRIPTION,
    PoolSettings,
)

# --------------------------------------------------------------------- limits
MAX_UPLOAD_BYTES = 128 * 1024 * 1024  # the service's upload limit: larger files get 413
MAX_BODY_BYTES = 8 * 1024 * 1024  # JSON request bodies (code is text; 8 MiB is plenty)
MULTIPART_OVERHEAD = 1024 * 1024  # headers and boundaries around an upload
MAX_PART_HEADER_BYTES = 16 * 1024

# -------------------------------------------------------------- api-versions
LEGACY_ONLY = frozenset({"2024-02-02-preview", "2024-08-02-preview"})
V2024_10 = "2024-10-02-preview"
SESSION_VERSIONS = frozenset({"2025-02-02-preview", "2025-10-02-preview"})
CURRENT_VERSIONS = frozenset({V2024_10}) | SESSION_VERSIONS
LEGACY_VERSIONS = LEGACY_ONLY | {V2024_10}
KNOWN_VERSIONS = LEGACY_VERSIONS | CURRENT_VERSIONS
ALL_DATA_PLANE = KNOWN_VERSIONS

IDENTIFIER_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`"
)
EXECUTION_ID_RE = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=-]{1,256}$")

DATA_ROOT = "/mnt/data"

log = logging.getLogger(__name__)


def _iso(t: float) -> str:
    return (
        datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# -------------------------------------------------------------------- helpers
def _api_version(request: Request, allowed: frozenset[str], what: str) -> str:
    version = request.query_params.get("api-version")
    if not version:
        raise not_supported(
            "The api-version query parameter is required, e.g. api-version=2025-10-02-preview.",
            target="api-version",
        )
    if version not in KNOWN_VERSIONS:
        raise not_supported(
            f"api-version {version!r} is not supported by this pool; use one of "
            f"{', '.join(sorted(KNOWN_VERSIONS))}.",
            target="api-version",
        )
    if version not in allowed:
        raise not_supported(
            f"{request.method} {what} does not exist in api-version {version}; it exists in "
            f"{', '.join(sorted(allowed))}.",
            target="api-version",
        )
    return version


def _identifier(request: Request) -> str:
    identifier = request.query_params.get("identifier")
    if identifier is None or identifier == "":
        raise validation_failed(
            "The identifier query parameter is required (1-256 characters).", target="identifier"
        )
    if len(identifier) > 256 or not IDENTIFIER_CHARS.issuperset(identifier):
        raise validation_failed(
            "The identifier must be 1-256 characters of letters, digits and "
            "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~` .",
            target="identifier",
        )
    return identifier


def _enum(value: Any, allowed: tuple[str, ...], field: str, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        for option in allowed:
            if value.lower() == option.lower():
                return option
    raise validation_failed(
        f"{field} must be one of {', '.join(allowed)} (any letter case); got {value!r}.",
        target=field,
    )


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit, "request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, "request body")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise validation_failed("The request body is empty; a JSON object was expected.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise validation_failed(f"The request body is not valid JSON: {exc}.") from exc


def _too_large(limit: int, what: str) -> PoolError:
    mib = limit / (1024 * 1024)
    size = f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"
    return PoolError(413, "RequestEntityTooLarge", f"The {what} is larger than the limit of {size}.")


# ---------------------------------------------------------------- file paths
def _path_parts(value: str | None, what: str) -> list[str]:
    """Relative parts of a directory or file path inside /mnt/data; 400 if it escapes."""
    if value is None:
        return []
    if "\x00" in value:
        raise validation_failed(f"The {what} contains a NUL character.", target=what)
    p = value.replace("\\", "/")
    if p == DATA_ROOT or p.startswith(DATA_ROOT + "/"):
        p = p[len(DATA_ROOT) :]
    elif p.startswith("/") and p.strip("/"):
        raise validation_failed(
            f"The {what} {value!r} is an absolute path outside {DATA_ROOT}; use a path "
            f"relative to {DATA_ROOT}.",
            target=what,
        )
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if ".." in parts:
        raise validation_failed(
            f"The {what} {value!r} contains '..'; it must stay inside {DATA_ROOT}.", target=what
        )
    return parts


def _name_parts(name: str, what: str = "name") -> list[str]:
    parts = _path_parts(name, what)
    if not parts:
        raise validation_failed(f"The {what} {name!r} does not name a file.", target=what)
    return parts


# Every file route reaches its file through directory file descriptors, one path
# component at a time, opened with O_NOFOLLOW: a symbolic link anywhere on the way
# is refused (400) at the moment it is met, so code in the session that swaps a
# directory for a link between a check and the use of the path (a TOCTOU race)
# cannot make the server read, write or list anything outside the session
# directory.  No path is checked first and opened later.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO never hangs open()


def _symlink_refused(shown: str, what: str) -> PoolError:
    return validation_failed(
        f"The {what} {shown!r} goes through a symbolic link; symbolic links in the "
        f"session's {DATA_ROOT} are not followed.",
        target=what,
    )


def _is_symlink_at(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_dir(root: Path, parts: list[str], shown: str, what: str, *, create: bool = False) -> int:
    """A file descriptor of the directory ``root/parts...``, reached without following
    any symbolic link (400 if one is met); 404 if it does not exist (``create``: made)."""
    return _open_dir_fd(os.open(root, _DIR_FLAGS), parts, shown, what, create=create)


def _open_dir_fd(fd: int, parts: list[str], shown: str, what: str, *, create: bool = False) -> int:
    """``_open_dir`` from the directory descriptor ``fd``, which it takes over."""
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) or (
                    isinstance(exc, NotADirectoryError) and not create and not _is_symlink_at(fd, part)
                ):
                    raise PoolError(
                        404, "FileNotFound", f"No directory {DATA_ROOT}/{shown} in this session.",
                        target=what,
                    ) from None
                if _is_symlink_at(fd, part) or getattr(exc, "errno", None) == errno.ELOOP:
                    raise _symlink_refused(shown, what) from None
                if isinstance(exc, NotADirectoryError):
                    raise validation_failed(
                        f"{DATA_ROOT}/{shown}: {part!r} is a file, not a directory.", target=what
                    ) from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_dir_at(base_fd: int, parts: list[str], shown: str, what: str) -> int:
    """Like ``_open_dir`` with ``create``, from an open directory descriptor (left open)."""
    return _open_dir_fd(os.dup(base_fd), parts, shown, what, create=True)


def _lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _display(parts: list[str]) -> str:
    return "/".join(parts)


_EXTRA_TYPES = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".ts": "text/x-typescript",
    ".jsonl": "application/jsonl",
}


def _content_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _file_entry(name: str, directory: str, st: os.stat_result) -> dict[str, Any]:
    if stat.S_ISDIR(st.st_mode):
        return {
            "name": name,
            "directory": directory,
            "type": "Directory",
            "sizeInBytes": st.st_size,
            "lastModifiedAt": _iso(st.st_mtime),
        }
    return {
        "name": name,
        "directory": directory,
        "type": "File",
        "contentType": _content_type(name),
        "sizeInBytes": st.st_size,
        "lastModifiedAt": _iso(st.st_mtime),
    }


def _walk(dir_fd: int, recursive: bool, files_only: bool = False) -> list[tuple[str, str, os.stat_result]]:
    """(name, directory relative to ``dir_fd``, lstat) of entries; symbolic links are
    skipped, and subdirectories are entered through file descriptors (never by path)."""
    out: list[tuple[str, str, os.stat_result]] = []

    def visit(fd: int, rel: str) -> None:
        try:
            names = sorted(os.listdir(fd))
        except OSError:
            return
        for name in names:
            st = None
            with contextlib.suppress(OSError):
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if st is None or stat.S_ISLNK(st.st_mode):
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if not (files_only and is_dir):
                out.append((name, rel, st))
            if is_dir and recursive:
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:  # replaced by a link or removed meanwhile
                    continue
                try:
                    visit(child, f"{rel}/{name}" if rel else name)
                finally:
                    os.close(child)

    visit(dir_fd, "")
    return out


class _FileStream(Response):
    """The content of an already opened file (``FileResponse`` would open it again by
    path, after the check): at most the size it had when opened."""

    chunk_size = 256 * 1024

    def __init__(self, fd: int, st: os.stat_result, media_type: str) -> None:
        self.file = os.fdopen(fd, "rb", buffering=0)
        self.size = st.st_size
        super().__init__(
            media_type=media_type,
            headers={"content-length": str(st.st_size), "last-modified": formatdate(st.st_mtime, usegmt=True)},
        )

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        import anyio.to_thread

        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            left = self.size
            if scope.get("method") == "HEAD":
                left = 0
            while left > 0:
                chunk = await anyio.to_thread.run_sync(self.file.read, min(self.chunk_size, left))
                if not chunk:  # shrank meanwhile: the length is sent, so the connection is dropped
                    raise RuntimeError("the file became shorter while it was sent")
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
            if self.size == 0 or scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.file.close()


# ----------------------------------------------------------- multipart upload
class _Upload:
    def __init__(self, filename: str, temp: Path) -> None:
        self.filename = filename
        self.temp = temp
        self.size = 0


async def _stream_multipart(
    request: Request, staging: Path, limit: int
) -> list[_Upload]:
    """Parse a multipart/form-data body, streaming every file part to ``staging``."""
    ctype = request.headers.get("content-type", "")
    msg = Message()
    msg["content-type"] = ctype
    boundary = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        raise validation_failed(
            "Upload a file as multipart/form-data with one part named 'file'.", target="file"
        )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit, "upload")
    delim = b"--" + boundary.encode("latin-1")
    body_delim = b"\r\n" + delim
    uploads: list[_Upload] = []
    buf = bytearray()
    state = "preamble"
    current: _Upload | None = None
    handle = None
    total = 0
    try:
        stream: AsyncIterator[bytes] = request.stream()
        ended = False
        async for chunk in stream:
            total += len(chunk)
            if total > limit + MULTIPART_OVERHEAD:
                raise _too_large(limit, "upload")
            buf += chunk
            while True:
                if state == "preamble":
                    i = buf.find(delim)
                    if i < 0:
                        if len(buf) > MAX_PART_HEADER_BYTES:
                            del buf[: len(buf) - len(delim)]
                        break
                    del buf[: i + len(delim)]
                    state = "after_delim"
                if state == "after_delim":
                    if len(buf) < 2:
                        break
                    if buf[:2] == b"--":
                        ended = True
                        break
                    if buf[:2] != b"\r\n":
                        raise validation_failed("Malformed multipart body.", target="file")
                    del buf[:2]
                    state = "headers"
                if state == "headers":
                    j = buf.find(b"\r\n\r\n")
                    if j < 0:
                        if len(buf) > MAX_PART_HEADER_BYTES:
                            raise validation_failed("Multipart part headers too long.")
                        break
                    headers = bytes(buf[:j]).decode("utf-8", "replace")
                    del buf[: j + 4]
                    part = Message()
                    for line in headers.split("\r\n"):
                        if ":" in line:
                            k, v = line.split(":", 1)
                            part[k.strip()] = v.strip()
                    filename = part.get_filename()
                    if filename is not None:
                        if not filename:
                            raise validation_failed("The uploaded file has no name.", target="file")
                        temp = staging / f"upload-{secrets.token_hex(8)}"
                        current = _Upload(filename, temp)
                        handle = open(temp, "wb")  # noqa: SIM115 - closed below
                        uploads.append(current)
                    else:
                        current, handle = None, None
                    state = "body"
                if state == "body":
                    k = buf.find(body_delim)
                    if k < 0:
                        keep = len(body_delim) - 1
                        n = len(buf) - keep
                        if n > 0:
                            _sink(current, handle, buf[:n], limit)
                            del buf[:n]
                        break
                    _sink(current, handle, buf[:k], limit)
                    del buf[: k + len(body_delim)]
                    if handle is not None:
                        handle.close()
                    current, handle = None, None
                    state = "after_delim"
                    continue
                break
            if ended:
                break
        if not ended:
            raise validation_failed("The multipart body ended early.", target="file")
        if not uploads:
            raise validation_failed(
                "The multipart body has no file part; send the file in a part named 'file'.",
                target="file",
            )
        return uploads
    except BaseException:
        if handle is not None:
            handle.close()
        for u in uploads:
            u.temp.unlink(missing_ok=True)
        raise


def _sink(current: _Upload | None, handle: Any, data: bytearray, limit: int) -> None:
    if current is None or not data:
        return
    current.size += len(data)
    if current.size > limit:
        raise _too_large(limit, "upload")
    handle.write(data)


# ------------------------------------------------------------------ the app
class LocalPoolApp:
    """Route handlers bound to one pool."""

    def __init__(
        self,
        pool: SessionPool,
        settings: PoolSettings,
        *,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.max_upload_bytes = max_upload_bytes
        self.max_body_bytes = max_body_bytes
        self._node_version: str | None = None

    # ----------------------------------------------------------- executions
    def _parse_execution(self, body: Any, *, legacy: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise validation_failed("The request body must be a JSON object.")
        if legacy:
            props = body.get("properties")
            if not isinstance(props, dict):
                raise PoolError(
                    400,
                    "SessionPropertiesMissing",
                    "code/execute expects its fields inside \"properties\": "
                    '{"properties": {"codeInputType": "inline", "executionType": '
                    '"synchronous", "code": "..."}}.',
                    target="properties",
                )
            body = props
        elif "properties" in body and "code" not in body:
            raise PoolError(
                400,
                "SessionPropertiesMissing",
                "executions takes a flat body (codeInputType, executionType, code, "
                "timeoutInSeconds), not one wrapped in \"properties\"; the wrapped form "
                "belongs to code/execute.",
                target="properties",
            )
        input_type = _enum(body.get("codeInputType"), ("Inline", "InlineBase64"), "codeInputType", "Inline")
        execution_type = _enum(
            body.get("executionType"), ("Synchronous", "Asynchronous"), "executionType", "Synchronous"
        )
        code = body.get("code")
        if not isinstance(code, str):
            raise validation_failed("code is required and must be a string.", target="code")
        if input_type == "InlineBase64":
            try:
                code = base64.b64decode(code, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise validation_failed(
                    f"codeInputType is InlineBase64 but code is not base64 of UTF-8 text: {exc}.",
                    target="code",
                ) from exc
        cap = float(self.settings.timeout_cap)
        timeout = body.get("timeoutInSeconds")
        if timeout is None:
            timeout = cap
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            timeout > 0 and math.isfinite(timeout)
        ):
            raise validation_failed(
                f"timeoutInSeconds must be a positive number; got {timeout!r}.",
                target="timeoutInSeconds",
            )
        limit = body.get("outputStreamsMaxLength")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise validation_failed(
                f"outputStreamsMaxLength must be a positive integer; got {limit!r}.",
                target="outputStreamsMaxLength",
            )
        return {
            "code": code,
            "timeout": min(float(timeout), cap),
            "output_limit": limit,
            "execution_type": execution_type,
        }

    def _current_body(self, rec: ExecutionRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": rec.id,
            "identifier": rec.identifier,
            "executionType": rec.execution_type,
            "status": rec.status,
        }
        if rec.done.is_set():
            body["result"] = {
                "stdout": rec.stdout,
                "stderr": rec.stderr,
                "executionResult": rec.value,
                "executionTimeInMilliseconds": int(round(rec.duration_ms)),
            }
        return body

    def _operation_location(self, request: Request, execution_id: str, version: str, identifier: str) -> str:
        # From the scope directly: request.url / request.base_url rebuild URL objects.
        scope = request.scope
        ep = self.settings.endpoint_path
        prefix = ep if scope["path"].startswith(ep + "/") else ""
        host = request.headers.get("host") or "{}:{}".format(*scope["server"])
        base = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"
        return (
            f"{base}{prefix}/executions/{quote(execution_id, safe='')}"
            f"?api-version={version}&identifier={quote(identifier, safe='')}"
        )

    async def executions_post(self, request: Request) -> Response:
        version = _api_version(request, CURRENT_VERSIONS, "executions")
        identifier = _identifier(request)
        execution_id = request.headers.get("operation-id") or None
        if execution_id is not None and not EXECUTION_ID_RE.match(execution_id):
            raise validation_failed(
                "The operation-id header must be 1-256 URL-safe characters.", target="operation-id"
            )
        req = self._parse_execution(await _read_json(request, self.max_body_bytes), legacy=False)
        asynchronous = req["execution_type"] == "Asynchronous"
        kwargs = {
            "timeout": req["timeout"],
            "output_limit": req["output_limit"],
            "execution_id": execution_id,
            "execution_type": req["execution_type"],
        }
        if asynchronous:  # 202 at once; poll Operation-Location
            rec = self.pool.start_execution(identifier, req["code"], **kwargs)
        else:
            rec = await self.pool.execute(identifier, req["code"], **kwargs)
        headers = {
            "operation-id": rec.id,
            "Operation-Location": self._operation_location(request, rec.id, version, identifier),
        }
        if asynchronous:
            return JSONResponse(self._current_body(rec), status_code=202, headers=headers)
        if rec.error is not None:
            raise rec.error
        status = 202 if version == V2024_10 else 200
        return JSONResponse(self._current_body(rec), status_code=status, headers=headers)

    async def executions_get(self, request: Request) -> Response:
        _api_version(request, CURRENT_VERSIONS, "executions/{id}")
        identifier = _identifier(request)
        execution_id = request.path_params["execution_id"]
        rec = self.pool.get_execution(identifier, execution_id)
        if rec is None:
            raise PoolError(
                404,
                "ExecutionNotFound",
                f"No execution {execution_id!r} is known for session {identifier!r}.",
                target="executionId",
            )
        session = self.pool.get(identifier)
        if session is not None:
            session.touch(self.pool.clock())
        return JSONResponse(self._current_body(rec))

    async def code_execute(self, request: Request) -> Response:
        _api_version(request, LEGACY_VERSIONS, "code/execute")
        identifier = _identifier(request)
        req = self._parse_execution(await _read_json(request, self.max_body_bytes), legacy=True)
        rec = await self.pool.execute(
            identifier, req["code"], timeout=req["timeout"], output_limit=req["output_limit"]
        )
        if rec.error is not None:
            raise rec.error
        return JSONResponse(
            {
                "$id": "1",
                "properties": {
                    "$id": "2",
                    "status": "Success" if rec.status == "Succeeded" else "Failure",
                    "stdout": rec.stdout,
                    "stderr": rec.stderr,
                    "executionResult": rec.value,
                    "result": rec.value,
                    "executionTimeInMilliseconds": int(round(rec.duration_ms)),
                },
            }
        )

    # ---------------------------------------------------------------- files
    def _dir(self, session: Session, request: Request, *, create: bool = False) -> tuple[int, list[str]]:
        """A file descriptor of the ``path`` directory (the caller closes it), its parts."""
        parts = _path_parts(request.query_params.get("path"), "path")
        return _open_dir(session.directory, parts, _display(parts), "path", create=create), parts

    def _parent(self, session: Session, request: Request, name: str, *, create: bool = False) -> tuple[int, str, list[str]]:
        """(descriptor of the directory holding ``name``, its last component, all parts)."""
        dir_parts = _path_parts(request.query_params.get("path"), "path")
        parts = dir_parts + _name_parts(name)
        fd = _open_dir(session.directory, parts[:-1], _display(parts), "name", create=create)
        return fd, parts[-1], parts

    def _not_found(self, parts: list[str]) -> PoolError:
        return PoolError(
            404,
            "FileNotFound",
            f"No file {DATA_ROOT}/{_display(parts)} in this session.",
            target="name",
        )

    async def _upload(self, request: Request) -> tuple[Session, list[tuple[str, os.stat_result, list[str]]]]:
        identifier = _identifier(request)
        session = self.pool.acquire(identifier)
        dir_fd, dir_parts = self._dir(session, request, create=True)
        try:
            uploads = await _stream_multipart(request, self.pool.staging_dir, self.max_upload_bytes)
            stored: list[tuple[str, os.stat_result, list[str]]] = []
            try:
                for up in uploads:
                    name_parts = _name_parts(up.filename, "file name")
                    parts = dir_parts + name_parts
                    shown = _display(parts)
                    parent = _open_dir_at(dir_fd, name_parts[:-1], shown, "file name")
                    try:
                        name = name_parts[-1]
                        st = _lstat_at(parent, name)
                        if st is not None and stat.S_ISLNK(st.st_mode):
                            raise _symlink_refused(shown, "file name")
                        if st is not None and stat.S_ISDIR(st.st_mode):
                            raise validation_failed(f"{DATA_ROOT}/{shown} is a directory.", target="file")
                        # rename() replaces a link put there meanwhile, never follows it
                        try:
                            os.replace(up.temp, name, dst_dir_fd=parent)
                        except IsADirectoryError:
                            raise validation_failed(f"{DATA_ROOT}/{shown} is a directory.", target="file") from None
                        except FileNotFoundError:  # its directory was removed meanwhile
                            raise PoolError(
                                404, "FileNotFound",
                                f"The directory of {DATA_ROOT}/{shown} was removed during the upload.",
                                target="path",
                            ) from None
                        stored.append((name, os.stat(name, dir_fd=parent, follow_symlinks=False), parts))
                    finally:
                        os.close(parent)
            finally:
                for up in uploads:
                    up.temp.unlink(missing_ok=True)
        finally:
            os.close(dir_fd)
        session.touch(self.pool.clock())
        return session, stored

    async def files_upload(self, request: Request) -> Response:
        _api_version(request, CURRENT_VERSIONS, "files")
        session, stored = await self._upload(request)
        name, st, parts = stored[0]
        return JSONResponse(_file_entry(name, _display(parts[:-1]), st))

    async def files_upload_legacy(self, request: Request) -> Response:
        _api_version(request, LEGACY_VERSIONS, "files/upload")
        _session, stored = await self._upload(request)
        return JSONResponse(self._legacy_list([(_display(p), st) for _name, st, p in stored]))

    def _legacy_list(self, files: list[tuple[str, os.stat_result]]) -> dict[str, Any]:
        value = []
        n = 1
        for rel, st in files:
            value.append(
                {
                    "$id": str(n + 1),
                    "properties": {
                        "$id": str(n + 2),
                        "filename": rel,
                        "size": st.st_size,
                        "lastModifiedTime": _iso(st.st_mtime),
                    },
                }
            )
            n += 2
        return {"$id": "1", "value": value}

    async def files_list(self, request: Request) -> Response:
        version = _api_version(request, ALL_DATA_PLANE, "files")
        identifier = _identifier(request)
        session = self.pool.acquire(identifier)
        dir_fd, _parts = self._dir(session, request)
        try:
            if version in LEGACY_ONLY:
                entries = _walk(dir_fd, recursive=True, files_only=True)
                files = [(f"{rel}/{name}" if rel else name, st) for name, rel, st in entries]
                return JSONResponse(self._legacy_list(files))
            recursive = request.query_params.get("recursive", "false").lower() in ("true", "1", "yes")
            entries = _walk(dir_fd, recursive=recursive)
        finally:
            os.close(dir_fd)
        return JSONResponse(
            {"value": [_file_entry(name, rel, st) for name, rel, st in entries], "nextLink": None}
        )

    async def file_get(self, request: Request) -> Response:
        _api_version(request, CURRENT_VERSIONS, "files/{name}")
        parent, name, parts = self._locate(request, request.path_params["name"])
        try:
            st = _lstat_at(parent, name)
        finally:
            os.close(parent)
        if st is None:
            raise self._not_found(parts)
        if stat.S_ISLNK(st.st_mode):
            raise _symlink_refused(_display(parts), "name")
        return JSONResponse(_file_entry(name, _display(parts[:-1]), st))

    def _locate(self, request: Request, name: str) -> tuple[int, str, list[str]]:
        """The session's directory fd that holds ``name`` (under ``?path=``), the
        last path part and all parts; a missing directory on the way is a 404
        that names the whole path."""
        session = self.pool.acquire(_identifier(request))
        try:
            return self._parent(session, request, name)
        except PoolError as exc:
            if exc.status == 404:
                parts = _path_parts(request.query_params.get("path"), "path") + _name_parts(name)
                raise self._not_found(parts) from None
            raise

    async def _content(self, request: Request, name: str) -> Response:
        parent, last, parts = self._locate(request, name)
        try:
            try:
                fd = os.open(last, _FILE_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                raise self._not_found(parts) from None
            except OSError as exc:
                if exc.errno == errno.ELOOP or _is_symlink_at(parent, last):
                    raise _symlink_refused(_display(parts), "name") from None
                raise self._not_found(parts) from None
        finally:
            os.close(parent)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise self._not_found(parts)
        return _FileStream(fd, st, _content_type(last))

    async def file_content(self, request: Request) -> Response:
        _api_version(request, CURRENT_VERSIONS, "files/{name}/content")
        return await self._content(request, request.path_params["name"])

    async def file_content_legacy(self, request: Request) -> Response:
        _api_version(request, LEGACY_VERSIONS, "files/content/{name}")
        return await self._content(request, request.path_params["name"])

    async def file_delete(self, request: Request) -> Response:
        _api_version(request, CURRENT_VERSIONS, "files/{name}")
        parent, name, parts = self._locate(request, request.path_params["name"])
        try:
            st = _lstat_at(parent, name)
            if st is None:
                raise self._not_found(parts)
            if stat.S_ISDIR(st.st_mode):
                # fd-based and symlink-safe (shutil.rmtree.avoids_symlink_attacks)
                shutil.rmtree(name, dir_fd=parent)
            else:
                os.unlink(name, dir_fd=parent)  # a symbolic link itself is removed, never followed
        except FileNotFoundError:
            raise self._not_found(parts) from None
        finally:
            os.close(parent)
        return Response(status_code=204)

    # ------------------------------------------------------ session and pool
    def _session_body(self, s: Session) -> dict[str, Any]:
        return {
            "identifier": s.identifier,
            "createdAt": _iso(s.created_at),
            "lastAccessedAt": _iso(s.last_accessed_at),
            "expireAt": _iso(s.expire_at),
            "etag": s.etag,
        }

    async def session_get(self, request: Request) -> Response:
        _api_version(request, SESSION_VERSIONS, "session")
        identifier = _identifier(request)
        session = self.pool.get(identifier)
        if session is None:
            raise session_not_found(identifier)
        return JSONResponse(self._session_body(session))

    async def session_delete(self, request: Request) -> Response:
        _api_version(request, SESSION_VERSIONS, "session")
        identifier = _identifier(request)
        if not await self.pool.delete(identifier):
            raise session_not_found(identifier)
        return Response(status_code=204)

    async def list_sessions(self, request: Request) -> Response:
        _api_version(request, SESSION_VERSIONS, "listSessions")
        skip_text = request.query_params.get("skip", "0")
        if not skip_text.isdigit():
            raise validation_failed("skip must be a non-negative integer.", target="skip")
        sessions = self.pool.sessions()[int(skip_text) :]
        return JSONResponse(
            {"sessions": [self._session_body(s) for s in sessions], "nextLink": None}
        )

    def node_version(self) -> str:
        if self._node_version is None:
            version = ""
            try:
                from repl.local.node import find_node  # the kernel engineer's module

                v = find_node().version
                version = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
            except Exception:
                try:
                    out = subprocess.run(
                        [os.environ.get("ACAJS_NODE") or "node", "--version"],
                        capture_output=True, text=True, timeout=10, check=False,
                    )
                    version = out.stdout.strip()
                except (OSError, subprocess.SubprocessError):
                    version = "unknown"
            self._node_version = version.lstrip("v") or "unknown"
        return self._node_version

    async def metadata(self, request: Request) -> Response:
        _api_version(request, SESSION_VERSIONS, "metadata")
        started = _iso(self.pool.started_at)
        return JSONResponse(
            {
                "runtimes": [{"name": "node", "version": self.node_version()}],
                "preInstalledPackages": [],
                "createdAt": started,
                "lastUpdatedAt": started,
                "jupyterKernel": {
                    "name": "IJavascript",
                    "version": "5.2.1",
                    "projectUrl": "https://github.com/n-riesco/ijavascript",
                    "description": (
                        f"acajs-repl {__version__} local pool: a Node.js harness that "
                        "reproduces iJavaScript 5.2.1's execution semantics"
                    ),
                },
            }
        )

    async def arm_pool(self, request: Request) -> Response:
        p = request.path_params
        if not request.query_params.get("api-version"):
            raise PoolError(
                400, "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if (
            p["sub"].lower() != LOCAL_SUBSCRIPTION
            or p["rg"].lower() != LOCAL_RESOURCE_GROUP
            or p["name"].lower() != LOCAL_POOL_NAME
        ):
            raise PoolError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.App/sessionPools/{p['name']}' under resource group "
                f"'{p['rg']}' was not found. The local pool is "
                f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
                f"/providers/Microsoft.App/sessionPools/{LOCAL_POOL_NAME}.",
            )
        s = self.settings
        base = str(request.base_url).rstrip("/")
        rid = (
            f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
            f"/providers/Microsoft.App/sessionPools/{LOCAL_POOL_NAME}"
        )
        return JSONResponse(
            {
                "id": rid,
                "name": LOCAL_POOL_NAME,
                "type": "Microsoft.App/sessionPools",
                "location": "local",
                "properties": {
                    "provisioningState": "Succeeded",
                    "poolManagementType": "Dynamic",
                    "containerType": "NodeLTS",
                    "nodeCount": 1,
                    "scaleConfiguration": {
                        "maxConcurrentSessions": s.max_sessions,
                        "readySessionInstances": s.ready,
                    },
                    "dynamicPoolConfiguration": {
                        "lifecycleConfiguration": {
                            "lifecycleType": "Timed",
                            "cooldownPeriodInSeconds": s.cooldown,
                        }
                    },
                    "sessionNetworkConfiguration": {
                        "status": "EgressEnabled" if s.egress == "enabled" else "EgressDisabled"
                    },
                    "poolManagementEndpoint": base + s.endpoint_path,
                },
            }
        )

    # --------------------------------------------------------------- routes
    def routes(self) -> list[Route]:
        data_plane = [
            ("/code/execute", self.code_execute, ["POST"]),
            ("/executions", self.executions_post, ["POST"]),
            ("/executions/{execution_id}", self.executions_get, ["GET"]),
            ("/files", self.files_list, ["GET"]),
            ("/files", self.files_upload, ["POST"]),
            ("/files/upload", self.files_upload_legacy, ["POST"]),
            ("/files/content/{name:path}", self.file_content_legacy, ["GET"]),
            ("/files/{name}", self.file_get, ["GET"]),
            ("/files/{name}", self.file_delete, ["DELETE"]),
            ("/files/{name}/content", self.file_content, ["GET"]),
            ("/session", self.session_get, ["GET"]),
            ("/session", self.session_delete, ["DELETE"]),
            ("/listSessions", self.list_sessions, ["GET"]),
            ("/metadata", self.metadata, ["GET"]),
        ]
        routes = [
            Route(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}",
                self.arm_pool,
                methods=["GET"],
            )
        ]
        for prefix in ("", self.settings.endpoint_path):
            for path, handler, methods in data_plane:
                routes.append(Route(prefix + path, handler, methods=methods))
        return routes


# ------------------------------------------------------------------ guard
def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """Host header values accepted for a server bound to (host, port); None = any."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return {f"{host.lower()}:{port}"}
    if ip.is_unspecified:
        return None  # bound to every interface: any name may reach it (token still required)
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    hosts = {f"{shown}:{port}"}
    if ip.is_loopback:
        hosts.add(f"localhost:{port}")
        if port == 80:
            hosts |= {shown, "localhost"}
    return hosts


class Guard:
    """ASGI middleware: Host header check, bearer token, request id; no CORS ever."""

    def __init__(
        self,
        app: Any,
        token: str,
        settings: PoolSettings,
        fast_routes: dict[tuple[str, str], Any] | None = None,
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.settings = settings
        # (method, path) -> handler served without Starlette's router and middleware
        # layers: the execute routes, which carry nearly all the traffic.
        self.fast_routes = fast_routes or {}
        self._hosts: dict[tuple[str, int], set[str] | None] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        rid_header = (b"x-ms-request-id", request_id.encode())

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        headers = dict(scope["headers"])
        error = self._check(scope, headers)
        if error is not None:
            await _error_response(error)(scope, receive, send_with_id)
            return
        path = scope["path"]
        if "//" in path:
            scope = dict(scope, path=re.sub("/{2,}", "/", path))
        handler = self.fast_routes.get((scope["method"], scope["path"]))
        if handler is None:
            await self.app(scope, receive, send_with_id)
            return
        try:
            response = await handler(Request(scope, receive))
        except PoolError as exc:
            response = _error_response(exc)
        except Exception as exc:
            log.error("local pool request failed", exc_info=exc)
            response = _error_response(
                PoolError(500, "InternalServerError", f"The local pool failed on this request: {exc!r}")
            )
        await response(scope, receive, send_with_id)

    def _check(self, scope: dict, headers: dict[bytes, bytes]) -> PoolError | None:
        server = scope.get("server")
        if server is not None and server[1] is not None:
            # The host the pool was bound to (the connection's own address would be
            # 127.0.0.1 even for a pool bound to 0.0.0.0), the port it listens on.
            bound = self.settings.host
            bound = "127.0.0.1" if bound.lower() == "localhost" else bound
            key = (bound, server[1])
            if key not in self._hosts:
                self._hosts[key] = _allowed_hosts(bound, server[1])
            allowed = self._hosts[key]
            host = headers.get(b"host", b"").decode("latin-1").lower()
            if allowed is not None and host not in allowed:
                return PoolError(
                    400,
                    "InvalidHostHeader",
                    f"Host {host!r} is not this pool's address ({', '.join(sorted(allowed))}); "
                    "requests for other host names are refused (DNS rebinding protection).",
                )
        auth = headers.get(b"authorization", b"")
        scheme, _, token = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.token):
            return PoolError(
                401,
                "Unauthorized",
                "Missing or wrong bearer token: send 'Authorization: Bearer <token>' with the "
                "token that 'acajs-repl serve' printed.",
                headers={"WWW-Authenticate": 'Bearer realm="acajs-repl local pool"'},
            )
        return None


def _error_response(exc: PoolError) -> JSONResponse:
    headers = {"x-ms-error-code": exc.code, **exc.headers}
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _pool_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PoolError)
    return _error_response(exc)


async def _http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = PoolError(404, "NotFound", "No such route in the dynamic sessions API.")
    elif exc.status_code == 405:
        err = PoolError(405, "MethodNotAllowed", "This route does not take that method.")
    else:
        err = PoolError(exc.status_code, "BadRequest", str(exc.detail))
    return _error_response(err)


async def _internal_error_handler(_request: Request, exc: Exception) -> Response:
    log.error("local pool request failed", exc_info=exc)
    return _error_response(
        PoolError(500, "InternalServerError", f"The local pool failed on this request: {exc!r}")
    )


def create_app(
    pool: SessionPool,
    settings: PoolSettings,
    *,
    token: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_body_bytes: int = MAX_BODY_BYTES,
    fast_path: bool = True,
) -> Starlette:
    """The local pool's ASGI app.  ``token`` defaults to ``settings.token``.

    ``fast_path``: serve the execute routes straight from the outer middleware,
    without Starlette's router and exception layers (same handlers, same answers).
    """
    token = token or settings.token
    if not token:
        raise ValueError("the local pool needs a token (PoolSettings.token or token=)")
    handlers = LocalPoolApp(
        pool, settings, max_upload_bytes=max_upload_bytes, max_body_bytes=max_body_bytes
    )
    app = Starlette(
        routes=handlers.routes(),
        exception_handlers={
            PoolError: _pool_error_handler,
            HTTPException: _http_error_handler,
            Exception: _internal_error_handler,
        },
    )
    app.state.handlers = handlers
    fast_routes = {}
    for prefix in ("", settings.endpoint_path) if fast_path else ():
        fast_routes[("POST", prefix + "/executions")] = handlers.executions_post
        fast_routes[("POST", prefix + "/code/execute")] = handlers.code_execute
    app.add_middleware(Guard, token=token, settings=settings, fast_routes=fast_routes)
    return app
