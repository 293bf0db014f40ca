"""Analytic llama, mistral, qwen2 and gemma: real configs, every head class and
random small configs, against the built model and FlopCounterMode."""

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
PREFIX = {"llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2", "gemma": "Gemma"}
FAMILY_HEADS = {family: HEADS if family != "gemma" else HEADS[:3] for family in PREFIX}  # no GemmaForQuestionAnswering

BUNDLED_CONFIGS = [
    "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-70b-hf", "meta-llama/Meta-Llama-3-8B",
    "meta-llama/Meta-Llama-3-70B", "meta-llama/Llama-3.1-405B", "mistralai/Mistral-7B-v0.1", "Qwen/Qwen2-7B",
    "Qwen/Qwen2-0.5B", "google/gemma-7b", "google/gemma-2b",
]


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


def analytic(config: dict, *, base: bool, **inputs):
    result = get_counter("analytic").count(job_for(config, base=base, **inputs))
    assert result.ok, result.reason
    return result


@pytest.mark.parametrize("name", BUNDLED_CONFIGS)
@pytest.mark.parametrize("base", [True, False])
def test_real_configs(name, base):
    """Full width, every module and MAC exact on the first two layers (FlopCounterMode
    costs ~0.1 s a layer; the layers are identical), parameters exact at full depth."""
    config = bundled(name)
    assert_exact(dict(config, num_hidden_layers=2), base=base, batch=2, seq_len=8)
    built = build_model(job_for(config, base=base).source, device="meta", base=base, attn="eager")
    assert analytic(config, base=base).params == sum(p.numel() for p in built.module.parameters())


def test_closed_form_llama_2_7b():
    # at full depth against FlopCounterMode too
    result = assert_exact(bundled("meta-llama/Llama-2-7b-hf"), base=False, batch=1, seq_len=128)
    # params: 2·V·H + L·(4·H² + 3·H·F + 2·H) + H, V 32000, H 4096, L 32, F 11008
    assert result.params == 2 * 32000 * 4096 + 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 4096 == 6_738_415_616
    # MACs: L·(4·n·H² + 2·n²·H + 3·n·H·F) + n·H·V at n 128
    assert result.printed == 32 * (4 * 128 * 4096**2 + 2 * 128**2 * 4096 + 3 * 128 * 4096 * 11008) + 128 * 4096 * 32000
    assert result.printed == 850_000_871_424
    groups = {g["name"]: g for g in result.groups}
    assert groups["self-attention projections"]["filled"] == "2·1·128·4096·(32·128) + 2·1·128·4096·(32·128)"
    assert groups["attention scores and weighted sum"]["macs"] == 32 * 2 * 32 * 128**2 * 128
    assert groups["gated MLP (gate, up, down)"]["count"] == 32


def test_closed_form_mistral_7b():
    # GQA kv 8 of h 32, d 128: L·(2·n·H·(h·d) + 2·n·H·(kv·d) + 2·h·n²·d + 3·n·H·F) + n·H·V
    result = analytic(bundled("mistralai/Mistral-7B-v0.1"), base=False, batch=1, seq_len=128)
    assert result.params == 2 * 32000 * 4096 + 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096) + 4096
    assert result.params == 7_241_732_096
    assert result.printed == 32 * (2 * 128 * 4096 * 4096 + 2 * 128 * 4096 * 1024 + 2 * 32 * 128**2 * 128 + 3 * 128 * 4096 * 14336) + 128 * 4096 * 32000
    assert any("sliding_window 4096" in note for note in result.notes)


def test_closed_form_qwen2_0_5b():
    # tied embeddings (counted once), q/k/v biases: h 14, kv 2, d 64, H 896, F 4864, V 151936, L 24
    result = analytic(bundled("Qwen/Qwen2-0.5B"), base=False, batch=1, seq_len=128)
    per_layer = (896 * 896 + 896) + 2 * (896 * 128 + 128) + 896 * 896 + 3 * 896 * 4864 + 2 * 896
    assert result.params == 151936 * 896 + 24 * per_layer + 896 == 494_032_768
    # the tied LM head still costs n·H·V
    assert result.printed == 24 * (2 * 128 * 896 * 896 + 2 * 128 * 896 * 128 + 2 * 14 * 128**2 * 64 + 3 * 128 * 896 * 4864) + 128 * 896 * 151936
    assert result.printed == 63_931_678_720


def test_closed_form_gemma_2b():
    # multi-query (kv 1), head_dim 256 with h·d = 2048 = H, tied by default, V 256000, F 16384, L 18
    result = analytic(bundled("google/gemma-2b"), base=False, batch=1, seq_len=128)
    assert result.params == 256000 * 2048 + 18 * (2 * 2048 * 2048 + 2 * 2048 * 256 + 3 * 2048 * 16384 + 2 * 2048) + 2048
    assert result.params == 2_506_172_416
    assert result.printed == 18 * (2 * 128 * 2048 * 2048 + 2 * 128 * 2048 * 256 + 2 * 8 * 128**2 * 256 + 3 * 128 * 2048 * 16384) + 128 * 2048 * 256000
    groups = {g["name"]: g for g in result.groups}
    assert groups["LM head (tied to the token embeddings)"]["params"] == 0


@pytest.mark.parametrize("family,head", [(f, h) for f, heads in FAMILY_HEADS.items() for h in heads])
def test_every_head_class(family, head):
    name = {"llama": "meta-llama/Meta-Llama-3-8B", "mistral": "mistralai/Mistral-7B-v0.1", "qwen2": "Qwen/Qwen2-0.5B", "gemma": "google/gemma-2b"}[family]
    config = dict(bundled(name), architectures=[PREFIX[family] + head], num_hidden_layers=2, pad_token_id=0,
                  id2label={str(i): str(i) for i in range(3)})
    assert_exact(config, base=False, batch=2, seq_len=8)


