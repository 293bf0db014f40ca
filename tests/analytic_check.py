"""The exactness check every analytic family is tested with.

A config is built on the meta device (eager attention) and counted by
FlopCounterMode; the analytic counter must give the same parameter total
(``sum(p.numel())``) and the same MACs in every module and category.
"""

from __future__ import annotations

from collections import Counter

from modelprof.models.build import build_model
from modelprof.models.inputs import InputSpec
from modelprof.models.resolver import ModelSource
from modelprof.profilers.counters import CountJob, get_counter


def job_for(config: dict, *, base: bool, batch: int = 1, seq_len: int = 16, decoder_seq_len: int | None = None,
            image_size: int | None = None) -> CountJob:
    source = ModelSource(name="test-config", kind="local", location="<test>", config=config)
    spec = InputSpec(batch=batch, seq_len=seq_len, decoder_seq_len=decoder_seq_len, image_size=image_size)
    return CountJob(source, spec, base=base, attn="eager")


def macs_by_module(result) -> Counter:
    found: Counter = Counter()
    for record in result.records:
        if record.macs:
            found[(record.path, record.op)] += record.macs
    return found


def assert_exact(config: dict, *, base: bool, real_tensors: bool = False, **inputs) -> object:
    """Analytic == built model (params) == FlopCounterMode (MACs per module).

    ``real_tensors`` counts a real CPU forward instead of the fake-meta one
    (mixture-of-experts routing needs values); keep such configs tiny.
    """
    job = job_for(config, base=base, **inputs)
    analytic = get_counter("analytic").count(job)
    assert analytic.ok, analytic.reason
    built = build_model(job.source, device="meta", base=base, attn="eager")
    assert analytic.params == sum(p.numel() for p in built.module.parameters()), "params"
    if real_tensors:
        measured = _real_count(job)
    else:
        measured = macs_by_module(get_counter("torch").count(job))
    assert macs_by_module(analytic) == measured
    return analytic


def _real_count(job: CountJob) -> Counter:
    import torch

    from modelprof.profilers.counters.harness import prepare

    torch.manual_seed(0)
    prepared = prepare(job, "cpu")
    with torch.no_grad():  # real values, so that routing sees distinct scores
        for parameter in prepared.model.parameters():
            parameter.normal_(std=0.02)
    return macs_by_module(get_counter("torch").measure(prepared, job))
