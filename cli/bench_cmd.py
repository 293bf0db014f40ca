"""``modelprof bench MODEL``: measured step time, achieved FLOP/s and MFU."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..models.inputs import InputSpec, parse_named_input, parse_shape
from ..profilers.bench import BenchRequest, BenchResult, profile_bench
from ..profilers.errors import BadInput
from .flops_cmd import Attn, Mode
from .options import BaseOpt, FormatOpt, ModelArg, TimeoutOpt, TrustRemoteCodeOpt
from .params_cmd import model_title
from .progress import progress_line
from .render import Column, OutputFormat, View, count, emit, si

SCHEMA_VERSION = 1
ARTEFACT = "faster than the device's peak: a measurement artefact (time spent where hooks cannot see it), not a fact"


class BenchDtype(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class BenchDevice(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


class BenchBy(str, Enum):
    module = "module"


def bench(
    model: ModelArg,
    mode: Annotated[Mode, typer.Option("--mode", help="forward; train = forward, backward and an AdamW step; decode = one token after --context cached ones.")] = Mode.forward,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, metavar="N", help="Batch size [default: 1].", show_default=False)] = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", "-n", min=1, metavar="N", help="Sequence length [default: 128; decode: 1 new token].", show_default=False)] = None,
    image_size: Annotated[Optional[int], typer.Option("--image-size", min=1, metavar="PIXELS", help="Image side of vision models [default: from the config].")] = None,
    input_shape: Annotated[Optional[str], typer.Option("--input-shape", metavar="SHAPE", help="One float input tensor, e.g. 1,3,224,224 (toys and Python factories).")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", metavar="NAME=SHAPE[:DTYPE]", help="A keyword input tensor (repeatable).")] = None,
    context: Annotated[Optional[int], typer.Option("--context", min=1, metavar="TOKENS", help="--mode decode: tokens in the key/value cache [default: 128].", show_default=False)] = None,
    dtype: Annotated[BenchDtype, typer.Option("--dtype", help="Weights and activations.")] = BenchDtype.fp32,
    device: Annotated[Optional[BenchDevice], typer.Option("--device", help="[default: cuda when available, else cpu]", show_default=False)] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, metavar="N", help="Untimed steps first.")] = 2,
    repeats: Annotated[int, typer.Option("--repeats", min=1, metavar="N", help="Timed steps.")] = 5,
    peak_tflops: Annotated[Optional[float], typer.Option("--peak-tflops", min=0.001, metavar="TFLOPS", help="The device's dense peak at --dtype, for MFU where configs/hardware.toml has no row.", show_default=False)] = None,
    by: Annotated[Optional[BenchBy], typer.Option("--by", help="module: forward time per module, with its FLOPs and achieved FLOP/s.", show_default=False)] = None,
    depth: Annotated[int, typer.Option("--depth", "-d", min=0, metavar="N", help="--by module: rows down to this depth.")] = 1,
    attn: Annotated[Optional[Attn], typer.Option("--attn", help="Attention implementation of HuggingFace models.")] = None,
    nproc: Annotated[Optional[int], typer.Option("--nproc", min=1, metavar="N", help="Train across N processes with torchrun and DistributedDataParallel (gloo on CPU, nccl on CUDA).", show_default=False)] = None,
    nnodes: Annotated[Optional[str], typer.Option("--nnodes", metavar="N", help="With --nproc: machines (torchrun's --nnodes).", show_default=False)] = None,
    node_rank: Annotated[Optional[int], typer.Option("--node-rank", min=0, metavar="R", help="With --nproc: this machine's rank (torchrun's --node-rank).", show_default=False)] = None,
    master_addr: Annotated[Optional[str], typer.Option("--master-addr", metavar="HOST", help="With --nproc: rank 0's machine (torchrun's --master-addr).", show_default=False)] = None,
    master_port: Annotated[Optional[int], typer.Option("--master-port", min=1, max=65535, metavar="PORT", help="With --nproc: its port (torchrun's --master-port).", show_default=False)] = None,
    base: BaseOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    timeout: TimeoutOpt = 600.0,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Measured step time, tokens/s, achieved FLOP/s and MFU, on this machine's CPU or GPU, or across processes."""
    spec = InputSpec.from_options(
        batch=batch, seq_len=seq_len, image_size=image_size,
        input_shape=parse_shape(input_shape, "--input-shape") if input_shape else None,
        inputs=tuple(parse_named_input(text) for text in inputs or ()), context=context,
    )
    if context is not None and mode is not Mode.decode:
        raise BadInput("--context applies to --mode decode")
    request = BenchRequest(model, spec, mode.value, dtype.value, device.value if device else None, warmup, repeats,
                           peak_tflops, by is BenchBy.module, depth, base, attn.value if attn else None,
                           trust_remote_code, timeout)
    from ..profilers import distributed

    launch = {"nnodes": nnodes, "node_rank": node_rank, "master_addr": master_addr, "master_port": master_port}
    if nproc is not None or distributed.in_torchrun():
        if by is not None or mode is not Mode.train:
            raise BadInput("across processes modelprof times training steps: use --mode train, without --by")
        if nproc is None:  # one rank of a torchrun launch
            result = distributed.run_rank(request)
            if result is not None:
                emit(bench_view(result), fmt)
            return
        with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"bench {model}") as on_progress:
            result = distributed.launch(request, nproc, launch, on_progress)
        if result is None:
            typer.echo("this machine's ranks finished; the machine of rank 0 (--node-rank 0) prints the report")
        else:
            emit(bench_view(result), fmt)
        return
    if any(v is not None for v in launch.values()):
        raise BadInput("--nnodes, --node-rank, --master-addr and --master-port apply with --nproc")
    with progress_line(fmt in (OutputFormat.table, OutputFormat.markdown), f"bench {model}") as on_progress:
        result = profile_bench(request, on_progress)
    emit(bench_view(result), fmt)
    if result.module_macs and fmt in (OutputFormat.table, OutputFormat.markdown):
        emit(modules_view(result), fmt)


