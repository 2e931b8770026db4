"""The UI-free client of the Azure Container Apps dynamic sessions API."""

import sys
import types

# `import httpx` also imports httpx's command-line client (httpx._main, which
# pulls in click, rich and pygments: ~65 ms) unless that import fails. We never
# use it: an empty module in its place makes httpx fall back to its stub `main`.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))

from .auth import ARM_SCOPE, DATA_PLANE_SCOPE, AuthProvider, AzureToken, NoAuth, StaticToken
from .client import USER_AGENT, SessionsClient
from .dialects import CURRENT, DEFAULT_API_VERSION, LEGACY, LEGACY_API_VERSION, parse_execution
from .endpoint import PoolRef, PoolResolutionError, default_subscription, parse_pool_path, resolve_endpoint
from .errors import (
    ApiError,
    AuthError,
    BadRequestError,
    BadResponseError,
    CapacityError,
    ConnectError,
    ForbiddenError,
    MissingFileError,
    NotFoundError,
    PayloadTooLargeError,
    RequestTimeout,
    ServerError,
    SessionNotFoundError,
)
from .models import (
    Execution,
    ExecutionStatus,
    FileInfo,
    Package,
    PoolMetadata,
    PoolStatus,
    SessionInfo,
    value_text,
)
from .retry import RetryPolicy

__all__ = [
    "ARM_SCOPE", "DATA_PLANE_SCOPE", "AuthProvider", "AzureToken", "NoAuth", "StaticToken",
    "USER_AGENT", "SessionsClient", "CURRENT", "LEGACY", "DEFAULT_API_VERSION", "LEGACY_API_VERSION",
    "parse_execution", "PoolRef", "PoolResolutionError", "default_subscription", "parse_pool_path",
    "resolve_endpoint", "ApiError", "AuthError", "BadRequestError", "BadResponseError", "CapacityError",
    "ConnectError", "ForbiddenError", "MissingFileError", "NotFoundError", "PayloadTooLargeError", "RequestTimeout",
    "ServerError", "SessionNotFoundError", "Execution", "ExecutionStatus", "FileInfo", "Package",
    "PoolMetadata", "PoolStatus", "SessionInfo", "value_text", "RetryPolicy",
]
