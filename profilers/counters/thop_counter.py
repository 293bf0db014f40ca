"""``thop``: ``thop.profile`` (forward hooks on leaf modules, real CPU tensors).

thop has one rule per module type (Linear, Conv, BatchNorm/LayerNorm, RNN
cells, pooling, a few activations) and counts MACs; anything computed outside
a registered module (``torch.matmul`` in an attention block, functional
activations) is invisible to it, and only modules with a rule contribute
parameters. thop registers ``total_ops``/``total_params`` buffers on every
module while it runs; here it only ever touches a model built for it.
"""

from __future__ import annotations

import time

from ..records import CounterResult, Uncounted
from . import Counter, CountJob, register


@register
class ThopCounter(Counter):
    name = "thop"
    native_unit = "mac"
    label = "MACs"
    counts = "MACs from per-module-type rules (Linear, Conv, RNN, norms, pools); functional ops are invisible to it"
    order = 40
    real_tensors = True
    package = "thop"
    blind_spots = {
        "attention": "module hooks never see functional matmuls (torch.matmul / scaled_dot_product_attention)",
        "linear": "module hooks never see functional linear ops",
    }

    def measure(self, prepared, job: CountJob) -> CounterResult:
        import thop
        from thop.profile import register_hooks

        from ..ops import module_category
        from .harness import CallModel, pristine, strip_wrapper, to_records

        started = time.perf_counter()
        wrapper, inputs = CallModel.around(prepared)
        with pristine(wrapper):
            total_ops, total_params, layers = thop.profile(wrapper, inputs=inputs, verbose=False, ret_layer_info=True)
        ops: dict[str, dict[str, int]] = {}
        params: dict[str, int] = {}
        for path, (n_ops, n_params) in _walk(layers):
            canonical = strip_wrapper(path)
            params[canonical] = int(n_params)
            if n_ops:
                ops[canonical] = {prepared.modules[canonical].type: int(n_ops)}
        records = to_records(ops, prepared.modules, by_module_type=True)
        ruled = {t.__name__ for t in register_hooks}
        uncounted = tuple(
            Uncounted(path, f"{info.type} (no rule)", module_category(info.type))
            for path, info in prepared.modules.items()
            if path and info.owns_params and info.type not in ruled
        )
        return self.ok(
            records=records,
            uncounted=uncounted,
            seconds=time.perf_counter() - started,
            printed=int(total_ops),
            params=int(total_params),
            module_params=params,
        )


def _walk(layers: dict, prefix: str = ""):
    """thop's nested ``{name: (ops, params, children)}`` -> (path, (ops, params))
    for the modules it attributes counts to (those without children listed)."""
    for name, (n_ops, n_params, children) in layers.items():
        path = f"{prefix}.{name}" if prefix else name
        if children:
            yield from _walk(children, path)
        else:
            yield path, (n_ops, n_params)
