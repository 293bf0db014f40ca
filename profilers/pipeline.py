"""Core entry points the CLI (and the budget checker) call: explicit keyword
arguments in, records out. Nothing here prints."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ..models.inputs import InputSpec, applied_spec, plan_inputs, requested_inputs
from ..models.resolver import ModelSource, resolve
from .counters import Counter, CountJob, select_counters
from .errors import BadInput
from .memory import available_bytes, real_run_bytes
from .params import ParamReport, normalize_dtype
from .reconcile import Reconciliation, reconcile
from .records import CounterResult, ModelInfo
from .sessions import Progress, SessionRequest, Structure, cpu_session, meta_session
from .units import binary_size

DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ParamsResult:
    model: ModelInfo
    report: ParamReport
    active_params: int | None = None  # mixture of experts, from the analytic counter
    counted_by: str = "meta build"  # or "analytic"


def default_dtype(source: ModelSource) -> str | None:
    """The checkpoint's dtype named by the config (``torch_dtype`` / ``dtype``), if any."""
    config = source.config or {}
    name = config.get("torch_dtype") or config.get("dtype")
    try:
        return normalize_dtype(name) if isinstance(name, str) else None
    except ValueError:
        return None


def _analysis(source: ModelSource, *, base: bool, spec: InputSpec):
    """The analytic counter's closed forms of ``source``; raises ``Unsupported``."""
    from .analytic import Spec, Unsupported, analyze

    if source.config is None:
        raise Unsupported("a Python factory has no config to read")
    return analyze(
        dict(source.config),
        Spec(dict(source.config), base, spec.batch, spec.seq_len, spec.decoder_seq_len or spec.seq_len,
             spec.image_size, spec.input_shape),
    )


def analytic_structure(source: ModelSource, *, base: bool, spec: InputSpec, dtype: str | None) -> Structure:
    """The parameter tree from closed forms (no torch); raises ``Unsupported``."""
    from .analytic._tree import param_report

    analysis = _analysis(source, base=base, spec=spec)
    report = param_report(analysis, dtype)
    return Structure(analysis.class_name, report, {}, tuple(analysis.notes), active_params=analysis.active_params)


def active_params(source: ModelSource, *, base: bool) -> int | None:
    """Parameters one token uses, for mixture-of-experts models the analytic
    counter knows (None for dense models and for models it does not know)."""
    from .analytic import Unsupported

    try:
        return _analysis(source, base=base, spec=InputSpec()).active_params
    except Unsupported:
        return None


def built_structure(
    source: ModelSource, *, base: bool, attn: str | None, trust_remote_code: bool, dtype: str | None,
    timeout_s: float = DEFAULT_TIMEOUT_S, on_progress: Progress | None = None,
) -> Structure:
    """The parameter tree of the model built on the meta device, in an isolated child."""
    job = CountJob(source, InputSpec(), "forward", base, attn, trust_remote_code)
    structure, _ = meta_session(SessionRequest(job, dtype=dtype, timeout_s=timeout_s), on_progress)
    return structure


def profile_params(
    name: str,
    *,
    base: bool = False,
    dtype: str | None = None,
    trust_remote_code: bool = False,
    analytic: bool | None = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_progress: Progress | None = None,
) -> ParamsResult:
    """Resolve ``name`` and account its parameters: from the model built on
    the meta device (``analytic=False``), from closed forms without torch
    (``True``), or closed forms where the analytic counter knows the model and
    the build otherwise (``None``). The build runs in an isolated child under
    ``timeout_s``.

    Bytes use ``dtype`` when given, else the config's checkpoint dtype, else
    each tensor's own dtype (fp32 for closed forms). Mixture-of-experts models
    the analytic counter knows also get their active parameters.
    """
    from .analytic import Unsupported

    source = resolve(name)
    check_build_options(source, base=base, attn=None)
    dtype = dtype or default_dtype(source)
    structure, counted_by = None, "meta build"
    if analytic is not False:
        try:
            structure, counted_by = analytic_structure(source, base=base, spec=InputSpec(), dtype=dtype), "analytic"
        except Unsupported as why:
            if analytic:
                raise BadInput(f"{source.name}: the analytic counter cannot count this model: {why}") from None
    if structure is None:
        structure = built_structure(
            source, base=base, attn=None, trust_remote_code=trust_remote_code, dtype=dtype,
            timeout_s=timeout_s, on_progress=on_progress,
        )
        structure = replace(structure, active_params=active_params(source, base=base))
    info = ModelInfo(source.name, source.kind, structure.class_name, source.location, structure.notes)
    return ParamsResult(info, structure.report, structure.active_params, counted_by)


