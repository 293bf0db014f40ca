"""Analytic mixtral and qwen2_moe: the bundled configs' parameters against the
built model, MACs against FlopCounterMode, every head class and random small
configs.

modelprof builds mixture-of-experts layers with its own experts forward
(models/balanced_experts.py: every token through exactly k experts, in
static shares), countable on fake tensors. transformers' default
``grouped_mm`` needs bf16 on meta and is invisible to the real-tensor tools;
the tiny configs below ask for ``eager`` and are built balanced all the same.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelprof.models.build import build_model
from modelprof.profilers.counters import get_counter

from .analytic_check import assert_exact, job_for
from .conftest import BUNDLED

HEADS = ["ForCausalLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering"]
PREFIX = {"mixtral": "Mixtral", "qwen2_moe": "Qwen2Moe"}
TINY = {
    "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 40, "pad_token_id": 0, "experts_implementation": "eager",
}
TINY_MOE = {
    "mixtral": dict(TINY, model_type="mixtral", num_local_experts=4, num_experts_per_tok=2),
    "qwen2_moe": dict(TINY, model_type="qwen2_moe", num_experts=5, num_experts_per_tok=2, moe_intermediate_size=8,
                      shared_expert_intermediate_size=12),
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


@pytest.mark.parametrize("name", ["mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen1.5-MoE-A2.7B"])
@pytest.mark.parametrize("base", [True, False])
def test_bundled_params(name, base):
    config = bundled(name)
    assert analytic(config, base=base).params == built_params(config, base)


def test_mixtral_8x7b_closed_form():
    result = analytic(bundled("mistralai/Mixtral-8x7B-v0.1"), base=False, batch=1, seq_len=128)
    assert result.params == 46_702_792_704  # the published total
    # active: all but the 8 - 2 skipped experts of each of the 32 layers, 3·H·F each
    assert result.active_params == 46_702_792_704 - 32 * 6 * 3 * 4096 * 14336 == 12_879_925_248
    # MACs, top-k: L·(2·n·H·(h·d) + 2·n·H·(kv·d) + 2·h·n²·d + n·H·E + k·3·n·H·F) + n·H·V
    # with H 4096, h 32, kv 8, d 128, E 8, k 2, F 14336, V 32000, L 32, n 128
    per_layer = 2 * 128 * 4096 * 4096 + 2 * 128 * 4096 * 1024 + 2 * 32 * 128**2 * 128 + 128 * 4096 * 8 + 2 * 3 * 128 * 4096 * 14336
    assert result.printed == 32 * per_layer + 128 * 4096 * 32000 == 1_636_114_104_320
    groups = {g["name"]: g for g in result.groups}
    assert groups["experts (top-k)"]["filled"] == "2·3·1·128·4096·14336"
    assert groups["experts (top-k)"]["params"] == 32 * 8 * 3 * 4096 * 14336


def test_qwen1_5_moe_closed_form():
    result = analytic(bundled("Qwen/Qwen1.5-MoE-A2.7B"), base=False, batch=1, seq_len=16)
    assert result.params == 14_315_784_192
    # 24 sparse layers, each skipping 60 - 4 experts of 3·2048·1408; the shared expert always counts
    assert result.active_params == 14_315_784_192 - 24 * 56 * 3 * 2048 * 1408 == 2_689_173_504
    groups = {g["name"]: g for g in result.groups}
    assert groups["experts (top-k)"]["macs"] == 24 * 4 * 3 * 16 * 2048 * 1408
    assert groups["shared expert (every token)"]["macs"] == 24 * 3 * 16 * 2048 * 5632
    assert groups["shared expert gate"]["macs"] == 24 * 16 * 2048
    assert groups["router (expert logits)"]["macs"] == 24 * 16 * 2048 * 60


@pytest.mark.parametrize("family,head", [(f, h) for f in PREFIX for h in [None, *HEADS]])
def test_every_head_class_on_real_tensors(family, head):
    config = dict(TINY_MOE[family], architectures=[PREFIX[family] + head] if head else [], id2label={"0": "a", "1": "b", "2": "c"})
    assert_exact(config, base=head is None, real_tensors=True, batch=2, seq_len=6)


def test_qwen2_moe_dense_layers_among_sparse_ones():
    # layers 1 and 3 sparse by the step; 3 is listed dense-only: only layer 1 routes
    config = dict(TINY_MOE["qwen2_moe"], num_hidden_layers=4, decoder_sparse_step=2, mlp_only_layers=[3], architectures=["Qwen2MoeForCausalLM"])
    result = assert_exact(config, base=False, real_tensors=True, batch=1, seq_len=5)
    groups = {g["name"]: g for g in result.groups}
    assert groups["experts (top-k)"]["count"] == 1 and groups["gated MLP (dense layers)"]["count"] == 3
    assert result.active_params == result.params - (5 - 2) * 3 * 16 * 8


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(list(PREFIX)), experts=st.integers(1, 6), data=st.data(), layers=st.integers(1, 3),
    kv=st.integers(1, 2), groups=st.sampled_from([1, 2]), width=st.integers(2, 12), step=st.integers(1, 2),
    flags=st.booleans(), batch=st.integers(1, 2), seq=st.integers(1, 8), head=st.sampled_from([None, *HEADS]),
)
def test_random_configs(family, experts, data, layers, kv, groups, width, step, flags, batch, seq, head):
    config = dict(
        TINY, model_type=family, num_hidden_layers=layers, num_attention_heads=kv * groups, num_key_value_heads=kv,
        hidden_size=8 * kv * groups, num_experts_per_tok=data.draw(st.integers(1, experts), label="top k"),
        architectures=[PREFIX[family] + head] if head else [],
    )
    if family == "mixtral":
        config.update(num_local_experts=experts, intermediate_size=width, sliding_window=3 if flags else None)
    else:
        config.update(
            num_experts=experts, moe_intermediate_size=width, shared_expert_intermediate_size=data.draw(st.integers(1, 12), label="shared"),
            decoder_sparse_step=step, mlp_only_layers=[0] if flags else [], norm_topk_prob=flags, qkv_bias=not flags,
        )
    assert_exact(config, base=head is None, real_tensors=True, batch=batch, seq_len=seq)


def test_top_k_beyond_the_experts_is_refused():
    config = dict(TINY_MOE["mixtral"], num_experts_per_tok=5)
    result = get_counter("analytic").count(job_for(config, base=True))
    assert result.status == "skipped" and "num_experts_per_tok 5" in result.reason


def test_mixtral_num_experts_alias():
    # MixtralConfig maps num_experts onto num_local_experts
    config = dict(TINY_MOE["mixtral"], num_experts=3, num_experts_per_tok=1)
    del config["num_local_experts"]
    result = assert_exact(config, base=True, real_tensors=True, batch=1, seq_len=4)
    assert result.active_params == result.params - 2 * (3 - 1) * 3 * 16 * 24


LAYERS = {"mistralai/Mixtral-8x7B-v0.1": 32, "Qwen/Qwen1.5-MoE-A2.7B": 24}  # num_hidden_layers


@pytest.mark.parametrize("name", ["mistralai/Mixtral-8x7B-v0.1", "Qwen/Qwen1.5-MoE-A2.7B"])
def test_torch_counts_the_routed_experts_like_the_analytic_counter(name):
    """On fake tensors every token runs through exactly k experts (static
    shares, models/balanced_experts.py), so FlopCounterMode counts the routed
    computation exactly."""
    from modelprof.profilers.pipeline import profile_flops

    result = profile_flops(name, counters=["analytic", "torch"])
    torch_result = result.results["torch"]
    assert torch_result.ok, torch_result.reason
    assert torch_result.macs == result.results["analytic"].macs
    assert torch_result.idle_modules == ()
    # the routing is stated; both models are deep enough to be counted on builds of 1 to 3 layers
    routing, depth = torch_result.notes
    assert routing.startswith("fake tensors have no values to choose by: top-k / arg-max choices (routers, selections)")
    assert depth.endswith(f"here at {LAYERS[name]} layers")
    assert result.table.rows[0].findings == {}


def test_tiny_moe_on_fake_tensors_matches_closed_forms():
    """No real routing needed any more: the fake-meta count is exact."""
    for config in TINY_MOE.values():
        assert_exact(dict(config, experts_implementation="grouped_mm"), base=True, batch=2, seq_len=6)


def test_qwen3_moe_default_config_has_no_head_dim_of_its_own(tmp_path, cli):
    """Qwen3MoeConfig, unlike Qwen3Config (head_dim 128), has no head_dim: the
    model uses H / h = 2048 / 32 = 64. Assuming 128 overcounted transformers'
    default config by 30.6G MACs at 128 tokens."""
    from .test_configs import write_default_config

    write_default_config(tmp_path / "qwen3_moe", "qwen3_moe")
    counters = cli("flops", str(tmp_path / "qwen3_moe"), "--counters", "analytic,torch", "--seq-len", "16",
                   "-f", "json").json()["counters"]
    # per layer and token: q, o 2·2048·(32·64) + k, v 2·2048·(4·64) = 9,437,184; router 2048·128 = 262,144;
    #   8 experts · 3·2048·768 = 37,748,736; products 2·32·64·16 = 65,536; 24 layers x 16 tokens
    assert counters["analytic"]["macs"] == counters["torch"]["macs"] == 24 * 16 * (9_437_184 + 262_144 + 37_748_736 + 65_536)
