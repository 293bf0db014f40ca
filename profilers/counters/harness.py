"""What the torch-based adapters share: building the model with its inputs,
module bookkeeping, and turning a tool's per-module counts into records.

Imported only inside child processes (it imports torch).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from ...models.build import build_model
from ...models.inputs import factory_inputs, materialize, plan_inputs
from ..errors import BadInput
from ..ops import category, module_category
from ..records import MAC_CATEGORIES, CountRecord
from . import CountJob

WRAPPER_CHILD = "model"  # the attribute CallModel keeps the real model under


@dataclass(frozen=True)
class ModuleInfo:
    type: str
    owns_params: bool  # has parameters of its own (not only in children)
    bias: int  # elements of its own ``bias`` parameter, 0 if none
    params: int = 0  # elements of its own parameters
    computes: bool = False  # multiplies its own weights with its input (see :func:`computes`)
    bank: int = 0  # a bank of experts: the leading size E all its parameters share; 0 otherwise
    bank_weights: int = 0  # elements of a bank's weight stacks (its >= 3-D parameters), all E experts


@dataclass
class Prepared:
    model: nn.Module
    args: tuple
    kwargs: dict
    modules: dict[str, ModuleInfo]
    values: tuple = ((), {})  # meta inputs: the same (args, kwargs) with real values, on the CPU


def prepare(job: CountJob, device: str) -> Prepared:
    """Build the model of ``job`` on ``device`` and prepare it (see :func:`prepare_built`)."""
    built = build_model(job.source, device=device, base=job.base, attn=job.attn, trust_remote_code=job.trust_remote_code)
    return prepare_built(built, job, plan_inputs(job.source, job.inputs), device)


def prepare_built(built, job: CountJob, plan, device: str) -> Prepared:
    """A built model with its inputs on ``device`` (from ``plan``, else the
    factory's example inputs), in eval mode for a forward count and train
    mode for a training step."""
    model = built.module
    for config in {id(m.config): m.config for m in model.modules() if hasattr(m, "config")}.values():
        if hasattr(config, "use_cache"):
            # one plain forward: no key/value cache objects, in the sub-models (a language model's text config) too
            config.use_cache = False
    values = ((), {})
    if plan is not None:
        args, kwargs = materialize(plan, device)
        if device == "meta":
            values = materialize(plan, "cpu")
    elif built.example_inputs is not None:
        args, kwargs = factory_inputs(built.example_inputs, device)
    else:
        raise BadInput(f"{job.source.name}: the factory returned no example inputs; pass --input-shape")
    model.train(job.mode == "train")
    return Prepared(model, args, kwargs, module_table(model), values)


def module_table(model: nn.Module) -> dict[str, ModuleInfo]:
    table = {}
    for path, module in model.named_modules(remove_duplicate=False):
        own = dict(module.named_parameters(recurse=False))
        bias = own.get("bias")
        table[path] = ModuleInfo(
            type(module).__name__,
            bool(own),
            bias.numel() if isinstance(bias, torch.Tensor) else 0,
            sum(p.numel() for p in own.values()),
            bool(own) and computes(module),
            *bank_size(own.values()),
        )
    return table


def computes(module: nn.Module) -> bool:
    """Whether the module multiplies its own weights with its input: linear,
    convolution, recurrent and attention layers, and banks of experts (as
    opposed to embeddings, which look weights up, and norms, which scale)."""
    from ..ops import LINEAR_TYPES

    kinds = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd, nn.RNNBase, nn.RNNCellBase, nn.MultiheadAttention)
    name = type(module).__name__
    return isinstance(module, kinds) or name in LINEAR_TYPES or name.endswith("Experts")


def bank_size(params) -> tuple[int, int]:
    """(E, elements of the weight stacks) when the parameters are stacks of
    E experts' weights ([E, ...] >= 3-D, biases [E, ...]), else (0, 0)."""
    params = list(params)
    stacks = [p for p in params if p.dim() >= 3]
    leading = {p.shape[0] if p.dim() else None for p in params}  # a scalar (CLIP's logit_scale) is no stack
    if not stacks or len(leading) != 1:
        return 0, 0
    return leading.pop(), sum(p.numel() for p in stacks)


def idle_modules(modules: dict[str, ModuleInfo], records, active: set[str]) -> tuple[str, ...]:
    """Modules whose own weights feed multiply-accumulates but that were not
    ``active`` (their forward never ran, no operator read their weights) and
    where no MAC was counted: a vision tower or an audio encoder the inputs
    never reached, experts no token was routed to."""
    counted = {r.path for r in records if r.macs}
    return tuple(path for path, info in modules.items() if path and info.computes and path not in active and path not in counted)


def idle_note(idle: tuple[str, ...], modules: dict[str, ModuleInfo]) -> str:
    """One line naming the idle modules and the parameters they hold."""
    held = sum(modules[p].params for p in idle)
    shown = ", ".join(idle[:3]) + (f" and {len(idle) - 3} more" if len(idle) > 3 else "")
    return f"{len(idle)} module(s) with weights ({held:,} params) did no countable work in this run: {shown}"


class CallModel(nn.Module):
    """Wraps a model so tools that call ``model(*tensors)`` or ``model(**dict)``
    can feed keyword inputs, and so JIT tracing sees plain tensor outputs.
    Paths under it start with ``model.``; :func:`strip_wrapper` removes that."""

    def __init__(self, model: nn.Module, n_args: int, kw_names: list[str], constants: dict | None = None):
        super().__init__()
        self.model = model
        self.n_args = n_args
        self.kw_names = kw_names
        self.constants = dict(constants or {})  # non-tensor keyword inputs, passed on every call

    def forward(self, *tensors, _args: tuple = (), **named):
        """Positional tensors in the order of :meth:`around`, or (for tools
        that call ``model(**batch)``) ``_args`` plus the keyword inputs."""
        args = tensors[: self.n_args] or _args
        kwargs = {**self.constants, **dict(zip(self.kw_names, tensors[self.n_args :])), **named}
        return tensor_outputs(self.model(*args, **kwargs))

    @staticmethod
    def keyword_batch(prepared: "Prepared") -> dict:
        """The inputs as one dict, for tools that call ``model(**batch)``."""
        tensors = {k: v for k, v in prepared.kwargs.items() if isinstance(v, torch.Tensor)}
        return {"_args": prepared.args, **tensors} if prepared.args else tensors

    @classmethod
    def around(cls, prepared: Prepared) -> tuple["CallModel", tuple]:
        """The wrapper and the flat positional inputs to call it with."""
        tensors = {k: v for k, v in prepared.kwargs.items() if isinstance(v, torch.Tensor)}
        constants = {k: v for k, v in prepared.kwargs.items() if k not in tensors}
        wrapper = cls(prepared.model, len(prepared.args), list(tensors), constants)
        return wrapper, (*prepared.args, *tensors.values())


def tensor_outputs(out: Any) -> tuple:
    """The tensors of a model output (ModelOutput, tuple, dict or tensor), flattened."""
    if hasattr(out, "to_tuple"):
        out = out.to_tuple()
    if isinstance(out, torch.Tensor):
        return (out,)
    if isinstance(out, dict):
        out = tuple(out.values())
    flat: list[torch.Tensor] = []
    if isinstance(out, (tuple, list)):
        for item in out:
            flat.extend(tensor_outputs(item))
    return tuple(flat)


def strip_wrapper(path: str) -> str:
    if path == WRAPPER_CHILD:
        return ""
    return path.removeprefix(WRAPPER_CHILD + ".")


def training_loss(out: Any) -> torch.Tensor:
    """The scalar a training step back-propagates: the sum of the model's
    first output (logits, or the last hidden state of a backbone)."""
    tensors = tensor_outputs(out)
    if not tensors:
        raise BadInput("the model returned no tensor to back-propagate")
    return tensors[0].float().sum()


class ModuleStack(list):
    """The canonical paths of the modules running, innermost last (the root
    is ""); ``ran`` collects every path whose forward ran."""

    def __init__(self) -> None:
        super().__init__([""])
        self.ran: set[str] = set()


@contextlib.contextmanager
def module_stack(model: nn.Module, prefix_to_strip: bool = False) -> Iterator[ModuleStack]:
    """Track the innermost module running (see :class:`ModuleStack`). Hooks
    are removed on exit."""
    stack = ModuleStack()
    handles = []
    for path, module in model.named_modules():
        canonical = strip_wrapper(path) if prefix_to_strip else path

        def enter(_module, _args, canonical=canonical):
            stack.append(canonical)
            stack.ran.add(canonical)

        def leave(_module, _args, _out, canonical=canonical):
            if stack and stack[-1] == canonical:
                stack.pop()

        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave, always_call=True))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


