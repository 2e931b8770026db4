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
# Characters kept per stream (stdout, stderr) and for the value of one execution;
# outputStreamsMaxLength can lower it, never raise it.  nel returns everything;
# the cap keeps one execution from pinning the server's memory (docs/kernel.md).
DEFAULT_OUTPUT_CAP = 1024 * 1024
# CPU seconds an idle kernel (no execution running) may burn in a burst; the
# allowance refills at IDLE_CPU_SHARE of one core.  Past it the kernel is stopped.
DEFAULT_IDLE_CPU_SECONDS = 10.0

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
    sandbox: bool = True  # protect the host from session code (off: no protection at all)
    # bubblewrap (OS namespaces) where it works; else (or off) Node's permission model
    os_sandbox: bool = True
    output_cap: int = DEFAULT_OUTPUT_CAP
    idle_cpu_seconds: float = DEFAULT_IDLE_CPU_SECONDS
    # the pool serves one command and stops (acajs-repl exec/run/files): no ready
    # kernel is refilled, and stopping skips the HTTP server's graceful steps and
    # does not wait for the kernels' processes to exit (they are SIGKILLed)
    one_shot: bool = False
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
