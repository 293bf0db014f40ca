"""Example inputs: what a forward pass of each kind of model is fed.

- HuggingFace text models: ``input_ids`` of shape [batch, seq_len];
  encoder-decoder models add ``decoder_input_ids`` [batch, decoder_seq_len]
  (default: seq_len).
- HuggingFace vision models: ``pixel_values`` [batch, channels, size, size],
  size from the config unless ``image_size`` is given.
- Toy nets: their own default input; ``batch``, ``seq_len`` (sequence
  toys) and ``image_size`` (image toys) resize it, ``input_shape`` replaces it.
- Python factories: the example inputs the factory returned, else
  ``input_shape`` (a float tensor).
- Any model: ``inputs`` (``--input NAME=SHAPE[:DTYPE]``, repeatable) gives
  the keyword tensors explicitly, each with its dtype.

The plan is plain data (no torch); :func:`materialize` makes tensors of it.
Token ids are zeros and activations are zeros: values never change a count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..profilers.errors import BadInput
from . import modalities
from .modalities import TensorPlan, is_encoder_decoder, is_vision
from .resolver import ModelSource
from .toys import find_toy



# CLI flag of each InputSpec field (for messages).
OPTION_FLAGS = {
    "batch": "--batch", "seq_len": "--seq-len", "decoder_seq_len": "--decoder-seq-len",
    "image_size": "--image-size", "input_shape": "--input-shape", "inputs": "--input", "audio_seconds": "--audio-seconds",
    "context": "--context",
}
DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")
_SHAPE = re.compile(r"^\d+(\s*[x,]\s*\d+)*$")


@dataclass(frozen=True)
class NamedInput:
    """One keyword tensor the user asked for: ``--input input_ids=1x128:int64``."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class InputSpec:
    """What the user asked for (CLI options, budget-file settings).

    ``given`` names the fields that were set explicitly: only those are
    checked against the model (an option that does not apply is refused)
    and only those change a toy's own default input.
    """

    batch: int = 1
    seq_len: int = 128
    decoder_seq_len: int | None = None
    image_size: int | None = None
    input_shape: tuple[int, ...] | None = None
    inputs: tuple[NamedInput, ...] = ()
    audio_seconds: float | None = None  # audio models: seconds of sound (default 10)
    context: int | None = None  # decode: tokens already in the key/value cache
    given: frozenset = frozenset()

    @classmethod
    def from_options(cls, **options) -> "InputSpec":
        """A spec from keyword options where None means "not given"."""
        given = frozenset(name for name, value in options.items() if value not in (None, ()))
        return cls(**{name: value for name, value in options.items() if name in given}, given=given)


def parse_shape(text: str, what: str) -> tuple[int, ...]:
    """``1,3,224,224`` or ``1x128`` -> a tuple of positive sizes."""
    if not _SHAPE.match(text.strip()):
        raise BadInput(f"{what} {text!r}: expected positive sizes like 1,3,224,224 or 1x128")
    shape = tuple(int(part) for part in re.split(r"\s*[x,]\s*", text.strip()))
    if any(size < 1 for size in shape):
        raise BadInput(f"{what} {text!r}: sizes must be positive")
    return shape


