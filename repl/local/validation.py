"""Validation of request input: identifiers, JSON bodies, execution requests, paging.

Every malformed input becomes a ``PoolError`` (400 ``SessionRequestValidationFailed``
or 413), never an exception that would reach the client as a 500: JSON that is
nested too deep for the parser, integers longer than Python converts (4,300
digits), numbers too large for a float, base64 with non-ASCII characters and
wrong types are all refused here with a sentence that says what was expected.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from repl.local.errors import PoolError, validation_failed

MAX_BODY_BYTES = 8 * 1024 * 1024  # JSON request bodies (code is text; 8 MiB is plenty)
INT32_MAX = 2**31 - 1
# outputStreamsMaxLength above int32 is served as int32 (the swagger's type); the
# kernel then clamps it to the pool's --output-cap, so a larger answer is never built.
OUTPUT_STREAMS_MAX_LENGTH_CAP = INT32_MAX

IDENTIFIER_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`"
)
EXECUTION_ID_RE = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=-]{1,256}$")
_SKIP_RE = re.compile(r"^[0-9]{1,10}$")  # ASCII digits only: "²".isdigit() is True

# codeInputType values of the three swaggers; InlineText is plain text like Inline.
CODE_INPUT_TYPES = ("Inline", "InlineBase64", "InlineText")
EXECUTION_TYPES = ("Synchronous", "Asynchronous")


def identifier(request: Request) -> str:
    value = request.query_params.get("identifier")
    if value is None or value == "":
        raise validation_failed(
            "The identifier query parameter is required (1-256 characters).", target="identifier"
        )
    if len(value) > 256 or not IDENTIFIER_CHARS.issuperset(value):
        raise validation_failed(
            "The identifier must be 1-256 characters of letters, digits and "
            "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~` .",
            target="identifier",
        )
    return value


def execution_id_header(request: Request) -> str | None:
    value = request.headers.get("operation-id") or None
    if value is not None and not EXECUTION_ID_RE.match(value):
        raise validation_failed(
            "The operation-id header must be 1-256 URL-safe characters.", target="operation-id"
        )
    return value


def skip(request: Request) -> int:
    text = request.query_params.get("skip", "0")
    if not _SKIP_RE.match(text) or int(text) > INT32_MAX:
        raise validation_failed(
            f"skip must be a non-negative integer of at most {INT32_MAX}; got {text[:32]!r}.",
            target="skip",
        )
    return int(text)


def enum(value: Any, allowed: tuple[str, ...], field: str, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        for option in allowed:
            if value.lower() == option.lower():
                return option
    shown = repr(value) if isinstance(value, str | bool | int | float) else type(value).__name__
    raise validation_failed(
        f"{field} must be one of {', '.join(allowed)} (any letter case); got {shown[:80]}.",
        target=field,
    )


def too_large(limit: int, what: str) -> PoolError:
    mib = limit / (1024 * 1024)
    size = f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"
    return PoolError(413, "RequestEntityTooLarge", f"The {what} is larger than the limit of {size}.")


def declared_length(request: Request) -> int | None:
    """The Content-Length header as a number (the HTTP parser already refused a bad one)."""
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and len(length) < 20:
        return int(length)
    return None


async def read_json(request: Request, limit: int) -> Any:
    length = declared_length(request)
    if length is not None and length > limit:
        raise too_large(limit, "request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit, "request body")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise validation_failed("The request body is empty; a JSON object was expected.")
    try:
        return json.loads(raw)
    except RecursionError:
        raise validation_failed("The request body is not valid JSON: it is nested too deep.") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints over 4,300 digits
        raise validation_failed(f"The request body is not valid JSON: {str(exc)[:200]}.") from None


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    code: str
    timeout: float  # seconds, already capped
    output_limit: int | None  # characters per stream, already capped
    execution_type: str  # "Synchronous" | "Asynchronous"


def _timeout(value: Any, cap: int) -> float:
    if value is None:
        return float(cap)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return float(min(value, cap))  # compared as ints: 10**400 never becomes a float
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return min(value, float(cap))
    shown = repr(value) if isinstance(value, int | float | str) else type(value).__name__
    if isinstance(value, int) and not isinstance(value, bool):
        shown = str(value) if abs(value) < 10**20 else "a very large negative number"
    raise validation_failed(
        f"timeoutInSeconds must be a positive number; got {shown[:80]}.", target="timeoutInSeconds"
    )


def _output_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return min(value, OUTPUT_STREAMS_MAX_LENGTH_CAP)
    shown = repr(value) if isinstance(value, float | str | bool) else type(value).__name__
    if isinstance(value, int) and not isinstance(value, bool):
        shown = str(value) if abs(value) < 10**20 else "a very large negative number"
    raise validation_failed(
        f"outputStreamsMaxLength must be a positive integer; got {shown[:80]}.",
        target="outputStreamsMaxLength",
    )


def execution_request(body: Any, *, legacy: bool, timeout_cap: int) -> ExecutionRequest:
    """The fields of an execution body (flat, or wrapped in ``properties`` when ``legacy``)."""
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
    input_type = enum(body.get("codeInputType"), CODE_INPUT_TYPES, "codeInputType", "Inline")
    execution_type = enum(body.get("executionType"), EXECUTION_TYPES, "executionType", "Synchronous")
    code = body.get("code")
    if not isinstance(code, str):
        raise validation_failed("code is required and must be a string.", target="code")
    if input_type == "InlineBase64":
        try:
            code = base64.b64decode(code.encode("ascii"), validate=True).decode("utf-8")
        except (UnicodeEncodeError, binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise validation_failed(
                f"codeInputType is InlineBase64 but code is not base64 of UTF-8 text: {str(exc)[:120]}.",
                target="code",
            ) from None
    return ExecutionRequest(
        code=code,
        timeout=_timeout(body.get("timeoutInSeconds"), timeout_cap),
        output_limit=_output_limit(body.get("outputStreamsMaxLength")),
        execution_type=execution_type,
    )
