"""The one exception type the CLI maps to an exit code.

Anything raised as a :class:`ModelprofError` is an expected failure: the CLI
prints its message on one line and exits with ``exit_code``. Any other
exception is a bug and keeps its traceback.
"""


class ModelprofError(Exception):
    """An expected failure; ``str(error)`` is the one-line message."""

    exit_code = 2


class BadInput(ModelprofError):
    """Unknown model, unreadable or invalid config, bad option or budget file (exit 2)."""

    exit_code = 2


class CounterFailed(ModelprofError):
    """A counter failed while ``--strict`` was given (exit 3)."""

    exit_code = 3


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing
    what a user typed (a name can be 100 KB long) inside a one-line error."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's whole message on one line (the useful part is often on
    the second line), cut to ``limit`` characters; its type when it has none."""
    text = " ".join(str(error).split())
    return shorten(text, limit) if text else type(error).__name__
