"""Pool status: ARM resource + data-plane ``metadata`` + ``listSessions`` count.

Only pool-level calls: nothing here names a session identifier (a request
naming the REPL's identifier would reset its cooldown), and no identifier
appears in the result. When ARM is unreachable or denies access, the status
falls back to what the data plane offers and lists the unknown parts and why.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from .dialects import parse_arm_pool
from .errors import ApiError, AuthError, ConnectError, ForbiddenError, NotFoundError, RequestTimeout
from .models import PoolMetadata, PoolStatus, SessionInfo

if TYPE_CHECKING:
    from .client import SessionsClient

ARM_FIELDS = ("container_type", "provisioning_state", "max_sessions", "ready_sessions",
              "node_count", "egress", "cooldown_seconds")


def _why(source: str, exc: BaseException) -> str:
    if isinstance(exc, AuthError):
        return f"{source} rejected the token (401)"
    if isinstance(exc, ForbiddenError):
        return f"{source} denied access (403)"
    if isinstance(exc, NotFoundError):
        return f"{source} does not know this pool (404)"
    if isinstance(exc, (ConnectError, RequestTimeout)):
        return f"{source} is unreachable"
    if isinstance(exc, ApiError):
        code = f" {exc.status_code}" if exc.status_code else ""
        return f"{source} failed{code}: {exc.message}"
    return f"{source} failed ({type(exc).__name__})"


async def gather_pool_status(client: SessionsClient) -> PoolStatus:
    notes: list[str] = []

    async def arm() -> PoolStatus | None:
        if client.pool_ref is None:
            notes.append("the endpoint does not name a subscription, resource group and pool, "
                         "so Azure Resource Manager was not asked")
            return None
        if client.arm_auth is None:
            notes.append("no Azure Resource Manager credentials (sign in with `az login`)")
            return None
        try:
            return parse_arm_pool(await client.arm_pool(), client.endpoint)
        except (ApiError, ValueError) as exc:
            notes.append(_why("Azure Resource Manager", exc))
            return None

    async def meta() -> PoolMetadata | None:
        try:
            return await client.metadata()
        except ApiError as exc:
            notes.append(_why("the pool's metadata endpoint", exc))
            return None

    async def sessions() -> list[SessionInfo] | None:
        try:
            return await client.list_sessions()
        except ApiError as exc:
            notes.append(_why("the pool's listSessions endpoint", exc))
            return None

    arm_status, md, listed = await asyncio.gather(arm(), meta(), sessions())
    status = arm_status or PoolStatus(endpoint=client.endpoint)
    changes: dict[str, Any] = {}
    if status.name is None and client.pool_ref is not None:
        changes["name"] = client.pool_ref.pool
    if listed is not None:
        changes["sessions_in_use"] = len(listed)
    if md is not None:
        if md.runtimes:
            rt = md.runtimes[0]
            changes["runtime"] = f"{rt.name} {rt.version}" if rt.version else rt.name
        if md.kernel_name:
            changes["kernel"] = f"{md.kernel_name} {md.kernel_version}" if md.kernel_version else md.kernel_name
    status = dataclasses.replace(status, **changes)
    unknown = tuple(f.name for f in dataclasses.fields(PoolStatus)
                    if f.name not in ("endpoint", "unknown", "notes") and getattr(status, f.name) is None)
    return dataclasses.replace(status, unknown=unknown, notes=tuple(notes))
