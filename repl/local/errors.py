"""Errors of the local pool, in the service's error shape.

Every refusal is ``{"error": {"code", "message", "target", "details", "innererror"}}``
with the code repeated in the ``x-ms-error-code`` header (API.md §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.responses import JSONResponse


class PoolError(Exception):
    """A request the pool refuses; rendered as the service's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """This error as the service renders it: JSON body plus ``x-ms-error-code``."""
        # (imported here: the sessions' model, which raises these errors, starts a
        # one-shot command's kernel before the web framework is loaded)
        from starlette.responses import JSONResponse

        headers = {"x-ms-error-code": self.code, **self.headers}
        return JSONResponse(self.body(), status_code=self.status, headers=headers)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "target": self.target,
                "details": [],
                "innererror": None,
            }
        }


def internal_error(exc: BaseException) -> PoolError:
    return PoolError(500, "InternalServerError", f"The local pool failed on this request: {exc!r}")


def validation_failed(message: str, *, target: str | None = None) -> PoolError:
    return PoolError(400, "SessionRequestValidationFailed", message, target=target)


def not_supported(message: str, *, target: str | None = None) -> PoolError:
    return PoolError(400, "SessionRequestNotSupported", message, target=target)


def session_not_found(identifier: str) -> PoolError:
    return PoolError(
        400,
        "SessionWithIdentifierNotFound",
        f"No session with identifier {identifier!r} exists in this pool "
        "(it was never created, was deleted, or expired after its cooldown period).",
        target="identifier",
    )


class CapacityExceeded(PoolError):
    def __init__(self, max_sessions: int, retry_after: int) -> None:
        super().__init__(
            429,
            "SessionPoolCapacityExceeded",
            f"The pool already has its maximum of {max_sessions} live sessions. "
            f"Retry after {retry_after} s, when the oldest idle session expires, or delete "
            "a session (DELETE /session), or start the pool with a larger --max-sessions.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class KernelUnavailable(PoolError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            503,
            "SessionKernelUnavailable",
            f"The local pool could not start a Node.js kernel for this session: {reason}",
            headers={"Retry-After": "1"},
        )
