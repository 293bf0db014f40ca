"""What a HuggingFace model's forward is fed, by modality: one registry of
input builders, each making one named tensor (``input_ids``,
``pixel_values``, ``input_features``, ...) from the config and the request,
one module per modality (:mod:`.text`, :mod:`.vision`, :mod:`.audio`,
:mod:`.multimodal`). An input may have several builders, each for the models
its ``when`` predicate picks (a grid-style vision tower's ``pixel_values``
are rows of patches); the first that applies wins, else the one without.

Which tensors a model gets follows its forward signature (:class:`ModelFacts`):
its main input, every argument it requires, and the inputs of every tower it
has (a vision tower gets ``pixel_values``, an audio tower its features), so
that a vision-language or speech model runs all of itself, not only its text
path. Image inputs are planned first: a vision-language model's token ids
then hold its image placeholder token once per image feature.

Plain data, no torch: the facts come from the built model in the meta session
(:func:`facts_from_model`) or, before anything is built, from the config alone
(:func:`facts_from_config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ...profilers.errors import BadInput

ENCODER_DECODER_TYPES = frozenset({"t5", "bart", "mbart", "pegasus", "marian", "mt5", "longt5", "umt5", "led", "m2m_100"})
VISION_TYPES = frozenset({"vit", "deit", "beit", "dinov2", "swin", "convnext", "resnet", "vit_mae", "vit_msn", "efficientnet"})


@dataclass(frozen=True)
class TensorPlan:
    shape: tuple[int, ...]
    dtype: str  # a torch dtype name: int64, float32, ...
    fill: tuple[tuple[int, int], ...] = ()  # (value, count) runs at the start of the last dimension; zeros after
    values: tuple | None = None  # the whole tensor, flat, for small ones (an image grid)


@dataclass(frozen=True)
class ModelFacts:
    """What the planner knows of a model: its config (sub-configs as dicts),
    main input, forward signature and the tasks transformers lists it for."""

    config: Mapping
    main_input: str
    accepts: frozenset = frozenset()  # forward parameters; empty when unknown
    required: frozenset = frozenset()  # forward parameters without a default
    image_tokens: int | None = None  # image features per image, measured on the model (vision-language models)
    derived: Mapping = field(default_factory=dict)  # sizes the config class derives from its fields (see derived_sizes)
    tasks: frozenset = frozenset()  # transformers' auto-class tasks of its model type ("keypoint_matching", ...)
    patch_embedding: str | None = None  # the layer a vision tower embeds patches with: "Conv2d", "Conv3d", "Linear"
    patch_rows: bool = False  # its Conv2d patch embedding takes only rows of C·p·p values (see takes_patch_rows)
    image_newline: bool = False  # the model holds a learned newline embedding it ends rows of image tokens with
    view_separator: bool = False  # the model holds a learned separator embedding it ends an image's tokens with
    feature_stride: int | None = None  # pixels a side per feature of its image tower (see image_tower)
    pixel_config: Mapping | None = None  # the config of the tower inside the vision config that takes the pixels

    def sub(self, name: str) -> Mapping:
        """A sub-config as a dict, or the config itself when it has none of that name."""
        value = self.config.get(name)
        return value if isinstance(value, Mapping) else self.config


@dataclass
class Planned:
    """The plan so far: tensors by name, tokens processed, notes for the user."""

    spec: object = None  # the InputSpec planned for
    facts: ModelFacts | None = None
    tensors: dict = field(default_factory=dict)
    tokens: int = 0
    notes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    after_tokens: list = field(default_factory=list)  # inputs to plan once the token ids are planned

    def add_after_tokens(self, name: str) -> None:
        """Plan input ``name`` (when the forward takes it) after the token
        ids: an input that describes every token (which are image tokens)."""
        if name not in self.after_tokens:
            self.after_tokens.append(name)

    def add(self, name: str, required: bool = False) -> TensorPlan | None:
        """Plan input ``name`` (once). A builder calls this for the inputs
        that go with its own (an image grid beside its patches), which are
        planned only when the model's forward takes them."""
        if name in self.tensors:
            return self.tensors[name]
        if not required and name not in self.facts.accepts:
            return None
        variant = builder(self.facts, name)
        if variant is None:
            if not required:
                return None
            raise BadInput(
                f"the model's forward needs {name!r}, which modelprof cannot make up; "
                f"pass it with --input {name}=SHAPE[:DTYPE]"
            )
        self.tensors[name] = variant.build(self.facts, self.spec, self)
        return self.tensors[name]


