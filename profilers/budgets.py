"""Budget files: parameter and compute limits per model, checked for CI.

A budget file is TOML: ``modelprof.toml``, or the ``[tool.modelprof]`` table of
``pyproject.toml``::

    [defaults]
    seq_len = 128
    batch = 1

    [models."bert-base-uncased"]
    base = true
    max_params = "110M"
    max_forward_macs = "11.2G"

Limits name their unit in their key; values are integers or strings with SI
suffixes (see :mod:`units`). Compute figures come from the reference counter:
the analytic counter where it supports the model, else torch (FlopCounterMode
on meta tensors); training steps are always measured by torch.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import BadInput, ModelprofError
from .units import parse_quantity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_FILES = ("modelprof.toml", "pyproject.toml")
# limit key -> (what it measures, "max" or "min", unit)
LIMITS = {
    "max_params": ("params", "max", "params"),
    "min_params": ("params", "min", "params"),
    "max_trainable_params": ("trainable_params", "max", "params"),
    "max_non_embedding_params": ("non_embedding_params", "max", "params"),
    "max_active_params": ("active_params", "max", "params"),
    "max_forward_macs": ("forward_macs", "max", "MACs"),
    "max_forward_flops": ("forward_flops", "max", "FLOPs"),
    "max_train_flops": ("train_flops", "max", "FLOPs"),
    "max_bytes": ("bytes", "max", "bytes"),
    "max_train_memory": ("train_memory", "max", "bytes"),
    "max_infer_memory": ("infer_memory", "max", "bytes"),
    "max_latency_ms": ("latency_ms", "max", "ms"),
    "min_tokens_per_s": ("tokens_per_s", "min", "tokens/s"),
}
BENCH_LIMITS = ("max_latency_ms", "min_tokens_per_s")  # measured by ``bench`` on the budget's named device
SKIPPED = "skipped"  # the source of a figure not measured on purpose (another device)
# settings key -> checker returning the value (or raising ValueError)
SETTINGS: dict[str, Callable[[Any], Any]] = {}


def _setting(name: str):
    def register(check: Callable[[Any], Any]):
        SETTINGS[name] = check
        return check

    return register


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _dtype(value: Any) -> str:
    from .params import normalize_dtype

    if not isinstance(value, str):
        raise ValueError(f"expected a dtype name, got {value!r}")
    return normalize_dtype(value)


@_setting("input_shape")
def _input_shape(value: Any) -> tuple[int, ...]:
    from ..models.inputs import parse_shape

    if not isinstance(value, str):
        raise ValueError(f"expected a shape like \"1,3,224,224\", got {value!r}")
    try:
        return parse_shape(value, "input_shape")
    except BadInput as error:
        raise ValueError(str(error)) from None


@_setting("inputs")
def _inputs(value: Any) -> tuple:
    from ..models.inputs import parse_named_input

    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise ValueError('expected a table of NAME = "SHAPE[:DTYPE]", e.g. { input_ids = "1x128:int64" }')
    try:
        return tuple(parse_named_input(f"{name}={text}") for name, text in value.items())
    except BadInput as error:
        raise ValueError(str(error).removeprefix("--input ")) from None


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return check


def _stage(value: Any) -> int:
    if isinstance(value, bool) or value not in (0, 1, 2, 3):
        raise ValueError(f"expected a ZeRO stage 0, 1, 2 or 3, got {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value


# the memory settings (memory budgets; see ``modelprof memory``)
_setting("precision")(_choice("pure", "mixed"))
_setting("optimizer")(_choice("adamw", "adam", "sgd", "sgd-momentum", "adafactor", "none"))
_setting("checkpointing")(_choice("none", "full"))
_setting("attn")(_choice("eager", "sdpa"))
_setting("zero")(_stage)
_setting("context")(_count)
for _name in ("seq_len", "batch", "decoder_seq_len", "image_size", "gpus"):
    _setting(_name)(_positive_int)
for _name in ("base", "trust_remote_code"):
    _setting(_name)(_boolean)
_setting("dtype")(_dtype)
# the bench settings (latency budgets; see ``modelprof bench``)
_setting("bench_mode")(_choice("forward", "train", "decode"))
_setting("warmup")(_count)
_setting("repeats")(_positive_int)


@_setting("device")
def _device_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('expected the device\'s name as torch reports it, e.g. "NVIDIA H100 80GB HBM3"')
    return value.strip()


@dataclass(frozen=True)
class ModelBudget:
    model: str  # the key: any source params/flops accept
    settings: dict  # seq_len, batch, base, dtype, ... set in the model's own table
    limits: dict  # limit key -> integer
    defaults: dict = field(default_factory=dict)  # [defaults]: used where they apply to the model


@dataclass(frozen=True)
class BudgetFile:
    path: Path
    models: tuple[ModelBudget, ...]


@dataclass(frozen=True)
class LimitCheck:
    model: str
    key: str
    actual: int | float | None  # float: milliseconds and tokens per second
    limit: int
    unit: str
    kind: str  # "max" or "min"
    source: str  # what produced ``actual``: "analytic", "torch", "meta build"
    error: str = ""  # set when ``actual`` could not be measured, or why it was skipped

    @property
    def skipped(self) -> bool:
        """Not measured on purpose: a latency budget for another device."""
        return self.source == SKIPPED

    @property
    def passed(self) -> bool:
        if self.skipped:
            return True
        if self.actual is None:
            return False
        return self.actual <= self.limit if self.kind == "max" else self.actual >= self.limit

    @property
    def headroom(self) -> float | None:
        """Percent of the limit left (negative when exceeded)."""
        if self.actual is None or not self.limit:
            return None
        spare = self.limit - self.actual if self.kind == "max" else self.actual - self.limit
        return 100.0 * spare / self.limit


@dataclass
class BudgetReport:
    path: Path
    checks: list[LimitCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[LimitCheck]:
        return [check for check in self.checks if not check.passed]


def find_budget_file(start: Path) -> Path:
    """``modelprof.toml``, else a ``pyproject.toml`` with ``[tool.modelprof]``, in ``start``."""
    for name in DEFAULT_FILES:
        candidate = start / name
        if candidate.is_file() and (name != "pyproject.toml" or "modelprof" in _read(candidate).get("tool", {})):
            return candidate
    raise BadInput(f"no budget file: neither {start / 'modelprof.toml'} nor [tool.modelprof] in {start / 'pyproject.toml'}")


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise BadInput(f"{path}: not a UTF-8 text file (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path}: invalid TOML: {error}") from None


def load_budget_file(path: Path) -> BudgetFile:
    """Parse and validate a budget file; every problem is one line naming the
    file, the model and the key."""
    document = _read(path)
    if path.name == "pyproject.toml":
        document = document.get("tool", {}).get("modelprof")
        if not isinstance(document, dict):
            raise BadInput(f"{path}: no [tool.modelprof] table")
    _only(path, "", document, {"defaults", "models"})
    defaults = _settings(path, "[defaults]", document.get("defaults", {}))
    models = document.get("models")
    if not isinstance(models, dict) or not models:
        raise BadInput(f"{path}: [models] is missing or empty: add at least one [models.\"NAME\"] table")
    budgets = []
    for model, table in models.items():
        where = f"[models.{_quote(model)}]"
        if not isinstance(table, dict):
            raise BadInput(f"{path}: {where}: expected a table of settings and limits")
        _only(path, where, table, set(SETTINGS) | set(LIMITS))
        settings = _settings(path, where, {k: v for k, v in table.items() if k in SETTINGS})
        limits = {}
        for key, value in table.items():
            if key in LIMITS:
                try:
                    limits[key] = parse_quantity(value)
                except ValueError as error:
                    raise BadInput(f"{path}: {where}: {key}: {error}") from None
        if not limits:
            raise BadInput(f"{path}: {where}: no limits (use e.g. max_params, max_forward_flops)")
        if set(limits) & set(BENCH_LIMITS) and "device" not in {**defaults, **settings}:
            raise BadInput(f"{path}: {where}: {', '.join(k for k in BENCH_LIMITS if k in limits)} needs device = NAME, "
                           f"the device it holds on as torch reports it (e.g. \"NVIDIA H100 80GB HBM3\")")
        budgets.append(ModelBudget(model, settings, limits, defaults))
    return BudgetFile(path, tuple(budgets))


def _quote(model: str) -> str:
    return f'"{model}"'


def _only(path: Path, where: str, table: dict, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
            prefix = f"{where}: " if where else ""
            raise BadInput(f"{path}: {prefix}unknown key {key!r}{hint}")


def _settings(path: Path, where: str, table: Any) -> dict:
    if not isinstance(table, dict):
        raise BadInput(f"{path}: {where}: expected a table")
    _only(path, where, table, set(SETTINGS))
    settings = {}
    for key, value in table.items():
        try:
            settings[key] = SETTINGS[key](value)
        except ValueError as error:
            raise BadInput(f"{path}: {where}: {key}: {error}") from None
    return settings


@dataclass(frozen=True)
class _Request:
    """One model of a budget file, resolved and checked, ready to measure."""

    budget: ModelBudget
    source: Any  # ModelSource
    spec: Any  # InputSpec, checked against the model
    base: bool
    dtype: str | None
    trust_remote_code: bool
    settings: dict = field(default_factory=dict)  # every setting that applies, defaults included


def check_budgets(
    budget: BudgetFile,
    *,
    timeout_s: float = 300.0,
    on_model: Callable[[int, int, str], None] | None = None,
    on_progress: Callable[[str, str, float], None] | None = None,
) -> BudgetReport:
    """Measure every model of ``budget`` and compare it with its limits.

    Every model key is resolved, and its settings checked against the model,
    before anything is measured, so a typo fails fast (exit 2) instead of
    after minutes of counting. ``on_model(i, n, name)`` is called as each
    model starts; ``on_progress`` is passed on to the counters."""
    requests = []
    for model in budget.models:
        try:
            requests.append(_request(model))
        except ModelprofError as error:
            raise BadInput(f"{budget.path}: [models.{_quote(model.model)}]: {error}") from None
    report = BudgetReport(budget.path)
    for i, request in enumerate(requests):
        model = request.budget
        if on_model is not None:
            on_model(i + 1, len(requests), model.model)
        where = f"{budget.path}: [models.{_quote(model.model)}]"
        try:
            measured = _measure(request, timeout_s, on_progress)
        except ModelprofError as error:
            raise BadInput(f"{where}: {error}") from None
        for key, limit in model.limits.items():
            quantity, kind, unit = LIMITS[key]
            value, source, problem = measured.get(quantity, (None, "", "not measured"))
            report.checks.append(LimitCheck(model.model, key, value, limit, unit, kind, source, problem))
    return report


def _request(model: ModelBudget) -> _Request:
    from ..models.inputs import applied_spec
    from ..models.resolver import resolve
    from .pipeline import check_build_options

    source = resolve(model.model)
    hf = source.kind not in ("toy", "python")
    base = model.settings.get("base", hf and model.defaults.get("base", False))  # a default --base means nothing to a toy
    settings = {**model.defaults, **model.settings}
    check_build_options(source, base=base, attn=None)
    spec = applied_spec(source, _input_spec(model, source))
    return _Request(model, source, spec, base, settings.get("dtype"), settings.get("trust_remote_code", False), settings)


def _input_spec(model: ModelBudget, source):
    """The model's own input settings, plus the [defaults] that apply to it
    (a default sequence length means nothing to an image model or a toy MLP)."""
    from ..models.inputs import InputSpec, applicable_options

    fields = ("batch", "seq_len", "decoder_seq_len", "image_size", "input_shape", "inputs")
    applicable = applicable_options(source)
    chosen = {k: v for k, v in model.defaults.items() if k in fields and k in applicable}
    chosen.update({k: v for k, v in model.settings.items() if k in fields})
    return InputSpec.from_options(**chosen)


def _memory(request: _Request, mode: str, timeout_s: float, on_progress) -> tuple[int, str, str]:
    """The peak of ``modelprof memory`` in ``mode`` with the budget's memory settings."""
    from .footprint import MemoryRequest, profile_memory

    settings = request.settings
    precision = settings.get("precision", "pure")
    dtype = settings.get("dtype") or ("bf16" if precision == "mixed" else "fp32")
    train = mode == "train"
    memory = MemoryRequest(
        request.budget.model, request.spec, (), mode, dtype, precision, settings.get("optimizer", "adamw"),
        settings.get("attn"), settings.get("checkpointing", "none") if train else "none",
        None if train else settings.get("context"), settings.get("gpus", 1), settings.get("zero", 0) if train else 0,
        base=request.base, trust_remote_code=request.trust_remote_code, timeout_s=timeout_s,
    )
    result = profile_memory(memory, on_progress)
    return result.columns[0].peak, f"memory {mode} {dtype}", ""


