"""Coverage of every model type the installed transformers can build.

For each type ``AutoModel`` maps, transformers' own default config
(``AutoConfig.for_model``) is written to a folder, then:

- params: ``modelprof params DIR --base`` against ``sum(numel)`` of
  ``AutoModel.from_config`` on the meta device;
- flops: ``modelprof flops DIR --base --counters torch``: ``ok`` when the
  count succeeded, ``full`` when every module holding matmul weights also did
  work (no vision tower, audio encoder or expert bank left out).

Each type runs in a child process under a time limit (torch and
transformers are imported once, here). Results go to
``benchmarks/coverage.json`` as they come (rerunning resumes; ``--redo``
starts over) and the table to ``benchmarks/coverage.md``::

    python benchmarks/coverage.py                 # every type, about an hour on 2 cores
    python benchmarks/coverage.py --only clip,whisper --timeout 120
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from coverage_findings import FINDINGS

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "coverage.json"
TABLE = HERE / "coverage.md"


def measure(model_type: str) -> dict:
    """One type, in a child: params exact?, torch count ok / full?, what was fed."""
    import torch
    from transformers import AutoConfig, AutoModel

    from modelprof.models.inputs import InputSpec
    from modelprof.profilers.errors import ModelprofError, one_line
    from modelprof.profilers.pipeline import profile_flops, profile_params

    row: dict = {"type": model_type}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="modelprof-coverage-") as folder:
        try:
            config = AutoConfig.for_model(model_type)
            config.to_json_file(str(Path(folder) / "config.json"))
            with torch.device("meta"):
                truth = sum(p.numel() for p in AutoModel.from_config(config).parameters())
        except Exception as error:  # transformers itself cannot build it: not counted against modelprof
            return {**row, "buildable": False, "reason": one_line(error, 160)}
        row["buildable"] = True
        row["params_truth"] = truth
        try:
            params = profile_params(folder, base=True, timeout_s=120)
            row["params"] = params.report.total
        except ModelprofError as error:
            row["params_error"] = str(error)[:160]
        try:
            flops = profile_flops(folder, base=True, counters=["torch"], spec=InputSpec(), timeout_s=300)
            result = flops.results["torch"]
            row["status"] = result.status
            row["reason"] = result.reason[:160]
            row["macs"] = result.macs if result.ok else None
            row["idle"] = len(result.idle_modules)
            row["inputs"] = {name: t["shape"] for name, t in flops.inputs.items()}
        except ModelprofError as error:
            row["status"], row["reason"] = "refused", str(error)[:160]
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def category(model_type: str) -> str:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    config = CONFIG_MAPPING[model_type]()
    names = set(vars(config)) | {name for sub in ("text_config", "vision_config", "audio_config") if hasattr(config, sub)
                                 for name in (sub,)}
    if {"vision_config", "text_config"} <= names or {"audio_config", "text_config"} <= names:
        return "multimodal"
    if any(k in names for k in ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")):
        return "moe"
    if any(k in names for k in ("num_mel_bins", "feat_extract_norm", "sampling_rate", "audio_config")):
        return "audio"
    if any(k in names for k in ("num_frames", "tubelet_size")):
        return "video"
    if any(k in names for k in ("image_size", "num_channels", "vision_config")) and "vocab_size" not in names:
        return "vision"
    if "prediction_length" in names or "context_length" in names:
        return "time series"
    return "text"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated model types")
    parser.add_argument("--timeout", type=float, default=480.0, help="seconds per type")
    parser.add_argument("--redo", action="store_true", help="forget earlier results")
    parser.add_argument("--render", action="store_true", help="only write the table from the saved results")
    args = parser.parse_args()

    import torch  # noqa: F401  (imported once: every child reuses it)
    import transformers
    import transformers.modeling_utils  # noqa: F401
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    from modelprof.profilers import pipeline  # noqa: F401  (and everything it uses: imported once, shared by every child)
    from modelprof.profilers.counters import all_counters
    from modelprof.profilers.counters import harness  # noqa: F401
    from modelprof.profilers.isolation import run_isolated

    all_counters()
    transformers.logging.set_verbosity_error()
    done = {} if args.redo or not RESULTS.exists() else json.loads(RESULTS.read_text())
    if args.render:
        TABLE.write_text(render(done))
        return
    types = args.only.split(",") if args.only else sorted(MODEL_MAPPING_NAMES)
    for i, model_type in enumerate(types):
        if model_type in done and not args.only:
            continue
        outcome = run_isolated(measure, model_type, timeout_s=args.timeout)
        row = outcome.value if outcome.ok else {"type": model_type, "buildable": True, "status": "crashed", "reason": outcome.error[:160]}
        try:
            row["category"] = category(model_type)
        except Exception:  # noqa: BLE001 - a label only
            row["category"] = "?"
        done[model_type] = row
        RESULTS.write_text(json.dumps(done, indent=1, sort_keys=True))
        print(f"[{i + 1}/{len(types)}] {model_type}: {row.get('status', '-')} {row.get('reason', '')[:80]}", file=sys.stderr)
    TABLE.write_text(render(done))


def render(rows: dict) -> str:
    """The markdown table, its totals, and for every type not counted whole
    the sweep's reason beside the finding of ``coverage_findings``."""
    import transformers

    buildable = [r for r in rows.values() if r.get("buildable")]
    exact = [r for r in buildable if r.get("params") == r.get("params_truth")]
    ok = [r for r in buildable if r.get("status") == "ok"]
    full = [r for r in ok if not r.get("idle")]
    rest = [r for r in buildable if r not in full]
    kinds: dict[str, int] = {}
    for r in rest:
        kind = _kind(r)
        kinds[kind] = kinds.get(kind, 0) + 1
    stale = sorted(r["type"] for r in full if r["type"] in FINDINGS)
    # no forward on transformers' own default config can run: it is not modelprof that fails
    runnable = [r for r in buildable if r in full or _kind(r) not in CANNOT_RUN]
    reached = [r for r in runnable if r in full or (r in ok and _kind(r) == "unreachable")]

    def share(part, whole=buildable) -> str:
        return f"{len(part)} of {len(whole)} ({100 * len(part) / max(len(whole), 1):.1f}%)"

    lines = [
        f"# Coverage with transformers {transformers.__version__}",
        "",
        "Written by `python benchmarks/coverage.py`: every type `AutoModel` maps, built from transformers'",
        "default config; params against `sum(numel)` on meta, forward MACs by the torch counter.",
        "",
        f"- types: {len(rows)}; transformers builds {len(buildable)} of them",
        f"- params exact: {share(exact)}",
        f"- torch count ok: {share(ok)}",
        f"- full-model count (every module with weights did work): {share(full)}",
        f"- not counted whole: {len(rest)}, by why (see `benchmarks/coverage_findings.py`): "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])),
        f"- types whose default config transformers can run at all (all but {', '.join(sorted(CANNOT_RUN))}): "
        f"{len(runnable)}; of them counted whole {share(full, runnable)}, every module a forward reaches "
        f"{share(reached, runnable)}",
    ]
    if stale:
        lines.append(f"- findings that no longer apply (these count whole now): {', '.join(stale)}")
    lines += [
        "",
        "| type | category | params | torch | idle modules | inputs / reason | s |",
        "|---|---|---|---|---:|---|---:|",
    ]
    for name in sorted(rows):
        r = rows[name]
        if not r.get("buildable"):
            lines.append(f"| {name} | {r.get('category', '')} | not buildable | | | {_cell(r.get('reason', ''))} | |")
            continue
        params = "exact" if r.get("params") == r.get("params_truth") else f"{r.get('params', r.get('params_error', '?'))} vs {r.get('params_truth')}"
        inputs = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in (r.get("inputs") or {}).items())
        detail = inputs if r.get("status") == "ok" else r.get("reason", "")
        if r in rest and name in FINDINGS:
            kind, finding = FINDINGS[name]
            detail = f"**{kind}**: {finding}" + (f" — sweep: {detail}" if detail else "")
        lines.append(
            f"| {name} | {r.get('category', '')} | {params} | {r.get('status', '')} | {r.get('idle', '')} | "
            f"{_cell(detail)} | {r.get('seconds', '')} |"
        )
    return "\n".join(lines) + "\n"


CANNOT_RUN = frozenset({"config", "bug", "no forward", "session", "library"})


def _kind(row: dict) -> str:
    return FINDINGS.get(row["type"], ("not explained",))[0]


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


if __name__ == "__main__":
    main()
