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
}
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


for _name in ("seq_len", "batch", "decoder_seq_len", "image_size"):
    _setting(_name)(_positive_int)
for _name in ("base", "trust_remote_code"):
    _setting(_name)(_boolean)
_setting("dtype")(_dtype)


@dataclass(frozen=True)
class ModelBudget:
    model: str  # the key: any source params/flops accept
    settings: dict  # seq_len, batch, base, dtype, ... (defaults applied)
    limits: dict  # limit key -> integer


@dataclass(frozen=True)
class BudgetFile:
    path: Path
    models: tuple[ModelBudget, ...]


@dataclass(frozen=True)
class LimitCheck:
    model: str
    key: str
    actual: int | None
    limit: int
    unit: str
    kind: str  # "max" or "min"
    source: str  # what produced ``actual``: "analytic", "torch", "meta build"
    error: str = ""  # set when ``actual`` could not be measured

    @property
    def passed(self) -> bool:
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
        settings = {**defaults, **_settings(path, where, {k: v for k, v in table.items() if k in SETTINGS})}
        limits = {}
        for key, value in table.items():
            if key in LIMITS:
                try:
                    limits[key] = parse_quantity(value)
                except ValueError as error:
                    raise BadInput(f"{path}: {where}: {key}: {error}") from None
        if not limits:
            raise BadInput(f"{path}: {where}: no limits (use e.g. max_params, max_forward_flops)")
        budgets.append(ModelBudget(model, settings, limits))
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


def check_budgets(budget: BudgetFile, *, timeout_s: float = 300.0) -> BudgetReport:
    """Measure every model of ``budget`` and compare it with its limits.

    Every model key is resolved before anything is measured, so a typo fails
    fast (exit 2) instead of after minutes of counting."""
    from ..models.resolver import resolve

    for model in budget.models:
        try:
            resolve(model.model)
        except ModelprofError as error:
            raise BadInput(f"{budget.path}: [models.{_quote(model.model)}]: {error}") from None
    report = BudgetReport(budget.path)
    for model in budget.models:
        where = f"{budget.path}: [models.{_quote(model.model)}]"
        try:
            measured = _measure(model, timeout_s)
        except ModelprofError as error:
            raise BadInput(f"{where}: {error}") from None
        for key, limit in model.limits.items():
            quantity, kind, unit = LIMITS[key]
            value, source, problem = measured.get(quantity, (None, "", "not measured"))
            report.checks.append(LimitCheck(model.model, key, value, limit, unit, kind, source, problem))
    return report


def _measure(model: ModelBudget, timeout_s: float) -> dict[str, tuple[int | None, str, str]]:
    """quantity -> (value, source, error) for the quantities its limits need."""
    from ..models.inputs import InputSpec
    from .pipeline import profile_flops, profile_params

    s = model.settings
    needed = {LIMITS[key][0] for key in model.limits}
    base, dtype = s.get("base", False), s.get("dtype")
    trust = s.get("trust_remote_code", False)
    spec = InputSpec(s.get("batch", 1), s.get("seq_len", 128), s.get("decoder_seq_len"), s.get("image_size"))
    out: dict[str, tuple[int | None, str, str]] = {}
    if needed & {"forward_macs", "forward_flops"}:
        flops = profile_flops(model.model, counters=["analytic"], spec=spec, base=base, trust_remote_code=trust, timeout_s=timeout_s)
        if not flops.reference:
            flops = profile_flops(model.model, counters=["torch"], spec=spec, base=base, trust_remote_code=trust, timeout_s=timeout_s)
        reference = flops.reference
        if reference is None:
            why = "; ".join(f"{n}: {r.reason}" for n, r in flops.results.items())
            out["forward_macs"] = out["forward_flops"] = (None, "", f"no counter could count it ({why})")
        else:
            out["forward_macs"] = (reference.macs, reference.counter, "")
            out["forward_flops"] = (reference.flops, reference.counter, "")
    if needed & {"params", "trainable_params", "non_embedding_params", "bytes", "active_params"}:
        params = profile_params(model.model, base=base, dtype=dtype, trust_remote_code=trust, analytic=None)
        r, source = params.report, params.counted_by
        out["params"] = (r.total, source, "")
        out["trainable_params"] = (r.trainable, source, "")
        out["non_embedding_params"] = (r.non_embedding, source, "")
        out["bytes"] = (r.bytes, f"{source} at {r.dtype}", "")
        if params.active_params is not None:
            out["active_params"] = (params.active_params, "analytic (top-k routed + shared experts)", "")
        else:
            out["active_params"] = (r.total, f"{source} (dense: every parameter is active)", "")
    if "train_flops" in needed:
        train = profile_flops(model.model, counters=["torch"], spec=spec, base=base, mode="train", trust_remote_code=trust, timeout_s=timeout_s)
        torch_result = train.results["torch"]
        out["train_flops"] = (torch_result.flops, "torch (forward + backward, measured)", "") if torch_result.ok else (None, "", torch_result.reason)
    return out
