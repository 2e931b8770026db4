"""Open a connection to a session pool: Azure, a running ``acajs-repl serve``, or
the embedded local pool when no endpoint is configured.

Everything above this module talks to a :class:`Connection`'s ``client`` over
HTTP, whatever kind of pool is behind it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from repl.config import Settings

if TYPE_CHECKING:
    from repl.api.auth import AuthProvider
    from repl.api.client import SessionsClient
    from repl.api.endpoint import PoolRef
    from repl.local.embedded import EmbeddedPool

DYNAMIC_SESSIONS_SCOPE = "https://dynamicsessions.io/.default"
ARM_SCOPE = "https://management.azure.com/.default"


@runtime_checkable
class Closeable(Protocol):
    """An auth provider that holds resources (azure-identity's credential)."""

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Connection:
    client: SessionsClient
    kind: Literal["local", "azure"]
    endpoint: str
    label: str  # short text for status bars: "local pool 127.0.0.1:PORT", "my-pool (eastus)"
    pool: EmbeddedPool | None = None
    auths: tuple[Closeable, ...] = ()  # auth providers to close with the connection

    async def aclose(self) -> None:
        try:
            await self.client.aclose()
            for auth in self.auths:
                await auth.aclose()
        finally:
            if self.pool is not None:
                pool, self.pool = self.pool, None
                await asyncio.to_thread(_stop_pool, pool)

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _stop_pool(pool: EmbeddedPool) -> None:
    # stop() is safe right after start(): a server thread that is still coming
    # up sees the request and shuts down as soon as it is up.
    pool.stop()


async def open_connection(settings: Settings, *, wait_ready: bool = False, one_shot: bool = False) -> Connection:
    """Connect as ``settings`` say. Raises ``ApiError`` when the endpoint cannot be resolved.

    With no endpoint the embedded local pool starts: its socket is bound at once
    and it serves from its own thread, so this returns without waiting for it
    (requests queue in the socket's backlog). ``wait_ready=True`` (the CLI and
    line mode) first checks for Node.js (``NodeNotFound``), then waits until the
    pool serves and raises ``PoolStartError`` if it cannot.
    """
    if settings.endpoint:
        endpoint = settings.endpoint
        auth, arm_base, arm_auth = _auths(settings, endpoint)
        client = await _new_client(
            endpoint, auth, api_version=settings.api_version, arm_base=arm_base, arm_auth=arm_auth
        )
        return Connection(client, _kind(endpoint), client.endpoint, endpoint_label(endpoint),
                          auths=_closeable(auth, arm_auth))

    if settings.pool and settings.resource_group:
        from repl.api.auth import AzureToken, StaticToken
        from repl.api.endpoint import ARM_BASE, resolve_endpoint

        arm_base = settings.arm_base or ARM_BASE
        if _kind(arm_base) == "local" and settings.token:
            # A local pool's ARM-shaped route (`acajs-repl serve`) takes the pool's own token.
            arm_auth = auth = StaticToken(settings.token)
        else:
            arm_auth = AzureToken(ARM_SCOPE)
            auth = StaticToken(settings.token) if settings.token else arm_auth.for_scope(DYNAMIC_SESSIONS_SCOPE)
        try:
            endpoint, ref = await resolve_endpoint(
                settings.pool, settings.resource_group, settings.subscription, auth=arm_auth, arm_base=arm_base
            )
        except BaseException:
            for a in _closeable(auth, arm_auth):
                await a.aclose()
            raise
        client = await _new_client(endpoint, auth, api_version=settings.api_version, arm_base=arm_base,
                                   arm_auth=arm_auth, pool_ref=ref)
        return Connection(client, _kind(endpoint), client.endpoint, endpoint_label(endpoint),
                          auths=_closeable(auth, arm_auth))

    return await _open_local(settings, wait_ready=wait_ready, one_shot=one_shot)


async def _open_local(settings: Settings, *, wait_ready: bool, one_shot: bool) -> Connection:
    """The embedded local pool. It starts before the client's modules are imported:
    its thread imports its own and starts the ready kernel (mostly in its own
    processes) while this one imports the client's."""
    from repl.local.embedded import EmbeddedPool
    from repl.local.settings import PoolSettings

    # one_shot (a CLI command): the ready kernel it takes is not refilled, and the
    # pool stops without uvicorn's graceful steps
    pool = EmbeddedPool(PoolSettings(one_shot=one_shot))
    # start() binds the socket and returns; the pool serves from its own thread.
    await asyncio.to_thread(pool.start)
    node_check = None
    if wait_ready:
        # Say at once when there is no usable Node.js (NodeNotFound says how to
        # get one) instead of a 503 from the first execution; it runs while the
        # client is built. The result is cached for the pool's kernel.
        from repl.local.node import find_node

        node_check = asyncio.ensure_future(asyncio.to_thread(find_node))
    client = None
    try:
        from repl.api.auth import StaticToken

        token = StaticToken(pool.token)
        client = await _new_client(
            pool.endpoint, token, api_version=settings.api_version, arm_base=pool.arm_base, arm_auth=token
        )
        if node_check is not None:
            await node_check
            await asyncio.to_thread(pool.wait_started)
    except BaseException:
        if node_check is not None:
            node_check.cancel()
            await asyncio.gather(node_check, return_exceptions=True)  # (its outcome: seen)
        if client is not None:
            await client.aclose()
        await asyncio.to_thread(_stop_pool, pool)
        raise
    host = urlsplit(pool.endpoint).netloc
    return Connection(client, "local", client.endpoint, f"local pool {host}", pool)


async def _new_client(
    endpoint: str,
    auth: AuthProvider,
    *,
    api_version: str | None,
    arm_base: str | None = None,
    arm_auth: AuthProvider | None = None,
    pool_ref: PoolRef | None = None,
) -> SessionsClient:
    """Build the client off the event loop: importing httpx and creating its SSL
    context take a few hundred milliseconds, which would freeze a UI. No
    ``arm_base``: the client's default (Azure's public cloud)."""

    def build() -> SessionsClient:
        from repl.api.client import SessionsClient
        from repl.api.endpoint import ARM_BASE

        return SessionsClient(
            endpoint, auth, api_version=api_version, arm_base=arm_base or ARM_BASE, arm_auth=arm_auth, pool_ref=pool_ref
        )

    return await asyncio.to_thread(build)


def _auths(settings: Settings, endpoint: str) -> tuple[AuthProvider, str | None, AuthProvider]:
    """(data-plane auth, ARM base or None, ARM auth) for an explicit endpoint."""
    from repl.api.auth import AzureToken, StaticToken

    if _kind(endpoint) == "local":
        # A local pool (`acajs-repl serve`) serves its ARM-shaped route at its root
        # and takes the same token for it.
        from repl.api.auth import NoAuth

        parts = urlsplit(endpoint)
        auth: AuthProvider = StaticToken(settings.token) if settings.token else NoAuth()
        return auth, f"{parts.scheme}://{parts.netloc}", auth
    if settings.token:
        # A static data-plane token has the wrong audience for ARM: pool status
        # signs in separately (lazily) and falls back to the data plane if it cannot.
        return StaticToken(settings.token), settings.arm_base, AzureToken(ARM_SCOPE)
    data = AzureToken(DYNAMIC_SESSIONS_SCOPE)
    return data, settings.arm_base, data.for_scope(ARM_SCOPE)


def _closeable(*auths: AuthProvider) -> tuple[Closeable, ...]:
    return tuple(a for a in auths if isinstance(a, Closeable))


def _kind(endpoint: str) -> Literal["local", "azure"]:
    host = urlsplit(endpoint).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return "local"
    return "azure"


def endpoint_label(endpoint: str) -> str:
    """``my-pool (eastus)`` for an Azure endpoint, ``host:port`` otherwise."""
    parts = urlsplit(endpoint)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    pool = None
    lowered = [s.lower() for s in segments]
    if "sessionpools" in lowered:
        i = lowered.index("sessionpools")
        if i + 1 < len(segments):
            pool = segments[i + 1]
    host = parts.hostname or parts.netloc
    if host.endswith(".dynamicsessions.io"):
        region = host[: -len(".dynamicsessions.io")]
        return f"{pool} ({region})" if pool else region
    where = parts.netloc
    if _kind(endpoint) == "local":
        return f"local pool {where}" if not pool or pool == "local" else f"{pool} ({where})"
    return f"{pool} ({where})" if pool else where
