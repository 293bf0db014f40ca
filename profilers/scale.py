"""How a model's cost grows with the sequence length: ``modelprof scale``.

At a fixed batch, forward MACs are an exact polynomial in the sequence
length n: degree 2 with full attention, degree 1 for recurrent, convolutional
and windowed layers. A decode step is linear in the cached context C. The
polynomial comes from

- the analytic counter's closed forms, counted at every length (``analytic``);
- or the torch counter on fake tensors, counted at three lengths, solved for
  exact integer coefficients and verified at further lengths (``torch-fit``);
  other lengths then follow from the verified polynomial. A failed check
  falls back to counting every length (``torch-points``).

Parts are kept apart (MACs by category; within the repeated layer,
self-attention against the feed-forward block), so the crossovers of one
layer follow from its coefficients: with self-attention a1·n + a2·n² and FFN
f1·n, attention outgrows the FFN at n* = (f1 − a1) / a2 and the quadratic
outgrows every linear term at n* = (a1 + f1) / a2 (2H and 6H for BERT, after
Su Jianlin, "线性Transformer应该不是你要等的那个模型", kexue.fm/archives/8610).

Conventions: the default counts what eager and SDPA kernels execute, all n²
scores. The causal count halves the score and weighted-sum products of causal
models (Megatron-LM since 2025, MaxText, flash-attention's benchmarks); a
windowed count takes n·min(n, w) products per head instead of n² for a
sliding window w. Either is shown beside the default, labelled, and only
``causal_half`` switches the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable

from ..models.inputs import InputSpec, applied_spec
from ..models.modalities.text import _position_limit
from ..models.resolver import ModelSource, resolve
from .errors import BadInput
from .fitting import Fit, Polynomial, fit_exact
from .layer_parts import FFN, SELF_ATTENTION, Split, split
from .records import ModelInfo

DEFAULT_START = 128
MOST_POINTS = 24
LONGEST = 1 << 22
VARIABLE = {"forward": "n", "train": "n", "decode": "C"}
# how often a step runs the attention products: once forward; a training step twice more backward
PRODUCT_PASSES = {"forward": 1, "train": 3, "decode": 1}


@dataclass(frozen=True)
class Point:
    """One length: the total and its parts in the chosen convention, the
    representative layer's self-attention and FFN, and the other conventions."""

    x: int
    macs: int
    parts: dict[str, int]
    layer: dict[str, int]
    counted: bool  # counted at this length (else from the verified polynomial)
    alternatives: dict[str, int] = field(default_factory=dict)  # "full" / "causal-half" / "windowed" -> MACs


@dataclass(frozen=True)
class LayerForm:
    """Layers of the main stack that cost the same: self-attention and FFN of one of them."""

    layers: tuple[int, ...]
    attention: Polynomial
    ffn: Polynomial


@dataclass(frozen=True)
class Shape:
    """The sizes crossovers and formulas are stated in (from the config)."""

    hidden: int | None
    heads: int | None
    head_dim: int | None
    window: int | None  # sliding window, where the config has one
    windowed_layers: tuple[int, ...] = ()  # which layers use it (all when the config does not say)
    sizes: tuple[int, ...] = ()  # the FFN width(s) and the vocabulary, for writing coefficients


@dataclass(frozen=True)
class ScaleResult:
    model: ModelInfo
    mode: str
    variable: str  # "n" or "C"
    convention: str  # "full" or "causal-half"
    causal: bool
    source: str  # "analytic", "torch-fit" or "torch-points"
    fit: Fit
    points: tuple[Point, ...]
    stack: str | None
    forms: tuple[LayerForm, ...]
    total: Polynomial | None  # the whole count in the chosen convention
    shape: Shape
    crossovers: dict[str, Fraction | None]
    explained: dict[str, str]  # crossover -> the formula with the model's numbers
    linear_d_mult: int
    spec: InputSpec
    notes: tuple[str, ...] = ()

    @property
    def main_form(self) -> LayerForm | None:
        return max(self.forms, key=lambda f: len(f.layers)) if self.forms else None


