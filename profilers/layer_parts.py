"""Where a count goes: MACs by category, and within the repeated layers of a
model, self-attention against the feed-forward block.

Works on any counter's records (``path``, ``op``, ``macs``): the analytic
counter's leaves and the torch counter's per-module records alike.

- A *stack* is a container of numbered layers (``encoder.layer``,
  ``model.layers``, ``h``): the path up to the first numbered component.
  The main stack is the one with the most MACs.
- Within a layer, *self-attention* is every record under a component named
  like attention (``attention``, ``self_attn``, ``attn``, ``SelfAttention``)
  and the attention products themselves; the *FFN* is everything else in the
  layer (MLP, experts and their router).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Protocol

ATTENTION_COMPONENT = re.compile(r"attn|attention", re.IGNORECASE)
SELF_ATTENTION, FFN = "self_attention", "ffn"


class Counted(Protocol):
    path: str
    op: str
    macs: int


@dataclass(frozen=True)
class Split:
    """One count, split: ``parts`` by category; ``layers[i]`` the
    self-attention and FFN MACs of layer i of the main ``stack``."""

    total: int
    parts: dict[str, int]
    stack: str | None = None
    layers: tuple[dict[str, int], ...] = ()
    stacks: dict[str, int] = field(default_factory=dict)  # every stack's MACs

    def flat(self) -> dict[str, int]:
        """Named values, for an exact fit: ``part:linear``, ``layer:3:ffn``, ..."""
        values = {f"part:{name}": macs for name, macs in self.parts.items()}
        for i, layer in enumerate(self.layers):
            values.update({f"layer:{i}:{name}": macs for name, macs in layer.items()})
        return values


def locate(path: str) -> tuple[str, int, str] | None:
    """``encoder.layer.3.attention.self`` -> (``encoder.layer``, 3, ``attention.self``)."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0:
            return ".".join(parts[:i]), int(part), ".".join(parts[i + 1:])
    return None


def split(records: Iterable[Counted]) -> Split:
    """``records`` by category and, for the main stack, by layer and part."""
    records = [r for r in records if r.macs]
    parts: dict[str, int] = {}
    stacks: dict[str, int] = {}
    layer_sizes: dict[str, int] = {}
    for r in records:
        parts[r.op] = parts.get(r.op, 0) + r.macs
        where = locate(r.path)
        if where:
            stacks[where[0]] = stacks.get(where[0], 0) + r.macs
            layer_sizes[where[0]] = max(layer_sizes.get(where[0], 0), where[1] + 1)
    repeated = {name: macs for name, macs in stacks.items() if layer_sizes[name] > 1}
    if not repeated:
        return Split(sum(parts.values()), parts, stacks=stacks)
    main = max(repeated, key=lambda name: (repeated[name], name))
    layers = [{SELF_ATTENTION: 0, FFN: 0} for _ in range(layer_sizes[main])]
    for r in records:
        where = locate(r.path)
        if where and where[0] == main:
            part = SELF_ATTENTION if r.op == "attention" or ATTENTION_COMPONENT.search(where[2]) else FFN
            layers[where[1]][part] += r.macs
    return Split(sum(parts.values()), parts, main, tuple(layers), stacks)
