"""Settings precedence, sources and config-file errors (real files in tmp dirs)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from repl.config import ConfigError, Settings, data_dir, default_config_path, describe, history_path, load_settings

EP_FILE = "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/rg/sessionPools/from-file"
EP_ENV = "https://westus2.dynamicsessions.io/subscriptions/s/resourceGroups/rg/sessionPools/from-env"
EP_FLAG = "http://127.0.0.1:9999/subscriptions/s/resourceGroups/rg/sessionPools/from-flag"


def ns(**kw) -> argparse.Namespace:
    return argparse.Namespace(**kw)


@pytest.fixture
def cfgdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    d.mkdir()
    return d


def env_for(cfgdir: Path, **extra: str) -> dict[str, str]:
    return {"ACAJS_CONFIG_DIR": str(cfgdir), **extra}


def write(cfgdir: Path, text: str) -> Path:
    path = cfgdir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source(cfgdir: Path) -> None:
    s = load_settings(None, env_for(cfgdir))
    assert s.endpoint is None and s.token is None and s.session is None
    assert s.timeout == 60 and s.keys == {} and s.theme is None
    assert s.uses_local_pool
    assert s.config_file == cfgdir / "config.toml"
    assert s.source("endpoint") == "default"


def test_file_then_env_then_flag(cfgdir: Path) -> None:
    path = write(
        cfgdir,
        f'endpoint = "{EP_FILE}"\nsession = "file-session"\ntheme = "nord"\ntimeout = 30\n'
        'api_version = "2024-10-02-preview"\n[keys]\nrun = "ctrl+r"\n',
    )
    s = load_settings(None, env_for(cfgdir))
    assert s.endpoint == EP_FILE and s.session == "file-session" and s.theme == "nord"
    assert s.timeout == 30 and s.keys == {"run": "ctrl+r"}
    assert s.api_version == "2024-10-02-preview"
    assert s.sources["endpoint"] == f"file {path}"

    s = load_settings(None, env_for(cfgdir, ACAJS_ENDPOINT=EP_ENV, ACAJS_SESSION="env-session"))
    assert s.endpoint == EP_ENV and s.session == "env-session"
    assert s.sources["endpoint"] == "env ACAJS_ENDPOINT"
    assert s.theme == "nord"  # still from the file

    s = load_settings(
        ns(endpoint=EP_FLAG + "/", session="flag-session", theme=None),
        env_for(cfgdir, ACAJS_ENDPOINT=EP_ENV, ACAJS_SESSION="env-session"),
    )
    assert s.endpoint == EP_FLAG  # trailing slash dropped
    assert s.session == "flag-session"
    assert s.sources["endpoint"] == "flag --endpoint"
    assert s.sources["session"] == "flag --session"
    assert s.sources["theme"] == f"file {path}"


def test_aca_pool_management_endpoint_is_read_and_acajs_wins(cfgdir: Path) -> None:
    s = load_settings(None, env_for(cfgdir, ACA_POOL_MANAGEMENT_ENDPOINT=EP_ENV))
    assert s.endpoint == EP_ENV and s.sources["endpoint"] == "env ACA_POOL_MANAGEMENT_ENDPOINT"
    s = load_settings(None, env_for(cfgdir, ACA_POOL_MANAGEMENT_ENDPOINT=EP_ENV, ACAJS_ENDPOINT=EP_FLAG))
    assert s.endpoint == EP_FLAG


def test_token_and_api_version_from_env(cfgdir: Path) -> None:
    s = load_settings(None, env_for(cfgdir, ACAJS_TOKEN="tok-123", ACAJS_API_VERSION="2024-02-02-preview"))
    assert s.token == "tok-123" and s.sources["token"] == "env ACAJS_TOKEN"
    assert s.api_version == "2024-02-02-preview"
    assert "tok-123" not in repr(s) and "tok-123" not in str(s)
    s = load_settings(ns(token="tok-flag"), env_for(cfgdir, ACAJS_TOKEN="tok-123"))
    assert s.token == "tok-flag" and s.sources["token"] == "flag --token"


def test_config_flag_and_env_pick_the_file(cfgdir: Path, tmp_path: Path) -> None:
    write(cfgdir, 'theme = "default-file"\n')
    other = tmp_path / "other.toml"
    other.write_text('theme = "other-file"\n')
    third = tmp_path / "third.toml"
    third.write_text('theme = "third-file"\n')
    assert load_settings(None, env_for(cfgdir)).theme == "default-file"
    s = load_settings(None, env_for(cfgdir, ACAJS_CONFIG=str(other)))
    assert s.theme == "other-file" and s.config_file == other
    assert s.sources["config_file"] == "env ACAJS_CONFIG"
    s = load_settings(ns(config=str(third)), env_for(cfgdir, ACAJS_CONFIG=str(other)))
    assert s.theme == "third-file" and s.sources["theme"] == f"file {third}"


def test_explicit_config_file_must_exist(cfgdir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as e:
        load_settings(ns(config=str(missing)), env_for(cfgdir))
    assert str(missing) in str(e.value) and "does not exist" in str(e.value)


def test_endpoint_local_means_embedded_pool(cfgdir: Path) -> None:
    s = load_settings(ns(endpoint="local"), env_for(cfgdir, ACAJS_ENDPOINT=EP_ENV))
    assert s.endpoint is None and s.uses_local_pool


def test_pool_flags_beat_endpoint_from_a_weaker_source(cfgdir: Path) -> None:
    write(cfgdir, f'endpoint = "{EP_FILE}"\n')
    s = load_settings(ns(pool="p", resource_group="rg"), env_for(cfgdir))
    assert s.endpoint is None and s.pool == "p" and not s.uses_local_pool
    # an endpoint flag beats pool settings from the file
    write(cfgdir, 'pool = "p"\nresource_group = "rg"\n')
    s = load_settings(ns(endpoint=EP_FLAG), env_for(cfgdir))
    assert s.endpoint == EP_FLAG


def test_pool_without_resource_group_is_an_error(cfgdir: Path) -> None:
    with pytest.raises(ConfigError, match="--pool needs --resource-group"):
        load_settings(ns(pool="p"), env_for(cfgdir))


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('endpoint = "x\n', ["invalid TOML", "line 1"]),
        ('colour = "red"\n', ["unknown key 'colour'", "expected one of", "endpoint", "timeout"]),
        ("timeout = \"soon\"\n", ["'timeout'", "number of seconds", "got a string"]),
        ("timeout = 0\n", ["timeout", "out of range", "between 1 and 220"]),
        ("timeout = true\n", ["'timeout'", "got a boolean"]),
        ("endpoint = 5\n", ["'endpoint'", "must be a string", "got a number (5)"]),
        ('endpoint = "ftp://x"\n', ["endpoint 'ftp://x' is not a URL", "http(s) URL"]),
        ('keys = "ctrl+r"\n', ["'keys' must be a table", "got a string"]),
        ("[keys]\nrun = 3\n", ["'keys.run'", "non-empty string", "got a number (3)"]),
        ('session = "bad\\u0001id"\n', ["session", "not a valid identifier"]),
    ],
)
def test_bad_file_names_file_key_and_expectation(cfgdir: Path, text: str, needles: list[str]) -> None:
    path = write(cfgdir, text)
    with pytest.raises(ConfigError) as e:
        load_settings(None, env_for(cfgdir))
    msg = str(e.value)
    assert str(path) in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_bad_env_value_names_the_variable(cfgdir: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(None, env_for(cfgdir, ACAJS_ENDPOINT="not a url"))
    assert "environment variable ACAJS_ENDPOINT" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_settings(ns(timeout=999.0), env_for(cfgdir))
    assert "--timeout" in str(e.value) and "between 1 and 220" in str(e.value)
    assert "out of range" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_settings(None, env_for(cfgdir, ACAJS_TIMEOUT="60s"))
    assert "environment variable ACAJS_TIMEOUT: timeout '60s' is not a number" in str(e.value)


def test_hyphenated_keys_are_accepted(cfgdir: Path) -> None:
    write(cfgdir, 'api-version = "2024-10-02-preview"\nresource-group = "rg"\npool = "p"\n')
    s = load_settings(None, env_for(cfgdir))
    assert s.api_version == "2024-10-02-preview" and s.resource_group == "rg"


def test_paths_honour_env_dirs(tmp_path: Path) -> None:
    env = {"ACAJS_CONFIG_DIR": str(tmp_path / "c"), "ACAJS_DATA_DIR": str(tmp_path / "d")}
    assert default_config_path(env) == tmp_path / "c" / "config.toml"
    assert data_dir(env) == tmp_path / "d"
    assert history_path(env) == tmp_path / "d" / "history.jsonl"
    assert default_config_path({}).name == "config.toml"
    assert "acajs-repl" in str(default_config_path({}))


def test_describe_never_shows_the_token(cfgdir: Path) -> None:
    write(cfgdir, 'token = "file-secret-token"\n')
    s = load_settings(None, env_for(cfgdir, ACAJS_TOKEN="env-secret-token"))
    rows = describe(s)
    text = "\n".join(" ".join(r) for r in rows)
    assert "secret" not in text
    assert ("token", "set", "env ACAJS_TOKEN") in rows
    rows = describe(Settings())
    assert ("token", "not set", "default") in rows


def test_session_identifier_rule_is_the_pools(cfgdir: Path) -> None:
    """The identifiers config accepts are exactly those the local pool accepts (no space)."""
    from repl.config import is_valid_identifier
    from repl.local.server import IDENTIFIER_CHARS

    for code in range(0x20, 0x7F):
        c = chr(code)
        assert is_valid_identifier(f"a{c}b") == (c in IDENTIFIER_CHARS), repr(c)
    assert is_valid_identifier("x" * 256) and not is_valid_identifier("x" * 257)
    assert not is_valid_identifier("") and not is_valid_identifier("café")
    with pytest.raises(ConfigError, match="--session.*'my session' is not a valid identifier"):
        load_settings(ns(session="my session"), env_for(cfgdir))
