"""No token (nor session identifier) reaches an error message, a log record or a repr.

Every failure path of the client is driven with a server that echoes the token
and the identifier back in every place it can (error code, message, text body,
request-id header), with all loggers at DEBUG.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx

from repl.api import ApiError, AzureToken, RetryPolicy, SessionsClient, StaticToken

EP = "https://eastus.dynamicsessions.io/subscriptions/sub1/resourceGroups/rg1/sessionPools/pool1"
ARM_URL = ("https://management.azure.com/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/"
           "sessionPools/pool1")
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.leak-canary-token"
ARM_TOKEN = "eyJhcm0iOiJ0b2tlbiJ9.arm-leak-canary"
IDENT = "ident-leak-canary-7f3a"
SECRETS = (TOKEN, ARM_TOKEN, IDENT)


async def _no_sleep(_s: float) -> None:
    return None


def _echo(status: int, kind: str, request: httpx.Request) -> httpx.Response:
    """An error answer quoting what the request carried: its token (and identifier)."""
    token = request.headers["authorization"].removeprefix("Bearer ")
    assert token in (TOKEN, ARM_TOKEN)
    ident = request.url.params.get("identifier", "")
    headers = {"x-ms-request-id": f"rid-{token}", "x-ms-error-code": f"Code{token}"}
    if kind == "json":
        return httpx.Response(status, headers=headers, json={"error": {
            "code": f"Bad-{token}", "message": f"Authorization: Bearer {token} for {ident}"}})
    if kind == "text":
        return httpx.Response(status, headers=headers, text=f"Bearer {token} / {ident}")
    return httpx.Response(status, headers={"content-type": "text/html", **headers},
                          text=f"<html>Bearer {token} {ident}</html>")


def _texts(err: BaseException) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e), *map(str, e.args)]
        if isinstance(e, ApiError):
            out += [str(e.message), str(e.hint), str(e.code), str(e.request_id), str(e.service_message)]
        e = e.__cause__ or e.__context__
    return out


class Cred:
    async def get_token(self, scope: str):
        from azure.core.credentials import AccessToken

        return AccessToken(ARM_TOKEN if "management" in scope else TOKEN, 10_000 + 3600)


STATUSES = [400, 401, 403, 404, 409, 413, 429, 500, 502]


@respx.mock
@pytest.mark.parametrize("kind", ["json", "text", "html"])
@pytest.mark.parametrize("status", STATUSES)
async def test_every_failure_path_keeps_secrets_out(status, kind, tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    auth = AzureToken(credential=Cred(), clock=lambda: 10_000.0)
    c = SessionsClient(EP, auth, retry_policy=RetryPolicy(retries=1, sleep=_no_sleep))
    respx.route(url__startswith=EP).mock(side_effect=lambda req: _echo(status, kind, req))
    respx.route(url__startswith=ARM_URL).mock(side_effect=lambda req: _echo(status, kind, req))
    src = tmp_path / "up.txt"
    src.write_bytes(b"x")
    ops = [
        lambda: c.execute("1", identifier=IDENT),
        lambda: c.upload(IDENT, src),
        lambda: c.list_files(IDENT),
        lambda: c.file_info(IDENT, "a.txt"),
        lambda: c.download(IDENT, "a.txt", tmp_path / "a.txt"),
        lambda: c.delete_file(IDENT, "a.txt"),
        lambda: c.get_session(IDENT),
        lambda: c.delete_session(IDENT),
        lambda: c.list_sessions(),
        lambda: c.metadata(),
        lambda: c.arm_pool(),
    ]
    errors = []
    try:
        for op in ops:
            with pytest.raises(ApiError) as ei:
                await op()
            errors.append(ei.value)
        status_report = await c.pool_status()
    finally:
        await c.aclose()
    assert len(errors) == len(ops)
    texts = [t for e in errors for t in _texts(e)]
    texts += [repr(status_report), *status_report.notes, repr(c), repr(auth), repr(c.arm_auth), caplog.text]
    texts += [str(r.args) for r in caplog.records]
    assert any("request id" in t for t in texts)  # the sweep did see real messages
    for t in texts:
        for s in SECRETS:
            assert s not in t, (s, t)


@respx.mock
async def test_transport_failures_and_bad_bodies_keep_secrets_out(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    c = SessionsClient(EP, StaticToken(TOKEN), retry_policy=RetryPolicy(retries=1, sleep=_no_sleep))
    failures = [httpx.ConnectError(f"refused {TOKEN}"), httpx.ReadTimeout(f"slow {TOKEN}"),
                httpx.RemoteProtocolError(f"dropped {TOKEN}"),
                httpx.Response(200, text=f"<html>{TOKEN} {IDENT}</html>", headers={"content-type": "text/html"}),
                httpx.Response(200, text=f'{{"status": "{TOKEN}'), httpx.Response(200, json={"x": TOKEN})]
    errors = []
    try:
        for f in failures:
            respx.route(url__startswith=EP).mock(side_effect=[f, f] if isinstance(f, Exception) else None,
                                                 return_value=None if isinstance(f, Exception) else f)
            with pytest.raises(ApiError) as ei:
                await c.execute("1", identifier=IDENT)
            errors.append(ei.value)
    finally:
        await c.aclose()
    texts = [t for e in errors for t in _texts(e)
             if not isinstance(e, httpx.HTTPError)]  # httpx's own exceptions are only suppressed context
    for e in errors:
        assert e.__suppress_context__ or e.__context__ is None
        for t in (str(e), repr(e)):
            for s in SECRETS:
                assert s not in t
    assert TOKEN not in caplog.text and IDENT not in caplog.text
    assert len(texts) > 0
