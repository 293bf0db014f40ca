"""What a HuggingFace model's forward is fed, by modality: one registry of
input builders, each making one named tensor (``input_ids``,
``pixel_values``, ``input_features``, ...) from the config and the request.

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

from ..profilers.errors import BadInput

DEFAULT_AUDIO_SECONDS = 10
SAMPLING_RATE = 16000  # the speech models' feature extractors; a config's own sampling_rate wins
MEL_FRAMES_PER_SECOND = 100  # 10 ms hop
ROTARY_HINTS = ("rope_theta", "rope_scaling", "rotary_dim", "rotary_pct", "partial_rotary_factor", "rope_parameters",
                "relative_attention_num_buckets")
POSITION_LIMIT_FIELDS = ("max_position_embeddings", "n_positions")
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

    def sub(self, name: str) -> Mapping:
        """A sub-config as a dict, or the config itself when it has none of that name."""
        value = self.config.get(name)
        return value if isinstance(value, Mapping) else self.config


@dataclass
class Planned:
    """The plan so far: tensors by name, tokens processed, notes for the user."""

    tensors: dict = field(default_factory=dict)
    tokens: int = 0
    notes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)


Builder = Callable[[ModelFacts, object, Planned], TensorPlan]
_BUILDERS: dict[str, tuple[str, Builder]] = {}
# inputs of the towers a model may have, planned before token ids (which may hold their placeholders)
TOWER_INPUTS = {"pixel_values": "vision_config", "input_features": "audio_config", "input_values": "audio_config"}


def builds(name: str, modality: str):
    """Register the builder of input ``name``; one per name."""

    def register(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"input {name!r} already has a builder")
        _BUILDERS[name] = (modality, builder)
        return builder

    return register


def plan(facts: ModelFacts, spec) -> Planned:
    """The tensors ``facts``' model is fed under ``spec`` (an InputSpec)."""
    wanted = [facts.main_input, *sorted(facts.required - {facts.main_input})]
    for name, tower in TOWER_INPUTS.items():
        if name in facts.accepts and tower in facts.config and name not in wanted:
            wanted.append(name)
    if is_encoder_decoder(facts.config) and "decoder_input_ids" not in wanted and (
        not facts.accepts or "decoder_input_ids" in facts.accepts
    ):
        wanted.append("decoder_input_ids")
    wanted.sort(key=lambda name: name in ("input_ids", "decoder_input_ids"))  # towers first, then token ids
    planned = Planned()
    for name in wanted:
        entry = _BUILDERS.get(name)
        if entry is None:
            raise BadInput(
                f"the model's forward needs {name!r}, which modelprof cannot make up; "
                f"pass it with --input {name}=SHAPE[:DTYPE]"
            )
        planned.tensors[name] = entry[1](facts, spec, planned)
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
    return ModelFacts(config, main, frozenset(p.name for p in named), required)


def is_vision(config: Mapping) -> bool:
    return config.get("model_type", "") in VISION_TYPES or "image_size" in config and "vocab_size" not in config


def takes_audio(config: Mapping) -> bool:
    """Whether the config describes sound input (an audio tower, mel bins, a waveform front end)."""
    return "audio_config" in config or any(
        key in config for key in ("num_mel_bins", "input_feat_per_channel", "feat_extract_norm", "conv_dim", "sampling_rate")
    )


def is_encoder_decoder(config: Mapping) -> bool:
    return bool(config.get("is_encoder_decoder")) or config.get("model_type", "") in ENCODER_DECODER_TYPES


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------


def text_length(config: Mapping, spec, given: str = "seq_len", length: int | None = None, planned: Planned | None = None) -> int:
    """The sequence length: one the user asked for is refused past a learned
    position table; a default the user never chose is cut to the table's
    size (and a note says so)."""
    requested = length if length is not None else getattr(spec, given)
    field_name, limit = _position_limit(config)
    if limit is None or requested <= limit:
        return requested
    if given in spec.given or length is not None:
        raise BadInput(f"sequence length {requested} exceeds the model's {field_name} = {limit}")
    if planned is not None:
        planned.notes.append(f"sequence length {limit}: the model's {field_name} (default {requested})")
    return limit


def _position_limit(config: Mapping) -> tuple[str, int | None]:
    """The learned position table's size and field, where the model has one
    (rotary and relative positions have no such limit)."""
    if any(hint in config for hint in ROTARY_HINTS):
        return "", None
    for name in POSITION_LIMIT_FIELDS:
        limit = config.get(name)
        if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0:
            return name, int(limit)
    return "", None


@builds("input_ids", "text")
def input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Token ids [B, n] (int64, zeros); a vision-language model's start with
    its image placeholder token, once per image feature (n counts the text)."""
    text_config = facts.sub("text_config")
    n = text_length(text_config, spec, planned=planned)
    image = image_placeholders(facts, planned)
    fill = ()
    if image:
        token, count = image
        fill = ((token, count),)
        planned.notes.append(f"input_ids hold {count:,} image tokens (id {token}) per image, then {n:,} text tokens")
        n += count
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n), "int64", fill)


@builds("decoder_input_ids", "text")
def decoder_input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Decoder token ids [B, m]: m = ``--decoder-seq-len``, else the text length."""
    m = spec.decoder_seq_len or text_length(facts.sub("text_config"), spec)
    planned.tokens += spec.batch * m
    return TensorPlan((spec.batch, m), "int64")


