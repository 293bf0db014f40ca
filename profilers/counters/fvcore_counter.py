"""``fvcore``: ``FlopCountAnalysis`` (JIT trace of a real CPU forward pass).

fvcore prints its total as "flops" but counts one per multiply-add for
matmul, linear, einsum and conv (so its native unit is the MAC), adds
elementwise work for norms and upsampling, and lists every operator it has no
handle for (``aten::scaled_dot_product_attention``, activations, ...) as
unsupported, per module; those become :class:`Uncounted` evidence.
"""

from __future__ import annotations

import time

from ..records import CounterResult, Uncounted
from . import Counter, CountJob, register


@register
class FvcoreCounter(Counter):
    name = "fvcore"
    native_unit = "mac"
    label = '"flops"'
    counts = "one per multiply-add of linear/matmul/einsum/conv, plus norm and upsample work; labels the total 'flops'"
    order = 30
    real_tensors = True
    package = "fvcore"

    def measure(self, prepared, job: CountJob) -> CounterResult:
        import torch
        from fvcore.nn import FlopCountAnalysis

        from .harness import CallModel, exclusive, pristine, strip_wrapper, to_records

        started = time.perf_counter()
        wrapper, inputs = CallModel.around(prepared)
        with pristine(wrapper), torch.no_grad():
            analysis = FlopCountAnalysis(wrapper, inputs)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            by_module = analysis.by_module_and_operator()
            total = analysis.total()
        inclusive = {strip_wrapper(path): dict(ops) for path, ops in by_module.items() if path != ""}
        records = to_records(exclusive(inclusive), prepared.modules)
        uncounted_inclusive = {
            strip_wrapper(path): dict(analysis.unsupported_ops(path)) for path in by_module if path != ""
        }
        uncounted = tuple(
            Uncounted(path, op, _category(op, prepared, path), calls)
            for path, ops in sorted(exclusive(uncounted_inclusive).items())
            for op, calls in sorted(ops.items())
        )
        called = {strip_wrapper(p) for p in by_module} - {strip_wrapper(p) for p in analysis.uncalled_modules()}
        idle = tuple(
            path for path, info in prepared.modules.items() if info.owns_params and path and path not in called
        )
        return self.ok(
            records=records,
            uncounted=uncounted,
            seconds=time.perf_counter() - started,
            printed=int(total),
            idle_modules=idle,
        )


def _category(op: str, prepared, path: str) -> str:
    from ..ops import category

    info = prepared.modules.get(path)
    return category(op, info.type if info else None, info.owns_params if info else False)
