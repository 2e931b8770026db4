"""One HTTP request with the client's retry rules, shared by the data plane and ARM.

``send`` returns any response (the caller maps non-2xx answers to errors) and
turns transport failures into :class:`~repl.api.errors.ApiError`\\ s whose
messages name only the host, never a URL's query (it carries the identifier)
nor a header (the token).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import socket
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from .auth import AuthProvider
from .errors import BadResponseError, ConnectError, RequestTimeout, retry_after_seconds
from .retry import RetryPolicy

_RETRY_STATUSES = (429, 502, 503, 504)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # any JSON answer but an execution's
MAX_ERROR_BYTES = 64 * 1024  # what is kept of an error answer (its message is all we need)
DEFAULT_DEADLINE = 30.0  # seconds for a whole request (retries and body included) unless told
_IDENTIFIER_RE = re.compile(r"(identifier=)[^&#\s\"']+")


class _RedactIdentifiers(logging.Filter):
    """httpx logs each request's URL at INFO; the ``identifier`` in its query is
    access to the session, so it is replaced by ``***`` in those records. (Tokens
    travel only in the Authorization header, which httpx never logs.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_IDENTIFIER_RE.sub(r"\1***", str(a)) if isinstance(a, (str, httpx.URL)) else a
                                for a in record.args)
        if isinstance(record.msg, str) and "identifier=" in record.msg:
            record.msg = _IDENTIFIER_RE.sub(r"\1***", record.msg)
        return True


def _install_log_filter() -> None:
    log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactIdentifiers) for f in log.filters):
        log.addFilter(_RedactIdentifiers())


_install_log_filter()


async def send(http: httpx.AsyncClient, policy: RetryPolicy, method: str, url: str, *, what: str,
               auth: AuthProvider, headers: Mapping[str, str], content: bytes | None = None,
               content_type: str | None = None, files: Callable[[], Any] | None = None,
               timeout: httpx.Timeout | float | None = None, stream: bool = False,
               deadline: float | None = DEFAULT_DEADLINE,
               max_bytes: int = MAX_RESPONSE_BYTES) -> httpx.Response:
    """Send with the retry rules: connection errors before the request was sent
    (any method), 429/502/503/504 on GET/DELETE/HEAD (bounded, backoff and
    Retry-After), and one forced token refresh + re-send after a 401.

    Whatever the server does, the whole exchange (retries, and unless
    ``stream`` the body) ends within ``deadline`` seconds (httpx's timeouts are
    per read: a server that drips a byte at a time never trips them), and a
    body is read up to ``max_bytes`` (a 2xx answer over it is a
    :class:`BadResponseError`; an error answer is cut to its first
    ``MAX_ERROR_BYTES``). With ``stream`` the caller reads the body.
    """
    if deadline is None:
        return await _send(http, policy, method, url, what=what, auth=auth, headers=headers, content=content,
                           content_type=content_type, files=files, timeout=timeout, stream=stream,
                           max_bytes=max_bytes)
    try:
        async with asyncio.timeout(deadline):
            return await _send(http, policy, method, url, what=what, auth=auth, headers=headers,
                               content=content, content_type=content_type, files=files, timeout=timeout,
                               stream=stream, max_bytes=max_bytes)
    except TimeoutError:
        raise RequestTimeout(f"{what} got no complete answer from {host_of(url)} within {deadline:g} s") from None


async def read_capped(resp: httpx.Response, max_bytes: int, *, what: str) -> bytes:
    """Read the body of a streamed response, at most ``max_bytes`` of it (decoded).

    A 2xx answer over the cap raises :class:`BadResponseError`; an error answer
    keeps its first ``MAX_ERROR_BYTES``. Either way ``resp.content`` is then set.
    """
    if resp.is_stream_consumed:
        return resp.content
    limit = max_bytes if resp.is_success else min(max_bytes, MAX_ERROR_BYTES)
    declared = resp.headers.get("content-length", "")
    if resp.is_success and declared.isdigit() and int(declared) > limit \
            and "content-encoding" not in resp.headers:
        await resp.aclose()
        raise _too_large(what, resp, limit)
    # One growing buffer, not a list of pieces joined at the end: a large
    # answer (a raised output cap) is held once while it arrives.
    buf = bytearray()
    try:
        async for chunk in resp.aiter_bytes():
            if len(buf) + len(chunk) > limit:
                if resp.is_success:
                    raise _too_large(what, resp, limit)
                buf += chunk[:limit - len(buf)]
                break
            buf += chunk
    finally:
        await resp.aclose()
    body = bytes(buf)
    del buf
    resp._content = body  # what httpx's own read() sets: resp.content works as usual
    return body


