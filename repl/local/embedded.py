"""Run the local pool inside this process (own thread and event loop) or in the foreground.

``EmbeddedPool(settings).start()`` binds the listening socket in the caller's
thread, so ``endpoint``, ``arm_base`` and ``token`` are known at once, and
serves from a background thread; the heavy imports (starlette, uvicorn, the
server) happen in that thread, so a UI's first paint is not delayed.  A
request sent before the server thread is up waits in the socket's backlog.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import json
import logging
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Coroutine, Sequence
from typing import IO, Any

from repl.local.settings import PoolSettings

# Quiet unless the application configures logging (``serve`` does): embedded in a
# terminal UI, Python's last-resort handler would write warnings onto the screen.
logging.getLogger("repl.local").addHandler(logging.NullHandler())
logging.getLogger("uvicorn").addHandler(logging.NullHandler())  # e.g. "Invalid HTTP request"


LISTEN_BACKLOG = 512


class PoolStartError(RuntimeError):
    """The local pool could not start (address in use, remote host refused, ...)."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmbeddedPool:
    """The local pool served from a background thread of this process."""

    def __init__(
        self,
        settings: PoolSettings | None = None,
        *,
        pool_options: dict[str, Any] | None = None,
        app_options: dict[str, Any] | None = None,
        server_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings or PoolSettings()
        self.pool_options = dict(pool_options or {})
        self.app_options = dict(app_options or {})
        self.server_options = dict(server_options or {})  # server_config(): limits=ConnectionLimits(...)
        self.token: str = self.settings.token or secrets.token_urlsafe(32)
        self.port: int = 0
        self.arm_base: str = ""
        self.endpoint: str = ""
        self.pool: Any = None  # the SessionPool, once the server thread has built it
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._started = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None

    # ---------------------------------------------------------------- public
    def start(self) -> EmbeddedPool:
        """Bind the socket now and start serving in a background thread."""
        if self._thread is not None:
            return self
        s = self.settings
        if not is_loopback(s.host) and not s.allow_remote:
            raise PoolStartError(
                f"Refusing to serve the local pool on non-loopback host {s.host!r}: anyone who "
                "can reach it and learns the token can run code on this machine. Pass "
                "--allow-remote to do it anyway."
            )
        host = "127.0.0.1" if s.host.lower() == "localhost" else s.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only
        # when the protocol says TCP; without it every keep-alive response stalls ~40 ms
        # (Nagle's algorithm against the client's delayed ACK).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, s.port))
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            raise PoolStartError(f"Cannot listen on {host}:{s.port}: {exc.strerror or exc}") from exc
        self._sock = sock
        self.port = sock.getsockname()[1]
        try:
            unspecified = ipaddress.ip_address(host).is_unspecified
        except ValueError:
            unspecified = False
        shown = "127.0.0.1" if unspecified else host
        if ":" in shown:
            shown = f"[{shown}]"
        self.arm_base = f"{s.scheme}://{shown}:{self.port}"
        self.endpoint = self.arm_base + s.endpoint_path
        self._thread = threading.Thread(
            target=self._thread_main, name="acajs-local-pool", daemon=True
        )
        self._thread.start()
        atexit.register(self.stop)
        return self

    def wait_started(self, timeout: float = 30.0) -> None:
        """Block until the server accepts requests (or raise why it could not)."""
        if not self._started.wait(timeout):
            raise PoolStartError(f"the local pool did not start within {timeout:g} s")
        if self._error is not None:
            raise PoolStartError(f"the local pool failed to start: {self._error}") from self._error

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = 30.0) -> Any:
        """Run ``coro`` on the pool's event loop from another thread; its result."""
        self.wait_started()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving, kill every kernel and remove every session directory."""
        atexit.unregister(self.stop)
        thread = self._thread
        if thread is None:
            return
        self._stop_requested = True  # seen by a server thread that is still starting
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:
                pass  # the loop already ended
        thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> EmbeddedPool:
        self.start()
        self.wait_started()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- thread
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported through wait_started()
            self._error = exc
        finally:
            self._started.set()
            self._stopped.set()

    async def _main(self) -> None:
        # The OS sandbox's probe (a sandboxed `true`, then cached) waits on its
        # process while the pool's modules are imported, not after them.
        self._loop = asyncio.get_running_loop()
        probe = self._loop.run_in_executor(None, _probe_sandbox, self.settings)  # (submitted now)
        from repl.local.pool import SessionPool

        self._stop_event = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        pool = SessionPool(self.settings, **self.pool_options)
        await pool.start()  # (its kernel's start waits for the probe's answer, if need be)
        self.pool = pool
        try:
            # The ready kernel is starting (mostly in its own processes): the HTTP
            # server's imports run in a worker thread meanwhile, so this loop keeps
            # driving the kernel's start instead of waiting for them.
            create_app, server_config, uvicorn = await asyncio.to_thread(_server_modules)
            await probe  # (done by now; awaited so that an error in it is not left unseen)
            app = create_app(pool, self.settings, token=self.token, **self.app_options)
            config = server_config(app, self.settings, **self.server_options)
            server = uvicorn.Server(config)
            self._server = server
            assert self._sock is not None, "start() binds the socket before the thread runs"
            serving = asyncio.create_task(server.serve(sockets=[self._sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.001)
            if server.started:
                # asyncio re-listened with uvicorn's small backlog (the accept burst per
                # loop turn, see connections.py); the kernel's queue stays long.
                self._sock.listen(LISTEN_BACKLOG)
            self._started.set()
            stopping = asyncio.create_task(self._stop_event.wait())
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            # Kill the kernels first: executions in flight then end at once (their
            # responses say the state was lost) instead of holding up the shutdown.
            await pool.close()
            if self.settings.one_shot and not serving.done():
                # One command served, its client gone: uvicorn's graceful steps
                # (fixed 0.1 s sleeps) would only delay the exit.
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
            else:
                server.should_exit = True
                await serving
            stopping.cancel()
        finally:
            await pool.close()


def _probe_sandbox(settings: PoolSettings) -> None:
    if settings.sandbox and settings.os_sandbox:
        from repl.local.sandbox import bwrap_status

        bwrap_status()


def _server_modules() -> tuple[Any, Any, Any]:
    """(``create_app``, ``server_config``, the ``uvicorn`` module), imported."""
    import uvicorn

    from repl.local.connections import server_config
    from repl.local.server import create_app

    return create_app, server_config, uvicorn


def serve(
    settings: PoolSettings,
    *,
    out: IO[str] | None = None,
    token_shown: str | None = None,
    notes: Sequence[str] = (),
    curl_options: str = "",
    as_json: bool = False,
) -> int:
    """``acajs-repl serve``: print the endpoint and token, serve until Ctrl-C, clean up.

    ``token_shown``: printed instead of a token the user gave (e.g. ``$ACAJS_SERVE_TOKEN``);
    ``notes``: extra banner lines (TLS); ``curl_options``: for the example curl line;
    ``as_json``: the banner as one JSON object on one line (``serve --json``), and a
    failure to start as one JSON error object; what else is said goes to stderr.
    """
    out = out or sys.stdout
    logging.basicConfig(level=logging.WARNING, format="acajs-repl serve: %(levelname)s %(name)s: %(message)s")
    pool = EmbeddedPool(settings)
    try:
        pool.start()
        pool.wait_started()
    except PoolStartError as exc:
        if as_json:
            error = {"code": "pool_not_started", "message": str(exc)}
            print(json.dumps({"exit_code": 3, "error": error}), file=out, flush=True)
        else:
            print(f"acajs-repl serve: {exc}", file=sys.stderr)
        pool.stop()
        return 1
    # Handlers first: whoever reads the lines below may signal at once.
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread
            pass
    try:
        s = settings
        protection = pool.pool.protection if pool.pool is not None else {"summary": "unknown"}
        if as_json:
            banner = {
                "endpoint": pool.endpoint,
                "token": token_shown or pool.token,
                "arm": f"{pool.arm_base}/subscriptions/00000000-0000-0000-0000-000000000000"
                "/resourceGroups/local/providers/Microsoft.App/sessionPools/local",
                "max_sessions": s.max_sessions, "ready": s.ready, "cooldown": s.cooldown,
                "timeout_cap": s.timeout_cap, "output_cap": s.output_cap,
                "protection": protection.get("summary"), "notes": list(notes),
            }
            print(json.dumps(banner), file=out, flush=True)
        else:
            _print_banner(pool, s, out, token_shown, notes, curl_options, str(protection["summary"]))
        while not stop.is_set() and pool.running:
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping: killing kernels and removing session directories...", file=sys.stderr if as_json else out,
              flush=True)
        pool.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _print_banner(
    pool: EmbeddedPool,
    s: PoolSettings,
    out: IO[str],
    token_shown: str | None,
    notes: Sequence[str],
    curl_options: str,
    protection: str,
) -> None:
    """The human banner of ``serve``: endpoint, token, limits, protection, a curl to try."""
    print(
        "acajs-repl local pool (NodeLTS code interpreter, imitated with local Node.js)\n"
        f"  endpoint: {pool.endpoint}\n"
        f"  token:    {token_shown or pool.token}\n"
        + "".join(f"  {note}\n" for note in notes)
        + f"  ARM:      {pool.arm_base}/subscriptions/00000000-0000-0000-0000-000000000000"
        "/resourceGroups/local/providers/Microsoft.App/sessionPools/local\n"
        f"  max sessions {s.max_sessions}, ready {s.ready}, cooldown {s.cooldown} s, "
        f"timeout cap {s.timeout_cap} s, output cap {s.output_cap} characters\n"
        f"  protection: {protection}\n"
        "Try it:\n"
        f"  AUTH_HEADER=\"Authorization: Bearer {token_shown or pool.token}\"\n"
        f"  curl {curl_options}-H \"$AUTH_HEADER\" -H 'Content-Type: application/json' "
        f"\"{pool.endpoint}/executions?api-version=2025-10-02-preview&identifier=test\" "
        "-d '{\"codeInputType\":\"Inline\",\"executionType\":\"Synchronous\",\"code\":\"6*7\"}'\n"
        "Press Ctrl-C to stop (every session and its files are removed).",
        file=out,
        flush=True,
    )