# ---------------------------------------------------------------------------
# the views
# ---------------------------------------------------------------------------


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def rate(flops_per_s: float | None, unit: str = "FLOP/s") -> str:
    if flops_per_s is None:
        return ""
    shown = si(flops_per_s)  # "46.06G": the prefix goes with the unit
    return f"{shown[:-1]} {shown[-1]}{unit}" if shown[-1].isalpha() else f"{shown} {unit}"


def _rows(result: BenchResult) -> list[tuple[str, str]]:
    m = result.measured
    rows = [
        ("step time (median)", milliseconds(m.median)),
        ("min / max", f"{milliseconds(min(m.seconds))} / {milliseconds(max(m.seconds))} of {len(m.seconds)} steps"),
        ("tokens per second" if result.takes_tokens else "samples per second", f"{result.tokens_per_step / m.median:,.1f}"),
        ("FLOPs per step", f"{count(result.flops_per_step)} ({result.counted_by})"),
        ("achieved", rate(result.achieved)),
        ("MFU", f"{100 * result.mfu:.2f}% of {rate(result.peak.flops_per_s)}" if result.mfu is not None else "not given"),
    ]
    if result.gemm_fraction is not None:
        rows.append(("share of the matmul rate", f"{100 * result.gemm_fraction:.1f}% of {rate(m.gemm_flops_per_s)} "
                                                 f"measured (not MFU)"))
    if result.decode_bytes is not None:
        rows.append(("bytes read per step", f"{count(result.decode_bytes)} (weights + KV cache)"))
        rows.append(("achieved bandwidth", rate(result.decode_bytes / m.median, "B/s")))
        rows.append(("MBU", f"{100 * result.mbu:.2f}%" if result.mbu is not None else "not given"))
    if len(result.ranks) > 1:
        unit = "tokens/s" if result.takes_tokens else "samples/s"
        for rank in result.ranks:
            rows.append((f"rank {rank.rank}", f"{milliseconds(rank.median)} · {result.tokens_per_step / rank.median:,.1f} "
                                              f"{unit} · all-reduce {milliseconds(_median(rank.allreduce_seconds))}"))
        rows.append(("all ranks", f"{aggregate_tokens(result):,.1f} {unit} · {rate(aggregate_flops(result))} "
                                  f"({len(result.ranks)} processes)"))
    return rows


def _median(values) -> float:
    import statistics

    return statistics.median(values) if values else 0.0


def aggregate_tokens(result: BenchResult) -> float:
    """Tokens per second of all ranks together: the sum of each rank's."""
    return sum(result.tokens_per_step / rank.median for rank in result.ranks)


def aggregate_flops(result: BenchResult) -> float:
    return sum(result.flops_per_step / rank.median for rank in result.ranks)


def bench_view(result: BenchResult) -> View:
    rows = [{"metric": k, "value": v} for k, v in _rows(result)]
    columns = [Column("metric", "measured", align="left"), Column("value", "value", align="left", wrap=True)]
    m, r = result.measured, result.request
    inputs = ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in m.inputs.items())
    title = (model_title(result.model, "Bench") + f" · {r.mode} · {r.dtype} · {m.device}: {m.device_name} · "
             f"{m.threads} thread{'s' if m.threads != 1 else ''}" + (f" · {inputs}" if inputs else ""))
    notes = [f"peak: {result.peak.source}"]
    if result.gemm_fraction is not None:
        notes.append(f"matmul rate: a {2048}x{2048} matmul at {r.dtype} with {m.threads} thread(s) on this CPU; "
                     f"the step's share of it is not MFU (a CPU has no datasheet peak here)")
    notes += list(result.notes)
    return View(title, columns, rows, bench_payload(result), notes, narrow="records")


