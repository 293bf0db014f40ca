"""T5 (``model_type`` t5), after transformers' ``models/t5/modeling_t5.py`` and
``configuration_t5.py`` (5.23).

With B sequences, n encoder tokens, m decoder tokens, width d, h heads of size
k (``d_kv``; h·k may differ from d), feed-forward width F and vocabulary V,
in MACs (FLOPs = 2 x MACs), per layer:
  encoder self-attention  q,k,v,o 4·B·n·d·h·k  +  scores and weighted sum 2·B·n²·h·k
  decoder self-attention  4·B·m·d·h·k + 2·B·m²·h·k (causal mask applied after: full m x m)
  cross-attention         q,o 2·B·m·d·h·k  +  k,v 2·B·n·d·h·k (on the encoder output)
                          +  scores and weighted sum 2·B·m·n·h·k
  feed-forward            2·B·n·d·F (wi, wo), 3·B·n·d·F gated (``feed_forward_proj``
                          "gated-*", T5 v1.1: wi_0, wi_1, wo); m instead of n in the decoder
No backbone layer has a bias (the span and token heads do), and the norms
(T5LayerNorm, RMS) have a scale only. The relative position bias is a
(buckets x h) table in the first self-attention of each stack, read by lookups
(no MACs). One ``shared`` table feeds both stacks. The LM head (B·m·d·V) is always tied to it: T5Config forces
``tie_word_embeddings`` to True and keeps the saved value only to decide
whether the decoder output is rescaled (a multiply, not a MAC).

Classes: T5Model, T5ForConditionalGeneration, T5ForQuestionAnswering,
T5EncoderModel and T5ForTokenClassification (both encoder-only: their forward
swallows the decoder_input_ids the input plan adds). T5ForSequenceClassification
is refused: it pools the <eos> tokens of input_ids, which all-zero example ids
lack (and a meta-device forward cannot select them); so are T5ForQuestionAnswering
with other than 2 labels (its forward splits the logits into start and end) and
the encoder-only classes with ``is_decoder`` set.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import Builder, Spec, Unsupported, family

# Class -> (path prefix, has a decoder, head).
_CLASSES = {
    None: ("", True, None),
    "T5Model": ("", True, None),
    "T5ForConditionalGeneration": ("", True, "lm"),
    "T5ForQuestionAnswering": ("", True, "qa"),
    "T5EncoderModel": ("", False, None),
    "T5ForTokenClassification": ("transformer.", False, "token"),
}


@dataclass(frozen=True)
class _Dims:
    B: int
    n: int  # encoder length
    m: int  # decoder length
    d: int
    k: int  # d_kv, the head size
    h: int
    F: int
    V: int
    R: int  # relative attention buckets
    gated: bool
    encoder_layers: int
    decoder_layers: int

    @classmethod
    def of(cls, spec: Spec) -> "_Dims":
        # transformers sets attribute_map aliases (hidden_size, ...) after the
        # fields, so an alias in the config wins; num_decoder_layers defaults
        # to the num_layers field as it was before the alias was applied.
        return cls(
            B=spec.batch, n=spec.seq_len, m=spec.decoder_seq_len,
            d=_aliased(spec, "d_model", "hidden_size", 512),
            k=_aliased(spec, "d_kv", "head_dim", 64),
            h=_aliased(spec, "num_heads", "num_attention_heads", 8),
            F=spec.get("d_ff", 2048), V=spec.get("vocab_size", 32128),
            R=spec.get("relative_attention_num_buckets", 32),
            gated=spec.get("feed_forward_proj", "relu").split("-")[0] == "gated",
            encoder_layers=_aliased(spec, "num_layers", "num_hidden_layers", 6),
            decoder_layers=spec.get("num_decoder_layers", spec.get("num_layers", 6)),
        )


def _aliased(spec: Spec, name: str, alias: str, default: int) -> int:
    """``name``, or its attribute_map ``alias`` when the config has one (the alias wins)."""
    return spec.get(alias, spec.get(name, default))


@family("t5")
def t5(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture == "T5ForSequenceClassification":
        raise Unsupported(f"{architecture} pools the <eos> tokens of input_ids, which zero example ids lack")
    if architecture not in _CLASSES:
        raise Unsupported(f"unsupported architecture {architecture}")
    prefix, has_decoder, head_kind = _CLASSES[architecture]
    if head_kind == "qa" and spec.num_labels != 2:
        raise Unsupported(f"{architecture} splits its logits into start and end: {spec.num_labels} labels, not 2")
    if not has_decoder and spec.get("is_decoder", False):
        raise Unsupported(f"{architecture} with is_decoder builds a decoder stack with unused cross-attention")
    dims = _Dims.of(spec)
    with b.group("shared token embedding (lookups, no MACs)", f"{prefix}shared", "V·d params", V=dims.V, d=dims.d):
        b.embedding(f"{prefix}shared", dims.V, dims.d)
    stack(b, dims, f"{prefix}encoder", decoder=False)
    if has_decoder:
        stack(b, dims, f"{prefix}decoder", decoder=True)
    head(spec, b, dims, head_kind)
    return architecture or "T5Model"


def stack(b: Builder, dims: _Dims, path: str, *, decoder: bool) -> None:
    """A T5Stack: blocks of self-attention (+ cross-attention) + feed-forward, then a final norm."""
    layers = dims.decoder_layers if decoder else dims.encoder_layers
    for i in range(layers):
        block, pattern = f"{path}.block.{i}.layer", f"{path}.block.*.layer"
        self_attention(b, dims, f"{block}.0", f"{pattern}.0", decoder=decoder, first=i == 0)
        if decoder:
            cross_attention(b, dims, f"{block}.1", f"{pattern}.1")
        feed_forward(b, dims, f"{block}.{2 if decoder else 1}", f"{pattern}.{2 if decoder else 1}", decoder=decoder)
    _norm(b, dims, f"{path}.final_layer_norm", f"{path}.final_layer_norm")


def _norm(b: Builder, dims: _Dims, path: str, pattern: str) -> None:
    with b.group("layer norms (RMS scale only, no MACs)", pattern, "d params", d=dims.d):
        b.norm(path, dims.d, bias=False, type="T5LayerNorm")


def _projections(b: Builder, dims: _Dims, path: str, q_rows: int, kv_rows: int) -> None:
    inner = dims.h * dims.k
    b.linear(f"{path}.q", dims.d, inner, rows=q_rows, bias=False)
    b.linear(f"{path}.k", dims.d, inner, rows=kv_rows, bias=False)
    b.linear(f"{path}.v", dims.d, inner, rows=kv_rows, bias=False)
    b.linear(f"{path}.o", inner, dims.d, rows=q_rows, bias=False)


def self_attention(b: Builder, dims: _Dims, path: str, pattern: str, *, decoder: bool, first: bool) -> None:
    """T5LayerSelfAttention; the first block of a stack owns the relative position bias table."""
    length, x = (dims.m, "m") if decoder else (dims.n, "n")
    name = "decoder self-attention (causal, full m×m)" if decoder else "encoder self-attention"
    attention, formula = f"{path}.SelfAttention", f"4·B·{x}·d·h·k + 2·B·{x}²·h·k"
    with b.group(name, f"{pattern}.SelfAttention", formula, B=dims.B, d=dims.d, h=dims.h, k=dims.k, **{x: length}):
        _projections(b, dims, attention, dims.B * length, dims.B * length)
        b.attention(attention, batch=dims.B, heads=dims.h, q_len=length, kv_len=length, head_dim=dims.k)
    if first:
        table = f"{attention}.relative_attention_bias"
        with b.group("relative position bias (first block, lookups)", table, "R·h params", R=dims.R, h=dims.h):
            b.embedding(table, dims.R, dims.h)
    _norm(b, dims, f"{path}.layer_norm", f"{pattern}.layer_norm")


def cross_attention(b: Builder, dims: _Dims, path: str, pattern: str) -> None:
    """T5LayerCrossAttention: queries from the m decoder tokens, keys and values from the n encoder outputs."""
    B, n, m = dims.B, dims.n, dims.m
    formula = "2·B·m·d·h·k + 2·B·n·d·h·k + 2·B·m·n·h·k"
    with b.group("cross-attention", f"{pattern}.EncDecAttention", formula, B=B, n=n, m=m, d=dims.d, h=dims.h, k=dims.k):
        _projections(b, dims, f"{path}.EncDecAttention", B * m, B * n)
        b.attention(f"{path}.EncDecAttention", batch=B, heads=dims.h, q_len=m, kv_len=n, head_dim=dims.k)
    _norm(b, dims, f"{path}.layer_norm", f"{pattern}.layer_norm")


def feed_forward(b: Builder, dims: _Dims, path: str, pattern: str, *, decoder: bool) -> None:
    """T5LayerFF: DenseReluDense (wi, wo) or, gated, DenseGatedActDense (wi_0, wi_1, wo)."""
    length, x = (dims.m, "m") if decoder else (dims.n, "n")
    rows, dense = dims.B * length, f"{path}.DenseReluDense"
    inputs = ("wi_0", "wi_1") if dims.gated else ("wi",)
    name = f"{'decoder' if decoder else 'encoder'} feed-forward"
    formula = f"{len(inputs) + 1}·B·{x}·d·F"
    with b.group(name, f"{pattern}.DenseReluDense", formula, B=dims.B, d=dims.d, F=dims.F, **{x: length}):
        for wi in inputs:
            b.linear(f"{dense}.{wi}", dims.d, dims.F, rows=rows, bias=False)
        b.linear(f"{dense}.wo", dims.F, dims.d, rows=rows, bias=False)
    _norm(b, dims, f"{path}.layer_norm", f"{pattern}.layer_norm")


def head(spec: Spec, b: Builder, dims: _Dims, kind: str | None) -> None:
    B, n, m, d = dims.B, dims.n, dims.m, dims.d
    if kind == "lm":
        with b.group("LM head (tied to shared)", "lm_head", "B·m·d·V", B=B, m=m, d=d, V=dims.V):
            b.matmul("lm_head", B * m * d * dims.V, type="Linear")
    if kind == "qa":
        with b.group("span head (every decoder token)", "qa_outputs", "B·m·d·2", B=B, m=m, d=d):
            b.linear("qa_outputs", d, 2, rows=B * m, bias=True)
    if kind == "token":
        labels = spec.num_labels
        with b.group("classifier (every token)", "classifier", "B·n·d·labels", B=B, n=n, d=d, labels=labels):
            b.linear("classifier", d, labels, rows=B * n, bias=True)
