"""Attack: reading the pool's token from another local account, and talking to
it in clear text.  The token never needs to be on the command line (where ``ps``
shows it to everyone), and the pool serves HTTPS with a certificate a client can
verify."""

from __future__ import annotations

import argparse
import ssl
import uuid
from pathlib import Path

import httpx
import pytest

from repl.cli.serve import TOKEN_ENV, TokenChoice, choose_token
from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings
from repl.local.tls import self_signed_certificate
from tests.local.http_attack import V, run_code, serve_process


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"token": None, "token_file": None, **kw})


def verifying(cert: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13+ does by default
    return ctx


def test_token_file_env_and_flag_precedence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "token"
    f.write_text("from-file-token\nsecond line ignored\n")
    f.chmod(0o600)
    choice = choose_token(_args(token_file=str(f)), {TOKEN_ENV: "from-env"})
    assert isinstance(choice, TokenChoice) and choice.token == "from-file-token"
    assert choice.shown is not None and "from-file-token" not in choice.shown
    choice = choose_token(_args(), {TOKEN_ENV: "from-env"})
    assert isinstance(choice, TokenChoice) and choice.token == "from-env" and choice.shown == f"${TOKEN_ENV}"
    assert capsys.readouterr().err == ""
    choice = choose_token(_args(token="on-the-command-line"), {})
    assert isinstance(choice, TokenChoice) and choice.token == "on-the-command-line"
    assert "visible" in capsys.readouterr().err  # the --token warning
    assert choose_token(_args(), {}) == TokenChoice(None, None)


@pytest.mark.parametrize("content", ["", "\n", "has space", "tab\there", "ünïcode"])
def test_unusable_tokens_are_refused(tmp_path: Path, content: str) -> None:
    f = tmp_path / "token"
    f.write_text(content)
    assert isinstance(choose_token(_args(token_file=str(f)), {}), str)
    assert isinstance(choose_token(_args(), {TOKEN_ENV: content}), str)


def test_a_token_file_readable_by_others_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "token"
    f.write_text("t0ken")
    f.chmod(0o644)
    assert isinstance(choose_token(_args(token_file=str(f)), {}), TokenChoice)
    assert "chmod 600" in capsys.readouterr().err


def test_missing_token_file_and_both_flags_are_usage_errors(tmp_path: Path) -> None:
    assert "--token-file" in str(choose_token(_args(token_file=str(tmp_path / "nope")), {}))
    assert "alternatives" in str(choose_token(_args(token="a", token_file="b"), {}))


def test_serve_with_a_token_file_keeps_it_off_the_command_line_and_the_banner(tmp_path: Path) -> None:
    token = f"file-token-{uuid.uuid4().hex}"
    f = tmp_path / "token"
    f.write_text(token + "\n")
    f.chmod(0o600)
    with serve_process(["--token-file", str(f), "--data-dir", str(tmp_path / "pool")],
                       {"ACAJS_DATA_DIR": str(tmp_path / "data")}) as srv:
        cmdline = Path(f"/proc/{srv.proc.pid}/cmdline").read_bytes()
        assert token.encode() not in cmdline
        assert token not in "".join(srv.banner)
        with httpx.Client(base_url=srv.endpoint, timeout=30) as http:
            assert http.get("/metadata", params={"api-version": V}).status_code == 401
            r = http.get("/metadata", params={"api-version": V}, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200


def test_serve_tls_self_signed_is_verified_by_httpx(tmp_path: Path) -> None:
    token = f"env-token-{uuid.uuid4().hex}"
    env = {"ACAJS_SERVE_TOKEN": token, "ACAJS_DATA_DIR": str(tmp_path / "data")}
    with serve_process(["--tls", "self-signed", "--data-dir", str(tmp_path / "pool")], env) as srv:
        assert srv.endpoint.startswith("https://127.0.0.1:")
        cert = tmp_path / "data" / "tls" / "cert.pem"
        assert str(cert) in "".join(srv.banner)
        assert (cert.parent / "key.pem").stat().st_mode & 0o077 == 0
        with httpx.Client(base_url=srv.endpoint, headers={"Authorization": f"Bearer {token}"},
                          verify=verifying(cert), timeout=60) as http:
            out = run_code(http, str(uuid.uuid4()), "'over tls'")
            assert out["result"]["executionResult"] == "'over tls'"
            # Operation-Location points back at https.
            r = http.post("/executions", params={"api-version": V, "identifier": str(uuid.uuid4())},
                          json={"code": "1", "executionType": "Asynchronous"})
            assert r.headers["operation-location"].startswith("https://")
        # Without trusting the certificate: refused by the client.
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.endpoint + "/metadata", timeout=30)
        # Clear text to the TLS port gets nothing useful.
        plain = srv.endpoint.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):
            r = httpx.get(plain + "/metadata", params={"api-version": V},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
            r.raise_for_status()


def test_the_self_signed_certificate_is_reused_and_renewed(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, ["127.0.0.1"])
    first = cert.read_bytes()
    assert self_signed_certificate(tmp_path, ["127.0.0.1"])[0].read_bytes() == first
    # A new host name is not covered: a new certificate.
    assert self_signed_certificate(tmp_path, ["10.1.2.3"])[0].read_bytes() != first
    cert.write_text("garbage")
    assert b"BEGIN CERTIFICATE" in self_signed_certificate(tmp_path, ["127.0.0.1"])[0].read_bytes()


def test_tls_with_a_given_certificate_in_process(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path / "tls", ["localhost"])
    settings = PoolSettings(ready=0, data_dir=tmp_path / "pool", tls_cert=cert, tls_key=key)
    with EmbeddedPool(settings) as pool:
        assert pool.endpoint.startswith("https://")
        with httpx.Client(verify=verifying(cert), timeout=30) as http:
            for base in (pool.endpoint, pool.endpoint.replace("127.0.0.1", "localhost")):
                r = http.get(base + "/metadata", params={"api-version": V},
                             headers={"Authorization": f"Bearer {pool.token}"})
                assert r.status_code == 200
            r = http.get(pool.endpoint + "/metadata", params={"api-version": V},
                         headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
