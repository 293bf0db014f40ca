"""Core entry points the CLI (and the budget checker) call: explicit keyword
arguments in, records out. Nothing here prints."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.build import build_model
from ..models.resolver import ModelSource, resolve
from .params import ParamReport, count_parameters, normalize_dtype
from .records import ModelInfo


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
