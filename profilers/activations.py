"""Activation memory, measured on fake tensors (child side: imports torch).

- Training: the bytes of the distinct tensor storages, other than parameters
  and buffers, that autograd saves for backward during one forward in train
  mode (dropout on), seen through ``torch.autograd.graph.saved_tensors_hooks``.
  Each storage counts once, for the innermost module running when it was
  first saved.
- Inference: the highest total of live storages, other than parameters and
  buffers, during one no-grad forward in eval mode (the working set the
  weights and the key/value cache come on top of).

The model runs on fake tensors that claim the CPU: PyTorch picks its CPU
kernels and every storage is as large as it would be on real tensors (the
tests hold the two equal byte for byte), while nothing is allocated, at any
size. The weights are swapped in with ``torch.func.functional_call``: the
model object itself is left untouched.

``sdpa`` counts the fused kernel, the way GPUs run it: CUDA's flash and
memory-efficient kernels apply attention dropout inside the kernel and save
the output and its log-sum-exp, not the n x n probabilities. The CPU's flash
kernel saves the same but has no dropout (PyTorch then falls back to the math
path), so attention dropout is left to the kernel here: a call with dropout
runs as the same call without it.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

from .counters.harness import module_stack

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class ActivationResult:
    """One input size, measured (bytes; see the module docstring).

    ``saved`` maps module paths to the bytes first saved while they were the
    innermost module running ("" for the root: the model's own code);
    ``checkpointed`` is what full activation checkpointing keeps: what is
    saved outside the checkpointed layers, every layer's inputs, plus one
    layer's own activations while it is recomputed; ``peak`` the inference
    working set, the highest value of ``timeline``."""

    status: str
    reason: str = ""
    saved: dict = field(default_factory=dict)
    checkpointed: int = 0
    layers: int = 0  # checkpointed layers found
    timeline: tuple = ()  # inference: the live bytes after each operator, inputs included
    factored: int = 0  # values an Adafactor second moment keeps for the trainable parameters
    attention: str | None = None  # the attention implementation of a HuggingFace model
    language_loss: bool = False  # trained on its own loss (labels), not on the sum of its output
    inputs: dict = field(default_factory=dict)  # input name -> shape
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def total(self) -> int:
        return sum(self.saved.values())

    @property
    def peak(self) -> int:
        return max(self.timeline, default=0)


@dataclass(frozen=True)
class ActivationMeter:
    """Measures one input size in a meta session (the counter interface
    :func:`sessions.meta_sweep` drives): a training step's saved tensors or
    the inference working set (``job.mode`` "train" or "forward"), at ``dtype``."""

    name: str = "activations"
    dtype: str = "fp32"

    def failed(self, reason: str) -> ActivationResult:
        return ActivationResult("error", reason)

    def measure(self, prepared, job) -> ActivationResult:
        started = time.perf_counter()
        model, dtype = prepared.model, DTYPES[self.dtype]
        about = {"attention": attention(model), "factored": factored_values(model), "inputs": {
            name: list(t.shape) for name, t in [*enumerate(prepared.args), *prepared.kwargs.items()]
            if isinstance(t, torch.Tensor)}}
        with contextlib.ExitStack() as scope:
            state, args, kwargs = _tensors(prepared, dtype, scope)
            kept = {StorageWeakRef(t.untyped_storage()) for t in state.values()}
            units = checkpoint_units(model)
            stack = scope.enter_context(module_stack(model))
            scope.enter_context(_fused_attention(about["attention"] == "sdpa"))
            scope.enter_context(_as_real_to_transformers())
            if job.mode == "train":
                model.train()
                kwargs = with_labels(model, kwargs)
                with _Saved(stack, kept, units) as saved, _layer_inputs(units, kept) as inputs:
                    output = torch.func.functional_call(model, state, args, kwargs, strict=False)
                checkpointed = saved.checkpointed(inputs)
                del output
                return ActivationResult("ok", saved=saved.by_module(), checkpointed=checkpointed, layers=len(units),
                                        language_loss="labels" in kwargs, seconds=time.perf_counter() - started, **about)
            from .counters.torch_counter import _no_grad

            model.eval()
            with _no_grad(model), _LivePeak(kept) as live:
                output = torch.func.functional_call(model, state, args, kwargs, strict=False)
            del output
            inputs_bytes = _bytes({StorageWeakRef(t.untyped_storage()): t for t in tree_leaves((args, kwargs))
                                   if isinstance(t, torch.Tensor)})
            return ActivationResult("ok", timeline=tuple(v + inputs_bytes for v in live.timeline),
                                    seconds=time.perf_counter() - started, **about)


def _tensors(prepared, dtype, scope: contextlib.ExitStack):
    """(state, args, kwargs) to run the model with: for a model on meta, fake
    CPU tensors (the fake mode entered on ``scope``, with the inputs' known
    values); for a real one, its own tensors (floating ones at ``dtype``)."""
    from .counters.torch_counter import _as_fake, _fake_tensors, _known_inputs

    model = prepared.model
    if any(p.is_meta for p in model.parameters()):
        fake_mode = _fake_tensors()
        with fake_mode:
            state = _fake_state(model, dtype)
        values = _cast(prepared.values, dtype)
        args, kwargs = _as_fake(fake_mode, values)
        scope.enter_context(fake_mode)
        scope.enter_context(_known_inputs(fake_mode, (args, kwargs), values))
        return state, args, kwargs
    state = {name: _at(t, dtype) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    args, kwargs = _cast((prepared.args, prepared.kwargs), dtype)
    return state, args, kwargs


def _at(tensor, dtype):
    """A real parameter or buffer as a leaf at ``dtype`` (floating ones; the same storage when already there)."""
    if not tensor.is_floating_point():
        return tensor
    return tensor.detach().to(dtype).requires_grad_(tensor.requires_grad)


LOSS_HEADS = ("ForCausalLM", "LMHeadModel", "ForMaskedLM", "ForConditionalGeneration")


def with_labels(model, kwargs: dict) -> dict:
    """A language model's training inputs: its token ids again as ``labels``
    (the decoder's for an encoder-decoder), so that the forward computes the
    loss it trains with (transformers' cross-entropy, with its fp32 logits),
    whose saved tensors are often the largest of all. Other models keep
    their inputs (their step back-propagates the sum of their output)."""
    import inspect

    targets = kwargs.get("decoder_input_ids", kwargs.get("input_ids"))
    takes = "labels" in inspect.signature(model.forward).parameters
    if targets is None or not takes or "labels" in kwargs or not type(model).__name__.endswith(LOSS_HEADS):
        return kwargs
    return {**kwargs, "labels": targets}


def attention(model) -> str | None:
    """The attention implementation a HuggingFace model was built with (None for other models)."""
    config = getattr(model, "config", None)
    return getattr(config, "_attn_implementation", None) if config is not None else None


def factored_values(model) -> int:
    """Values a factored second moment (Adafactor) keeps for the trainable
    parameters: a row and a column mean per matrix ([..., r, c]: prod of all
    but the last size, plus prod of all but the last two times c), the whole
    of a vector. Tied parameters once."""
    total = 0
    for p in model.parameters():  # parameters() yields a shared tensor once
        if p.requires_grad:
            shape = tuple(p.shape)
            total += (math.prod(shape[:-1]) + math.prod(shape[:-2]) * shape[-1]) if len(shape) >= 2 else p.numel()
    return total


def _fake_state(model, dtype) -> dict:
    """The model's parameters and buffers as fake CPU tensors (floating ones
    at ``dtype``), by name, tied tensors once (``functional_call`` re-ties them)."""
    state = {}
    seen = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if id(tensor) in seen:
            continue
        kind = dtype if tensor.is_floating_point() else tensor.dtype
        fake = torch.empty(tensor.shape, dtype=kind, device="cpu")
        if isinstance(tensor, torch.nn.Parameter):
            fake.requires_grad_(tensor.requires_grad)
        seen[id(tensor)] = state[name] = fake
    return state


def _cast(values, dtype):
    """Floating-point inputs at ``dtype`` (pixels, features); ids and masks as they are."""
    return tree_map(lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t, values)


def _bytes(storages: dict) -> int:
    return sum(t.untyped_storage().nbytes() for t in storages.values())


def checkpoint_units(model) -> dict[str, torch.nn.Module]:
    """The layers full activation checkpointing wraps, by path: transformers'
    ``GradientCheckpointingLayer`` modules where the model has them, else the
    children of every outermost ``ModuleList`` whose children are all of one
    class (a stack of repeated layers)."""
    try:
        from transformers.modeling_layers import GradientCheckpointingLayer
    except ImportError:  # pragma: no cover - transformers is a dependency
        GradientCheckpointingLayer = ()
    named = list(model.named_modules())
    hf = {path: m for path, m in named if GradientCheckpointingLayer and isinstance(m, GradientCheckpointingLayer)}
    if hf:
        return {p: m for p, m in hf.items() if not any(p.startswith(q + ".") for q in hf if q != p)}
    units: dict[str, torch.nn.Module] = {}
    for path, module in named:
        if isinstance(module, torch.nn.ModuleList) and len(module) and not any(path.startswith(u + ".") for u in units):
            if len({type(child) for child in module}) == 1:
                units.update({f"{path}.{i}" if path else str(i): child for i, child in enumerate(module)})
    return units


class _Saved:
    """saved_tensors_hooks recording each distinct storage autograd saves,
    with the module running and the checkpointed layer (if any) around it."""

    def __init__(self, stack, kept: set, units: dict):
        self.stack, self.kept, self.units = stack, kept, set(units)
        self.storages: dict = {}  # StorageWeakRef -> (tensor, innermost module, unit or None)
        self.hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, tensor):
        key = StorageWeakRef(tensor.untyped_storage())
        if key not in self.kept and key not in self.storages:
            unit = next((p for p in self.stack if p in self.units), None)
            self.storages[key] = (tensor, self.stack[-1], unit)
        return tensor

    def __enter__(self):
        self.hooks.__enter__()
        return self

    def __exit__(self, *exc):
        return self.hooks.__exit__(*exc)

    def by_module(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for tensor, path, _ in self.storages.values():
            found[path] = found.get(path, 0) + tensor.untyped_storage().nbytes()
        return found

    def checkpointed(self, layer_inputs: dict) -> int:
        """Bytes kept with every unit checkpointed: storages saved outside
        the units and the units' inputs, plus the largest unit's own."""
        kept = {k: t for k, (t, _, unit) in self.storages.items() if unit is None}
        kept.update(layer_inputs)
        inside: dict[str, dict] = {}
        for key, (tensor, _, unit) in self.storages.items():
            if unit is not None and key not in kept:
                inside.setdefault(unit, {})[key] = tensor
        return _bytes(kept) + max((_bytes(s) for s in inside.values()), default=0)


@contextlib.contextmanager
def _layer_inputs(units: dict, kept: set):
    """The storages of the tensors each checkpointed layer is called with
    (what non-reentrant checkpointing keeps across the forward), by storage."""
    found: dict = {}

    def record(_module, args, kwargs):
        for tensor in tree_leaves((args, kwargs)):
            if isinstance(tensor, torch.Tensor):
                key = StorageWeakRef(tensor.untyped_storage())
                if key not in kept:
                    found.setdefault(key, tensor)

    handles = [m.register_forward_pre_hook(record, with_kwargs=True) for m in units.values()]
    try:
        yield found
    finally:
        for handle in handles:
            handle.remove()


class _LivePeak(TorchDispatchMode):
    """The total of live storages made by the operators that ran, after each
    operator that made a new one (the total only grows there), parameters
    and buffers (``kept``) left out."""

    def __init__(self, kept: set):
        super().__init__()
        self.kept = kept
        self.live: dict = {}  # StorageWeakRef -> bytes
        self.timeline: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        made = False
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                key = StorageWeakRef(tensor.untyped_storage())
                if key not in self.kept and key not in self.live:
                    self.live[key] = tensor.untyped_storage().nbytes()
                    made = True
        if made:
            for key in [k for k in self.live if k.expired()]:
                del self.live[key]
            self.timeline.append(sum(self.live.values()))
        return out


@contextlib.contextmanager
def _fused_attention(enabled: bool):
    """``F.scaled_dot_product_attention`` with its dropout left to the kernel
    (see the module docstring); restored on exit."""
    if not enabled:
        yield
        return
    functional = torch.nn.functional
    original = functional.scaled_dot_product_attention

    def fused(query, key, value, attn_mask=None, dropout_p=0.0, *args, **kwargs):
        return original(query, key, value, attn_mask, 0.0, *args, **kwargs)

    functional.scaled_dot_product_attention = fused
    try:
        yield
    finally:
        functional.scaled_dot_product_attention = original


@contextlib.contextmanager
def _as_real_to_transformers():
    """transformers takes fake tensors for a trace and then keeps attention
    masks it would drop on real tensors (``masking_utils`` asks
    ``is_tracing``): here they are real tensors to it, whose values the
    known-values mode supplies, so the masks are what a real run makes."""
    try:
        from transformers.utils import import_utils
    except ImportError:  # pragma: no cover - transformers is a dependency
        yield
        return
    original = import_utils.is_fake_tensor
    import_utils.is_fake_tensor = lambda _tensor: False
    try:
        yield
    finally:
        import_utils.is_fake_tensor = original