def _random_config(family, kv, groups, head_dim, layers, inter, vocab, tie, bias, head):
    h = kv * groups
    config = {
        "model_type": family, "hidden_size": 8 * h if head_dim is None else 4 * h, "num_attention_heads": h,
        "num_key_value_heads": kv, "num_hidden_layers": layers, "intermediate_size": inter, "vocab_size": vocab,
        "pad_token_id": 0, "architectures": [PREFIX[family] + head] if head else [],
    }
    if head_dim is not None or family == "gemma":
        config["head_dim"] = head_dim or 8
    if tie is not None:
        config["tie_word_embeddings"] = tie
    if family in ("llama", "gemma"):
        config["attention_bias"] = bias
    if family == "llama":
        config["mlp_bias"] = not bias
    if family == "mistral":
        config["sliding_window"] = 3 if bias else None
    if family == "qwen2":
        config.update(use_sliding_window=bias, sliding_window=2, max_window_layers=1)
    return config


@pytest.mark.parametrize("family", list(PREFIX))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_configs(family, data):
    config = _random_config(
        family,
        kv=data.draw(st.integers(1, 3), label="kv heads"),
        groups=data.draw(st.sampled_from([1, 2, 4]), label="query heads per kv head"),
        head_dim=data.draw(st.sampled_from([None, 2, 6, 8]), label="head_dim"),
        layers=data.draw(st.integers(1, 3), label="layers"),
        inter=data.draw(st.integers(4, 40), label="intermediate"),
        vocab=data.draw(st.integers(16, 80), label="vocab"),
        tie=data.draw(st.sampled_from([None, True, False]), label="tie"),
        bias=data.draw(st.booleans(), label="bias / window"),
        head=data.draw(st.sampled_from([None, *FAMILY_HEADS[family]]), label="head"),
    )
    batch, seq = data.draw(st.integers(1, 3), label="batch"), data.draw(st.integers(1, 12), label="seq")
    assert_exact(config, base=not config["architectures"], batch=batch, seq_len=seq)


@pytest.mark.parametrize("config,reason", [
    (dict(model_type="gemma", architectures=["GemmaForQuestionAnswering"]), "unsupported architecture GemmaForQuestionAnswering"),
    (dict(model_type="llama", architectures=["LlamaForMaskedLM"]), "unsupported architecture LlamaForMaskedLM"),
    (dict(model_type="qwen2", architectures=["LlamaForCausalLM"]), "unsupported architecture LlamaForCausalLM"),
    (dict(model_type="llama", num_attention_heads=6, num_key_value_heads=4), "not a multiple"),
])
def test_unsupported(config, reason):
    result = get_counter("analytic").count(job_for(config, base=False))
    assert result.status == "skipped" and reason in result.reason


def test_defaults_of_each_config_class():
    # a bare config takes the class defaults: llama kv = h, untied; gemma head_dim 256, kv 16, tied
    llama = analytic({"model_type": "llama", "num_hidden_layers": 1, "architectures": ["LlamaForCausalLM"]}, base=False)
    assert llama.params == 2 * 32000 * 4096 + 4 * 4096**2 + 3 * 4096 * 11008 + 3 * 4096
    gemma = analytic({"model_type": "gemma", "num_hidden_layers": 1, "architectures": ["GemmaForCausalLM"]}, base=False)
    assert gemma.params == 256000 * 3072 + 4 * 3072 * 16 * 256 + 3 * 3072 * 24576 + 3 * 3072


def test_a_decode_step_is_the_next_token_against_the_cache(cli, tmp_path):
    """One generated token after C = 37 cached ones, eager attention: every
    projection on one row, and attention over C + 1 positions."""
    import json

    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 256,
              "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 688,
              "vocab_size": 1000, "num_hidden_layers": 2}
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = cli("flops", str(tmp_path), "--mode", "decode", "--context", "37", "--counters", "analytic,torch",
                 "--attn", "eager", "-f", "json")
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["input"]["context"] == 37 and payload["input"]["tensors"]["input_ids"]["shape"] == [1, 1]
    # L·(2·H·h·d + 2·H·kv·d + 3·H·F + 2·h·d·(C+1)) + H·V with L 2, H 256, h 4, kv 2, d 64, F 688, V 1000
    #   = 2·(131,072 + 65,536 + 528,384 + 19,456) + 256,000 = 1,744,896 MACs
    assert payload["counters"]["analytic"]["macs"] == 1_744_896
    assert payload["counters"]["torch"]["macs"] == 1_744_896
    assert payload["counters"]["torch"]["printed"] == 3_489_792  # FlopCounterMode's own figure: 2 per MAC
    refused = cli("flops", str(tmp_path), "--context", "37", "--counters", "analytic")
    assert refused.code == 2 and "--context applies to --mode decode" in refused.err


def test_llama2_7b_decode_agrees_between_closed_forms_and_the_model():
    from modelprof.models.inputs import InputSpec
    from modelprof.profilers.pipeline import profile_flops

    result = profile_flops("meta-llama/Llama-2-7b-hf", counters=["analytic", "torch"], mode="decode",
                           spec=InputSpec.from_options(context=4095))
    # 32·(4·4096² + 3·4096·11008 + 2·4096·(4095 + 1)) + 4096·32000 = 7,680,819,200
    assert result.results["analytic"].macs == result.results["torch"].macs == 7_680_819_200
