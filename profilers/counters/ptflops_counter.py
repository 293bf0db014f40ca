"""``ptflops-pytorch`` and ``ptflops-aten``: ``get_model_complexity_info``
with each of its two backends, run exactly as a user would.

Both count MACs. The pytorch backend hooks leaf modules by type (Linear
includes one bias add per output feature, norms and activations count one op
per element) and, while running, patches ``torch.nn.functional`` activations
and pools and ``torch.matmul/mm/bmm/addmm/baddbmm/mul/add`` to count them too.
The aten backend is a dispatch mode with formulas for mm, addmm (bias add
included), bmm, convolution and a few more; every other aten op is a zero-op.

ptflops reports only a total. To place each count in a module, the adapter
wraps ptflops' own per-type and per-op handlers (through its
``custom_modules_hooks`` argument, and for the patched functions by swapping
the handler table entries for the duration of the call) with recorders that
pass the count through unchanged and note the module running at the time.
"""

from __future__ import annotations

import contextlib
import io
import re
import time

from ..records import CounterResult, Uncounted
from . import Counter, CountJob, register

_ZERO_OP = re.compile(r"Warning: (\S+) operation is treated as a zero-op")


class _PtflopsCounter(Counter):
    native_unit = "mac"
    label = "MACs"
    real_tensors = True
    package = "ptflops"
    backend: str

    def measure(self, prepared, job: CountJob) -> CounterResult:
        import torch
        from ptflops import get_model_complexity_info

        from .harness import CallModel, module_stack, pristine, to_records

        started = time.perf_counter()
        wrapper, _ = CallModel.around(prepared)
        batch = CallModel.keyword_batch(prepared)
        log: list[tuple[str, str, int]] = []  # (path, op, MACs)
        printed = io.StringIO()  # ptflops prints its own failures on stdout
        with pristine(wrapper), module_stack(wrapper, prefix_to_strip=True) as stack:
            hooks, ost, extra = self._recorders(wrapper, stack, log)
            with extra, torch.no_grad(), contextlib.redirect_stdout(printed):
                macs, params = get_model_complexity_info(
                    wrapper,
                    (1,),
                    input_constructor=lambda _shape: batch,
                    print_per_layer_stat=False,
                    as_strings=False,
                    verbose=True,
                    ost=ost,
                    backend=self.backend,
                    custom_modules_hooks=hooks,
                )
        if macs is None:
            raise RuntimeError(f"ptflops ({self.backend}) failed: {_failure(printed.getvalue())}")
        counts: dict[str, dict[str, int]] = {}
        for path, op, n in log:
            counts.setdefault(path, {}).setdefault(op, 0)
            counts[path][op] += n
        unattributed = int(macs) - sum(n for _, _, n in log)
        notes = ()
        if unattributed:
            counts.setdefault("", {})["unattributed"] = unattributed
            notes = (f"{unattributed:,} MACs could not be placed in a module",)
        return self.ok(
            records=to_records(counts, prepared.modules, by_module_type=False),
            uncounted=tuple(getattr(ost, "uncounted", ())),
            seconds=time.perf_counter() - started,
            printed=int(macs),
            params=int(params),
            notes=notes,
        )

    def _recorders(self, wrapper, stack: list[str], log: list):
        """(custom_modules_hooks, ost, context) that record each count."""
        raise NotImplementedError


@register
class PtflopsPytorchCounter(_PtflopsCounter):
    name = "ptflops-pytorch"
    order = 50
    backend = "pytorch"
    counts = "MACs from module-type hooks (Linear incl. one bias add per output) plus patched functional/tensor ops (activations, softmax, matmul, add, mul)"

    def _recorders(self, wrapper, stack, log):
        from ptflops import pytorch_ops

        from .harness import strip_wrapper

        # Module hooks run after the module's forward returned: name the module itself.
        paths = {id(module): strip_wrapper(path) for path, module in wrapper.named_modules()}

        def module_hook(original):
            def record(module, inputs, output):
                before = module.__flops__
                original(module, inputs, output)
                n = int(module.__flops__ - before)
                if n:
                    log.append((paths[id(module)], type(module).__name__, n))

            return record

        hooks = {kind: module_hook(hook) for kind, hook in pytorch_ops.MODULES_MAPPING.items()}
        return hooks, io.StringIO(), _recording_tables(stack, log, pytorch_ops.FUNCTIONAL_MAPPING, pytorch_ops.TENSOR_OPS_MAPPING)


@register
class PtflopsAtenCounter(_PtflopsCounter):
    name = "ptflops-aten"
    order = 60
    backend = "aten"
    counts = "MACs from aten-op formulas (mm, addmm incl. bias add, bmm, convolution); other ops are zero"

    def _recorders(self, wrapper, stack, log):
        from ptflops.aten_ops import ATEN_OPS_MAPPING

        def op_hook(packet, original):
            def record(inputs, outputs):
                n = original(inputs, outputs)
                if n:
                    log.append((stack[-1], str(packet), int(n)))
                return n

            return record

        hooks = {packet: op_hook(packet, handler) for packet, handler in ATEN_OPS_MAPPING.items()}
        return hooks, _ZeroOpLog(stack), contextlib.nullcontext()


def _failure(stdout: str) -> str:
    """The exception line ptflops printed ("<class 'X'>: message")."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "following exception" in line and i + 1 < len(lines):
            return lines[i + 1]
    return lines[-1] if lines else "no result"


class _ZeroOpLog(io.StringIO):
    """ptflops' verbose output stream: its "treated as a zero-op" warnings,
    placed in the module running when they are printed."""

    def __init__(self, stack: list[str]):
        super().__init__()
        self.stack = stack
        self.seen: dict[tuple[str, str], int] = {}

    def write(self, text: str) -> int:
        match = _ZERO_OP.search(text)
        if match:
            key = (self.stack[-1], match.group(1))
            self.seen[key] = self.seen.get(key, 0) + 1
        return super().write(text)

    @property
    def uncounted(self) -> tuple[Uncounted, ...]:
        from ..ops import category

        return tuple(
            Uncounted(path, op, category(op), calls)
            for (path, op), calls in sorted(self.seen.items())
            if category(op) != "other"
        )


@contextlib.contextmanager
def _recording_tables(stack: list[str], log: list, *tables: dict):
    """Swap each handler in ptflops' functional / tensor-op tables for one that
    also records (module, op, count); the tables are restored on exit."""
    saved = [(table, dict(table)) for table in tables]

    def wrap(op, handler):
        name = getattr(op, "__name__", str(op))

        def record(*args, **kwargs):
            n = handler(*args, **kwargs)
            if n:
                log.append((stack[-1], f"torch.{name}", int(n)))
            return n

        return record

    try:
        for table in tables:
            for op, handler in list(table.items()):
                table[op] = wrap(op, handler)
        yield
    finally:
        for table, original in saved:
            table.clear()
            table.update(original)
