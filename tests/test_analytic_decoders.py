"""Analytic GPT-2, GPT-NeoX, OPT and Phi: bundled configs, every head class and
random small configs covering each family's variants, against the built model
and FlopCounterMode."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelprof.profilers.counters import get_counter

from .analytic_check import assert_exact, job_for
from .conftest import BUNDLED

REAL = ["gpt2", "gpt2-medium", "gpt2-xl", "EleutherAI/pythia-160m", "facebook/opt-125m", "facebook/opt-350m", "microsoft/phi-2"]
HEADS = {
    "gpt2": ["GPT2LMHeadModel", "GPT2DoubleHeadsModel", "GPT2ForSequenceClassification", "GPT2ForTokenClassification",
             "GPT2ForQuestionAnswering"],
    "EleutherAI/pythia-160m": ["GPTNeoXForCausalLM", "GPTNeoXForSequenceClassification", "GPTNeoXForTokenClassification",
                               "GPTNeoXForQuestionAnswering"],
    "facebook/opt-350m": ["OPTForCausalLM", "OPTForSequenceClassification", "OPTForQuestionAnswering"],
    "microsoft/phi-2": ["PhiForCausalLM", "PhiForSequenceClassification", "PhiForTokenClassification"],
}
LAYERS = {"gpt2": "n_layer"}  # the others say num_hidden_layers
WIDTH = {"gpt2": 768, "EleutherAI/pythia-160m": 768, "facebook/opt-350m": 512, "microsoft/phi-2": 2560}  # what heads read
RANDOM = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


def groups(analysis) -> dict:
    return {g["name"]: g for g in analysis.groups}


def skipped_reason(config: dict, **inputs) -> str:
    result = get_counter("analytic").count(job_for(config, base=False, **inputs))
    assert result.status == "skipped"
    return result.reason


# The architectures class of gpt2, pythia-160m, opt-350m and phi-2 is checked
# by the closed-form tests below.
@pytest.mark.parametrize("name,base", [(name, True) for name in REAL] + [
    ("gpt2-medium", False), ("gpt2-xl", False), ("facebook/opt-125m", False),
])
def test_real_configs(name, base):
    assert_exact(bundled(name), base=base, batch=2, seq_len=12)


def test_gpt2_closed_form():
    B, n, d, V, P, L = 2, 16, 768, 50257, 1024, 12
    analytic = assert_exact(bundled("gpt2"), base=False, batch=B, seq_len=n)
    # V·d + P·d + L·(12d² + 13d) + 2d; the LM head shares wte
    assert analytic.params == V * d + P * d + L * (12 * d**2 + 13 * d) + 2 * d == 124_439_808
    # per layer 12·B·n·d² + 2·B·n²·d, then the LM head B·n·d·V
    assert analytic.macs == L * (12 * B * n * d**2 + 2 * B * n**2 * d) + B * n * d * V
    found = groups(analytic)
    assert found["self-attention Q,K,V,O projections"]["macs"] == L * 4 * B * n * d**2
    assert found["self-attention Q,K,V,O projections"]["count"] == L
    assert found["attention scores and weighted sum"]["filled"] == "2·2·16²·768"
    assert (found["LM head (tied to wte)"]["macs"], found["LM head (tied to wte)"]["params"]) == (B * n * d * V, 0)


def test_pythia_closed_form():
    B, n, H, V, L = 1, 24, 768, 50304, 12
    analytic = assert_exact(bundled("EleutherAI/pythia-160m"), base=False, batch=B, seq_len=n)
    # untied: 2·V·H + L·(12H² + 13H) + 2H (F = 4H, biases everywhere); rotary_pct 0.25 adds nothing
    assert analytic.params == 2 * V * H + L * (12 * H**2 + 13 * H) + 2 * H == 162_322_944
    assert analytic.macs == L * (12 * B * n * H**2 + 2 * B * n**2 * H) + B * n * H * V
    assert groups(analytic)["LM head"]["params"] == V * H


def test_opt_350m_closed_form():
    B, n, H, W, V, P, L = 2, 10, 1024, 512, 50272, 2048, 24
    analytic = assert_exact(bundled("facebook/opt-350m"), base=False, batch=B, seq_len=n)
    # V·W + (P+2)·H + 2·W·H (project_in/out) + L·(12H² + 13H); post-norm: no final layer norm; tied head
    assert analytic.params == V * W + (P + 2) * H + 2 * W * H + L * (12 * H**2 + 13 * H) == 331_196_416
    # per layer 12·B·n·H² + 2·B·n²·H, projections 2·B·n·W·H, LM head B·n·W·V
    assert analytic.macs == L * (12 * B * n * H**2 + 2 * B * n**2 * H) + 2 * B * n * W * H + B * n * W * V
    assert "final layer norm (no MACs)" not in groups(analytic)


def test_phi_2_closed_form():
    B, n, H, V, L = 1, 8, 2560, 51200, 32
    analytic = assert_exact(bundled("microsoft/phi-2"), base=False, batch=B, seq_len=n)
    # 2·V·H + V (lm_head bias) + L·(12H² + 11H) + 2H: one layer norm per layer, F = 4H, every linear biased
    assert analytic.params == 2 * V * H + V + L * (12 * H**2 + 11 * H) + 2 * H == 2_779_683_840
    assert analytic.macs == L * (12 * B * n * H**2 + 2 * B * n**2 * H) + B * n * H * V


@pytest.mark.parametrize("name,head", [(name, head) for name, heads in HEADS.items() for head in heads])
def test_every_head_class(name, head):
    config = dict(bundled(name), architectures=[head], id2label={"0": "a", "1": "b", "2": "c"})
    config[LAYERS.get(name, "num_hidden_layers")] = 2
    batch, n = 2, 8
    if head.endswith("ForSequenceClassification") and name != "facebook/opt-350m":  # OPT's pad_token_id defaults to 1
        if name == "gpt2":
            # GPT-2 looks for pad tokens in input_ids with .item(), which fake meta
            # tensors cannot answer: no pad token, at the one batch size that allows.
            batch = 1
        else:
            config["pad_token_id"] = 0
    analytic = assert_exact(config, base=False, batch=batch, seq_len=n)
    # head layers read the last hidden state (width W) of every token: B·n·W·out MACs
    width, vocab = WIDTH[name], config["vocab_size"]
    out = vocab if head.endswith(("LMHeadModel", "DoubleHeadsModel", "ForCausalLM")) else 2 if head.endswith("QuestionAnswering") else 3
    expected = batch * n * width * out + (batch * width if head == "GPT2DoubleHeadsModel" else 0)  # summary: 1 token, 1 logit
    assert sum(r.macs for r in analytic.records if "." not in r.path or r.path.startswith("multiple_choice_head")) == expected


def test_gpt2_sequence_classification_with_padding_real_forward():
    config = {"model_type": "gpt2", "n_embd": 16, "n_head": 2, "n_layer": 1, "vocab_size": 30, "n_positions": 16,
              "pad_token_id": 0, "architectures": ["GPT2ForSequenceClassification"]}
    analytic = assert_exact(config, base=False, real_tensors=True, batch=3, seq_len=5)
    # the score layer runs on every token (3·5 rows, 2 labels); the last one is kept afterwards
    assert groups(analytic)["sequence classifier (every token; the last is kept)"]["macs"] == 3 * 5 * 16 * 2


@pytest.mark.parametrize("name,head", [
    ("gpt2", "GPT2ForSequenceClassification"), ("EleutherAI/pythia-160m", "GPTNeoXForSequenceClassification"),
    ("microsoft/phi-2", "PhiForSequenceClassification"),
])
def test_sequence_classification_without_pad_token_is_refused_for_batches(name, head):
    # transformers raises "Cannot handle batch sizes > 1 if no padding token is defined"
    config = dict(bundled(name), architectures=[head])
    assert skipped_reason(config, batch=2, seq_len=4) == f"{head} needs a pad_token_id for batch > 1 (transformers raises)"


def test_unsupported_architectures_are_skipped():
    assert skipped_reason(dict(bundled("gpt2"), architectures=["GPT2Foo"])) == "unsupported architecture GPT2Foo"
    assert skipped_reason(dict(bundled("facebook/opt-125m"), architectures=["OPTForTokenClassification"])) \
        == "unsupported architecture OPTForTokenClassification"
    attn_summary = dict(bundled("gpt2"), architectures=["GPT2DoubleHeadsModel"], summary_type="attn")
    assert "summary_type attn" in skipped_reason(attn_summary)


@RANDOM
@given(
    heads=st.integers(1, 4), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3),
    inner=st.one_of(st.none(), st.integers(4, 48)), vocab=st.integers(20, 120), positions=st.integers(16, 40),
    tie=st.booleans(), cross=st.booleans(), reorder=st.booleans(), by_layer=st.booleans(),
    summary=st.sampled_from(["cls_index", "last", "first", "mean"]), use_proj=st.booleans(), to_labels=st.booleans(),
    batch=st.integers(1, 3), seq=st.integers(1, 16), head=st.sampled_from([None, *HEADS["gpt2"]]),
)
def test_random_gpt2(heads, head_dim, layers, inner, vocab, positions, tie, cross, reorder, by_layer, summary, use_proj, to_labels,
                     batch, seq, head):
    config = {
        "model_type": "gpt2", "n_embd": heads * head_dim, "n_head": heads, "n_layer": layers, "n_inner": inner,
        "vocab_size": vocab, "n_positions": positions, "tie_word_embeddings": tie, "add_cross_attention": cross,
        "reorder_and_upcast_attn": reorder, "scale_attn_by_inverse_layer_idx": by_layer,
        "summary_type": summary, "summary_use_proj": use_proj, "summary_proj_to_labels": to_labels, "architectures": [head] if head else [],
    }
    if head == "GPT2ForSequenceClassification":
        batch = 1  # no pad token (see test_every_head_class)
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)


@RANDOM
@given(
    heads=st.integers(1, 4), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3), inter=st.integers(4, 48),
    vocab=st.integers(20, 120), tie=st.booleans(), bias=st.booleans(), parallel=st.booleans(),
    rotary=st.sampled_from([0.1, 0.25, 0.5, 1.0]), batch=st.integers(1, 3), seq=st.integers(1, 16),
    head=st.sampled_from([None, *HEADS["EleutherAI/pythia-160m"]]),
)
def test_random_gpt_neox(heads, head_dim, layers, inter, vocab, tie, bias, parallel, rotary, batch, seq, head):
    config = {
        "model_type": "gpt_neox", "hidden_size": heads * head_dim, "num_attention_heads": heads,
        "num_hidden_layers": layers, "intermediate_size": inter, "vocab_size": vocab, "tie_word_embeddings": tie,
        "attention_bias": bias, "use_parallel_residual": parallel, "rotary_pct": rotary, "pad_token_id": 0,
        "architectures": [head] if head else [],
    }
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)


@RANDOM
@given(
    heads=st.integers(1, 4), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3), ffn=st.integers(4, 48),
    vocab=st.integers(20, 120), positions=st.integers(16, 40), width=st.one_of(st.none(), st.integers(4, 24)),
    pre_norm=st.booleans(), remove_final=st.booleans(), bias=st.booleans(), affine=st.booleans(), tie=st.booleans(),
    batch=st.integers(1, 3), seq=st.integers(1, 16), head=st.sampled_from([None, *HEADS["facebook/opt-350m"]]),
)
def test_random_opt(heads, head_dim, layers, ffn, vocab, positions, width, pre_norm, remove_final, bias, affine, tie, batch, seq, head):
    config = {
        "model_type": "opt", "hidden_size": heads * head_dim, "num_attention_heads": heads, "num_hidden_layers": layers,
        "ffn_dim": ffn, "vocab_size": vocab, "max_position_embeddings": positions, "word_embed_proj_dim": width,
        "do_layer_norm_before": pre_norm, "_remove_final_layer_norm": remove_final, "enable_bias": bias,
        "layer_norm_elementwise_affine": affine, "tie_word_embeddings": tie, "architectures": [head] if head else [],
    }
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)


@RANDOM
@given(
    kv_heads=st.integers(1, 3), groups_=st.integers(1, 2), head_dim=st.sampled_from([8, 16]),
    own_head_dim=st.one_of(st.none(), st.sampled_from([8, 16])), layers=st.integers(1, 3), inter=st.integers(4, 48),
    vocab=st.integers(20, 120), tie=st.booleans(), qk_norm=st.booleans(), rotary=st.sampled_from([0.25, 0.5, 1.0]),
    label_bias=st.booleans(), batch=st.integers(1, 3), seq=st.integers(1, 16),
    head=st.sampled_from([None, *HEADS["microsoft/phi-2"]]),
)
def test_random_phi(kv_heads, groups_, head_dim, own_head_dim, layers, inter, vocab, tie, qk_norm, rotary, label_bias, batch, seq, head):
    heads = kv_heads * groups_
    config = {
        "model_type": "phi", "hidden_size": heads * head_dim, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "num_hidden_layers": layers, "intermediate_size": inter, "vocab_size": vocab, "tie_word_embeddings": tie,
        "qk_layernorm": qk_norm, "partial_rotary_factor": rotary, "token_classification_bias": label_bias,
        "pad_token_id": 0, "architectures": [head] if head else [],
    }
    if own_head_dim is not None and not qk_norm:  # q/k layer norms are H/h wide: they need head_dim = H/h
        config["head_dim"] = own_head_dim
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)
