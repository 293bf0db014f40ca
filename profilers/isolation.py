"""Child processes for everything that runs code modelprof does not control:
the counting tools, Python factories, remote model code.

A :class:`Child` is a forked process (the parent's imports are reused) that
streams messages back over a pipe. It cannot touch the parent:

- its stdout and stderr go to an anonymous temporary file (no name on disk,
  so nothing is left behind whatever happens), whose last line explains a
  crash;
- a crash (even a segfault), ``sys.exit`` or ``os._exit`` ends only the child
  and becomes a one-line error; the parent enforces every time limit;
- a top-level child leads its own process group, so the parent ends it *and
  everything it started* with one ``killpg`` when it closes the child, on
  success, error, timeout, Ctrl-C, SIGTERM or SIGHUP;
- a small watcher process in that group waits for the parent's end of a pipe
  to close and then kills the group: a parent killed with SIGKILL takes its
  children with it.

Children started inside a child (a counter run per tool inside a build
session) stay in their parent's group.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import select
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .errors import ModelprofError, one_line

POLL_S = 0.1
_FORWARDED = ("SIGTERM", "SIGHUP", "SIGINT")
_in_child = False  # set in every child: nested children join its process group


class Terminated(BaseException):
    """The parent received SIGTERM, SIGHUP or SIGINT; raised where it was
    running so every ``finally`` (and :meth:`Child.close`) runs before it exits."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn SIGTERM, SIGHUP and SIGINT into :class:`Terminated` for the
    duration of the block (a signal ignored when modelprof started, as under
    ``nohup``, stays ignored); the previous handlers are restored on exit."""

    def raise_terminated(signum, _frame):
        raise Terminated(signum)

    saved = {}
    for name in _FORWARDED:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            saved[number] = signal.signal(number, raise_terminated)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


@dataclass(frozen=True)
class Outcome:
    value: Any = None  # what the function returned
    error: str = ""  # one line, when it failed
    seconds: float = 0.0
    bad_input: bool = False  # the failure was a ModelprofError (a clean, expected refusal)

    @property
    def ok(self) -> bool:
        return not self.error


class ChildFailed(Exception):
    """The child ended, or ran past its time, before sending what was awaited."""

    def __init__(self, reason: str, bad_input: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.bad_input = bad_input


class Child:
    """``target(send, arg)`` in a forked child; ``send(message)`` streams any
    picklable message to the parent, which reads them with :meth:`receive`.
    What ``target`` returns arrives as a final ``("ok", value)`` message; an
    exception it raises ends the stream with :class:`ChildFailed`.

    Use as a context manager: leaving the block kills the child's process
    group and removes its log, whatever happened inside.
    """

    def __init__(self, target: Callable[[Callable[[Any], None], Any], Any], arg: Any = None, threads: int = 1):
        self.target = target
        self.arg = arg
        self.threads = threads
        self.started = 0.0
        self._process = None
        self._receiver = None
        self._log = None
        self._leader = False

    def __enter__(self) -> "Child":
        try:
            return self._start()
        except BaseException:  # a signal while starting: the child must not outlive the parent's exit
            self.close()
            raise

    def _start(self) -> "Child":
        context = multiprocessing.get_context("fork")
        self._log = tempfile.TemporaryFile(prefix="modelprof-")
        self._receiver, sender = context.Pipe(duplex=False)
        self._leader = not _in_child
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # the child must not write the parent's pending output again
        self._process = context.Process(
            target=_child_main, args=(self.target, self.arg, sender, self._log.fileno(), self._leader, self.threads)
        )
        self._process.start()
        sender.close()
        if self._leader:  # also set here: no race with a kill before the child got to it
            with contextlib.suppress(OSError):
                os.setpgid(self._process.pid, self._process.pid)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def receive(self, timeout_s: float, on_tick: Callable[[float], None] | None = None) -> Any:
        """The next message, waiting at most ``timeout_s``; ``on_tick(elapsed)``
        is called while waiting. Raises :class:`ChildFailed` when the child
        ended (or raised) first, or the time ran out."""
        waited = time.monotonic()
        while True:
            if self._receiver.poll(POLL_S):
                try:
                    message = self._receiver.recv()
                except (EOFError, OSError):
                    message = None
                if message is None:
                    break
                if message[0] == "error":
                    self._show_log()
                    raise ChildFailed(message[1], bad_input=message[2])
                return message
            if not self._process.is_alive() and not self._receiver.poll(0):
                break
            if time.monotonic() - waited > timeout_s:
                self.close()
                raise ChildFailed(f"timed out after {timeout_s:g} s")
            if on_tick is not None:
                on_tick(self.elapsed)
        self._process.join(timeout=5)
        self._show_log()
        raise ChildFailed(_death(self._process.exitcode, self._log))

    def _show_log(self) -> None:
        """With ``MODELPROF_DEBUG=1``, copy what the failed child printed
        (its traceback included) to stderr."""
        if not _debugging():
            return
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            sys.stderr.write(self._log.read().decode("utf-8", "replace"))

    def close(self) -> None:
        """Kill the child and everything in its process group; reap it; drop the log."""
        process, self._process = self._process, None
        if process is not None and process.pid is not None:  # started
            if self._leader:
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)
            if process.is_alive():
                process.kill()
            process.join(timeout=5)
            with contextlib.suppress(ValueError):
                process.close()
        for handle in (self._receiver, self._log):
            if handle is not None:
                handle.close()
        self._receiver = self._log = None


def reap_children(timeout_s: float = 2.0) -> None:
    """Kill and reap every child process this process still has: after a
    signal cut a cleanup short, the interpreter's exit would otherwise wait
    for them without end (``multiprocessing`` joins its children at exit)."""
    for process in multiprocessing.active_children():
        with contextlib.suppress(OSError, ValueError):
            process.kill()
            process.join(timeout=timeout_s)


def run_isolated(
    fn: Callable[[Any], Any],
    arg: Any,
    *,
    timeout_s: float,
    on_tick: Callable[[float], None] | None = None,
    threads: int = 1,
) -> Outcome:
    """``fn(arg)`` in a :class:`Child` with ``threads`` intra-op threads, at most ``timeout_s`` seconds."""
    with Child(lambda _send, value: fn(value), arg, threads) as child:
        try:
            _, value = child.receive(timeout_s, on_tick)
        except ChildFailed as failure:
            return Outcome(error=failure.reason, seconds=child.elapsed, bad_input=failure.bad_input)
        return Outcome(value=value, seconds=child.elapsed)


def _child_main(target, arg, conn, log_fd: int, leader: bool, threads: int = 1) -> None:
    global _in_child
    _in_child = True
    for name in _FORWARDED:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    if leader:
        with contextlib.suppress(OSError):  # the parent may have done it already
            os.setpgid(0, 0)
        _start_watcher(multiprocessing.parent_process().sentinel)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    faulthandler.disable()  # a crash is reported by the parent, not dumped on the terminal
    _torch_threads(threads)
    try:
        conn.send(("ok", target(conn.send, arg)))
    except BaseException as error:  # report everything; the parent decides
        if _debugging():
            traceback.print_exc()
        conn.send(("error", describe(error), isinstance(error, ModelprofError)))
    finally:
        conn.close()


def _debugging() -> bool:
    return os.environ.get("MODELPROF_DEBUG", "").strip() not in ("", "0")


def describe(error: BaseException) -> str:
    """One line: a ModelprofError's own message, else ``Type: message`` (the
    whole message on one line, cut to a readable length) and, when the error
    was raised in a model's own code, where (``at llama4/modeling_llama4.py:1318
    in forward``), so a refusal by the model is told from one by modelprof."""
    if isinstance(error, ModelprofError):
        return one_line(error)
    text = one_line(error)
    text = text if text == type(error).__name__ else f"{type(error).__name__}: {text}"
    where = raised_in_model_code(error)
    return f"{text} (at {where})" if where else text


MODEL_CODE = ("/transformers/models/",)  # where a model's own forward lives


def raised_in_model_code(error: BaseException) -> str | None:
    """``family/file.py:line in function`` of the innermost traceback frame in a model's own code, or None."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename.replace(os.sep, "/")
        for marker in MODEL_CODE:
            if marker in filename:
                found = f"{filename.split(marker, 1)[1]}:{tb.tb_lineno} in {tb.tb_frame.f_code.co_name}"
        tb = tb.tb_next
    return found


