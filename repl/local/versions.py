"""The api-version rules of the local pool: which route exists in which version.

[decided, from the swagger files and API.md]

* ``2024-02-02-preview``, ``2024-08-02-preview``: legacy dialect only
  (``code/execute``, ``files/upload``, ``files/content/{name}``, legacy ``GET files``).
* ``2024-10-02-preview``: both; ``code/execute`` (the NodeLTS tutorial uses
  it with this version) and legacy file routes answer in the legacy shape, the
  current routes in the current shape; ``GET files`` is the current shape;
  synchronous ``executions`` answer 202 as that version's swagger says.
* ``2025-02-02-preview``, ``2025-10-02-preview``: current dialect, plus
  ``session``, ``listSessions`` and ``metadata``; ``executions`` answer 200.
* Anything else: 400 ``SessionRequestNotSupported``.  A route that exists but
  not in the requested version: 400 ``SessionRequestNotSupported`` as well.
"""

from __future__ import annotations

from starlette.requests import Request

from repl.local.errors import not_supported

LEGACY_ONLY = frozenset({"2024-02-02-preview", "2024-08-02-preview"})
V2024_10 = "2024-10-02-preview"
SESSION_VERSIONS = frozenset({"2025-02-02-preview", "2025-10-02-preview"})
CURRENT_VERSIONS = frozenset({V2024_10}) | SESSION_VERSIONS
LEGACY_VERSIONS = LEGACY_ONLY | {V2024_10}
KNOWN_VERSIONS = LEGACY_VERSIONS | CURRENT_VERSIONS
ALL_DATA_PLANE = KNOWN_VERSIONS


def api_version(request: Request, allowed: frozenset[str], what: str) -> str:
    """The request's api-version if ``what`` exists in it, else 400 ``SessionRequestNotSupported``."""
    version = request.query_params.get("api-version")
    if not version:
        raise not_supported(
            "The api-version query parameter is required, e.g. api-version=2025-10-02-preview.",
            target="api-version",
        )
    if version not in KNOWN_VERSIONS:
        raise not_supported(
            f"api-version {version[:64]!r} is not supported by this pool; use one of "
            f"{', '.join(sorted(KNOWN_VERSIONS))}.",
            target="api-version",
        )
    if version not in allowed:
        raise not_supported(
            f"{request.method} {what} does not exist in api-version {version}; it exists in "
            f"{', '.join(sorted(allowed))}.",
            target="api-version",
        )
    return version
