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
    main input and forward signature."""

    config: Mapping
    main_input: str
    accepts: frozenset = frozenset()  # forward parameters; empty when unknown
    required: frozenset = frozenset()  # forward parameters without a default
    image_tokens: int | None = None  # image features per image, measured on the model (vision-language models)
    patch_embedding: str | None = None  # the layer a vision tower embeds patches with: "Conv2d", "Conv3d", "Linear"
    image_newline: bool = False  # the model holds a learned newline embedding it ends rows of image tokens with

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
# inputs of the towers a model may have, by the sub-configs that describe such a tower (a vision backbone:
# TVP's ResNet), planned before token ids (which may hold their placeholders)
TOWER_INPUTS = {"pixel_values": ("vision_config", "backbone_config"), "input_features": ("audio_config",),
                "input_values": ("audio_config",)}
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
    return [run for rule in _PLACEHOLDERS if (run := rule(facts, planned)) is not None]


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
    for name, towers in TOWER_INPUTS.items():
        if name in facts.accepts and any(tower in facts.config for tower in towers) and name not in wanted:
            wanted.append(name)
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
    main = getattr(model, "main_input_name", None) or facts_from_config(config).main_input
    newline = any(name.rpartition(".")[2] == "image_newline" for name, _ in model.named_parameters())
    return ModelFacts(
        config, main, frozenset(p.name for p in named), required, patch_embedding=patch_embedding(model), image_newline=newline
    )


def patch_embedding(model) -> str | None:
    """The kind of layer (``Conv2d``, ``Conv3d``, ``Linear``) of the model's
    patch embedding: the first such layer under a module transformers names
    ``patch_embed``, ``patch_embedding`` or ``patch_embedder``; None if none."""
    from torch import nn

    for path, module in model.named_modules():
        if "patch_embed" in path:
            kind = next((k for k in (nn.Conv2d, nn.Conv3d, nn.Linear) if isinstance(module, k)), None)
            if kind is not None:
                return kind.__name__
    return None


def is_vision(config: Mapping) -> bool:
    return config.get("model_type", "") in VISION_TYPES or "image_size" in config and "vocab_size" not in config


def takes_audio(config: Mapping) -> bool:
    """Whether the config describes sound input (an audio tower, mel bins, a waveform front end)."""
    return "audio_config" in config or any(
        key in config for key in ("num_mel_bins", "input_feat_per_channel", "feat_extract_norm", "conv_dim", "sampling_rate")
    )


def is_encoder_decoder(config: Mapping) -> bool:
    return bool(config.get("is_encoder_decoder")) or config.get("model_type", "") in ENCODER_DECODER_TYPES


# each module registers its builders; among the ``when`` variants of one input, the first imported is tried first
from . import audio, audio_language, grid, structured, text, video, vision, vision_language  # noqa: E402,F401
