"""ELECTRA (``model_type`` electra), after transformers' ``models/electra/modeling_electra.py``.

Embeddings of width E (``embedding_size``) feed BERT's layers of width H; when
E != H a projection maps them up (B·n·E·H MACs). Per layer, with B sequences
of n tokens, intermediate F and h heads of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F
All projections carry biases (params only: a bias add is not a MAC). There is
no pooler. Heads: the discriminator (ElectraForPreTraining) scores every token
(B·n·H² + B·n·H); the generator (ForMaskedLM, ForCausalLM) maps every token
H -> E -> V, its vocabulary projection tied to the word embeddings (its own
V-element bias) unless ``tie_word_embeddings`` is false; sequence
classification runs dense + out_proj on the first token. Cross-attention
layers (``add_cross_attention``, decoders only) are built, not run: params only.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from ._bertlike import (
    check_layers, check_span_head, encoder_layers, first_token_classifier, lookups, refusal, sizes, span_head,
    token_classifier,
)

_HEADS = (
    "ElectraForPreTraining", "ElectraForMaskedLM", "ElectraForCausalLM", "ElectraForSequenceClassification",
    "ElectraForTokenClassification", "ElectraForQuestionAnswering",
)


@family("electra")
def electra(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    base = architecture in (None, "ElectraModel")
    if not base and architecture not in _HEADS:
        raise Unsupported(refusal(architecture))
    size = sizes(spec, H=256, F=1024, h=4, L=12)
    check_layers(spec, size)
    check_span_head(spec, architecture)
    prefix = "" if base else "electra."
    embeddings(spec, b, prefix, size.H)
    encoder_layers(spec, b, f"{prefix}encoder.layer", size)
    if not base:
        head(spec, b, architecture, size.H)
    return architecture or "ElectraModel"


def embeddings(spec: Spec, b: Builder, prefix: str, H: int) -> None:
    """Lookups of width E, then ``embeddings_project`` E -> H when E != H."""
    E = spec.get("embedding_size", 128)
    lookups(spec, b, prefix, E, vocab=30522)
    if E != H:
        path = f"{prefix}embeddings_project"
        with b.group("embedding projection E -> H", path, "B·n·E·H", B=spec.batch, n=spec.seq_len, E=E, H=H):
            b.linear(path, E, H, rows=spec.batch * spec.seq_len, bias=True)


def head(spec: Spec, b: Builder, architecture: str, H: int) -> None:
    B, n = spec.batch, spec.seq_len
    rows = B * n
    if architecture == "ElectraForPreTraining":
        with b.group("discriminator (every token)", "discriminator_predictions", "B·n·H² + B·n·H", B=B, n=n, H=H):
            b.linear("discriminator_predictions.dense", H, H, rows=rows, bias=True)
            b.linear("discriminator_predictions.dense_prediction", H, 1, rows=rows, bias=True)
    elif architecture in ("ElectraForMaskedLM", "ElectraForCausalLM"):
        generator(spec, b, H)
    elif architecture == "ElectraForSequenceClassification":
        first_token_classifier(spec, b, H, "classifier.dense", "classifier.out_proj")
    elif architecture == "ElectraForTokenClassification":
        token_classifier(spec, b, H)
    else:  # ElectraForQuestionAnswering
        span_head(spec, b, H)


def generator(spec: Spec, b: Builder, H: int) -> None:
    """dense H -> E + layer norm, then the vocabulary projection E -> V."""
    E, V = spec.get("embedding_size", 128), spec.get("vocab_size", 30522)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    with b.group("generator predictions H -> E (every token)", "generator_predictions", "B·n·H·E", B=B, n=n, H=H, E=E):
        b.norm("generator_predictions.LayerNorm", E)
        b.linear("generator_predictions.dense", H, E, rows=rows, bias=True)
    if spec.get("tie_word_embeddings", True):
        with b.group("generator LM head (tied to the word embeddings)", "generator_lm_head", "B·n·E·V", B=B, n=n, E=E, V=V):
            b.matmul("generator_lm_head", rows * E * V, params=V, type="Linear")
    else:
        with b.group("generator LM head (untied)", "generator_lm_head", "B·n·E·V", B=B, n=n, E=E, V=V):
            b.linear("generator_lm_head", E, V, rows=rows, bias=True)
