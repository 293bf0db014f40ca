"""Benchmarks across processes, with torch's own machinery: its launcher
(``torch.distributed.run``, i.e. torchrun) starts the processes and
DistributedDataParallel keeps their gradients in step.

- ``modelprof bench MODEL --mode train --nproc N`` counts the step's FLOPs,
  then runs ``python -m torch.distributed.run --nproc-per-node N ... -m
  modelprof.cli bench MODEL ...`` (with ``--nnodes``, ``--node-rank``,
  ``--master-addr``, ``--master-port`` passed through) inside an isolated
  child under the time limit. Rank 0 hands every rank's timings back on its
  standard output, marked; the launcher prints the report.
- ``torchrun --nproc-per-node N -m modelprof.cli bench MODEL --mode train``
  works as well: every rank sees torchrun's environment, and rank 0 prints.

Each rank builds the model with random weights (DDP broadcasts rank 0's),
times ``warmup`` + ``repeats`` training steps of its own batch, and measures
the gradient all-reduce with a DDP communication hook: from the moment a
bucket is handed to the collective until its future completes, summed over
a step's buckets. Nothing outlives a run: the launcher's child leads a
process group that is killed with it (on success, failure, Ctrl-C, SIGTERM,
or the launcher's own death), and every rank asks the kernel, as it starts, to
kill it when its parent, torchrun, dies (:func:`isolation.die_with_parent`);
torchrun itself ends the other ranks when one fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict

from .bench import BenchRequest, BenchResult, Measured, Plan, assemble, plan_bench
from .errors import BadInput

MARK = "modelprof-bench-ranks "  # rank 0's report line, for a launcher
REPORT_ENV = "MODELPROF_BENCH_REPORT"
LAUNCHER_FLAGS = ("nnodes", "node_rank", "master_addr", "master_port")


def in_torchrun() -> bool:
    """Whether this process is a rank torchrun started."""
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"))


# ---------------------------------------------------------------------------
# the launcher
# ---------------------------------------------------------------------------


def launch(request: BenchRequest, nproc: int, launcher: dict, on_progress=None) -> BenchResult | None:
    """Count the step, run it on ``nproc`` processes per node under torchrun,
    and assemble rank 0's report (None on a node other than rank 0's)."""
    from .isolation import run_isolated

    plan = plan_bench(request, on_progress)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc)]
    for name in LAUNCHER_FLAGS:
        if launcher.get(name) is not None:
            command += [f"--{name.replace('_', '-')}", str(launcher[name])]
    if launcher.get("nnodes") is None:
        command += ["--standalone"]  # one machine: a free port, no rendezvous server to name
    command += ["-m", "modelprof.cli", *rank_arguments(request)]
    if on_progress:
        on_progress(f"torchrun, {nproc} processes", "running", 0.0)
    outcome = run_isolated(_torchrun, command, timeout_s=request.timeout_s,
                           on_tick=(lambda s: on_progress(f"torchrun, {nproc} processes", "running", s)) if on_progress else None)
    if not outcome.ok:
        raise BadInput(f"{request.name}: the distributed run failed: {outcome.error}")
    code, out, err = outcome.value
    if code != 0:
        raise BadInput(f"{request.name}: the distributed run failed: {_failure(err, code)}")
    report = next((line[len(MARK):] for line in out.splitlines() if line.startswith(MARK)), None)
    if report is None:
        return None  # rank 0 ran on another node
    ranks = tuple(Measured(**{k: tuple(v) if isinstance(v, list) and k != "inputs" else v for k, v in r.items()})
                  for r in json.loads(report))
    return assemble(plan, ranks)


def rank_arguments(request: BenchRequest) -> list[str]:
    """``bench`` arguments that make a rank measure what ``request`` asks."""
    spec = request.spec
    args = ["bench", request.name, "--mode", request.mode, "--dtype", request.dtype, "--warmup", str(request.warmup),
            "--repeats", str(request.repeats), "--timeout", str(request.timeout_s)]
    for flag, field_name in (("--batch", "batch"), ("--seq-len", "seq_len"), ("--image-size", "image_size")):
        if field_name in spec.given:
            args += [flag, str(getattr(spec, field_name))]
    if spec.input_shape is not None:
        args += ["--input-shape", ",".join(map(str, spec.input_shape))]
    for named in spec.inputs:
        args += ["--input", f"{named.name}={'x'.join(map(str, named.shape))}:{named.dtype}"]
    for flag, value in (("--device", request.device), ("--attn", request.attn)):
        if value:
            args += [flag, value]
    if request.peak_tflops:
        args += ["--peak-tflops", str(request.peak_tflops)]
    args += ["--base"] * request.base + ["--trust-remote-code"] * request.trust_remote_code
    return args


def _torchrun(command: list[str]) -> tuple[int, str, str]:
    """Run torchrun (in the isolated child, whose process group it joins)
    and hand back its exit code and output."""
    import subprocess

    env = {**os.environ, REPORT_ENV: "1"}
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    return done.returncode, done.stdout, done.stderr


def _failure(stderr: str, code: int) -> str:
    """One line for a failed run: the first rank's own error, else torchrun's last words."""
    for line in stderr.splitlines():
        if line.startswith("modelprof: error: rank "):
            return line.removeprefix("modelprof: error: ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f"torchrun exited with code {code}" + (f": {lines[-1]}" if lines else "")


# ---------------------------------------------------------------------------
# one rank
# ---------------------------------------------------------------------------


def run_rank(request: BenchRequest) -> BenchResult | None:
    """Time this rank's training steps; rank 0 gathers every rank's and
    reports (to a launcher, or as the result to print); other ranks return None."""
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    try:
        plan = _rank_plan(request) if rank == 0 and REPORT_ENV not in os.environ else None
        measured = _timed_rank(request)
        ranks = [None] * dist.get_world_size()
        dist.all_gather_object(ranks, measured)
        dist.barrier()  # no rank tears its connections down while another still uses them
    except Exception as error:  # one line, which the launcher passes on
        from .errors import one_line

        print(f"modelprof: error: rank {rank}: {one_line(error)}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if rank != 0:
        return None
    if REPORT_ENV in os.environ:
        print(MARK + json.dumps([asdict(m) for m in ranks]), flush=True)
        return None
    return assemble(plan, tuple(ranks))


def _rank_plan(request: BenchRequest) -> Plan:
    """Rank 0 under a plain torchrun counts the step itself (before the
    process group exists, so nothing forked holds it)."""
    return plan_bench(request)


def _timed_rank(request: BenchRequest) -> Measured:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from ..models.resolver import resolve
    from .bench import _device, _job, build_for_timing, device_name, make_step, time_steps

    device = _device(request.device)
    backend = "nccl" if device == "cuda" else "gloo"
    local_rank = int(os.environ["LOCAL_RANK"])
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    source = resolve(request.name)
    job = _job(source, request.spec, request)
    model, args, kwargs, inputs = build_for_timing(job, request, f"cuda:{local_rank}" if device == "cuda" else "cpu")
    ddp = DistributedDataParallel(model)
    buckets: list[float] = []
    ddp.register_comm_hook(buckets, _timed_allreduce)
    step = make_step(ddp, args, kwargs, request, request.spec)
    per_step: list[float] = []

    def timed_step():
        buckets.clear()
        step()
        per_step.append(sum(buckets))

    times = time_steps(timed_step, request.warmup, request.repeats, device)
    return Measured(tuple(times), device, device_name(device), torch.get_num_threads(), inputs,
                    allreduce_seconds=tuple(per_step[-request.repeats:]), rank=dist.get_rank())


def _timed_allreduce(spent: list, bucket):
    """DDP's all-reduce of one gradient bucket (averaged over ranks), timed
    until its future completes; the seconds go to ``spent``."""
    import torch.distributed as dist

    started = time.perf_counter()
    tensor = bucket.buffer().div_(dist.get_world_size())
    future = dist.all_reduce(tensor, async_op=True).get_future()

    def done(fut):
        spent.append(time.perf_counter() - started)
        return fut.value()[0]

    return future.then(done)
