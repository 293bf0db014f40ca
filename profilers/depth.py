"""Counting at any depth: a stack of identical layers makes every count an
exact linear function of the layer count L.

A counter that cannot run the full model (its real tensors do not fit) runs
on builds of the same config with 1, 2 and 3 layers. Every record is then
checked to be exactly linear in L (the third build verifies the line), and the
full model's records are rebuilt: what lies outside the stack as counted,
layer 0 as counted, and every further layer as layer 1 (which the 3-layer
build shows equal to layer 2). A count that is not linear, or layers that
differ, refuse the extrapolation with the reason.

Pure Python over :class:`CounterResult` records (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .layer_parts import locate
from .records import CounterResult

LAYER_FIELDS = ("num_hidden_layers", "n_layer", "num_layers")
DEPTHS = (1, 2, 3)


def layer_field(config: dict | None) -> tuple[str, int] | None:
    """The config's one layer count (name, L), when it has exactly one and more than 3 layers."""
    if not config:
        return None
    found = [(name, config[name]) for name in LAYER_FIELDS if isinstance(config.get(name), int)]
    sub_stacks = any(isinstance(v, dict) and any(f in v for f in LAYER_FIELDS) for v in config.values())
    extra = any(k.startswith("num_decoder_layers") or k == "encoder_layers" for k in config)
    if len(found) != 1 or sub_stacks or extra or found[0][1] <= max(DEPTHS):
        return None
    return found[0]


def uniform_layers(items, layers: int) -> bool:
    """Whether the model's stack of ``layers`` holds the same modules from
    layer 1 on (layer 0 may differ), judged from ``items``: (path,
    description) pairs of the whole model (parameter-tree rows, closed-form
    leaves). The reduced builds stand for the full model only then: a model
    whose first layers are dense and the rest mixtures of experts
    (DeepSeek-V3's first_k_dense_replace) never shows a later layer in them."""
    per_layer: dict[str, dict[int, list]] = {}
    for path, description in items:
        where = locate(path)
        if where:
            per_layer.setdefault(where[0], {}).setdefault(where[1], []).append((where[2], description))
    stacks = [layers_of for layers_of in per_layer.values() if len(layers_of) == layers]
    if len(stacks) != 1:
        return False
    (stack,) = stacks
    first = sorted(stack.get(1, []))
    return all(sorted(stack.get(i, [])) == first for i in range(1, layers))


def with_layers(config: dict, field: str, layers: int) -> dict:
    """The same config with ``layers`` layers (and per-layer lists cut to match)."""
    reduced = {**config, field: layers}
    for key in ("layer_types", "moe_layers"):
        if isinstance(config.get(key), list) and len(config[key]) == config[field]:
            reduced[key] = config[key][:layers]
    return reduced


def extrapolate(counted: dict[int, CounterResult], layers: int) -> CounterResult:
    """The full-depth result from results at 1, 2 and 3 layers (see the module docstring)."""
    first = counted[DEPTHS[0]]
    failed = next((r for r in counted.values() if not r.ok), None)
    if failed is not None:
        return failed
    stack = _stack(counted[DEPTHS[-1]].records, DEPTHS[-1])
    if stack is None:
        return _refused(first, "no stack of numbered layers found in the reduced builds")
    records = _rebuild({d: counted[d].records for d in DEPTHS}, stack, layers)
    if isinstance(records, str):
        return _refused(first, records)
    uncounted = _rebuild({d: counted[d].uncounted for d in DEPTHS}, stack, layers)
    owned = _rebuild({d: tuple(_Owned(path, n) for path, n in counted[d].module_params.items()) for d in DEPTHS}, stack, layers)
    note = (f"extrapolated from builds with 1, 2 and 3 layers: every count is exactly linear in the layer count "
            f"(the 3-layer build verifies the line), here at {layers} layers")
    # a note that reads the same at every depth holds for the whole model; one with figures of a build does not
    kept = tuple(n for n in first.notes if all(n in counted[d].notes for d in DEPTHS))
    last = counted[DEPTHS[-1]]
    return replace(
        last, records=records, uncounted=() if isinstance(uncounted, str) else uncounted,
        printed=_line(counted, "printed", layers), params=_line(counted, "params", layers),
        routed_macs=_line(counted, "routed_macs", layers),
        module_params={} if isinstance(owned, str) else {o.path: o.params for o in owned}, idle_modules=(),
        notes=(*kept, note),
    )