@dataclass(frozen=True)
class ScaleRequest:
    name: str
    spec: InputSpec = InputSpec()
    mode: str = "forward"
    counter: str | None = None  # "analytic" or "torch"; None: analytic where it knows the model
    lengths: tuple[int, ...] = ()  # () = doubling from 128 past both crossovers
    causal_half: bool = False
    linear_d_mult: int = 4
    base: bool = False
    attn: str | None = None
    trust_remote_code: bool = False
    timeout_s: float = 300.0


def profile_scale(request: ScaleRequest, on_progress=None) -> ScaleResult:
    """The polynomial, the points and the crossovers of ``request`` (see the module docstring)."""
    if request.mode not in VARIABLE:
        raise BadInput(f"unknown mode {request.mode!r} ({', '.join(VARIABLE)})")
    source = resolve(request.name)
    if source.kind == "python":
        raise BadInput(f"{source.name}: scale varies the sequence length of a HuggingFace config or a toy net; "
                       "a Python factory brings inputs of its own")
    if request.mode != "forward" and source.kind == "toy":
        raise BadInput(f"{source.name}: --mode {request.mode} applies to HuggingFace models")
    spec = _checked(source, request)
    counter = _counter(source, request, spec)
    causal = _is_causal(source, counter)
    if request.causal_half and not causal:
        raise BadInput(f"{source.name}: --causal-half halves the attention products of causal models; this one is not")
    if request.mode == "decode" and not causal:
        raise BadInput(f"{source.name}: --mode decode counts a decoder-only model's next token; this model is not one")
    if request.causal_half and request.mode == "decode":
        raise BadInput("--causal-half does not apply to --mode decode: the new token attends to every cached one")
    measure, info, source_label = _measurer(source, request, spec, counter, on_progress)
    degree = 1 if request.mode == "decode" else 2
    lengths = request.lengths
    fit = _fit(measure, degree, lengths or _probe_lengths(request.mode), exhaustive=counter == "analytic")
    if not lengths:
        lengths = _default_lengths(fit, degree, request.mode, _limit(source, counter, request.mode))
        if fit.ok and counter == "analytic":
            fit = _fit(measure, degree, lengths, exhaustive=True)
    if not fit.ok:
        for x in lengths:  # no polynomial holds: every requested length is counted
            if x not in fit.measured:
                fit.measured[x] = measure(x)
        source_label = "torch-points" if counter == "torch" else source_label
    return _result(source, request, spec, fit, tuple(lengths), info, source_label, causal, degree)


# ---------------------------------------------------------------------------
# counting one length
# ---------------------------------------------------------------------------


def _checked(source: ModelSource, request: ScaleRequest) -> InputSpec:
    """The request's fixed inputs (batch, image size, ...) checked against the model."""
    spec = request.spec
    if "seq_len" in spec.given and request.mode != "decode":
        raise BadInput("scale sets the sequence length itself: give the lengths with --seq-len on scale, not a single one")
    spec = applied_spec(source, spec)
    if request.mode == "decode" and "seq_len" not in spec.given:
        spec = replace(spec, seq_len=1)  # one new token per step
    if source.kind == "toy" and len(spec.input_shape or _toy_shape(source)) != 3:
        raise BadInput(f"{source.name} takes no sequence: scale needs a sequence model (toy:attention, toy:rnn, ...)")
    return spec


def _toy_shape(source: ModelSource) -> tuple[int, ...]:
    from ..models.toys import find_toy

    return find_toy(source.location).input_shape


def _counter(source: ModelSource, request: ScaleRequest, spec: InputSpec) -> str:
    from .analytic import Unsupported

    if request.counter == "torch" or request.mode == "train":
        if request.counter == "analytic":
            raise BadInput("--mode train is measured by the torch counter: the analytic counter has no backward pass")
        return "torch"
    try:
        _analysis(source, request, spec, DEFAULT_START)
        return "analytic"
    except Unsupported as why:
        if request.counter == "analytic":
            raise BadInput(f"{source.name}: the analytic counter cannot count this model: {why}") from None
        return "torch"


