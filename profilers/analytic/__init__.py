"""The analytic counter: exact parameters and forward MACs in closed form.

Pure Python over a config dict (no torch, no transformers): each model family
is one file ``<family>.py`` here (helpers start with ``_``) whose builder function carries
``@family("model_type", ...)`` and describes the model as leaves (one per
module that owns parameters or runs matmuls, at the module's canonical path)
grouped into named formulas for ``--explain``.

Conventions shared by every family (stated once here, not per formula):
- MACs are multiply-accumulates of matmul-like ops (linear layers, attention
  score and weighted-sum products, convolutions, recurrent gates); FLOPs are
  2 x MACs. Bias adds, norms, activations, softmax and embedding lookups are
  not MACs.
- Attention is counted as the eager implementation computes it: full n x n
  score matrices, causal masks applied after (so nothing is halved), grouped
  K/V heads expanded to every query head.
- Parameters are counted once each; tied weights are listed where they are
  counted first, as ``named_parameters()`` dedups them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

_FAMILIES: dict[str, Callable[["Spec", "Builder"], None]] = {}
_CAUSAL: set[str] = set()  # decoder-only families: one new token can attend to a cache (decode)


class Unsupported(Exception):
    """The config (or one of its variants) has no exact closed form here."""


@dataclass(frozen=True)
class Spec:
    """What a family builder gets: the config and the request."""

    config: dict
    base: bool  # build the backbone instead of the architectures class
    batch: int
    seq_len: int
    decoder_seq_len: int
    image_size: int | None
    input_shape: tuple[int, ...] | None
    past: int = 0  # decode: positions already in the key/value cache (seq_len new tokens attend to past + seq_len)

    @property
    def architecture(self) -> str | None:
        names = self.config.get("architectures") or []
        return None if self.base or not names else names[0]

    def get(self, name: str, default=None):
        """A config field, with ``default`` for a missing or null one."""
        value = self.config.get(name)
        return default if value is None else value

    @property
    def num_labels(self) -> int:
        labels = self.config.get("id2label")
        if isinstance(labels, dict) and labels:
            return len(labels)
        return int(self.config.get("num_labels") or 2)


@dataclass(frozen=True)
class Leaf:
    """One module (or bare parameter) of the model."""

    path: str  # canonical module path, as named_modules() names it
    type: str  # class name as built ("Linear", "Embedding", ...) or what it does
    category: str  # linear | attention | conv | recurrent for MACs; embedding | norm | param otherwise
    params: int = 0
    macs: int = 0


@dataclass
class Group:
    """A named formula over some leaves, repeated ``count`` times (layers)."""

    name: str
    path: str  # a path pattern, "*" standing for the layer index
    formula: str  # symbolic, e.g. "4·B·n·H²"
    filled: str  # the same with the config's numbers
    macs: int = 0
    params: int = 0
    count: int = 0


@dataclass
class Analysis:
    model_type: str
    class_name: str
    leaves: list[Leaf]
    groups: list[Group]
    containers: set[str]  # paths of transparent containers (ModuleList)
    sequentials: set[str]  # numbered containers that are modules of their own (nn.Sequential)
    active_params: int | None = None  # MoE: parameters one token uses
    notes: list[str] = field(default_factory=list)

    @property
    def params(self) -> int:
        return sum(leaf.params for leaf in self.leaves)

    @property
    def macs(self) -> int:
        return sum(leaf.macs for leaf in self.leaves)


class Builder:
    """Collects leaves and groups; every method documents its own MACs rule."""

    def __init__(self, past: int = 0) -> None:
        self.past = past  # cached positions every (self-)attention also attends to
        self.leaves: list[Leaf] = []
        self.groups: dict[tuple[str, str], Group] = {}
        self.sequentials: set[str] = set()
        self.notes: list[str] = []
        self._open: list[Group] = []
        self.active_params: int | None = None

    def _add(self, leaf: Leaf) -> int:
        self.leaves.append(leaf)
        for group in self._open:
            group.macs += leaf.macs
            group.params += leaf.params
        return leaf.macs

    def linear(self, path: str, fan_in: int, fan_out: int, *, rows: int, bias: bool, type: str = "Linear") -> int:
        """``y = x W^T (+ b)`` on ``rows`` input vectors: rows*fan_in*fan_out MACs
        (the bias add is not a MAC); params fan_in*fan_out (+ fan_out)."""
        return self._add(Leaf(path, type, "linear", fan_in * fan_out + (fan_out if bias else 0), rows * fan_in * fan_out))

    def matmul(self, path: str, macs: int, *, category: str = "linear", params: int = 0, type: str = "matmul") -> int:
        """A product counted by its caller (fused expert weights, say)."""
        return self._add(Leaf(path, type, category, params, macs))

    def attention(self, path: str, *, batch: int, heads: int, q_len: int, kv_len: int, head_dim: int, v_dim: int | None = None) -> int:
        """Eager attention: scores Q K^T, batch*heads*q_len*kv_len*head_dim MACs,
        plus the weighted sum P V, batch*heads*q_len*kv_len*v_dim MACs; when
        decoding, kv_len also counts the ``past`` cached positions."""
        kv_len += self.past
        macs = batch * heads * q_len * kv_len * (head_dim + (v_dim if v_dim is not None else head_dim))
        return self._add(Leaf(path, "attention", "attention", 0, macs))

    def conv(self, path: str, c_in: int, c_out: int, kernel: tuple[int, ...], *, positions: int, groups: int = 1, bias: bool, type: str = "Conv2d") -> int:
        """Convolution: positions (batch x output positions) * c_out * (c_in/groups) * prod(kernel) MACs."""
        window = 1
        for size in kernel:
            window *= size
        per_output = (c_in // groups) * window
        params = c_out * per_output + (c_out if bias else 0)
        return self._add(Leaf(path, type, "conv", params, positions * c_out * per_output))

    def recurrent(self, path: str, macs: int, params: int, type: str) -> int:
        return self._add(Leaf(path, type, "recurrent", params, macs))

    def embedding(self, path: str, rows: int, dim: int, type: str = "Embedding") -> None:
        """A lookup table: rows*dim params, no MACs."""
        self._add(Leaf(path, type, "embedding", rows * dim))

    def norm(self, path: str, dim: int, *, bias: bool = True, type: str = "LayerNorm") -> None:
        """Scale (and shift) per feature: dim (or 2*dim) params, no MACs."""
        self._add(Leaf(path, type, "norm", dim * (2 if bias else 1)))

    def param(self, path: str, numel: int, category: str = "param", type: str = "Parameter") -> None:
        """A bare nn.Parameter owned directly by a module."""
        self._add(Leaf(path, type, category, numel))

    def formula_note(self, name: str, formula: str, macs: int, **symbols: int) -> None:
        """A closed form over several groups (a whole layer, say), checked by
        the caller and shown under the formulas."""
        self.notes.append(f"{name}: {formula} = {fill(formula, symbols)} = {macs:,} MACs")

    def sequential(self, path: str) -> None:
        """Mark ``path`` as an nn.Sequential (numbered children, but a module row of its own)."""
        self.sequentials.add(path)

    @contextmanager
    def group(self, name: str, path: str, formula: str, **symbols: int) -> Iterator[Group]:
        """Sum the leaves added inside under ``name``; entering the same group
        again (the next layer) adds to it and counts one more repetition."""
        key = (name, path)
        if key not in self.groups:
            self.groups[key] = Group(name, path, formula, fill(formula, symbols))
        group = self.groups[key]
        group.count += 1
        self._open.append(group)
        try:
            yield group
        finally:
            self._open.pop()


def fill(formula: str, symbols: dict[str, int]) -> str:
    """``fill("4·B·n·H²", B=1, n=128, H=768)`` -> ``"4·1·128·768²"``."""
    if not symbols:
        return formula
    names = sorted(symbols, key=len, reverse=True)
    pattern = re.compile(r"(?<![A-Za-z_])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z_])")
    return pattern.sub(lambda m: str(symbols[m.group(1)]), formula)


def family(*model_types: str, causal: bool = False):
    """Register a builder for these ``model_type`` values; duplicates are
    refused. ``causal``: decoder-only models, whose every attention is
    self-attention over the cache too (so they can count a decode step)."""

    def register(builder: Callable[[Spec, Builder], str]):
        for model_type in model_types:
            if model_type in _FAMILIES:
                raise ValueError(f"model_type {model_type!r} already has an analytic family")
            _FAMILIES[model_type] = builder
            if causal:
                _CAUSAL.add(model_type)
        return builder

    return register


def _discover() -> None:
    if _FAMILIES:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):  # helpers are _private; every other module is a family
            importlib.import_module(f"{__name__}.{info.name}")


def is_causal(model_type: str) -> bool:
    """Whether ``model_type``'s family is decoder-only (registered ``causal``)."""
    _discover()
    return model_type in _CAUSAL