def _rebuild(items: dict[int, tuple], stack: str, layers: int) -> tuple | str:
    """Items (records, or operators seen but not counted) of the full model
    from those of the reduced builds, or why that cannot be done."""
    outside = [{_key(item): item for item in items[d] if not _under(item.path, stack)} for d in DEPTHS]
    if any(o != outside[0] for o in outside[1:]):
        return "what lies outside the layers changes with the depth"
    by_layer = {d: _layers(items[d], stack) for d in DEPTHS}
    zero, one = by_layer[1].get(0, {}), by_layer[2].get(1, {})
    same = by_layer[2].get(0, {}) == zero == by_layer[3].get(0, {}) and by_layer[3].get(1, {}) == one == by_layer[3].get(2, {})
    if not same:
        return "the layers of the reduced builds are not the same from layer 1 on"
    rebuilt = list(outside[0].values())
    for i in range(layers):
        for (suffix, _), item in (zero if i == 0 else one).items():
            rebuilt.append(replace(item, path=f"{stack}.{i}" + (f".{suffix}" if suffix else "")))
    return tuple(sorted(rebuilt, key=_key))


@dataclass(frozen=True)
class _Owned:
    """Parameters a tool attributes to one module (``module_params``), as an item with a path."""

    path: str
    params: int


def _key(item) -> tuple:
    return (item.path, getattr(item, "op", ""))


def _refused(template: CounterResult, why: str) -> CounterResult:
    return CounterResult(template.counter, template.native_unit, "skipped", f"cannot extrapolate in depth: {why}",
                         label=template.label)


def _stack(records, depth: int) -> str | None:
    """The container whose numbered children are exactly 0 .. depth-1."""
    children: dict[str, set[int]] = {}
    for r in records:
        where = locate(r.path)
        if where:
            children.setdefault(where[0], set()).add(where[1])
    matches = [name for name, found in children.items() if found == set(range(depth))]
    return min(matches, key=len) if matches else None


def _layers(items, stack: str) -> dict[int, dict]:
    """Items under each layer of ``stack``, keyed by their path below the layer
    (the path itself blanked, so layers compare by what they hold)."""
    found: dict[int, dict] = {}
    for item in items:
        if _under(item.path, stack):
            index, _, suffix = item.path[len(stack) + 1:].partition(".")
            found.setdefault(int(index), {})[(suffix, getattr(item, "op", ""))] = replace(item, path="")
    return found


def _under(path: str, stack: str) -> bool:
    rest = path[len(stack) + 1:] if path.startswith(stack + ".") else ""
    return bool(rest) and rest.split(".")[0].isdigit()


def _line(counted: dict[int, CounterResult], attribute: str, layers: int) -> int | None:
    """A total of the tool's own (its printed figure, its params) on the line
    through the 1- and 2-layer values, when the 3-layer value lies on it."""
    values = [getattr(counted[d], attribute) for d in DEPTHS]
    if any(v is None for v in values):
        return None
    slope = values[1] - values[0]
    if values[2] - values[1] != slope:
        return None
    return values[0] + slope * (layers - 1)


@dataclass(frozen=True)
class _Named:
    """A named value (bytes of one module, or a total) as an item with a path."""

    path: str
    op: str
    value: int


def extrapolate_values(measured: dict[int, dict[str, int]], layers: int) -> dict[str, int] | str:
    """Named values measured on builds of 1, 2 and 3 layers, at full depth:
    ``module:PATH`` values rebuilt layer by layer like records, every other
    value on the line through the 1- and 2-layer values, which the 3-layer
    value must lie on. Or why that cannot be done."""
    modules = {d: tuple(_Named(k.removeprefix("module:"), "", v) for k, v in values.items() if k.startswith("module:"))
               for d, values in measured.items()}
    result: dict[str, int] = {}
    if any(modules.values()):
        stack = _stack(modules[DEPTHS[-1]], DEPTHS[-1])
        if stack is None:
            return "no stack of numbered layers found in the reduced builds"
        rebuilt = _rebuild(modules, stack, layers)
        if isinstance(rebuilt, str):
            return rebuilt
        result.update({f"module:{item.path}": item.value for item in rebuilt})
    for name in sorted({k for values in measured.values() for k in values if not k.startswith("module:")}):
        values = [measured[d].get(name, 0) for d in DEPTHS]
        slope = values[1] - values[0]
        if values[2] - values[1] != slope:
            return f"{name} is not linear in the layer count ({', '.join(f'{v:,}' for v in values)} at 1, 2, 3 layers)"
        result[name] = values[0] + slope * (layers - 1)
    return result
