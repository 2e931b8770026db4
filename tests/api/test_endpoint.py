"""Endpoint parsing and ARM resolution (--pool/--resource-group/--subscription)."""

from __future__ import annotations

import json

import pytest

from repl.api import (
    AuthError,
    NotFoundError,
    PoolRef,
    PoolResolutionError,
    StaticToken,
    default_subscription,
    parse_pool_path,
    resolve_endpoint,
)
from repl.api.endpoint import arm_pool_url


@pytest.mark.parametrize("endpoint,expected", [
    ("https://eastus.dynamicsessions.io/subscriptions/s-1/resourceGroups/my-rg/sessionPools/pool1",
     PoolRef("s-1", "my-rg", "pool1")),
    ("https://eastus.dynamicsessions.io/subscriptions/s-1/resourcegroups/RG/sessionPools/p/",
     PoolRef("s-1", "RG", "p")),
    ("https://x.io/subscriptions/a/resourceGroups/b/providers/Microsoft.App/sessionPools/c", PoolRef("a", "b", "c")),
    ("https://testsessionpool.agreeableriver-3d30edf1.eastus.azurecontainerapps.io", None),
    ("http://127.0.0.1:1234", None),
])
def test_parse_pool_path(endpoint, expected):
    assert parse_pool_path(endpoint) == expected


def test_arm_url():
    assert arm_pool_url(PoolRef("s", "r g", "p"), "https://management.azure.com/") == (
        "https://management.azure.com/subscriptions/s/resourceGroups/r%20g/providers/Microsoft.App/"
        "sessionPools/p?api-version=2025-10-02-preview")


def test_default_subscription(tmp_path):
    assert default_subscription({"AZURE_SUBSCRIPTION_ID": "env-sub"}) == "env-sub"
    (tmp_path / "azureProfile.json").write_text("\ufeff" + json.dumps({"subscriptions": [
        {"id": "other", "isDefault": False}, {"id": "the-default", "isDefault": True}]}), encoding="utf-8")
    assert default_subscription({"AZURE_CONFIG_DIR": str(tmp_path)}) == "the-default"
    assert default_subscription({"AZURE_CONFIG_DIR": str(tmp_path / "missing")}) is None


async def test_resolve_via_local_arm(local_pool):
    ep, ref = await resolve_endpoint("local", "local", "00000000-0000-0000-0000-000000000000",
                                     auth=StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    assert ep == local_pool.endpoint and ref == parse_pool_path(local_pool.endpoint)


async def test_resolve_unknown_pool_and_bad_token(local_pool):
    with pytest.raises(NotFoundError) as ei:
        await resolve_endpoint("nope", "local", "00000000-0000-0000-0000-000000000000",
                               auth=StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    assert "No session pool named 'nope' in resource group 'local'" in str(ei.value)
    assert "sessionpool list -g local" in str(ei.value)
    with pytest.raises(AuthError) as ei2:
        await resolve_endpoint("local", "local", "00000000-0000-0000-0000-000000000000",
                               auth=StaticToken("bad-token-xyz"), arm_base=local_pool.arm_base)
    assert "bad-token-xyz" not in str(ei2.value) and "management.azure.com" in str(ei2.value)


async def test_resolve_without_subscription(tmp_path):
    with pytest.raises(PoolResolutionError) as ei:
        await resolve_endpoint("p", "rg", auth=StaticToken("t"), environ={"AZURE_CONFIG_DIR": str(tmp_path)})
    assert "--subscription" in str(ei.value)
