"""``modelprof memory MODEL``: what a model needs to train and to serve."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..models.inputs import InputSpec
from ..profilers.footprint import INFER, TRAIN, Column as Footprint, MemoryRequest, MemoryResult, profile_memory
from ..profilers.model_states import OPTIMIZERS
from ..profilers.pipeline import DEFAULT_TIMEOUT_S
from ..profilers.units import parse_quantity
from .flops_cmd import Attn
from .options import BaseOpt, DepthOpt, FormatOpt, ModelArg, TimeoutOpt, TrustRemoteCodeOpt
from .params_cmd import model_title
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, percent, size
from .scale_cmd import parse_lengths

SCHEMA_VERSION = 1

Optimizer = Enum("Optimizer", {name.replace("-", "_"): name for name in OPTIMIZERS}, type=str)


class MemoryMode(str, Enum):
    train = TRAIN
    infer = INFER


class MemoryDtype(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class Precision(str, Enum):
    pure = "pure"
    mixed = "mixed"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


class Checkpointing(str, Enum):
    none = "none"
    full = "full"


def memory(
    model: ModelArg,
    mode: Annotated[MemoryMode, typer.Option("--mode", help="train: weights, gradients, optimizer states, activations; infer: weights, key/value cache, working set.")] = MemoryMode.train,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, metavar="N", help="Batch size [default: 1].", show_default=False)] = None,
    seq_len: Annotated[Optional[str], typer.Option("--seq-len", "-n", metavar="LENGTHS", help="Sequence length, or several (1024,4096,16384 or a doubling range 1024:16384): one column each [default: 128].", show_default=False)] = None,
    decoder_seq_len: Annotated[Optional[int], typer.Option("--decoder-seq-len", min=1, metavar="N", help="Decoder length of encoder-decoder models [default: the sequence length].")] = None,
    image_size: Annotated[Optional[int], typer.Option("--image-size", min=1, metavar="PIXELS", help="Image side of vision models [default: from the config].")] = None,
    dtype: Annotated[Optional[MemoryDtype], typer.Option("--dtype", help="Weights and activations [default: fp32; bf16 with --precision mixed].", show_default=False)] = None,
    precision: Annotated[Precision, typer.Option("--precision", help="pure: everything at --dtype; mixed: 16-bit weights and gradients, fp32 master weights and optimizer states.")] = Precision.pure,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="Optimizer states kept per parameter.")] = Optimizer.adamw,
    attn: Annotated[Optional[Attn], typer.Option("--attn", help="Attention implementation of HuggingFace models [default: transformers' own].")] = None,
    checkpointing: Annotated[Checkpointing, typer.Option("--checkpointing", help="full: activation checkpointing of every repeated layer.")] = Checkpointing.none,
    context: Annotated[Optional[int], typer.Option("--context", min=0, metavar="TOKENS", help="--mode infer: tokens in the key/value cache [default: the sequence length].", show_default=False)] = None,
    gpus: Annotated[int, typer.Option("--gpus", min=1, metavar="N", help="Data-parallel GPUs (per-GPU figures).")] = 1,
    zero: Annotated[int, typer.Option("--zero", min=0, max=3, metavar="STAGE", help="ZeRO stage with --gpus: 1 shards optimizer states, 2 also gradients, 3 also weights.")] = 0,
    fit: Annotated[Optional[str], typer.Option("--fit", metavar="SIZE|DEVICE", help="Device memory (80GiB) or a device (A100-80GB, H100, ...): the largest batch and length that fit.", show_default=False)] = None,
    measure: Annotated[bool, typer.Option("--measure", help="Also run two training steps with random weights: simulated on fake tensors, then for real (models that fit), measured by PyTorch's MemTracker.")] = False,
    device: Annotated[Device, typer.Option("--device", help="Where --measure runs its real steps.")] = Device.cpu,
    depth: DepthOpt = 1,
    base: BaseOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Memory to train or serve: weights, gradients, optimizer, activations (measured), KV cache, per GPU."""
    lengths = parse_lengths(seq_len, "--seq-len") if seq_len else ()
    spec = InputSpec.from_options(batch=batch, seq_len=lengths[0] if lengths else None,
                                  decoder_seq_len=decoder_seq_len, image_size=image_size)
    device_bytes, device_name = _device(fit) if fit else (None, None)
    chosen_dtype = dtype.value if dtype else ("bf16" if precision is Precision.mixed else "fp32")
    request = MemoryRequest(
        model, spec, lengths, mode.value, chosen_dtype, precision.value, optimizer.value,
        attn.value if attn else None, checkpointing.value, context, gpus, zero, device_bytes, device_name, base,
        trust_remote_code, timeout, measure, device.value,
    )
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"memory {model}") as on_progress:
        result = profile_memory(request, on_progress)
    emit(memory_view(result, depth), fmt)
    if fmt in (OutputFormat.table, OutputFormat.markdown) and result.request.mode == TRAIN and depth > 0:
        emit(modules_view(result, depth), fmt)
    if fmt in (OutputFormat.table, OutputFormat.markdown) and result.measured is not None:
        emit(measured_view(result), fmt)


