"""``modelprof memory``: what a model needs to train and to serve, in bytes.

Training: weights + gradients + optimizer states (:mod:`model_states`, per
GPU under ZeRO) + activations; inference: weights + the key/value cache
(:mod:`kv_cache`) + the working set of one forward. The peak is always the
sum of the parts, never the largest of them.

Activations are measured (:mod:`activations`) on fake tensors: the bytes
autograd saves in one training-mode forward, or the highest live total of
an inference forward. At a fixed model they are exact polynomials in the
sequence length n (degree 2 with full attention) and the batch B (degree
1): measured at three lengths and two batches, solved exactly and verified
at further points (:func:`fitting.fit_bivariate`), so any size, and the
search for the largest batch or length that fits a device, costs nothing
more. Their n² part is the attention scores and probabilities (and the
masks of that size): the row that makes long sequences expensive. A failed
check measures every requested point instead and says why.

An inference working set is the largest of the live totals after each
operator; each of those is a polynomial, so the peak is their maximum. Deep
models the analytic counter knows run on builds of 1, 2 and 3 layers,
extrapolated in the layer count (:mod:`depth`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..models.inputs import InputSpec, applied_spec
from ..models.modalities.text import _position_limit
from ..models.resolver import ModelSource, resolve
from .errors import BadInput
from .fitting import Bivariate, fit_bivariate
from .kv_cache import KVCache, kv_cache
from .model_states import DTYPE_BYTES, Params, States, check_settings, model_states, per_gpu
from .records import ModelInfo

TRAIN, INFER = "train", "infer"
# batch 1 gets its own polynomial: a tensor one sample keeps as a view, larger batches may copy
# (transformers' shifted labels are contiguous for one row only)
FAMILIES = {"single": ((1,), 0), "batched": ((2, 3), 1)}  # fitted batches, degree in B
VERIFY_BATCH = 4
FIT_LENGTH = 64  # lengths 64, 128, 192 are fitted (fewer where the position table is shorter)
LONGEST = 1 << 24
MOST_BATCH = 1 << 24
KORTHIKANTI = ("Korthikanti et al. 2022, \"Reducing Activation Recomputation in Large Transformer Models\", "
               "eq. 1: s·b·h·(34 + 5·a·s/h) bytes per layer (16-bit activations, GPT layers with dropout)")


@dataclass(frozen=True)
class MemoryRequest:
    name: str
    spec: InputSpec = InputSpec()
    lengths: tuple[int, ...] = ()  # one column per length; () = the spec's length
    mode: str = TRAIN
    dtype: str = "fp32"
    precision: str = "pure"
    optimizer: str = "adamw"
    attn: str | None = None
    checkpointing: str = "none"
    context: int | None = None  # inference: tokens in the key/value cache (default: the length)
    gpus: int = 1
    zero: int = 0
    fit_bytes: int | None = None  # --fit: device memory
    fit_device: str | None = None  # its name, when given by name
    base: bool = False
    trust_remote_code: bool = False
    timeout_s: float = 300.0
    measure: bool = False  # also run two training steps for real, and simulated on fake tensors
    device: str = "cpu"  # where --measure runs


@dataclass(frozen=True)
class Column:
    """The footprint at one input size, in bytes (None: not part of this mode)."""

    seq_len: int | None
    batch: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    attention_scores: int | None  # the n² part of ``activations``; None when the input has no length
    kv_cache: int | None
    by_module: dict  # path -> (bytes, n² part or None), exclusive (summed into ancestors by the renderer)
    measured: bool  # measured at this size (else from the verified polynomial)

    @property
    def peak(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + (self.kv_cache or 0)


@dataclass(frozen=True)
class Fitted:
    """``--fit``: the largest batch at each column's length and the largest
    length at the requested batch whose peak fits ``device_bytes``."""

    device_bytes: int
    device: str | None
    max_batch: dict  # length -> largest batch (0: not even one)
    max_seq_len: int | None  # None: not a sequence model
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemoryResult:
    model: ModelInfo
    request: MemoryRequest
    params: Params
    report: object  # the ParamReport: the module tree activations are summed over
    states: States  # per GPU
    columns: tuple[Column, ...]
    kv: KVCache | None
    kv_note: str
    source: str  # "fit" (verified polynomial) or "measured" (every point)
    polynomial: BatchPolynomial | None  # activation bytes in (n, B) (train), when one holds
    fit_at: tuple
    verified_at: tuple
    attention: str | None  # the attention implementation the model was measured with
    inputs: dict  # tensor name -> shape at the first column (None where that size was not run)
    fitted: Fitted | None = None
    notes: tuple[str, ...] = field(default=())
    language_loss: bool = False  # a training step on the model's own loss (labels), not on its output's sum
    simulated: object = None  # measured_memory.Measured of the fake-tensor run (--measure)
    measured: object = None  # and of the real one


def profile_memory(request: MemoryRequest, on_progress=None) -> MemoryResult:
    """The footprint of ``request`` (see the module docstring)."""
    train = request.mode == TRAIN
    if request.mode not in (TRAIN, INFER):
        raise BadInput(f"unknown mode {request.mode!r} ({TRAIN}, {INFER})")
    if request.measure and (not train or request.precision != "pure" or request.gpus > 1 or len(request.lengths) > 1):
        raise BadInput("--measure runs training steps in one process at pure precision, at one length: "
                       "drop --mode infer, --precision mixed, --gpus or the list of lengths")
    check_settings(request.dtype, request.precision, request.optimizer, request.gpus, request.zero)
    if request.checkpointing not in ("none", "full"):
        raise BadInput("--checkpointing is none or full")
    if not train and (request.checkpointing != "none" or request.zero):
        raise BadInput("--checkpointing and --zero apply to --mode train")
    if train and request.context is not None:
        raise BadInput("--context applies to --mode infer (the key/value cache)")
    from .pipeline import check_build_options

    source = resolve(request.name)
    check_build_options(source, base=request.base, attn=request.attn)
    spec = applied_spec(source, request.spec)
    lengths = request.lengths or (spec.seq_len,)
    meter = _Meter(source, request, spec, on_progress)
    activations = _activations(meter, lengths, spec.batch, train)
    report = meter.report()
    params = Params(report.total, report.trainable, next(iter(meter.cache.values())).get("factored", 0))
    states = per_gpu(model_states(params, dtype=request.dtype, precision=request.precision, optimizer=request.optimizer,
                                  train=train), gpus=request.gpus, zero=request.zero)
    kv, kv_note = _kv(source, request) if not train else (None, "")
    sequence = activations.takes_length
    columns = tuple(_column(activations, states, kv, request, n if sequence else None, spec.batch) for n in lengths)
    notes = list(activations.notes) + list(meter.notes)
    limit = _limit(source)
    if sequence and limit and any(n > limit for n in lengths):
        notes.append(f"the model's position table stops at {limit:,}: longer lengths follow the verified polynomial, "
                     f"which the model itself cannot run")
    if train and request.checkpointing == "full":
        notes.append(f"full activation checkpointing of {meter.layers} layer(s): what lies outside them and every "
                     f"layer's inputs are kept through the forward, plus one layer's activations while it is recomputed")
    fitted = _fit_device(activations, states, kv, request, lengths, spec.batch, limit) if request.fit_bytes else None
    korthikanti = _korthikanti(source, request, lengths, spec.batch) if train and request.checkpointing == "none" else None
    if korthikanti:
        notes.append(korthikanti)
    first = (columns[0].seq_len or 0, spec.batch)
    inputs = meter.shapes.get(first) or dict.fromkeys(next(iter(meter.shapes.values()), {}))  # names, shapes unmeasured
    simulated = measured = None
    if request.measure:
        simulated, measured = _measure(meter.job, request, columns[0].peak)
    info = ModelInfo(source.name, source.kind, meter.class_name, source.location, meter.build_notes)
    return MemoryResult(
        info, request, params, report, states, columns, kv, kv_note, activations.source,
        activations.polynomials.get(activations.key) if activations.polynomials else None,
        activations.fit_at, activations.verified_at, meter.attention, inputs, fitted, tuple(notes),
        meter.language_loss, simulated, measured,
    )


def _measure(job, request: MemoryRequest, predicted: int):
    """The two training steps on fake tensors, then for real when they fit
    in the memory this machine has (on the CPU)."""
    from .measured_memory import measure_step
    from .memory import BASE_OVERHEAD, available_bytes

    settings = dict(dtype=request.dtype, optimizer=request.optimizer, timeout_s=request.timeout_s)
    simulated = measure_step(job, device="cpu", fake=True, **settings)
    free = available_bytes()
    if request.device == "cpu" and free is not None and max(simulated.peak, predicted) + BASE_OVERHEAD > free:
        raise BadInput(f"{job.source.name}: --measure needs about {max(simulated.peak, predicted) + BASE_OVERHEAD:,} "
                       f"bytes, and this machine has {free:,} available")
    return simulated, measure_step(job, device=request.device, **settings)


# ---------------------------------------------------------------------------
# measuring: one meta build (or three shallow ones), many input sizes
# ---------------------------------------------------------------------------


class _Meter:
    """Measures activation values at (length, batch) points, each batch of
    points in one meta session (three, of 1 to 3 layers, for a deep model the
    analytic counter knows), and remembers them."""

    def __init__(self, source: ModelSource, request: MemoryRequest, spec: InputSpec, on_progress):
        from .activations import ActivationMeter
        from .counters import CountJob
        from .pipeline import shallow_is_faster

        self.source, self.request, self.spec, self.on_progress = source, request, spec, on_progress
        self.job = CountJob(source, spec, "train" if request.mode == TRAIN else "forward", request.base, request.attn,
                            request.trust_remote_code)
        self.instrument = ActivationMeter(dtype=request.dtype)
        self.shallow = shallow_is_faster(self.job, ())
        self.cache: dict[tuple, dict] = {}
        self.notes: list[str] = []
        self.structure = None
        self.layers = 0
        self.attention: str | None = None
        self.language_loss = False
        self.shapes: dict[tuple, dict] = {}  # (length, batch) -> input name -> shape, where measured
        self.class_name, self.build_notes = source.name, ()

    def values(self, points) -> dict[tuple, dict]:
        """Named values at every (length, batch) of ``points``."""
        wanted = [p for p in dict.fromkeys(points) if p not in self.cache]
        if wanted:
            self._measure(wanted)
        return {p: self.cache[p] for p in points}

    def _measure(self, points) -> None:
        specs = tuple(self._spec(n, b) for n, b in points)
        if self.shallow:
            found = self._shallow(specs)
            if isinstance(found, str):
                self.notes.append(f"measured on the whole model: builds of 1 to 3 layers do not extrapolate ({found})")
                self.shallow = False
            else:
                self.cache.update(zip(points, found))
                return
        structure, results = self._sweep(self.job, specs)
        self._learn(structure, results[0])
        for point, result in zip(points, results):
            self.cache[point] = _flat(self._ok(result, point))
            self.shapes[point] = result.inputs

    def _shallow(self, specs) -> list[dict] | str:
        from .depth import DEPTHS, extrapolate_values, layer_field, with_layers

        field_name, layers = layer_field(dict(self.source.config))
        by_depth = {}
        for d in DEPTHS:
            source = replace(self.source, config=with_layers(dict(self.source.config), field_name, d))
            structure, results = self._sweep(replace(self.job, source=source), specs)
            by_depth[d] = [_flat(self._ok(r, (s.seq_len, s.batch))) for r, s in zip(results, specs)]
            if d == DEPTHS[-1]:
                self._learn(structure, results[0], layers)
                self.shapes.update({(s.seq_len if "seq_len" in s.given else 0, s.batch): r.inputs for r, s in zip(results, specs)})
        found = []
        for i in range(len(specs)):
            at = {d: by_depth[d][i] for d in DEPTHS}
            timeline = {k: v for k, v in at[DEPTHS[-1]].items() if k.startswith("t:")}
            if timeline and max(_timeline(at[2])) != max(_timeline(at[3])):
                return "the inference working set grows with the layer count"
            values = extrapolate_values({d: {k: v for k, v in at[d].items() if not k.startswith("t:")} for d in DEPTHS}, layers)
            if isinstance(values, str):
                return values
            found.append({**values, **timeline})
        note = (f"measured on builds with 1, 2 and 3 layers and extrapolated to {layers} (exactly linear "
                f"in the layer count; the 3-layer build verifies the line)")
        if note not in self.notes:
            self.notes.append(note)
        return found

    def _sweep(self, job, specs):
        from .sessions import SessionRequest, meta_sweep

        request = SessionRequest(job, (self.instrument,), timeout_s=self.request.timeout_s)
        return meta_sweep(request, specs, self.on_progress)

    def _learn(self, structure, first, layers: int | None = None) -> None:
        """What the build tells: class, notes, parameters, the inputs it was fed."""
        self.structure = structure
        self.class_name, self.build_notes = structure.class_name, structure.notes
        self.layers = first.layers if layers is None else layers
        self.attention = first.attention
        self.language_loss = first.language_loss

    def _ok(self, result, point):
        if not result.ok:
            where = f"at n = {point[0]:,}, batch {point[1]}" if point[0] else f"at batch {point[1]}"  # n 0: no length
            raise BadInput(f"{self.source.name}: measuring activations failed {where}: {result.reason}")
        return result

    def _spec(self, n: int, batch: int) -> InputSpec:
        """The input at length ``n`` (0: the model takes no length) and ``batch``."""
        if self.source.kind == "toy":
            from ..models.toys import find_toy

            shape = list(self.spec.input_shape or find_toy(self.source.location).input_shape)
            shape[0] = batch
            if n:
                shape[1] = n
            return replace(self.spec, input_shape=tuple(shape), given=self.spec.given | {"input_shape"})
        given = self.spec.given | {"batch"} | ({"seq_len"} if n else set())
        return replace(self.spec, seq_len=n or self.spec.seq_len, batch=batch, given=given)

    def report(self):
        """The parameter tree: from the closed forms (shallow builds) or the build."""
        if self.shallow:
            from .pipeline import analytic_structure

            return analytic_structure(self.source, base=self.request.base, spec=self.spec, dtype=None).report
        return self.structure.report


def _flat(result) -> dict:
    """A measurement as named values: totals, bytes by module, the inference timeline."""
    values = {"total": result.total, "checkpointed": result.checkpointed, "factored": result.factored}
    values.update({f"module:{path}": b for path, b in result.saved.items()})
    values.update({f"t:{i}": b for i, b in enumerate(result.timeline)})
    return values


def _timeline(values: dict) -> list[int]:
    return [v for k, v in values.items() if k.startswith("t:")] or [0]


# ---------------------------------------------------------------------------
# the exact polynomials
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchPolynomial:
    """Exact in (n, B): one polynomial for a batch of one, one for larger batches."""

    single: Bivariate
    batched: Bivariate

    def at(self, batch: int) -> Bivariate:
        return self.single if batch == 1 else self.batched

    def __call__(self, n: int, batch: int) -> int:
        return self.at(batch)(n, batch)

    @property
    def same(self) -> bool:
        """Whether the batched polynomial also gives batch 1's values."""
        at_one: dict[int, int] = {}
        for (i, _), c in self.batched.terms.items():
            at_one[i] = at_one.get(i, 0) + c
        return {i: c for i, c in at_one.items() if c} == {i: c for (i, _), c in self.single.terms.items() if c}


