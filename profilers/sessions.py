"""Build sessions: the model is built in an isolated child, once per device,
and counted there.

- The *meta session* builds the model on the meta device, sends its
  :class:`Structure` (parameter tree, biases, example inputs), then runs the
  counters that work on meta tensors (FlopCounterMode) on that same model.
- The *CPU session* builds the model once with real (uninitialised) CPU
  tensors and runs each real-tensor counter in a process of its own, forked
  from the session, so every tool starts from the same untouched model and a
  tool that crashes or patches functions affects no other.

So a Python factory is called once per session: once for ``params`` or
``flops --counters torch``, twice for a run that also uses real-tensor
counters. The parent never imports user code, and enforces every time limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from ..models.inputs import InputPlan
from .counters import Counter, CountJob
from .errors import BadInput
from .isolation import Child, ChildFailed, describe, run_isolated
from .params import ParamReport
from .records import CounterResult

Progress = Callable[[str, str, float], None]
BACKSTOP_S = 10.0  # extra wait when the session itself times the counter


@dataclass(frozen=True)
class Structure:
    """The model as built, without counting anything (plain data)."""

    class_name: str
    report: ParamReport
    biases: dict  # path -> size of the module's own bias, for the reconciliation
    notes: tuple[str, ...]
    plan: InputPlan | None = None  # the inputs it is fed: a factory's own examples, or planned from the model
    active_params: int | None = None


@dataclass(frozen=True)
class SessionRequest:
    job: CountJob
    counters: tuple[Counter, ...] = ()
    dtype: str | None = None  # bytes of the parameter report
    timeout_s: float = 300.0
    plan: InputPlan | None = field(default=None)  # inputs, when the parent knows them
    plan_inputs: bool = False  # plan the model's inputs (a count follows); a parameter report needs none


def meta_session(
    request: SessionRequest, on_progress: Progress | None = None
) -> tuple[Structure, dict[str, CounterResult]]:
    """Build on meta in a child: the structure, then ``request.counters``
    (meta-tensor counters) on the same model. Raises :class:`BadInput` when
    the model cannot be built (a factory that raises, hangs, crashes or exits)."""
    _prewarm(request.job)
    with Child(_meta_main, request) as child:
        structure = _structure_of(child, request, on_progress)
        return structure, _drive(child, request, 0.0, on_progress)


def meta_sweep(
    request: SessionRequest, specs: tuple, on_progress: Progress | None = None
) -> tuple[Structure, list[CounterResult]]:
    """Build on meta in a child once and run ``request.counters[0]`` (a
    meta-tensor counter) at each of ``specs`` (InputSpecs): one result per
    spec, a failure as a failed result. Raises like :func:`meta_session`
    when the model cannot be built."""
    _prewarm(request.job)
    counter = request.counters[0]
    with Child(_sweep_main, (request, specs)) as child:
        structure = _structure_of(child, request, on_progress)
        results: list[CounterResult] = []
        try:
            for i in range(len(specs)):
                started = child.elapsed
                task = f"{counter.name} at {_point(specs[i])}"
                _report(on_progress, task, "running", 0.0)
                _, result = child.receive(request.timeout_s + BACKSTOP_S, _ticker(on_progress, task, since=started))
                results.append(replace(result, seconds=child.elapsed - started))
                _report(on_progress, task, "done" if result.ok else result.status, child.elapsed - started)
        except ChildFailed as failure:
            results += [counter.failed(failure.reason)] * (len(specs) - len(results))
        return structure, results


def _structure_of(child: Child, request: SessionRequest, on_progress: Progress | None) -> Structure:
    """The structure a meta build child sends first; a failed build raises."""
    _report(on_progress, "build", "running", 0.0)
    try:
        _, structure = child.receive(request.timeout_s, _ticker(on_progress, "build"))
    except ChildFailed as failure:
        raise _build_error(request.job, failure) from None
    _report(on_progress, "build", "done", child.elapsed)
    return structure


def _point(spec) -> str:
    return f"context {spec.context}" if spec.context else f"n = {spec.seq_len}"


def cpu_session(request: SessionRequest, on_progress: Progress | None = None) -> dict[str, CounterResult]:
    """Build with real CPU tensors in a child and run each of
    ``request.counters`` in a process forked from it. A model that cannot be
    built fails every counter with the reason."""
    with Child(_cpu_main, request) as child:
        try:
            child.receive(request.timeout_s, _ticker(on_progress, "build"))
        except ChildFailed as failure:
            why = f"building the model with real CPU tensors failed: {failure.reason}"
            return {c.name: c.failed(why) for c in request.counters}
        return _drive(child, request, BACKSTOP_S, on_progress)


def _drive(child: Child, request: SessionRequest, backstop_s: float, on_progress: Progress | None) -> dict[str, CounterResult]:
    """Collect ``("running", name)`` / ``("result", name, result)`` messages
    until the session ends; a counter that never answers fails with the reason."""
    counters = {c.name: c for c in request.counters}
    results: dict[str, CounterResult] = {}
    current, started = None, child.elapsed
    try:
        while len(results) < len(counters):
            wait = request.timeout_s + backstop_s
            message = child.receive(wait, _ticker(on_progress, current, since=started) if current else None)
            if message[0] == "running":
                current, started = message[1], child.elapsed
                _report(on_progress, current, "running", 0.0)
            elif message[0] == "result":
                seconds = child.elapsed - started
                result = replace(message[2], seconds=seconds)
                results[message[1]] = result
                _report(on_progress, message[1], "done" if result.ok else result.status, seconds)
                current = None
    except ChildFailed as failure:
        if current is not None:
            results[current] = counters[current].failed(failure.reason)
            _report(on_progress, current, "error", child.elapsed - started)
        for name, counter in counters.items():
            results.setdefault(name, counter.failed(f"not run: the counting process ended early ({failure.reason})"))
    return results


# ---------------------------------------------------------------------------
# child side
# ---------------------------------------------------------------------------


def _meta_main(send, request: SessionRequest) -> None:
    from .counters.harness import prepare_built

    built = _build(request.job, "meta")
    plan = request.plan or (_model_plan(built, request.job) if request.plan_inputs else None)
    send(("structure", _structure(built, request.dtype, plan)))
    if not request.counters:
        return
    prepared = prepare_built(built, request.job, plan, "meta")
    for counter in request.counters:
        send(("running", counter.name))
        try:
            result = counter.measure(prepared, request.job)
        except Exception as error:  # the tool failed on this model: its column says why
            result = counter.failed(describe(error))
        send(("result", counter.name, result))


def _sweep_main(send, arg) -> None:
    from ..models.inputs import requested_inputs
    from .counters.harness import prepare_built

    request, specs = arg
    built = _build(request.job, "meta")
    send(("structure", _structure(built, request.dtype, None)))
    counter = request.counters[0]
    for spec in specs:
        job = replace(request.job, inputs=spec)
        try:
            plan = requested_inputs(job.source, spec) or _model_plan(built, job)
            result = counter.measure(prepare_built(built, job, plan, "meta"), job)
        except Exception as error:  # this point failed: its row says why
            result = counter.failed(describe(error))
        send(("result", result))


def _cpu_main(send, request: SessionRequest) -> None:
    from .counters.harness import prepare_built

    prepared = prepare_built(_build(request.job, "cpu"), request.job, request.plan, "cpu")
    send(("built",))
    for counter in request.counters:
        send(("running", counter.name))
        outcome = run_isolated(lambda _unused, c=counter: c.measure(prepared, request.job), None, timeout_s=request.timeout_s)
        send(("result", counter.name, outcome.value if outcome.ok else counter.failed(outcome.error)))


def _build(job: CountJob, device: str):
    from ..models.build import build_model

    return build_model(job.source, device=device, base=job.base, attn=job.attn, trust_remote_code=job.trust_remote_code)


def _model_plan(built, job: CountJob):
    """A HuggingFace model's inputs by modality, from its forward signature
    and config (None for toys and factories, which bring their own)."""
    from ..models import modalities
    from ..models.inputs import config_plan

    source, config = job.source, getattr(built.module, "config", None)
    if source.kind in ("toy", "python") or config is None:
        return None
    facts = modalities.facts_from_model(built.module, config.to_dict())
    return config_plan(source.config, job.inputs, source.location, facts)


def _structure(built, dtype: str | None, plan) -> Structure:
    from ..models.inputs import factory_inputs, plan_from_tensors
    from .params import count_parameters

    module = built.module
    if plan is None and built.example_inputs is not None:
        plan = plan_from_tensors(*factory_inputs(built.example_inputs, "meta"))
    return Structure(
        built.class_name, count_parameters(module, dtype=dtype), _bias_sizes(module), tuple(built.notes), plan
    )


def _bias_sizes(module) -> dict[str, int]:
    """Path -> elements of the module's own ``bias`` parameter."""
    sizes = {}
    for path, sub in module.named_modules():
        bias = dict(sub.named_parameters(recurse=False)).get("bias")
        if bias is not None:
            sizes[path] = bias.numel()
    return sizes


