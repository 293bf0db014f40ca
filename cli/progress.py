"""A one-line progress display on stderr while models are built and counted
(terminals only; never in JSON or CSV runs)."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from .render import console

MARKS = {"done": "✓", "skipped": "–", "error": "✗"}


class ProgressLine:
    """``on_progress(task, state, elapsed_s)`` for the core, drawn as one line:
    the headline, the tasks finished so far with a mark, the one running with
    its seconds. It redraws only when called (no background thread), so
    children can be forked safely while it is shown."""

    def __init__(self, live):
        self.live = live
        self.headline = ""
        self.finished: list[str] = []

    def start(self, headline: str) -> None:
        """A new headline (a model of a budget file, say); clears the tasks."""
        self.headline, self.finished = headline, []
        self._draw("starting")

    def __call__(self, task: str, state: str, elapsed: float) -> None:
        label = "building the model" if task == "build" else task
        if state in MARKS:
            if task != "build":
                self.finished.append(f"{label} {MARKS[state]}")
            self._draw("")
        else:
            self._draw(f"{label} {elapsed:.0f} s")

    def _draw(self, running: str) -> None:
        from rich.text import Text

        parts = [self.headline, *self.finished, running]
        self.live.update(Text("  ".join(p for p in parts if p)), refresh=True)


@contextlib.contextmanager
def progress_line(enabled: bool, headline: str) -> Iterator[ProgressLine | None]:
    """A :class:`ProgressLine` showing ``headline`` at once, or None when
    disabled or stderr is not a terminal. It disappears when the block ends."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.live import Live
    from rich.text import Text

    with Live(Text(""), console=console(stderr=True), auto_refresh=False, transient=True) as live:
        line = ProgressLine(live)
        line.start(headline)
        yield line