@dataclass
class _Activations:
    """Activation values as verified polynomials in (n, B), or measured points."""

    meter: _Meter
    key: str  # the activation figure: "total", "checkpointed" or "peak"
    polynomials: dict | None  # name -> BatchPolynomial
    measured: dict
    source: str
    fit_at: tuple
    verified_at: tuple
    takes_length: bool
    notes: list

    def value(self, name: str, n: int | None, batch: int) -> int:
        """``name`` ("total", "checkpointed", "peak", "module:PATH") at length ``n`` (None: none) and ``batch``."""
        x = n or 0
        if self.polynomials is None:
            values = self.meter.values([(x, batch)])[(x, batch)]
            return max(_timeline(values)) if name == "peak" else values.get(name, 0)
        poly = self._peak_term(x, batch) if name == "peak" else self.polynomials.get(name)
        return poly(x, batch) if poly else 0

    def quadratic(self, name: str, n: int | None, batch: int) -> int | None:
        """The n² part of ``name`` at (n, B), from its polynomial (of the
        working set: of the live total at its peak)."""
        if not self.takes_length or self.polynomials is None or n is None:
            return None
        poly = self._peak_term(n, batch) if name == "peak" else self.polynomials.get(name)
        return sum(c * n**i * batch**j for (i, j), c in poly.at(batch).terms.items() if i == 2) if poly else 0

    def _peak_term(self, x: int, batch: int) -> BatchPolynomial:
        return max((p for k, p in self.polynomials.items() if k.startswith("t:")), key=lambda p: p(x, batch))

    def modules(self, n: int | None, batch: int) -> dict:
        """Path -> (bytes saved there, their n² part), exclusive."""
        x = n or 0
        names = self.polynomials if self.polynomials is not None else self.meter.values([(x, batch)])[(x, batch)]
        return {k.removeprefix("module:"): (self.value(k, n, batch), self.quadratic(k, n, batch))
                for k in names if k.startswith("module:")}


