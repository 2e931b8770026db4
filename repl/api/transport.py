"""One HTTP request with the client's retry rules, shared by the data plane and ARM.

``send`` returns any response (the caller maps non-2xx answers to errors) and
turns transport failures into :class:`~repl.api.errors.ApiError`\\ s whose
messages name only the host, never a URL's query (it carries the identifier)
nor a header (the token).
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from .auth import AuthProvider
from .errors import ConnectError, RequestTimeout, retry_after_seconds
from .retry import RetryPolicy

_RETRY_STATUSES = (429, 502, 503, 504)
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
               timeout: httpx.Timeout | float | None = None, stream: bool = False) -> httpx.Response:
    """Send with the retry rules: connection errors before the request was sent
    (any method), 429/502/503/504 on GET/DELETE/HEAD (bounded, backoff and
    Retry-After), and one forced token refresh + re-send after a 401."""
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
                method, url, content=content, files=opened, headers=h,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
            try:
                resp = await http.send(request, stream=stream)
            finally:
                if opened is not None and not stream:
                    for part in opened.values():
                        f = part[1] if isinstance(part, tuple) else part
                        close = getattr(f, "close", None)
                        if close:
                            close()
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
        status = resp.status_code
        if status == 401 and not force and token:
            # One forced refresh, one re-send (the service did not run anything).
            force = True
            old_token = token
            last = resp
            if stream:
                await resp.aread()
            continue
        if status in _RETRY_STATUSES:
            ra = retry_after_seconds(resp.headers.get("retry-after"))
            if policy.retry_status(method, status, attempt, ra):
                if stream:
                    await resp.aclose()
                await policy.sleep(policy.backoff(attempt, ra))
                attempt += 1
                continue
        return resp


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
