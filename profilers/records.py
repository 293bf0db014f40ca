"""Plain records passed from the core to the renderers (no torch imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelInfo:
    """What was profiled: the name asked for, where it came from, the class built."""

    name: str
    source: str  # bundled | local | cache | hub | toy | python
    class_name: str
    location: str  # config file, hub URL, toy name or factory reference
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        return {"name": self.name, "source": self.source, "class": self.class_name, "location": self.location}


# "backward": the multiply-accumulates of a training step's backward pass, counted for the whole model
MAC_CATEGORIES = ("linear", "attention", "conv", "recurrent", "backward")
OTHER_CATEGORIES = ("norm", "activation", "softmax", "pool", "elementwise", "upsample", "other")


@dataclass(frozen=True)
class CountRecord:
    """One module x operator category, as one counter saw it.

    ``path`` is canonical: "" is the root, children are dotted
    ``named_modules()`` names. ``macs`` are multiply-accumulates of
    matmul-like ops (category in MAC_CATEGORIES); ``other_ops`` are the
    operations a counter counted for anything else (norms, activations,
    elementwise adds, ...), in the counter's own units of "one op". Counts are
    exclusive: ops run directly in this module, not in its children.
    """

    path: str
    op: str  # a category of MAC_CATEGORIES or OTHER_CATEGORIES
    macs: int = 0
    other_ops: int = 0
    source_ops: tuple[str, ...] = ()  # the tool's own names for what it counted here

    @property
    def flops(self) -> int:
        """Floating-point operations of the MACs: one multiply plus one add each."""
        return 2 * self.macs


@dataclass(frozen=True)
class Uncounted:
    """An operator (or module) a counter met in module ``path`` but did not count."""

    path: str
    op: str  # the tool's own name, e.g. "aten::scaled_dot_product_attention"
    category: str  # what it would have counted as
    calls: int = 1


@dataclass(frozen=True)
class CounterResult:
    """What one counter reported, converted to MACs at the adapter boundary.

    ``status`` is "ok", "error" or "skipped" (with ``reason``). ``printed`` is
    the total the tool itself reports, in its native unit and under its own
    ``label``; ``macs + other_ops`` equals it in MAC units.
    """

    counter: str
    native_unit: str  # "mac" or "flop"
    status: str
    reason: str = ""
    records: tuple[CountRecord, ...] = ()
    uncounted: tuple[Uncounted, ...] = ()
    seconds: float = 0.0
    printed: int | None = None
    label: str = ""
    params: int | None = None  # parameters the tool reports, where it reports any
    phases: dict = field(default_factory=dict)  # {"forward": macs, "backward": macs} when measured apart
    module_params: dict = field(default_factory=dict)  # path -> parameters the tool attributes there (its own)
    idle_modules: tuple[str, ...] = ()  # modules with parameters whose forward never ran under the tool
    groups: tuple[dict, ...] = ()  # analytic: [{"name", "path", "formula", "macs", "params", "count"}]
    active_params: int | None = None  # analytic, mixture of experts: parameters one token uses
    routed_macs: int | None = None  # MACs of the routed top-k computation, where expert kernels ran all experts
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.records)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def other_ops(self) -> int:
        return sum(r.other_ops for r in self.records)
