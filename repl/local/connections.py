"""The HTTP connections of the local pool: timeouts, a connection cap, head size, TLS.

uvicorn times out only idle keep-alive connections *after* a response; a client
that opens a connection and sends half a request head (slowloris) or half a
body would hold its socket forever, and enough of them exhaust the file
descriptors so that no request is served any more.  ``guarded_protocol``
subclasses uvicorn's httptools protocol with, per connection:

* **header timeout**: a request head must be complete within
  ``header_timeout`` of the connection opening, or of its first byte after a
  kept-alive pause, however slowly its bytes trickle in; otherwise 408 and
  close. Between requests a connection is kept ``keep_alive_timeout`` (long:
  a REPL at a person's pace reuses its connection);
* **body timeout**: while a request body is incomplete, at most
  ``body_timeout`` seconds between two pieces of it; otherwise closed;
* **head size**: a request line plus headers over ``max_head_bytes`` is 431
  (llhttp itself has no limit, uvicorn keeps every header);
* **connection cap**: at ``max_connections`` open connections (by default half
  the file-descriptor limit, at most 1,000), a new connection closes the
  connection that has been *waiting for a request* the longest (idle, or a head
  or body still arriving), never one whose request is being answered; only when
  every connection is busy is the new one refused with 503.  So a flood of
  half-open requests costs each other and never the clients that complete
  their requests.

Executions can run for minutes: a connection whose request is complete is never
timed out.  Malformed HTTP gets the service's JSON error shape, not uvicorn's
plain text.  ``server_config`` assembles uvicorn's ``Config`` (and TLS, when the
settings name a certificate).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from repl.local.settings import PoolSettings

log = logging.getLogger(__name__)

Phase = Literal["idle", "head", "body", "busy"]


def default_max_connections() -> int:
    """Half the soft file-descriptor limit (kernels and files need the rest), 16-1,000."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 1000
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft // 2))


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float = 10.0  # seconds to send a complete request head
    body_timeout: float = 30.0  # seconds of silence allowed inside a request body
    # Idle seconds a connection is kept after a response (uvicorn's
    # timeout_keep_alive). Long: at a person's pace every run would otherwise
    # reconnect; idle connections cost a descriptor each and are the first
    # evicted at the connection cap.
    keep_alive_timeout: int = 300
    max_connections: int | None = None  # None: default_max_connections()
    max_head_bytes: int = 64 * 1024  # request line + headers

    def connection_cap(self) -> int:
        return self.max_connections if self.max_connections is not None else default_max_connections()

    def accept_backlog(self) -> int:
        """Connections accepted per event-loop turn (asyncio's ``backlog``): small, so
        evictions run before the next burst.  asyncio accepts up to this many at once
        before any ``connection_made``, and on EMFILE it logs one error per remaining
        try and reschedules itself each time, which starves the loop: the cap must
        be reached well before the descriptors run out."""
        return max(8, min(128, self.connection_cap() // 4))


class HeadTooLarge(Exception):
    pass


def _error_bytes(status: int, reason: str, code: str, message: str, extra: dict[str, str] | None = None) -> bytes:
    body = json.dumps(
        {"error": {"code": code, "message": message, "target": None, "details": [], "innererror": None}}
    ).encode()
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-ms-error-code": code,
        "connection": "close",
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """A protocol class for one server: its connections share one registry."""
    cap = limits.connection_cap()
    # Insertion-ordered set of the server's open connections.
    registry: dict[GuardedProtocol, None] = {}

    class GuardedProtocol(HttpToolsProtocol):
        connections_cap = cap

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._phase: Phase = "idle"
            self._since = 0.0  # loop time the phase began
            self._last_data = 0.0
            # One timer per connection, moved only when a deadline comes earlier: a
            # request passes four phases, and a timer made and cancelled per phase
            # cost more than the rest of the guard. A timer that fires before the
            # current deadline (set later meanwhile) re-arms for it.
            self._timer: asyncio.TimerHandle | None = None
            self._timer_at = 0.0  # loop time the timer fires
            self._deadline: float | None = None  # None: no timeout in this phase (busy)
            self._head_bytes = 0
            self._head_too_large = False
            self._answered = False  # a response was sent: idleness is keep-alive

        # ------------------------------------------------------------ lifecycle
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(registry) >= cap:
                victim = self._longest_waiting()
                if victim is None:
                    transport.write(
                        _error_bytes(
                            503, "Service Unavailable", "TooManyConnections",
                            f"The local pool has {cap} connections open, all with a request in progress; "
                            "retry shortly.",
                            {"retry-after": "1"},
                        )
                    )
                    transport.close()
                    return
                victim._close("evicted: the connection cap was reached")
            registry[self] = None
            self._enter("idle")

        def connection_lost(self, exc: Exception | None) -> None:
            registry.pop(self, None)
            self._cancel_timer()
            super().connection_lost(exc)

        def _longest_waiting(self) -> GuardedProtocol | None:
            best: GuardedProtocol | None = None
            for conn in registry:
                if conn._phase == "busy" or conn.transport.is_closing():
                    continue
                rank = (conn._phase == "body", conn._since)
                if best is None or rank < (best._phase == "body", best._since):
                    best = conn
            return best

        def _close(self, why: str) -> None:
            log.debug("closing a connection: %s", why)
            registry.pop(self, None)
            self._cancel_timer()
            if not self.transport.is_closing():
                self.transport.close()

        # --------------------------------------------------------------- phases
        def _enter(self, phase: Phase) -> None:
            self._phase = phase
            self._since = self._last_data = now = self.loop.time()
            if phase in ("idle", "head"):
                self._head_bytes = 0
                keep_alive = phase == "idle" and self._answered
                wait = max(limits.header_timeout, limits.keep_alive_timeout) if keep_alive else limits.header_timeout
                self._arm(now + wait)
            elif phase == "body":
                self._arm(now + limits.body_timeout)
            else:
                self._deadline = None  # busy: a pending timer finds nothing to do

        def _arm(self, deadline: float) -> None:
            self._deadline = deadline
            if self._timer is not None:
                if self._timer_at <= deadline:
                    return  # it fires first and re-arms for this deadline
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self.loop.call_at(deadline, self._timer_fired)

        def _cancel_timer(self) -> None:
            self._deadline = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _timer_fired(self) -> None:
            self._timer = None
            deadline = self._deadline
            if deadline is None:
                return
            if deadline > self._timer_at:  # the deadline moved later after the timer was set
                self._arm(deadline)
            elif self._phase in ("idle", "head"):
                self._head_timed_out()
            elif self._phase == "body":
                self._body_timed_out()

        def _head_timed_out(self) -> None:
            if self._phase == "head" and not self.transport.is_closing():
                self.transport.write(
                    _error_bytes(
                        408, "Request Timeout", "RequestTimeout",
                        f"The request head was not complete within {limits.header_timeout:g} s.",
                    )
                )
            if self._phase in ("idle", "head"):
                self._close("request head timeout")

        def _body_timed_out(self) -> None:
            quiet = self.loop.time() - self._last_data
            if quiet < limits.body_timeout:
                self._arm(self._last_data + limits.body_timeout)  # data came meanwhile: the rest of the wait
                return
            self._close("request body timeout")

        # ----------------------------------------------------------- transport
        def data_received(self, data: bytes) -> None:
            if self._phase == "idle":
                if self._answered:
                    self._enter("head")  # a kept-alive connection: the head deadline starts now
                else:
                    self._phase = "head"  # a new connection: the deadline keeps counting from its opening
            elif self._phase == "body":
                self._last_data = self.loop.time()
            super().data_received(data)

        def send_400_response(self, msg: str) -> None:
            if self._head_too_large:
                data = _error_bytes(
                    431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge",
                    f"The request line and headers are larger than {limits.max_head_bytes} bytes.",
                )
            else:
                data = _error_bytes(400, "Bad Request", "BadRequest", "The request is not valid HTTP/1.1.")
            self.transport.write(data)
            self._close("malformed request")

        # -------------------------------------------------- parser callbacks
        def _count(self, n: int) -> None:
            self._head_bytes += n
            if self._head_bytes > limits.max_head_bytes:
                self._head_too_large = True
                raise HeadTooLarge()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if not self.transport.is_closing():
                self._enter("body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            if self.cycle is not None and self.cycle.response_complete:
                self._answered = True
                self._enter("idle")  # answered before its body was read (413): the rest was discarded
            elif self._phase in ("head", "body"):
                self._enter("busy")

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                # Kept alive only after a whole request was answered; answered
                # early (401, 413) with its body still due, the head timeout rules.
                self._answered = self._phase == "busy"
                if self._phase != "head":
                    self._enter("idle")
            elif self._phase == "idle":
                self._enter("busy")

    return GuardedProtocol


def server_config(app: Any, settings: PoolSettings, *, limits: ConnectionLimits | None = None) -> uvicorn.Config:
    """uvicorn's configuration for the local pool's app (guarded protocol, TLS)."""
    limits = limits or ConnectionLimits()
    tls: dict[str, Any] = {}
    if settings.tls_cert is not None:
        tls = {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key or settings.tls_cert)}
    return uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        http=guarded_protocol(limits),
        ws="none",
        timeout_keep_alive=limits.keep_alive_timeout,
        backlog=limits.accept_backlog(),
        timeout_graceful_shutdown=3,
        # No handlers of uvicorn's own: embedded in a terminal UI, a stray
        # line on stderr would garble the screen. `serve` logs to stderr
        # through the root logger instead.
        log_config=None,
        server_header=False,
        date_header=False,
        # Nothing stands in front of the pool: X-Forwarded-* from a local client
        # (uvicorn trusts 127.0.0.1's by default) must not change its URLs.
        proxy_headers=False,
        **tls,
    )
