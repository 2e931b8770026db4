"""Presenter mode: the redactor hides every identifier of the pool and the session."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from repl.api.auth import StaticToken
from repl.api.client import SessionsClient
from repl.api.errors import ApiError
from repl.local.embedded import EmbeddedPool
from repl.presenter import (
    ENDPOINT_HOST,
    POOL,
    RESOURCE_GROUP,
    SESSION,
    SUBSCRIPTION,
    PresenterMode,
    Redactor,
)

SPEC = Path("/work/shared/azure-spec/resource-manager/2025-10-02-preview/examples/SessionPools_Get.json")

SUB = "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345"
RG = "rg-demo-42"
POOL_NAME = "js-pool"
# The README's endpoint shape.
ENDPOINT = f"https://eastus.dynamicsessions.io/subscriptions/{SUB}/resourceGroups/{RG}/sessionPools/{POOL_NAME}"
SESSION_ID = "6f1c2e8a-93b1-4d7e-8c55-0e2f4a9b7d13"


def test_readme_endpoint_shape_every_part() -> None:
    r = Redactor.for_connection(ENDPOINT, sessions=[SESSION_ID])
    text = (
        f"POST {ENDPOINT}/executions?api-version=2025-10-02-preview&identifier={SESSION_ID}\n"
        f"header: {POOL_NAME} (eastus) · session {SESSION_ID.upper()}\n"
        f"scope: /subscriptions/{SUB.upper()}/resourceGroups/{RG.upper()}/providers/Microsoft.App/"
        f"sessionPools/{POOL_NAME}\n"
    )
    out = r.redact(text)
    for secret in (SUB, RG, POOL_NAME, SESSION_ID, "eastus.dynamicsessions.io"):
        assert secret.lower() not in out.lower()
    assert out.splitlines() == [
        f"POST https://{ENDPOINT_HOST}/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/sessionPools/"
        f"{POOL}/executions?api-version=2025-10-02-preview&identifier={SESSION}",
        f"header: {POOL} (eastus) · session {SESSION}",
        f"scope: /subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.App/"
        f"sessionPools/{POOL}",
    ]
    assert r.find(text) and not r.find(out)


def test_arm_example_endpoint_and_resource_id() -> None:
    """The ARM example's pool: its poolManagementEndpoint names no subscription,
    so `--pool/--resource-group/--subscription` are given explicitly."""
    body = json.loads(SPEC.read_text())["responses"]["200"]["body"]
    params = json.loads(SPEC.read_text())["parameters"]
    endpoint = body["properties"]["poolManagementEndpoint"]
    r = Redactor.for_connection(endpoint, subscription=params["subscriptionId"],
                                resource_group=params["resourceGroupName"], pool=params["sessionPoolName"])
    shown = r.redact(json.dumps(body, indent=2))
    assert params["subscriptionId"] not in shown
    assert "testsessionpool" not in shown
    assert "agreeableriver" not in shown  # the host
    assert f'"poolManagementEndpoint": "https://{ENDPOINT_HOST}"' in shown
    assert f'"id": "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.App/' \
           f'sessionPools/{POOL}"' in shown
    # The resource group `rg` is short: a whole word only, never inside other words.
    assert '"cpu": 0.25' in shown and "registryCredentials" in shown
    assert r.redact("rgb(1,2,3) my-rg rg_x rg") == f"rgb(1,2,3) my-rg rg_x {RESOURCE_GROUP}"
    # The other subscription in the example (a registry identity) is not ours: left alone.
    assert "7a497526-bb8d-4816-9795-db1418a1f977" in shown


def test_url_encoded_and_json_escaped_session_identifiers() -> None:
    ident = 'demo session/ä"1'
    r = Redactor.for_connection(ENDPOINT, sessions=[ident])
    url = str(httpx.URL(f"{ENDPOINT}/files", params={"identifier": ident}))
    assert ident not in url  # httpx encodes it: the encoded form must be caught
    assert SESSION in r.redact(url) and "demo" not in r.redact(url)
    assert r.redact(json.dumps({"identifier": ident})) == json.dumps({"identifier": SESSION})
    assert r.redact(f"/x/{ident.replace(' ', '%20').replace('/', '%2f')}") == f"/x/{SESSION}"
    lower = httpx.URL(ENDPOINT, params={"identifier": ident}).query.decode().lower()  # %C3%A4 as %c3%a4
    assert r.redact(lower) == f"identifier={SESSION}"


def test_longest_first_and_whole_words_for_short_values() -> None:
    endpoint = "https://demo.agreeableriver-3d30edf1.eastus.azurecontainerapps.io"
    r = Redactor.for_connection(endpoint, pool="demo", resource_group="demo-rg")
    assert r.redact(f"{endpoint}/executions") == f"https://{ENDPOINT_HOST}/executions"
    assert r.redact("pool demo in demo-rg; demonstration") == f"pool {POOL} in {RESOURCE_GROUP}; demonstration"


def test_add_session_later_and_nothing_to_redact() -> None:
    r = Redactor.for_connection(ENDPOINT)
    new = str(uuid.uuid4())
    assert r.redact(new) == new
    r.add_session(new)
    assert r.redact(f"session {new}") == f"session {SESSION}"
    assert r.identifiers[new] == SESSION
    empty = Redactor()
    assert empty.redact("anything 6f1c2e8a") == "anything 6f1c2e8a" and empty.find("x") == []


def test_ip_host_alone_is_not_redacted_but_host_and_port_are() -> None:
    r = Redactor.for_connection("http://10.1.2.3:8700/subscriptions/s/resourceGroups/g/sessionPools/p")
    assert r.redact("http://10.1.2.3:8700/x and 10.1.2.3") == f"http://{ENDPOINT_HOST}/x and 10.1.2.3"


async def test_local_pool_texts_hold_no_identifier(local_pool: EmbeddedPool) -> None:
    """What the REPL shows about the real local pool (execution, session, pool
    status, an error), redacted: no session identifier, no port."""
    ident = f"Demo-Session_{uuid.uuid4().hex[:8]}"
    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base,
                            arm_auth=StaticToken(local_pool.token))
    try:
        shown = [repr(await client.execute("6*7", identifier=ident)),
                 repr(await client.get_session(ident)),
                 repr(await client.pool_status()),
                 repr(await client.list_sessions())]
        with pytest.raises(ApiError) as err:
            await client.delete_session(f"{ident}-missing")
        shown.append(str(err.value))
        await client.delete_session(ident)
    finally:
        await client.aclose()
    port = str(httpx.URL(local_pool.endpoint).port)
    text = "\n".join(shown)
    assert ident in text and f"127.0.0.1:{port}" in text  # the test sees what a screen would

    r = Redactor.for_connection(local_pool.endpoint, sessions=[ident, f"{ident}-missing"])
    out = r.redact(text)
    assert ident.lower() not in out.lower()
    assert f":{port}" not in out
    assert r.find(out) == []
    assert f"identifier='{SESSION}'" in out and f"http://{ENDPOINT_HOST}/" in out
    # The local pool's fixed path names identify nothing and stay readable.
    assert "resourceGroups/local/sessionPools/local" in out
    assert r.redact(f"local pool 127.0.0.1:{port}") == f"local pool {ENDPOINT_HOST}"


def test_presenter_mode_toggle_and_settings() -> None:
    mode = PresenterMode(Redactor.for_connection(ENDPOINT, sessions=[SESSION_ID]))
    text = f"session {SESSION_ID}"
    assert mode.show(text) == text and mode.spacing == 0  # off by default
    assert mode.toggle() is True
    assert mode.show(text) == f"session {SESSION}" and mode.spacing == 1
    assert mode.keep_alive and mode.roomy
    mode.roomy = False
    assert mode.spacing == 0
    assert mode.toggle() is False and mode.show(text) == text
