"""``torch``: PyTorch's own ``FlopCounterMode``, run on meta tensors.

FlopCounterMode has a shape formula per aten op (mm, addmm, bmm, baddbmm,
convolution, scaled-dot-product attention, ...) and counts 2 FLOPs per
multiply-add; bias adds, norms and activations are not counted. On the meta
device no kernel runs, so any model size fits and fused CPU kernels (flash
SDPA, the LSTM kernel) decompose into ops it has formulas for. A training step
is forward plus the backward of :func:`harness.training_loss`, measured:
forward MACs by module, backward MACs as one ``backward`` record of the
whole model (their per-module placement by FlopCounterMode is not exact).
On meta models it runs under FakeTensorMode (see :func:`_fake_tensors`); given
a model with real weights it counts a real forward pass.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from ..records import CountRecord, CounterResult
from . import Counter, CountJob, register

NATIVE_PER_MAC = 2
ROUTING_NOTE = (
    "fake tensors have no values to choose by: top-k / arg-max choices (routers, selections) were made "
    "in rotation, so each token goes to k distinct experts and every expert gets an equal share"
)
CHOICES_NOTE = (
    "fake tensors have no values to choose by: arg-max / top-k choices were made in rotation (positions used "
    "equally); the count does not depend on which are chosen"
)


@register
class TorchCounter(Counter):
    name = "torch"
    native_unit = "flop"
    label = "FLOPs"
    counts = "2 FLOPs per multiply-add of matmul, conv and attention ops; bias, norms, activations not counted"
    order = 20
    measures_train = True
    measures_decode = True

    def measure(self, prepared, job: CountJob) -> CounterResult:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from .harness import exclusive, idle_modules, idle_note, module_stack, to_records, training_loss

        started = time.perf_counter()
        root = type(prepared.model).__name__
        # One FlopCounterMode context for the whole step: its module tracker
        # attributes backward ops to modules only when it saw their forward.
        on_meta = any(p.is_meta for p in prepared.model.parameters())
        fake = _fake_tensors() if on_meta else contextlib.nullcontext()
        args, kwargs = prepared.args, prepared.kwargs
        with module_stack(prepared.model) as stack, fake as fake_mode:
            known = contextlib.nullcontext()
            if fake_mode is not None:  # inputs too, so transformers sees traced tensors
                args, kwargs = _as_fake(fake_mode, args), _as_fake(fake_mode, kwargs)
                known = _known_inputs(fake_mode, (args, kwargs), prepared.values)
            with known:
                if job.mode == "decode":  # the cache is filled before counting starts
                    kwargs = _prefilled(prepared.model, kwargs, job.inputs.context)
                # (before FlopCounterMode, so that its module tracker's hooks see the outputs detached)
                untracked = _detached_outputs() if job.mode != "train" else contextlib.nullcontext()
                with untracked, FlopCounterMode(display=False, custom_mapping=cpu_attention_formulas()) as mode, \
                        _Census(stack, prepared.modules, prepared.model) as census:
                    if job.mode == "train":
                        output = prepared.model(*args, **kwargs)
                        forward, by_module = mode.get_total_flops(), _by_module(mode, root)
                        training_loss(output).backward()
                    else:
                        with _no_grad(prepared.model):
                            prepared.model(*args, **kwargs)
                        forward, by_module = mode.get_total_flops(), _by_module(mode, root)
        total = mode.get_total_flops()
        phases = {"forward": forward // NATIVE_PER_MAC, "backward": (total - forward) // NATIVE_PER_MAC}
        records = to_records(exclusive(by_module), prepared.modules, per_mac=NATIVE_PER_MAC)
        if total > forward:
            # FlopCounterMode places backward ops in modules by backward hooks, which residual
            # connections defeat (a parent can get less than its children): only the total is exact.
            ops = sorted({str(op) for op in mode.get_flop_counts()["Global"]})
            records += (CountRecord("", "backward", macs=(total - forward) // NATIVE_PER_MAC, source_ops=tuple(ops)),)
        idle = idle_modules(prepared.modules, records, stack.ran | census.used)
        notes = (idle_note(idle, prepared.modules),) if idle else ()
        choices = getattr(known, "choices", [])
        if choices:
            experts = any("expert" in path.lower() or info.bank for path, info in prepared.modules.items())
            notes += (ROUTING_NOTE if experts else CHOICES_NOTE,)
        routed = dense_banks(prepared.modules, records, choices) if job.mode == "forward" else None
        if routed is not None:
            notes += (routed.note(sum(r.macs for r in records)),)
        return self.ok(
            records=records,
            uncounted=census.uncounted(),
            seconds=time.perf_counter() - started,
            printed=total,
            phases=phases if job.mode == "train" else {},
            idle_modules=idle,
            routed_macs=routed.total(sum(r.macs for r in records)) if routed else None,
            notes=notes,
        )


@dataclass(frozen=True)
class DenseBanks:
    """Expert banks whose kernel multiplied every token with all E experts
    (router weights zero the unchosen ones: Llama 4's bmm over all experts),
    against the routed top-k computation the router chose."""

    banks: int  # how many such banks
    kind: str  # their module type
    experts: int  # E
    picks: int  # k
    tokens: int  # tokens each bank saw
    executed: int  # MACs the banks executed
    routed: int  # MACs of the same banks under top-k routing

    def total(self, executed_total: int) -> int:
        return executed_total - self.executed + self.routed

    def note(self, executed_total: int) -> str:
        return (
            f"{self.banks} expert bank(s) ({self.kind}) multiply each of {self.tokens:,} tokens with all "
            f"{self.experts} experts, as the kernel runs: {self.executed:,} MACs executed there; the routed top-"
            f"{self.picks} computation is {self.routed:,}. Whole model: {executed_total:,} MACs executed, "
            f"{self.total(executed_total):,} routed (routed_macs)"
        )


def dense_banks(modules, records, choices) -> DenseBanks | None:
    """The expert banks that ran dense, where the router's choices say how
    many experts each token should use; None when every bank ran routed."""
    routings = {(rows, picks) for rows, size, picks in choices}
    found = []
    for path, info in modules.items():
        if not info.bank:
            continue
        sizes = {(rows, picks) for rows, size, picks in choices if size == info.bank}
        executed = sum(r.macs for r in records if r.path == path)
        per_pair = info.bank_weights // info.bank
        if len(sizes) != 1 or not executed or executed % per_pair:
            continue
        (tokens, picks), = sizes
        if picks < info.bank and executed == tokens * info.bank * per_pair:
            found.append((info.type, tokens, picks, info.bank, executed, tokens * picks * per_pair))
    if not found or not routings:
        return None
    kinds = sorted({f[0] for f in found})
    return DenseBanks(len(found), ", ".join(kinds), found[0][3], found[0][2], found[0][1],
                      sum(f[4] for f in found), sum(f[5] for f in found))


def cpu_attention_formulas() -> dict:
    """FlopCounterMode formulas for the CPU's fused attention kernel, which it
    has none for (on real CPU tensors SDPA would count zero): the same
    products as its other SDPA kernels, forward and backward. Given per
    counting context, nothing global is changed."""
    import torch
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    return {aten._scaled_dot_product_flash_attention_for_cpu: forward,
            aten._scaled_dot_product_flash_attention_for_cpu_backward: backward}


def _prefilled(model, kwargs: dict, context: int) -> dict:
    """``kwargs`` with a key/value cache holding ``context`` tokens, made by
    running the model on them first (not counted): the step counted next is
    one of generation."""
    import torch

    from ..errors import BadInput

    ids = kwargs.get("input_ids")
    if ids is None or set(kwargs) - {"input_ids", "attention_mask"}:
        raise BadInput("--mode decode counts a language model's next tokens: the model must take token ids alone")
    prefix = torch.zeros((ids.shape[0], context), dtype=ids.dtype, device=ids.device)
    with _no_grad(model):
        output = model(input_ids=prefix, use_cache=True)
    cache = getattr(output, "past_key_values", None)
    if cache is None:
        raise BadInput(f"--mode decode: {type(model).__name__} returned no key/value cache")
    return {**kwargs, "past_key_values": cache, "use_cache": True}


@contextlib.contextmanager
def _no_grad(model):
    """No autograd for a forward count: ``no_grad`` and, for as long, no
    parameter that requires a gradient (a parameter view returned as an
    output would still require one, and FlopCounterMode's module tracker
    fails on it)."""
    import torch

    trained = [p for p in model.parameters() if p.requires_grad]
    for p in trained:
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            yield
    finally:
        for p in trained:
            p.requires_grad_(True)


@contextlib.contextmanager
def _detached_outputs():
    """Module outputs that require a gradient without having a gradient
    function, detached for a forward count. A view made under ``no_grad`` of
    a tensor that requires one (MRA returns ``zeros_like(query).requires_grad_()``
    reshaped when its CUDA kernel is missing) is such a tensor, and
    FlopCounterMode's module tracker, which hooks every output requiring a
    gradient, fails on it. A global forward hook registered before the
    counter's runs first and hands it the detached outputs (the same values,
    nothing of the model changed); it is removed on exit."""
    import torch
    from torch.nn.modules.module import register_module_forward_hook
    from torch.utils._pytree import tree_flatten, tree_map

    def dangling(value) -> bool:
        return isinstance(value, torch.Tensor) and value.requires_grad and value.grad_fn is None and value._is_view()

    def detach(_module, _args, output):
        if not any(dangling(leaf) for leaf in tree_flatten(output)[0]):
            return None
        return tree_map(lambda value: value.detach() if dangling(value) else value, output)

    handle = register_module_forward_hook(detach)
    try:
        yield
    finally:
        handle.remove()


def _by_module(mode, root: str) -> dict[str, dict[str, int]]:
    """FlopCounterMode's inclusive counts so far, by canonical module path."""
    totals: dict[str, dict[str, int]] = {}
    for name, ops in mode.get_flop_counts().items():
        path = _canonical(name, root)
        if path is not None:
            totals[path] = {str(op): n for op, n in ops.items()}
    return totals


