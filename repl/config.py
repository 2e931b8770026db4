"""Effective settings: command line > environment > config file > defaults.

``load_settings(args)`` merges the four sources into one :class:`Settings` and
records where every value came from (``Settings.sources``), so ``acajs-repl
config`` can explain it. A bad config file raises :class:`ConfigError` naming
the file, the key and what was expected.

Paths: the config file is ``config.toml`` in the user config directory
(``platformdirs.user_config_dir("acajs-repl")``, or ``$ACAJS_CONFIG_DIR``);
history and other data live in the user data directory
(``platformdirs.user_data_dir("acajs-repl")``, or ``$ACAJS_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from repl import paths as _paths

APP_NAME = _paths.APP_NAME
DEFAULT_TIMEOUT = 60.0
# The service stops every execution after 220 s, whatever is asked.
MAX_TIMEOUT = 220.0

# Setting name -> environment variables read for it, first match wins.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "endpoint": ("ACAJS_ENDPOINT", "ACA_POOL_MANAGEMENT_ENDPOINT"),
    "token": ("ACAJS_TOKEN",),
    "session": ("ACAJS_SESSION",),
    "api_version": ("ACAJS_API_VERSION",),
    "pool": ("ACAJS_POOL",),
    "resource_group": ("ACAJS_RESOURCE_GROUP",),
    "subscription": ("ACAJS_SUBSCRIPTION",),
    "theme": ("ACAJS_THEME",),
    "timeout": ("ACAJS_TIMEOUT",),
    "arm_base": ("ACAJS_ARM_BASE",),
    "keep_alive": ("ACAJS_KEEP_ALIVE",),
    "replay_on_expiry": ("ACAJS_REPLAY_ON_EXPIRY",),
    "expiry_warning": ("ACAJS_EXPIRY_WARNING",),
    "bell": ("ACAJS_BELL",),
}

# Keys a config file may hold, with the type expected (for error messages).
FILE_KEYS: dict[str, str] = {
    "endpoint": "a string (the pool management endpoint URL)",
    "token": "a string (a bearer token)",
    "session": "a string (a session identifier)",
    "api_version": "a string such as \"2025-10-02-preview\"",
    "pool": "a string (session pool name)",
    "resource_group": "a string (resource group name)",
    "subscription": "a string (subscription id)",
    "theme": "a string (theme name)",
    "timeout": f"a number of seconds between 1 and {int(MAX_TIMEOUT)}",
    "keys": "a table of binding id = \"key\" strings",
    "arm_base": "a string (the Azure Resource Manager URL, e.g. https://management.chinacloudapi.cn)",
    "keep_alive": "a number of idle minutes after which keep-alive stops (0: off)",
    "replay_on_expiry": "true or false",
    "expiry_warning": "a number of seconds before expiry (0: no warning)",
    "bell": "true or false",
}
_FLAG_ONLY_HELP = {"play_speed": "a number of characters per second (0: the whole step at once)"}

#: Settings that are numbers or switches (the rest are strings).
_NUMBERS = {"timeout", "keep_alive", "expiry_warning"}
_SWITCHES = {"replay_on_expiry", "bell"}
DEFAULT_EXPIRY_WARNING = 60.0

# Settings that come from flags (argparse dest names are the same).
FLAG_NAMES: dict[str, str] = {
    "endpoint": "--endpoint",
    "token": "--token",
    "session": "--session",
    "api_version": "--api-version",
    "pool": "--pool",
    "resource_group": "--resource-group",
    "subscription": "--subscription",
    "theme": "--theme",
    "timeout": "--timeout",
    "keep_alive": "--keep-alive",
    "replay_on_expiry": "--replay-on-expiry",
    "expiry_warning": "--expiry-warning",
    "bell": "--no-bell",
}

# Identifier characters the service accepts besides ASCII letters and digits (API.md §1;
# no space: the space in API.md's list is Markdown code-span padding).
_ID_EXTRA = frozenset("_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`")
IDENTIFIER_RULE = "1-256 characters of A-Z a-z 0-9 and _|}{[]:\";'<>?/.,@#$%^&*()-+=!~`"


def is_valid_identifier(value: str) -> bool:
    """Whether the service accepts ``value`` as a session identifier."""
    return 1 <= len(value) <= 256 and all((c.isascii() and c.isalnum()) or c in _ID_EXTRA for c in value)


class ConfigError(Exception):
    """A setting is invalid. ``str()`` names the file (if any), the key and what was expected."""

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


@dataclass(slots=True)
class Settings:
    endpoint: str | None = None  # None: the embedded local pool (unless pool/resource_group)
    token: str | None = None  # never printed or logged
    session: str | None = None  # None: a fresh uuid4 per run
    api_version: str | None = None  # None: current dialect with fallback to legacy
    pool: str | None = None
    resource_group: str | None = None
    subscription: str | None = None
    config_file: Path | None = None  # the file that was read (or would be)
    theme: str | None = None  # None: the front end's default
    keys: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    arm_base: str | None = None  # None: https://management.azure.com (sovereign clouds differ)
    plain: bool = False  # REPL: line mode instead of the Textual app
    keep_alive: float | None = None  # idle minutes to keep the session alive for; None: off
    replay_on_expiry: bool = False  # rebuild an expired session before the next run
    expiry_warning: float = DEFAULT_EXPIRY_WARNING  # seconds before expiry to warn
    bell: bool = True  # ring the terminal bell with the expiry warnings
    present: bool = False  # presenter mode: identifiers hidden on screen (--present)
    play: str | None = None  # a play file to start with (--play FILE)
    play_speed: float = 0.0  # characters per second a step is typed at (0: at once)
    sources: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the token, even in a traceback or log
        token = "'***'" if self.token else "None"
        return (
            f"Settings(endpoint={self.endpoint!r}, token={token}, session=..., "
            f"api_version={self.api_version!r}, pool={self.pool!r}, "
            f"resource_group={self.resource_group!r}, subscription={self.subscription!r}, "
            f"config_file={self.config_file!r}, theme={self.theme!r}, timeout={self.timeout!r})"
        )

    __str__ = __repr__

    @property
    def uses_local_pool(self) -> bool:
        """No endpoint and no pool to resolve: the embedded local pool is used."""
        return not self.endpoint and not (self.pool and self.resource_group)

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")


# --------------------------------------------------------------------- paths


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return _paths.config_dir(environ)


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return _paths.data_dir(environ)


def default_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _paths.config_file(environ)


def history_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _paths.history_file(environ)


# ------------------------------------------------------------------- loading


def load_settings(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> Settings:
    """Merge command line, environment, config file and defaults (in that order)."""
    flags = _flag_values(args)
    settings = Settings()
    sources: dict[str, str] = {}

    # Which file: --config > ACAJS_CONFIG > the default path.
    explicit = True
    if flags.get("config"):
        path = Path(flags["config"]).expanduser()
        sources["config_file"] = "flag --config"
    elif environ.get("ACAJS_CONFIG"):
        path = Path(environ["ACAJS_CONFIG"]).expanduser()
        sources["config_file"] = "env ACAJS_CONFIG"
    else:
        path = default_config_path(environ)
        sources["config_file"] = "default"
        explicit = False
    settings.config_file = path
    file_values = _read_file(path, must_exist=explicit)

    merged: dict[str, Any] = {}
    for name in FILE_KEYS:
        if name in file_values:
            merged[name] = file_values[name]
            sources[name] = f"file {path}"
    for name, variables in ENV_VARS.items():
        for var in variables:
            value = environ.get(var)
            if value is not None and value.strip() != "":
                merged[name] = value.strip() if name != "token" else value
                sources[name] = f"env {var}"
                break
    for name, flag in FLAG_NAMES.items():
        value = flags.get(name)
        if value is not None:
            merged[name] = value
            sources[name] = f"flag {flag}"

    for name, value in merged.items():
        src = sources[name]
        if name == "timeout":
            settings.timeout = _timeout(value, src, path)
        elif name == "keep_alive":
            minutes = _number(name, value, src, path, low=0, high=24 * 60)
            settings.keep_alive = minutes or None
        elif name == "expiry_warning":
            settings.expiry_warning = _number(name, value, src, path, low=0, high=3600)
        elif name in _SWITCHES:
            setattr(settings, name, _switch(name, value, src, path))
        elif name == "keys":
            settings.keys = dict(value)
        else:
            setattr(settings, name, _string(name, value, src, path))

    if settings.endpoint is not None:
        settings.endpoint = _endpoint(settings.endpoint, sources["endpoint"], path)
        if settings.endpoint is None:  # "local": explicitly the embedded pool
            sources["endpoint"] = sources["endpoint"] + " (local)"
    if settings.arm_base is not None:
        settings.arm_base = _url("arm_base", settings.arm_base, sources["arm_base"], path)
    if settings.session is not None:
        _check_identifier(settings.session, sources["session"], path)

    # --pool/--resource-group given more directly than the endpoint win over it.
    if settings.endpoint and settings.pool and settings.resource_group:
        rank = {"flag": 0, "env": 1, "file": 2}
        ep = rank.get(sources["endpoint"].split(" ")[0], 3)
        pl = min(rank.get(sources[k].split(" ")[0], 3) for k in ("pool", "resource_group"))
        if pl < ep:
            sources["endpoint"] = f"ignored (--pool/--resource-group given; was {sources['endpoint']})"
            settings.endpoint = None
    if (settings.pool is None) != (settings.resource_group is None) and not settings.endpoint:
        missing = "--resource-group" if settings.resource_group is None else "--pool"
        given = "--pool" if settings.resource_group is None else "--resource-group"
        raise ConfigError(f"{given} needs {missing} too (or give --endpoint instead)", key=missing.strip("-"))

    settings.plain = bool(flags.get("plain"))
    if settings.plain:
        sources["plain"] = "flag --plain"
    settings.present = bool(flags.get("present"))
    if flags.get("play"):
        settings.play = str(flags["play"])
    if flags.get("play_speed") is not None:
        settings.play_speed = _number("play_speed", flags["play_speed"], "flag --play-speed", path, low=0, high=10_000)
    settings.sources = sources
    return settings


def _flag_values(args: argparse.Namespace | None) -> dict[str, Any]:
    if args is None:
        return {}
    return {k: v for k, v in vars(args).items() if v is not None}


def _where(src: str, path: Path) -> str:
    if src.startswith("file "):
        return f"config file {path}"
    if src.startswith("env "):
        return f"environment variable {src[4:]}"
    if src.startswith("flag "):
        return f"command-line flag {src[5:]}"
    return src


def _read_file(path: Path, *, must_exist: bool) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"config file {path} does not exist", path=path) from None
        return {}
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, expected a TOML file", path=path) from None
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}", path=path) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text, expected TOML", path=path) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path}: invalid TOML: {err}", path=path) from None

    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in FILE_KEYS:
            known = ", ".join(sorted(FILE_KEYS))
            raise ConfigError(
                f"config file {path}: unknown key {key!r}; expected one of: {known}", path=path, key=key
            )
        expected = FILE_KEYS[name]
        if name == "keys":
            if not isinstance(value, dict):
                raise ConfigError(
                    f"config file {path}: key 'keys' must be {expected}, got {_tname(value)}",
                    path=path,
                    key=key,
                )
            for binding, keyspec in value.items():
                if not isinstance(keyspec, str) or not keyspec.strip():
                    raise ConfigError(
                        f"config file {path}: key 'keys.{binding}' must be a non-empty string "
                        f"such as \"ctrl+r\", got {_tname(keyspec)}",
                        path=path,
                        key=f"keys.{binding}",
                    )
            values[name] = {str(k): v.strip() for k, v in value.items()}
        elif name in _SWITCHES:
            if not isinstance(value, bool):
                raise ConfigError(
                    f"config file {path}: key {key!r} must be {expected}, got {_tname(value)}",
                    path=path,
                    key=key,
                )
            values[name] = value
        elif name in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"config file {path}: key {key!r} must be {expected}, got {_tname(value)}",
                    path=path,
                    key=key,
                )
            values[name] = value
        else:
            if not isinstance(value, str):
                raise ConfigError(
                    f"config file {path}: key {key!r} must be {expected}, got {_tname(value)}",
                    path=path,
                    key=key,
                )
            values[name] = value
    return values


def _number(name: str, value: Any, src: str, path: Path, *, low: float, high: float) -> float:
    """A number setting from a flag, the environment or the file, in range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_where(src, path)}: {name} {value!r} is not a number; expected {_expected(name)}", path=path, key=name
        ) from None
    if not low <= number <= high:
        raise ConfigError(
            f"{_where(src, path)}: {name} {value!r} is out of range ({low:g} to {high:g}); expected {_expected(name)}",
            path=path,
            key=name,
        )
    return number


