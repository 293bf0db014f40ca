"""Analytic RoBERTa, ALBERT, DistilBERT, ELECTRA and ViT: real configs, every
head class and random small configs, against the built model and
FlopCounterMode (see analytic_check.py), plus one hand-checked closed form
per family and the variants the families refuse."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelprof.profilers.counters import get_counter

from .analytic_check import assert_exact, job_for, macs_by_module
from .conftest import BUNDLED

TEXT = ["roberta-base", "albert-base-v2", "distilbert-base-uncased", "google/electra-base-discriminator"]
VISION = ["google/vit-base-patch16-224", "google/vit-large-patch16-224"]
HEADS = {
    "roberta": ["RobertaForMaskedLM", "RobertaForCausalLM", "RobertaForSequenceClassification",
                "RobertaForTokenClassification", "RobertaForQuestionAnswering"],
    "albert": ["AlbertForPreTraining", "AlbertForMaskedLM", "AlbertForSequenceClassification",
               "AlbertForTokenClassification", "AlbertForQuestionAnswering"],
    "distilbert": ["DistilBertForMaskedLM", "DistilBertForSequenceClassification", "DistilBertForTokenClassification",
                   "DistilBertForQuestionAnswering"],
    "electra": ["ElectraForPreTraining", "ElectraForMaskedLM", "ElectraForCausalLM", "ElectraForSequenceClassification",
                "ElectraForTokenClassification", "ElectraForQuestionAnswering"],
    "vit": ["ViTForImageClassification", "ViTForMaskedImageModeling"],
}
SMALL = {  # reduced versions of the bundled configs, for the head classes
    "roberta": dict(model_type="roberta", hidden_size=16, num_attention_heads=2, num_hidden_layers=2, intermediate_size=24,
                    vocab_size=50, max_position_embeddings=40, type_vocab_size=1),
    "albert": dict(model_type="albert", embedding_size=8, hidden_size=16, num_attention_heads=2, num_hidden_layers=3,
                   num_hidden_groups=2, inner_group_num=2, intermediate_size=24, vocab_size=50),
    "distilbert": dict(model_type="distilbert", dim=16, n_heads=2, n_layers=2, hidden_dim=24, vocab_size=50),
    "electra": dict(model_type="electra", embedding_size=8, hidden_size=16, num_attention_heads=2, num_hidden_layers=2,
                    intermediate_size=24, vocab_size=50),
    "vit": dict(model_type="vit", hidden_size=16, num_attention_heads=2, num_hidden_layers=2, intermediate_size=24,
                image_size=32, patch_size=8, encoder_stride=8),
}
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bundled(name: str) -> dict:
    return json.loads((BUNDLED / name / "config.json").read_text())


def labels(count: int) -> dict:
    return {"id2label": {str(i): str(i) for i in range(count)}}


def groups(analytic) -> dict:
    return {g["name"]: g for g in analytic.groups}


def skipped(config: dict, **inputs) -> str:
    result = get_counter("analytic").count(job_for(config, **{"base": False, **inputs}))
    assert result.status == "skipped"
    return result.reason


@pytest.mark.parametrize("name", TEXT)
@pytest.mark.parametrize("base", [True, False])
def test_real_text_configs(name, base):
    assert_exact(bundled(name), base=base, batch=2, seq_len=8 if base else 24)


@pytest.mark.parametrize("name", VISION)
@pytest.mark.parametrize("base", [True, False])
def test_real_vision_configs(name, base):
    assert_exact(bundled(name), base=base, batch=2)


@pytest.mark.parametrize("base", [True, False])
def test_vit_built_for_another_image_size(base):
    assert_exact(dict(bundled("google/vit-base-patch16-224"), image_size=96), base=base, batch=2)


@pytest.mark.parametrize("base", [True, False])
def test_vit_run_at_another_image_size_interpolates_positions(base):
    """A 224 model on 288-pixel images: transformers refuses unless the position
    table is interpolated, so the reference forward passes interpolate_pos_encoding."""
    from modelprof.profilers.counters.harness import prepare

    job = job_for(bundled("google/vit-base-patch16-224"), base=base, batch=2, image_size=288)
    analytic = get_counter("analytic").count(job)
    prepared = prepare(job, "meta")
    prepared.kwargs["interpolate_pos_encoding"] = True
    assert analytic.params == sum(p.numel() for p in prepared.model.parameters())
    assert macs_by_module(analytic) == macs_by_module(get_counter("torch").measure(prepared, job))
    assert "interpolated" in analytic.notes[0]


def test_closed_forms():
    H, F, n = 768, 3072, 128
    layer = 4 * H * H + 2 * H * F + 9 * H + F  # Q,K,V,O + FFN weights and biases + 2 layer norms: 7,087,872
    # RoBERTa-base: V·H + P·H + T·H + 2H (embeddings) + 12 layers + H² + H (pooler)
    roberta = assert_exact(bundled("roberta-base"), base=True, seq_len=n)
    assert roberta.params == 50265 * H + 514 * H + 1 * H + 2 * H + 12 * layer + H * H + H == 124_645_632
    assert groups(roberta)["attention scores and weighted sum"]["macs"] == 12 * 2 * n * n * H
    # ALBERT-base-v2: V·E + P·E + T·E + 2E, E·H + H mapping, ONE shared layer, pooler; 12 applications of its MACs
    albert = assert_exact(bundled("albert-base-v2"), base=True, seq_len=n)
    assert albert.params == 30000 * 128 + 512 * 128 + 2 * 128 + 2 * 128 + 128 * H + H + layer + H * H + H == 11_683_584
    shared = groups(albert)
    assert shared["shared layers: parameters, counted once"]["params"] == layer
    assert shared["feed-forward (ffn + ffn_output)"]["count"] == 12
    assert shared["feed-forward (ffn + ffn_output)"]["macs"] == 12 * 2 * n * H * F
    # DistilBERT-base: V·H + P·H + 2H (no token types) + 6 layers, no pooler
    distil = assert_exact(bundled("distilbert-base-uncased"), base=True, seq_len=n)
    assert distil.params == 30522 * H + 512 * H + 2 * H + 6 * layer == 66_362_880
    assert distil.macs == 6 * (12 * n * H * H + 2 * n * n * H)  # F = 4H
    # ELECTRA-base discriminator (E = H: no projection) + discriminator head H² + H + H + 1
    electra = assert_exact(bundled("google/electra-base-discriminator"), base=False, seq_len=n)
    assert electra.params == 30522 * H + 512 * H + 2 * H + 2 * H + 12 * layer + H * H + H + H + 1 == 109_483_009
    # ViT-L/16: cls H + 197 positions·H + patch conv 3·16²·H + H, 24 layers, final norm 2H, classifier H·1000 + 1000
    L, FL = 1024, 4096
    vit = assert_exact(bundled("google/vit-large-patch16-224"), base=False)
    vit_layer = 4 * L * L + 4 * L + 2 * L * FL + FL + L + 4 * L
    assert vit.params == L + 197 * L + 3 * 256 * L + L + 24 * vit_layer + 2 * L + 1000 * L + 1000 == 304_326_632
    assert groups(vit)["patch embedding (kernel = stride = P)"]["macs"] == 196 * 3 * 16 * 16 * L


@pytest.mark.parametrize("head", [(family, name) for family, names in HEADS.items() for name in names], ids=lambda h: h[1])
def test_every_head_class(head):
    family, name = head
    config = dict(SMALL[family], architectures=[name], **labels(2 if name.endswith("QuestionAnswering") else 3))
    if name.endswith("CausalLM"):
        config["is_decoder"] = True
    assert_exact(config, base=False, batch=2, seq_len=8)


@pytest.mark.parametrize("family", ["roberta", "albert", "distilbert", "electra"])
def test_untied_decoders(family):
    name = {"roberta": "RobertaForMaskedLM", "albert": "AlbertForMaskedLM", "distilbert": "DistilBertForMaskedLM",
            "electra": "ElectraForMaskedLM"}[family]
    assert_exact(dict(SMALL[family], architectures=[name], tie_word_embeddings=False), base=False, batch=2, seq_len=8)


def test_edge_variants():
    # ALBERT with more layer groups than steps: groups 2 and 3 are built, never applied (params, no MACs)
    idle = assert_exact(dict(SMALL["albert"], num_hidden_layers=2, num_hidden_groups=4), base=True, batch=2, seq_len=8)
    assert groups(idle)["self-attention Q,K,V,O projections"]["count"] == 2 * 2  # L·k applications
    # ViT with num_labels 0: the classifier is an Identity
    assert_exact(dict(SMALL["vit"], architectures=["ViTForImageClassification"], num_labels=0), base=False, batch=2)


def test_refusals():
    for family, name in [("roberta", "RobertaForMultipleChoice"), ("albert", "AlbertForMultipleChoice"),
                         ("distilbert", "DistilBertForMultipleChoice"), ("electra", "ElectraForMultipleChoice")]:
        assert "[batch, choices, seq]" in skipped(dict(SMALL[family], architectures=[name]))
    assert skipped(dict(SMALL["roberta"], architectures=["BertForMaskedLM"])) == "unsupported architecture BertForMaskedLM"
    assert skipped(dict(SMALL["vit"], architectures=["ViTMAEForPreTraining"])) == "unsupported architecture ViTMAEForPreTraining"
    assert "num_labels 3" in skipped(dict(SMALL["electra"], architectures=["ElectraForQuestionAnswering"], **labels(3)))
    assert "pad_token_id + 1" in skipped(SMALL["roberta"], seq_len=39)  # positions 2..40 overflow a 40-row table
    assert "multiple of" in skipped(dict(SMALL["albert"], num_attention_heads=3))
    assert "pairs" in skipped(dict(SMALL["vit"], image_size=[32, 32]))


HEAD_OR_BASE = {family: st.sampled_from([None, *names]) for family, names in HEADS.items()}


def _check(config: dict, head: str | None, batch: int, seq: int, label_count: int) -> None:
    if head is not None and head.endswith("QuestionAnswering"):
        label_count = 2
    config = dict(config, architectures=[head] if head else [], **labels(label_count))
    assert_exact(config, base=head is None, batch=batch, seq_len=seq)


@SETTINGS
@given(heads=st.integers(1, 3), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3), inter=st.integers(4, 32),
       vocab=st.integers(20, 80), types=st.integers(1, 2), pad=st.integers(0, 2), tied=st.booleans(),
       decoder=st.sampled_from(["encoder", "decoder", "cross-attention"]), head=HEAD_OR_BASE["roberta"],
       batch=st.integers(1, 3), seq=st.integers(1, 12), label_count=st.integers(1, 4))
def test_random_roberta(heads, head_dim, layers, inter, vocab, types, pad, tied, decoder, head, batch, seq, label_count):
    config = {
        "model_type": "roberta", "hidden_size": heads * head_dim, "num_attention_heads": heads, "num_hidden_layers": layers,
        "intermediate_size": inter, "vocab_size": vocab, "max_position_embeddings": 16, "type_vocab_size": types,
        "pad_token_id": pad, "tie_word_embeddings": tied, "is_decoder": decoder != "encoder",
        "add_cross_attention": decoder == "cross-attention",
    }
    _check(config, head, batch, seq, label_count)


@SETTINGS
@given(embedding=st.integers(2, 12), heads=st.integers(1, 3), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 4),
       hidden_groups=st.integers(1, 4), inner=st.integers(1, 3), inter=st.integers(4, 32), tied=st.booleans(),
       head=HEAD_OR_BASE["albert"], batch=st.integers(1, 3), seq=st.integers(1, 12), label_count=st.integers(1, 4))
def test_random_albert(embedding, heads, head_dim, layers, hidden_groups, inner, inter, tied, head, batch, seq, label_count):
    config = {
        "model_type": "albert", "embedding_size": embedding, "hidden_size": heads * head_dim, "num_attention_heads": heads,
        "num_hidden_layers": layers, "num_hidden_groups": hidden_groups, "inner_group_num": inner,
        "intermediate_size": inter, "vocab_size": 40, "max_position_embeddings": 16, "tie_word_embeddings": tied,
    }
    _check(config, head, batch, seq, label_count)


@SETTINGS
@given(heads=st.integers(1, 3), head_dim=st.sampled_from([4, 8]), layers=st.integers(1, 3), inter=st.integers(4, 32),
       sinusoidal=st.booleans(), aliases=st.booleans(), tied=st.booleans(), head=HEAD_OR_BASE["distilbert"],
       batch=st.integers(1, 3), seq=st.integers(1, 12), label_count=st.integers(1, 4))
def test_random_distilbert(heads, head_dim, layers, inter, sinusoidal, aliases, tied, head, batch, seq, label_count):
    names = ("hidden_size", "num_attention_heads", "num_hidden_layers") if aliases else ("dim", "n_heads", "n_layers")
    config = {
        "model_type": "distilbert", **dict(zip(names, (heads * head_dim, heads, layers))), "hidden_dim": inter,
        "vocab_size": 40, "max_position_embeddings": 16, "sinusoidal_pos_embds": sinusoidal, "tie_word_embeddings": tied,
    }
    _check(config, head, batch, seq, label_count)


@SETTINGS
@given(embedding=st.sampled_from([None, 6, 12]), heads=st.integers(1, 3), head_dim=st.sampled_from([4, 8]),
       layers=st.integers(1, 3), inter=st.integers(4, 32), tied=st.booleans(), head=HEAD_OR_BASE["electra"],
       batch=st.integers(1, 3), seq=st.integers(1, 12), label_count=st.integers(1, 4))
def test_random_electra(embedding, heads, head_dim, layers, inter, tied, head, batch, seq, label_count):
    hidden = heads * head_dim
    config = {
        "model_type": "electra", "embedding_size": embedding or hidden, "hidden_size": hidden,
        "num_attention_heads": heads, "num_hidden_layers": layers, "intermediate_size": inter, "vocab_size": 40,
        "max_position_embeddings": 16, "tie_word_embeddings": tied, "is_decoder": head == "ElectraForCausalLM",
    }
    _check(config, head, batch, seq, label_count)


@SETTINGS
@given(heads=st.integers(1, 3), head_dim=st.sampled_from([4, 8]), explicit_head_dim=st.sampled_from([None, 3]),
       layers=st.integers(1, 2), inter=st.integers(4, 32), patch=st.sampled_from([2, 4, 8]), grid=st.integers(1, 4),
       leftover=st.integers(0, 1), channels=st.integers(1, 3), qkv_bias=st.booleans(), stride=st.integers(1, 4),
       pooled=st.sampled_from([None, 5]), head=HEAD_OR_BASE["vit"], batch=st.integers(1, 2), label_count=st.integers(0, 4))
def test_random_vit(heads, head_dim, explicit_head_dim, layers, inter, patch, grid, leftover, channels, qkv_bias, stride,
                    pooled, head, batch, label_count):
    config = {
        "model_type": "vit", "hidden_size": heads * head_dim, "num_attention_heads": heads, "num_hidden_layers": layers,
        "intermediate_size": inter, "image_size": patch * grid + leftover, "patch_size": patch, "num_channels": channels,
        "qkv_bias": qkv_bias, "encoder_stride": stride, "architectures": [head] if head else [], "num_labels": label_count,
    }
    if explicit_head_dim:
        config["head_dim"] = explicit_head_dim
    if pooled:
        config["pooler_output_size"] = pooled
    assert_exact(config, base=head is None, batch=batch)