Builder = Callable[[ModelFacts, object, Planned], TensorPlan]
Predicate = Callable[[ModelFacts], bool]


@dataclass(frozen=True)
class Variant:
    modality: str
    build: Builder
    when: Predicate | None = None  # None: the input's default builder


_BUILDERS: dict[str, list[Variant]] = {}
# tower inputs: each with the models it feeds (see :func:`tower`); the towers' inputs are planned
# before token ids (which may hold their placeholders)
_TOWERS: list[tuple[str, Predicate]] = []
TOKEN_INPUTS = ("input_ids", "decoder_input_ids", "attention_mask", "token_type_ids")  # planned last


def builds(name: str, modality: str, when: Predicate | None = None):
    """Register a builder of input ``name`` for the models ``when`` picks
    (default: every model; one default per name)."""

    def register(builder: Builder) -> Builder:
        variants = _BUILDERS.setdefault(name, [])
        if when is None and any(v.when is None for v in variants):
            raise ValueError(f"input {name!r} already has a default builder")
        variants.append(Variant(modality, builder, when))
        return builder

    return register


def tower(name: str, when: Predicate) -> None:
    """Plan input ``name`` as a tower's for the models ``when`` picks (an
    image tower a sub-config describes, region features of a detector)."""
    _TOWERS.append((name, when))


def described_by(*fields: str) -> Predicate:
    """Models whose config has one of ``fields`` set: a sub-config (or a
    token id) that is null describes no tower (a text-only build)."""
    return lambda facts: any(facts.config.get(field) is not None for field in fields)


tower("pixel_values", described_by("vision_config", "backbone_config"))  # a vision backbone: TVP's ResNet
tower("input_features", described_by("audio_config", "speech_config"))
tower("input_values", described_by("audio_config"))
tower("audio_prompt_latents", described_by("audio_prompt_token_id"))  # a TTS model's voice prompt
tower("input_ids", described_by("text_config"))  # a text prompt beside another main input (SAM 3)


def tower_inputs(facts: ModelFacts) -> list[str]:
    """The inputs of the towers ``facts``' model has and its forward takes."""
    found = [name for name, when in _TOWERS if when(facts)]
    return [name for name in dict.fromkeys(found) if name in facts.accepts]


@dataclass(frozen=True)
class Placeholders:
    """A run of placeholder tokens at the start of every row of ``input_ids``,
    where the model puts the features of another modality (an image's
    patches, a clip's audio frames)."""

    token: int
    count: int  # tokens per row
    what: str  # "image", "audio", ...


PlaceholderRule = Callable[[ModelFacts, Planned], Placeholders | None]
_PLACEHOLDERS: list[PlaceholderRule] = []


def placeholders(rule: PlaceholderRule) -> PlaceholderRule:
    """Register a rule that says which placeholder tokens ``input_ids`` hold
    for the inputs planned so far (None: none of its kind)."""
    _PLACEHOLDERS.append(rule)
    return rule


def placeholder_runs(facts: ModelFacts, planned: Planned) -> list[Placeholders]:
    """The runs the rules give, one per token: where two rules place the same
    token (a family's own rule and a general one), the first registered wins."""
    runs: dict[int, Placeholders] = {}
    for rule in _PLACEHOLDERS:
        run = rule(facts, planned)
        if run is not None:
            runs.setdefault(run.token, run)
    return list(runs.values())


def builder(facts: ModelFacts, name: str) -> Variant | None:
    """The builder of input ``name`` for ``facts``' model, or None."""
    variants = _BUILDERS.get(name, [])
    return next((v for v in variants if v.when is not None and v.when(facts)), None) or next(
        (v for v in variants if v.when is None), None
    )


