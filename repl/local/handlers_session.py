"""Route handlers for sessions and the pool: ``session``, ``listSessions``,
``metadata`` and the ARM-shaped pool resource."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from repl import __version__
from repl.local import validation
from repl.local.errors import PoolError, session_not_found
from repl.local.listing import iso
from repl.local.pool import Session, SessionPool
from repl.local.settings import (
    LOCAL_POOL_NAME,
    LOCAL_RESOURCE_GROUP,
    LOCAL_SUBSCRIPTION,
    PoolSettings,
)
from repl.local.versions import SESSION_VERSIONS, api_version


def session_body(s: Session) -> dict[str, Any]:
    return {
        "identifier": s.identifier,
        "createdAt": iso(s.created_at),
        "lastAccessedAt": iso(s.last_accessed_at),
        "expireAt": iso(s.expire_at),
        "etag": s.etag,
    }


class SessionHandlers:
    def __init__(self, pool: SessionPool, settings: PoolSettings) -> None:
        self.pool = pool
        self.settings = settings
        self._node_version: str | None = None

    async def session_get(self, request: Request) -> Response:
        api_version(request, SESSION_VERSIONS, "session")
        identifier = validation.identifier(request)
        session = self.pool.get(identifier)
        if session is None:
            raise session_not_found(identifier)
        return JSONResponse(session_body(session))

    async def session_delete(self, request: Request) -> Response:
        api_version(request, SESSION_VERSIONS, "session")
        identifier = validation.identifier(request)
        if not await self.pool.delete(identifier):
            raise session_not_found(identifier)
        return Response(status_code=204)

    async def list_sessions(self, request: Request) -> Response:
        api_version(request, SESSION_VERSIONS, "listSessions")
        sessions = self.pool.sessions()[validation.skip(request) :]
        return JSONResponse({"sessions": [session_body(s) for s in sessions], "nextLink": None})

    def node_version(self) -> str:
        if self._node_version is None:
            version = ""
            try:
                from repl.local.node import find_node

                v: object = find_node().version
                version = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
            except Exception:
                try:
                    out = subprocess.run(
                        [os.environ.get("ACAJS_NODE") or "node", "--version"],
                        capture_output=True, text=True, timeout=10, check=False,
                    )
                    version = out.stdout.strip()
                except (OSError, subprocess.SubprocessError):
                    version = "unknown"
            self._node_version = version.lstrip("v") or "unknown"
        return self._node_version

    async def metadata(self, request: Request) -> Response:
        api_version(request, SESSION_VERSIONS, "metadata")
        started = iso(self.pool.started_at)
        return JSONResponse(
            {
                "runtimes": [{"name": "node", "version": self.node_version()}],
                "preInstalledPackages": [],
                "createdAt": started,
                "lastUpdatedAt": started,
                "jupyterKernel": {
                    "name": "IJavascript",
                    "version": "5.2.1",
                    "projectUrl": "https://github.com/n-riesco/ijavascript",
                    "description": (
                        f"acajs-repl {__version__} local pool: a Node.js harness that "
                        "reproduces iJavaScript 5.2.1's execution semantics"
                    ),
                },
            }
        )

    async def arm_pool(self, request: Request) -> Response:
        p = request.path_params
        if not request.query_params.get("api-version"):
            raise PoolError(
                400, "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if (
            p["sub"].lower() != LOCAL_SUBSCRIPTION
            or p["rg"].lower() != LOCAL_RESOURCE_GROUP
            or p["name"].lower() != LOCAL_POOL_NAME
        ):
            raise PoolError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.App/sessionPools/{p['name'][:100]}' under resource group "
                f"'{p['rg'][:100]}' was not found. The local pool is "
                f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
                f"/providers/Microsoft.App/sessionPools/{LOCAL_POOL_NAME}.",
            )
        s = self.settings
        base = str(request.base_url).rstrip("/")
        rid = (
            f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
            f"/providers/Microsoft.App/sessionPools/{LOCAL_POOL_NAME}"
        )
        return JSONResponse(
            {
                "id": rid,
                "name": LOCAL_POOL_NAME,
                "type": "Microsoft.App/sessionPools",
                "location": "local",
                "properties": {
                    "provisioningState": "Succeeded",
                    "poolManagementType": "Dynamic",
                    "containerType": "NodeLTS",
                    "nodeCount": 1,
                    "scaleConfiguration": {
                        "maxConcurrentSessions": s.max_sessions,
                        "readySessionInstances": s.ready,
                    },
                    "dynamicPoolConfiguration": {
                        "lifecycleConfiguration": {
                            "lifecycleType": "Timed",
                            "cooldownPeriodInSeconds": s.cooldown,
                        }
                    },
                    "sessionNetworkConfiguration": {
                        "status": "EgressEnabled" if s.egress == "enabled" else "EgressDisabled"
                    },
                    "poolManagementEndpoint": base + s.endpoint_path,
                },
            }
        )
