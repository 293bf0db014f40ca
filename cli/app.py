"""The ``modelprof`` Typer app and the single place errors become exit codes.

Exit codes: 0 success; 1 a budget check failed (``check``); 2 bad input (unknown model,
malformed config, invalid option or budget file); 3 a counter failed under
``--strict``; 70 an internal error (a bug). Expected errors print one line on
stderr; ``MODELPROF_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import typer

from ..profilers.errors import ModelprofError, shorten
from ..profilers.isolation import Terminated, reap_children, terminate_on_signals
from .bench_cmd import bench
from .check_cmd import check
from .flops_cmd import flops
from .list_cmd import list_models
from .memory_cmd import memory
from .params_cmd import params
from .scale_cmd import scale

EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE

app = typer.Typer(
    name="modelprof",
    help="Parameters and FLOPs of PyTorch / HuggingFace models, counted several ways and reconciled.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help is plain text: "[default: ...]" and "[tool.modelprof]" are not markup
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 200},  # as wide as the terminal allows
)
app.command("params", short_help="Parameters by module, tied weights once, bytes.")(params)
app.command("flops", short_help="MACs and FLOPs by every counter, reconciled.")(flops)
app.command("scale", short_help="How the cost grows with the sequence length: polynomial, crossovers.")(scale)
app.command("memory", short_help="Memory to train or serve: states, activations, KV cache, per GPU.")(memory)
app.command("bench", short_help="Measured step time, achieved FLOP/s and MFU; across processes with torchrun.")(bench)
app.command("check", short_help="CI gate: models against budget limits.")(check)
app.command("list", short_help="Bundled models and toy nets.")(list_models)


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
    """Run the CLI on ``argv`` and return the exit code (never raises for expected errors).

    SIGTERM, SIGHUP and SIGINT (Ctrl-C) end the run cleanly: builds and
    counters running in child processes are killed first (exit 128 + the
    signal number, one line on stderr). A reader that goes away (``| head``)
    ends the run quietly with 141, as a program killed by SIGPIPE would.
    """
    command = typer.main.get_command(app)
    argv = optional_values(sys.argv[1:] if argv is None else list(argv))
    try:
        with terminate_on_signals():
            result = command.main(args=argv, prog_name="modelprof", standalone_mode=False)
    except ModelprofError as error:
        if _debug():
            raise
        return _fail(str(error), error.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C before the handlers were in place
        return _fail("interrupted", 128 + signal.SIGINT)
    except Terminated as stop:
        reap_children()
        return _fail(f"stopped by {stop}", 128 + stop.signum)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if _debug():
            raise
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `modelprof`: the help is the answer
            sys.stdout.write(error.format_message().rstrip() + "\n")
            return 0
        if _is_usage_error(error):
            return _fail(error.format_message().replace("\n", " ").strip(), 2)
        # anything else is a bug: keep it to one line unless debugging
        detail = shorten(" ".join(str(error).split()), 300)
        return _fail(f"internal error: {type(error).__name__}: {detail} (MODELPROF_DEBUG=1 shows the traceback)", EXIT_INTERNAL)
    return result if isinstance(result, int) else 0


# options whose value may be left out (click cannot say so through Typer): option -> (what a value
# looks like, the value when it is left out). ``scale --plot`` draws in the terminal, ``--plot f.png`` writes a file.
OPTIONAL_VALUES = {"--plot": ((".png", ".svg", ".pdf", ".jpg", ".jpeg", ".gif", ".eps", ".webp"), "-")}


def optional_values(argv: list[str]) -> list[str]:
    """``argv`` with the implied value after an option given without one."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in OPTIONAL_VALUES:
            suffixes, implied = OPTIONAL_VALUES[arg]
            following = argv[i + 1] if i + 1 < len(argv) else ""
            if not following.lower().endswith(suffixes):
                out.append(implied)
    return out


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main() -> None:
    if all(name in os.environ for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "TORCHELASTIC_RUN_ID")):
        from ..profilers.isolation import die_with_parent

        die_with_parent()  # a rank torchrun started: first thing, before the imports that take seconds
    code = run()
    try:
        sys.stdout.flush()  # what is still buffered may meet a closed pipe too
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
