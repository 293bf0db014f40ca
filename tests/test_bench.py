"""modelprof bench: timed steps on this CPU, their FLOPs the same as
`flops` reports, MFU only against a stated peak, and training across
processes with torchrun and DDP over gloo, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .test_isolation import alive, as_in_a_terminal, assert_gone, console_script, descendants

FACTORIES = '''
import os, time
import torch
import torch.nn as nn

def refuses_on_rank_one():
    if os.environ.get("RANK") == "1":
        raise RuntimeError("rank one refuses")
    return nn.Linear(8, 8), torch.zeros(1, 8)

def sleeps_in_its_ranks():
    if os.environ.get("RANK"):
        time.sleep(600)
    return nn.Linear(8, 8), torch.zeros(1, 8)
'''


def bench_json(cli, *args) -> dict:
    result = cli("bench", *args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def flops_macs(cli, *args) -> int:
    payload = cli("flops", *args, "-f", "json").json()
    return payload["reference"]["macs"]


def test_a_toy_step_is_timed_and_its_flops_are_those_flops_reports(cli):
    payload = bench_json(cli, "toy:tanh-net", "--repeats", "5")
    # Linear(1024, 1024) + Linear(1024, 2048), no biases, one sample: 3,145,728 MACs = 6,291,456 FLOPs
    assert payload["flops_per_step"] == 2 * flops_macs(cli, "toy:tanh-net", "--counters", "analytic") == 6_291_456
    seconds = payload["latency_s"]
    assert len(seconds["samples"]) == 5 and seconds["min"] <= seconds["median"] <= seconds["max"]
    assert payload["achieved_flops_per_s"] == pytest.approx(6_291_456 / seconds["median"])
    assert payload["device"]["threads"] >= 1 and payload["device"]["type"] == "cpu"
    # a CPU has no datasheet row: no MFU, and the reason says how to get one
    assert payload["mfu"] is None and "--peak-tflops" in payload["peak_source"]
    assert payload["matmul_flops_per_s"] > 0
    assert payload["matmul_fraction"] == pytest.approx(payload["achieved_flops_per_s"] / payload["matmul_flops_per_s"])
    stated = bench_json(cli, "toy:tanh-net", "--peak-tflops", "2")
    assert stated["mfu"] == pytest.approx(stated["achieved_flops_per_s"] / 2e12)


@pytest.mark.parametrize("mode, counted_by", [("forward", "analytic"), ("train", "torch"), ("decode", "analytic")])
def test_gpt2_steps_count_what_flops_counts(cli, mode, counted_by):
    options = ["--seq-len", "32"] if mode != "decode" else ["--context", "64"]
    payload = bench_json(cli, "gpt2", "--mode", mode, *options, "--warmup", "0", "--repeats", "1")
    counters = "torch" if mode == "train" else "analytic"
    assert payload["flops_per_step"] == 2 * flops_macs(cli, "gpt2", "--mode", mode, *options, "--counters", counters)
    assert payload["flops_source"] == counted_by
    assert payload["achieved_flops_per_s"] == pytest.approx(payload["flops_per_step"] / payload["latency_s"]["median"])
    if mode == "decode":
        # one token after 64: reads the weights (124,439,808 x 4 bytes) and a cache of 64 tokens x 73,728 bytes
        assert payload["bytes_per_step"] == 124_439_808 * 4 + 64 * 73_728
        assert payload["mbu"] is None  # no datasheet bandwidth for a CPU


def test_gpt2_module_times_add_up_to_the_step(cli):
    payload = bench_json(cli, "gpt2", "--seq-len", "64", "--by", "module", "--repeats", "3", "--depth", "1")
    modules = {row["path"]: row for row in payload["modules"]}
    top = modules["transformer"]["seconds"] + modules["lm_head"]["seconds"]
    # of the step timed in the same pass (the hooks' own), whatever else the machine did meanwhile
    assert top == pytest.approx(payload["modules_step_s"], rel=0.10)
    assert modules["transformer"]["share"] == pytest.approx(modules["transformer"]["seconds"] / payload["modules_step_s"])
    # lm_head: 64 tokens x 768 x 50,257 MACs
    assert modules["lm_head"]["macs"] == 64 * 768 * 50_257 and modules["lm_head"]["flops"] == 2 * 64 * 768 * 50_257


def test_a_model_too_big_for_this_machine_is_refused_with_the_figure(cli):
    result = cli("bench", "meta-llama/Llama-3.1-405B")
    assert result.code == 2 and "needs about" in result.err and "available" in result.err


@pytest.mark.parametrize("args, message", [
    (["toy:mlp", "--mode", "train", "--by", "module"], "--by module times the forward pass"),
    (["toy:mlp", "--context", "8"], "--context applies to --mode decode"),
    (["toy:mlp", "--master-port", "29555"], "apply with --nproc"),
    (["toy:mlp", "--nproc", "2"], "across processes modelprof times training steps"),
    (["toy:mlp", "--mode", "decode"], "this model generates none"),
    (["gpt2", "--mode", "decode", "--context", "1024"], "need 1,025 positions, and the model's n_positions is 1,024"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli("bench", *args)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1


# --- across processes ---------------------------------------------------------------


@pytest.mark.parametrize("model", ["toy:mlp", "gpt2"])
def test_two_ranks_over_gloo(cli, model):
    args = ["--seq-len", "32", "--warmup", "1", "--repeats", "2"] if model == "gpt2" else []
    payload = bench_json(cli, model, "--mode", "train", "--nproc", "2", *args)
    ranks = payload["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1] and payload["device"]["world_size"] == 2
    assert payload["aggregate"]["tokens_per_s"] == pytest.approx(sum(r["tokens_per_s"] for r in ranks))
    assert payload["aggregate"]["achieved_flops_per_s"] == pytest.approx(sum(r["achieved_flops_per_s"] for r in ranks))
    assert all(r["allreduce_s"] > 0 and min(r["allreduce_samples"]) > 0 for r in ranks)
    assert payload["flops_per_step"] == 2 * flops_macs(cli, model, "--mode", "train", *args[:2], "--counters", "torch")


def test_torchrun_itself_starts_the_ranks(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "modelprof", "bench", "toy:mlp", "--mode", "train", "-f", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    payload = json.loads(done.stdout)  # rank 0 alone prints
    assert [r["rank"] for r in payload["ranks"]] == [0, 1]


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "ranks.py"
    path.write_text(FACTORIES)
    return path


def test_a_rank_that_raises_is_one_line_and_leaves_nothing(factories):
    process = subprocess.Popen([console_script(), "bench", f"{factories}:refuses_on_rank_one", "--mode", "train",
                                "--nproc", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    while process.poll() is None:
        seen |= descendants(process.pid)
        time.sleep(0.1)
    err = process.stderr.read()
    assert process.returncode == 2
    assert err.strip().splitlines() == [err.strip()] and "rank 1" in err and "rank one refuses" in err
    assert not [pid for pid in seen if alive(pid)]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_end_every_rank(factories, sig, code):
    process = subprocess.Popen(
        [console_script(), "bench", f"{factories}:sleeps_in_its_ranks", "--mode", "train", "--nproc", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=as_in_a_terminal,
    )
    try:
        deadline = time.monotonic() + 120
        tree: set[int] = set()
        ranks: list[int] = []
        while len(ranks) < 2 and time.monotonic() < deadline:  # the child, its watcher, torchrun, two ranks
            tree |= descendants(process.pid)
            ranks = [pid for pid in tree if alive(pid) and "modelprof.cli bench" in _command(pid)
                     and "torch.distributed.run" not in _command(pid)]
            time.sleep(0.2)
        assert len(ranks) == 2, "the ranks never started"
        time.sleep(1)  # into the factory's sleep
        process.send_signal(sig)
        assert process.wait(timeout=20) == code
        assert_gone(tree, within_s=5)
    finally:
        process.kill()
        process.wait()


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""



# --- budgets ------------------------------------------------------------------


def test_latency_budgets_hold_on_their_device_and_are_skipped_on_any_other(cli, tmp_path):
    import xml.etree.ElementTree as ET

    from modelprof.profilers.bench import local_device_name

    here = local_device_name()
    budget = tmp_path / "modelprof.toml"
    budget.write_text(f'[models."toy:tanh-net"]\ndevice = "{here}"\nrepeats = 3\n'
                      f'max_latency_ms = 10_000\nmin_tokens_per_s = 1\n')
    checks = {c["limit_key"]: c for c in cli("check", str(budget), "-f", "json").json()["checks"]}
    latency, rate = checks["max_latency_ms"], checks["min_tokens_per_s"]
    assert latency["status"] == rate["status"] == "pass" and 0 < latency["actual"] < 10_000
    # one sample per step: tokens per second is 1,000 / the median latency in ms
    assert rate["actual"] == pytest.approx(1000 / latency["actual"], rel=0.01)
    budget.write_text(budget.read_text().replace("min_tokens_per_s = 1", "min_tokens_per_s = 1e12"))
    assert cli("check", str(budget)).code == 1  # no CPU steps a trillion samples a second
    # a budget for a GPU on this machine: skipped with the reason, never run (the 7B model would not fit), exit 0
    budget.write_text('[models."meta-llama/Llama-2-7b-hf"]\ndevice = "NVIDIA H100 80GB HBM3"\nmax_latency_ms = 50\n')
    junit = tmp_path / "budgets.xml"
    result = cli("check", str(budget), "--junit-xml", str(junit), "-f", "json")
    (check,) = result.json()["checks"]
    assert result.code == 0 and check["status"] == "skip" and check["actual"] is None
    assert check["source"] == f"the budget is for 'NVIDIA H100 80GB HBM3'; this machine runs on {here!r}"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("skipped") == "1" and suite.find("testcase/skipped") is not None


def test_a_latency_budget_names_its_device(cli, tmp_path):
    budget = tmp_path / "modelprof.toml"
    budget.write_text('[models."toy:tanh-net"]\nmax_latency_ms = 5\n')
    result = cli("check", str(budget))
    assert result.code == 2 and "max_latency_ms needs device = NAME" in result.err
    assert len(result.err.strip().splitlines()) == 1