def _analysis(source: ModelSource, request: ScaleRequest, spec: InputSpec, x: int):
    from .analytic import Spec, analyze

    new = spec.seq_len if request.mode == "decode" and "seq_len" in spec.given else 1
    shape = spec.input_shape
    if source.kind == "toy":
        shape = (*(shape or _toy_shape(source))[:1], x, *(shape or _toy_shape(source))[2:])
    seq_len = new if request.mode == "decode" else x
    return analyze(dict(source.config), Spec(
        dict(source.config), request.base, spec.batch, seq_len, spec.decoder_seq_len or seq_len, spec.image_size,
        shape, past=x if request.mode == "decode" else 0,
    ))


def _point_spec(source: ModelSource, request: ScaleRequest, spec: InputSpec, x: int) -> InputSpec:
    """The InputSpec of one length (the context, when decoding)."""
    if request.mode == "decode":
        new = spec.seq_len if "seq_len" in spec.given else 1
        return replace(spec, seq_len=new, context=x, given=spec.given | {"seq_len", "context"})
    if source.kind == "toy":
        shape = list(spec.input_shape or _toy_shape(source))
        shape[1] = x
        return replace(spec, input_shape=tuple(shape), given=spec.given | {"input_shape"})
    return replace(spec, seq_len=x, given=spec.given | {"seq_len"})


def _measurer(source, request, spec, counter, on_progress) -> tuple[Callable[[int], dict], dict, str]:
    """(x -> split values, model facts, the source label) for the chosen counter."""
    info = {"class_name": source.config.get("model_type", source.name) if source.config else source.name, "notes": ()}
    if counter == "analytic":
        def measure(x: int) -> dict:
            analysis = _analysis(source, request, spec, x)
            info["class_name"], info["notes"] = analysis.class_name, tuple(analysis.notes)
            return _values(split(_Leaf(leaf.path, leaf.category, leaf.macs) for leaf in analysis.leaves), info)

        return measure, info, "analytic"
    return _torch_measurer(source, request, spec, info, on_progress), info, "torch-fit"


@dataclass(frozen=True)
class _Leaf:
    path: str
    op: str
    macs: int


def _values(counted: Split, info: dict) -> dict:
    info["stack"] = counted.stack
    return {"total": counted.total, **counted.flat()}


def _torch_measurer(source, request, spec, info, on_progress) -> Callable[[int], dict]:
    """Counts by the torch counter, each batch of lengths in one meta build
    (in three of 1 to 3 layers, extrapolated in depth, for a deep model whose
    layers are alike: see :func:`pipeline.shallow_is_faster`)."""
    from .counters import CountJob, select_counters
    from .depth import DEPTHS, extrapolate, layer_field, with_layers
    from .pipeline import shallow_is_faster
    from .sessions import SessionRequest, meta_sweep

    (counter,) = select_counters(["torch"])
    job = CountJob(source, spec, request.mode, request.base, request.attn, request.trust_remote_code)
    shallow = shallow_is_faster(job, (counter,))
    cache: dict[int, dict] = {}

    def sweep(job_at, specs):
        return meta_sweep(SessionRequest(job_at, (counter,), timeout_s=request.timeout_s), specs, on_progress)

    def count(xs: list[int]) -> None:
        specs = tuple(_point_spec(source, request, spec, x) for x in xs)
        if shallow:
            field, layers = layer_field(dict(source.config))
            by_depth = {d: sweep(replace(job, source=replace(source, config=with_layers(dict(source.config), field, d))), specs)
                        for d in DEPTHS}
            structure = by_depth[DEPTHS[0]][0]
            results = [extrapolate({d: by_depth[d][1][i] for d in DEPTHS}, layers) for i in range(len(xs))]
        else:
            structure, results = sweep(job, specs)
        info["class_name"], info["notes"] = structure.class_name, structure.notes
        for x, result in zip(xs, results):
            if not result.ok:
                raise BadInput(f"{source.name}: the torch counter failed at {VARIABLE[request.mode]} = {x}: {result.reason}")
            cache[x] = _values(split(result.records), info)

    def measure(x: int) -> dict:
        if x not in cache:
            count([x, *measure.pending])
            measure.pending.clear()
        return cache[x]

    measure.pending = []
    measure.prefetch = lambda xs: measure.pending.extend(x for x in xs if x not in cache)
    return measure


