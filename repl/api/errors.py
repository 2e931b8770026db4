"""The client's exception hierarchy.

Every network or service problem surfaces as an :class:`ApiError` subclass whose
``str()`` is one actionable sentence, ending with ``(request id …)`` when the
server sent one. A failed *execution* is not an error (see ``Execution.status``).

Messages never contain tokens, and never contain session identifiers either
(knowing an identifier is access to the session).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from ..terminal_text import plain_text

# Headers that carry a request/correlation id, in order of preference.
REQUEST_ID_HEADERS = (
    "x-ms-request-id",
    "apim-request-id",
    "x-ms-client-request-id",
    "x-request-id",
    "operation-id",
    "x-ms-correlation-request-id",
    "request-id",
)

ROLE_NAME = "Azure ContainerApps Session Executor"
AUDIENCE = "https://dynamicsessions.io"


def request_id_from(headers: Mapping[str, str] | None) -> str | None:
    """The first request id found in ``headers`` (case-insensitive), else None."""
    if not headers:
        return None
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


class ApiError(Exception):
    """Base class: the service could not be reached, or refused or garbled a request."""

    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        service_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.hint = hint if hint is not None else self.default_hint
        self.service_message = service_message

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text.rstrip('.')}: {self.hint}"
        if self.request_id:
            text = f"{text.rstrip('.')} (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"request_id={self.request_id!r}, message={self.message!r})"
        )


class AuthError(ApiError):
    """401: the token was missing, expired, or for the wrong audience."""

    default_hint = (
        f"sign in with `az login` (or pass a fresh --token) and check that the token's "
        f"audience is {AUDIENCE}"
    )


class ForbiddenError(ApiError):
    """403: the caller lacks the Session Executor role on the pool."""

    default_hint = (
        f'the "{ROLE_NAME}" role on this session pool is missing or not yet propagated '
        "(role assignments take a few minutes)"
    )


class NotFoundError(ApiError):
    """404: wrong endpoint, pool, route or api-version."""

    default_hint = (
        "check the endpoint (the pool's poolManagementEndpoint, from "
        "`az containerapp sessionpool show`) and the pool name"
    )


class MissingFileError(NotFoundError):
    """404 for a file or directory the session's /mnt/data does not have (the endpoint is fine)."""

    default_hint = "list the session's files to see what is there"


# 404 error codes/messages that name a missing file rather than a missing route
# (the local pool answers ``FileNotFound``; Azure's codes vary: match the words).
_MISSING_FILE_CODE = re.compile(r"file|directory|blob", re.IGNORECASE)
_MISSING_FILE_TEXT = re.compile(r"/mnt/data|no such file|(file|directory) .*not (be )?found", re.IGNORECASE)


def is_missing_file(code: str | None, message: str | None = None) -> bool:
    """Whether a 404's error code or message says a file or directory is missing."""
    if code and _MISSING_FILE_CODE.search(code):
        return True
    return bool(message and _MISSING_FILE_TEXT.search(message))


class PayloadTooLargeError(ApiError):
    """413: the request (usually an upload) is too large."""

    default_hint = "the service accepts uploads of at most 128 MB"


class CapacityError(ApiError):
    """429 (or an old-style 404 "pool full"): no session available right now."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        if kw.get("hint") is None:
            if retry_after is not None:
                kw["hint"] = f"retry in {retry_after:g} s, or raise the pool's maximum sessions"
            else:
                kw["hint"] = "retry shortly, or raise the pool's maximum sessions"
        super().__init__(message, **kw)


class ServerError(ApiError):
    """5xx from the service or a gateway in front of it."""

    default_hint = "the service had a problem; try again in a moment"


class BadResponseError(ApiError):
    """An HTML, empty or unparseable body where JSON was expected."""

    default_hint = (
        "a proxy or gateway may be in the way; check the endpoint and try again"
    )


class ConnectError(ApiError):
    """Connection refused, DNS failure, or a connection dropped mid-request."""

    default_hint = "check the endpoint URL and your network connection"


class RequestTimeout(ApiError):
    """The HTTP request timed out on the client side."""

    default_hint = "the service did not answer in time; try again, or raise --timeout"


class BadRequestError(ApiError):
    """Any other 4xx; carries the service's error code and message."""


class SessionNotFoundError(BadRequestError):
    """400 ``SessionWithIdentifierNotFound``: no session with that identifier (yet)."""

    default_hint = "the session does not exist (it may have expired after its cooldown)"


# --- reading an answer ------------------------------------------------------

MAX_JSON_DEPTH = 128  # far deeper than any answer of the API; deeper is garbage or an attack


def loads(content: bytes | str) -> Any:
    """JSON from a server, or ``ValueError`` (never ``RecursionError``): malformed,
    not UTF-8, or nested deeper than ``MAX_JSON_DEPTH``."""
    try:
        data = json.loads(content)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("the answer is not UTF-8") from None
    if _brackets(content) > MAX_JSON_DEPTH and _deeper_than(data, MAX_JSON_DEPTH):
        raise ValueError("the JSON is nested too deeply")
    return data


def _brackets(content: bytes | str) -> int:
    """An upper bound of the nesting depth: each container opens with a bracket (those
    inside strings are counted too, which only raises the bound). Most answers have
    fewer than MAX_JSON_DEPTH, and skip the walk of ``_deeper_than``."""
    if isinstance(content, str):
        return content.count("{") + content.count("[")
    return content.count(b"{") + content.count(b"[")


