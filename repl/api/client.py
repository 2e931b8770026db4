"""``SessionsClient``: the async client of the dynamic sessions API.

One ``httpx.AsyncClient`` for the life of the client; both dialects of
``shared/API.md``; safe retries only; every service problem is an
:class:`~repl.api.errors.ApiError`, every code failure a normal ``Execution``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .. import __version__
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
    NotFoundError,
    RequestTimeout,
    bad_body,
    error_from_response,
    retry_after_seconds,
)
from .models import Execution, ExecutionStatus, FileInfo, PoolMetadata, PoolStatus, SessionInfo
from .retry import RetryPolicy

USER_AGENT = f"acajs-repl/{__version__} (Language=Python)"
READ_MARGIN = 30.0  # seconds added to the execution timeout for the HTTP read timeout
CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = httpx.Timeout(connect=CONNECT_TIMEOUT, read=60.0, write=120.0, pool=30.0)
POLL_FIRST = 0.05
POLL_MAX = 2.0
_JSON_CT = "application/json"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _q(value: str) -> str:
    return quote(value, safe="")


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
        self._can_fall_back = len(self._candidates) > 1
        self.arm_base = arm_base.rstrip("/")
        if arm_auth is None and isinstance(auth, AzureToken):
            arm_auth = auth.for_scope(ARM_SCOPE)
        self.arm_auth = arm_auth
        self.pool_ref = pool_ref or parse_pool_path(endpoint)
        self._policy = retry_policy or RetryPolicy(retries=retries)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._origin = self._origin_of(endpoint)
        self._host = urlsplit(endpoint).netloc
        self._exec_timeouts: dict[float, httpx.Timeout] = {}
        self._exec_url: tuple[tuple[str, str, str] | None, str] = (None, "")  # last execute URL

    # --- plumbing -----------------------------------------------------------

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
                    stream: bool = False, identifier: str | None = None) -> httpx.Response:
        """Send with the retry rules; returns any response (the caller maps errors)."""
        auth = self.auth if auth is None else auth
        attempt = 0
        force = False
        old_token: str | None = None
        last: httpx.Response | None = None
        while True:
            token = await auth.token(force_refresh=force)
            if force and token == old_token and last is not None:
                return last  # the refresh gave the same token: nothing new to retry with
            headers = {"User-Agent": USER_AGENT}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            if content_type:
                headers["Content-Type"] = content_type
            opened = files() if files is not None else None
            try:
                request = self._http.build_request(
                    method, url, content=content, files=opened, headers=headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
                try:
                    resp = await self._http.send(request, stream=stream)
                finally:
                    if opened is not None and not stream:
                        for part in opened.values():
                            f = part[1] if isinstance(part, tuple) else part
                            close = getattr(f, "close", None)
                            if close:
                                close()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never sent: safe to retry for any method, the execute included.
                if self._policy.retry_connect(attempt):
                    await self._policy.sleep(self._policy.backoff(attempt))
                    attempt += 1
                    continue
                kind = "timed out" if isinstance(exc, httpx.ConnectTimeout) else _connect_reason(exc)
                raise ConnectError(f"{what} failed: could not connect to {self._host_of(url)} ({kind})") from None
            except httpx.TimeoutException as exc:
                phase = {httpx.ReadTimeout: "waiting for the answer", httpx.WriteTimeout: "sending the request",
                         httpx.PoolTimeout: "waiting for a free connection"}.get(type(exc), "")
                raise RequestTimeout(
                    f"{what} timed out{' ' + phase if phase else ''} ({self._host_of(url)})") from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
                extra = "; the code may or may not have run" if method == "POST" and "execut" in what.lower() else ""
                raise ConnectError(
                    f"{what} failed: the connection to {self._host_of(url)} was dropped before the answer "
                    f"arrived ({type(exc).__name__}){extra}",
                    hint="try again; if it keeps happening, a proxy may be cutting the connection") from None
            except httpx.HTTPError as exc:
                raise ConnectError(f"{what} failed: {type(exc).__name__} talking to {self._host_of(url)}") from None
            status = resp.status_code
            if status == 401 and not force and token:
                # One forced refresh, one re-send (the service did not run anything).
                force = True
                old_token = token
                last = resp
                if stream:
                    await resp.aread()
                continue
            if status >= 429 and status in (429, 502, 503, 504):
                ra = retry_after_seconds(resp.headers.get("retry-after"))
                if self._policy.retry_status(method, status, attempt, ra):
                    if stream:
                        await resp.aclose()
                    await self._policy.sleep(self._policy.backoff(attempt, ra))
                    attempt += 1
                    continue
            return resp

    def _host_of(self, url: str) -> str:
        return urlsplit(url).netloc or self._host

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
            return json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise bad_body(what, resp.status_code, resp.headers, content) from None

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

    def _fall_back(self) -> None:
        self._candidates = self._candidates[1:]
        self.dialect, self.api_version = self._candidates[0]
        self._can_fall_back = len(self._candidates) > 1

    def _unsupported(self, resp: httpx.Response) -> bool:
        """Whether a response says "this route/version is not supported here"."""
        if resp.status_code == 404:
            code = resp.headers.get("x-ms-error-code", "")
            return "capacity" not in code.lower()
        if resp.status_code == 400:
            code = resp.headers.get("x-ms-error-code")
            if code is None:
                try:
                    err = json.loads(resp.content).get("error", {})
                    code = err.get("code") if isinstance(err, dict) else None
                except (ValueError, AttributeError, UnicodeDecodeError):
                    code = None
            return code in ("SessionRequestNotSupported", "SessionPropertiesMissing")
        return False

    # --- execute --------------------------------------------------------------

    async def execute(self, code: str, *, identifier: str, timeout: float = 60,
                      asynchronous: bool = False) -> Execution:
        """Run ``code`` in the session ``identifier``; a failure of the code is a
        normal ``Execution`` (status FAILED / TIMED_OUT), never an exception."""
        what = "Executing code"
        http_timeout = self._exec_timeout(timeout)
        start = time.perf_counter()
        while True:
            dialect = self.dialect
            body = execute_body(dialect, code, timeout, asynchronous and dialect == CURRENT)
            key = (dialect, self.api_version, identifier)
            if self._exec_url[0] != key:
                self._exec_url = (key, self._url(EXECUTE_PATH[dialect], self.api_version, identifier))
            url = self._exec_url[1]
            resp = await self._send("POST", url, what=what, content=_dumps(body).encode(),
                                    content_type=_JSON_CT, timeout=http_timeout, identifier=identifier)
            if resp.is_success:
                break
            if self._can_fall_back and self._unsupported(resp):
                self._fall_back()
                continue
            raise await self._error(resp, what, identifier=identifier)
        elapsed = (time.perf_counter() - start) * 1000.0
        data = self._json(resp, what)
        try:
            # One plain dict: httpx.Headers lookups scan the whole list each time.
            ex = parse_execution(data, dict(resp.headers.items()), round_trip_ms=elapsed, identifier=identifier)
        except ValueError:
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
        resp = await self._send("GET", url, what=what, identifier=identifier)
        if not resp.is_success:
            raise await self._error(resp, what, identifier=identifier)
        try:
            return parse_execution(self._json(resp, what), resp.headers, identifier=identifier,
                                   round_trip_ms=(time.perf_counter() - start) * 1000.0)
        except ValueError:
            raise bad_body(what, resp.status_code, resp.headers, resp.content) from None

    def _poll_url(self, resp: httpx.Response, ex: Execution, identifier: str) -> str | None:
        loc = resp.headers.get("operation-location")
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
            r = await self._send("GET", url, what=what, identifier=identifier)
            if not r.is_success:
                raise await self._error(r, what, identifier=identifier)
            data = self._json(r, what)
            if not looks_like_execution(data):
                raise bad_body(what, r.status_code, r.headers, r.content)
            now = time.perf_counter()
            cur = parse_execution(data, r.headers, round_trip_ms=(now - start) * 1000.0, identifier=identifier)
            if cur.status.finished:
                return cur
            if now >= deadline:
                raise RequestTimeout(f"The execution was still running after {now - start:.0f} s",
                                     request_id=cur.request_id)

    # --- files ------------------------------------------------------------------

    @property
    def _files_legacy(self) -> bool:
        return files_are_legacy(self.api_version)

    async def upload(self, identifier: str, path: Path, *, name: str | None = None,
                     directory: str | None = None) -> FileInfo:
        """Upload the file at ``path`` (streamed) as ``name`` (default: its own name)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        name, directory = _split_name(name or path.name, directory)
        what = f"Uploading {name}"
        route = "files/upload" if self._files_legacy else "files"
        url = self._url(route, self.api_version, identifier, path=directory)

        def files() -> dict[str, Any]:
            return {"file": (name, open(path, "rb"), "application/octet-stream")}

        data = await self._request_json("POST", url, what, identifier=identifier, files=files,
                                        timeout=httpx.Timeout(CONNECT_TIMEOUT, read=300.0, write=300.0, pool=30.0))
        try:
            return parse_upload(data, directory=(directory or "").strip("/"), name=name)
        except ValueError:
            # Some servers answer an empty list: report what we sent.
            return FileInfo(name=name, size=path.stat().st_size, directory=(directory or "").strip("/"))

    async def list_files(self, identifier: str, *, directory: str | None = None,
                         recursive: bool = False) -> list[FileInfo]:
        what = "Listing files"
        url = self._url("files", self.api_version, identifier, path=directory,
                        recursive="true" if recursive else None)
        data = await self._request_json("GET", url, what, identifier=identifier)
        try:
            return parse_file_list(data, directory=(directory or "").strip("/"))
        except ValueError:
            raise BadResponseError(f"{what} got a response that is not a file list") from None

    async def file_info(self, identifier: str, name: str) -> FileInfo:
        base, directory = _split_name(name, None)
        what = f"Reading the metadata of {base}"
        if self._files_legacy:
            for f in await self.list_files(identifier, directory=directory):
                if f.name == base:
                    return f
            raise NotFoundError(f"No file named {name} in the session",
                                hint="list the session's files to see what is there")
        url = self._url(f"files/{_q(base)}", self.api_version, identifier, path=directory)
        data = await self._request_json("GET", url, what, identifier=identifier)
        try:
            files = parse_file_list(data, directory=(directory or ""))
        except ValueError:
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
        what = f"Downloading {base}"
        if self._files_legacy:
            route = f"files/content/{_q(f'{directory}/{base}' if directory else base)}"
            url = self._url(route, self.api_version, identifier)
        else:
            url = self._url(f"files/{_q(base)}/content", self.api_version, identifier, path=directory)
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / base
        resp = await self._send("GET", url, what=what, identifier=identifier, stream=True,
                                timeout=httpx.Timeout(CONNECT_TIMEOUT, read=300.0, write=60.0, pool=30.0))
        try:
            if not resp.is_success:
                raise await self._error(resp, what, identifier=identifier)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            written = 0
            try:
                with os.fdopen(fd, "wb") as out:
                    async for chunk in resp.aiter_bytes(65536):
                        out.write(chunk)
                        written += len(chunk)
                expected = resp.headers.get("content-length")
                if expected is not None and expected.isdigit() and int(expected) != written \
                        and "content-encoding" not in resp.headers:
                    raise ConnectError(f"{what} was cut off after {written} of {expected} bytes",
                                       hint="try again")
                os.replace(tmp, dest)
            except BaseException as exc:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                if isinstance(exc, httpx.TimeoutException):
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
        # The legacy-only versions have no delete route; 2024-10-02-preview is the first that has one.
        version = LEGACY_API_VERSION if self._files_legacy else self.api_version
        url = self._url(f"files/{_q(base)}", version, identifier, path=directory)
        await self._request_empty("DELETE", url, f"Deleting {base}", identifier=identifier)

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
        except (ValueError, AttributeError):
            raise BadResponseError(f"{what} got a response that is not a session") from None

    async def delete_session(self, identifier: str) -> None:
        await self._request_empty("DELETE", self._url("session", self._session_version, identifier),
                                  "Deleting the session", identifier=identifier)

    async def list_sessions(self) -> list[SessionInfo]:
        what = "Listing the pool's sessions"
        url: str | None = self._url("listSessions", self._session_version)
        out: list[SessionInfo] = []
        for _ in range(100):  # pages
            data = await self._request_json("GET", url, what)
            try:
                page, nxt = parse_session_list(data)
            except (ValueError, AttributeError):
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
        except (ValueError, AttributeError):
            raise BadResponseError(f"{what} got a response that is not pool metadata") from None

    async def arm_pool(self) -> dict:
        """The raw ARM resource of the pool (needs ``pool_ref`` and ``arm_auth``)."""
        from .endpoint import get_arm_pool

        if self.pool_ref is None or self.arm_auth is None:
            raise ApiError("The pool's Azure resource is unknown")
        return await get_arm_pool(self._http, self.pool_ref, arm_base=self.arm_base, auth=self.arm_auth,
                                  headers={"User-Agent": USER_AGENT, "Accept": _JSON_CT})

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


def _connect_reason(exc: BaseException) -> str:
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(seen) < 8:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "the host name does not resolve"
    text = " ".join(str(e) for e in seen).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "resolve" in text:
        return "the host name does not resolve"
    if "certificate" in text or "ssl" in text:
        return "TLS/certificate problem"
    return type(exc).__name__
