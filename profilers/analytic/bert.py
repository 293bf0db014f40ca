"""BERT (``model_type`` bert), after transformers' ``modeling_bert.py``.

Per layer, with B sequences of n tokens, hidden H, intermediate F and h heads
of size d = H/h (seed 001, MACs):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F  (= 8·B·n·H² when F = 4H)
  layer           12·B·n·H² + 2·B·n²·H  when F = 4H
All projections carry biases (params only: a bias add is not a MAC). The
pooler runs on the first token of each sequence (B·H² MACs); heads follow the
``architectures`` class.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

# Heads by class: does the backbone keep its pooler, and which head runs.
_HEADS = {
    None: True,  # BertModel
    "BertModel": True,
    "BertForMaskedLM": False,
    "BertLMHeadModel": False,
    "BertForPreTraining": True,
    "BertForNextSentencePrediction": True,
    "BertForSequenceClassification": True,
    "BertForTokenClassification": False,
    "BertForQuestionAnswering": False,
}


@family("bert")
def bert(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in _HEADS:
        raise Unsupported(f"unsupported architecture {architecture}")
    if spec.get("add_cross_attention", False):
        raise Unsupported("cross-attention layers (add_cross_attention) are not modelled")
    if spec.get("position_embedding_type", "absolute") != "absolute":
        raise Unsupported(f"position_embedding_type {spec.get('position_embedding_type')}")
    pooler = _HEADS[architecture]
    prefix = "" if architecture in (None, "BertModel") else "bert."
    encoder(spec, b, prefix, pooler)
    head(spec, b, architecture)
    return architecture or "BertModel"


def encoder(spec: Spec, b: Builder, prefix: str, pooler: bool) -> None:
    """Embeddings, L encoder layers and the optional pooler of a BERT backbone."""
    H, L, F = spec.get("hidden_size", 768), spec.get("num_hidden_layers", 12), spec.get("intermediate_size", 3072)
    h = spec.get("num_attention_heads", 12)
    V, P, T = spec.get("vocab_size", 30522), spec.get("max_position_embeddings", 512), spec.get("type_vocab_size", 2)
    B, n = spec.batch, spec.seq_len
    d = H // h
    rows = B * n
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embeddings", "V·H + P·H + T·H + 2·H params", V=V, H=H, P=P, T=T):
        b.embedding(f"{prefix}embeddings.word_embeddings", V, H)
        b.embedding(f"{prefix}embeddings.position_embeddings", P, H)
        b.embedding(f"{prefix}embeddings.token_type_embeddings", T, H)
        b.norm(f"{prefix}embeddings.LayerNorm", H)
    for i in range(L):
        layer = f"{prefix}encoder.layer.{i}"
        with b.group("self-attention Q,K,V,O projections", f"{prefix}encoder.layer.*.attention", "4·B·n·H²", B=B, n=n, H=H):
            for name in ("query", "key", "value"):
                b.linear(f"{layer}.attention.self.{name}", H, h * d, rows=rows, bias=True)
            b.linear(f"{layer}.attention.output.dense", h * d, H, rows=rows, bias=True)
        with b.group("attention scores and weighted sum", f"{prefix}encoder.layer.*.attention.self", "2·B·n²·H", B=B, n=n, H=H):
            b.attention(f"{layer}.attention.self", batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)
        with b.group("feed-forward (intermediate + output)", f"{prefix}encoder.layer.*", "2·B·n·H·F", B=B, n=n, H=H, F=F):
            b.linear(f"{layer}.intermediate.dense", H, F, rows=rows, bias=True)
            b.linear(f"{layer}.output.dense", F, H, rows=rows, bias=True)
        with b.group("layer norms (no MACs)", f"{prefix}encoder.layer.*", "2 x 2·H params", H=H):
            b.norm(f"{layer}.attention.output.LayerNorm", H)
            b.norm(f"{layer}.output.LayerNorm", H)
    layer_note(b, B=B, n=n, H=H, F=F)
    if pooler:
        with b.group("pooler (first token)", f"{prefix}pooler", "B·H²", B=B, H=H):
            b.linear(f"{prefix}pooler.dense", H, H, rows=B, bias=True)


def layer_note(b: Builder, *, B: int, n: int, H: int, F: int) -> None:
    """Seed 001's per-layer closed form and where attention takes over."""
    macs = 4 * B * n * H * H + 2 * B * n * H * F + 2 * B * n * n * H
    if F == 4 * H:
        b.formula_note("one encoder layer", "12·B·n·H² + 2·B·n²·H", macs, B=B, n=n, H=H)
        b.notes.append(
            f"self-attention (4nH² + 2n²H) outgrows the FFN (8nH²) once n > 2H = {2 * H:,} tokens; "
            f"the quadratic 2n²H outgrows all 12nH² once n > 6H = {6 * H:,}"
        )
    else:
        b.formula_note("one encoder layer", "4·B·n·H² + 2·B·n·H·F + 2·B·n²·H", macs, B=B, n=n, H=H, F=F)


def head(spec: Spec, b: Builder, architecture: str | None) -> None:
    H, V = spec.get("hidden_size", 768), spec.get("vocab_size", 30522)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    if architecture in ("BertForMaskedLM", "BertLMHeadModel", "BertForPreTraining"):
        with b.group("masked-LM head (decoder tied to the word embeddings)", "cls.predictions", "B·n·H² + B·n·H·V", B=B, n=n, H=H, V=V):
            b.linear("cls.predictions.transform.dense", H, H, rows=rows, bias=True)
            b.norm("cls.predictions.transform.LayerNorm", H)
            b.param("cls.predictions.bias", V)
            b.matmul("cls.predictions.decoder", rows * H * V, type="Linear")
    if architecture in ("BertForPreTraining", "BertForNextSentencePrediction"):
        with b.group("next-sentence head", "cls.seq_relationship", "B·H·2", B=B, H=H):
            b.linear("cls.seq_relationship", H, 2, rows=B, bias=True)
    if architecture == "BertForSequenceClassification":
        with b.group("classifier (pooled)", "classifier", "B·H·labels", B=B, H=H, labels=spec.num_labels):
            b.linear("classifier", H, spec.num_labels, rows=B, bias=True)
    if architecture == "BertForTokenClassification":
        with b.group("classifier (every token)", "classifier", "B·n·H·labels", B=B, n=n, H=H, labels=spec.num_labels):
            b.linear("classifier", H, spec.num_labels, rows=rows, bias=True)
    if architecture == "BertForQuestionAnswering":
        with b.group("span head (every token)", "qa_outputs", "B·n·H·labels", B=B, n=n, H=H, labels=spec.num_labels):
            b.linear("qa_outputs", H, spec.num_labels, rows=rows, bias=True)