def _too_large(what: str, resp: httpx.Response, limit: int) -> BadResponseError:
    from .errors import request_id_from

    return BadResponseError(
        f"{what} got an answer larger than {limit // (1024 * 1024)} MB (HTTP {resp.status_code}); "
        "it was not read", status_code=resp.status_code, request_id=request_id_from(resp.headers),
        hint="the server or a proxy in front of it is misbehaving, or the output is too large")


async def _send(http: httpx.AsyncClient, policy: RetryPolicy, method: str, url: str, *, what: str,
                auth: AuthProvider, headers: Mapping[str, str], content: bytes | None,
                content_type: str | None, files: Callable[[], Any] | None,
                timeout: httpx.Timeout | float | None, stream: bool, max_bytes: int) -> httpx.Response:
    attempt = 0
    force = False
    old_token: str | None = None
    last: httpx.Response | None = None
    while True:
        token = await auth.token(force_refresh=force)
        if force and token == old_token and last is not None:
            return last  # the refresh gave the same token: nothing new to retry with
        h = dict(headers)
        if token:
            h["Authorization"] = f"Bearer {token}"
        if content_type:
            h["Content-Type"] = content_type
        opened = files() if files is not None else None
        try:
            request = http.build_request(
                method, parsed_url(url), content=content, files=opened, headers=h,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
            try:
                resp = await http.send(request, stream=True)
            finally:
                if opened is not None:  # the request body has been sent (or failed)
                    for part in opened.values():
                        f = part[1] if isinstance(part, tuple) else part
                        close = getattr(f, "close", None)
                        if close:
                            close()
            status = resp.status_code
            if status == 401 and not force and token:
                # One forced refresh, one re-send (the service did not run anything).
                force = True
                old_token = token
                last = resp
                await read_capped(resp, max_bytes, what=what)
                continue
            if status in _RETRY_STATUSES:
                ra = retry_after_seconds(resp.headers.get("retry-after"))
                if policy.retry_status(method, status, attempt, ra):
                    await resp.aclose()
                    await policy.sleep(policy.backoff(attempt, ra))
                    attempt += 1
                    continue
            if not stream or not resp.is_success:  # an error answer is read (capped) even when streaming
                await read_capped(resp, max_bytes, what=what)
            return resp
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Never sent: safe to retry for any method, the execute included.
            if policy.retry_connect(attempt):
                await policy.sleep(policy.backoff(attempt))
                attempt += 1
                continue
            kind = "timed out" if isinstance(exc, httpx.ConnectTimeout) else connect_reason(exc)
            raise ConnectError(f"{what} failed: could not connect to {host_of(url)} ({kind})") from None
        except httpx.TimeoutException as exc:
            phase = {httpx.ReadTimeout: "waiting for the answer", httpx.WriteTimeout: "sending the request",
                     httpx.PoolTimeout: "waiting for a free connection"}.get(type(exc), "")
            raise RequestTimeout(f"{what} timed out{' ' + phase if phase else ''} ({host_of(url)})") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
            extra = "; the code may or may not have run" if method == "POST" and "execut" in what.lower() else ""
            raise ConnectError(
                f"{what} failed: the connection to {host_of(url)} was dropped before the answer "
                f"arrived ({type(exc).__name__}){extra}",
                hint="try again; if it keeps happening, a proxy may be cutting the connection") from None
        except httpx.HTTPError as exc:
            raise ConnectError(f"{what} failed: {type(exc).__name__} talking to {host_of(url)}") from None


@functools.lru_cache(maxsize=64)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, kept for the next request to the same URL: httpx parses a
    string URL character by character (~17 µs for an execute URL), and a session's
    requests repeat a few URLs. ``httpx.URL`` is immutable, so sharing one is safe."""
    return httpx.URL(url)


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def connect_reason(exc: BaseException) -> str:
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