def _device(text: str) -> tuple[int, str | None]:
    """``--fit``: a size (80GiB) or a device of the hardware table."""
    try:
        return parse_quantity(text), None
    except ValueError:
        from ..profilers.hardware import find_device

        found = find_device(text)
        return found.memory_bytes, found.name


# ---------------------------------------------------------------------------
# the views
# ---------------------------------------------------------------------------


def _parts(result: MemoryResult) -> list[tuple[str, str, int]]:
    """(key, label, depth) of the rows, in order."""
    train = result.request.mode == TRAIN
    parts = [("weights", "weights", 0)]
    if train:
        parts += [("gradients", "gradients", 0), ("optimizer", "optimizer states", 0)]
    parts += [("activations", "activations" if train else "working set (one forward)", 0)]
    if any(c.attention_scores is not None for c in result.columns):
        parts += [("attention_scores", "attention scores (n²)", 1), ("other_activations", "other", 1)]
    if not train:
        parts += [("kv_cache", "KV cache", 0)]
    return parts + [("peak", "peak (sum)", 0)]


def _value(column: Footprint, key: str) -> int | None:
    if key == "other_activations":
        return None if column.attention_scores is None else column.activations - column.attention_scores
    if key == "peak":
        return column.peak
    return getattr(column, key)


def _label(column: Footprint) -> str:
    return f"n = {column.seq_len:,}" if column.seq_len is not None else f"batch {column.batch}"


def memory_view(result: MemoryResult, depth: int) -> View:
    parts = _parts(result)
    single = len(result.columns) == 1
    rows = []
    for key, label, indent in parts:
        row = {"part": label, "key": key, "depth": indent}
        for i, column in enumerate(result.columns):
            value = _value(column, key)
            row[f"bytes{i}"] = value
            row[f"share{i}"] = percent(value, column.peak) if value is not None else ""
        rows.append(row)
    columns = [Column("part", "part", align="left", indent=True)]
    for i, column in enumerate(result.columns):
        if single:
            columns += [Column(f"bytes{i}", "bytes", text=lambda r, i=i: count(r[f"bytes{i}"])),
                        Column(f"size{i}", "size", text=lambda r, i=i: size(r[f"bytes{i}"])),
                        Column(f"share{i}", "share")]
        else:
            columns.append(Column(f"bytes{i}", _label(column), text=lambda r, i=i: _cell(r[f"bytes{i}"], r[f"share{i}"]),
                                  wrap=True))
    csv_columns = [Column("key", "key")] + [Column(f"bytes{i}", f"bytes_{_label(c).replace(' ', '')}")
                                            for i, c in enumerate(result.columns)]
    view = View(_title(result), columns, rows, memory_payload(result, depth), _notes(result), csv_columns=csv_columns)
    view.row_styles = ["bold" if key == "peak" else "" for key, _, _ in parts]
    return view


