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

from typing import NamedTuple

from . import Builder, Spec, Unsupported, family

# Head classes: the RoBERTa backbone under them never has a pooler.
_HEADS = (
    "RobertaForMaskedLM", "RobertaForCausalLM", "RobertaForSequenceClassification",
    "RobertaForTokenClassification", "RobertaForQuestionAnswering",
)
_CROSS_NOTE = "cross-attention layers (add_cross_attention) are built but not run without encoder_hidden_states"


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


def refusal(architecture: str) -> str:
    """Why a class is refused (shared by the BERT-like families here)."""
    if architecture.endswith("ForMultipleChoice"):
        return f"{architecture} takes [batch, choices, seq] inputs, which are not modelled"
    return f"unsupported architecture {architecture}"


def check_span_head(spec: Spec, architecture: str | None) -> None:
    """A question-answering head splits its logits into start and end: 2 labels."""
    if architecture is not None and architecture.endswith("ForQuestionAnswering") and spec.num_labels != 2:
        raise Unsupported(f"{architecture} with num_labels {spec.num_labels}: it splits start and end logits (2)")


class Sizes(NamedTuple):
    """Hidden width H, intermediate width F, heads h and layers L of a BERT-style stack."""

    H: int
    F: int
    h: int
    L: int


def sizes(spec: Spec, *, H: int, F: int, h: int, L: int) -> Sizes:
    """The config's sizes, with the family's defaults for missing fields."""
    return Sizes(
        spec.get("hidden_size", H), spec.get("intermediate_size", F), spec.get("num_attention_heads", h),
        spec.get("num_hidden_layers", L),
    )


def check_layers(spec: Spec, size: Sizes) -> None:
    """Variants of the BERT-style layer stack that have no closed form here."""
    if size.H % size.h:
        raise Unsupported(f"hidden_size {size.H} is not a multiple of num_attention_heads {size.h}")
    if spec.get("add_cross_attention", False) and not spec.get("is_decoder", False):
        raise Unsupported("add_cross_attention needs is_decoder (transformers refuses the config)")


def embeddings(spec: Spec, b: Builder, prefix: str, H: int) -> None:
    V, P, T = spec.get("vocab_size", 50265), spec.get("max_position_embeddings", 512), spec.get("type_vocab_size", 2)
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embeddings", "V·H + T·H + P·H + 2·H params", V=V, T=T, P=P, H=H):
        b.embedding(f"{prefix}embeddings.word_embeddings", V, H)
        b.embedding(f"{prefix}embeddings.token_type_embeddings", T, H)
        b.norm(f"{prefix}embeddings.LayerNorm", H)
        b.embedding(f"{prefix}embeddings.position_embeddings", P, H)


def encoder_layers(spec: Spec, b: Builder, stack: str, size: Sizes) -> None:
    """The L BERT-style layers under ``stack`` (``<prefix>encoder.layer``)."""
    H, F, h, L = size
    B, n = spec.batch, spec.seq_len
    rows = B * n
    for i in range(L):
        layer = f"{stack}.{i}"
        with b.group("self-attention Q,K,V,O projections", f"{stack}.*.attention", "4·B·n·H²", B=B, n=n, H=H):
            for name in ("query", "key", "value"):
                b.linear(f"{layer}.attention.self.{name}", H, H, rows=rows, bias=True)
            b.linear(f"{layer}.attention.output.dense", H, H, rows=rows, bias=True)
        with b.group("attention scores and weighted sum", f"{stack}.*.attention.self", "2·B·n²·H", B=B, n=n, H=H):
            b.attention(f"{layer}.attention.self", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
        if spec.get("add_cross_attention", False):
            cross_attention(b, layer, stack, H)
        with b.group("feed-forward (intermediate + output)", f"{stack}.*", "2·B·n·H·F", B=B, n=n, H=H, F=F):
            b.linear(f"{layer}.intermediate.dense", H, F, rows=rows, bias=True)
            b.linear(f"{layer}.output.dense", F, H, rows=rows, bias=True)
        with b.group("layer norms (no MACs)", f"{stack}.*", "2 x 2·H params", H=H):
            b.norm(f"{layer}.attention.output.LayerNorm", H)
            b.norm(f"{layer}.output.LayerNorm", H)


def cross_attention(b: Builder, layer: str, stack: str, H: int) -> None:
    """Cross-attention runs only on encoder_hidden_states, which input_ids-only
    inputs never give: its weights count, its products do not."""
    with b.group("cross-attention (built, not run: params only)", f"{stack}.*.crossattention", "4·H² + 6·H params", H=H):
        for name in ("query", "key", "value"):
            b.linear(f"{layer}.crossattention.self.{name}", H, H, rows=0, bias=True)
        b.linear(f"{layer}.crossattention.output.dense", H, H, rows=0, bias=True)
        b.norm(f"{layer}.crossattention.output.LayerNorm", H)
    if _CROSS_NOTE not in b.notes:
        b.notes.append(_CROSS_NOTE)


def head(spec: Spec, b: Builder, architecture: str, H: int) -> None:
    B, n, labels = spec.batch, spec.seq_len, spec.num_labels
    if architecture in ("RobertaForMaskedLM", "RobertaForCausalLM"):
        lm_head(spec, b, H, spec.get("vocab_size", 50265))
    elif architecture == "RobertaForSequenceClassification":
        with b.group("classification head (first token)", "classifier", "B·H² + B·H·labels", B=B, H=H, labels=labels):
            b.linear("classifier.dense", H, H, rows=B, bias=True)
            b.linear("classifier.out_proj", H, labels, rows=B, bias=True)
    elif architecture == "RobertaForTokenClassification":
        with b.group("classifier (every token)", "classifier", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("classifier", H, labels, rows=B * n, bias=True)
    else:  # RobertaForQuestionAnswering
        with b.group("span head (every token)", "qa_outputs", "B·n·H·2", B=B, n=n, H=H):
            b.linear("qa_outputs", H, 2, rows=B * n, bias=True)


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
