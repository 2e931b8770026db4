"""The local pool's HTTP face: the dynamic sessions API (both dialects) and ARM.

``create_app(pool, settings)`` returns a Starlette app serving every route of
``shared/API.md`` §2-§5 at the root and, through a ``Mount``, under
``settings.endpoint_path`` (so the endpoint looks like Azure's), plus an
ARM-shaped pool resource at
``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}``.

The parts, one concern each (see docs/architecture.md):

* ``versions``: which route exists in which api-version;
* ``validation``: identifiers, JSON bodies, execution requests, paging;
* ``fileaccess``: symlink-safe paths, listing and deletion of any tree;
* ``multipart``: the streaming upload parser;
* ``handlers_execute``, ``handlers_files``, ``handlers_session``: the routes;
* ``guard``: the outermost middleware (Host, token, request id);
* ``connections``: the HTTP protocol guard below the app (timeouts, connection cap, TLS).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from repl.local.errors import PoolError, internal_error
from repl.local.guard import Guard, Handler
from repl.local.handlers_execute import ExecutionHandlers
from repl.local.handlers_files import FileHandlers
from repl.local.handlers_session import SessionHandlers
from repl.local.multipart import MAX_UPLOAD_BYTES
from repl.local.pool import SessionPool
from repl.local.settings import PoolSettings
from repl.local.validation import IDENTIFIER_CHARS, MAX_BODY_BYTES

__all__ = ["IDENTIFIER_CHARS", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "create_app"]

ARM_POOL_PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/sessionPools/{name}"

log = logging.getLogger(__name__)


def _by_method(handlers: dict[str, Handler]) -> Handler:
    """One endpoint for every method of a path (so a 405 lists them all in ``Allow``)."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return endpoint


def _data_plane(execute: ExecutionHandlers, files: FileHandlers, session: SessionHandlers) -> list[BaseRoute]:
    table: dict[str, dict[str, Handler]] = {
        "/code/execute": {"POST": execute.code_execute},
        "/executions": {"POST": execute.executions_post},
        "/executions/{execution_id}": {"GET": execute.executions_get},
        "/files": {"GET": files.files_list, "POST": files.files_upload},
        "/files/upload": {"POST": files.files_upload_legacy},
        "/files/content/{name:path}": {"GET": files.file_content_legacy},
        "/files/{name}": {"GET": files.file_get, "DELETE": files.file_delete},
        "/files/{name}/content": {"GET": files.file_content},
        "/session": {"GET": session.session_get, "DELETE": session.session_delete},
        "/listSessions": {"GET": session.list_sessions},
        "/metadata": {"GET": session.metadata},
    }
    return [Route(path, _by_method(handlers), methods=list(handlers)) for path, handlers in table.items()]


async def _pool_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PoolError)
    return exc.response()


async def _http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = PoolError(404, "NotFound", "No such route in the dynamic sessions API.")
    elif exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        err = PoolError(
            405, "MethodNotAllowed", f"This route does not take that method; it takes {allow}.",
            headers={"Allow": allow},
        )
    else:
        err = PoolError(exc.status_code, "BadRequest", str(exc.detail), headers=dict(exc.headers or {}))
    return err.response()


async def _client_gone_handler(_request: Request, _exc: Exception) -> Response:
    return Response(status_code=499)  # never delivered: the client closed the connection


async def _internal_error_handler(_request: Request, exc: Exception) -> Response:
    log.error("local pool request failed", exc_info=exc)
    return internal_error(exc).response()


def create_app(
    pool: SessionPool,
    settings: PoolSettings,
    *,
    token: str | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_body_bytes: int = MAX_BODY_BYTES,
    fast_path: bool = True,
) -> Starlette:
    """The local pool's ASGI app.  ``token`` defaults to ``settings.token``.

    ``fast_path``: serve the execute routes straight from the outer middleware,
    without Starlette's router and exception layers (same handlers, same answers).
    """
    token = token or settings.token
    if not token:
        raise ValueError("the local pool needs a token (PoolSettings.token or token=)")
    execute = ExecutionHandlers(pool, settings, max_body_bytes=max_body_bytes)
    files = FileHandlers(pool, settings, max_upload_bytes=max_upload_bytes)
    session = SessionHandlers(pool, settings)
    data_plane = _data_plane(execute, files, session)
    app = Starlette(
        routes=[
            Route(ARM_POOL_PATH, session.arm_pool, methods=["GET"]),
            Mount(settings.endpoint_path, routes=data_plane),
            *data_plane,
        ],
        exception_handlers={
            PoolError: _pool_error_handler,
            HTTPException: _http_error_handler,
            ClientDisconnect: _client_gone_handler,
            Exception: _internal_error_handler,
        },
    )
    fast_routes: dict[tuple[str, str], Handler] = {}
    for prefix in ("", settings.endpoint_path) if fast_path else ():
        fast_routes[("POST", prefix + "/executions")] = execute.executions_post
        fast_routes[("POST", prefix + "/code/execute")] = execute.code_execute
    app.add_middleware(Guard, token=token, settings=settings, fast_routes=fast_routes)
    return app
