"""``modelprof bench``: measured step time, achieved FLOP/s and MFU.

The model is built with random weights (never a checkpoint) in an isolated
child process under the time limit, with the threads this machine gives
PyTorch. After ``warmup`` steps, ``repeats`` steps are timed, the device
synchronised around each: a forward pass (no gradients), a training step
(forward, backward of the model's loss, AdamW step) or one generated token
against a key/value cache of ``context`` tokens (cut back to ``context``
after every step, so each timed step sees the same cache).

The FLOPs of a step are those ``modelprof flops`` reports for the same input
and mode (the reference counter: closed forms where they exist, else
PyTorch's FlopCounterMode); an optimizer step is not model FLOPs and is not
counted. Achieved FLOP/s = FLOPs / median step time; MFU = achieved / the
device's dense datasheet peak at the dtype (``configs/hardware.toml``,
matched on the exact name torch reports), never guessed: an unknown device
gets no MFU unless ``peak_tflops`` is given. On a CPU the achievable matmul
rate is also measured (a square GEMM at the same dtype and threads) and the
step's share of it reported, labelled as such.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

from ..models.inputs import InputSpec, applied_spec
from ..models.resolver import resolve
from .errors import BadInput
from .records import ModelInfo
from .units import binary_size

MODES = ("forward", "train", "decode")
DTYPES = ("fp32", "bf16", "fp16")
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
GEMM_SIDE = 2048  # the square matmul whose rate a CPU is held to
GEMM_SECONDS = 0.5  # timed for at least this long


@dataclass(frozen=True)
class BenchRequest:
    name: str
    spec: InputSpec = InputSpec()
    mode: str = "forward"
    dtype: str = "fp32"
    device: str | None = None  # None: cuda when available, else cpu
    warmup: int = 2
    repeats: int = 5
    peak_tflops: float | None = None  # the device's dense peak, when the table has no row for it
    by_module: bool = False
    depth: int = 1
    base: bool = False
    attn: str | None = None
    trust_remote_code: bool = False
    timeout_s: float = 600.0


@dataclass(frozen=True)
class Measured:
    """What the timed child process saw."""

    seconds: tuple[float, ...]  # each timed step
    device: str  # "cpu" or "cuda"
    device_name: str  # as torch reports it (the CPU's model name on a CPU)
    threads: int
    inputs: dict  # name -> shape
    gemm_flops_per_s: float | None = None  # a CPU's measured square-matmul rate
    module_seconds: dict = field(default_factory=dict)  # path -> forward seconds per step (inclusive), --by module
    module_step_seconds: float = 0.0  # mean step while the modules were timed (the hooks' pass), --by module
    allreduce_seconds: tuple[float, ...] = ()  # per timed step, distributed runs
    rank: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Peak:
    flops_per_s: float | None
    bandwidth_bytes_per_s: float | None
    source: str  # the datasheet row, "--peak-tflops", or why there is none


@dataclass(frozen=True)
class BenchResult:
    model: ModelInfo
    request: BenchRequest
    spec: InputSpec
    measured: Measured
    macs_per_step: int
    counted_by: str  # the counter the FLOPs come from
    tokens_per_step: int
    samples_per_step: int
    peak: Peak
    module_macs: dict = field(default_factory=dict)  # path -> MACs per step (inclusive), --by module
    decode_bytes: int | None = None  # bytes one decode step reads: weights + KV cache
    ranks: tuple[Measured, ...] = ()  # every rank of a distributed run (rank 0 first)
    notes: tuple[str, ...] = ()
    depths: dict = field(default_factory=dict)  # module path -> depth in the module tree (ModuleLists transparent)

    @property
    def takes_tokens(self) -> bool:
        """Whether the input is tokens (else samples: images, toy inputs)."""
        return self.tokens_per_step != self.samples_per_step or self.spec.seq_len == 1 and self.request.mode == "decode"

    @property
    def flops_per_step(self) -> int:
        return 2 * self.macs_per_step

    @property
    def achieved(self) -> float:
        """FLOP/s of one process: FLOPs of a step / its median time."""
        return self.flops_per_step / self.measured.median

    @property
    def mfu(self) -> float | None:
        return self.achieved / self.peak.flops_per_s if self.peak.flops_per_s else None

    @property
    def gemm_fraction(self) -> float | None:
        rate = self.measured.gemm_flops_per_s
        return self.achieved / rate if rate else None

    @property
    def mbu(self) -> float | None:
        """Decode: bytes read per step / median time / peak bandwidth."""
        if self.decode_bytes is None or not self.peak.bandwidth_bytes_per_s:
            return None
        return self.decode_bytes / self.measured.median / self.peak.bandwidth_bytes_per_s


@dataclass(frozen=True)
class Plan:
    """What a benchmark relates its times to, known before anything is timed."""

    request: BenchRequest
    source: object  # ModelSource
    spec: InputSpec
    device: str
    counted: object  # the FlopsResult of the same input and mode


def profile_bench(request: BenchRequest, on_progress=None) -> BenchResult:
    """Time ``request``'s steps and relate them to their FLOPs (see the module docstring)."""
    plan = plan_bench(request, on_progress)
    return assemble(plan, (measure(plan, on_progress),))


