"""``modelprof flops MODEL``: every counter on the same model and input, reconciled."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..models.inputs import InputSpec, parse_named_input, parse_shape
from ..profilers.errors import BadInput, CounterFailed
from ..profilers.pipeline import DEFAULT_TIMEOUT_S, FlopsResult, profile_flops
from ..profilers.units import parse_quantity
from .options import BaseOpt, FormatOpt, ModelArg, TimeoutOpt, TrustRemoteCodeOpt
from .params_cmd import model_title
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, si

SCHEMA_VERSION = 1


class Mode(str, Enum):
    forward = "forward"
    train = "train"
    decode = "decode"


class Attn(str, Enum):
    eager = "eager"
    sdpa = "sdpa"


class By(str, Enum):
    module = "module"
    op = "op"


def flops(
    model: ModelArg,
    counters: Annotated[
        Optional[str],
        typer.Option("--counters", "-c", metavar="NAMES", help="Comma-separated counters [default: all]: analytic, torch, fvcore, thop, ptflops (both backends), ptflops-pytorch, ptflops-aten."),
    ] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, metavar="N", help="Batch size [default: 1, a toy's own].", show_default=False)] = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", "-n", min=1, metavar="N", help="Sequence length of text models and sequence toys [default: 128, a toy's own].", show_default=False)] = None,
    decoder_seq_len: Annotated[Optional[int], typer.Option("--decoder-seq-len", min=1, metavar="N", help="Decoder length of encoder-decoder models [default: --seq-len].")] = None,
    image_size: Annotated[Optional[int], typer.Option("--image-size", min=1, metavar="PIXELS", help="Image side of vision models and image toys [default: from the config].")] = None,
    input_shape: Annotated[Optional[str], typer.Option("--input-shape", metavar="SHAPE", help="One float input tensor, e.g. 1,3,224,224 (toys and Python factories).")] = None,
    audio_seconds: Annotated[Optional[float], typer.Option("--audio-seconds", min=0.01, metavar="SECONDS", help="Seconds of sound fed to audio models [default: 10].")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", metavar="NAME=SHAPE[:DTYPE]", help="A keyword input tensor NAME=SHAPE[:DTYPE], e.g. input_ids=1x128:int64 (repeatable; *_ids and *mask* default to int64, others to float32).")] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="forward; train = forward + backward of a scalar loss (measured); decode = --seq-len new tokens (default 1) after --context cached ones.")] = Mode.forward,
    context: Annotated[Optional[int], typer.Option("--context", min=0, metavar="TOKENS", help="--mode decode: tokens already in the key/value cache [default: 128].", show_default=False)] = None,
    attn: Annotated[Optional[Attn], typer.Option("--attn", help="Attention implementation to build HuggingFace models with [default: transformers' own].")] = None,
    depth: Annotated[int, typer.Option("--depth", "-d", min=0, metavar="N", help="Module rows down to this depth (root = 0).")] = 1,
    by: Annotated[By, typer.Option("--by", help="Rows by module, or by operator category.")] = By.module,
    base: BaseOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 3 when any counter fails.")] = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    max_memory: Annotated[Optional[str], typer.Option("--max-memory", metavar="SIZE", help="Skip real-tensor counters that need more than this, e.g. 8GiB [default: available memory].")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Print the analytic counter's per-layer formulas with the config's numbers filled in.")] = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Forward (or training-step) cost counted by every counter, reconciled: MACs, FLOPs = 2 x MACs, other ops."""
    spec = InputSpec.from_options(
        batch=batch, seq_len=seq_len, decoder_seq_len=decoder_seq_len, image_size=image_size,
        input_shape=parse_shape(input_shape, "--input-shape") if input_shape else None,
        inputs=tuple(parse_named_input(text) for text in inputs or ()), audio_seconds=audio_seconds, context=context,
    )
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"flops {model}") as on_progress:
        result = profile_flops(
            model,
            counters=[c for c in counters.split(",") if c.strip()] if counters else None,
            spec=spec,
            mode=mode.value,
            base=base,
            attn=attn.value if attn else None,
            trust_remote_code=trust_remote_code,
            depth=depth,
            view=by.value,
            timeout_s=timeout,
            max_memory=_bytes(max_memory),
            on_progress=on_progress,
        )
    measured = any(r.ok for r in result.results.values())
    if measured or fmt in (OutputFormat.json, OutputFormat.csv):
        emit(flops_view(result), fmt)
    if not measured:
        raise CounterFailed(f"no counter could count {model}: " + "; ".join(grouped_reasons(result)))
    if explain and fmt in (OutputFormat.table, OutputFormat.markdown):
        emit(explain_view(result), fmt)
    if strict and result.failed():
        raise CounterFailed(f"counter(s) failed: {', '.join(result.failed())} (--strict)")