def _bench(request: _Request, timeout_s: float, on_progress) -> dict[str, tuple]:
    """Median step latency (ms) and tokens per second of ``modelprof bench``
    with the budget's settings, on the named device only: on any other the
    limits are skipped with the reason (a CPU runner never fails a GPU budget)."""
    from .bench import BenchRequest, local_device_name, profile_bench

    settings = request.settings
    wanted, here = settings["device"], local_device_name()
    if here != wanted:
        why = f"the budget is for {wanted!r}; this machine runs on {here!r}"
        return {"latency_ms": (None, SKIPPED, why), "tokens_per_s": (None, SKIPPED, why)}
    mode = settings.get("bench_mode", "forward")
    spec = request.spec
    if mode == "decode":  # one new token after `context` cached ones (bench's default 128 when unset)
        from ..models.inputs import InputSpec

        spec = InputSpec.from_options(batch=spec.batch, context=settings.get("context"))
    bench = profile_bench(BenchRequest(
        request.budget.model, spec, mode, settings.get("dtype") or "fp32", warmup=settings.get("warmup", 2),
        repeats=settings.get("repeats", 5), base=request.base, trust_remote_code=request.trust_remote_code,
        timeout_s=timeout_s,
    ), on_progress)
    median = bench.measured.median
    source = f"bench {mode} on {here} ({bench.measured.threads} threads, median of {len(bench.measured.seconds)})"
    return {"latency_ms": (round(1000 * median, 3), source, ""),
            "tokens_per_s": (round(bench.tokens_per_step / median, 1), source, "")}


