"""The guard in front of every route: Host header, bearer token, request id; no CORS.

ASGI middleware, outermost in the app.  It also serves the execute routes, which
carry nearly all the traffic, straight from here (``fast_routes``), without
Starlette's router and exception layers: same handlers, same answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repl.local.errors import PoolError, internal_error
from repl.local.settings import PoolSettings

Handler = Callable[[Request], Awaitable[Response]]

log = logging.getLogger(__name__)


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
        app: ASGIApp,
        token: str,
        settings: PoolSettings,
        fast_routes: dict[tuple[str, str], Handler] | None = None,
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.settings = settings
        # (method, path) -> handler served without Starlette's router and middleware
        # layers: the execute routes, which carry nearly all the traffic.
        self.fast_routes = fast_routes or {}
        self._hosts: dict[tuple[str, int], set[str] | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        rid_header = (b"x-ms-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        headers = dict(scope["headers"])
        error = self._check(scope, headers)
        if error is not None:
            await error.response()(scope, receive, send_with_id)
            return
        path = scope["path"]
        if "//" in path:
            scope = dict(scope, path=re.sub("/{2,}", "/", path))
        handler = self.fast_routes.get((scope["method"], scope["path"]))
        if handler is None:
            await self.app(scope, receive, send_with_id)
            return
        response: Response
        try:
            response = await handler(Request(scope, receive))
        except PoolError as exc:
            response = exc.response()
        except ClientDisconnect:
            return  # nobody to answer
        except Exception as exc:
            log.error("local pool request failed", exc_info=exc)
            response = internal_error(exc).response()
        await response(scope, receive, send_with_id)

    def _check(self, scope: Scope, headers: dict[bytes, bytes]) -> PoolError | None:
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
