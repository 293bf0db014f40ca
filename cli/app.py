"""The ``modelprof`` Typer app and the single place errors become exit codes.

Exit codes: 0 success; 1 a budget check failed (``check``); 2 bad input (unknown model,
malformed config, invalid option or budget file); 3 a counter failed under
``--strict``; 70 an internal error (a bug). Expected errors print one line on
stderr; ``MODELPROF_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from ..profilers.errors import ModelprofError
from .check_cmd import check
from .flops_cmd import flops
from .list_cmd import list_models
from .params_cmd import params

EXIT_INTERNAL = 70

app = typer.Typer(
    name="modelprof",
    help="Parameters and FLOPs of PyTorch / HuggingFace models, counted several ways and reconciled.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("params")(params)
app.command("flops")(flops)
app.command("check")(check)
app.command("list")(list_models)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"modelprof {version('modelprof')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Parameters and FLOPs of PyTorch / HuggingFace models, counted several ways and reconciled."""


def _debug() -> bool:
    return os.environ.get("MODELPROF_DEBUG", "").strip() not in ("", "0")


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"modelprof: error: {message}\n")
    return code


def _is_usage_error(error: Exception) -> bool:
    """Click's usage errors (bad option, missing argument), whichever copy of
    click Typer ships with: they carry ``format_message`` and exit code 2."""
    return callable(getattr(error, "format_message", None)) and getattr(error, "exit_code", None) == 2


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (never raises for expected errors)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="modelprof", standalone_mode=False)
    except ModelprofError as error:
        if _debug():
            raise
        return _fail(str(error), error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return _fail("interrupted", 130)
    except Exception as error:
        if _debug():
            raise
        if _is_usage_error(error):
            return _fail(error.format_message().replace("\n", " "), 2)
        # anything else is a bug: keep it to one line unless debugging
        return _fail(f"internal error: {type(error).__name__}: {error} (MODELPROF_DEBUG=1 shows the traceback)", EXIT_INTERNAL)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
