"""Everything user-supplied runs isolated and leaves nothing behind.

- Python factories are imported and called in a child process under the time
  limit, with their output kept off modelprof's stdout; any failure is one
  line and exit 2; they are called once per build session.
- SIGTERM, SIGHUP, SIGINT and even SIGKILL of modelprof end every process of
  the run within 2 s, and no temporary file remains.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import console_script

FACTORIES = """
import os, signal, subprocess, sys, time
import torch
import torch.nn as nn

def _net():
    # Linear(8, 16) + Linear(16, 4): 8*16 + 16 + 16*4 + 4 = 212 params; 2*8*16 + 2*16*4 = 384 MACs
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), torch.zeros(2, 8)

def noisy():
    print("hello from the factory")
    print("and on stderr", file=sys.stderr)
    return _net()

def sleeps():
    time.sleep(3600)

def exit0():
    os._exit(0)

def exit1():
    os._exit(1)

def sysexit3():
    sys.exit(3)

def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)

def counted():
    with open(os.environ["CALL_LOG"], "a") as log:
        log.write("call\\n")
    return _net()

def spawns():
    child = subprocess.Popen(["sleep", "600"])
    with open(os.environ["SPAWN_LOG"], "a") as log:
        log.write(f"{child.pid}\\n")
    return _net()

class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        if x.device.type == "cpu":  # the real-tensor counters hang; meta ones never get here
            time.sleep(3600)
        return self.fc(x)

def hangs():
    return Hangs(), torch.zeros(2, 8)
"""
SLEEPS_AT_IMPORT = "import time\ntime.sleep(3600)\ndef make():\n    return None\n"


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "factories.py"
    path.write_text(textwrap.dedent(FACTORIES))
    return path


def modelprof(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


# --------------------------------------------------------------------------
# factories: isolated, timed, quiet, called as few times as isolation allows
# --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["params", "flops"])
def test_factory_that_sleeps_is_stopped_by_the_timeout(factories, tmp_path, command, cli):
    started = time.monotonic()
    result = cli(command, f"{factories}:sleeps", "--timeout", "2")
    assert result.code == 2
    assert result.err == f"modelprof: error: {factories}:sleeps: the factory failed: timed out after 2 s\n"
    at_import = tmp_path / "slow_import.py"
    at_import.write_text(SLEEPS_AT_IMPORT)
    result = cli(command, f"{at_import}:make", "--timeout", "2")
    assert result.code == 2 and "timed out after 2 s" in result.err
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "factory, message",
    [
        ("exit0", "the factory failed: exited with code 0 without a result"),
        ("exit1", "the factory failed: exited with code 1 without a result"),
        ("sysexit3", "the factory raised SystemExit: 3"),
        ("segfault", "the factory failed: crashed with SIGSEGV"),
    ],
)
def test_factory_that_exits_or_crashes_is_a_one_line_error(factories, factory, message):
    for command in (["params"], ["flops", "--counters", "torch,thop"]):
        result = modelprof(*command, f"{factories}:{factory}")
        assert result.returncode == 2, (command, result.stderr)
        assert message in result.stderr and result.stderr.count("\n") == 1
        assert result.stdout == ""


def test_factory_output_never_reaches_stdout(factories):
    result = modelprof("flops", f"{factories}:noisy", "--counters", "torch", "-f", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["counters"]["torch"]["macs"] == 384
    assert "hello" not in result.stdout + result.stderr
    table = modelprof("params", f"{factories}:noisy", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert rows[0]["path"] == "" and rows[0]["params"] == "212"


def test_factory_is_called_once_per_build_session(factories, tmp_path):
    log = tmp_path / "calls"
    env = {"CALL_LOG": str(log)}

    def calls(*args: str) -> int:
        log.unlink(missing_ok=True)
        assert modelprof(*args, env=env).returncode == 0
        return len(log.read_text().splitlines())

    target = f"{factories}:counted"
    assert calls("params", target) == 1  # meta build
    assert calls("flops", target, "--counters", "torch") == 1  # meta build: structure and FlopCounterMode
    assert calls("flops", target, "--counters", "fvcore,thop") == 2  # meta build + one CPU build for both
    assert calls("flops", target) == 2  # all six counters


def test_processes_a_factory_starts_do_not_outlive_the_run(factories, tmp_path):
    log = tmp_path / "spawned"
    result = modelprof("flops", f"{factories}:spawns", env={"SPAWN_LOG": str(log)})
    assert result.returncode == 0
    pids = [int(line) for line in log.read_text().split()]
    assert len(pids) == 2  # one per build session
    assert not [pid for pid in pids if alive(pid)]


# --------------------------------------------------------------------------
# signals: nothing survives, nothing is left in the temporary folder
# --------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_gone(pids: set[int], within_s: float) -> None:
    """Every process of ``pids`` ends within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


def as_in_a_terminal() -> None:
    """Signals at their defaults in the started process, as in a terminal, even
    where CI ignores some (SIGINT for background jobs, SIGHUP under nohup):
    modelprof keeps a signal ignored at its start ignored, as nohup asks."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_signals_end_every_process_of_the_run(factories, tmp_path, sig, code):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [console_script(), "flops", f"{factories}:hangs", "--counters", "torch,thop"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        preexec_fn=as_in_a_terminal,
    )
    try:
        deadline = time.monotonic() + 60
        tree: set[int] = set()
        while len(tree) < 3 and time.monotonic() < deadline:  # CPU session, its watcher, the hanging thop process
            time.sleep(0.2)
            tree = descendants(process.pid)
        assert len(tree) >= 3, "the hanging counter never started"
        process.send_signal(sig)
        assert process.wait(timeout=10) == code
        assert_gone(tree, within_s=2)
        assert [p.name for p in scratch.iterdir() if p.name.startswith("modelprof")] == []  # (torch keeps its own caches)
        if sig != signal.SIGKILL:
            assert process.stderr.read().count("\n") == 1
    finally:
        process.kill()
        process.wait()
