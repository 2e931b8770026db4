"""Where acajs-repl keeps user files.

- config dir: ``$ACAJS_CONFIG_DIR`` if set, else ``platformdirs.user_config_dir("acajs-repl")``
  (``config.toml`` and user themes live there);
- data dir: ``$ACAJS_DATA_DIR`` if set, else ``platformdirs.user_data_dir("acajs-repl")``
  (``history.jsonl`` lives there).

The functions read the environment on every call (tests set the variables per
test) and never create directories; writers create what they need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "acajs-repl"
CONFIG_DIR_ENV = "ACAJS_CONFIG_DIR"
DATA_DIR_ENV = "ACAJS_DATA_DIR"


def _from_env(name: str, environ: Mapping[str, str] | None) -> Path | None:
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    return Path(value).expanduser() if value else None


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user config directory (honours ``ACAJS_CONFIG_DIR``)."""
    path = _from_env(CONFIG_DIR_ENV, environ)
    if path is not None:
        return path
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user data directory (honours ``ACAJS_DATA_DIR``)."""
    path = _from_env(DATA_DIR_ENV, environ)
    if path is not None:
        return path
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "config.toml"


def history_file(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / "history.jsonl"


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def give_new_file_mode(path: Path) -> None:
    """Give a file written through a private temporary file (``mkstemp``: 0600) the
    mode a newly created file gets (0666 less the umask), as ``curl -o`` would."""
    try:
        os.chmod(path, 0o666 & ~_umask())
    except OSError:
        pass
