"""Turning a :class:`ModelSource` into an ``nn.Module``.

HuggingFace configs are built on the meta device by default: no weights are
allocated, nothing is initialised, nothing but the config is read. Real
tensors (for counters that must run real kernels) are allocated uninitialised:
their values never matter for counting. Remote code runs only with
``trust_remote_code=True``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..profilers.errors import BadInput, one_line
from . import balanced_experts
from .resolver import ModelSource


@dataclass
class BuiltModel:
    module: Any  # torch.nn.Module
    class_name: str
    example_inputs: Any = None  # from a Python factory, if it gave any
    notes: list[str] = field(default_factory=list)


def build_model(
    source: ModelSource,
    *,
    device: str = "meta",
    base: bool = False,
    attn: str | None = None,
    trust_remote_code: bool = False,
) -> BuiltModel:
    """Build the model ``source`` describes on ``device`` ("meta" or "cpu").

    ``base`` builds the bare backbone (``AutoModel``) instead of the
    ``architectures`` class; ``attn`` picks the attention implementation of
    HuggingFace models (None keeps transformers' default).
    """
    if source.kind == "toy":
        return _build_toy(source, device)
    if source.kind == "python":
        return _build_factory(source, device)
    return _build_hf(source, device=device, base=base, attn=attn, trust_remote_code=trust_remote_code)


def _build_toy(source: ModelSource, device: str) -> BuiltModel:
    import torch

    from . import toy_nets, toys

    spec = toys.find_toy(source.location)
    with torch.device(device):
        module = getattr(toy_nets, spec.net)(**spec.hyper)
    return BuiltModel(module, type(module).__name__)


def _build_factory(source: ModelSource, device: str) -> BuiltModel:
    import torch

    from .factory import call_factory

    notes = []
    try:
        with torch.device(device):
            module, inputs = call_factory(source.factory)
    except BadInput:
        if device != "meta":
            raise
        # Code that needs real values while building (.item(), data-dependent
        # shapes) cannot run on meta: build it for real instead.
        module, inputs = call_factory(source.factory)
        notes.append("the factory could not run on the meta device; built with real tensors")
    return BuiltModel(module, type(module).__name__, example_inputs=inputs, notes=notes)


def _build_hf(source: ModelSource, *, device: str, base: bool, attn: str | None, trust_remote_code: bool) -> BuiltModel:
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    transformers.logging.set_verbosity_error()
    raw = dict(source.config)
    model_type = raw["model_type"]
    known = model_type in CONFIG_MAPPING
    if not known and "auto_map" not in raw:
        raise BadInput(
            f"{source.location}: model_type {model_type!r} is unknown to transformers {transformers.__version__}"
        )
    if not known and not trust_remote_code:
        raise BadInput(
            f"{source.name}: this config needs custom code from its repository (auto_map); "
            "pass --trust-remote-code to allow running it"
        )
    notes: list[str] = []
    # custom code runs only when asked for; a model_type transformers knows is built from its own code otherwise
    remote = "auto_map" in raw and trust_remote_code
    if "auto_map" in raw and not remote:
        notes.append(
            f"the config names custom code (auto_map), but transformers knows model_type {model_type!r}: "
            "built transformers' own class; --trust-remote-code builds the repository's code instead"
        )
    kwargs = {"attn_implementation": attn} if attn else {}
    # experts modules run every token through exactly k experts (see :mod:`balanced_experts`); others ignore it
    native_kwargs = {**kwargs, "experts_implementation": balanced_experts.register()}
    try:
        if remote:
            config = transformers.AutoConfig.from_pretrained(_code_location(source), trust_remote_code=True)
            auto_class = getattr(transformers, _remote_auto_class(raw, base, notes))
            build = lambda: auto_class.from_config(config, trust_remote_code=True, **kwargs)  # noqa: E731
        else:
            config = CONFIG_MAPPING[model_type].from_dict(raw)
            model_class = None if base else _architecture_class(config, notes)
            if model_class is None:
                build = lambda: transformers.AutoModel.from_config(config, **native_kwargs)  # noqa: E731
            else:
                build = lambda: model_class._from_config(config, **native_kwargs)  # noqa: E731
        with torch.device(device), _uninitialised_weights(device):
            module = build()
        if device != "meta" and hasattr(module, "tie_weights"):
            module.tie_weights()  # skipped with the initialisation: tied weights would be separate copies
        _gather_parameters(module, device)
    except BadInput:
        raise
    except Exception as error:  # transformers rejects the config
        raise BadInput(f"{source.location}: transformers cannot build this config: {one_line(error)}") from None
    return BuiltModel(module, type(module).__name__, notes=notes)


def _architecture_class(config: Any, notes: list[str]):
    """The transformers class named first in ``architectures``, or None for the base model."""
    import transformers

    names = getattr(config, "architectures", None) or []
    if not names:
        notes.append("the config names no architecture: built the base model")
        return None
    model_class = getattr(transformers, names[0], None)
    if model_class is None:
        notes.append(f"{names[0]} is not in transformers {transformers.__version__}: built the base model")
    return model_class


def _remote_auto_class(raw: dict, base: bool, notes: list[str]) -> str:
    """The Auto class whose ``auto_map`` entry builds the requested remote class."""
    auto_map = raw.get("auto_map") or {}
    wanted = (raw.get("architectures") or [None])[0]
    if not base and wanted:
        for auto_name, reference in auto_map.items():
            if isinstance(reference, str) and reference.rsplit(".", 1)[-1] == wanted:
                return auto_name
        notes.append(f"auto_map has no entry for {wanted}: built the base model")
    return "AutoModel"


def _code_location(source: ModelSource) -> str:
    return str(source.local_dir) if source.local_dir is not None else source.name


def _gather_parameters(module, device: str) -> None:
    """Move onto ``device`` the parameters the build left elsewhere: the
    legacy constructor ``torch.Tensor(n, d)`` ignores the device context, so
    ``nn.Parameter(torch.Tensor(...))`` (GroundingDINO's and OneFormer's
    ``level_embed``) lands on the CPU in a meta model, and fake tensors
    refuse to mix the two. A parameter shared by several modules stays shared."""
    import torch

    moved: dict[int, torch.nn.Parameter] = {}
    for owner in module.modules():
        for name, parameter in list(owner._parameters.items()):
            if parameter is not None and parameter.device.type != device:
                if id(parameter) not in moved:
                    moved[id(parameter)] = torch.nn.Parameter(parameter.to(device), parameter.requires_grad)
                owner._parameters[name] = moved[id(parameter)]


def _uninitialised_weights(device: str):
    """On real devices skip random initialisation (values never matter here);
    transformers ties weights in the initialisation it skips, so the caller
    ties them after (as ``from_pretrained`` does)."""
    if device == "meta":
        return contextlib.nullcontext()
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # older transformers: pay for the initialisation
        return contextlib.nullcontext()
    return no_init_weights()
