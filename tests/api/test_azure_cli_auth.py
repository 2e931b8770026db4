"""AzureToken through the real azure-identity DefaultAzureCredential, signed in by a fake `az`."""

from __future__ import annotations

import sys
import time

import pytest

from repl.api import ARM_SCOPE, AzureToken

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake az is a shell script")

FAKE_AZ = """#!/bin/sh
echo "$@" >> "{log}"
echo '{{"accessToken": "fake-az-token", "expiresOn": "2099-01-01 00:00:00.000000", '\
'"expires_on": {exp}, "subscription": "s", "tenant": "t", "tokenType": "Bearer"}}'
"""


async def test_default_azure_credential_via_az_cli(tmp_path, monkeypatch):
    log = tmp_path / "calls"
    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    az.write_text(FAKE_AZ.format(log=log, exp=int(time.time()) + 3600))
    az.chmod(0o755)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", f"{az.parent}:/usr/bin:/bin")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")  # only the CLI, never IMDS
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "azcfg"))
    data = AzureToken()
    arm = data.for_scope(ARM_SCOPE)
    try:
        assert await data.token() == "fake-az-token"
        assert await data.token() == "fake-az-token"  # cached: no second az call
        assert await arm.token() == "fake-az-token"
    finally:
        await arm.aclose()
        await data.aclose()
    calls = log.read_text().splitlines()
    assert len(calls) == 2
    assert calls[0].endswith("--resource https://dynamicsessions.io")
    assert calls[1].endswith("--resource https://management.azure.com")