@dataclass(frozen=True)
class FlopsResult:
    model: ModelInfo
    params: ParamReport
    inputs: dict  # tensor name -> {"shape", "dtype"}
    input_options: dict  # non-tensor keyword inputs (interpolate_pos_encoding, ...)
    input_notes: tuple  # how the inputs were chosen (a capped length, image tokens, seconds of audio)
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
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_memory: int | None = None,
    on_progress: Progress | None = None,
) -> FlopsResult:
    """Count one forward (or training) step of ``name`` with each counter and
    reconcile them.

    The analytic counter runs here (pure Python). The model is built in
    isolated children (see :mod:`sessions`): once on meta for its structure
    and the meta-tensor counters, once with real CPU tensors for the others,
    each of which runs in a process of its own. ``max_memory`` caps the bytes
    a real-tensor counter may need (default: the memory available now);
    counters over it are skipped with the estimate as the reason.
    ``on_progress(task, state, elapsed_s)`` reports "running" / "done" /
    "skipped" / "error" for each counter and for the "build" step.
    """
    if mode not in MODES:
        raise BadInput(f"unknown mode {mode!r} ({', '.join(MODES)})")
    source = resolve(name)
    chosen = select_counters(counters)
    check_build_options(source, base=base, attn=attn)
    spec = applied_spec(source, decode_spec(spec, mode))
    if mode == "decode":
        check_positions(source, spec)
    requested = requested_inputs(source, spec)  # None: the model decides (see sessions)
    job = CountJob(source, spec, mode, base, attn, trust_remote_code)
    results: dict[str, CounterResult] = {}
    runnable = []
    for counter in chosen:
        why = _cannot_run(counter, job)
        if why:
            results[counter.name] = _skip(counter, why, on_progress)
        elif not counter.needs_torch:
            results[counter.name] = _count_here(counter, job, on_progress)
        else:
            runnable.append(counter)
    on_meta = tuple(c for c in runnable if not c.real_tensors)
    structure = _flops_structure(source, runnable, spec=spec, base=base)
    if structure is None and shallow_is_faster(job, runnable):
        # the parameter tree in closed form, the torch counter on builds with 1 to 3 layers
        structure = analytic_structure(source, base=base, spec=spec, dtype=None)
        results.update(_count_in_depth(job, on_meta, requested, timeout_s, on_progress, meta=True))
    if structure is None:
        request = SessionRequest(job, on_meta, timeout_s=timeout_s, plan=requested, plan_inputs=True)
        structure, counted = meta_session(request, on_progress)
        results.update(counted)
    plan = requested or structure.plan or plan_inputs(source, spec)
    if plan is None:
        raise BadInput(f"{source.name}: the factory returned no example inputs; pass --input-shape or --input")
    # what the real-tensor counters are fed: the same tensors (a factory's own examples are made again)
    feed = requested if source.kind == "python" else plan
    report = structure.report
    real, deep = [], []
    for counter in (c for c in runnable if c.real_tensors):
        why = _over_budget(job, plan, report.total, max_memory)
        if not why:
            real.append(counter)
        elif _depth_fits(job, plan, report, max_memory):
            deep.append(counter)
        else:
            results[counter.name] = _skip(counter, why, on_progress)
    if deep:
        results.update(_count_in_depth(job, tuple(deep), feed, timeout_s, on_progress))
    # a meta-tensor counter that fake tensors cannot carry through the model counts real ones instead: the whole
    # model's when they fit, else those of builds with 1 to 3 layers (see :mod:`depth`) when they fit
    retry = [c for c in on_meta if fake_tensors_fell_short(results[c.name])]
    shallow = []
    for counter in retry:
        why = _over_budget(job, plan, report.total, max_memory)
        if not why:
            real.append(counter)
        elif _depth_fits(job, plan, report, max_memory):
            shallow.append(counter)
        else:
            results[counter.name] = replace(results[counter.name], reason=f"{results[counter.name].reason}; real tensors instead: {why}")
    if shallow:
        why = _over_budget(job, plan, report.total, max_memory)
        counted = _count_in_depth(job, tuple(shallow), feed, timeout_s, on_progress)
        for counter in shallow:
            failed, found = results[counter.name].reason, counted[counter.name]
            if found.ok:
                results[counter.name] = replace(found, notes=(*found.notes, (
                    f"counted on real CPU tensors of builds with 1, 2 and 3 layers: fake tensors cannot run this model "
                    f"({failed}), and the whole model's real tensors would not fit ({why})")))
            else:
                results[counter.name] = replace(results[counter.name], reason=(
                    f"{failed}; real tensors instead: {why}; builds with 1 to 3 layers instead: {found.reason}"))
    if real:
        counted = cpu_session(SessionRequest(job, tuple(real), timeout_s=timeout_s, plan=feed), on_progress)
        for counter in retry:
            if counter.name in counted:
                why = results[counter.name].reason
                counted[counter.name] = replace(counted[counter.name], notes=(
                    *counted[counter.name].notes, f"counted on real CPU tensors: fake tensors cannot run this model ({why})"))
        results.update(counted)
    results = {c.name: _diagnosed(results[c.name], source.config) for c in chosen}
    reference = next((n for n in ("analytic", "torch") if n in results and results[n].ok), None)
    table = reconcile(
        results,
        reference=reference,
        modules=list(report.rows(None, show_empty=True)),
        biases=structure.biases,
        blind_spots={c.name: dict(c.blind_spots) for c in chosen},
        depth=depth,
        view=view,
        tied=report.tied,
    )
    info = ModelInfo(source.name, source.kind, structure.class_name, source.location, structure.notes)
    return FlopsResult(
        info, report, plan.describe(), dict(plan.options), plan.notes, spec, plan.tokens, mode, attn,
        results, {c.name: c for c in chosen}, table,
    )