def parse_named_input(text: str) -> NamedInput:
    """``NAME=SHAPE[:DTYPE]``; without a dtype, ``*_ids`` and ``*mask*``
    inputs are int64 (token ids, masks) and everything else float32."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise BadInput(f"--input {text!r}: expected NAME=SHAPE[:DTYPE], e.g. input_ids=1x128:int64")
    shape_text, _, dtype = rest.partition(":")
    dtype = dtype.strip() or ("int64" if name.endswith("_ids") or "mask" in name else "float32")
    if dtype not in DTYPES:
        raise BadInput(f"--input {text!r}: unknown dtype {dtype!r} (choose from {', '.join(DTYPES)})")
    return NamedInput(name, parse_shape(shape_text, f"--input {name}"), dtype)


def applicable_options(source: ModelSource) -> frozenset:
    """The InputSpec fields that mean something for ``source``."""
    if source.kind == "python":
        return frozenset({"input_shape", "inputs"})
    if source.kind == "toy":
        rank = len(find_toy(source.location).input_shape)
        return frozenset({"batch", "input_shape"} | ({"seq_len"} if rank == 3 else set()) | ({"image_size"} if rank == 4 else set()))
    config = source.config
    audio = {"audio_seconds"} if modalities.takes_audio(config) else set()
    if is_vision(config):
        return frozenset({"batch", "image_size", "inputs"})
    vision = {"image_size"} if "vision_config" in config else set()
    decoder = {"decoder_seq_len"} if is_encoder_decoder(config) else set()
    return frozenset({"batch", "seq_len", "inputs", "context"} | audio | vision | decoder)


def applied_spec(source: ModelSource, spec: InputSpec) -> InputSpec:
    """``spec`` checked against ``source``: an option given for a model it
    does not apply to is refused (one line naming the option and the model's
    own input), and a toy's requested batch, length or image size become its
    input shape."""
    refused = sorted(spec.given - applicable_options(source), key=list(OPTION_FLAGS).index)
    if refused:
        raise BadInput(f"{source.name}: {_flags(refused)} {'does' if len(refused) == 1 else 'do'} not apply: {_input_hint(source)}")
    explicit = spec.given & {"input_shape", "inputs"}
    sized = spec.given & {"batch", "seq_len", "decoder_seq_len", "image_size"}
    if explicit and sized:
        raise BadInput(f"{source.name}: {_flags(explicit)} fixes the input; {_flags(sized)} cannot be combined with it")
    if source.kind != "toy":
        return spec
    if spec.input_shape is not None:
        _check_toy_shape(source, spec.input_shape)
    if not sized:
        return spec
    shape = list(find_toy(source.location).input_shape)
    if "batch" in sized:
        shape[0] = spec.batch
    if "seq_len" in sized:
        shape[1] = spec.seq_len
    if "image_size" in sized:
        shape[2:] = [spec.image_size, spec.image_size]
    # the sizes now live in the shape: applying the result again changes nothing
    return replace(spec, input_shape=tuple(shape), given=(spec.given - sized) | {"input_shape"})


def _check_toy_shape(source: ModelSource, shape: tuple[int, ...]) -> None:
    """A toy's input keeps its rank and its feature (or channel) size; batch,
    length and image sides may change."""
    default = find_toy(source.location).input_shape
    fixed = {2: (1,), 3: (2,), 4: (1,)}[len(default)]
    if len(shape) != len(default) or any(shape[i] != default[i] for i in fixed):
        layout = {2: "B x features", 3: "B x length x features", 4: "B x channels x height x width"}[len(default)]
        wanted = ", ".join(f"dimension {i} = {default[i]}" for i in fixed)
        raise BadInput(
            f"{source.name}: --input-shape {'x'.join(map(str, shape))} does not fit: its input is {layout} "
            f"({'x'.join(map(str, default))} by default) with {wanted}"
        )


def _flags(fields) -> str:
    return " and ".join(OPTION_FLAGS[f] for f in sorted(fields, key=list(OPTION_FLAGS).index))


def _input_hint(source: ModelSource) -> str:
    if source.kind == "python":
        return "a Python factory is fed its own example inputs, or --input-shape / --input"
    if source.kind == "toy":
        toy = find_toy(source.location)
        size = {3: " (--batch, --seq-len)", 4: " (--batch, --image-size)"}.get(len(toy.input_shape), " (--batch)")
        return f"{source.name} takes one tensor, {'x'.join(map(str, toy.input_shape))} by default{size}, or --input-shape"
    if is_vision(source.config):
        return "a vision model takes pixel_values: --batch and --image-size, or --input"
    if is_encoder_decoder(source.config):
        return "a text model takes token ids: --batch, --seq-len and --decoder-seq-len, or --input"
    return "a text model takes token ids: --batch and --seq-len (--decoder-seq-len is for encoder-decoder models), or --input"


@dataclass(frozen=True)
class InputPlan:
    args: tuple[TensorPlan, ...] = ()
    kwargs: dict[str, TensorPlan] = field(default_factory=dict)
    tokens: int = 0  # tokens (or patches, or time steps) one forward pass processes, for rules of thumb
    options: dict = field(default_factory=dict)  # non-tensor keyword arguments of the forward
    notes: tuple[str, ...] = ()  # how the inputs were chosen, where it is not obvious

    def describe(self) -> dict:
        named = {f"arg{i}": t for i, t in enumerate(self.args)} | dict(self.kwargs)
        return {name: {"shape": list(t.shape), "dtype": t.dtype} for name, t in named.items()}


def requested_inputs(source: ModelSource, spec: InputSpec) -> InputPlan | None:
    """The inputs fixed before any model is built: explicit ``--input``
    tensors, ``--input-shape``, a toy's own; None when the model decides (a
    factory's example inputs, a HuggingFace model's forward: see
    :mod:`modalities`)."""
    if spec.inputs:
        tensors = {i.name: TensorPlan(i.shape, i.dtype) for i in spec.inputs}
        return InputPlan(kwargs=tensors, tokens=_plan_tokens(list(tensors.values())))
    if spec.input_shape is not None:
        return _float_plan(spec.input_shape)
    if source.kind == "toy":
        return _float_plan(find_toy(source.location).input_shape)
    return None


def plan_inputs(source: ModelSource, spec: InputSpec) -> InputPlan | None:
    """The inputs of ``source`` under ``spec`` (see :func:`applied_spec`),
    HuggingFace models planned from their config alone; None for a factory
    that brings its own."""
    requested = requested_inputs(source, spec)
    if requested is not None or source.kind == "python":
        return requested
    return config_plan(source.config, spec, source.location)


def config_plan(config: dict, spec: InputSpec, origin: str, facts=None) -> InputPlan:
    """A HuggingFace model's inputs by modality (from ``facts`` of the built
    model when given, else from the config)."""
    try:
        planned = modalities.plan(facts or modalities.facts_from_config(config), spec)
    except BadInput as error:
        raise BadInput(f"{origin}: {error}") from None
    return InputPlan(kwargs=planned.tensors, tokens=planned.tokens, options=planned.options, notes=tuple(planned.notes))


def _float_plan(shape: tuple[int, ...]) -> InputPlan:
    return InputPlan(args=(TensorPlan(tuple(shape), "float32"),), tokens=_tokens(shape))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


def _plan_tokens(tensors: list[TensorPlan]) -> int:
    """Tokens of explicit inputs: every element of the first integer tensor
    (token ids), else the positions of the first tensor."""
    ids = [t for t in tensors if t.dtype.startswith("int")]
    if ids:
        return _numel(ids[0].shape)
    return _tokens(tensors[0].shape) if tensors else 0


def _tokens(shape: tuple[int, ...]) -> int:
    """Positions one forward pass processes: batch for [B, d], batch x steps
    for [B, N, d], batch x height x width for images [B, C, H, W]."""
    if len(shape) == 3:
        return shape[0] * shape[1]
    if len(shape) == 4:
        return shape[0] * shape[2] * shape[3]
    return shape[0] if shape else 1


def materialize(plan: InputPlan, device: str):
    """``(args, kwargs)`` of zero tensors on ``device`` following ``plan``."""
    import torch

    def make(t: TensorPlan):
        dtype = getattr(torch, t.dtype)
        if t.values is not None:
            return torch.tensor(t.values, dtype=dtype, device=device).reshape(t.shape)
        tensor = torch.zeros(t.shape, dtype=dtype, device=device)
        start = 0
        for value, count in t.fill:  # e.g. image placeholder tokens at the start of every row
            tensor[..., start:start + count] = value
            start += count
        return tensor

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

    described = [describe(a) for a in args], {k: describe(v) for k, v in kwargs.items()}
    tensors = [t for t in (*described[0], *described[1].values()) if t.shape]
    return InputPlan(tuple(described[0]), described[1], _plan_tokens(tensors))
