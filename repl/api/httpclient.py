"""The client's ``httpx.AsyncClient``: httpx's own, less its per-response cookie work.

httpx hands every response to the client's cookie jar, and to do so builds
urllib-shaped copies of the request and the response (the URL parsed again, the
headers copied into an ``email.message``): about 15 µs per request, a tenth of
the client's CPU for a warm ``1+1`` on the local pool. A jar takes cookies only
from ``Set-Cookie`` and ``Set-Cookie2`` headers (``http.cookiejar``'s
``make_cookies`` reads those two and nothing else), so a response without either
is skipped here: the jar ends exactly as httpx would leave it. Neither the local
pool nor the dynamic sessions API sends cookies; an endpoint that does still has
them kept and sent back as before.
"""

from __future__ import annotations

from http.cookiejar import CookieJar

import httpx


class _Cookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class AsyncClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookie jar skips responses that set none."""

    def __init__(self, *, timeout: httpx.Timeout, headers: dict[str, str], verify: bool,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._jar = _Cookies()
        super().__init__(timeout=timeout, headers=headers, verify=verify, transport=transport)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]]) -> None:
        self._jar = _Cookies(cookies)