MODES = ("forward", "train", "decode")
DEFAULT_CONTEXT = 128


def decode_spec(spec: InputSpec, mode: str) -> InputSpec:
    """A decode step is ``--seq-len`` new tokens (default 1) after
    ``--context`` cached ones (default 128); ``--context`` means nothing
    for another mode."""
    if mode != "decode":
        if "context" in spec.given:
            raise BadInput("--context applies to --mode decode (the tokens already in the key/value cache)")
        return spec
    if spec.inputs or spec.input_shape:
        raise BadInput("--mode decode feeds token ids: --seq-len new tokens after --context cached ones, not --input / --input-shape")
    new = spec.seq_len if "seq_len" in spec.given else 1
    return replace(spec, seq_len=new, context=spec.context or DEFAULT_CONTEXT)


def check_positions(source: ModelSource, spec: InputSpec) -> None:
    """A decode step's cached and new tokens must fit a learned position table (GPT-2's 1,024)."""
    from ..models.modalities.text import _position_limit

    config = source.config or {}
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    name, limit = _position_limit(text)
    if limit is not None and spec.context + spec.seq_len > limit:
        raise BadInput(f"{source.name}: {spec.context:,} cached and {spec.seq_len:,} new tokens need "
                       f"{spec.context + spec.seq_len:,} positions, and the model's {name} is {limit:,}")


def _diagnosed(result: CounterResult, config) -> CounterResult:
    """A failure the config itself causes, said so before the model's own words (see :mod:`diagnoses`)."""
    from .diagnoses import diagnose

    found = diagnose(result.reason, config) if result.status == "error" else None
    return replace(result, reason=f"{found}; the model said: {result.reason}") if found else result


def check_build_options(source: ModelSource, *, base: bool, attn: str | None) -> None:
    """``--base`` and ``--attn`` choose how a HuggingFace config is built;
    for a toy or a Python factory they would be silently ignored: refuse them."""
    if source.kind in ("toy", "python"):
        given = [flag for flag, value in (("--base", base), ("--attn", attn)) if value]
        if given:
            what = "a toy net" if source.kind == "toy" else "a Python factory"
            verb = "applies" if len(given) == 1 else "apply"
            raise BadInput(f"{source.name}: {' and '.join(given)} only {verb} to HuggingFace configs, not to {what}")


def _flops_structure(source, torch_counters, *, spec, base) -> Structure | None:
    """Closed forms when no torch-based counter runs and the analytic counter
    knows the model (so nothing imports torch); None: build it in a session
    (the built tree also knows biases and tied weights, which explain what
    the other counters count)."""
    from .analytic import Unsupported

    if torch_counters:
        return None
    try:
        return analytic_structure(source, base=base, spec=spec, dtype=None)
    except Unsupported:
        return None


# What fake (meta) tensors cannot do: read values (.item(), nonzero, data-dependent shapes), mix with
# real tensors a model makes inside its forward.
FAKE_TENSOR_LIMITS = (
    "DataDependentOutputException", "DynamicOutputShapeException", "GuardOnDataDependentSymNode",
    "FakeTensorDeviceMismatchError", "UnsupportedOperatorException", "on meta tensors", "meta tensor",
)


def fake_tensors_fell_short(result: CounterResult) -> bool:
    """Whether a meta-tensor count failed for want of real values."""
    return result.status == "error" and any(limit in result.reason for limit in FAKE_TENSOR_LIMITS)


