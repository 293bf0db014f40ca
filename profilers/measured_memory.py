"""``memory --measure``: real training steps, their memory measured.

The model is built with random weights (never a checkpoint) in an isolated
child process under the time limit, and two steps of forward, backward and
optimizer step run (the first creates the optimizer's states; the second is
a step of a run in progress). The same two steps also run on fake tensors
(``fake=True``: nothing allocated, any size): the simulated peak, which
holds what a sum of parts cannot (backward temporaries, gradients that
appear while activations are freed). On the CPU, PyTorch's ``MemTracker``
(``torch.distributed._tools.mem_tracker``, a private API wrapped here alone)
follows every storage and sorts it into parameters, buffers, gradients,
activations, temporaries and optimizer states; its peak is the largest
total it saw. It rounds each storage up to 512 bytes, as CUDA's caching
allocator does. On CUDA, ``torch.cuda.max_memory_allocated`` gives the peak
(not split by category).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BadInput

MEMTRACKER_CATEGORIES = {"Parameter": "weights", "Buffer": "buffers", "Gradient": "gradients", "Activation": "activations",
                         "Temp": "temporaries", "Optstate": "optimizer", "Other": "inputs"}


@dataclass(frozen=True)
class Measured:
    peak: int
    by_category: dict = field(default_factory=dict)  # at the peak
    device: str = "cpu"
    tool: str = ""


def measure_step(job, *, dtype: str, optimizer: str, device: str, timeout_s: float, fake: bool = False) -> Measured:
    """Two training steps of ``job``'s model on ``device``, real or on fake
    CPU tensors (see the module docstring)."""
    from .isolation import run_isolated

    if device == "cuda" and not fake:
        import torch

        if not torch.cuda.is_available():
            raise BadInput("--device cuda: torch sees no CUDA device here")
    outcome = run_isolated(_step, (job, dtype, optimizer, "cpu" if fake else device, fake), timeout_s=timeout_s)
    if not outcome.ok:
        what = "simulated" if fake else "measured"
        raise BadInput(f"{job.source.name}: the {what} training step failed: {outcome.error}")
    return outcome.value


def _optimizer(name: str, params):
    import torch

    makers = {
        "adamw": lambda: torch.optim.AdamW(params),
        "adam": lambda: torch.optim.Adam(params),
        "sgd": lambda: torch.optim.SGD(params, lr=1e-3),
        "sgd-momentum": lambda: torch.optim.SGD(params, lr=1e-3, momentum=0.9),
        "adafactor": lambda: torch.optim.Adafactor(params),
        "none": lambda: None,
    }
    return makers[name]()


def _step(arg) -> Measured:
    import torch

    from .activations import DTYPES
    from .counters.harness import prepare

    job, dtype, optimizer_name, device, fake = arg
    if fake:
        from torch._subclasses.fake_tensor import FakeTensorMode
        from torch.utils._pytree import tree_map

        prepared = prepare(job, "meta")
        mode = FakeTensorMode(allow_non_fake_inputs=True)
        with mode:
            _fake_weights(prepared.model, DTYPES[dtype])
            prepared.args, prepared.kwargs = tree_map(
                lambda t: mode.from_tensor(t) if isinstance(t, torch.Tensor) else t, prepared.values)
            return _run(prepared, dtype, optimizer_name, device)
    prepared = prepare(job, "cpu")
    prepared.model.to(device=device, dtype=DTYPES[dtype])
    with torch.no_grad():
        for p in prepared.model.parameters():
            if p.is_floating_point():
                p.normal_(0.0, 0.02)  # random weights: never a checkpoint, never uninitialised memory
    return _run(prepared, dtype, optimizer_name, device)


def _fake_weights(model, dtype) -> None:
    """Replace the meta model's parameters and buffers by fake CPU tensors
    (under the fake mode), tied ones by one tensor, as on a real build."""
    import torch

    made: dict[int, torch.Tensor] = {}

    def fake(tensor, parameter: bool):
        if id(tensor) not in made:
            empty = torch.empty(tensor.shape, dtype=dtype if tensor.is_floating_point() else tensor.dtype, device="cpu")
            made[id(tensor)] = torch.nn.Parameter(empty, tensor.requires_grad) if parameter else empty
        return made[id(tensor)]

    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None:
                module._parameters[name] = fake(p, True)
        for name, b in list(module._buffers.items()):
            if b is not None:
                module._buffers[name] = fake(b, False)


def _run(prepared, dtype: str, optimizer_name: str, device: str) -> Measured:
    import torch

    from .activations import DTYPES, with_labels
    from .counters.harness import training_loss

    model = prepared.model.train()

    def move(t):
        if not isinstance(t, torch.Tensor):
            return t
        return t.to(device=device, dtype=DTYPES[dtype] if t.is_floating_point() else t.dtype)

    args = tuple(move(t) for t in prepared.args)
    kwargs = with_labels(model, {k: move(v) for k, v in prepared.kwargs.items()})
    optimizer = _optimizer(optimizer_name, [p for p in model.parameters() if p.requires_grad])

    def steps(between=lambda: None) -> None:
        for _ in range(2):
            output = model(*args, **kwargs)
            (output.loss if "labels" in kwargs else training_loss(output)).backward()
            if optimizer is not None:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            else:
                model.zero_grad(set_to_none=True)
            between()

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        steps()
        return Measured(torch.cuda.max_memory_allocated(), {}, "cuda", "torch.cuda.max_memory_allocated")
    from torch.distributed._tools.mem_tracker import MemTracker

    tracker = MemTracker()
    inputs = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)]
    tracker.track_external(model, *(o for o in (optimizer,) if o is not None), *inputs)
    with tracker:
        steps(tracker.reset_mod_stats)  # its per-module statistics hold one iteration; the peak holds both
    (snapshot,) = tracker.get_tracker_snapshot("peak").values()
    by_category = {MEMTRACKER_CATEGORIES.get(k, k): v for k, v in snapshot.items() if k != "Total" and v}
    return Measured(snapshot["Total"], by_category, "cpu", "torch.distributed._tools.mem_tracker.MemTracker")