def _expected(name: str) -> str:
    return FILE_KEYS.get(name) or _FLAG_ONLY_HELP.get(name, "a number")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _switch(name: str, value: Any, src: str, path: Path) -> bool:
    """A switch from a flag (True/False), the file (a TOML boolean) or the
    environment (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{_where(src, path)}: {name} {value!r} is not on or off; expected {FILE_KEYS[name]}",
                      path=path, key=name)


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _string(name: str, value: Any, src: str, path: Path) -> str | None:
    text = str(value)
    if name != "token":
        text = text.strip()
    if not text:
        raise ConfigError(
            f"{_where(src, path)}: {name} is empty; expected {FILE_KEYS[name]}",
            path=path if src.startswith("file ") else None,
            key=name,
        )
    return text


def _timeout(value: Any, src: str, path: Path) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not (1 <= seconds <= MAX_TIMEOUT):
        what = "is out of range" if seconds == seconds else "is not a number"  # NaN != NaN
        raise ConfigError(
            f"{_where(src, path)}: timeout {value!r} {what}; expected {FILE_KEYS['timeout']}",
            path=path if src.startswith("file ") else None,
            key="timeout",
        )
    return seconds


def _endpoint(value: str, src: str, path: Path) -> str | None:
    if value.lower() == "local":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{_where(src, path)}: endpoint {value!r} is not a URL; expected an http(s) URL such as "
            "https://<region>.dynamicsessions.io/subscriptions/<sub>/resourceGroups/<rg>/sessionPools/<pool> "
            "(or \"local\" for the embedded local pool)",
            path=path if src.startswith("file ") else None,
            key="endpoint",
        )
    return value.rstrip("/")


def _url(name: str, value: str, src: str, path: Path) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{_where(src, path)}: {name} {value!r} is not a URL; expected {FILE_KEYS[name]}",
            path=path if src.startswith("file ") else None,
            key=name,
        )
    return value.rstrip("/")


def _check_identifier(value: str, src: str, path: Path) -> None:
    if not is_valid_identifier(value):
        raise ConfigError(
            f"{_where(src, path)}: session {value!r} is not a valid identifier; expected {IDENTIFIER_RULE}",
            path=path if src.startswith("file ") else None,
            key="session",
        )


# ------------------------------------------------------------------ describe


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """``(name, shown value, source)`` rows for ``acajs-repl config``; never the token."""
    s = settings
    rows: list[tuple[str, str, str]] = []
    cfg = s.config_file
    cfg_text = str(cfg) if cfg is None or cfg.exists() else f"{cfg} (not present)"
    rows.append(("config_file", cfg_text, s.source("config_file")))
    if s.endpoint:
        rows.append(("endpoint", s.endpoint, s.source("endpoint")))
    elif s.pool and s.resource_group:
        rows.append(("endpoint", "(resolved from pool via ARM)", s.source("endpoint")))
    else:
        rows.append(("endpoint", "(none: embedded local pool)", s.source("endpoint")))
    rows.append(("token", "set" if s.token else "not set", s.source("token")))
    for name in ("session", "api_version", "pool", "resource_group", "subscription", "theme"):
        value = getattr(s, name)
        if value is None:
            shown = {
                "session": "(new random session each run)",
                "api_version": "(auto: current, falls back to legacy)",
                "theme": "(front end default)",
            }.get(name, "(not set)")
        else:
            shown = value
        rows.append((name, shown, s.source(name)))
    rows.append(("timeout", f"{s.timeout:g}", s.source("timeout")))
    keep = f"on until idle {s.keep_alive:g} min" if s.keep_alive else "off"
    rows.append(("keep_alive", keep, s.source("keep_alive")))
    rows.append(("replay_on_expiry", "on" if s.replay_on_expiry else "off", s.source("replay_on_expiry")))
    rows.append(("expiry_warning", f"{s.expiry_warning:g} s before expiry", s.source("expiry_warning")))
    rows.append(("bell", "on" if s.bell else "off", s.source("bell")))
    rows.append(("arm_base", s.arm_base or "https://management.azure.com", s.source("arm_base")))
    if s.keys:
        for binding, key in sorted(s.keys.items()):
            rows.append((f"keys.{binding}", key, s.source("keys")))
    else:
        rows.append(("keys", "(defaults)", s.source("keys")))
    return rows
