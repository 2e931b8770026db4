"""Presenter mode: no identifier of the pool or the session on a shared screen.

A demo on a projector must not show the subscription id, the resource group,
the pool name, the endpoint host or the session identifier: they appear in the
header, the side panel, notifications, error messages (a URL in a 404), and in
any copy of the screen. Rather than hunting for each place, the front ends pass
every text they show through one :class:`Redactor`, built from the connection's
identifiers, which replaces each occurrence with a stable placeholder::

    https://eastus.dynamicsessions.io/subscriptions/<subscription>/resourceGroups/<resource-group>/...

What it matches, for each identifier:

- the value itself, case-insensitively (GUIDs are printed in either case; Azure
  resource names and host names are case-insensitive too), with any of its
  characters URL-encoded (``my%20session``, ``my+session``, ``%C3%A4``) or
  JSON-escaped (``a\\"b``, ``\\u00e4``), so it is caught inside request URLs
  and server error bodies as well;
- short values (under 12 characters, e.g. a resource group ``rg`` or a pool
  ``demo``) only as a whole word: not inside ``rgb`` or ``demo-2``;
- for the endpoint, its ``host[:port]`` and (unless it is an IP address) its
  host name alone; the ARM resource path is covered by its parts. The local
  pool's fixed path names (the all-zero subscription, ``local``) are the same
  on every machine and are left alone; its ``127.0.0.1:PORT`` is redacted.

Longer values are tried first, so the host ``mypool.x.eastus.azurecontainerapps.io``
becomes ``<endpoint-host>``, not ``<pool>.x.eastus...``. A display that shortens
an identifier (``3f2a…``) must redact before shortening: a prefix is not caught.

:class:`PresenterMode` bundles the redactor with the presentation settings the
front ends read (roomier spacing, keep-alive) and can be toggled live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from repl.api.endpoint import parse_pool_path

SUBSCRIPTION = "<subscription>"
RESOURCE_GROUP = "<resource-group>"
POOL = "<pool>"
ENDPOINT_HOST = "<endpoint-host>"
SESSION = "<session>"

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_SHORT = 12  # values shorter than this are matched as whole words only
_WORD = r"[\w-]"


# The local pool's path (`/subscriptions/0000.../resourceGroups/local/sessionPools/local`)
# is the same on every machine: it identifies nothing, and redacting the word
# "local" everywhere would garble the screen. Its port and sessions are redacted.
LOCAL_POOL_NAMES = frozenset({"00000000-0000-0000-0000-000000000000", "local"})


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _is_ip(host: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]+\]?", host))


def _char_pattern(ch: str) -> str:
    """A character as it may appear in text: itself, percent-encoded (UTF-8, any
    hex case), ``+`` for a space, JSON-escaped."""
    if ch.isascii() and (ch.isalnum() or ch in "-_."):
        return re.escape(ch)
    forms = [re.escape(ch), "".join(f"%{b:02x}" for b in ch.encode("utf-8"))]
    if ch == " ":
        forms.append(r"\+")
    escaped = json.dumps(ch)[1:-1]
    if escaped != ch:
        forms.append(re.escape(escaped))
    if not ch.isascii():
        forms.append(re.escape(json.dumps(ch, ensure_ascii=True)[1:-1]))
    if ch == "/":
        forms.append(re.escape("\\/"))
    return "(?:" + "|".join(forms) + ")"


def _value_pattern(value: str) -> str:
    body = "".join(_char_pattern(ch) for ch in value)
    if len(value) < _SHORT and not _GUID.match(value):
        body = rf"(?<!{_WORD}){body}(?!{_WORD})"
    return body


class Redactor:
    """Replaces every known identifier in a text with its placeholder.

    ``Redactor({"3f2a...": "<session>", "rg-demo": "<resource-group>"})``; more
    can be added later with :meth:`add` (a new session after ``.new``). A
    redactor with nothing to redact returns texts unchanged.
    """

    def __init__(self, identifiers: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}  # identifier -> placeholder
        self._pattern: re.Pattern[str] | None = None
        self._order: list[str] = []
        for value, placeholder in (identifiers or {}).items():
            self.add(value, placeholder)

    @classmethod
    def for_connection(
        cls,
        endpoint: str | None,
        *,
        sessions: Iterable[str] = (),
        subscription: str | None = None,
        resource_group: str | None = None,
        pool: str | None = None,
    ) -> Redactor:
        """A redactor for a connection: the endpoint (host, and subscription,
        resource group and pool from its path when it has them), the explicit
        ``subscription``/``resource_group``/``pool`` (``--pool`` lookups, whose
        endpoint does not name them) and the session identifiers in use."""
        r = cls()
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.netloc:
                netloc = parts.netloc.rsplit("@", 1)[-1]
                r.add(netloc, ENDPOINT_HOST)
                host = parts.hostname or ""
                if host and not _is_ip(host):
                    r.add(host, ENDPOINT_HOST)
            ref = parse_pool_path(endpoint)
            local = _is_loopback(parts.hostname or "")
            if ref is not None:
                for value, placeholder in ((ref.subscription, SUBSCRIPTION), (ref.resource_group, RESOURCE_GROUP),
                                           (ref.pool, POOL)):
                    if not (local and value.lower() in LOCAL_POOL_NAMES):
                        r.add(value, placeholder)
        for given, placeholder in ((subscription, SUBSCRIPTION), (resource_group, RESOURCE_GROUP), (pool, POOL)):
            if given:
                r.add(given, placeholder)
        for session in sessions:
            r.add(session, SESSION)
        return r

    def add(self, value: str, placeholder: str) -> None:
        """Redact ``value`` (and its encoded forms) as ``placeholder`` from now on."""
        value = value.strip()
        if not value or value in self._values:
            return
        self._values[value] = placeholder
        self._pattern = None

    def add_session(self, identifier: str) -> None:
        """A session identifier the REPL now uses (``.new``, ``.session ID``)."""
        self.add(identifier, SESSION)

    @property
    def identifiers(self) -> dict[str, str]:
        """Identifier -> placeholder (what this redactor hides)."""
        return dict(self._values)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._values:
            # One alternative per identifier, longest first; group gN is identifier N.
            self._order = sorted(self._values, key=len, reverse=True)
            alternatives = [f"(?P<g{i}>{_value_pattern(v)})" for i, v in enumerate(self._order)]
            self._pattern = re.compile("|".join(alternatives), re.IGNORECASE)
        return self._pattern

    def _identifier(self, m: re.Match[str]) -> str:
        return self._order[int((m.lastgroup or "g0")[1:])]

    def redact(self, text: str) -> str:
        """``text`` with every identifier replaced by its placeholder."""
        pattern = self._compiled()
        if pattern is None or not text:
            return text
        return pattern.sub(lambda m: self._values[self._identifier(m)], text)

    __call__ = redact

    def find(self, text: str) -> list[str]:
        """The identifiers (not placeholders) that occur in ``text``: ``[]`` means it is safe to show."""
        pattern = self._compiled()
        if pattern is None:
            return []
        found = {self._identifier(m) for m in pattern.finditer(text)}
        return [v for v in self._values if v in found]


@dataclass(slots=True)
class PresenterMode:
    """Presenter mode as the front ends see it (``--present`` and the palette toggle).

    ``show(text)`` is what every text on screen goes through: redacted while
    enabled, unchanged otherwise. ``roomy`` asks for roomier spacing (more
    padding between cells, a blank line between output blocks) and
    ``keep_alive`` for keeping the session alive while presenting (used when the
    session-continuity work provides keep-alive; until then it is only read).
    """

    redactor: Redactor = field(default_factory=Redactor)
    enabled: bool = False
    roomy: bool = True
    keep_alive: bool = True

    def show(self, text: str) -> str:
        return self.redactor.redact(text) if self.enabled else text

    def toggle(self) -> bool:
        """Flip presenter mode; returns the new state (the front end re-renders what is on screen)."""
        self.enabled = not self.enabled
        return self.enabled

    @property
    def spacing(self) -> int:
        """Blank lines between cells: 1 when roomy and enabled, else 0."""
        return 1 if self.enabled and self.roomy else 0