_HOOK_DICTS = (
    "_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks", "_load_state_dict_pre_hooks",
)


@contextlib.contextmanager
def pristine(model: nn.Module) -> Iterator[None]:
    """Undo whatever a tool adds to ``model`` while it runs: hooks, buffers,
    parameters and instance attributes (ptflops leaves methods and counters
    on modules, its aten backend leaves hooks; thop adds buffers)."""
    saved = []
    for module in model.modules():
        saved.append(
            (
                module,
                set(vars(module)),
                {name: set(getattr(module, name, {})) for name in _HOOK_DICTS},
                set(module._buffers),
                set(module._parameters),
                module.training,
            )
        )
    try:
        yield
    finally:
        for module, attributes, hooks, buffers, parameters, training in saved:
            for name, keys in hooks.items():
                table = getattr(module, name, None)
                if isinstance(table, dict):
                    for key in set(table) - keys:
                        del table[key]
            for key in set(module._buffers) - buffers:
                del module._buffers[key]
            for key in set(module._parameters) - parameters:
                del module._parameters[key]
            for key in set(vars(module)) - attributes:
                delattr(module, key)
            module.training = training


def exclusive(inclusive: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per-module counts that include children -> counts of each module alone.

    A module's nearest counted ancestor is the longest other path that is a
    dotted prefix of it, so containers that never run (``ModuleList``) are
    skipped over.
    """
    paths = sorted(inclusive, key=lambda p: (p.count(".") + (1 if p else 0), p))
    result = {p: dict(inclusive[p]) for p in paths}
    known = set(paths)
    for path in paths:
        if not path:
            continue
        parent = path
        while True:
            parent = parent.rpartition(".")[0] if "." in parent else ""
            if parent in known or not parent:
                break
        if parent not in known:
            continue
        for op, n in inclusive[path].items():
            result[parent][op] = result[parent].get(op, 0) - n
    return {p: {op: n for op, n in ops.items() if n} for p, ops in result.items()}


def to_records(
    counts: dict[str, dict[str, int]],
    modules: dict[str, ModuleInfo],
    *,
    per_mac: int = 1,
    by_module_type: bool = False,
) -> tuple[CountRecord, ...]:
    """Exclusive per-module counts in the tool's units -> records in MACs.

    ``per_mac`` is how many native units one MAC is (2 for FLOP counters).
    ``by_module_type`` classifies by the module's type (module-hook tools)
    instead of the op name.
    """
    grouped: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, set()])
    for path, ops in counts.items():
        info = modules.get(path, ModuleInfo("", False, 0))
        for op, n in ops.items():
            if n != int(n):
                raise ValueError(f"{path}: {op} counted {n}, not a whole number")
            n = int(n)  # fvcore's einsum rule answers whole numbers as floats
            kind = module_category(info.type) if by_module_type else category(op, info.type, info.owns_params)
            slot = grouped[(path, kind)]
            if kind in MAC_CATEGORIES:
                slot[0] += n
            else:
                slot[1] += n
            slot[2].add(op)
    records = []
    for (path, kind), (macs, other, ops) in sorted(grouped.items()):
        if macs % per_mac or other % per_mac:
            raise ValueError(f"{path}: {macs + other} is not a whole number of MACs at {per_mac} per MAC")
        records.append(CountRecord(path, kind, macs // per_mac, other // per_mac, tuple(sorted(ops))))
    return tuple(records)