# ---------------------------------------------------------------------------
# parent side helpers
# ---------------------------------------------------------------------------


def _prewarm(job: CountJob) -> None:
    """Import torch (and, for HuggingFace configs, transformers' modeling code
    and the model's own module) here, once, so every forked child reuses them
    instead of importing them again (seconds each). Imports of installed
    packages only: no model is built and no remote code runs in this process."""
    import torch  # noqa: F401

    config = job.source.config or {}
    if job.source.kind in ("toy", "python") or "model_type" not in config:
        return
    import transformers
    import transformers.modeling_utils  # noqa: F401

    for name in config.get("architectures") or ():
        if isinstance(name, str) and name.isidentifier():
            getattr(transformers, name, None)  # imports the family's modeling module, if transformers has it


def _build_error(job: CountJob, failure: ChildFailed) -> Exception:
    """A failed build: the message of a clean refusal as it is; the user's own
    code (a factory, remote code) failing is bad input; anything else in a
    config modelprof builds itself is a bug."""
    if failure.bad_input:
        return BadInput(failure.reason)
    source = job.source
    if source.kind == "python":
        return BadInput(f"{source.name}: the factory failed: {failure.reason}")
    if job.trust_remote_code or failure.reason.startswith(("timed out", "crashed", "exited")):
        return BadInput(f"{source.name}: building the model failed: {failure.reason}")
    return RuntimeError(f"building {source.name} failed: {failure.reason}")


def _report(on_progress: Progress | None, task: str, state: str, elapsed: float) -> None:
    if on_progress is not None:
        on_progress(task, state, elapsed)


def _ticker(on_progress: Progress | None, task: str, since: float = 0.0):
    if on_progress is None or task is None:
        return None
    return lambda elapsed: on_progress(task, "running", elapsed - since)