# ---------------------------------------------------------------------------
# the fit and the lengths
# ---------------------------------------------------------------------------


def _fit(measure, degree: int, lengths, *, exhaustive: bool) -> Fit:
    """Fit at the first degree + 1 lengths and check at the others (every
    other one when counting is cheap, else the last one and one between)."""
    xs = sorted(set(lengths))
    if len(xs) < degree + 2:
        xs = sorted(set(xs) | {xs[-1] * 2 ** k for k in range(1, degree + 3 - len(xs))})
    fit_at, rest = xs[: degree + 1], xs[degree + 1:]
    verify_at = rest if exhaustive or len(rest) <= 2 else [rest[len(rest) // 2], rest[-1]]
    if hasattr(measure, "prefetch"):
        measure.prefetch([*fit_at, *verify_at])
    return fit_exact(measure, variable="n", degree=degree, fit_at=fit_at, verify_at=verify_at)


def _probe_lengths(mode: str) -> tuple[int, ...]:
    start = 1 if mode == "decode" else DEFAULT_START
    return tuple(start * 2**k for k in range(5)) if mode != "decode" else (128, 256, 512, 1024, 2048)


def _default_lengths(fit: Fit, degree: int, mode: str, limit: int | None) -> list[int]:
    """Doubling from 128 until past twice the largest crossover (at least to
    8,192), within the model's position limit for a counter that runs it."""
    longest = 8192
    if fit.ok and degree == 2:
        for value in _crossover_values(fit):
            if value is not None:
                longest = max(longest, int(2 * value) + 1)
    longest = min(longest, LONGEST)
    xs = [DEFAULT_START]
    while xs[-1] < longest and len(xs) < MOST_POINTS:
        xs.append(xs[-1] * 2)
    if limit is not None:
        xs = [x for x in xs if x <= limit] or [limit]
    return xs


def _crossover_values(fit: Fit):
    forms = _forms(fit)
    if not forms:
        return []
    form = max(forms, key=lambda f: len(f.layers))
    a1, a2, f1 = form.attention.coefficient(1), form.attention.coefficient(2), form.ffn.coefficient(1)
    if not a2:
        return []
    return [Fraction(f1 - a1, a2) if f1 > a1 else None, Fraction(a1 + f1, a2)]


def _limit(source: ModelSource, counter: str, mode: str) -> int | None:
    """The longest input a counter that runs the model can feed it (a learned position table)."""
    if counter != "torch" or source.config is None:
        return None
    config = source.config.get("text_config") if isinstance(source.config.get("text_config"), dict) else source.config
    _, limit = _position_limit(config)
    return limit


def _forms(fit: Fit) -> tuple[LayerForm, ...]:
    """The distinct layers of the main stack, from the fitted per-layer parts."""
    if not fit.ok:
        return ()
    layers: dict[int, dict[str, Polynomial]] = {}
    for name, poly in fit.parts.items():
        if name.startswith("layer:"):
            _, index, part = name.split(":")
            layers.setdefault(int(index), {})[part] = poly
    grouped: dict[tuple, list[int]] = {}
    for index in sorted(layers):
        attention = layers[index].get(SELF_ATTENTION, Polynomial({}))
        ffn = layers[index].get(FFN, Polynomial({}))
        grouped.setdefault((tuple(sorted(attention.terms.items())), tuple(sorted(ffn.terms.items()))), []).append(index)
    return tuple(
        LayerForm(tuple(indices), Polynomial(dict(attention)), Polynomial(dict(ffn)))
        for (attention, ffn), indices in grouped.items()
    )


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------


def _result(source, request, spec, fit, lengths, info, source_label, causal, degree) -> ScaleResult:
    shape = _shape(source)
    forms = _forms(fit)
    half = request.causal_half
    points = []
    for x in lengths:
        values = fit.value(x)
        counted = x in fit.measured
        full = values["total"]
        passes = PRODUCT_PASSES[request.mode]
        halved = full - passes * _products(values, forms, x) // 2 if causal and request.mode != "decode" else None
        alternatives = {}
        if halved is not None:
            alternatives["causal-half" if not half else "full"] = halved if not half else full
        if shape.window and request.mode != "decode" and forms:
            alternatives["windowed"] = _windowed(values, forms, shape, x, half, passes)
        points.append(Point(
            x, halved if half else full, _parts(values, forms, x, half), _layer(values, forms, x, half), counted,
            alternatives,
        ))
    total = _total(fit, forms, half, PRODUCT_PASSES[request.mode])
    crossovers, explained = _crossovers(forms, shape, request, causal)
    notes = []  # the families' own notes describe one length (flops --explain); scale states its formulas itself
    limit = _position_limit(_text(source.config))[1] if source.config else None
    if source_label == "analytic" and limit and lengths[-1] > limit:
        notes.append(f"the model's position table stops at {limit:,}: longer lengths follow its closed form, "
                     "which the model itself cannot run")
    if not fit.ok:
        notes.append(f"no polynomial: {fit.reason}; every length was counted")
    if len(forms) > 1:
        sizes = ", ".join(f"{len(f.layers)}" for f in forms)
        notes.append(f"the layers of {info.get('stack')} differ ({sizes} of each kind): crossovers are those of the "
                     f"most common kind ({len(max(forms, key=lambda f: len(f.layers)).layers)} layers)")
    model = ModelInfo(source.name, source.kind, info["class_name"], source.location)
    return ScaleResult(
        model, request.mode, VARIABLE[request.mode], "causal-half" if half else "full", causal, source_label, fit,
        tuple(points), info.get("stack"), forms, total, shape, crossovers, explained, request.linear_d_mult, spec, tuple(notes),
    )


def _products(values: dict, forms, x: int) -> int:
    """The attention score and weighted-sum products at ``x``: the quadratic
    terms of every layer's self-attention (the n² part)."""
    return sum(f.attention.coefficient(2) * x * x * len(f.layers) for f in forms)


def _windowed(values: dict, forms, shape: Shape, x: int, halved: bool, passes: int) -> int:
    """The total with the windowed layers' products taking n·min(n, w) per head instead of n²."""
    total = values["total"]
    for form in forms:
        a2 = form.attention.coefficient(2)
        windowed = [i for i in form.layers if not shape.windowed_layers or i in shape.windowed_layers]
        total -= passes * a2 * len(windowed) * (x * x - x * min(x, shape.window))
    if halved:
        total -= passes * _products(values, forms, x) // 2
    return total


def _parts(values: dict, forms, x: int, half: bool) -> dict[str, int]:
    parts = {name.removeprefix("part:"): v for name, v in values.items() if name.startswith("part:")}
    if half and "attention" in parts:
        parts["attention"] -= _products(values, forms, x) // 2
    if half and "backward" in parts:  # the backward pass runs the products twice (both operands' gradients)
        parts["backward"] -= _products(values, forms, x)
    return parts


def _layer(values: dict, forms, x: int, half: bool) -> dict[str, int]:
    """The representative layer's self-attention and FFN at ``x``."""
    if not forms:
        return {}
    form = max(forms, key=lambda f: len(f.layers))
    index = form.layers[0]
    attention = values.get(f"layer:{index}:{SELF_ATTENTION}", 0)
    if half:
        attention -= form.attention.coefficient(2) * x * x // 2
    return {SELF_ATTENTION: attention, FFN: values.get(f"layer:{index}:{FFN}", 0)}


def _total(fit: Fit, forms, half: bool, passes: int) -> Polynomial | None:
    if not fit.ok:
        return None
    terms = dict(fit.parts["total"].terms)
    if half:
        products = sum(f.attention.coefficient(2) * len(f.layers) for f in forms)
        terms[2] = terms.get(2, 0) - passes * products // 2
    return Polynomial({k: c for k, c in terms.items() if c})


def _crossovers(forms, shape: Shape, request: ScaleRequest, causal: bool):
    """Per repeated layer, each threshold n* where two sides are equal (None: they never cross)."""
    names = ("attention_over_ffn", "quadratic_over_linear", "attention_over_ffn_causal", "quadratic_over_linear_causal",
             "linear_attention_same_d", "linear_attention_4d")
    crossovers: dict[str, Fraction | None] = dict.fromkeys(names)
    explained: dict[str, str] = {}
    if not forms:
        return crossovers, explained
    form = max(forms, key=lambda f: len(f.layers))
    if request.mode == "decode":
        a0, a1, f0 = form.attention.coefficient(0), form.attention.coefficient(1), form.ffn.coefficient(0)
        if a1 and f0 > a0:
            crossovers["attention_over_ffn"] = Fraction(f0 - a0, a1)
            explained["attention_over_ffn"] = f"C* = (FFN − projections) / products per cached token = ({f0:,} − {a0:,}) / {a1:,}"
        return crossovers, explained
    a1, a2, f1 = form.attention.coefficient(1), form.attention.coefficient(2), form.ffn.coefficient(1)
    if not a2:
        return crossovers, explained
    for suffix, quadratic in (("", a2), ("_causal", Fraction(a2, 2))):
        if suffix and not causal:
            continue
        label = " (causal: half the products)" if suffix else ""
        if f1 > a1:
            crossovers["attention_over_ffn" + suffix] = Fraction(f1 - a1) / quadratic
            explained["attention_over_ffn" + suffix] = f"n* = (FFN − projections) / products per n² = ({f1:,} − {a1:,}) / {_number(quadratic)}{label}"
        else:
            explained["attention_over_ffn" + suffix] = f"larger at every length: its projections alone ({a1:,}·n) exceed the FFN ({f1:,}·n)"
        crossovers["quadratic_over_linear" + suffix] = Fraction(a1 + f1) / quadratic
        explained["quadratic_over_linear" + suffix] = f"n* = (projections + FFN) / products per n² = ({a1:,} + {f1:,}) / {_number(quadratic)}{label}"
    if shape.window:  # past the window the products grow as a2·n·w: a crossover beyond it never comes
        for name in ("attention_over_ffn", "quadratic_over_linear"):
            value = crossovers[name]
            inside = value is not None and value <= shape.window
            crossovers[name + "_windowed"] = value if inside else None
            explained[name + "_windowed"] = (
                f"the full-attention threshold, within the window of {shape.window:,}" if inside else
                f"never: past the window of {shape.window:,} the products grow as n·w, like the linear terms")
    if shape.head_dim:
        d, m = shape.head_dim, request.linear_d_mult
        crossovers["linear_attention_same_d"] = Fraction(d)
        crossovers["linear_attention_4d"] = Fraction(m * m * d)
        explained["linear_attention_same_d"] = f"2·n²·d = 2·n·d'² per head with d' = d = {d}: n* = d = {d}"
        explained["linear_attention_4d"] = f"2·n²·d = 2·n·d'² per head with d' = {m}·d = {m * d}: n* = {m * m}·d = {m * m * d}"
    return crossovers, explained


def _number(value) -> str:
    """An exact count with thousands separators; a fraction to one decimal."""
    value = Fraction(value)
    return f"{value.numerator:,}" if value.denominator == 1 else f"{float(value):,.1f}"


def _text(config: dict | None) -> dict:
    if not config:
        return {}
    text = config.get("text_config")
    return text if isinstance(text, dict) else config


def _shape(source: ModelSource) -> Shape:
    config = _text(source.config)
    hidden = next((config[k] for k in ("hidden_size", "d_model", "n_embd", "dim") if isinstance(config.get(k), int)), None)
    heads = next((config[k] for k in ("num_attention_heads", "n_head", "num_heads", "encoder_attention_heads")
                  if isinstance(config.get(k), int)), None)
    head_dim = config.get("head_dim") if isinstance(config.get("head_dim"), int) else (
        hidden // heads if hidden and heads else None)
    if source.kind == "toy" and heads and not hidden:
        head_dim = None
    window = config.get("sliding_window") if isinstance(config.get("sliding_window"), int) else None
    if config.get("use_sliding_window") is False:
        window = None
    types = config.get("layer_types")
    windowed = tuple(i for i, t in enumerate(types) if "sliding" in str(t)) if window and isinstance(types, list) else ()
    sizes = (config.get(k) for k in ("intermediate_size", "ffn_dim", "encoder_ffn_dim", "n_inner", "d_ff", "vocab_size"))
    return Shape(hidden, heads, head_dim, window, windowed, tuple(dict.fromkeys(s for s in sizes if isinstance(s, int) and s > 0)))


def _is_causal(source: ModelSource, counter: str) -> bool:
    """Decoder-only: a causal analytic family, a ``*ForCausalLM`` architecture,
    or (counting with torch anyway) a type transformers builds as a causal LM
    but not as a masked one."""
    from .analytic import is_causal

    if source.config is None or source.kind == "toy":
        return False
    model_type = source.config.get("model_type", "")
    if is_causal(model_type):
        return True
    architectures = source.config.get("architectures") or []
    if any(str(a).endswith("ForCausalLM") for a in architectures):
        return True
    if counter != "torch" or source.config.get("is_encoder_decoder"):
        return False
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


# ---------------------------------------------------------------------------
# per layer type: --compare
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerType:
    """One layer type's exact MACs in the length n and the width d."""

    name: str  # toy:attention, ...
    description: str
    complexity: str  # the complexity per layer, Vaswani et al. 2017, table 1
    width: int
    polynomial: object  # fitting.Bivariate in (n, d)
    points: tuple[tuple[int, int], ...]  # (n, MACs) at ``width``

    @property
    def degrees(self) -> tuple[int, int]:
        return self.polynomial.degree(0), self.polynomial.degree(1)


def compare_layer_types(names: list[str], *, width: int, lengths: tuple[int, ...] = ()) -> list[LayerType]:
    """The exact polynomial in (n, d) of each sequence toy, from its closed
    forms, with its value at each length at ``width``."""
    from ..models.toys import find_toy
    from .analytic import Spec, analyze
    from .fitting import fit_bivariate

    lengths = lengths or tuple(DEFAULT_START * 2**k for k in range(8))
    found = []
    for name in names:
        toy = find_toy(name)
        if toy is None or not toy.width:
            raise BadInput(f"--compare takes sequence toys whose width can change: {name!r} is not one "
                           "(toy:attention, toy:local-attention, toy:rnn, toy:lstm, toy:gru, toy:conv1d)")
        heads = toy.hyper.get("num_heads", 1)
        if width % heads:
            raise BadInput(f"--width {width}: toy:{toy.name} splits the width into {heads} heads; give a multiple of {heads}")

        def measure(n: int, d: int, toy=toy) -> int:
            sized = toy.at_width(d)
            return analyze(sized.config(), Spec(sized.config(), False, 1, n, n, None, (1, n, d))).macs

        ds = (width, 2 * width, 3 * width)
        poly = fit_bivariate(measure, variables=("n", "d"), degrees=(2, 2), xs=(16, 32, 48), ys=ds,
                             verify_at=((lengths[0], width), (lengths[-1], 4 * width)))
        if isinstance(poly, str):
            raise BadInput(f"toy:{toy.name}: {poly}")
        found.append(LayerType(f"toy:{toy.name}", toy.description, toy.complexity, width, poly,
                               tuple((n, measure(n, width)) for n in lengths)))
    return found