def plan_bench(request: BenchRequest, on_progress=None) -> Plan:
    """Check the request, count the FLOPs of its step, refuse what would not fit."""
    from .pipeline import check_build_options, decode_spec, profile_flops

    if request.mode not in MODES:
        raise BadInput(f"unknown mode {request.mode!r} ({', '.join(MODES)})")
    if request.dtype not in DTYPES:
        raise BadInput(f"unknown dtype {request.dtype!r} ({', '.join(DTYPES)})")
    if request.warmup < 0 or request.repeats < 1:
        raise BadInput("--warmup must be 0 or more and --repeats at least 1")
    if request.by_module and request.mode == "train":
        raise BadInput("--by module times the forward pass: use --mode forward or decode")
    device = _device(request.device)
    source = resolve(request.name)
    check_build_options(source, base=request.base, attn=request.attn)
    spec = applied_spec(source, request.spec)
    if request.mode == "decode" and source.kind in ("toy", "python"):
        raise BadInput(f"{source.name}: --mode decode times a language model's next token, and this model generates none")
    spec = decode_spec(spec, request.mode)
    counted = profile_flops(request.name, counters=["torch"] if request.mode == "train" else ["analytic", "torch"],
                            spec=spec, mode=request.mode, base=request.base, attn=request.attn,
                            trust_remote_code=request.trust_remote_code, depth=request.depth,
                            timeout_s=request.timeout_s, on_progress=on_progress)
    if counted.reference is None:
        raise BadInput(f"{source.name}: no counter could count a {request.mode} step, so nothing relates time to FLOPs")
    _check_memory(counted, source, request, device)
    return Plan(request, source, spec, device, counted)


def assemble(plan: Plan, ranks: tuple[Measured, ...]) -> BenchResult:
    """The result of ``plan`` from the measurements of every rank (rank 0 first)."""
    request, counted, spec = plan.request, plan.counted, plan.spec
    measured = ranks[0]
    notes = []
    if request.mode == "train":
        notes.append("FLOPs of a training step: forward and backward of the model (counted by torch); "
                     "the optimizer's update is timed but is not model FLOPs")
    if measured.threads == 1 and len(ranks) == 1 and not _single_threaded():
        notes.append("timed with 1 thread: this process had started threads of its own, and a child forked from it "
                     "may not use OpenMP's (run modelprof bench as a command to use every core)")
    if len(ranks) > 1:
        notes.append(f"{len(ranks)} processes, DistributedDataParallel over {'nccl' if measured.device == 'cuda' else 'gloo'}: "
                     f"each rank steps its own batch of {spec.batch}; all-reduce: the time from handing a gradient "
                     f"bucket to the collective until it completes, summed over a step's buckets (it overlaps the "
                     f"backward pass)")
    decode_bytes = _decode_bytes(counted, plan.source, spec, request) if request.mode == "decode" else None
    module_macs = _module_macs(counted) if request.by_module else {}
    depths = {row.path: row.depth for row in counted.params.rows(None)}
    tokens = counted.tokens if counted.tokens else spec.batch
    return BenchResult(counted.model, request, spec, measured, counted.reference.macs, counted.reference.counter, tokens,
                       spec.batch, _peak(measured, request), module_macs, decode_bytes, ranks, tuple(notes), depths)


def _device(requested: str | None) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda: torch sees no CUDA device here")
    return requested or ("cuda" if torch.cuda.is_available() else "cpu")


def _job(source, spec: InputSpec, request: BenchRequest):
    from .counters import CountJob

    return CountJob(source, spec, request.mode, request.base, request.attn, request.trust_remote_code)


def _check_memory(counted, source, request: BenchRequest, device: str) -> None:
    """Refuse, with the figure, a model whose real tensors would not fit."""
    from .memory import BASE_OVERHEAD, available_bytes, real_run_bytes

    params = counted.params.total
    need = real_run_bytes(params, source.config, counted.spec.batch, max(counted.tokens, 1), 0)
    if request.mode == "train":
        need += 3 * 4 * params  # gradients and AdamW's two moments
    if device == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
        need -= BASE_OVERHEAD  # the interpreter is not on the device
    else:
        free = available_bytes()
    if free is not None and need > free:
        raise BadInput(f"{counted.model.name}: a real {request.mode} step needs about {binary_size(need)} "
                       f"({params:,} parameters), and {device} has {binary_size(free)} available")


