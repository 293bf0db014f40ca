"""Counting at any depth: real-tensor counters run on builds with 1, 2 and 3
layers and extrapolate, exactly, to the full depth."""

from __future__ import annotations

import json

from modelprof.profilers.depth import extrapolate, layer_field, with_layers
from modelprof.profilers.records import CountRecord, CounterResult

# 8 layers of H 1024 and F 4096: fp32 weights 8 x 67 MB; its 3-layer build fits under 1.1 GiB with the
# estimate's 768 MiB allowance, the whole model does not
LLAMA_8 = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 1024, "num_attention_heads": 8,
           "num_key_value_heads": 8, "intermediate_size": 4096, "vocab_size": 1000, "num_hidden_layers": 8}


def test_extrapolated_counts_equal_the_full_depth_counts(cli, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_8))
    args = ("flops", str(tmp_path), "--seq-len", "16", "--counters", "fvcore,thop,ptflops", "-f", "json")
    deep = cli(*args, "--max-memory", "1.1GiB").json()
    full = cli(*args).json()
    for name in ("fvcore", "thop", "ptflops-pytorch", "ptflops-aten"):
        counted, truth = deep["counters"][name], full["counters"][name]
        assert counted["status"] == "ok" and counted["macs"] == truth["macs"] > 0
        assert counted["printed"] == truth["printed"] and counted["params"] == truth["params"]
        assert "extrapolated from builds with 1, 2 and 3 layers" in counted["notes"][-1]
        assert "extrapolated" not in " ".join(truth["notes"])
    assert deep["rows"] == full["rows"]  # the same reconciliation, module by module


def record(path: str, macs: int) -> CountRecord:
    return CountRecord(path, "linear", macs)


def result(*records: CountRecord) -> CounterResult:
    return CounterResult("fvcore", "mac", "ok", records=records, printed=sum(r.macs for r in records))


def test_layers_are_replicated_and_the_line_is_checked():
    counted = {d: result(record("embed", 5), *(record(f"layers.{i}.mlp", 7) for i in range(d)), record("head", 3))
               for d in (1, 2, 3)}
    full = extrapolate(counted, 80)
    # 5 + 80 x 7 + 3
    assert full.macs == 568 and full.printed == 568
    assert {r.path for r in full.records} == {"embed", "head", *(f"layers.{i}.mlp" for i in range(80))}


def test_layers_that_differ_refuse_the_extrapolation():
    # every other layer is twice as costly (a mixture-of-experts layer every second block)
    counted = {d: result(*(record(f"layers.{i}.mlp", 7 * (1 + i % 2)) for i in range(d))) for d in (1, 2, 3)}
    refused = extrapolate(counted, 80)
    assert refused.status == "skipped"
    assert refused.reason == "cannot extrapolate in depth: the layers of the reduced builds are not the same from layer 1 on"


def test_only_one_stack_of_more_than_three_layers_is_extrapolated():
    assert layer_field(LLAMA_8) == ("num_hidden_layers", 8)
    assert layer_field({**LLAMA_8, "num_hidden_layers": 3}) is None  # nothing to gain
    assert layer_field({"model_type": "t5", "num_layers": 12, "num_decoder_layers": 12}) is None  # two stacks
    assert layer_field({"model_type": "llava", "text_config": {"num_hidden_layers": 32}}) is None
    gemma2 = {"num_hidden_layers": 4, "layer_types": ["sliding_attention", "full_attention"] * 2}
    assert with_layers(gemma2, "num_hidden_layers", 1) == {"num_hidden_layers": 1, "layer_types": ["sliding_attention"]}


def test_a_model_whose_later_layers_differ_is_never_counted_on_reduced_builds():
    from modelprof.profilers.depth import uniform_layers

    dense, sparse = ("MLP", 3 * 7168 * 18432), ("MoE", 256 * 3 * 7168 * 2048)
    # DeepSeek-V3: first_k_dense_replace = 3 dense layers, then 58 mixture-of-experts layers
    rows = [(f"model.layers.{i}.mlp", dense if i < 3 else sparse) for i in range(61)] + [("lm_head", ("Linear", 1))]
    assert not uniform_layers(rows, 61)
    assert uniform_layers([(f"model.layers.{i}.mlp", sparse if i else dense) for i in range(61)], 61)  # layer 0 may differ


def test_deepseek_v3_is_counted_whole_by_torch_and_agrees_with_closed_forms():
    from modelprof.profilers.pipeline import profile_flops

    result = profile_flops("deepseek-ai/DeepSeek-V3", counters=["analytic", "torch"], depth=0)
    assert result.results["torch"].macs == result.results["analytic"].macs
    assert not any("extrapolated" in note for note in result.results["torch"].notes)
