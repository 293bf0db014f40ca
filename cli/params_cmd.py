"""``modelprof params MODEL``: parameters by module."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from ..profilers.params import DTYPE_BYTES, ParamReport
from ..profilers.pipeline import DEFAULT_TIMEOUT_S, ParamsResult, profile_params
from ..profilers.records import ModelInfo
from .options import BaseOpt, DepthOpt, DtypeOpt, FormatOpt, ModelArg, ShowEmptyOpt, TimeoutOpt, TrustRemoteCodeOpt
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, percent, size

SCHEMA_VERSION = 1


class ParamsCounter(str, Enum):
    torch = "torch"
    analytic = "analytic"


def params(
    model: ModelArg,
    depth: DepthOpt = 2,
    base: BaseOpt = False,
    dtype: DtypeOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    counters: Annotated[
        ParamsCounter,
        typer.Option("--counters", "-c", help="torch: build the model on the meta device; analytic: closed forms from the config, without importing torch."),
    ] = ParamsCounter.torch,
    trust_remote_code: TrustRemoteCodeOpt = False,
    show_empty: ShowEmptyOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """Parameters by module: counts, shares, trainable/frozen, tied weights once, bytes."""
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"params {model}") as on_progress:
        result = profile_params(
            model,
            base=base,
            dtype=dtype.value if dtype else None,
            trust_remote_code=trust_remote_code,
            analytic=counters is ParamsCounter.analytic,
            timeout_s=timeout,
            on_progress=on_progress,
        )
    emit(params_view(result, depth, show_empty), fmt)


def model_title(info: ModelInfo, what: str) -> str:
    where = info.source if info.location == info.name else f"{info.source}: {info.location}"
    return f"{what} of {info.name} · {info.class_name} · {where}"


def params_payload(report: ParamReport, depth: int | None, show_empty: bool) -> dict:
    """The ``params`` and ``modules`` members of the JSON contract."""
    return {
        "params": {
            "total": report.total,
            "trainable": report.trainable,
            "frozen": report.frozen,
            "embedding": report.embedding,
            "non_embedding": report.non_embedding,
            "bytes": report.bytes,
            "dtype": report.dtype,
            "bytes_by_dtype": {name: report.total * width for name, width in DTYPE_BYTES.items()},
        },
        "modules": [
            {
                "path": m.path,
                "type": m.type,
                "depth": m.depth,
                "params": m.params,
                "trainable": m.trainable,
                "embedding": m.embedding,
                "bytes": m.bytes,
                "tied": list(m.tied),
            }
            for m in report.rows(depth, show_empty)
        ],
        "tied": [{"param": t.param, "same_as": t.same_as, "params": t.params} for t in report.tied],
    }


def params_view(result: ParamsResult, depth: int | None, show_empty: bool = False) -> View:
    report = result.report
    rows = [
        {
            "path": m.path,
            "type": m.type,
            "depth": m.depth,
            "params": m.params,
            "share": percent(m.params, report.total),
            "trainable": m.trainable,
            "embedding": m.embedding,
            "bytes": m.bytes,
            "tied": "; ".join(m.tied),
        }
        for m in report.rows(depth, show_empty)
    ]
    columns = [
        Column("path", "module", "left", lambda r: r["path"] or "(root)", indent=True),
        Column("type", "type", "left"),
        Column("params", "params", text=lambda r: count(r["params"])),
        Column("share", "share"),
        Column("trainable", "trainable", text=lambda r: count(r["trainable"])),
        Column("bytes", f"size ({report.dtype})", text=lambda r: size(r["bytes"])),
    ]
    if report.tied:
        columns.append(Column("tied", "tied (counted elsewhere)", "left", wrap=True))
    table_columns = columns if report.frozen else [c for c in columns if c.key != "trainable"]
    payload = {"schema_version": SCHEMA_VERSION, "model": result.model.as_json(), **params_payload(report, depth, show_empty)}
    if result.active_params is not None:
        payload["params"]["active"] = result.active_params
    payload["notes"] = list(result.model.notes)
    notes = params_notes(report, result.model, result.active_params)
    # every parameter trainable: the column would repeat "params" (the notes say so)
    return View(model_title(result.model, "Parameters"), table_columns, rows, payload, notes, csv_columns=columns)


def params_notes(report: ParamReport, info: ModelInfo, active: int | None = None) -> list[str]:
    notes = [
        f"total {count(report.total)} params · trainable {count(report.trainable)} · frozen {count(report.frozen)}",
        f"embedding {count(report.embedding)} · non-embedding {count(report.non_embedding)}",
        f"size {count(report.bytes)} bytes ({size(report.bytes)}) at {report.dtype}",
    ]
    if active is not None:
        notes.append(f"active per token (mixture of experts, top-k routed + shared): {count(active)}")
    if report.tied:
        shown = ", ".join(f"{t.param} = {t.same_as}" for t in report.tied[:4])
        more = f" and {len(report.tied) - 4} more" if len(report.tied) > 4 else ""
        notes.append(f"tied (counted once): {shown}{more}")
    notes.extend(info.notes)
    return notes