def _peak(measured: Measured, request: BenchRequest) -> Peak:
    """The dense peak and bandwidth of the device, from its datasheet row (or --peak-tflops)."""
    from .hardware import device_for_torch_name

    row = device_for_torch_name(measured.device_name) if measured.device == "cuda" else None
    bandwidth = row.bandwidth_bytes_per_s if row else None
    if request.peak_tflops:
        return Peak(request.peak_tflops * 1e12, bandwidth, f"--peak-tflops {request.peak_tflops:g}")
    if row is None:
        where = "this CPU" if measured.device == "cpu" else f"{measured.device_name!r}"
        return Peak(None, None, f"no datasheet peak for {where} in configs/hardware.toml: give --peak-tflops to get MFU")
    peak = row.peak(request.dtype)
    if peak is None:
        return Peak(None, bandwidth, f"{row.name}'s datasheet gives no {request.dtype} peak: give --peak-tflops")
    return Peak(peak, bandwidth, f"{row.name} datasheet: {peak / 1e12:g} TFLOP/s dense {request.dtype} ({row.source})")


def _decode_bytes(counted, source, spec: InputSpec, request: BenchRequest) -> int | None:
    """Weights plus the KV cache of ``context`` tokens: what one generated token reads."""
    from .kv_cache import KVCache, kv_cache

    weights = counted.params.total * DTYPE_BYTES[request.dtype]
    cache = kv_cache(source.config, DTYPE_BYTES[request.dtype]) if source.config else None
    if not isinstance(cache, KVCache):
        return None
    return weights + cache.bytes(spec.context, spec.batch)


def _module_macs(counted) -> dict[str, int]:
    """Path -> the reference counter's MACs of that module and its children."""
    inclusive: dict[str, int] = {}
    for record in counted.reference.records:
        parts = record.path.split(".") if record.path else []
        for depth in range(len(parts) + 1):
            path = ".".join(parts[:depth])
            inclusive[path] = inclusive.get(path, 0) + record.macs
    return inclusive


# ---------------------------------------------------------------------------
# the timed child
# ---------------------------------------------------------------------------


def measure(plan: Plan, on_progress=None) -> Measured:
    """Run the steps in an isolated child with this machine's threads."""
    import torch

    from .isolation import run_isolated

    request, device, job = plan.request, plan.device, _job(plan.source, plan.spec, plan.request)
    threads = torch.get_num_threads() if _single_threaded() else 1
    if on_progress:
        on_progress(f"{request.mode} steps", "running", 0.0)
    started = time.monotonic()
    outcome = run_isolated(_timed_steps, (job, request, device), timeout_s=request.timeout_s, threads=threads,
                           on_tick=(lambda s: on_progress(f"{request.mode} steps", "running", s)) if on_progress else None)
    if not outcome.ok:
        raise BadInput(f"{job.source.name}: the timed {request.mode} steps failed: {outcome.error}")
    if on_progress:
        on_progress(f"{request.mode} steps", "done", time.monotonic() - started)
    return outcome.value