def plan(facts: ModelFacts, spec) -> Planned:
    """The tensors ``facts``' model is fed under ``spec`` (an InputSpec)."""
    main = [facts.main_input] if not facts.accepts or facts.main_input in facts.accepts else []
    wanted = [*main, *sorted(facts.required - {facts.main_input})]
    wanted += [name for name in tower_inputs(facts) if name not in wanted]
    if is_encoder_decoder(facts.config) and "decoder_input_ids" not in wanted and (
        not facts.accepts or "decoder_input_ids" in facts.accepts
    ):
        wanted.append("decoder_input_ids")
    wanted.sort(key=lambda name: name in TOKEN_INPUTS)  # towers first
    planned = Planned(spec, facts)
    for name in wanted:
        planned.add(name, required=True)
    for name in planned.after_tokens:
        planned.add(name)
    return planned


def facts_from_config(config: Mapping) -> ModelFacts:
    """The facts of a config before any model is built: a vision model reads
    ``pixel_values``, anything else token ids."""
    return ModelFacts(config, "pixel_values" if is_vision(config) else "input_ids")


def facts_from_model(model, config: Mapping) -> ModelFacts:
    """The facts of a built model: its ``main_input_name`` and forward signature."""
    import inspect

    parameters = inspect.signature(model.forward).parameters.values()
    named = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = frozenset(p.name for p in named if p.default is inspect.Parameter.empty)
    accepts = frozenset(p.name for p in named)
    main = getattr(model, "main_input_name", None) or facts_from_config(config).main_input
    if isinstance(main, (list, tuple)):  # several main inputs (OneFormer: images and a task): the first leads, all are fed
        main, required = main[0], required | frozenset(main)
    if accepts and main not in accepts:  # a name inherited from the family's base class (a text tower "reading pixel_values")
        main = facts_from_config(config).main_input
    derived = derived_sizes(model.config) if hasattr(model, "config") else {}
    named_parameters = model.named_parameters() if hasattr(model, "named_parameters") else ()  # a stand-in has none
    parameters = {name.rpartition(".")[2] for name, _ in named_parameters}
    stride, pixels = image_tower(model)
    return ModelFacts(config, main, accepts, required, derived=derived, tasks=transformers_tasks(config.get("model_type", "")),
                      patch_embedding=patch_embedding(model), patch_rows=takes_patch_rows(model),
                      image_newline="image_newline" in parameters, view_separator="view_separator" in parameters,
                      feature_stride=stride, pixel_config=pixels)


def derived_sizes(config) -> dict:
    """The numbers a config class computes from its fields, by the names of
    its public properties (``MimiConfig.frame_rate``, a codec's latent frames
    per second); the fields themselves are in the config dict."""
    sizes = {}
    for name in dir(type(config)):
        if not name.startswith("_") and isinstance(getattr(type(config), name, None), property):
            try:
                value = getattr(config, name)
            except Exception:  # noqa: BLE001 - a property that needs what this config lacks says nothing
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sizes[name] = value
    return sizes


def transformers_tasks(model_type: str) -> frozenset:
    """The tasks whose auto class transformers maps ``model_type`` to, from
    its ``MODEL_FOR_<TASK>_MAPPING_NAMES`` tables ("keypoint_matching",
    "object_detection", ...): what a forward signature alone does not say
    (a keypoint matcher's ``pixel_values`` are image pairs)."""
    from transformers.models.auto import modeling_auto

    prefix, suffix = "MODEL_FOR_", "_MAPPING_NAMES"
    return frozenset(
        name.removeprefix(prefix).removesuffix(suffix).lower()
        for name, table in vars(modeling_auto).items()
        if name.startswith(prefix) and name.endswith(suffix) and model_type in table
    )


