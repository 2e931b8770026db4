"""Bearer tokens for the data plane (``https://dynamicsessions.io``) and ARM.

``azure-identity`` is imported only when an :class:`AzureToken` actually asks
for a token, so the local pool and static tokens never pay for it.
Nothing here ever puts a token into a repr, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from typing import Any, Protocol, runtime_checkable

from .errors import AuthError

DATA_PLANE_SCOPE = "https://dynamicsessions.io/.default"
ARM_SCOPE = "https://management.azure.com/.default"
REFRESH_MARGIN_SECONDS = 300  # refresh 5 minutes before expiry, like the Azure SDKs


def _transport_kwargs() -> dict[str, Any]:
    """azure-identity's async credentials default to an aiohttp transport; when
    aiohttp is not installed, use azure-core's asyncio+requests transport instead
    (requests comes with azure-core)."""
    if importlib.util.find_spec("aiohttp") is None:
        from azure.core.pipeline.transport import AsyncioRequestsTransport

        return {"transport": AsyncioRequestsTransport()}
    return {}


@runtime_checkable
class AuthProvider(Protocol):
    async def token(self, *, force_refresh: bool = False) -> str | None: ...


class NoAuth:
    """No ``Authorization`` header at all."""

    async def token(self, *, force_refresh: bool = False) -> str | None:
        return None

    def __repr__(self) -> str:
        return "NoAuth()"


class StaticToken:
    """A fixed bearer token (``--token`` / ``ACAJS_TOKEN``, or the local pool's)."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token.strip()
        if self._token.lower().startswith("bearer "):
            self._token = self._token[7:].strip()

    async def token(self, *, force_refresh: bool = False) -> str | None:
        return self._token

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    __str__ = __repr__


class AzureToken:
    """An Entra token from azure-identity's async ``DefaultAzureCredential``.

    The token is cached and refreshed ``REFRESH_MARGIN_SECONDS`` before it
    expires; ``token(force_refresh=True)`` (after a 401) always fetches a new
    one. ``credential`` may be any object with an async
    ``get_token(scope) -> AccessToken`` (tests pass a fake); several
    ``AzureToken`` objects can share one credential (see :meth:`for_scope`).
    """

    def __init__(self, scope: str = DATA_PLANE_SCOPE, *, credential: Any = None,
                 clock: Any = time.time) -> None:
        self.scope = scope
        self._credential = credential
        self._owns_credential = credential is None
        self._clock = clock
        self._token: str | None = None
        self._expires_on: float = 0.0
        self._lock: asyncio.Lock | None = None

    def for_scope(self, scope: str) -> AzureToken:
        """Another provider for ``scope`` that shares this one's credential."""
        other = AzureToken(scope, credential=self._credential, clock=self._clock)
        other._owns_credential = False
        other._parent = self  # type: ignore[attr-defined]
        return other

    def _get_credential(self) -> Any:
        parent = getattr(self, "_parent", None)
        if parent is not None and self._credential is None:
            return parent._get_credential()
        if self._credential is None:
            try:
                from azure.identity.aio import DefaultAzureCredential
            except ImportError as exc:  # pragma: no cover - a declared dependency
                raise AuthError(
                    "Azure sign-in needs the azure-identity package",
                    hint="install it with `pip install azure-identity`, or pass --token") from exc
            self._credential = DefaultAzureCredential(**_transport_kwargs())
        return self._credential

    async def token(self, *, force_refresh: bool = False) -> str | None:
        if (not force_refresh and self._token is not None
                and self._clock() < self._expires_on - REFRESH_MARGIN_SECONDS):
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if (not force_refresh and self._token is not None
                    and self._clock() < self._expires_on - REFRESH_MARGIN_SECONDS):
                return self._token
            try:
                cred = self._get_credential()
                access = await cred.get_token(self.scope)
            except AuthError:
                raise
            except Exception as exc:  # azure-identity raises many types
                # The credential's message lists what it tried; it never holds a token.
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise AuthError(
                    f"Could not get an Azure token for {self.scope} ({first[:200]})",
                    hint="sign in with `az login`, or pass a token with --token") from None
            self._token = access.token
            self._expires_on = float(access.expires_on)
            return self._token

    async def aclose(self) -> None:
        if self._owns_credential and self._credential is not None:
            close = getattr(self._credential, "close", None)
            if close is not None:
                await close()
            self._credential = None

    def __repr__(self) -> str:
        return f"AzureToken(scope={self.scope!r})"

    __str__ = __repr__