def _single_threaded() -> bool:
    """Whether this process runs one thread (modelprof's own never starts
    another): only then may a forked child use OpenMP's threads, whose pool a
    parent that ran parallel kernels would leave the child deadlocked on."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _timed_steps(arg) -> Measured:
    import torch

    job, request, device = arg
    model, args, kwargs, inputs = build_for_timing(job, request, device)
    step = make_step(model, args, kwargs, request, job.inputs)
    times = time_steps(step, request.warmup, request.repeats, device)
    modules, hooked_step = time_modules(model, step, request.repeats, device) if request.by_module else ({}, 0.0)
    gemm = gemm_rate(request.dtype) if device == "cpu" else None
    return Measured(tuple(times), device, device_name(device), torch.get_num_threads(), inputs, gemm, modules, hooked_step)


def build_for_timing(job, request: BenchRequest, device: str):
    """The model with random weights on ``device`` at the dtype, and its
    inputs there: (model, args, kwargs, input shapes)."""
    import torch

    from ..models.build import build_model
    from .activations import DTYPES as TORCH_DTYPES
    from .counters.harness import prepare_built
    from .sessions import _model_plan
    from ..models.inputs import requested_inputs

    built = build_model(job.source, device=device, base=job.base, attn=job.attn, trust_remote_code=job.trust_remote_code)
    plan = requested_inputs(job.source, job.inputs) or _model_plan(built, job)
    prepared = prepare_built(built, job, plan, device)
    model, dtype = prepared.model, TORCH_DTYPES[request.dtype]
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.normal_(0.0, 0.02)  # random weights: never a checkpoint, never uninitialised memory
    model.to(dtype=dtype)

    def cast(t):
        return t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t

    args = tuple(cast(t) for t in prepared.args)
    kwargs = {k: cast(v) for k, v in prepared.kwargs.items()}
    shapes = {name: list(t.shape) for name, t in [*((f"input {i}", a) for i, a in enumerate(args)), *kwargs.items()]
              if isinstance(t, torch.Tensor)}
    return model, args, kwargs, shapes


def make_step(model, args, kwargs, request: BenchRequest, spec: InputSpec):
    """A callable running one step of ``request.mode``."""
    import torch

    from .activations import with_labels
    from .counters.harness import training_loss

    if request.mode == "train":
        from torch.nn.parallel import DistributedDataParallel

        model.train()
        kwargs = with_labels(model.module if isinstance(model, DistributedDataParallel) else model, kwargs)
        optimizer = torch.optim.AdamW(p for p in model.parameters() if p.requires_grad)

        def train_step():
            output = model(*args, **kwargs)
            (output.loss if "labels" in kwargs else training_loss(output)).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return train_step
    model.eval()
    if request.mode == "decode":
        return _decode_step(model, kwargs, spec)

    def forward_step():
        with torch.no_grad():
            model(*args, **kwargs)

    return forward_step


def _decode_step(model, kwargs: dict, spec: InputSpec):
    """One generated token after ``spec.context`` cached ones; the cache is
    cut back to the context after each step."""
    import torch

    ids = kwargs.get("input_ids")
    if ids is None or set(kwargs) - {"input_ids", "attention_mask"}:
        raise BadInput("--mode decode times a language model's next token: the model must take token ids alone")
    with torch.no_grad():
        cache = model(input_ids=torch.zeros((ids.shape[0], spec.context), dtype=ids.dtype, device=ids.device),
                      use_cache=True).past_key_values
    if cache is None or not hasattr(cache, "crop"):
        raise BadInput(f"--mode decode: {type(model).__name__} returned no key/value cache it can cut back")

    def decode_step():
        with torch.no_grad():
            model(input_ids=ids, past_key_values=cache, use_cache=True)
        cache.crop(-ids.shape[1])  # the new tokens out again

    return decode_step


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def time_steps(step, warmup: int, repeats: int, device: str) -> list[float]:
    """Seconds of each of ``repeats`` steps after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return times


def time_modules(model, step, repeats: int, device: str) -> tuple[dict[str, float], float]:
    """Forward seconds per step of every module (inclusive), from hooks that
    synchronise the device around each module (removed afterwards), and the
    mean step of that same pass: what the modules' times are shares of,
    whatever else the machine did between this pass and the timed one."""
    spent: dict[str, float] = {}
    started: dict[str, list[float]] = {}
    handles = []
    for path, module in model.named_modules():
        def enter(_m, _a, path=path):
            synchronize(device)
            started.setdefault(path, []).append(time.perf_counter())

        def leave(_m, _a, _o, path=path):
            synchronize(device)
            spent[path] = spent.get(path, 0.0) + time.perf_counter() - started[path].pop()

        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave, always_call=True)]
    began = time.perf_counter()
    try:
        for _ in range(repeats):
            step()
        synchronize(device)
    finally:
        for handle in handles:
            handle.remove()
    return {path: seconds / repeats for path, seconds in spent.items()}, (time.perf_counter() - began) / repeats


def gemm_rate(dtype: str) -> float:
    """FLOP/s of a square matmul of side :data:`GEMM_SIDE` at ``dtype`` on
    this CPU with the threads torch has: 2·n³ per product."""
    import torch

    from .activations import DTYPES as TORCH_DTYPES

    a = torch.randn(GEMM_SIDE, GEMM_SIDE).to(TORCH_DTYPES[dtype])
    a @ a  # warm up
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < GEMM_SECONDS or runs < 2:
        a @ a
        runs += 1
    return 2 * GEMM_SIDE**3 * runs / (time.perf_counter() - started)


def local_device_name(timeout_s: float = 60.0) -> str:
    """The name of the device ``bench`` times on here by default (cuda when
    available, else the CPU), as :func:`device_name` reports it. CUDA is asked
    in a child process: the parent must not initialise it before forking."""
    import torch

    if not torch.cuda.is_available():
        return device_name("cpu")
    from .isolation import run_isolated

    outcome = run_isolated(device_name, "cuda", timeout_s=timeout_s)
    if not outcome.ok:
        raise BadInput(f"cannot read the CUDA device's name: {outcome.error}")
    return outcome.value


def device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "CPU"
