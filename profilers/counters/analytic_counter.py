"""``analytic``: parameters and forward MACs in closed form from the config.

Pure Python (no torch): see :mod:`modelprof.profilers.analytic`. It is the
reference column wherever it supports the model, and the only counter that
routes mixture-of-experts tokens (top-k of the experts, by assumption).
"""

from __future__ import annotations

import time

from ..records import CountRecord, CounterResult
from . import Counter, CountJob, register


@register
class AnalyticCounter(Counter):
    name = "analytic"
    native_unit = "mac"
    label = "MACs"
    counts = "closed-form MACs of linear, attention (eager), conv and recurrent ops from the config; exact parameters"
    order = 10
    needs_torch = False
    measures_decode = True

    def count(self, job: CountJob) -> CounterResult:
        from ..analytic import Unsupported, analyze

        started = time.perf_counter()
        if job.source.config is None:
            return self.skipped("a Python factory has no config to read")
        if job.inputs.inputs:
            return self.skipped("counts what --batch, --seq-len and --image-size describe, not explicit --input tensors")
        try:
            analysis = analyze(job.source.config, analytic_spec(job))
        except Unsupported as why:
            return self.skipped(str(why))
        records = tuple(
            CountRecord(leaf.path, leaf.category, macs=leaf.macs, source_ops=(leaf.type,))
            for leaf in analysis.leaves
            if leaf.macs
        )
        groups = tuple(
            {"name": g.name, "path": g.path, "formula": g.formula, "filled": g.filled, "macs": g.macs, "params": g.params, "count": g.count}
            for g in analysis.groups
        )
        return self.ok(
            records=records,
            seconds=time.perf_counter() - started,
            printed=analysis.macs,
            params=analysis.params,
            groups=groups,
            active_params=analysis.active_params,
            notes=tuple(analysis.notes),
        )


def analytic_spec(job: CountJob):
    """The analytic Spec of a count job."""
    from ..analytic import Spec

    inputs = job.inputs
    return Spec(
        config=dict(job.source.config),
        base=job.base,
        batch=inputs.batch,
        seq_len=inputs.seq_len,
        decoder_seq_len=inputs.decoder_seq_len or inputs.seq_len,
        image_size=inputs.image_size,
        input_shape=inputs.input_shape,
        past=(inputs.context or 0) if job.mode == "decode" else 0,
    )