def _activations(meter: _Meter, lengths, batch: int, train: bool) -> _Activations:
    """Fit the activation values in (n, B) and verify them; else measure every
    point. A model without a length gets n = 0 (a polynomial in B alone); one
    whose input is fixed (a Python factory) is measured once."""
    from ..models.inputs import applicable_options

    key = ("checkpointed" if meter.request.checkpointing == "full" else "total") if train else "peak"
    options = applicable_options(meter.source)
    if "batch" not in options:
        values = meter.values([(0, batch)])
        return _Activations(meter, key, None, values, "measured", (), tuple(values), False, [])
    limit = _limit(meter.source)
    if "seq_len" in options:
        base = max(min(FIT_LENGTH, (limit or 4 * FIT_LENGTH) // 4), 1)
        xs, degree = (base, 2 * base, 3 * base), 2
        runnable = sorted({n for n in lengths if not limit or n <= limit} - set(xs))[-2:]
        checks = [(4 * base, 1), (4 * base, 2), (2 * base, VERIFY_BATCH)] + [(n, batch) for n in runnable]
    else:
        xs, degree, lengths = (0,), 0, [0]
        checks = [(0, VERIFY_BATCH), (0, batch)]
    fit_at = tuple((x, b) for ys, _ in FAMILIES.values() for b in ys for x in xs)
    checks = [p for p in dict.fromkeys(checks) if p not in fit_at]
    values = meter.values([*fit_at, *checks])
    takes_length = degree > 0 and len({_figure(values[(x, 1)], key) for x in xs}) > 1
    polynomials, reason = _solve(values, xs, degree, checks, key)
    if polynomials is not None:
        return _Activations(meter, key, polynomials, values, "fit", fit_at, tuple(checks), takes_length, [])
    unreachable = [n for n in lengths if limit and n > limit]
    if unreachable:
        raise BadInput(f"{meter.source.name}: lengths past the position table ({limit:,}) follow only from a "
                       f"verified polynomial, and none holds: {reason}")
    measured = meter.values([(n, batch) for n in lengths])
    note = f"measured at every requested size: no exact polynomial holds ({reason})"
    return _Activations(meter, key, None, measured, "measured", (), tuple(measured), takes_length, [note])


def _figure(values: dict, key: str) -> int:
    return max(_timeline(values)) if key == "peak" else values.get(key, 0)


def _solve(values: dict, xs, degree: int, checks, key: str) -> tuple[dict | None, str]:
    """One polynomial per named value (``degree`` in n; batch 1 apart from
    larger batches, linear in those), each verified at ``checks``."""
    solved = {}
    for family, (ys, batch_degree) in FAMILIES.items():
        single = family == "single"
        points = {p: v for p, v in values.items() if (p[1] == 1) == single}
        verify = [p for p in checks if (p[1] == 1) == single]
        if key == "peak" and len({sum(k.startswith("t:") for k in v) for v in points.values()}) != 1:
            return None, "the forward runs a different sequence of operators at different sizes"
        names = {k for v in points.values() for k in v if k.startswith("t:") == (key == "peak")}
        polynomials = {}
        for name in names:
            found = fit_bivariate(lambda n, b: points[(n, b)].get(name, 0), variables=("n", "B"),
                                  degrees=(degree, batch_degree), xs=xs, ys=ys, verify_at=verify)
            if isinstance(found, str):
                return None, f"{name.removeprefix('module:') or 'the model'}: {found}"
            polynomials[name] = found
        if key == "peak":
            for n, b in verify:
                expected, seen = max(p(n, b) for p in polynomials.values()), max(_timeline(points[(n, b)]))
                if expected != seen:
                    return None, f"n = {n}, B = {b}: the working set is {seen:,}, the fit predicts {expected:,}"
        solved[family] = polynomials
    zero = Bivariate(("n", "B"), {}, ())
    names = set(solved["single"]) | set(solved["batched"])
    return {k: BatchPolynomial(solved["single"].get(k, zero), solved["batched"].get(k, zero)) for k in names}, ""


# ---------------------------------------------------------------------------
# columns, the key/value cache, the device fit
# ---------------------------------------------------------------------------


def _column(activations: _Activations, states: States, kv: KVCache | None, request: MemoryRequest,
            n: int | None, batch: int) -> Column:
    key = activations.key
    context = request.context if request.context is not None else n
    cache = kv.bytes(context, batch) if kv is not None and context else (0 if request.mode == INFER else None)
    measured = activations.polynomials is None or (n or 0, batch) in activations.measured
    return Column(
        n, batch, states.weights, states.gradients, states.optimizer, activations.value(key, n, batch),
        activations.quadratic(key, n, batch), cache,
        activations.modules(n, batch) if request.mode == TRAIN and key == "total" else {}, measured,
    )


def _kv(source: ModelSource, request: MemoryRequest) -> tuple[KVCache | None, str]:
    if source.config is None:
        return None, "a Python factory or toy net has no config to size a key/value cache by"
    found = kv_cache(source.config, DTYPE_BYTES[request.dtype])
    return (found, "") if isinstance(found, KVCache) else (None, found)


def _limit(source: ModelSource) -> int | None:
    if source.config is None:
        return None
    config = source.config.get("text_config") if isinstance(source.config.get("text_config"), dict) else source.config
    return _position_limit(config)[1]


def _fit_device(activations: _Activations, states: States, kv: KVCache | None, request: MemoryRequest,
                lengths, batch: int, limit: int | None) -> Fitted:
    """The largest batch at each length and the largest length at ``batch``
    whose peak fits the device (searched on the verified polynomials)."""
    if activations.polynomials is None:
        raise BadInput("--fit searches the exact polynomials of the activations, and none holds here: "
                       + activations.notes[0])
    device = request.fit_bytes

    def peak(n: int | None, b: int) -> int:
        return _column(activations, states, kv, request, n, b).peak

    sequence = activations.takes_length
    max_batch = {n: _largest(lambda b: peak(n if sequence else None, b) <= device, MOST_BATCH) for n in lengths}
    notes = []
    max_len = None
    if sequence:
        max_len = _largest(lambda n: peak(n, batch) <= device, LONGEST)
        if limit and max_len > limit:
            notes.append(f"lengths past {limit:,} (the model's position table) fit the memory but the model cannot run them")
        if max_len == LONGEST:
            notes.append(f"the search stops at {LONGEST:,} tokens")
    if states.total > device:
        notes.append(f"the model states alone ({states.total:,} bytes) exceed the device")
    return Fitted(device, request.fit_device, max_batch, max_len, tuple(notes))


def _largest(fits, most: int) -> int:
    """The largest k in 1..most with ``fits(k)`` (``fits`` falls as k grows), 0 if none."""
    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= most and fits(high):
        low, high = high, high * 2
    high = min(high, most + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def _korthikanti(source: ModelSource, request: MemoryRequest, lengths, batch: int) -> str | None:
    """The published closed form beside the measurement, for GPT-style text models."""
    config = source.config or {}
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    h = text.get("hidden_size") or text.get("n_embd")
    a = text.get("num_attention_heads") or text.get("n_head")
    layers = text.get("num_hidden_layers") or text.get("n_layer")
    if not all(isinstance(v, int) and v > 0 for v in (h, a, layers)):
        return None
    figures = ", ".join(f"{layers * s * batch * (34 * h + 5 * a * s):,}" for s in lengths)  # s·b·h·(34 + 5as/h) per layer
    return f"for comparison, {KORTHIKANTI}: {layers} layers → {figures} bytes (a closed form, not measured)"