def _bytes(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_quantity(text)
    except ValueError as error:
        raise BadInput(f"--max-memory: {error}") from None


def flops_payload(result: FlopsResult) -> dict:
    """The JSON contract of ``flops``."""
    reference = result.reference
    spec = result.spec
    return {
        "schema_version": SCHEMA_VERSION,
        "model": result.model.as_json(),
        "input": {
            "batch": spec.batch,
            "seq_len": spec.seq_len,
            "decoder_seq_len": spec.decoder_seq_len,
            "image_size": spec.image_size,
            **({"context": spec.context} if result.mode == "decode" else {}),
            "tensors": result.inputs,
            "options": result.input_options,
            "notes": list(result.input_notes),
            "tokens": result.tokens,
        },
        "mode": result.mode,
        "attention": result.attn or "default",
        "params": _params_json(result),
        "counters": {name: _counter_json(result, name) for name in result.results},
        "reference": {
            "counter": result.table.reference,
            "macs": reference.macs if reference else None,
            "flops": reference.flops if reference else None,
        },
        "rows": [
            {
                "path": row.path,
                "op": row.op,
                "depth": row.depth,
                "type": row.type,
                "params": row.params,
                "values": row.values,
                "reference": row.reference,
                "other_ops": row.other_ops,
                "reasons": row.reasons,
                "findings": {
                    name: [{"kind": f.kind, "category": f.category, "amount": f.amount} for f in found]
                    for name, found in row.findings.items()
                },
            }
            for row in result.table.rows
        ],
        "legend": legend(result),
        "notes": list(result.model.notes),
    }


def _counter_json(result: FlopsResult, name: str) -> dict:
    counted = result.results[name]
    meta = result.counters[name]
    ok = counted.ok
    payload = {
        "native_unit": counted.native_unit,
        "label": meta.label,
        "counts": meta.counts,
        "status": counted.status,
        "reason": counted.reason,
        "macs": counted.macs if ok else None,
        "flops": counted.flops if ok else None,
        "other_ops": counted.other_ops if ok else None,
        "printed": counted.printed,
        "params": counted.params,
        "seconds": round(counted.seconds, 3),
        "uncounted": [{"path": u.path, "op": u.op, "calls": u.calls} for u in counted.uncounted],
        "idle_modules": list(counted.idle_modules),
        "notes": list(counted.notes),
    }
    if counted.groups:
        payload["groups"] = [dict(group) for group in counted.groups]
    if counted.active_params is not None:
        payload["params_active"] = counted.active_params
    if counted.routed_macs is not None:
        payload["routed_macs"] = counted.routed_macs
    if counted.phases:
        payload["phases"] = {phase: {"macs": macs, "flops": 2 * macs} for phase, macs in counted.phases.items()}
    return payload


def _params_json(result: FlopsResult) -> dict:
    params = {"total": result.params.total, "trainable": result.params.trainable}
    analytic = result.results.get("analytic")
    if analytic is not None and analytic.active_params is not None:
        params["active"] = analytic.active_params
    return params


def explain_view(result: FlopsResult) -> View:
    """The analytic counter's formula groups: per repetition, times count, total."""
    analytic = result.results.get("analytic")
    if analytic is None or not analytic.ok:
        why = analytic.reason if analytic is not None else "the analytic counter was not selected"
        raise BadInput(f"--explain needs the analytic counter: {why}")
    rows = []
    for group in analytic.groups:
        each = group["macs"] // group["count"] if group["count"] and group["macs"] % group["count"] == 0 else None
        rows.append({**group, "each": each, "depth": 0})
    rows.append({"name": "total", "path": "", "formula": "", "filled": "", "each": None, "count": None,
                 "macs": analytic.macs, "params": analytic.params, "depth": 0})
    columns = [
        Column("name", "part", "left", wrap=True),
        Column("path", "modules", "left"),
        Column("formula", "MACs per repetition", "left",
               lambda r: f"{r['formula']} = {r['filled']}" if r["formula"] and r["filled"] != r["formula"] else r["formula"],
               wrap=True),
        Column("each", "each", text=lambda r: count(r["each"]) if r["each"] is not None and r["count"] and r["count"] > 1 else ""),
        Column("count", "x", text=lambda r: str(r["count"]) if r["count"] and r["count"] > 1 else ""),
        Column("macs", "MACs", text=lambda r: count(r["macs"])),
        Column("params", "params", text=lambda r: count(r["params"])),
    ]
    notes = [
        f"total {count(analytic.macs)} MACs = {count(analytic.flops)} FLOPs; {count(analytic.params)} params"
        + (f" ({count(analytic.active_params)} active per token)" if analytic.active_params is not None else ""),
        "B batch, n sequence length (m: decoder length); MACs count multiply-accumulates of matmul-like ops only.",
        *analytic.notes,
    ]
    return View(f"Analytic formulas for {result.model.name} ({result.model.class_name})", columns, rows, {}, notes)


def legend(result: FlopsResult) -> list[str]:
    reference = result.table.reference or "none"
    attention = result.attn or "transformers' default (sdpa where supported)"
    hf = result.model.source not in ("toy", "python")
    lines = [
        "MACs: multiply-accumulates of matmul-like ops (linear, attention score and weighted-sum products, conv, recurrent gates).",
        "FLOPs = 2 x MACs (one multiply and one add each); nothing else is ever folded in.",
        "other ops: operations that are not multiply-accumulates (norms, activations, softmax, elementwise, pooling) that a tool added to its own total.",
        f"reference: {reference}; the reference counts attention matmuls whatever the attention implementation.",
        "✓ equals the reference; -category: misses MACs of that category; +category / +bias: counts more, or counts bias adds as MACs; "
        "+N other: non-MAC ops the tool adds to its total (other_ops).",
    ]
    if hf:
        lines.insert(4, f"attention implementation built: {attention} (--attn eager|sdpa to choose).")
    return lines


def _cell(row, name: str) -> str:
    value = row.values.get(name)
    if value is None:
        return "-"
    tags = " ".join(dict.fromkeys(f.tag for f in row.findings.get(name, ()) if f.kind != "other_ops"))
    mark = " ✓" if row.reference is not None and value == row.reference else ""
    other = row.other_ops.get(name)
    return f"{si(value)}{mark}" + (f" {tags}" if tags else "") + (f"\n+{si(other)} other" if other else "")


def flops_view(result: FlopsResult) -> View:
    table = result.table
    names = list(result.results)
    shown = [n for n in names if result.results[n].status != "skipped"]
    rows = []
    for row in table.rows:
        flat = {
            "path": row.path,
            "op": row.op or "",
            "depth": row.depth,
            "type": row.type,
            "params": row.params,
            "reference_macs": row.reference,
            "reference_flops": 2 * row.reference if row.reference is not None else None,
            "_row": row,
        }
        for name in shown:
            flat[f"{name}_macs"] = row.values.get(name)
            flat[f"{name}_other_ops"] = row.other_ops.get(name)
            flat[f"{name}_reason"] = row.reasons.get(name, "")
        rows.append(flat)
    first = (
        [Column("op", "operator", "left")]
        if table.view == "op"
        else [Column("path", "module", "left", lambda r: r["path"] or "(root)", indent=True),
              Column("params", "params", text=lambda r: count(r["params"]))]
    )
    reference = [
        Column("reference_macs", f"{table.reference} MACs (reference)" if table.reference else "MACs (no reference)",
               text=lambda r: si(r["reference_macs"])),
        Column("reference_flops", "FLOPs", text=lambda r: si(r["reference_flops"])),
    ]
    per_counter = {n: Column(f"{n}_macs", f"{n} MACs", text=lambda r, n=n: _cell(r["_row"], n), wrap=True) for n in shown}
    # the reference counter's own column would repeat the reference column
    columns = [*first, *reference, *(c for n, c in per_counter.items() if n != table.reference)]
    csv_extra = [Column(f"{n}_{part}", f"{n} {part}") for n in shown for part in ("other_ops", "reason")]
    mode = f"decode after {result.spec.context:,} cached tokens" if result.mode == "decode" else result.mode
    title = model_title(result.model, "FLOPs") + f" · {_input_text(result)} · {mode}"
    if result.model.source not in ("toy", "python"):
        title += f" · attention: {result.attn or 'default'}"
    csv_columns = [first[0], Column("depth", "depth"), Column("type", "type"), *first[1:], *reference,
                   *per_counter.values(), *csv_extra]
    return View(title, columns, rows, flops_payload(result), summary(result), csv_columns=csv_columns)


def _input_text(result: FlopsResult) -> str:
    return ", ".join(f"{name} {'x'.join(map(str, t['shape']))}" for name, t in result.inputs.items())


def summary(result: FlopsResult) -> list[str]:
    """Lines under the table: what each counter printed and what it counts,
    why the totals differ, the training-step rule of thumb, the legend."""
    lines = [f"Inputs: {note}" for note in result.input_notes]
    lines += ["", "Counters (what each printed, and what it really counts):"]
    root = result.table.rows[0] if result.table.rows and result.table.view == "module" else None
    for name, counted in result.results.items():
        meta = result.counters[name]
        if not counted.ok:
            continue
        printed = f"printed {count(counted.printed)} {meta.label}" if counted.printed is not None else "computed"
        parts = f"{count(counted.macs)} MACs = {count(counted.flops)} FLOPs"
        if counted.other_ops:
            parts += f" + {count(counted.other_ops)} other ops"
        params = f"; params {count(counted.params)}" if counted.params is not None else ""
        lines.append(f"  {name}: {printed} -> {parts}{params} ({counted.seconds:.1f} s)")
        lines.append(f"      counts {meta.counts}")
        if counted.uncounted:
            lines.append(f"      ran but not counted: {uncounted_summary(counted.uncounted)}")
        if not counted.groups:  # the analytic counter's notes belong to --explain
            lines.extend(f"      {note}" for note in counted.notes)
    lines.extend(f"  {line}" for line in grouped_reasons(result))
    reference = result.reference
    if reference is not None:
        split: dict[str, int] = {}
        for record in reference.records:
            if record.macs:
                split[record.op] = split.get(record.op, 0) + record.macs
        parts = " + ".join(f"{op} {count(macs)}" for op, macs in sorted(split.items(), key=lambda kv: -kv[1]))
        lines.append("")
        lines.append(f"Reference ({result.table.reference}): {count(reference.macs)} MACs = {parts}; FLOPs = 2 x MACs = {count(reference.flops)}")
    if root is not None and root.findings:
        lines.append("")
        lines.append(f"Why they differ from the reference ({result.table.reference}), whole model:")
        for name, found in root.findings.items():
            lines.append(f"  {name}: " + "; ".join(f.text for f in found))
    if result.mode == "train":
        lines.extend(["", *rule_of_thumb(result)])
    lines.append("")
    lines.extend(legend(result))
    lines.extend(result.model.notes)
    return lines


def grouped_reasons(result: FlopsResult) -> list[str]:
    """``fvcore, thop: skipped: counts a forward pass only``: counters that
    gave no figure, those with the same status and reason on one line."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, counted in result.results.items():
        if not counted.ok:
            groups.setdefault((counted.status, counted.reason), []).append(name)
    return [f"{', '.join(names)}: {status}: {reason}" for (status, reason), names in groups.items()]


def uncounted_summary(uncounted, limit: int = 8) -> str:
    """``aten::tanh x2, aten::sigmoid x1`` over the whole model, most frequent first."""
    calls: dict[str, int] = {}
    for item in uncounted:
        calls[item.op] = calls.get(item.op, 0) + item.calls
    ranked = sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{op} x{n}" for op, n in ranked[:limit])
    return shown + (f" and {len(ranked) - limit} more" if len(ranked) > limit else "")


def rule_of_thumb(result: FlopsResult) -> list[str]:
    """Kaplan et al. 2020's forward 2·N·T / backward 4·N·T rule beside the measured step."""
    counted = result.results.get("torch")
    n, tokens = result.params.total, result.tokens
    lines = [
        f"Rule of thumb (Kaplan et al. 2020, \"Scaling Laws for Neural Language Models\"): forward 2·N·T = "
        f"{count(2 * n * tokens)} FLOPs, backward 4·N·T = {count(4 * n * tokens)}, "
        f"step 6·N·T = {count(6 * n * tokens)} (N = {count(n)} params, T = {count(tokens)} tokens)."
    ]
    if counted is not None and counted.ok and counted.phases:
        forward, backward = counted.phases["forward"], counted.phases["backward"]
        lines.append(
            f"Measured by torch: forward {count(2 * forward)} FLOPs + backward {count(2 * backward)} = "
            f"{count(2 * (forward + backward))} FLOPs (backward/forward = {backward / forward:.2f})."
            if forward else "Measured by torch: no forward FLOPs."
        )
        lines.append(
            "Module rows show forward MACs; the backward pass is counted for the whole model (the root row): "
            "FlopCounterMode places backward ops by backward hooks, which residual connections defeat."
        )
    return lines
