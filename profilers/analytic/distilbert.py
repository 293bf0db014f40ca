"""DistilBERT (``model_type`` distilbert), after transformers' ``models/distilbert/modeling_distilbert.py``.

Sizes come as ``dim`` H, ``hidden_dim`` F (3072 by default, whatever H),
``n_heads`` h and ``n_layers`` L; the generic names (hidden_size,
num_attention_heads, num_hidden_layers) are aliases that win when both are
given. Per layer, with B sequences of n tokens and heads of size d = H/h, in
MACs (FLOPs = 2 x MACs):
  self-attention  q,k,v,out projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F
All projections carry biases (params only: a bias add is not a MAC). The
embeddings are word and position tables only (no token types);
``sinusoidal_pos_embds`` fills the position table with fixed values, but it is
still an nn.Embedding parameter, so it counts the same. No pooler. Heads: the
masked-LM head maps every token H -> H -> V, the vocabulary projection tied to
the word embeddings (its own V-element bias) unless ``tie_word_embeddings``
is false; sequence classification runs pre_classifier + classifier on the
first token.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from ._bertlike import check_span_head, first_token_classifier, refusal, span_head, token_classifier

_HEADS = (
    "DistilBertForMaskedLM", "DistilBertForSequenceClassification", "DistilBertForTokenClassification",
    "DistilBertForQuestionAnswering",
)


@family("distilbert")
def distilbert(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    base = architecture in (None, "DistilBertModel")
    if not base and architecture not in _HEADS:
        raise Unsupported(refusal(architecture))
    H, h = dim(spec), _field(spec, "num_attention_heads", "n_heads", 12)
    if H % h:
        raise Unsupported(f"dim {H} is not a multiple of n_heads {h}")
    check_span_head(spec, architecture)
    prefix = "" if base else "distilbert."
    embeddings(spec, b, prefix, H)
    for i in range(_field(spec, "num_hidden_layers", "n_layers", 6)):
        block(spec, b, f"{prefix}transformer.layer", i, H, h)
    if not base:
        head(spec, b, architecture, H)
    return architecture or "DistilBertModel"


def _field(spec: Spec, alias: str, name: str, default: int) -> int:
    """A DistilBERT field with a generic alias: DistilBertConfig's attribute_map
    lets the alias win when both are given."""
    return spec.get(alias, spec.get(name, default))


def dim(spec: Spec) -> int:
    return _field(spec, "hidden_size", "dim", 768)


def embeddings(spec: Spec, b: Builder, prefix: str, H: int) -> None:
    V, P = spec.get("vocab_size", 30522), spec.get("max_position_embeddings", 512)
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embeddings", "V·H + P·H + 2·H params", V=V, P=P, H=H):
        b.embedding(f"{prefix}embeddings.word_embeddings", V, H)
        b.embedding(f"{prefix}embeddings.position_embeddings", P, H)
        b.norm(f"{prefix}embeddings.LayerNorm", H)


def block(spec: Spec, b: Builder, stack: str, i: int, H: int, h: int) -> None:
    """One TransformerBlock: attention, sa_layer_norm, FFN, output_layer_norm."""
    F = spec.get("hidden_dim", 3072)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    layer = f"{stack}.{i}"
    with b.group("self-attention q,k,v,out projections", f"{stack}.*.attention", "4·B·n·H²", B=B, n=n, H=H):
        for name in ("q_lin", "k_lin", "v_lin", "out_lin"):
            b.linear(f"{layer}.attention.{name}", H, H, rows=rows, bias=True)
    with b.group("attention scores and weighted sum", f"{stack}.*.attention", "2·B·n²·H", B=B, n=n, H=H):
        b.attention(f"{layer}.attention", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
    with b.group("feed-forward (lin1 + lin2)", f"{stack}.*.ffn", "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{layer}.ffn.lin1", H, F, rows=rows, bias=True)
        b.linear(f"{layer}.ffn.lin2", F, H, rows=rows, bias=True)
    with b.group("layer norms (no MACs)", f"{stack}.*", "2 x 2·H params", H=H):
        b.norm(f"{layer}.sa_layer_norm", H)
        b.norm(f"{layer}.output_layer_norm", H)


def head(spec: Spec, b: Builder, architecture: str, H: int) -> None:
    if architecture == "DistilBertForMaskedLM":
        mlm_head(spec, b, H)
    elif architecture == "DistilBertForSequenceClassification":
        first_token_classifier(spec, b, H, "pre_classifier", "classifier")
    elif architecture == "DistilBertForTokenClassification":
        token_classifier(spec, b, H)
    else:  # DistilBertForQuestionAnswering
        span_head(spec, b, H)


def mlm_head(spec: Spec, b: Builder, H: int) -> None:
    """vocab_transform + layer norm, then vocab_projector H -> V, on every token."""
    V = spec.get("vocab_size", 30522)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    with b.group("masked-LM transform (every token)", "vocab_transform", "B·n·H²", B=B, n=n, H=H):
        b.linear("vocab_transform", H, H, rows=rows, bias=True)
        b.norm("vocab_layer_norm", H)
    if spec.get("tie_word_embeddings", True):
        with b.group("vocabulary projection (tied to the word embeddings)", "vocab_projector", "B·n·H·V", B=B, n=n, H=H, V=V):
            b.matmul("vocab_projector", rows * H * V, params=V, type="Linear")
    else:
        with b.group("vocabulary projection (untied)", "vocab_projector", "B·n·H·V", B=B, n=n, H=H, V=V):
            b.linear("vocab_projector", H, V, rows=rows, bias=True)