def _cell(value: int | None, share: str) -> str:
    return "" if value is None else f"{size(value)} {share}"


def _title(result: MemoryResult) -> str:
    r = result.request
    first = result.columns[0]
    inputs = ", ".join(f"{name} {'x'.join(map(str, shape))}" if shape else name for name, shape in result.inputs.items())
    what = (f"train · {r.dtype} · {r.precision} precision · {r.optimizer}" if r.mode == TRAIN
            else f"infer · {r.dtype}")
    extra = [f"batch {first.batch}"] + ([f"n = {first.seq_len:,}"] if len(result.columns) == 1 and first.seq_len else [])
    if r.gpus > 1:
        extra.append(f"per GPU of {r.gpus}, ZeRO {r.zero}")
    if r.checkpointing == "full":
        extra.append("full checkpointing")
    if r.mode == INFER and result.kv is not None:
        extra.append(f"KV cache of {r.context:,} tokens" if r.context is not None else "KV cache as long as the input")
    title = model_title(result.model, "Memory") + f" · {what} · " + " · ".join(extra)
    if inputs:
        title += f" · {inputs}"
    return title + f" · attention: {result.attention or 'n/a'}"


def _notes(result: MemoryResult) -> list[str]:
    notes = [f"Model states: {result.states.formula}."]
    notes.append(_activation_note(result))
    if result.request.mode == INFER:
        notes.append(f"KV cache: {result.kv.per_token:,} bytes per token of one sequence ({result.kv.formula})"
                     + (f"; {result.kv.windowed_layers} layer(s) keep at most {result.kv.window:,} tokens" if result.kv.window else "")
                     if result.kv else f"KV cache: none: {result.kv_note}")
    if result.fitted:
        notes += _fit_notes(result)
    notes += list(result.notes)
    notes.append("peak = the sum of every part above (never the largest of them)")
    return notes


def _activation_note(result: MemoryResult) -> str:
    r = result.request
    what = ("bytes autograd saves in one training-mode forward (dropout on)" if r.mode == TRAIN
            else "the highest total of live tensors during one no-grad forward")
    text = f"Activations: {what}, measured on fake tensors (no memory allocated)"
    if result.source == "fit":
        points = ", ".join(f"(n {n}, B {b})" if n else f"(B {b})" for n, b in result.verified_at)
        fitted = sorted({n for n, _ in result.fit_at})
        text += (f"; exact polynomial in n and B fitted at n = {', '.join(map(str, fitted))} and B = 1, 2, 3, "
                 f"verified at {points}" if fitted != [0] else f"; exact in B, fitted at B = 1, 2, 3, verified at {points}")
        poly = result.polynomial
        if poly is not None:
            text += f": {polynomial_text(poly.batched)} bytes"
            if not poly.same:
                text += f" (batch 1: {polynomial_text(poly.single)}; one sample keeps a view where larger batches copy)"
    if any(c.attention_scores is not None for c in result.columns):
        text += "; attention scores (n²): its n² terms (score and probability matrices, dropout and attention masks)"
    if result.attention == "sdpa" and r.mode == TRAIN:
        text += "; SDPA is counted as its fused kernel saves it (attention dropout inside the kernel, as on GPUs)"
    if r.mode == TRAIN and result.language_loss:
        text += "; the step trains on the model's own loss (its token ids as labels: cross-entropy over fp32 logits)"
    return text


def polynomial_text(poly) -> str:
    """``1,728·n²·B + 672,976·n·B + 8·n + 3,072·B``."""
    def term(i: int, j: int, c: int) -> str:
        factors = [f"{c:,}"] + (["n" if i == 1 else f"n{'²' if i == 2 else f'^{i}'}"] if i else []) + (["B"] if j else [])
        return "·".join(factors)

    terms = sorted(poly.terms.items(), key=lambda kv: (-kv[0][0], -kv[0][1]))
    return " + ".join(term(i, j, c) for (i, j), c in terms).replace("+ -", "− ") or "0"