_CONTAINERS = (dict, list)  # all json.loads makes: exactly these types, never subclasses


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether ``data`` (from ``json.loads``) nests more than ``limit`` levels.

    Level by level, with one flat loop per level: a listing of 1,000 files is
    two levels of containers and 7,000 scalars, checked in ~0.2 ms."""
    level = [data] if data.__class__ in _CONTAINERS else []
    for _ in range(limit):
        if not level:
            return False
        below: list[Any] = []
        add = below.append
        for node in level:
            for child in node.values() if node.__class__ is dict else node:
                if child.__class__ in _CONTAINERS:
                    add(child)
        level = below
    return bool(level)


# --- mapping a response to an error ---------------------------------------


def _parse_error_body(content: bytes, content_type: str) -> tuple[str | None, str | None, str]:
    """(code, message, kind) where kind is "json", "html", "empty" or "text"."""
    stripped = content.strip()
    if not stripped:
        return None, None, "empty"
    head = stripped[:200].lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<")):
        return None, None, "html"
    try:
        data = loads(stripped)
    except ValueError:
        text = stripped[:200].decode("utf-8", "replace")
        return None, text, "text"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            code = err.get("code") or err.get("Code")
            msg = err.get("message") or err.get("Message") or data.get("message")
            return (str(code) if code else None), (str(msg) if msg else None), "json"
        if isinstance(err, str):
            return None, err, "json"
    return None, None, "json"


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _scrub(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """Server text made fit to quote: no token or identifier in it, and no control
    sequence (it ends up on a terminal): see :mod:`repl.terminal_text`."""
    if text is None:
        return None
    text = plain_text(text)
    for s in secrets:
        if s and len(s) >= 6 and s in text:
            text = text.replace(s, "***")
    return text


def error_from_response(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    what: str = "The request",
    secrets: tuple[str, ...] = (),
) -> ApiError:
    """Build the right :class:`ApiError` for a non-2xx response.

    ``what`` names the operation ("Executing code", "Uploading data.csv") and is
    the start of the message; ``secrets`` (the token, the identifier) are
    removed from any text quoted from the server.
    """
    rid = request_id_from(headers)
    code, msg, kind = _parse_error_body(content, headers.get("content-type", ""))
    code = _scrub(code or headers.get("x-ms-error-code"), secrets)
    rid = _scrub(rid, secrets)
    msg = _scrub(msg, secrets)
    if msg and len(msg) > 300:
        msg = msg[:297] + "..."
    said = f" ({code}: {msg})" if code and msg else (f" ({code})" if code else (f" ({msg})" if msg else ""))
    kw: dict[str, Any] = dict(status_code=status_code, code=code, request_id=rid, service_message=msg)
    s = status_code
    if s == 401:
        return AuthError(f"{what} was refused because the token was rejected (HTTP 401){said}", **kw)
    if s == 403:
        return ForbiddenError(f"{what} was forbidden (HTTP 403){said}", **kw)
    if s == 429 or (code and "capacity" in code.lower()):
        ra = retry_after_seconds(headers.get("retry-after"))
        return CapacityError(f"{what} failed because the session pool is at capacity (HTTP {s}){said}",
                             retry_after=ra, **kw)
    if s == 404:
        return NotFoundError(f"{what} failed: the endpoint answered 404 Not Found{said}", **kw)
    if s == 413:
        return PayloadTooLargeError(f"{what} failed: the payload is too large (HTTP 413){said}", **kw)
    if s >= 500:
        if kind in ("html", "empty"):
            body = "an HTML page" if kind == "html" else "an empty body"
            return ServerError(f"{what} failed with HTTP {s} and {body} from a gateway", **kw)
        return ServerError(f"{what} failed with a server error (HTTP {s}){said}", **kw)
    if 400 <= s < 500:
        if code == "SessionWithIdentifierNotFound":
            return SessionNotFoundError(f"{what} failed: no such session (HTTP {s})", **kw)
        if kind in ("html", "empty") and not code:
            body = "an HTML page" if kind == "html" else "an empty body"
            return BadRequestError(
                f"{what} was rejected with HTTP {s} and {body}",
                hint="check the endpoint and the api-version", **kw)
        return BadRequestError(f"{what} was rejected (HTTP {s}){said}",
                               hint=None if msg else "check the request and the api-version", **kw)
    return BadResponseError(f"{what} got an unexpected HTTP {s}{said}", **kw)


def bad_body(what: str, status_code: int, headers: Mapping[str, str], content: bytes) -> BadResponseError:
    """A 2xx whose body is not the JSON expected (HTML, empty, garbled)."""
    rid = _scrub(request_id_from(headers), ())
    _, _, kind = _parse_error_body(content, headers.get("content-type", ""))
    body = {"html": "an HTML page", "empty": "an empty body"}.get(
        kind, "a body that is not valid JSON (or is nested too deeply)")
    if kind == "json":
        body = "JSON that is not the expected answer (or is nested too deeply)"
    return BadResponseError(
        f"{what} got {body} (HTTP {status_code}) instead of the service's JSON",
        status_code=status_code, request_id=rid)
