"""Run one counter in a child process with a time limit.

A counter that crashes (even with a segfault), hangs, leaks hooks or patches,
or prints, cannot touch the parent or the other counters: each runs in its own
process (forked where the platform allows, so the parent's imports are
reused), its stdout/stderr go to a private log, and it is killed at the
deadline. The parent never allocates the model's real weights.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

POLL_S = 0.1


@dataclass(frozen=True)
class Outcome:
    value: Any = None  # what the function returned
    error: str = ""  # one line, when it failed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _child(fn: Callable, arg: Any, conn, log_path: str) -> None:
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    faulthandler.disable()  # a crash is reported by the parent, not dumped on the terminal
    _single_threaded_torch()
    try:
        conn.send(("ok", fn(arg)))
    except BaseException as error:  # report everything; the parent decides
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        detail = f"{type(error).__name__}: {message}" if message else type(error).__name__
        if os.environ.get("MODELPROF_DEBUG", "").strip() not in ("", "0"):
            traceback.print_exc()
        conn.send(("error", detail))
    finally:
        conn.close()


def _single_threaded_torch() -> None:
    """A forked child must not wait on the parent's OpenMP thread pool (GNU
    OpenMP is not fork-safe: the child would deadlock in its first parallel
    region). One intra-op thread keeps every kernel on the calling thread, as
    PyTorch's own DataLoader workers do."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def run_isolated(
    fn: Callable[[Any], Any],
    arg: Any,
    *,
    timeout_s: float,
    on_tick: Callable[[float], None] | None = None,
) -> Outcome:
    """Call ``fn(arg)`` in a child process; ``fn`` and ``arg`` must be
    picklable where fork is unavailable. ``on_tick(elapsed_s)`` is called
    while waiting."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="modelprof-") as scratch:
        log_path = os.path.join(scratch, "counter.log")
        process = context.Process(target=_child, args=(fn, arg, sender, log_path), daemon=True)
        started = time.monotonic()
        process.start()
        sender.close()
        message = None
        try:
            while True:
                elapsed = time.monotonic() - started
                if receiver.poll(POLL_S):
                    try:
                        message = receiver.recv()
                    except EOFError:  # died before answering
                        message = None
                    break
                if not process.is_alive():
                    break
                if elapsed > timeout_s:
                    _kill(process)
                    return Outcome(error=f"timed out after {timeout_s:g} s", seconds=elapsed)
                if on_tick is not None:
                    on_tick(elapsed)
        finally:
            process.join(timeout=5)
            if process.is_alive():
                _kill(process)
            receiver.close()
        elapsed = time.monotonic() - started
        if message is None:
            return Outcome(error=_death(process.exitcode, log_path), seconds=elapsed)
    status, payload = message
    if status == "ok":
        return Outcome(value=payload, seconds=elapsed)
    return Outcome(error=payload, seconds=elapsed)


def _kill(process) -> None:
    process.kill()
    process.join(timeout=5)


def _death(exitcode: int | None, log_path: str) -> str:
    """Describe a child that exited without an answer (killed by the OS, crashed)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        cause = " (out of memory?)" if name == "SIGKILL" else ""
        what = f"crashed with {name}{cause}"
    else:
        what = f"exited with code {exitcode} without a result"
    tail = _last_line(log_path)
    return f"{what}: {tail}" if tail else what


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""
