"""Packaging: every package folder is installed under the modelprof namespace,
the wheel carries the bundled configs, and `--help` never imports torch."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile

import pytest

from .conftest import REPO, run_console

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
TOP_LEVEL = ("cli", "profilers", "models")


def test_every_package_folder_is_listed_and_mapped():
    folders = sorted(
        path.parent.relative_to(REPO).as_posix()
        for top in TOP_LEVEL
        for path in (REPO / top).rglob("__init__.py")
        if "__pycache__" not in path.parts
    )
    mapped = {folder: package for package, folder in SETUPTOOLS["package-dir"].items()}
    assert folders, "no package folders found"
    for folder in folders:
        assert folder in mapped, f"{folder} holds __init__.py but is not in package-dir"
        assert mapped[folder] in SETUPTOOLS["packages"]
        assert mapped[folder] == "modelprof." + folder.replace("/", ".")
    # and "modelprof" itself: cli/entry holds its __main__ alone (no __init__.py), so it stays a namespace
    assert SETUPTOOLS["package-dir"]["modelprof"] == "cli/entry" and not (REPO / "cli/entry/__init__.py").exists()
    assert all(p.startswith("modelprof.") for p in SETUPTOOLS["packages"] if p != "modelprof")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # Reuse this environment's setuptools when it has one (no download).
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("modelprof-*.whl")
    with zipfile.ZipFile(built) as archive:
        return set(archive.namelist())


def test_wheel_installs_under_one_namespace(wheel):
    tops = {name.split("/")[0] for name in wheel if not name.startswith("modelprof-")}
    assert tops == {"modelprof"}
    for module in ("modelprof/__main__.py", "modelprof/cli/app.py", "modelprof/models/resolver.py",
                   "modelprof/profilers/params.py"):
        assert module in wheel
    assert "modelprof/__init__.py" not in wheel


def test_wheel_carries_bundled_configs(wheel):
    shipped = {name for name in wheel if name.startswith("modelprof/configs/hf-hub/") and name.endswith("config.json")}
    on_disk = {
        "modelprof/configs/" + path.relative_to(REPO / "configs").as_posix() for path in (REPO / "configs" / "hf-hub").rglob("config.json")
    }
    assert shipped == on_disk and len(shipped) >= 17


@pytest.mark.parametrize("command", [[], ["params"], ["list"]])
def test_help_does_not_import_torch(command):
    code = (
        "import sys\n"
        "from modelprof.cli.app import run\n"
        f"run({command + ['--help']!r})\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_console_script_exit_codes():
    ok = run_console("params", "toy:tanh-net", "-f", "json")
    assert ok.returncode == 0 and '"total": 3145728' in ok.stdout
    unknown = run_console("params", "bert-base-uncasd", env={"HF_HUB_OFFLINE": "1"})
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("modelprof: error: unknown model 'bert-base-uncasd'")
    assert unknown.stderr.count("\n") == 1
    bad_option = run_console("params", "gpt2", "--depth", "-1")
    assert bad_option.returncode == 2 and bad_option.stderr.count("\n") == 1
    debug = run_console("params", "bert-base-uncasd", env={"HF_HUB_OFFLINE": "1", "MODELPROF_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize("module", ["modelprof", "modelprof.cli"])
def test_python_dash_m_runs_the_command(module):
    """``python -m modelprof`` (torchrun's ``-m modelprof bench``) and ``python -m modelprof.cli``."""
    done = subprocess.run([sys.executable, "-m", module, "params", "toy:tanh-net", "-f", "json"], capture_output=True, text=True)
    assert done.returncode == 0 and '"total": 3145728' in done.stdout


@pytest.mark.parametrize("command", ["params", "flops", "memory", "scale", "bench", "check", "list"])
def test_every_option_help_appears_whole(command, cli, monkeypatch):
    """Help is plain text: "[default: ...]" and "[tool.modelprof]" are printed, not
    read as markup, and flags show no value placeholder."""
    import click
    import typer

    from modelprof.cli.app import app

    monkeypatch.setenv("COLUMNS", "300")
    shown = " ".join(cli(command, "--help").out.split())
    group = typer.main.get_command(app)
    params = group.commands[command].params
    assert params
    for param in params:
        if param.help:
            assert " ".join(param.help.split()) in shown, param.name
        if isinstance(param, click.Option) and param.is_flag:
            assert f"{param.opts[-1]} <" not in shown, param.opts  # no "<bool>" after a flag
    assert "<bool>" not in shown
    top = " ".join(cli("--help").out.split())
    for name in ("params", "flops", "scale", "memory", "bench", "check", "list"):
        assert group.commands[name].short_help in top


def test_bare_command_prints_help():
    bare = run_console()
    assert bare.returncode == 0 and bare.stderr == ""
    assert bare.stdout.startswith("Usage: modelprof [OPTIONS] COMMAND")
