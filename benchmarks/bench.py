"""Wall time and peak memory of the commands whose speed the product promises.

Run from an environment where modelprof is installed:

    python benchmarks/bench.py            # table on stdout
    python benchmarks/bench.py --json     # machine-readable

Each command runs in its own process, ``--repeat`` times (best wall time
kept); peak memory is the largest resident set of that process and every
process it waited for (counters run in forked children), read with
``getrusage(RUSAGE_CHILDREN)`` from a fresh wrapper process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

CASES = [
    ("python -c 'import torch' (baseline)", [sys.executable, "-c", "import torch"]),
    ("modelprof --help", ["modelprof", "--help"]),
    ("flops Llama-3.1-405B --counters analytic", ["modelprof", "flops", "meta-llama/Llama-3.1-405B", "--counters", "analytic", "-f", "json"]),
    ("params Llama-3.1-405B --counters analytic", ["modelprof", "params", "meta-llama/Llama-3.1-405B", "--counters", "analytic", "-f", "json"]),
    ("params Llama-3.1-405B (meta build)", ["modelprof", "params", "meta-llama/Llama-3.1-405B", "-f", "json"]),
    ("flops Llama-3.1-405B --counters torch (1-3 layer builds)", ["modelprof", "flops", "meta-llama/Llama-3.1-405B", "--counters", "torch", "-f", "json"]),
    ("flops Llama-2-70b --counters torch (1-3 layer builds)", ["modelprof", "flops", "meta-llama/Llama-2-70b-hf", "--counters", "torch", "-f", "json"]),
    ("scale Llama-2-70b, 10 lengths (analytic)", ["modelprof", "scale", "meta-llama/Llama-2-70b-hf", "--seq-len", "128:65536", "-f", "json"]),
    ("scale Llama-2-70b, 10 lengths --counter torch", ["modelprof", "scale", "meta-llama/Llama-2-70b-hf", "--seq-len", "128:65536", "--counter", "torch", "-f", "json"]),
    ("flops bert-base-uncased --base, all counters", ["modelprof", "flops", "bert-base-uncased", "--base", "-f", "json"]),
    ("flops Llama-2-70b, all counters (real ones on 1-3 layers)", ["modelprof", "flops", "meta-llama/Llama-2-70b-hf", "-f", "json"]),
    ("memory Llama-3-70B, 4,096 tokens, mixed precision", ["modelprof", "memory", "meta-llama/Meta-Llama-3-70B", "--seq-len", "4096", "--precision", "mixed", "-f", "json"]),
    ("memory Llama-3.1-405B, ZeRO-3 on 64 GPUs, checkpointing", ["modelprof", "memory", "meta-llama/Llama-3.1-405B", "--seq-len", "4096", "--precision", "mixed", "--gpus", "64", "--zero", "3", "--checkpointing", "full", "-f", "json"]),
    ("memory gpt2 --measure (two steps simulated and real)", ["modelprof", "memory", "gpt2", "--measure", "-f", "json"]),
    ("list", ["modelprof", "list", "-f", "json"]),
]

WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "code": done.returncode, "stderr": done.stderr.decode()[-300:]}))
"""


def measure(command: list[str], repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    best = min(runs, key=lambda r: r["seconds"])
    return {"seconds": round(best["seconds"], 2), "peak_mib": round(max(r["peak_mib"] for r in runs)), "code": best["code"], "stderr": best["stderr"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("modelprof") is None:
        sys.exit("modelprof is not on PATH: install it first (see README)")
    results = {name: measure(command, args.repeat) for name, command in CASES}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'command':<48} {'seconds':>8} {'peak MiB':>9}  exit")
    for name, result in results.items():
        print(f"{name:<48} {result['seconds']:>8.2f} {result['peak_mib']:>9}  {result['code']}")
        if result["code"]:
            print(f"    {result['stderr'].strip().splitlines()[-1] if result['stderr'].strip() else ''}")


if __name__ == "__main__":
    main()