def _fit_notes(result: MemoryResult) -> list[str]:
    fitted = result.fitted
    device = f"{fitted.device} ({size(fitted.device_bytes)})" if fitted.device else size(fitted.device_bytes)
    lines = []
    for n, b in fitted.max_batch.items():
        at = f" at n = {n:,}" if n is not None and result.columns[0].seq_len is not None else ""
        lines.append(f"Fits {device}: largest batch{at}: {b:,}" if b else f"Fits {device}: not even batch 1{at}")
    if fitted.max_seq_len is not None:
        lines.append(f"Fits {device}: longest sequence at batch {result.columns[0].batch}: {fitted.max_seq_len:,} tokens")
    return lines + [f"  {note}" for note in fitted.notes]


def modules_view(result: MemoryResult, depth: int) -> View:
    """Activations by module at the last length, summed into the module tree down to ``depth``."""
    column = result.columns[-1]
    rows = []
    for path, module_depth, total, quadratic in module_rows(result, column, depth):
        rows.append({"module": path.rsplit(".", 1)[-1] if path else "(root)", "depth": module_depth, "path": path,
                     "bytes": total, "size": size(total), "scores": quadratic, "share": percent(total, column.activations)})
    columns = [Column("module", "module", align="left", indent=True), Column("bytes", "activations", text=lambda r: count(r["bytes"])),
               Column("size", "size"), Column("share", "share")]
    if column.attention_scores is not None:
        columns.append(Column("scores", "of which n²", text=lambda r: size(r["scores"])))
    title = f"Activations by module, {_label(column)}" + (f", batch {column.batch}" if column.seq_len is not None else "")
    return View(title, columns, rows, {}, [])


MEASURED_ROWS = ("weights", "buffers", "gradients", "optimizer", "activations", "temporaries", "inputs")


def measured_view(result: MemoryResult) -> View:
    """The prediction beside the two steps on fake tensors and for real, by MemTracker's categories at its peak."""
    column = result.columns[0]
    simulated, measured = result.simulated.by_category, result.measured.by_category
    rows = []
    for key in MEASURED_ROWS:
        predicted = _value(column, key) if key in ("weights", "gradients", "optimizer", "activations") else None
        if predicted or simulated.get(key) or measured.get(key):
            rows.append({"part": key, "predicted": predicted, "simulated": simulated.get(key, 0), "measured": measured.get(key, 0)})
    rows.append({"part": "peak", "predicted": column.peak, "simulated": result.simulated.peak, "measured": result.measured.peak})
    columns = [Column("part", "at the peak", align="left")] + [
        Column(k, h, text=lambda r, k=k: count(r[k])) for k, h in
        (("predicted", "predicted (sum)"), ("simulated", "simulated step"), ("measured", "measured step"))]
    peak = result.measured.peak
    notes = [
        f"measured: two training steps (forward, backward, {result.request.optimizer} step) with random weights on "
        f"{result.measured.device}, by {result.measured.tool}; simulated: the same steps on fake tensors",
        f"predicted sum − measured peak = {column.peak - peak:+,} bytes ({100 * (column.peak - peak) / peak:+.1f}%); "
        f"simulated − measured = {result.simulated.peak - peak:+,} ({100 * (result.simulated.peak - peak) / peak:+.2f}%)",
        "the sum holds every activation and every gradient at once, which a step never does (activations are freed "
        "as gradients appear), and leaves out the backward's and the optimizer step's temporaries; MemTracker "
        "rounds each storage up to 512 bytes",
    ]
    view = View("Predicted against measured", columns, rows, {}, notes)
    view.row_styles = ["bold" if r["part"] == "peak" else "" for r in rows]
    return view


