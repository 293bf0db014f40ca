"""Analytic BERT: real configs and random small ones, every head class,
against the built model and FlopCounterMode."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .analytic_check import assert_exact
from .conftest import BUNDLED

HEADS = [
    None, "BertForMaskedLM", "BertForPreTraining", "BertForNextSentencePrediction", "BertForSequenceClassification",
    "BertForTokenClassification", "BertForQuestionAnswering", "BertLMHeadModel",
]


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


@pytest.mark.parametrize("name", ["bert-base-uncased", "bert-base-chinese", "bert-large-uncased"])
@pytest.mark.parametrize("base", [True, False])
def test_real_configs(name, base):
    assert_exact(bundled(name), base=base, batch=2, seq_len=24)


def test_formula_groups_of_bert_base_chinese():
    analytic = assert_exact(bundled("bert-base-chinese"), base=True, seq_len=128)
    assert analytic.params == 102_267_648
    groups = {g["name"]: g for g in analytic.groups}
    # 4·n·H² = 4·128·768² per layer, x12
    assert groups["self-attention Q,K,V,O projections"]["macs"] == 12 * 4 * 128 * 768**2
    # 2·n²·H = 2·128²·768 per layer
    assert groups["attention scores and weighted sum"]["macs"] == 12 * 2 * 128**2 * 768
    assert groups["attention scores and weighted sum"]["filled"] == "2·1·128²·768"
    # F = 4H: 2·n·H·F = 8·n·H²
    assert groups["feed-forward (intermediate + output)"]["macs"] == 12 * 8 * 128 * 768**2
    assert groups["self-attention Q,K,V,O projections"]["count"] == 12


@pytest.mark.parametrize("head", HEADS[1:])
def test_every_head_class(head):
    labels = 2 if head == "BertForQuestionAnswering" else 3  # start / end logits
    config = dict(bundled("bert-base-uncased"), architectures=[head], num_hidden_layers=2, id2label={str(i): str(i) for i in range(labels)})
    if head == "BertLMHeadModel":
        config["is_decoder"] = True
    assert_exact(config, base=False, batch=2, seq_len=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    heads=st.integers(1, 4), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3), inter=st.integers(4, 48),
    vocab=st.integers(20, 120), positions=st.integers(16, 40), types=st.integers(1, 3), batch=st.integers(1, 3),
    seq=st.integers(1, 16), head=st.sampled_from(HEADS[:-1]),
)
def test_random_configs(heads, head_dim, layers, inter, vocab, positions, types, batch, seq, head):
    config = {
        "model_type": "bert", "hidden_size": heads * head_dim, "num_attention_heads": heads, "num_hidden_layers": layers,
        "intermediate_size": inter, "vocab_size": vocab, "max_position_embeddings": positions, "type_vocab_size": types,
        "architectures": [head] if head else [],
    }
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)


@pytest.mark.parametrize("head", ["BertForMaskedLM", "BertForPreTraining"])
def test_untied_decoder(head):
    config = dict(bundled("bert-base-uncased"), architectures=[head], num_hidden_layers=1, tie_word_embeddings=False)
    analytic = assert_exact(config, base=False, seq_len=8)
    tied = assert_exact(dict(config, tie_word_embeddings=True), base=False, seq_len=8)
    # an own decoder weight V*H and bias V
    assert analytic.params - tied.params == 30522 * 768 + 30522


def test_decoder_with_cross_attention_counts_its_weights_only():
    config = dict(bundled("bert-base-uncased"), architectures=["BertLMHeadModel"], num_hidden_layers=2,
                  is_decoder=True, add_cross_attention=True)
    analytic = assert_exact(config, base=False, seq_len=8)
    plain = assert_exact(dict(config, add_cross_attention=False), base=False, seq_len=8)
    # per layer: Q,K,V,O 4*(H^2 + H) + LayerNorm 2H; never run on input_ids alone
    assert analytic.params - plain.params == 2 * (4 * (768**2 + 768) + 2 * 768)
    assert analytic.macs == plain.macs


def test_unsupported_variant_is_skipped():
    from .analytic_check import job_for
    from modelprof.profilers.counters import get_counter

    config = dict(bundled("bert-base-uncased"), add_cross_attention=True)
    result = get_counter("analytic").count(job_for(config, base=True))
    assert result.status == "skipped" and result.reason == "add_cross_attention needs is_decoder (transformers refuses the config)"
    unknown = get_counter("analytic").count(job_for({"model_type": "mamba"}, base=True))
    assert unknown.status == "skipped" and unknown.reason == "unsupported model_type mamba"
