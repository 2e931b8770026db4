"""``SessionsClient``: the async client of the dynamic sessions API.

One ``httpx.AsyncClient`` for the life of the client; both dialects of
``shared/API.md``; safe retries only; every service problem is an
:class:`~repl.api.errors.ApiError`, every code failure a normal ``Execution``.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .. import __version__
from ..paths import give_new_file_mode
from .auth import ARM_SCOPE, AuthProvider, AzureToken
from .dialects import (
    CURRENT,
    EXECUTE_PATH,
    LEGACY_API_VERSION,
    SERVICE_TIMEOUT_CAP,
    candidates,
    execute_body,
    files_are_legacy,
    looks_like_execution,
    parse_execution,
    parse_file_list,
    parse_metadata,
    parse_session,
    parse_session_list,
    parse_upload,
    session_api_version,
)
from .endpoint import ARM_BASE, PoolRef, parse_pool_path
from .errors import (
    ApiError,
    BadResponseError,
    ConnectError,
    MissingFileError,
    NotFoundError,
    RequestTimeout,
    bad_body,
    error_from_response,
    is_missing_file,
    loads,
)
from .httpclient import AsyncClient
from .loopback import LOOPBACK_HOSTS, LoopbackTransport
from .models import Execution, ExecutionStatus, FileInfo, PoolMetadata, PoolStatus, SessionInfo
from .retry import RetryPolicy
from .transport import DEFAULT_DEADLINE, MAX_ERROR_BYTES, MAX_RESPONSE_BYTES, send

USER_AGENT = f"acajs-repl/{__version__} (Language=Python)"
READ_MARGIN = 30.0  # seconds added to the execution timeout for the HTTP read timeout
CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = httpx.Timeout(connect=CONNECT_TIMEOUT, read=60.0, write=120.0, pool=30.0)
MAX_EXECUTION_BYTES = 256 * 1024 * 1024  # an execution's answer (its output) is read up to this
TRANSFER_RATE = 64 * 1024  # bytes/s an upload or download must average, after DEFAULT_DEADLINE s of grace
POLL_FIRST = 0.05
POLL_MAX = 2.0
_JSON_CT = "application/json"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _q(value: str) -> str:
    return quote(value, safe="")


def _norm_dir(directory: str | None) -> str:
    """A directory relative to /mnt/data ("" for the root), whatever the caller wrote."""
    d = (directory or "").replace("\\", "/").strip()
    if d == "/mnt/data" or d.startswith("/mnt/data/"):
        d = d[len("/mnt/data"):]
    return d.strip("/")


def _split_name(name: str, directory: str | None) -> tuple[str, str | None]:
    """("file.txt", "dir") from "dir/file.txt" (a /mnt/data prefix is dropped)."""
    n = name.replace("\\", "/")
    if n.startswith("/mnt/data/"):
        n = n[len("/mnt/data/"):]
    n = n.strip("/")
    if "/" in n:
        parent, _, base = n.rpartition("/")
        directory = f"{directory.strip('/')}/{parent}" if directory and directory.strip("/") else parent
        n = base
    return n, directory


class SessionsClient:
    """Client of one session pool's data plane (plus its ARM resource for status)."""

    def __init__(self, endpoint: str, auth: AuthProvider, *, api_version: str | None = None,
                 arm_base: str = ARM_BASE, arm_auth: AuthProvider | None = None,
                 http: httpx.AsyncClient | None = None, retries: int = 3,
                 pool_ref: PoolRef | None = None, retry_policy: RetryPolicy | None = None) -> None:
        endpoint = endpoint.strip().rstrip("/")
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"the endpoint must start with https:// (got {endpoint!r})")
        self.endpoint = endpoint
        self.auth = auth
        self.explicit_api_version = api_version
        self._candidates = candidates(api_version)
        self.dialect, self.api_version = self._candidates[0]
        # True once the endpoint answered a dialect-specific request at (dialect, api_version):
        # from then on that pair is used by every operation and never changes.
        self._dialect_known = False
        self.arm_base = arm_base.rstrip("/")
        if arm_auth is None and isinstance(auth, AzureToken):
            arm_auth = auth.for_scope(ARM_SCOPE)
        self.arm_auth = arm_auth
        self.pool_ref = pool_ref or parse_pool_path(endpoint)
        self._policy = retry_policy or RetryPolicy(retries=retries)
        self._owns_http = http is None
        self._http = http or self._new_http(endpoint, self.arm_base)
        self._headers = {"User-Agent": USER_AGENT}
        self._origin = self._origin_of(endpoint)
        self._exec_timeouts: dict[float, httpx.Timeout] = {}
        self._exec_url: tuple[tuple[str, str, str] | None, str] = (None, "")  # last execute URL

    # --- plumbing -----------------------------------------------------------

    @staticmethod
    def _new_http(endpoint: str, arm_base: str) -> httpx.AsyncClient:
        """The client's one connection pool.

        When every URL it will reach is plain http (the local pool, whose ARM
        route is itself), no TLS is ever used, so no SSL context is built
        (loading the CA bundle costs 20-80 ms per client). When they are all on
        loopback too, requests go through :class:`LoopbackTransport` (one write
        per request, no httpcore/anyio, idle connections kept until the server
        closes them); everything else, Azure included, uses httpx's transport.
        """
        plain = endpoint.startswith("http://") and arm_base.startswith("http://")
        loopback = all((urlsplit(u).hostname or "").lower() in LOOPBACK_HOSTS for u in (endpoint, arm_base))
        if plain and loopback:
            return AsyncClient(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT},
                               transport=LoopbackTransport(), verify=False)
        return AsyncClient(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT}, verify=not plain)

    @staticmethod
    def _origin_of(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.netloc.lower()

    def _url(self, route: str, api_version: str, identifier: str | None = None, **extra: str | None) -> str:
        url = f"{self.endpoint}/{route}?api-version={api_version}"
        if identifier is not None:
            url += f"&identifier={_q(identifier)}"
        for k, v in extra.items():
            if v is not None:
                url += f"&{k}={_q(v)}"
        return url

    def _exec_timeout(self, timeout: float) -> httpx.Timeout:
        t = self._exec_timeouts.get(timeout)
        if t is None:
            read = min(float(timeout), SERVICE_TIMEOUT_CAP) + READ_MARGIN
            t = httpx.Timeout(connect=CONNECT_TIMEOUT, read=read, write=120.0, pool=30.0)
            self._exec_timeouts[timeout] = t
        return t

    async def _send(self, method: str, url: str, *, what: str, auth: AuthProvider | None = None,
                    content: bytes | None = None, content_type: str | None = None,
                    files: Callable[[], Any] | None = None, timeout: httpx.Timeout | float | None = None,
                    stream: bool = False, identifier: str | None = None, deadline: float = DEFAULT_DEADLINE,
                    max_bytes: int = MAX_RESPONSE_BYTES) -> httpx.Response:
        """Send with the retry rules, within ``deadline`` seconds, reading at most
        ``max_bytes``; returns any response (the caller maps errors)."""
        return await send(self._http, self._policy, method, url, what=what,
                          auth=self.auth if auth is None else auth, headers=self._headers, content=content,
                          content_type=content_type, files=files, timeout=timeout, stream=stream,
                          deadline=deadline, max_bytes=max_bytes)

    async def _error(self, resp: httpx.Response, what: str, *, identifier: str | None = None,
                     auth: AuthProvider | None = None) -> ApiError:
        if not resp.is_stream_consumed:
            await resp.aread()
        secrets = tuple(s for s in (await self._current_token(auth), identifier) if s)
        return error_from_response(resp.status_code, resp.headers, resp.content, what=what, secrets=secrets)

    async def _current_token(self, auth: AuthProvider | None) -> str | None:
        try:
            return await (auth or self.auth).token()
        except Exception:
            return None

    def _json(self, resp: httpx.Response, what: str) -> Any:
        content = resp.content
        try:
            text = content.decode(json.detect_encoding(content), "surrogatepass")
        except UnicodeDecodeError:
            raise bad_body(what, resp.status_code, resp.headers, content) from None
        # The body is parsed from its text alone: a large answer (a raised output
        # cap) is never held three times (bytes, text, parsed values) at once.
        head = content[:MAX_ERROR_BYTES]
        del content
        resp._content = head
        try:
            return loads(text)
        except ValueError:
            raise bad_body(what, resp.status_code, resp.headers, head) from None

    async def _request_json(self, method: str, url: str, what: str, *, identifier: str | None = None,
                            auth: AuthProvider | None = None, **kw: Any) -> Any:
        resp = await self._send(method, url, what=what, auth=auth, identifier=identifier, **kw)
        if not resp.is_success:
            raise await self._error(resp, what, identifier=identifier, auth=auth)
        return self._json(resp, what)

    async def _request_empty(self, method: str, url: str, what: str, *, identifier: str | None = None) -> None:
        resp = await self._send(method, url, what=what, identifier=identifier)
        if not resp.is_success:
            raise await self._error(resp, what, identifier=identifier)

    @property
    def _can_fall_back(self) -> bool:
        return not self._dialect_known and len(self._candidates) > 1

    async def _negotiated(self, method: str, build: Callable[[str, str], tuple[str, dict[str, Any]]], *,
                          what: str, file_op: bool = False, identifier: str | None = None,
                          **kw: Any) -> httpx.Response:
        """Send a request whose route or shape depends on the dialect.

        One negotiated (dialect, api-version) pair is shared by execute and the
        file operations: whichever comes first, a refusal of the route or version
        (404, or 400 ``SessionRequestNotSupported``) before the endpoint ever
        accepted the pair falls back once to the next candidate, and the first
        success fixes the pair for the rest of the run. When every candidate
        refuses, nothing is learnt and the last answer is returned.
        """
        tried: list[tuple[str, str]] | None = None
        catch_up = 2  # re-sends when a concurrent operation changed the pair meanwhile
        while True:
            used = (self.dialect, self.api_version)
            url, extra = build(*used)
            resp = await self._send(method, url, what=what, identifier=identifier, **kw, **extra)
            current = (self.dialect, self.api_version) == used
            if resp.is_success:
                if current:
                    self._dialect_known = True
                return resp
            if file_op and resp.status_code == 404 and await self._missing_file(resp):
                if current:
                    self._dialect_known = True  # the route exists: it is the file that does not
                return resp
            if not await self._unsupported(resp):
                return resp
            if not current and catch_up:
                catch_up -= 1  # another operation fell back (or settled) meanwhile: use its pair
                if kw.get("stream"):
                    await resp.aclose()
                continue
            if self._dialect_known:
                return resp
            if self._can_fall_back:
                if kw.get("stream"):
                    await resp.aclose()
                tried = tried or list(self._candidates)
                self._candidates = self._candidates[1:]
                self.dialect, self.api_version = self._candidates[0]
                continue
            if tried is not None:  # every candidate refused: start again next time
                self._candidates = tried
                self.dialect, self.api_version = tried[0]
            return resp

    @staticmethod
    async def _body(resp: httpx.Response) -> bytes:
        return resp.content if resp.is_stream_consumed else await resp.aread()

    async def _error_code(self, resp: httpx.Response) -> tuple[str | None, str | None]:
        """(code, message) of an error answer: the body's ``error``, else ``x-ms-error-code``."""
        code = msg = None
        try:
            err = loads(await self._body(resp)).get("error")
            if isinstance(err, dict):
                code, msg = err.get("code"), err.get("message")
        except (ValueError, AttributeError):
            pass
        code = code if isinstance(code, str) else resp.headers.get("x-ms-error-code")
        return code, msg if isinstance(msg, str) else None

    async def _missing_file(self, resp: httpx.Response) -> bool:
        return is_missing_file(*await self._error_code(resp))

    async def _unsupported(self, resp: httpx.Response) -> bool:
        """Whether a response says "this route/version is not supported here"."""
        if resp.status_code == 404:
            code, _ = await self._error_code(resp)
            return not code or "capacity" not in code.lower()
        if resp.status_code == 400:
            code, _ = await self._error_code(resp)
            return code in ("SessionRequestNotSupported", "SessionPropertiesMissing")
        return False

    async def _file_error(self, resp: httpx.Response, what: str, path: str, *, identifier: str,
                          kind: str = "file") -> ApiError:
        """The error for a failed file operation: a 404 names the missing file when the
        answer says so (or the endpoint has already answered in this dialect)."""
        err = await self._error(resp, what, identifier=identifier)
        if type(err) is NotFoundError:  # a 404 that is not "pool full" (CapacityError)
            target = f"/mnt/data/{path}".rstrip("/")
            if self._dialect_known or await self._missing_file(resp):
                return MissingFileError(
                    f"{what} failed: there is no {kind} {target} in the session",
                    status_code=404, code=err.code, request_id=err.request_id,
                    service_message=err.service_message)
            # A bare 404 from an endpoint that never answered: either could be wrong.
            err.hint = (f"either there is no {kind} {target} in the session (list its files), or the "
                        "endpoint is wrong (" + NotFoundError.default_hint + ")")
        return err

    # --- execute --------------------------------------------------------------

    async def execute(self, code: str, *, identifier: str, timeout: float = 60,
                      asynchronous: bool = False) -> Execution:
        """Run ``code`` in the session ``identifier``; a failure of the code is a
        normal ``Execution`` (status FAILED / TIMED_OUT), never an exception."""
        what = "Executing code"
        http_timeout = self._exec_timeout(timeout)
        sent: list[str] = []

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            sent.append(dialect)
            body = execute_body(dialect, code, timeout, asynchronous and dialect == CURRENT)
            key = (dialect, version, identifier)
            if self._exec_url[0] != key:
                self._exec_url = (key, self._url(EXECUTE_PATH[dialect], version, identifier))
            return self._exec_url[1], {"content": _dumps(body).encode()}

        start = time.perf_counter()
        deadline = min(float(timeout), SERVICE_TIMEOUT_CAP) + READ_MARGIN
        resp = await self._negotiated("POST", build, what=what, identifier=identifier,
                                      content_type=_JSON_CT, timeout=http_timeout, deadline=deadline,
                                      max_bytes=MAX_EXECUTION_BYTES)
        if not resp.is_success:
            raise await self._error(resp, what, identifier=identifier)
        dialect = sent[-1]
        elapsed = (time.perf_counter() - start) * 1000.0
        data = self._json(resp, what)
        try:
            # One plain dict: httpx.Headers lookups scan the whole list each time.
            ex = parse_execution(data, dict(resp.headers.items()), round_trip_ms=elapsed, identifier=identifier)
        except (ValueError, TypeError, AttributeError):
            raise bad_body(what, resp.status_code, resp.headers, resp.content) from None
        if ex.status is ExecutionStatus.RUNNING and dialect == CURRENT:
            ex = await self._poll(ex, resp, identifier, timeout, start)
        return ex

    async def get_execution(self, identifier: str, execution_id: str) -> Execution:
        """``GET executions/{id}`` (current dialect)."""
        what = "Reading the execution's result"
        url = self._url(f"executions/{_q(execution_id)}", self.api_version if self.dialect == CURRENT
                        else session_api_version(self.api_version), identifier)
        start = time.perf_counter()
        resp = await self._send("GET", url, what=what, identifier=identifier, max_bytes=MAX_EXECUTION_BYTES)
        if not resp.is_success:
            raise await self._error(resp, what, identifier=identifier)
        try:
            return parse_execution(self._json(resp, what), resp.headers, identifier=identifier,
                                   round_trip_ms=(time.perf_counter() - start) * 1000.0)
        except (ValueError, TypeError, AttributeError):
            raise bad_body(what, resp.status_code, resp.headers, resp.content) from None

    def _poll_url(self, resp: httpx.Response, ex: Execution, identifier: str) -> str | None:
        loc: str | None = resp.headers.get("operation-location")
        if loc and loc.startswith(("http://", "https://")) and self._origin_of(loc) == self._origin:
            if "api-version=" not in loc:
                loc += ("&" if "?" in loc else "?") + f"api-version={self.api_version}"
            if "identifier=" not in loc:
                loc += f"&identifier={_q(identifier)}"
            return loc
        if ex.execution_id:
            return self._url(f"executions/{_q(ex.execution_id)}", self.api_version, identifier)
        return None

    async def _poll(self, ex: Execution, resp: httpx.Response, identifier: str, timeout: float,
                    start: float) -> Execution:
        url = self._poll_url(resp, ex, identifier)
        if url is None:
            return ex
        what = "Reading the execution's result"
        deadline = start + min(float(timeout), SERVICE_TIMEOUT_CAP) + READ_MARGIN
        delay = POLL_FIRST
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX)
            r = await self._send("GET", url, what=what, identifier=identifier, max_bytes=MAX_EXECUTION_BYTES,
                                 deadline=max(1.0, deadline - time.perf_counter()) + CONNECT_TIMEOUT)
            if not r.is_success:
                raise await self._error(r, what, identifier=identifier)
            data = self._json(r, what)
            if not looks_like_execution(data):
                raise bad_body(what, r.status_code, r.headers, r.content)
            now = time.perf_counter()
            try:
                cur = parse_execution(data, r.headers, round_trip_ms=(now - start) * 1000.0,
                                      identifier=identifier)
            except (ValueError, TypeError, AttributeError):
                raise bad_body(what, r.status_code, r.headers, r.content) from None
            if cur.status.finished:
                return cur
            if now >= deadline:
                raise RequestTimeout(f"The execution was still running after {now - start:.0f} s",
                                     request_id=cur.request_id)

    # --- files ------------------------------------------------------------------
    # Every file operation goes through the negotiated (dialect, api-version) pair of
    # ``_negotiated``, like execute; the api-version decides the routes and shapes
    # (the two legacy-only versions have files/upload and files/content/{name}).

    async def upload(self, identifier: str, path: Path, *, name: str | None = None,
                     directory: str | None = None) -> FileInfo:
        """Upload the file at ``path`` (streamed) as ``name`` (default: its own name)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        name, directory = _split_name(name or path.name, directory)
        directory = _norm_dir(directory)
        what = f"Uploading {name}"

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            route = "files/upload" if files_are_legacy(version) else "files"
            return self._url(route, version, identifier, path=directory or None), {}

        def files() -> dict[str, Any]:
            return {"file": (name, open(path, "rb"), "application/octet-stream")}

        resp = await self._negotiated("POST", build, what=what, file_op=True, identifier=identifier,
                                      files=files, timeout=httpx.Timeout(CONNECT_TIMEOUT, read=300.0,
                                                                         write=300.0, pool=30.0),
                                      deadline=DEFAULT_DEADLINE + path.stat().st_size / TRANSFER_RATE)
        if not resp.is_success:
            raise await self._file_error(resp, what, directory, identifier=identifier, kind="directory")
        data = self._json(resp, what)
        try:
            return parse_upload(data, directory=directory, name=name)
        except ValueError:
            # Some servers answer an empty list: report what we sent.
            return FileInfo(name=name, size=path.stat().st_size, directory=directory)

    async def list_files(self, identifier: str, *, directory: str | None = None,
                         recursive: bool = False) -> list[FileInfo]:
        """The entries under ``directory`` (relative to /mnt/data); each ``FileInfo.path``
        is relative to /mnt/data, so it can be handed back to download/delete."""
        what = "Listing files"
        directory = _norm_dir(directory)

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            return self._url("files", version, identifier, path=directory or None,
                             recursive="true" if recursive else None), {}

        resp = await self._negotiated("GET", build, what=what, file_op=True, identifier=identifier)
        if not resp.is_success:
            raise await self._file_error(resp, what, directory, identifier=identifier, kind="directory")
        data = self._json(resp, what)
        try:
            return parse_file_list(data, directory=directory)
        except (ValueError, TypeError, AttributeError):
            raise BadResponseError(f"{what} got a response that is not a file list (HTTP {resp.status_code})",
                                   status_code=resp.status_code) from None

    async def file_info(self, identifier: str, name: str) -> FileInfo:
        base, directory = _split_name(name, None)
        directory = _norm_dir(directory)
        path = f"{directory}/{base}" if directory else base
        what = f"Reading the metadata of {base}"
        if files_are_legacy(self.api_version):
            for f in await self.list_files(identifier, directory=directory):
                if f.path == path:
                    return f
            raise MissingFileError(f"{what} failed: there is no file /mnt/data/{path} in the session")

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            return self._url(f"files/{_q(base)}", version, identifier, path=directory or None), {}

        resp = await self._negotiated("GET", build, what=what, file_op=True, identifier=identifier)
        if not resp.is_success:
            raise await self._file_error(resp, what, path, identifier=identifier)
        data = self._json(resp, what)
        try:
            files = parse_file_list(data, directory=directory, relative=False)
        except (ValueError, TypeError, AttributeError):
            files = []
        if not files:
            raise BadResponseError(f"{what} got a response that is not file metadata")
        return files[0]

    async def download(self, identifier: str, name: str, dest: Path) -> int:
        """Stream the file's content to ``dest``; returns the bytes written.

        Written to a temporary file beside ``dest`` and renamed at the end, so a
        failure never leaves a half file nor clobbers an existing one.
        """
        base, directory = _split_name(name, None)
        directory = _norm_dir(directory)
        path = f"{directory}/{base}" if directory else base
        what = f"Downloading {base}"

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            if files_are_legacy(version):
                return self._url(f"files/content/{_q(path)}", version, identifier), {}
            return self._url(f"files/{_q(base)}/content", version, identifier, path=directory or None), {}

        dest = Path(dest)
        if dest.is_dir():
            dest = dest / base
        resp = await self._negotiated("GET", build, what=what, file_op=True, identifier=identifier, stream=True,
                                      timeout=httpx.Timeout(CONNECT_TIMEOUT, read=300.0, write=60.0, pool=30.0))
        try:
            if not resp.is_success:
                raise await self._file_error(resp, what, path, identifier=identifier)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            written = 0
            started = time.monotonic()
            try:
                # However the server drips, the download averages TRANSFER_RATE after a grace period.
                async with asyncio.timeout(DEFAULT_DEADLINE) as limit:
                    with os.fdopen(fd, "wb") as out:
                        async for chunk in resp.aiter_bytes(65536):
                            out.write(chunk)
                            written += len(chunk)
                            limit.reschedule(asyncio.get_running_loop().time() + started - time.monotonic()
                                             + DEFAULT_DEADLINE + written / TRANSFER_RATE)
                expected = resp.headers.get("content-length")
                if expected is not None and expected.isdigit() and int(expected) != written \
                        and "content-encoding" not in resp.headers:
                    raise ConnectError(f"{what} was cut off after {written} of {expected} bytes",
                                       hint="try again")
                give_new_file_mode(Path(tmp))  # a normal new file, not mkstemp's 0600
                os.replace(tmp, dest)
            except BaseException as exc:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
                    raise RequestTimeout(f"{what} timed out") from None
                if isinstance(exc, httpx.HTTPError):
                    raise ConnectError(f"{what} failed: the connection was dropped mid-download "
                                       f"({type(exc).__name__})", hint="try again") from None
                raise
            return written
        finally:
            await resp.aclose()

    async def delete_file(self, identifier: str, name: str) -> None:
        base, directory = _split_name(name, None)
        directory = _norm_dir(directory)
        path = f"{directory}/{base}" if directory else base
        what = f"Deleting {base}"

        def build(dialect: str, version: str) -> tuple[str, dict[str, Any]]:
            # The legacy-only versions have no delete route; 2024-10-02-preview is the first that has one.
            v = LEGACY_API_VERSION if files_are_legacy(version) else version
            return self._url(f"files/{_q(base)}", v, identifier, path=directory or None), {}

        resp = await self._negotiated("DELETE", build, what=what, file_op=True, identifier=identifier)
        if not resp.is_success:
            raise await self._file_error(resp, what, path, identifier=identifier)

    # --- sessions and pool ------------------------------------------------------------

    @property
    def _session_version(self) -> str:
        return session_api_version(self.api_version)

    async def get_session(self, identifier: str) -> SessionInfo:
        what = "Reading the session"
        data = await self._request_json("GET", self._url("session", self._session_version, identifier),
                                        what, identifier=identifier)
        try:
            return parse_session(data)
        except (ValueError, AttributeError, TypeError):
            raise BadResponseError(f"{what} got a response that is not a session") from None

    async def delete_session(self, identifier: str) -> None:
        await self._request_empty("DELETE", self._url("session", self._session_version, identifier),
                                  "Deleting the session", identifier=identifier)

    async def list_sessions(self) -> list[SessionInfo]:
        what = "Listing the pool's sessions"
        url = self._url("listSessions", self._session_version)
        out: list[SessionInfo] = []
        for _ in range(100):  # pages
            data = await self._request_json("GET", url, what)
            try:
                page, nxt = parse_session_list(data)
            except (ValueError, AttributeError, TypeError):
                raise BadResponseError(f"{what} got a response that is not a session list") from None
            out.extend(page)
            if not nxt:
                break
            if not nxt.startswith(("http://", "https://")):
                nxt = f"{self.endpoint}/{nxt.lstrip('/')}"
            if self._origin_of(nxt) != self._origin:
                break  # never send the token elsewhere
            url = nxt
        return out

    async def metadata(self) -> PoolMetadata:
        what = "Reading the pool's metadata"
        data = await self._request_json("GET", self._url("metadata", self._session_version), what)
        try:
            return parse_metadata(data)
        except (ValueError, AttributeError, TypeError):
            raise BadResponseError(f"{what} got a response that is not pool metadata") from None

    async def arm_pool(self) -> dict[str, Any]:
        """The raw ARM resource of the pool (needs ``pool_ref`` and ``arm_auth``)."""
        from .endpoint import get_arm_pool

        if self.pool_ref is None or self.arm_auth is None:
            raise ApiError("The pool's Azure resource is unknown")
        return await get_arm_pool(self._http, self.pool_ref, arm_base=self.arm_base, auth=self.arm_auth,
                                  headers={"User-Agent": USER_AGENT, "Accept": _JSON_CT}, policy=self._policy)

    async def pool_status(self) -> PoolStatus:
        from .pool_status import gather_pool_status

        return await gather_pool_status(self)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        for a in (self.auth, self.arm_auth):
            close = getattr(a, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> SessionsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"SessionsClient(endpoint={self.endpoint!r}, dialect={self.dialect!r}, api_version={self.api_version!r})"

