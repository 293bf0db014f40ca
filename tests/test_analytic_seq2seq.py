"""Analytic T5 and BART (encoder-decoder): real configs and random small ones,
every head class, encoder and decoder lengths apart, against the built model
and FlopCounterMode."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelprof.profilers.counters import get_counter

from .analytic_check import assert_exact, job_for
from .conftest import BUNDLED

T5_HEADS = [None, "T5ForConditionalGeneration", "T5ForQuestionAnswering", "T5EncoderModel", "T5ForTokenClassification"]
BART_HEADS = [None, "BartForConditionalGeneration", "BartForQuestionAnswering", "BartForCausalLM"]


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


def groups_of(analytic) -> dict:
    return {g["name"]: g for g in analytic.groups}


def group_params(analytic, name: str) -> int:
    """Params of a group over every path it sits at (encoder and decoder)."""
    return sum(g["params"] for g in analytic.groups if g["name"] == name)


# The bundled BART configs name BartModel, the base model itself: their LM class is checked instead.
REAL = [
    ("t5-small", None), ("t5-small", "T5ForConditionalGeneration"), ("t5-base", None), ("t5-base", "T5ForConditionalGeneration"),
    ("facebook/bart-base", None), ("facebook/bart-large", None), ("facebook/bart-large", "BartForConditionalGeneration"),
]


@pytest.mark.parametrize("name, head", REAL)
def test_real_configs(name, head):
    config = dict(bundled(name), architectures=[head]) if head else bundled(name)
    assert_exact(config, base=head is None, batch=2, seq_len=12, decoder_seq_len=5)


def test_closed_form_of_t5_base():
    n, m = 12, 5
    analytic = assert_exact(bundled("t5-base"), base=False, seq_len=n, decoder_seq_len=m)
    V, d, F, L, R, h = 32128, 768, 3072, 12, 32, 12
    # shared V·d; encoder layer: q,k,v,o 4d² + relu FFN 2dF + two scale-only norms 2d; decoder layer adds
    # cross-attention 4d² and a third norm; a (R x h) bias table in each stack's first layer; two final norms.
    encoder_layer, decoder_layer = 4 * d * d + 2 * d * F + 2 * d, 8 * d * d + 2 * d * F + 3 * d
    assert V * d + L * (encoder_layer + decoder_layer) + 2 * R * h + 2 * d == analytic.params == 222_903_552
    encoder_macs = L * (4 * n * d * d + 2 * n * n * d + 2 * n * d * F)
    decoder_macs = L * (4 * m * d * d + 2 * m * m * d + 2 * m * d * d + 2 * n * d * d + 2 * m * n * d + 2 * m * d * F)
    assert analytic.printed == encoder_macs + decoder_macs + m * d * V  # tied LM head: MACs, no params
    groups = groups_of(analytic)
    assert groups["cross-attention"]["filled"] == "2·1·5·768·12·64 + 2·1·12·768·12·64 + 2·1·5·12·12·64"
    assert groups["cross-attention"]["count"] == L
    assert group_params(analytic, "relative position bias (first block, lookups)") == 2 * R * h


def test_closed_form_of_bart_base():
    n, m = 12, 5
    config = dict(bundled("facebook/bart-base"), architectures=["BartForConditionalGeneration"])
    analytic = assert_exact(config, base=False, seq_len=n, decoder_seq_len=m)
    V, d, F, L, P = 50265, 768, 3072, 6, 1024
    # shared V·d; per stack (P+2)·d positions + layernorm_embedding 2d; encoder layer: 4 biased d x d
    # projections 4(d²+d) + fc1, fc2 2dF + F + d + two LayerNorms 4d; the decoder layer adds cross-attention
    # 4(d²+d) and a third LayerNorm.
    encoder_layer = 4 * (d * d + d) + 2 * d * F + F + d + 4 * d
    decoder_layer = encoder_layer + 4 * (d * d + d) + 2 * d
    assert V * d + 2 * ((P + 2) * d + 2 * d) + L * (encoder_layer + decoder_layer) == analytic.params == 139_420_416
    encoder_macs = L * (4 * n * d * d + 2 * n * n * d + 2 * n * d * F)
    decoder_macs = L * (4 * m * d * d + 2 * m * m * d + 2 * m * d * d + 2 * n * d * d + 2 * m * n * d + 2 * m * d * F)
    assert analytic.printed == encoder_macs + decoder_macs + m * d * V
    groups = groups_of(analytic)
    assert groups["encoder self-attention"]["filled"] == "4·1·12·768² + 2·1·12²·768"
    assert groups["decoder feed-forward (fc1, fc2)"]["macs"] == L * 2 * m * d * F


def reduced(name: str, head: str, **fields) -> dict:
    return dict(bundled(name), architectures=[head], **fields)


@pytest.mark.parametrize("head", ["T5Model", *T5_HEADS[1:]])
def test_every_t5_head_class(head):
    labels = 2 if head == "T5ForQuestionAnswering" else 3  # start / end logits
    config = reduced("t5-small", head, num_layers=2, num_decoder_layers=3, id2label={str(i): str(i) for i in range(labels)})
    assert_exact(config, base=False, batch=2, seq_len=7, decoder_seq_len=3)


@pytest.mark.parametrize("head", ["BartModel", *BART_HEADS[1:]])
def test_every_bart_head_class(head):
    # num_hidden_layers (6 in the bundled config) is an alias of encoder_layers, and the alias wins
    config = reduced("facebook/bart-base", head, encoder_layers=2, decoder_layers=1, num_hidden_layers=2)
    assert_exact(config, base=False, batch=2, seq_len=7, decoder_seq_len=3)


def test_config_aliases_win_as_in_transformers():
    # attribute_map aliases are set after the fields: hidden_size/num_hidden_layers override d_model/num_layers,
    # while T5's num_decoder_layers was already defaulted from the num_layers field.
    t5 = reduced("t5-small", "T5ForConditionalGeneration", num_layers=1, num_hidden_layers=2, hidden_size=64, head_dim=16)
    assert_exact(t5, base=False, seq_len=4, decoder_seq_len=2)
    bart = reduced("facebook/bart-base", "BartModel", encoder_layers=1, num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                   decoder_attention_heads=4)
    assert_exact(bart, base=False, seq_len=4, decoder_seq_len=2)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(4, 24), d_kv=st.integers(2, 8), heads=st.integers(1, 4), d_ff=st.integers(4, 40), layers=st.integers(1, 3),
    decoder_layers=st.none() | st.integers(1, 3), vocab=st.integers(20, 100), buckets=st.integers(4, 32),
    ff=st.sampled_from(["relu", "gated-gelu", "gated-silu"]), tied=st.booleans(), head=st.sampled_from(T5_HEADS),
    batch=st.integers(1, 3), seq=st.integers(1, 12), decoder_seq=st.integers(1, 12),
)
def test_random_t5_configs(d, d_kv, heads, d_ff, layers, decoder_layers, vocab, buckets, ff, tied, head, batch, seq, decoder_seq):
    config = {
        "model_type": "t5", "d_model": d, "d_kv": d_kv, "num_heads": heads, "d_ff": d_ff, "num_layers": layers,
        "num_decoder_layers": decoder_layers, "vocab_size": vocab, "relative_attention_num_buckets": buckets,
        "feed_forward_proj": ff, "tie_word_embeddings": tied, "architectures": [head] if head else [],
    }
    assert_exact(config, base=head is None, batch=batch, seq_len=seq, decoder_seq_len=decoder_seq)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.sampled_from([2, 3, 4]), encoder_heads=st.sampled_from([1, 2, 4]), decoder_heads=st.sampled_from([1, 2, 4]),
    encoder_ffn=st.integers(4, 40), decoder_ffn=st.integers(4, 40), encoder_layers=st.integers(1, 3),
    decoder_layers=st.integers(1, 3), vocab=st.integers(20, 100), positions=st.integers(12, 40), scaled=st.booleans(),
    tied=st.booleans(), head=st.sampled_from(BART_HEADS), batch=st.integers(1, 3), seq=st.integers(1, 12),
    decoder_seq=st.integers(1, 12),
)
def test_random_bart_configs(width, encoder_heads, decoder_heads, encoder_ffn, decoder_ffn, encoder_layers, decoder_layers,
                             vocab, positions, scaled, tied, head, batch, seq, decoder_seq):
    config = {
        "model_type": "bart", "d_model": 4 * width, "encoder_attention_heads": encoder_heads,
        "decoder_attention_heads": decoder_heads, "encoder_ffn_dim": encoder_ffn, "decoder_ffn_dim": decoder_ffn,
        "encoder_layers": encoder_layers, "decoder_layers": decoder_layers, "vocab_size": vocab,
        "max_position_embeddings": positions, "scale_embedding": scaled, "tie_word_embeddings": tied,
        "architectures": [head] if head else [],
    }
    assert_exact(config, base=head is None, batch=batch, seq_len=seq, decoder_seq_len=decoder_seq)


@pytest.mark.parametrize(
    "config, reason",
    [
        (reduced("t5-small", "T5ForSequenceClassification"), "T5ForSequenceClassification pools the <eos> tokens"),
        (reduced("facebook/bart-base", "BartForSequenceClassification"), "BartForSequenceClassification pools the <eos> tokens"),
        (reduced("t5-small", "T5ForMystery"), "unsupported architecture T5ForMystery"),
        (reduced("t5-small", "T5ForQuestionAnswering", num_labels=3), "T5ForQuestionAnswering splits its logits"),
        (reduced("t5-small", "T5EncoderModel", is_decoder=True), "T5EncoderModel with is_decoder"),
        (reduced("facebook/bart-base", "BartModel", d_model=10), "d_model 10 is not a multiple of the encoder heads 12"),
    ],
)
def test_refused_variants_are_skipped(config, reason):
    result = get_counter("analytic").count(job_for(config, base=False))
    assert result.status == "skipped" and result.reason.startswith(reason)