def module_rows(result: MemoryResult, column: Footprint, depth: int) -> list[tuple[str, int, int, int | None]]:
    """(path, depth, bytes, n² part) of the module tree rows down to ``depth``
    with activations, each the sum over its subtree."""
    rows = []
    for row in result.report.rows(depth):
        inside = [v for path, v in column.by_module.items() if not row.path or path == row.path or path.startswith(row.path + ".")]
        total = sum(v[0] for v in inside)
        if total or not row.path:
            quadratic = None if column.attention_scores is None else sum(v[1] or 0 for v in inside)
            rows.append((row.path, row.depth, total, quadratic))
    return rows


def memory_payload(result: MemoryResult, depth: int) -> dict:
    """The JSON contract of ``memory`` (bytes, integers)."""
    r = result.request
    columns = [_column_payload(result, c, depth) for c in result.columns]
    first = result.columns[0]
    payload = {
        "schema_version": SCHEMA_VERSION,
        "model": result.model.as_json(),
        "input": {"batch": first.batch, "seq_len": first.seq_len, "seq_lens": [c.seq_len for c in result.columns],
                  "decoder_seq_len": r.spec.decoder_seq_len, "image_size": r.spec.image_size, "tensors": result.inputs,
                  **({"context": r.context if r.context is not None else first.seq_len} if r.mode == INFER else {})},
        "mode": r.mode,
        "settings": {"dtype": r.dtype, "precision": r.precision, "optimizer": r.optimizer, "attn": result.attention,
                     "checkpointing": r.checkpointing, "gpus": r.gpus, "zero": r.zero},
        "params": {"total": result.params.total, "trainable": result.params.trainable},
        "bytes": columns[0]["bytes"],
        "activations_by_module": columns[0]["activations_by_module"],
        "columns": columns,
        "activations": {"source": result.source, "fit_at": [list(p) for p in result.fit_at],
                        "verified_at": [list(p) for p in result.verified_at],
                        "polynomial": _polynomial_payload(result.polynomial)},
        "formulas": {"model_states": result.states.formula},
        "notes": list(result.notes),
    }
    if r.mode == INFER:
        payload["kv_cache_bytes_per_token"] = result.kv.per_token if result.kv else None
        payload["formulas"]["kv_cache"] = result.kv.formula if result.kv else result.kv_note
    if result.measured is not None:
        payload["measured"] = {"peak": result.measured.peak, "by_category": result.measured.by_category,
                               "device": result.measured.device, "tool": result.measured.tool,
                               "simulated_peak": result.simulated.peak, "simulated_by_category": result.simulated.by_category}
    if result.fitted:
        f = result.fitted
        payload["fit"] = {"device_bytes": f.device_bytes, "device": f.device, "max_batch": next(iter(f.max_batch.values())),
                          "max_batch_by_seq_len": {str(n): b for n, b in f.max_batch.items()}, "max_seq_len": f.max_seq_len,
                          "notes": list(f.notes)}
    return payload


def _polynomial_payload(poly) -> dict | None:
    """Activation bytes in (n, B): ``terms["i,j"]`` multiplies n**i · B**j; ``batch_1`` where batch 1 differs."""
    if poly is None:
        return None
    terms = lambda p: {f"{i},{j}": c for (i, j), c in sorted(p.terms.items())}  # noqa: E731
    return {"variables": ["n", "B"], "terms": terms(poly.batched), **({} if poly.same else {"batch_1": terms(poly.single)})}


def _column_payload(result: MemoryResult, column: Footprint, depth: int) -> dict:
    keys = ("weights", "gradients", "optimizer", "activations", "attention_scores", "kv_cache", "peak")
    return {
        "seq_len": column.seq_len,
        "batch": column.batch,
        "measured": column.measured,
        "bytes": {k: _value(column, k) for k in keys},
        "activations_by_module": [{"path": path, "bytes": total, "attention_scores": quadratic}
                                  for path, _, total, quadratic in module_rows(result, column, depth)]
        if column.by_module else [],
    }

