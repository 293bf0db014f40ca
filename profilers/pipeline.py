"""Core entry points the CLI (and the budget checker) call: explicit keyword
arguments in, records out. Nothing here prints."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..models.build import build_model
from ..models.inputs import InputSpec, factory_inputs, plan_from_tensors, plan_inputs
from ..models.resolver import ModelSource, resolve
from .counters import Counter, CountJob, select_counters
from .errors import BadInput
from .isolation import run_isolated
from .memory import available_bytes, real_run_bytes
from .params import ParamReport, count_parameters, normalize_dtype
from .reconcile import Reconciliation, reconcile
from .records import CounterResult, ModelInfo


@dataclass(frozen=True)
class ParamsResult:
    model: ModelInfo
    report: ParamReport


def default_dtype(source: ModelSource) -> str | None:
    """The checkpoint's dtype named by the config (``torch_dtype`` / ``dtype``), if any."""
    config = source.config or {}
    name = config.get("torch_dtype") or config.get("dtype")
    try:
        return normalize_dtype(name) if isinstance(name, str) else None
    except ValueError:
        return None


def profile_params(
    name: str,
    *,
    base: bool = False,
    dtype: str | None = None,
    trust_remote_code: bool = False,
) -> ParamsResult:
    """Resolve ``name``, build it on the meta device and account its parameters.

    Bytes use ``dtype`` when given, else the config's checkpoint dtype, else
    each tensor's own dtype.
    """
    source = resolve(name)
    built = build_model(source, device="meta", base=base, trust_remote_code=trust_remote_code)
    report = count_parameters(built.module, dtype=dtype or default_dtype(source))
    info = ModelInfo(source.name, source.kind, built.class_name, source.location, tuple(built.notes))
    return ParamsResult(info, report)


def bundled_param_count(hub_id: str) -> int:
    """Total parameters of a bundled model's ``architectures`` class."""
    return profile_params(hub_id).report.total


def toy_param_count(name: str) -> int:
    return profile_params("toy:" + name).report.total


@dataclass(frozen=True)
class FlopsResult:
    model: ModelInfo
    params: ParamReport
    inputs: dict  # tensor name -> {"shape", "dtype"}
    spec: InputSpec
    tokens: int
    mode: str
    attn: str | None
    results: dict[str, CounterResult]  # counter name -> result, in column order
    counters: dict[str, Counter]
    table: Reconciliation

    @property
    def reference(self) -> CounterResult | None:
        return self.results.get(self.table.reference) if self.table.reference else None

    def failed(self) -> list[str]:
        return [name for name, r in self.results.items() if r.status == "error"]


def profile_flops(
    name: str,
    *,
    counters: list[str] | None = None,
    spec: InputSpec = InputSpec(),
    mode: str = "forward",
    base: bool = False,
    attn: str | None = None,
    trust_remote_code: bool = False,
    depth: int = 1,
    view: str = "module",
    timeout_s: float = 300.0,
    max_memory: int | None = None,
    on_progress: Callable[[str, str, float], None] | None = None,
) -> FlopsResult:
    """Count one forward (or training) step of ``name`` with each counter, each
    in its own process, and reconcile them.

    ``max_memory`` caps the bytes a real-tensor counter may need (default: the
    memory available now); counters over it are skipped with the estimate as
    the reason. ``on_progress(counter, state, elapsed_s)`` reports
    "running" / "done" / "skipped" / "error".
    """
    if mode not in ("forward", "train"):
        raise BadInput(f"unknown mode {mode!r} (forward or train)")
    source = resolve(name)
    chosen = select_counters(counters)
    plan = plan_inputs(source, spec)
    built = build_model(source, device="meta", base=base, attn=attn, trust_remote_code=trust_remote_code)
    if plan is None:
        if built.example_inputs is None:
            raise BadInput(f"{source.name}: the factory returned no example inputs; pass --input-shape")
        plan = plan_from_tensors(*factory_inputs(built.example_inputs, "meta"))
    report = count_parameters(built.module)
    biases = _bias_sizes(built.module)
    job = CountJob(source, spec, mode, base, attn, trust_remote_code)
    budget = max_memory if max_memory is not None else available_bytes()
    results: dict[str, CounterResult] = {}
    for counter in chosen:
        results[counter.name] = _run_counter(counter, job, plan, report.total, budget, timeout_s, on_progress)
    reference = next((n for n in ("analytic", "torch") if n in results and results[n].ok), None)
    table = reconcile(
        results,
        reference=reference,
        modules=list(report.rows(None, show_empty=True)),
        biases=biases,
        blind_spots={c.name: dict(c.blind_spots) for c in chosen},
        depth=depth,
        view=view,
    )
    info = ModelInfo(source.name, source.kind, built.class_name, source.location, tuple(built.notes))
    return FlopsResult(
        info, report, plan.describe(), spec, plan.tokens, mode, attn,
        results, {c.name: c for c in chosen}, table,
    )


def _run_counter(counter, job, plan, params, budget, timeout_s, on_progress) -> CounterResult:
    def skipped(reason: str) -> CounterResult:
        if on_progress:
            on_progress(counter.name, "skipped", 0.0)
        return CounterResult(counter.name, counter.native_unit, "skipped", reason, label=counter.label)

    missing = counter.missing()
    if missing:
        return skipped(missing)
    if job.mode == "train" and not counter.measures_train:
        return skipped("counts a forward pass only")
    if counter.real_tensors and budget is not None:
        elements = sum(_numel(t.shape) for t in (*plan.args, *plan.kwargs.values()))
        batch = job.inputs.batch
        need = real_run_bytes(params, job.source.config, batch, plan.tokens, elements)
        if need > budget:
            return skipped(
                f"needs about {need / 2**30:,.1f} GiB of real fp32 tensors ({params:,} params x 4 B + activations), "
                f"{budget / 2**30:,.1f} GiB available"
            )
    tick = (lambda elapsed: on_progress(counter.name, "running", elapsed)) if on_progress else None
    if tick:
        tick(0.0)
    outcome = run_isolated(counter.count, job, timeout_s=timeout_s, on_tick=tick)
    if outcome.ok:
        result = outcome.value
    else:
        result = CounterResult(counter.name, counter.native_unit, "error", outcome.error, label=counter.label)
    if on_progress:
        on_progress(counter.name, "done" if result.ok else result.status, outcome.seconds)
    return replace(result, seconds=outcome.seconds)


def _numel(shape) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


def _bias_sizes(module) -> dict[str, int]:
    """Path -> elements of the module's own ``bias`` parameter."""
    sizes = {}
    for path, sub in module.named_modules():
        bias = dict(sub.named_parameters(recurse=False)).get("bias")
        if bias is not None:
            sizes[path] = bias.numel()
    return sizes