@builds("attention_mask", "text")
def attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """All ones over the token ids (a model that requires one)."""
    ids = planned.tensors.get("input_ids") or input_ids(facts, spec, Planned())
    return TensorPlan(ids.shape, "int64", ((1, ids.shape[-1]),))


@builds("token_type_ids", "text")
def token_type_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    ids = planned.tensors.get("input_ids") or input_ids(facts, spec, Planned())
    return TensorPlan(ids.shape, "int64")


# ---------------------------------------------------------------------------
# vision
# ---------------------------------------------------------------------------


def image_side(vision: Mapping, spec) -> tuple[int, int]:
    """(height, width) at ``--image-size`` or the config's (an int or a pair)."""
    if spec.image_size:
        return spec.image_size, spec.image_size
    size = vision.get("image_size") or 224
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


@builds("pixel_values", "vision")
def pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, C, H, W] (video models: [B, T, C, H, W]) at the vision
    config's size and channels."""
    vision = facts.sub("vision_config")
    height, width = image_side(vision, spec)
    channels = vision.get("num_channels", 3)
    native = vision.get("image_size")
    if spec.image_size and native and spec.image_size != (native if isinstance(native, int) else native[0]):
        planned.options["interpolate_pos_encoding"] = True  # another resolution than trained: interpolate positions
    frames = vision.get("num_frames")
    patch = vision.get("patch_size")
    patches = (height // patch) * (width // patch) if isinstance(patch, int) and patch else height * width
    if isinstance(frames, int) and frames > 0:
        planned.tokens += spec.batch * frames * patches
        return TensorPlan((spec.batch, frames, channels, height, width), "float32")
    if facts.main_input == "pixel_values":
        planned.tokens += spec.batch * (patches + 1 if isinstance(patch, int) else patches)
    return TensorPlan((spec.batch, channels, height, width), "float32")


def image_placeholders(facts: ModelFacts, planned: Planned) -> tuple[int, int] | None:
    """(image token id, tokens per image) when images are fed alongside token ids."""
    if "pixel_values" not in planned.tensors:
        return None
    token = next((facts.config[k] for k in ("image_token_id", "image_token_index") if isinstance(facts.config.get(k), int)), None)
    if token is None:
        return None
    count = facts.image_tokens
    if count is None:
        count = next((facts.config[k] for k in ("image_seq_length", "mm_tokens_per_image", "num_image_tokens")
                      if isinstance(facts.config.get(k), int)), None)
    return (token, count) if count else None


# ---------------------------------------------------------------------------
# audio
# ---------------------------------------------------------------------------


def audio_seconds(spec) -> float:
    return spec.audio_seconds or DEFAULT_AUDIO_SECONDS


@builds("input_values", "audio")
def input_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A raw waveform [B, samples]: ``--audio-seconds`` (default 10) at the
    config's sampling rate, else 16 kHz."""
    audio = facts.sub("audio_config")
    rate = audio.get("sampling_rate") or SAMPLING_RATE
    samples = int(audio_seconds(spec) * rate)
    planned.notes.append(f"input_values: {audio_seconds(spec):g} s of audio at {rate:,} Hz")
    planned.tokens += spec.batch * samples
    return TensorPlan((spec.batch, samples), "float32")


@builds("input_features", "audio")
def input_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Log-mel features. Whisper-style encoders take [B, mels, 2·positions]
    (3,000 frames: 30 s, padded); filter-bank encoders (speech_to_text)
    [B, frames, mels·channels]; others [B, mels, frames] at 100 frames a second."""
    audio = facts.sub("audio_config")
    mels = audio.get("num_mel_bins") or audio.get("input_feat_per_channel") or 80
    positions = audio.get("max_source_positions")
    if isinstance(positions, int) and "num_mel_bins" in audio:
        frames = 2 * positions  # the encoder's two strided convolutions halve this to its positions
        planned.notes.append(f"input_features: {mels} mel bins x {frames:,} frames ({frames // MEL_FRAMES_PER_SECOND} s, the encoder's fixed window)")
        planned.tokens += spec.batch * positions
        return TensorPlan((spec.batch, mels, frames), "float32")
    frames = int(audio_seconds(spec) * MEL_FRAMES_PER_SECOND)
    planned.tokens += spec.batch * frames
    planned.notes.append(f"input_features: {audio_seconds(spec):g} s of audio as {frames:,} frames of {mels} features")
    if "input_feat_per_channel" in audio:
        return TensorPlan((spec.batch, frames, mels * audio.get("input_channels", 1)), "float32")
    return TensorPlan((spec.batch, mels, frames), "float32")
