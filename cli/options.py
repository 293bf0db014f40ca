"""Option aliases shared by the commands, so every command spells them alike."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from .render import OutputFormat


class Dtype(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"
    int8 = "int8"
    fp8 = "fp8"
    fp64 = "fp64"


ModelArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="Bundled hub id or alias (see `modelprof list`), a config.json or folder holding one, "
        "a hub id (local cache first), toy:NAME, or file.py:factory / package.module:factory.",
        show_default=False,
    ),
]
BaseOpt = Annotated[
    bool,
    typer.Option("--base", help="Build the bare backbone (AutoModel) instead of the config's `architectures` class."),
]
DepthOpt = Annotated[int, typer.Option("--depth", "-d", min=0, metavar="N", help="Show modules down to this depth (root = 0).")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
DtypeOpt = Annotated[
    Optional[Dtype],
    typer.Option("--dtype", help="Bytes at this dtype [default: the config's checkpoint dtype, else each tensor's own]."),
]
TrustRemoteCodeOpt = Annotated[
    bool,
    typer.Option("--trust-remote-code", help="Allow running the custom code a config's auto_map points to."),
]
ShowEmptyOpt = Annotated[
    bool, typer.Option("--show-empty", help="Also list modules without parameters (dropout, activations, ...).")
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=1, metavar="SECONDS", help="Seconds the model build, and each counter, may run."),
]
