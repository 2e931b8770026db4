"""Settings of a local session pool (``acajs-repl serve`` flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The pool of the service's NodeLTS tutorial: 5 sessions at most, 300 s cooldown.
DEFAULT_MAX_SESSIONS = 5
DEFAULT_COOLDOWN_SECONDS = 300
# The service stops any execution after 220 s, whatever timeoutInSeconds asks.
DEFAULT_TIMEOUT_CAP_SECONDS = 220

LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LOCAL_RESOURCE_GROUP = "local"
LOCAL_POOL_NAME = "local"


@dataclass(frozen=True, slots=True)
class PoolSettings:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    token: str | None = None  # None: a random token is generated
    max_sessions: int = DEFAULT_MAX_SESSIONS
    ready: int = 1  # kernels started ahead of time
    cooldown: int = DEFAULT_COOLDOWN_SECONDS
    timeout_cap: int = DEFAULT_TIMEOUT_CAP_SECONDS
    memory_mb: int = 512
    egress: Literal["enabled", "disabled"] = "enabled"
    data_dir: Path | None = None  # None: a temporary directory
    sandbox: bool = True  # Node's permission model where the Node version has it
    allow_remote: bool = False
    tls_cert: Path | None = None  # PEM certificate (chain): serve HTTPS
    tls_key: Path | None = None  # PEM private key (None: in tls_cert)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    @property
    def endpoint_path(self) -> str:
        return (
            f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/{LOCAL_RESOURCE_GROUP}"
            f"/sessionPools/{LOCAL_POOL_NAME}"
        )
