"""Route handlers for code execution: ``executions`` (current) and ``code/execute`` (legacy)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from repl.local import validation
from repl.local.errors import PoolError
from repl.local.json_body import json_response
from repl.local.pool import ExecutionRecord, SessionPool
from repl.local.settings import PoolSettings
from repl.local.versions import CURRENT_VERSIONS, LEGACY_VERSIONS, V2024_10, api_version


class ExecutionHandlers:
    def __init__(self, pool: SessionPool, settings: PoolSettings, *, max_body_bytes: int) -> None:
        self.pool = pool
        self.settings = settings
        self.max_body_bytes = max_body_bytes

    async def _request(self, request: Request, *, legacy: bool) -> validation.ExecutionRequest:
        body = await validation.read_json(request, self.max_body_bytes)
        return validation.execution_request(body, legacy=legacy, timeout_cap=self.settings.timeout_cap)

    def _current_body(self, rec: ExecutionRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": rec.id,
            "identifier": rec.identifier,
            "executionType": rec.execution_type,
            "status": rec.status,
        }
        if rec.done.is_set():
            body["result"] = {
                "stdout": rec.stdout,
                "stderr": rec.stderr,
                "executionResult": rec.value,
                "executionTimeInMilliseconds": int(round(rec.duration_ms)),
            }
        return body

    def _operation_location(self, request: Request, execution_id: str, version: str, identifier: str) -> str:
        # From the scope directly: request.url / request.base_url rebuild URL objects.
        # The prefix is the endpoint path when the request came through it (the
        # scope's path is the full path, also under the endpoint's Mount).
        scope = request.scope
        ep = self.settings.endpoint_path
        prefix = ep if scope["path"].startswith(ep + "/") else ""
        host = request.headers.get("host") or "{}:{}".format(*scope["server"])
        base = f"{scope.get('scheme', 'http')}://{host}"
        return (
            f"{base}{prefix}/executions/{quote(execution_id, safe='')}"
            f"?api-version={version}&identifier={quote(identifier, safe='')}"
        )

    async def executions_post(self, request: Request) -> Response:
        version = api_version(request, CURRENT_VERSIONS, "executions")
        identifier = validation.identifier(request)
        execution_id = validation.execution_id_header(request)
        req = await self._request(request, legacy=False)
        asynchronous = req.execution_type == "Asynchronous"
        if asynchronous:  # 202 at once; poll Operation-Location
            rec = self.pool.start_execution(
                identifier, req.code, timeout=req.timeout, output_limit=req.output_limit,
                execution_id=execution_id, execution_type=req.execution_type,
            )
        else:
            rec = await self.pool.execute(
                identifier, req.code, timeout=req.timeout, output_limit=req.output_limit,
                execution_id=execution_id, execution_type=req.execution_type,
            )
        headers = {
            "operation-id": rec.id,
            "Operation-Location": self._operation_location(request, rec.id, version, identifier),
        }
        if asynchronous:
            return json_response(self._current_body(rec), status_code=202, headers=headers)
        if rec.error is not None:
            raise rec.error
        status = 202 if version == V2024_10 else 200
        return json_response(self._current_body(rec), status_code=status, headers=headers)

    async def executions_get(self, request: Request) -> Response:
        api_version(request, CURRENT_VERSIONS, "executions/{id}")
        identifier = validation.identifier(request)
        execution_id = request.path_params["execution_id"]
        rec = self.pool.get_execution(identifier, execution_id)
        if rec is None:
            raise PoolError(
                404,
                "ExecutionNotFound",
                f"No execution {execution_id[:300]!r} is known for session {identifier!r}.",
                target="executionId",
            )
        session = self.pool.get(identifier)
        if session is not None:
            session.touch(self.pool.clock())
        return json_response(self._current_body(rec))

    async def code_execute(self, request: Request) -> Response:
        api_version(request, LEGACY_VERSIONS, "code/execute")
        identifier = validation.identifier(request)
        req = await self._request(request, legacy=True)
        rec = await self.pool.execute(identifier, req.code, timeout=req.timeout, output_limit=req.output_limit)
        if rec.error is not None:
            raise rec.error
        return json_response(
            {
                "$id": "1",
                "properties": {
                    "$id": "2",
                    "status": "Success" if rec.status == "Succeeded" else "Failure",
                    "stdout": rec.stdout,
                    "stderr": rec.stderr,
                    "executionResult": rec.value,
                    "result": rec.value,
                    "executionTimeInMilliseconds": int(round(rec.duration_ms)),
                },
            }
        )
