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
    active_params: int | None = None  # mixture of experts, from the analytic counter
    counted_by: str = "meta build"  # or "analytic"


@dataclass(frozen=True)
class Structure:
    """The model as the parent process knows it, without counting anything."""

    class_name: str
    report: ParamReport
    biases: dict  # path -> size of the module's own bias, for the reconciliation
    notes: tuple[str, ...]
    example_inputs: object = None  # from a Python factory
    active_params: int | None = None


def default_dtype(source: ModelSource) -> str | None:
    """The checkpoint's dtype named by the config (``torch_dtype`` / ``dtype``), if any."""
    config = source.config or {}
    name = config.get("torch_dtype") or config.get("dtype")
    try:
        return normalize_dtype(name) if isinstance(name, str) else None
    except ValueError:
        return None


def analytic_structure(source: ModelSource, *, base: bool, spec: InputSpec, dtype: str | None) -> Structure:
    """The parameter tree from closed forms (no torch); raises ``Unsupported``."""
    from .analytic import Spec, Unsupported, analyze
    from .analytic._tree import param_report

    if source.config is None:
        raise Unsupported("a Python factory has no config to read")
    analysis = analyze(
        dict(source.config),
        Spec(dict(source.config), base, spec.batch, spec.seq_len, spec.decoder_seq_len or spec.seq_len,
             spec.image_size, spec.input_shape),
    )
    report = param_report(analysis, dtype)
    return Structure(analysis.class_name, report, {}, tuple(analysis.notes), active_params=analysis.active_params)


def built_structure(source: ModelSource, *, base: bool, attn: str | None, trust_remote_code: bool, dtype: str | None) -> Structure:
    """The parameter tree of the model built on the meta device (imports torch)."""
    built = build_model(source, device="meta", base=base, attn=attn, trust_remote_code=trust_remote_code)
    report = count_parameters(built.module, dtype=dtype)
    return Structure(built.class_name, report, _bias_sizes(built.module), tuple(built.notes), built.example_inputs)


def profile_params(
    name: str,
    *,
    base: bool = False,
    dtype: str | None = None,
    trust_remote_code: bool = False,
    analytic: bool | None = False,
) -> ParamsResult:
    """Resolve ``name`` and account its parameters: from the model built on
    the meta device (``analytic=False``), from closed forms without torch
    (``True``), or closed forms where the analytic counter knows the model and
    the build otherwise (``None``).

    Bytes use ``dtype`` when given, else the config's checkpoint dtype, else
    each tensor's own dtype (fp32 for closed forms).
    """
    from .analytic import Unsupported

    source = resolve(name)
    dtype = dtype or default_dtype(source)
    structure, counted_by = None, "meta build"
    if analytic is not False:
        try:
            structure, counted_by = analytic_structure(source, base=base, spec=InputSpec(), dtype=dtype), "analytic"
        except Unsupported as why:
            if analytic:
                raise BadInput(f"{source.name}: the analytic counter cannot count this model: {why}") from None
    if structure is None:
        structure = built_structure(source, base=base, attn=None, trust_remote_code=trust_remote_code, dtype=dtype)
    info = ModelInfo(source.name, source.kind, structure.class_name, source.location, structure.notes)
    return ParamsResult(info, structure.report, structure.active_params, counted_by)


@dataclass(frozen=True)
class FlopsResult:
    model: ModelInfo
    params: ParamReport
    inputs: dict  # tensor name -> {"shape", "dtype"}
    input_options: dict  # non-tensor keyword inputs (interpolate_pos_encoding, ...)
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
    structure = _flops_structure(source, chosen, spec=spec, base=base, attn=attn, trust_remote_code=trust_remote_code)
    if plan is None:
        if structure.example_inputs is None:
            raise BadInput(f"{source.name}: the factory returned no example inputs; pass --input-shape")
        plan = plan_from_tensors(*factory_inputs(structure.example_inputs, "meta"))
    report = structure.report
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
        biases=structure.biases,
        blind_spots={c.name: dict(c.blind_spots) for c in chosen},
        depth=depth,
        view=view,
    )
    info = ModelInfo(source.name, source.kind, structure.class_name, source.location, structure.notes)
    return FlopsResult(
        info, report, plan.describe(), dict(plan.options), spec, plan.tokens, mode, attn,
        results, {c.name: c for c in chosen}, table,
    )


def _flops_structure(source, chosen, *, spec, base, attn, trust_remote_code) -> Structure:
    """Closed forms when every chosen counter is torch-free and the analytic
    counter knows the model (so nothing imports torch), else the meta build."""
    from .analytic import Unsupported

    if not any(c.needs_torch for c in chosen):
        try:
            return analytic_structure(source, base=base, spec=spec, dtype=None)
        except Unsupported:
            pass
    return built_structure(source, base=base, attn=attn, trust_remote_code=trust_remote_code, dtype=None)


def _run_counter(counter, job, plan, params, budget, timeout_s, on_progress) -> CounterResult:
    def skipped(reason: str) -> CounterResult:
        if on_progress:
            on_progress(counter.name, "skipped", 0.0)
        return counter.skipped(reason)

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
        result = counter.failed(outcome.error)
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
