"""RoBERTa (``model_type`` roberta), after transformers' ``models/roberta/modeling_roberta.py``.

The layers are BERT's. Per layer, with B sequences of n tokens, hidden H,
intermediate F and h heads of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F  (= 8·B·n·H² when F = 4H)
All projections carry biases (params only: a bias add is not a MAC). Only the
bare RobertaModel keeps its pooler (B·H², first token); every head class
builds the backbone without it. The masked-LM decoder (B·n·H·V) is tied to the
word embeddings and its bias to ``lm_head.bias``; ``tie_word_embeddings:
false`` unties both. Positions start at padding_idx + 1 (lookups, no MACs),
so a sequence may be at most max_position_embeddings - pad_token_id - 1 long.
``add_cross_attention`` layers (decoders only) are built but never run on
``input_ids`` alone: params, no MACs.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from ._bertlike import (
    check_layers, check_span_head, encoder_layers, first_token_classifier, refusal, sizes, span_head, token_classifier,
)

# Head classes: the RoBERTa backbone under them never has a pooler.
_HEADS = (
    "RobertaForMaskedLM", "RobertaForCausalLM", "RobertaForSequenceClassification",
    "RobertaForTokenClassification", "RobertaForQuestionAnswering",
)


@family("roberta")
def roberta(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    base = architecture in (None, "RobertaModel")
    if not base and architecture not in _HEADS:
        raise Unsupported(refusal(architecture))
    size = sizes(spec, H=768, F=3072, h=12, L=12)
    check_layers(spec, size)
    check_span_head(spec, architecture)
    check_positions(spec)
    prefix = "" if base else "roberta."
    embeddings(spec, b, prefix, size.H)
    encoder_layers(spec, b, f"{prefix}encoder.layer", size)
    if base:
        with b.group("pooler (first token)", "pooler", "B·H²", B=spec.batch, H=size.H):
            b.linear("pooler.dense", size.H, size.H, rows=spec.batch, bias=True)
    else:
        head(spec, b, architecture, size.H)
    return architecture or "RobertaModel"


def check_positions(spec: Spec) -> None:
    """Positions run from pad_token_id + 1 to pad_token_id + n: they must fit the table."""
    pad = spec.config.get("pad_token_id", 1)
    if pad is None:
        raise Unsupported("RoBERTa without a pad_token_id cannot number its positions")
    P = spec.get("max_position_embeddings", 512)
    if spec.seq_len + pad >= P:
        raise Unsupported(
            f"sequence length {spec.seq_len} needs position {spec.seq_len + pad}, beyond the "
            f"{P} position embeddings (RoBERTa positions start at pad_token_id + 1)"
        )


def embeddings(spec: Spec, b: Builder, prefix: str, H: int) -> None:
    V, P, T = spec.get("vocab_size", 50265), spec.get("max_position_embeddings", 512), spec.get("type_vocab_size", 2)
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embeddings", "V·H + T·H + P·H + 2·H params", V=V, T=T, P=P, H=H):
        b.embedding(f"{prefix}embeddings.word_embeddings", V, H)
        b.embedding(f"{prefix}embeddings.token_type_embeddings", T, H)
        b.norm(f"{prefix}embeddings.LayerNorm", H)
        b.embedding(f"{prefix}embeddings.position_embeddings", P, H)


def head(spec: Spec, b: Builder, architecture: str, H: int) -> None:
    if architecture in ("RobertaForMaskedLM", "RobertaForCausalLM"):
        lm_head(spec, b, H, spec.get("vocab_size", 50265))
    elif architecture == "RobertaForSequenceClassification":
        first_token_classifier(spec, b, H, "classifier.dense", "classifier.out_proj")
    elif architecture == "RobertaForTokenClassification":
        token_classifier(spec, b, H)
    else:  # RobertaForQuestionAnswering
        span_head(spec, b, H)


def lm_head(spec: Spec, b: Builder, H: int, V: int) -> None:
    """dense + layer norm + decoder over every token; the decoder's weight and
    bias are the word embeddings and ``lm_head.bias`` unless untied."""
    rows = spec.batch * spec.seq_len
    tied = spec.get("tie_word_embeddings", True)
    name = "LM head (decoder tied to the word embeddings)" if tied else "LM head (untied decoder)"
    with b.group(name, "lm_head", "B·n·H² + B·n·H·V", B=spec.batch, n=spec.seq_len, H=H, V=V):
        b.param("lm_head.bias", V)
        b.linear("lm_head.dense", H, H, rows=rows, bias=True)
        b.norm("lm_head.layer_norm", H)
        if tied:
            b.matmul("lm_head.decoder", rows * H * V, type="Linear")
        else:
            b.linear("lm_head.decoder", H, V, rows=rows, bias=True)
