"""Shared fixtures: no test touches the network or the user's HuggingFace cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelprof.cli.app import run

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "configs" / "hf-hub"


@pytest.fixture(autouse=True)
def isolated_hf(tmp_path_factory, monkeypatch):
    """Point every HuggingFace path at an empty folder and turn the Hub off."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MODELPROF_DEBUG", raising=False)
    return home


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: ``cli("params", "gpt2", "-f", "json")``."""

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


def console_script() -> str:
    """The installed ``modelprof`` entry point of this interpreter's environment."""
    found = Path(sys.executable).parent / "modelprof"
    return str(found) if found.exists() else shutil.which("modelprof")


def run_console(*args: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, env=merged, cwd=cwd, timeout=300
    )