def _measure(request: _Request, timeout_s: float, on_progress) -> dict[str, tuple[int | None, str, str]]:
    """quantity -> (value, source, error) for the quantities its limits need."""
    from .pipeline import profile_flops, profile_params

    name = request.budget.model
    needed = {LIMITS[key][0] for key in request.budget.limits}
    common = dict(spec=request.spec, base=request.base, trust_remote_code=request.trust_remote_code,
                  timeout_s=timeout_s, on_progress=on_progress)
    out: dict[str, tuple[int | None, str, str]] = {}
    if needed & {"forward_macs", "forward_flops"}:
        flops = profile_flops(name, counters=["analytic"], **common)
        if not flops.reference:
            flops = profile_flops(name, counters=["torch"], **common)
        reference = flops.reference
        if reference is None:
            why = "; ".join(f"{n}: {r.reason}" for n, r in flops.results.items())
            out["forward_macs"] = out["forward_flops"] = (None, "", f"no counter could count it ({why})")
        else:
            out["forward_macs"] = (reference.macs, reference.counter, "")
            out["forward_flops"] = (reference.flops, reference.counter, "")
    if needed & {"params", "trainable_params", "non_embedding_params", "bytes", "active_params"}:
        params = profile_params(
            name, base=request.base, dtype=request.dtype, trust_remote_code=request.trust_remote_code,
            analytic=None, timeout_s=timeout_s, on_progress=on_progress,
        )
        r, source = params.report, params.counted_by
        out["params"] = (r.total, source, "")
        out["trainable_params"] = (r.trainable, source, "")
        out["non_embedding_params"] = (r.non_embedding, source, "")
        out["bytes"] = (r.bytes, f"{source} at {r.dtype}", "")
        if params.active_params is not None:
            out["active_params"] = (params.active_params, "analytic (top-k routed + shared experts)", "")
        else:
            out["active_params"] = (r.total, f"{source} (dense: every parameter is active)", "")
    for mode in ("train", "infer"):
        if f"{mode}_memory" in needed:
            out[f"{mode}_memory"] = _memory(request, mode, timeout_s, on_progress)
    if needed & {"latency_ms", "tokens_per_s"}:
        out.update(_bench(request, timeout_s, on_progress))
    if "train_flops" in needed:
        train = profile_flops(name, counters=["torch"], mode="train", **common)
        torch_result = train.results["torch"]
        out["train_flops"] = (torch_result.flops, "torch (forward + backward, measured)", "") if torch_result.ok else (None, "", torch_result.reason)
    return out