def _census_mode():
    from torch.utils._python_dispatch import TorchDispatchMode

    return TorchDispatchMode


class _Census:
    """Notes the non-MAC operators that ran (activations, norms, softmax,
    elementwise, pooling), which FlopCounterMode has no formula for and
    leaves out, each in the module it ran in; and which modules' parameters
    any operator used (a parent may use a child's weight directly, as Mamba
    does with its ``conv1d`` and ``dt_proj``)."""

    def __init__(self, stack: list[str], modules, model):
        self.stack = stack
        self.modules = modules
        self.seen: dict[tuple[str, str], int] = {}
        self.owners: dict[int, set[str]] = {}  # a tied parameter has several owners, all of which it serves
        for path, p in model.named_parameters(remove_duplicate=False):
            self.owners.setdefault(id(p), set()).add(path.rpartition(".")[0])
        self.used: set[str] = set()  # paths of modules whose parameters an operator read
        self.mode = None

    def __enter__(self):
        census, owners, seen = self, self.owners, self.seen

        class Mode(_census_mode()):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                # (keyed by the operator itself: its name is made once, in uncounted(); a weight is an
                # argument, or in a list of them)
                key = (census.stack[-1], func._overloadpacket)
                seen[key] = seen.get(key, 0) + 1
                for value in args:
                    if type(value) in (list, tuple):
                        for item in value:
                            if id(item) in owners:
                                census.used.update(owners[id(item)])
                    elif id(value) in owners:
                        census.used.update(owners[id(value)])
                return func(*args, **(kwargs or {}))

        self.mode = Mode()
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)

    def uncounted(self):
        from ..ops import category, is_mac
        from ..records import Uncounted

        named: dict[tuple[str, str], int] = {}
        for (path, op), calls in self.seen.items():
            named[(path, str(op))] = named.get((path, str(op)), 0) + calls
        found = []
        for (path, op), calls in sorted(named.items()):
            info = self.modules.get(path)
            kind = category(op, info.type if info else None, info.owns_params if info else False)
            if kind != "other" and not is_mac(kind):
                found.append(Uncounted(path, op, kind, calls))
        return tuple(found)


