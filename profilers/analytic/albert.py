"""ALBERT (``model_type`` albert), after transformers' ``models/albert/modeling_albert.py``.

Factorised embeddings: lookups of width E (``embedding_size``), mapped up to
the hidden width H by ``embedding_hidden_mapping_in`` (B·n·E·H MACs).
Shared layers: G = ``num_hidden_groups`` groups of k = ``inner_group_num``
layers hold the parameters; the encoder runs L = ``num_hidden_layers`` steps,
step i applying group int(i / (L / G)) (all k of its layers), so L·k layer
applications in all. Parameters count once per distinct layer (groups never
applied, when G > L, still count); MACs count on every application, on the
shared module's path (FlopCounterMode adds repeated calls of one module).
Per application, with B sequences of n tokens, intermediate F and h heads
of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  feed-forward    2·B·n·H·F
All projections carry biases (params only: a bias add is not a MAC). The
pooler (B·H², first token) is kept by AlbertModel, ForPreTraining and
ForSequenceClassification. The masked-LM head maps H -> E -> V, its decoder
tied to the word embeddings and its bias to ``predictions.bias`` unless
``tie_word_embeddings`` is false; the sentence-order head is H -> num_labels.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from ._bertlike import check_span_head, lookups, refusal, span_head, token_classifier

# Head classes: does the backbone keep its pooler.
_POOLER = {
    "AlbertForPreTraining": True,
    "AlbertForMaskedLM": False,
    "AlbertForSequenceClassification": True,
    "AlbertForTokenClassification": False,
    "AlbertForQuestionAnswering": False,
}


@family("albert")
def albert(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    base = architecture in (None, "AlbertModel")
    if not base and architecture not in _POOLER:
        raise Unsupported(refusal(architecture))
    H, h = spec.get("hidden_size", 4096), spec.get("num_attention_heads", 64)
    if H % h:
        raise Unsupported(f"hidden_size {H} is not a multiple of num_attention_heads {h}")
    if spec.get("num_hidden_groups", 1) < 1:
        raise Unsupported("num_hidden_groups must be at least 1")
    check_span_head(spec, architecture)
    prefix = "" if base else "albert."
    embeddings(spec, b, prefix, H)
    shared_layers(spec, b, f"{prefix}encoder.albert_layer_groups", H)
    if base or _POOLER[architecture]:
        with b.group("pooler (first token)", f"{prefix}pooler", "B·H²", B=spec.batch, H=H):
            b.linear(f"{prefix}pooler", H, H, rows=spec.batch, bias=True)
    if not base:
        head(spec, b, architecture, H)
    return architecture or "AlbertModel"


def embeddings(spec: Spec, b: Builder, prefix: str, H: int) -> None:
    E = spec.get("embedding_size", 128)
    lookups(spec, b, prefix, E, vocab=30000)
    mapping = f"{prefix}encoder.embedding_hidden_mapping_in"
    with b.group("factorised embedding mapping E -> H", mapping, "B·n·E·H", B=spec.batch, n=spec.seq_len, E=E, H=H):
        b.linear(mapping, E, H, rows=spec.batch * spec.seq_len, bias=True)


def schedule(L: int, G: int) -> list[int]:
    """The layer group each of the L encoder steps applies (transformers' own arithmetic)."""
    return [int(i / (L / G)) for i in range(L)]


def shared_layers(spec: Spec, b: Builder, groups: str, H: int) -> None:
    """Parameters of the G·k distinct layers, then the MACs of the L·k applications."""
    L, G, k = spec.get("num_hidden_layers", 12), spec.get("num_hidden_groups", 1), spec.get("inner_group_num", 1)
    F = spec.get("intermediate_size", 16384)
    pattern = f"{groups}.*.albert_layers.*"
    formula = "G·k·(4·H² + 2·H·F + 9·H + F) params"
    with b.group("shared layers: parameters, counted once", pattern, formula, G=G, k=k, H=H, F=F):
        for g in range(G):
            for j in range(k):
                layer_params(b, f"{groups}.{g}.albert_layers.{j}", H, F)
    b.notes.append(
        f"ALBERT shares layers: {G * k} distinct layer(s) hold the parameters; the {L} encoder steps "
        f"apply {k} layer(s) each, so every layer formula repeats {L * k} times"
    )
    for g in schedule(L, G):
        for j in range(k):
            layer_macs(spec, b, f"{groups}.{g}.albert_layers.{j}", pattern, H, F)


def layer_params(b: Builder, layer: str, H: int, F: int) -> None:
    """One AlbertLayer's weights (rows=0: no MACs here), in named_parameters() order."""
    b.norm(f"{layer}.full_layer_layer_norm", H)
    for name in ("query", "key", "value", "dense"):
        b.linear(f"{layer}.attention.{name}", H, H, rows=0, bias=True)
    b.norm(f"{layer}.attention.LayerNorm", H)
    b.linear(f"{layer}.ffn", H, F, rows=0, bias=True)
    b.linear(f"{layer}.ffn_output", F, H, rows=0, bias=True)


def layer_macs(spec: Spec, b: Builder, layer: str, pattern: str, H: int, F: int) -> None:
    """One application of a shared AlbertLayer: its products, no parameters."""
    B, n, h = spec.batch, spec.seq_len, spec.get("num_attention_heads", 64)
    rows = B * n
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.attention", "4·B·n·H²", B=B, n=n, H=H):
        for name in ("query", "key", "value", "dense"):
            b.matmul(f"{layer}.attention.{name}", rows * H * H, type="Linear")
    with b.group("attention scores and weighted sum", f"{pattern}.attention", "2·B·n²·H", B=B, n=n, H=H):
        b.attention(f"{layer}.attention", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
    with b.group("feed-forward (ffn + ffn_output)", pattern, "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.matmul(f"{layer}.ffn", rows * H * F, type="Linear")
        b.matmul(f"{layer}.ffn_output", rows * F * H, type="Linear")


def head(spec: Spec, b: Builder, architecture: str, H: int) -> None:
    B, labels = spec.batch, spec.num_labels
    if architecture in ("AlbertForPreTraining", "AlbertForMaskedLM"):
        mlm_head(spec, b, H)
    if architecture == "AlbertForPreTraining":
        with b.group("sentence-order head (pooled)", "sop_classifier", "B·H·labels", B=B, H=H, labels=labels):
            b.linear("sop_classifier.classifier", H, labels, rows=B, bias=True)
    elif architecture == "AlbertForSequenceClassification":
        with b.group("classifier (pooled)", "classifier", "B·H·labels", B=B, H=H, labels=labels):
            b.linear("classifier", H, labels, rows=B, bias=True)
    elif architecture == "AlbertForTokenClassification":
        token_classifier(spec, b, H)
    elif architecture == "AlbertForQuestionAnswering":
        span_head(spec, b, H)


def mlm_head(spec: Spec, b: Builder, H: int) -> None:
    """dense H -> E + layer norm, then the decoder E -> V on every token."""
    E, V = spec.get("embedding_size", 128), spec.get("vocab_size", 30000)
    rows = spec.batch * spec.seq_len
    tied = spec.get("tie_word_embeddings", True)
    name = "masked-LM head (decoder tied to the word embeddings)" if tied else "masked-LM head (untied decoder)"
    with b.group(name, "predictions", "B·n·H·E + B·n·E·V", B=spec.batch, n=spec.seq_len, H=H, E=E, V=V):
        b.param("predictions.bias", V)
        b.norm("predictions.LayerNorm", E)
        b.linear("predictions.dense", H, E, rows=rows, bias=True)
        if tied:
            b.matmul("predictions.decoder", rows * E * V, type="Linear")
        else:
            b.linear("predictions.decoder", E, V, rows=rows, bias=True)