def _start_watcher(parent_sentinel: int) -> None:
    """Fork a process that kills this process group once the parent is gone
    (its end of ``parent_sentinel`` closes, even on SIGKILL). It holds no
    other descriptor, so the parent still sees the child's pipes close when
    the child ends."""
    if os.fork():
        return
    try:
        watched = os.dup2(parent_sentinel, 3)
        os.closerange(watched + 1, os.sysconf("SC_OPEN_MAX"))
        devnull = os.open(os.devnull, os.O_RDWR)
        for standard in (0, 1, 2):  # nor a terminal or a pipe someone reads to its end
            os.dup2(devnull, standard)
        select.select([watched], [], [])
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(0)


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux's
    ``PR_SET_PDEATHSIG``): a rank torchrun started, whose own process group
    is not its launcher's. A process whose parent is already gone (adopted
    by init while it started) leaves at once."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: torchrun's own teardown still applies
        return
    if os.getppid() == 1:
        os._exit(1)


def _torch_threads(threads: int) -> None:
    """A forked child must not wait on the parent's OpenMP thread pool (GNU
    OpenMP is not fork-safe: the child would deadlock in its first parallel
    region). One intra-op thread keeps every kernel on the calling thread, as
    PyTorch's own DataLoader workers do; a timed run (``bench``) asks for the
    machine's threads, safe because modelprof's own process never runs a
    parallel region."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _death(exitcode: int | None, log) -> str:
    """Describe a child that ended without an answer (killed by the OS, crashed, exited)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        cause = " (out of memory?)" if name == "SIGKILL" else ""
        what = f"crashed with {name}{cause}"
    else:
        what = f"exited with code {exitcode} without a result"
    tail = _last_line(log)
    return f"{what}: {tail}" if tail else what


def _last_line(log) -> str:
    try:
        log.seek(0)
        lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return lines[-1][:200] if lines else ""
