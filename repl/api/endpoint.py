"""The pool's endpoint: parse subscription/resource group/pool out of it, or
resolve it from ``--pool NAME --resource-group RG [--subscription SUB]`` through
ARM, the way ``az containerapp sessionpool show`` does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .auth import AuthProvider
from .dialects import ARM_API_VERSION
from .errors import (
    ApiError,
    AuthError,
    CapacityError,
    ForbiddenError,
    NotFoundError,
    bad_body,
    error_from_response,
    loads,
)
from .retry import RetryPolicy
from .transport import send

ARM_BASE = "https://management.azure.com"

_POOL_PATH = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"(?:/providers/Microsoft\.App)?/sessionPools/(?P<pool>[^/?#]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PoolRef:
    subscription: str
    resource_group: str
    pool: str

    @property
    def resource_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.App/sessionPools/{self.pool}")


class PoolResolutionError(ApiError):
    """The pool could not be located (no subscription known, or no endpoint in ARM)."""


def parse_pool_path(endpoint: str) -> PoolRef | None:
    """Subscription, resource group and pool from a code-interpreter endpoint's path."""
    m = _POOL_PATH.search(urlsplit(endpoint).path)
    if not m:
        return None
    return PoolRef(m["sub"], m["rg"], m["pool"])


def arm_pool_url(ref: PoolRef, arm_base: str = ARM_BASE) -> str:
    def q(s: str) -> str:
        return quote(s, safe="")

    return (f"{arm_base.rstrip('/')}/subscriptions/{q(ref.subscription)}/resourceGroups/"
            f"{q(ref.resource_group)}/providers/Microsoft.App/sessionPools/{q(ref.pool)}"
            f"?api-version={ARM_API_VERSION}")


def default_subscription(environ: Mapping[str, str] = os.environ) -> str | None:
    """The subscription ``az`` would use: ``AZURE_SUBSCRIPTION_ID``, else the
    default of ``az account set`` (``azureProfile.json`` in ``AZURE_CONFIG_DIR``
    or ``~/.azure``)."""
    sub = environ.get("AZURE_SUBSCRIPTION_ID")
    if sub:
        return sub
    cfg = Path(environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    try:
        raw = (cfg / "azureProfile.json").read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    for s in data.get("subscriptions", []) if isinstance(data, dict) else []:
        if isinstance(s, dict) and s.get("isDefault") and s.get("id"):
            return str(s["id"])
    return None


def arm_error(resp: httpx.Response, ref: PoolRef, *, secrets: tuple[str, ...] = ()) -> ApiError:
    """An ARM error for the pool resource, with hints that fit ARM."""
    what = f"Reading session pool {ref.pool!r} from Azure Resource Manager"
    err = error_from_response(resp.status_code, resp.headers, resp.content, what=what, secrets=secrets)
    if isinstance(err, AuthError):
        err.hint = "sign in with `az login`; ARM needs a token for https://management.azure.com"
    elif isinstance(err, ForbiddenError):
        err.hint = ("you need a role that can read the pool (for example Reader) on resource group "
                    f"{ref.resource_group!r}")
    elif isinstance(err, CapacityError):  # ARM throttling, not the pool's capacity
        err.message = f"{what} was throttled (HTTP {resp.status_code})"
        err.hint = (f"retry in {err.retry_after:g} s" if err.retry_after is not None else "retry shortly")
    elif isinstance(err, NotFoundError):
        err.message = (f"No session pool named {ref.pool!r} in resource group "
                       f"{ref.resource_group!r} of subscription {ref.subscription}")
        err.hint = ("check --pool, --resource-group and --subscription "
                    f"(`az containerapp sessionpool list -g {ref.resource_group}`)")
    return err


async def get_arm_pool(http: httpx.AsyncClient, ref: PoolRef, *, arm_base: str = ARM_BASE,
                       auth: AuthProvider, headers: Mapping[str, str] | None = None,
                       timeout: float = 15.0, policy: RetryPolicy | None = None) -> dict[str, Any]:
    """GET the ARM pool resource, with the client's retry rules (connection errors,
    429/502/503/504 with backoff and Retry-After, one token refresh after a 401)."""
    url = arm_pool_url(ref, arm_base)
    what = "Reading the pool from Azure Resource Manager"
    resp = await send(http, policy or RetryPolicy(), "GET", url, what=what, auth=auth,
                      headers=headers or {}, timeout=timeout)
    if not resp.is_success:
        token = None
        try:
            token = await auth.token()
        except Exception:  # noqa: BLE001 - only used to scrub the message
            pass
        raise arm_error(resp, ref, secrets=(token,) if token else ())
    try:
        data = loads(resp.content)
    except ValueError:
        raise bad_body(what, resp.status_code, resp.headers, resp.content) from None
    if not isinstance(data, dict):
        raise bad_body(what, resp.status_code, resp.headers, resp.content)
    return data


async def resolve_endpoint(pool: str, resource_group: str, subscription: str | None = None, *,
                           auth: AuthProvider, arm_base: str = ARM_BASE,
                           http: httpx.AsyncClient | None = None,
                           environ: Mapping[str, str] = os.environ,
                           policy: RetryPolicy | None = None) -> tuple[str, PoolRef]:
    """(poolManagementEndpoint, PoolRef) of a pool named on the command line.

    ``auth`` must give ARM tokens (scope ``https://management.azure.com/.default``).
    """
    sub = subscription or default_subscription(environ)
    if not sub:
        raise PoolResolutionError(
            f"No subscription is known to look up session pool {pool!r}",
            hint="pass --subscription, set AZURE_SUBSCRIPTION_ID, or run `az account set -s SUB`")
    ref = PoolRef(sub, resource_group, pool)
    from .client import USER_AGENT

    own = http is None
    client = http or httpx.AsyncClient()
    try:
        data = await get_arm_pool(client, ref, arm_base=arm_base, auth=auth,
                                  headers={"User-Agent": USER_AGENT, "Accept": "application/json"}, policy=policy)
    finally:
        if own:
            await client.aclose()
    ep = data.get("properties", {}).get("poolManagementEndpoint") if isinstance(data.get("properties"), dict) else None
    if not isinstance(ep, str) or not ep:
        raise PoolResolutionError(
            f"Session pool {pool!r} has no poolManagementEndpoint yet",
            hint="wait until its provisioningState is Succeeded (`az containerapp sessionpool show`)")
    return ep.rstrip("/"), ref
