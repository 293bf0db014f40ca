"""A one-line progress display on stderr while counters run (terminals only)."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

from .render import console

Callback = Callable[[str, str, float], None]


@contextlib.contextmanager
def progress_reporter(enabled: bool) -> Iterator[Callback | None]:
    """Yield an ``on_progress(counter, state, elapsed_s)`` callback, or None
    when stderr is not a terminal or the output is machine-readable.

    The display refreshes only when called (no background thread), so
    counters can be forked safely while it is shown.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.live import Live
    from rich.text import Text

    finished: list[str] = []
    marks = {"done": "✓", "skipped": "–", "error": "✗"}
    with Live(Text(""), console=console(stderr=True), auto_refresh=False, transient=True) as live:

        def on_progress(counter: str, state: str, elapsed: float) -> None:
            if state in marks:
                finished.append(f"{counter} {marks[state]}")
                line = "  ".join(finished)
            else:
                line = "  ".join([*finished, f"{counter} running {elapsed:.0f} s"])
            live.update(Text(line), refresh=True)

        yield on_progress