def bench_payload(result: BenchResult) -> dict:
    """The JSON contract of ``bench`` (seconds, FLOPs at 2 per MAC, bytes)."""
    m, r = result.measured, result.request
    payload = {
        "schema_version": SCHEMA_VERSION,
        "model": result.model.as_json(),
        "input": {"batch": result.spec.batch, "seq_len": result.spec.seq_len, "tensors": m.inputs,
                  **({"context": result.spec.context} if r.mode == "decode" else {})},
        "mode": r.mode,
        "device": {"type": m.device, "name": m.device_name, "dtype": r.dtype, "threads": m.threads,
                   "world_size": max(1, len(result.ranks))},
        "settings": {"warmup": r.warmup, "repeats": r.repeats},
        "latency_s": _latency(m.seconds),
        "macs_per_step": result.macs_per_step,
        "flops_per_step": result.flops_per_step,
        "flops_source": result.counted_by,
        "tokens_per_step": result.tokens_per_step,
        "tokens_per_s": result.tokens_per_step / m.median,
        "samples_per_s": result.samples_per_step / m.median,
        "achieved_flops_per_s": result.achieved,
        "peak_flops_per_s": result.peak.flops_per_s,
        "peak_source": result.peak.source,
        "mfu": result.mfu,
        "notes": list(result.notes),
    }
    if m.gemm_flops_per_s is not None:
        payload["matmul_flops_per_s"] = m.gemm_flops_per_s
        payload["matmul_fraction"] = result.gemm_fraction
    if result.decode_bytes is not None:
        payload.update(bytes_per_step=result.decode_bytes, bytes_per_s=result.decode_bytes / m.median,
                       peak_bandwidth_bytes_per_s=result.peak.bandwidth_bytes_per_s, mbu=result.mbu)
    if result.module_macs:
        payload["modules"] = [dict(row) for row in module_rows(result)]
        payload["modules_step_s"] = m.module_step_seconds
    if len(result.ranks) > 1:
        payload["ranks"] = [{"rank": k.rank, "latency_s": _latency(k.seconds),
                             "tokens_per_s": result.tokens_per_step / k.median,
                             "achieved_flops_per_s": result.flops_per_step / k.median,
                             "mfu": result.flops_per_step / k.median / result.peak.flops_per_s if result.peak.flops_per_s else None,
                             "allreduce_s": _median(k.allreduce_seconds),
                             "allreduce_samples": list(k.allreduce_seconds)} for k in result.ranks]
        payload["aggregate"] = {"processes": len(result.ranks), "tokens_per_s": aggregate_tokens(result),
                                "achieved_flops_per_s": aggregate_flops(result)}
    return payload


def _latency(seconds) -> dict:
    """Step times: median, min, max and every timed step, in seconds."""
    return {"median": _median(seconds), "min": min(seconds), "max": max(seconds), "samples": list(seconds)}


def module_rows(result: BenchResult) -> list[dict]:
    """Modules down to ``--depth`` by forward time: seconds per step, MACs,
    achieved FLOP/s, and a flag where that beats the device's peak."""
    limit = result.peak.flops_per_s or result.measured.gemm_flops_per_s
    rows = []
    for path, seconds in result.measured.module_seconds.items():
        if result.depths.get(path, result.request.depth + 1) > result.request.depth:
            continue
        macs = result.module_macs.get(path, 0)
        achieved = 2 * macs / seconds if seconds else None
        rows.append({"path": path, "seconds": seconds, "share": seconds / result.measured.module_step_seconds, "macs": macs,
                     "flops": 2 * macs, "achieved_flops_per_s": achieved,
                     "artefact": bool(limit and achieved and achieved > limit)})
    return sorted(rows, key=lambda row: (row["path"] != "", -row["seconds"]))


def modules_view(result: BenchResult) -> View:
    rows = [{**row, "module": row["path"] or "(root)"} for row in module_rows(result)]
    columns = [
        Column("module", "module", align="left"),
        Column("seconds", "time", text=lambda r: milliseconds(r["seconds"])),
        Column("share", "share", text=lambda r: f"{100 * r['share']:.1f}%"),
        Column("macs", "MACs", text=lambda r: si(r["macs"])),
        Column("achieved_flops_per_s", "FLOP/s", text=lambda r: rate(r["achieved_flops_per_s"]) + (" !" if r["artefact"] else "")),
    ]
    notes = ["forward time per step of each module and its children, the device synchronised around each "
             "(hooks cost time of their own); shares are of the "
             f"{milliseconds(result.measured.module_step_seconds)} step of that same pass"]
    if any(r["artefact"] for r in rows):
        notes.append(f"!: {ARTEFACT}")
    return View(f"Where the forward time goes, {result.model.name}", columns, rows, {}, notes)