def image_tower(model) -> tuple[int | None, Mapping | None]:
    """(pixels a side per feature, config of the tower that takes the pixels)
    of the module built from the model's ``vision_config``: the product of
    the strides of its strided 2-D convolutions (a patch embedding, and the
    downsamplers after it: Step3p7's 14 · 2 · 2 = 56), and, where the first
    of them sits in a tower of its own inside it, that tower's config
    (Unlimited OCR's SAM encoder, whose features a CLIP encoder reads);
    (None, None) for a model without such a tower."""
    vision = getattr(getattr(model, "config", None), "vision_config", None)
    if vision is None or not hasattr(model, "modules"):
        return None, None
    from torch import nn

    tower = next((m for m in model.modules() if getattr(m, "config", None) is vision), None)
    convs = [(path, m) for path, m in tower.named_modules() if isinstance(m, nn.Conv2d) and max(m.stride) > 1] if tower else []
    if not convs:
        return None, None
    parts = convs[0][0].split(".")
    holders = (tower.get_submodule(".".join(parts[:n])) for n in range(len(parts) - 1, 0, -1))
    config = next((m.config for m in holders if hasattr(m, "config")), vision)
    pixels = config.to_dict() if config is not vision else None
    return math.prod(m.stride[0] for _, m in convs), pixels


def _patch_layer(model) -> tuple[str, object] | None:
    """(path, layer) of the model's patch embedding: the first ``Conv2d``,
    ``Conv3d`` or ``Linear`` under a module transformers names
    ``patch_embed``, ``patch_embedding`` or ``patch_embedder``; None if none."""
    if not hasattr(model, "named_modules"):
        return None
    from torch import nn

    return next(((path, module) for path, module in model.named_modules()
                 if "patch_embed" in path and isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear))), None)


def patch_embedding(model) -> str | None:
    """The kind of layer (``Conv2d``, ``Conv3d``, ``Linear``) of the model's patch embedding."""
    found = _patch_layer(model)
    return type(found[1]).__name__ if found else None


class _Reached(Exception):
    """The probe's input got to the patch convolution."""


def takes_patch_rows(model) -> bool:
    """Whether a Conv2d patch embedding refuses patches shaped as images
    [N, C, p, p] but takes rows [N, C·p·p], which it reshapes itself
    (HunyuanVL unpacks its input's two sides): its module is run on four
    patches on the model's device, up to the convolution."""
    import torch

    found = _patch_layer(model)
    if not found or not isinstance(found[1], torch.nn.Conv2d) or "." not in found[0]:
        return False
    path, conv = found
    embed = model.get_submodule(path.rpartition(".")[0])
    (patch, _), channels = conv.kernel_size, conv.in_channels
    image = torch.zeros((4, channels, patch, patch), dtype=conv.weight.dtype, device=conv.weight.device)
    return not _reaches(embed, conv, image) and _reaches(embed, conv, image.reshape(4, -1))


def _reaches(embed, conv, patches) -> bool:
    """Whether ``embed`` run on ``patches`` (its other arguments None) calls ``conv``."""
    import inspect

    def stop(module, args):
        raise _Reached

    parameters = list(inspect.signature(embed.forward).parameters.values())[1:]
    others = [None for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is inspect.Parameter.empty]
    handle = conv.register_forward_pre_hook(stop)
    try:
        embed(patches, *others)
    except _Reached:
        return True
    except Exception:  # noqa: BLE001 - this layout is not the one it takes
        return False
    finally:
        handle.remove()
    return False


def is_vision(config: Mapping) -> bool:
    return config.get("model_type", "") in VISION_TYPES or "image_size" in config and "vocab_size" not in config


def takes_audio(config: Mapping) -> bool:
    """Whether the config describes sound input: an audio tower, or a sound
    front end in the config or a sub-config (see :func:`audio.describes_sound`)."""
    return "audio_config" in config or audio.describes_sound(config)


def is_encoder_decoder(config: Mapping) -> bool:
    return bool(config.get("is_encoder_decoder")) or config.get("model_type", "") in ENCODER_DECODER_TYPES


# each module registers its builders; among the ``when`` variants of one input, the first imported is tried first
# (multitower's layouts are narrower cases of grid's: an Inkling 2 grid counts text tokens, not patches;
# structured's before vision_language's, which grid imports: a robot's camera stack is no Idefics tile stack)
from . import audio, audio_language, multitower, structured, grid, prompts, document, text, video, vision, vision_language  # noqa: E402,F401