def _cannot_run(counter: Counter, job: CountJob) -> str | None:
    missing = counter.missing()
    if missing:
        return missing
    if job.mode == "train" and not counter.measures_train:
        return "counts a forward pass only"
    if job.mode == "decode" and not counter.measures_decode:
        return "counts a forward pass only, not a step against a key/value cache"
    return None


def _reduced_params(report, layers: int, depth: int) -> int:
    """Parameters of the same model with ``depth`` of its ``layers`` layers
    (the layer modules' parameters scaled, the rest kept)."""
    from .layer_parts import locate

    stacked = [m.params for m in report.modules if (where := locate(m.path)) and not where[2]]
    per_layer = sum(stacked) // layers if stacked else 0
    return report.total - sum(stacked) + depth * per_layer


def _depth_fits(job: CountJob, plan, report, max_memory: int | None) -> bool:
    """Whether the builds with 1 to 3 layers (see :mod:`depth`) fit where the full model does not."""
    from .depth import DEPTHS, layer_field, uniform_layers

    found = layer_field(dict(job.source.config or {})) if job.source.kind not in ("toy", "python") else None
    if found is None or not uniform_layers(((m.path, (m.type, m.params)) for m in report.modules), found[1]):
        return False
    return _over_budget(job, plan, _reduced_params(report, found[1], max(DEPTHS)), max_memory) is None


SHALLOW_LAYERS = 24  # from this depth on, three builds of 1 to 3 layers cost less than the whole model's build


def shallow_is_faster(job: CountJob, counters) -> bool:
    """Whether only meta-tensor counters run on a deep model the analytic
    counter knows (its closed forms give the parameter tree without a build)."""
    from .analytic import Unsupported
    from .depth import layer_field, uniform_layers

    if job.source.kind in ("toy", "python") or any(c.real_tensors for c in counters) or job.mode == "decode":
        return False
    found = layer_field(dict(job.source.config or {}))
    if found is None or found[1] < SHALLOW_LAYERS:
        return False
    try:
        analysis = _analysis(job.source, base=job.base, spec=job.inputs)
    except Unsupported:
        return False
    return uniform_layers(((leaf.path, (leaf.type, leaf.params, leaf.macs)) for leaf in analysis.leaves), found[1])


def _count_in_depth(job: CountJob, counters: tuple, feed, timeout_s: float, on_progress, meta: bool = False) -> dict[str, CounterResult]:
    """Counts of builds with 1, 2 and 3 layers (on meta, or with real CPU
    tensors), extrapolated to the model's depth (see :mod:`depth`)."""
    from .depth import DEPTHS, extrapolate, layer_field, with_layers

    field, layers = layer_field(dict(job.source.config))
    by_depth = {}
    for depth in DEPTHS:
        source = replace(job.source, config=with_layers(dict(job.source.config), field, depth))
        request = SessionRequest(replace(job, source=source), counters, timeout_s=timeout_s, plan=feed, plan_inputs=meta)
        by_depth[depth] = meta_session(request, on_progress)[1] if meta else cpu_session(request, on_progress)
    return {c.name: extrapolate({d: by_depth[d][c.name] for d in DEPTHS}, layers) for c in counters}


def _over_budget(job: CountJob, plan, params: int, max_memory: int | None) -> str | None:
    """Why a real-tensor counter cannot run within the memory cap, or None."""
    budget = max_memory if max_memory is not None else available_bytes()
    if budget is None:
        return None
    elements = sum(_numel(t.shape) for t in (*plan.args, *plan.kwargs.values()))
    need = real_run_bytes(params, job.source.config, job.inputs.batch, plan.tokens, elements)
    if need <= budget:
        return None
    cap = f"over the --max-memory cap of {binary_size(budget)}" if max_memory is not None else f"{binary_size(budget)} available"
    return f"needs about {binary_size(need)} of real fp32 tensors ({params:,} params x 4 B + activations), {cap}"


def _skip(counter: Counter, reason: str, on_progress: Progress | None) -> CounterResult:
    if on_progress:
        on_progress(counter.name, "skipped", 0.0)
    return counter.skipped(reason)


def _count_here(counter: Counter, job: CountJob, on_progress: Progress | None) -> CounterResult:
    """A torch-free counter (closed forms over the config), in this process."""
    if on_progress:
        on_progress(counter.name, "running", 0.0)
    started = time.perf_counter()
    result = counter.count(job)
    result = replace(result, seconds=time.perf_counter() - started)
    if on_progress:
        on_progress(counter.name, "done" if result.ok else result.status, result.seconds)
    return result


def _numel(shape) -> int:
    n = 1
    for size in shape:
        n *= size
    return n
