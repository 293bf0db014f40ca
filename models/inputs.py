"""Example inputs: what a forward pass of each kind of model is fed.

- HuggingFace text models: ``input_ids`` of shape [batch, seq_len];
  encoder-decoder models add ``decoder_input_ids`` [batch, decoder_seq_len]
  (default: seq_len).
- HuggingFace vision models: ``pixel_values`` [batch, channels, size, size],
  size from the config unless ``image_size`` is given.
- Toy nets: their own default input (``input_shape`` overrides it).
- Python factories: the example inputs the factory returned, else
  ``input_shape`` (a float tensor).

The plan is plain data (no torch); :func:`materialize` makes tensors of it.
Token ids are zeros and activations are zeros: values never change a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..profilers.errors import BadInput
from .resolver import ModelSource
from .toys import find_toy

ENCODER_DECODER_TYPES = frozenset({"t5", "bart", "mbart", "pegasus", "marian", "mt5", "longt5", "umt5", "led", "m2m_100"})
VISION_TYPES = frozenset({"vit", "deit", "beit", "dinov2", "swin", "convnext", "resnet", "vit_mae", "vit_msn", "efficientnet"})
# Configs that name a learned absolute position table (so seq_len is capped by it).
POSITION_LIMIT_FIELDS = ("max_position_embeddings", "n_positions")
ROTARY_HINTS = ("rope_theta", "rope_scaling", "rotary_dim", "rotary_pct", "partial_rotary_factor", "rope_parameters", "relative_attention_num_buckets")


@dataclass(frozen=True)
class InputSpec:
    """What the user asked for (CLI options); None means the model's default."""

    batch: int = 1
    seq_len: int = 128
    decoder_seq_len: int | None = None
    image_size: int | None = None
    input_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TensorPlan:
    shape: tuple[int, ...]
    dtype: str  # "int64" (token ids) or "float32"


@dataclass(frozen=True)
class InputPlan:
    args: tuple[TensorPlan, ...] = ()
    kwargs: dict[str, TensorPlan] = field(default_factory=dict)
    tokens: int = 0  # tokens (or patches, or time steps) one forward pass processes, for rules of thumb
    options: dict = field(default_factory=dict)  # non-tensor keyword arguments of the forward

    def describe(self) -> dict:
        named = {f"arg{i}": t for i, t in enumerate(self.args)} | dict(self.kwargs)
        return {name: {"shape": list(t.shape), "dtype": t.dtype} for name, t in named.items()}


def plan_inputs(source: ModelSource, spec: InputSpec) -> InputPlan | None:
    """The inputs of ``source`` under ``spec``; None for a factory that brings its own."""
    if spec.input_shape is not None:
        return _float_plan(spec.input_shape)
    if source.kind == "toy":
        toy = find_toy(source.location)
        shape = toy.input_shape
        return InputPlan(args=(TensorPlan(shape, "float32"),), tokens=_tokens(shape))
    if source.kind == "python":
        return None
    return _hf_plan(source.config, spec, source.location)


def _float_plan(shape: tuple[int, ...]) -> InputPlan:
    return InputPlan(args=(TensorPlan(tuple(shape), "float32"),), tokens=_tokens(shape))


def _tokens(shape: tuple[int, ...]) -> int:
    """Positions one forward pass processes: batch for [B, d], batch x steps
    for [B, N, d], batch x height x width for images [B, C, H, W]."""
    if len(shape) == 3:
        return shape[0] * shape[1]
    if len(shape) == 4:
        return shape[0] * shape[2] * shape[3]
    return shape[0] if shape else 1


def _hf_plan(config: dict, spec: InputSpec, origin: str) -> InputPlan:
    model_type = config.get("model_type", "")
    batch = spec.batch
    if model_type in VISION_TYPES or "image_size" in config and "vocab_size" not in config:
        native = config.get("image_size") or 224
        size = spec.image_size or native
        channels = config.get("num_channels", 3)
        patch = config.get("patch_size")
        patches = (size // patch) ** 2 + 1 if isinstance(patch, int) else size * size
        # another resolution than the one trained: interpolate the position table
        options = {"interpolate_pos_encoding": True} if size != native else {}
        pixels = TensorPlan((batch, channels, size, size), "float32")
        return InputPlan(kwargs={"pixel_values": pixels}, tokens=batch * patches, options=options)
    _check_positions(config, spec.seq_len, origin)
    kwargs = {"input_ids": TensorPlan((batch, spec.seq_len), "int64")}
    tokens = batch * spec.seq_len
    if config.get("is_encoder_decoder") or model_type in ENCODER_DECODER_TYPES:
        decoder = spec.decoder_seq_len or spec.seq_len
        _check_positions(config, decoder, origin)
        kwargs["decoder_input_ids"] = TensorPlan((batch, decoder), "int64")
        tokens += batch * decoder
    return InputPlan(kwargs=kwargs, tokens=tokens)


def _check_positions(config: dict, length: int, origin: str) -> None:
    if any(hint in config for hint in ROTARY_HINTS):
        return
    for name in POSITION_LIMIT_FIELDS:
        limit = config.get(name)
        if isinstance(limit, int) and length > limit:
            raise BadInput(f"{origin}: sequence length {length} exceeds the model's {name} = {limit}")


def materialize(plan: InputPlan, device: str):
    """``(args, kwargs)`` of zero tensors on ``device`` following ``plan``."""
    import torch

    def make(t: TensorPlan):
        dtype = torch.long if t.dtype == "int64" else torch.float32
        return torch.zeros(t.shape, dtype=dtype, device=device)

    return tuple(make(t) for t in plan.args), {**{name: make(t) for name, t in plan.kwargs.items()}, **plan.options}


def factory_inputs(example, device: str):
    """A factory's example inputs as ``(args, kwargs)`` on ``device``."""
    import torch

    def move(value):
        return value.to(device) if isinstance(value, torch.Tensor) else value

    if isinstance(example, dict):
        return (), {k: move(v) for k, v in example.items()}
    if isinstance(example, (tuple, list)):
        return tuple(move(v) for v in example), {}
    return (move(example),), {}


def plan_from_tensors(args: tuple, kwargs: dict) -> InputPlan:
    """Describe concrete example inputs (shapes and dtypes) as a plan."""

    def describe(value) -> TensorPlan:
        shape = tuple(getattr(value, "shape", ()))
        dtype = str(getattr(value, "dtype", type(value).__name__)).removeprefix("torch.")
        return TensorPlan(shape, dtype)

    first = next(iter([*args, *kwargs.values()]), None)
    tokens = _tokens(tuple(getattr(first, "shape", (1,)))) if first is not None else 0
    return InputPlan(tuple(describe(a) for a in args), {k: describe(v) for k, v in kwargs.items()}, tokens)