def _fake_tensors():
    """FakeTensorMode over the meta model: still no memory, and transformers
    treats the tensors as traced, so its data-dependent mask checks (which
    would call ``.item()`` on meta tensors) take their tracing-safe path."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(allow_non_fake_inputs=True)


def _as_fake(fake_mode, inputs):
    """Tensors in ``inputs`` (a tuple or dict) as fake tensors of ``fake_mode``."""
    import torch
    from torch.utils._pytree import tree_map

    return tree_map(lambda t: fake_mode.from_tensor(t) if isinstance(t, torch.Tensor) else t, inputs)


def _known_inputs(fake_mode, fakes, values):
    """A :class:`KnownValues` mode that knows the inputs' real values."""
    import torch
    from torch.utils._pytree import tree_leaves

    from .known_values import KnownValues

    known = KnownValues(fake_mode)
    for fake, real in zip(tree_leaves(fakes), tree_leaves(values)):
        if isinstance(fake, torch.Tensor) and isinstance(real, torch.Tensor):
            known.know(fake, real)
    return known


def _canonical(name: str, root: str) -> str | None:
    """FlopCounterMode's module names ("Global", "BertModel.encoder.layer.0") -> paths.

    "Global" holds everything, including ops outside the root module (the
    loss of a training step), so it stands for the root; the root's own
    entry would count those ops twice and is dropped.
    """
    if name == "Global":
        return ""
    if name == root:
        return None
    return name.removeprefix(root + ".") if name.startswith(root + ".") else None