def supported_model_types() -> list[str]:
    _discover()
    return sorted(_FAMILIES)


def analyze(config: dict, spec: Spec) -> Analysis:
    """Leaves and groups of the model ``config`` describes, for the input in ``spec``.

    Raises :class:`Unsupported` for a model_type, architecture or variant
    without an exact closed form.
    """
    _discover()
    model_type = config.get("model_type", "")
    builder_fn = _FAMILIES.get(model_type)
    if builder_fn is None:
        raise Unsupported(f"unsupported model_type {model_type}")
    if spec.past and model_type not in _CAUSAL:
        raise Unsupported(f"{model_type} is not a decoder-only model: no decode step to count")
    builder = Builder(spec.past)
    class_name = builder_fn(spec, builder)
    leaves = builder.leaves
    # A numbered path component is an item of a ModuleList, which is transparent
    # in the tree, unless the family declared the container an nn.Sequential.
    containers = {".".join(leaf.path.split(".")[:i]) for leaf in leaves for i in _numbered(leaf.path)}
    containers -= builder.sequentials
    return Analysis(
        model_type, class_name, leaves, list(builder.groups.values()), containers, builder.sequentials,
        builder.active_params, builder.notes,
    )


def _numbered(path: str) -> list[int]:
    """Positions of numbered components that have a parent (``layer.0`` -> [1])."""
    return [i for i, part in enumerate(path.split(".")) if part.isdigit() and i > 0]
