"""textual-serve's server behind a token, an Origin check and a Host check.

See :mod:`repl.web` for why. :class:`WebServer` is textual-serve's ``Server``
with a guard middleware, its own index page (URLs built from the request, no
third-party font) and its own start-up: the socket is bound first (port 0 picks
a free one) so the URL to print is known before anything is served, and no
access log is written (the first URL carries the token).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

from repl.web import LOOPBACK_HOSTS, is_loopback

TEMPLATES = Path(__file__).parent / "templates"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def app_command(app_args: Sequence[str] = ()) -> str:
    """The shell command textual-serve runs for each browser tab: this Python,
    this package, the REPL's flags (never a secret: they show in ``ps``)."""
    return shlex.join([sys.executable, "-m", "repl.web.app_process", *app_args])


@dataclass(slots=True)
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    token: str | None = None  # None: a random one
    allow_remote: bool = False
    title: str = "acajs-repl"
    app_args: Sequence[str] = ()  # REPL flags for each app process
    app_env: Mapping[str, str] = field(default_factory=dict)  # environment for them (secrets go here)


class WebServer(Server):
    """The REPL served to browsers. ``bind()``, then ``run()`` (or ``await serve_until(stop)``)."""

    def __init__(self, options: WebOptions) -> None:
        if not options.allow_remote and not is_loopback(options.host):
            raise ValueError(f"{options.host} is not a loopback address: pass allow_remote")
        super().__init__(app_command(options.app_args), host=options.host, port=options.port,
                         title=options.title, templates_path=TEMPLATES)
        self.options = options
        self.token = options.token or secrets.token_urlsafe(24)
        self._cookie_value = secrets.token_urlsafe(32)  # what the browser holds; not the token
        self._socket: socket.socket | None = None
        self._ws_tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------- addresses

    def bind(self) -> int:
        """Bind the listening socket now; returns the port (a free one for port 0)."""
        host = self.options.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, self.options.port), family=family)
        self.port = int(self._socket.getsockname()[1])
        return self.port

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: two servers on one host must not share one cookie.
        return f"acajs_web_{self.port}"

    @property
    def url(self) -> str:
        """The URL to open (it carries the token)."""
        host = self.options.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    def _allowed_hosts(self) -> set[str] | None:
        """Host header values accepted (None: any, when bound beyond loopback)."""
        if not is_loopback(self.options.host):
            return None
        names = {self.options.host, *LOOPBACK_HOSTS}
        return {(f"[{n}]" if ":" in n else n) + f":{self.port}" for n in names}

    # ----------------------------------------------------------------- guard

    def _forbidden(self, why: str) -> web.Response:
        return web.Response(status=403, text=f"acajs-repl web: {why}\n",
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = self._allowed_hosts()
        if allowed is not None and request.host.lower() not in allowed:
            return self._forbidden("unexpected Host header (open the URL printed at start)")
        token = request.query.get("token")
        if token is not None:
            if not hmac.compare_digest(token.encode(), self.token.encode()):
                return self._forbidden("wrong token: open the URL that `acajs-repl web` printed")
            query = {k: v for k, v in request.query.items() if k != "token"}
            clean = request.rel_url.with_query(query) if query else request.rel_url.with_query(None)
            redirect = web.HTTPFound(str(clean))
            redirect.set_cookie(self.cookie_name, self._cookie_value, httponly=True, samesite="Strict", path="/")
            redirect.headers["Referrer-Policy"] = "no-referrer"
            redirect.headers["Cache-Control"] = "no-store"
            return redirect
        cookie = request.cookies.get(self.cookie_name, "")
        if not hmac.compare_digest(cookie.encode(), self._cookie_value.encode()):
            return self._forbidden("no access: open the URL that `acajs-repl web` printed (it carries the token)")
        if request.path == "/ws":
            origin = request.headers.get("Origin")
            if origin != f"{request.scheme}://{request.host}":
                return self._forbidden("websocket from another origin refused")
            task = asyncio.current_task()
            if task is not None:
                self._ws_tasks.add(task)
                task.add_done_callback(self._ws_tasks.discard)
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    async def _make_app(self) -> web.Application:
        app: web.Application = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    # ------------------------------------------------------------ the page

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's page, with URLs from the request (so ``localhost`` and
        ``127.0.0.1`` both work) and the ``fontsize`` query parameter."""
        try:
            font_size = max(6, min(72, int(request.query.get("fontsize", "16"))))
        except ValueError:
            font_size = 16
        ws_scheme = "wss" if request.scheme == "https" else "ws"
        context = {
            "font_size": font_size,
            "app_websocket_url": f"{ws_scheme}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
            "ping_url": "",
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def on_startup(self, app: web.Application) -> None:
        """No banner: the caller of :meth:`run` prints the URL (the `ready` callback)."""

    async def on_shutdown(self, app: web.Application) -> None:
        # Each open websocket's handler stops its app process when cancelled.
        for task in list(self._ws_tasks):
            task.cancel()

    # ------------------------------------------------------------- running

    async def serve_until(self, stop: asyncio.Event, ready: Callable[[WebServer], None] | None = None) -> None:
        """Serve until ``stop`` is set; ``ready(self)`` once the socket accepts."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        os.environ.update(self.options.app_env)  # each app process inherits it (textual-serve copies os.environ)
        runner = web.AppRunner(await self._make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.SockSite(runner, self._socket)
            await site.start()
            if ready is not None:
                ready(self)
            await stop.wait()
        finally:
            await runner.cleanup()

    def run(self, ready: Callable[[WebServer], None] | None = None) -> None:
        """Serve in the foreground until SIGINT or SIGTERM."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                    pass
            await self.serve_until(stop, ready)

        asyncio.run(main())

    def serve(self, debug: bool = False) -> None:
        """textual-serve's entry point, as :meth:`run` (with the guard, no access log)."""
        self.debug = debug
        self.run()
