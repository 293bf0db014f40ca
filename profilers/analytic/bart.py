"""BART (``model_type`` bart), after transformers' ``models/bart/modeling_bart.py``
and ``configuration_bart.py`` (5.23).

With B sequences, n encoder tokens, m decoder tokens, width d, feed-forward
widths F (``encoder_ffn_dim`` / ``decoder_ffn_dim``) and vocabulary V, in MACs
(FLOPs = 2 x MACs), per layer (h heads of size d/h: h cancels out):
  encoder self-attention  q,k,v,out 4·B·n·d²  +  scores and weighted sum 2·B·n²·d
  decoder self-attention  4·B·m·d² + 2·B·m²·d (causal mask applied after: full m x m)
  cross-attention         q,out 2·B·m·d²  +  k,v 2·B·n·d² (on the encoder output)
                          +  scores and weighted sum 2·B·m·n·d
  feed-forward            fc1, fc2 2·B·n·d·F (m in the decoder)
Every projection and fc carries a bias and every LayerNorm a shift (params
only: a bias add is not a MAC). Each stack has learned positions with P + 2
rows (BART offsets them by 2) and a ``layernorm_embedding``; there is no final
layer norm. ``scale_embedding`` multiplies the token lookups by √d (not a MAC).
With ``tie_word_embeddings`` (the default) both stacks and the LM head share
``shared``; without it the encoder and decoder get their own tables, ``shared``
stays (unused) and the LM head (B·m·d·V) has its own weight. The LM head's
``final_logits_bias`` is a buffer, not a parameter.

Classes: BartModel, BartForConditionalGeneration, BartForQuestionAnswering
(always 2 labels: its constructor sets num_labels = 2) and BartForCausalLM
(the decoder alone on the n input tokens; its forward swallows the
decoder_input_ids the input plan adds, and its cross-attention weights never
run). BartForSequenceClassification is refused: it pools the <eos> tokens of
input_ids, which all-zero example ids lack.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import Builder, Spec, Unsupported, family

_CLASSES = (None, "BartModel", "BartForConditionalGeneration", "BartForQuestionAnswering", "BartForCausalLM")


@dataclass(frozen=True)
class _Dims:
    B: int
    n: int  # encoder length
    m: int  # decoder length
    d: int
    V: int
    P: int  # max_position_embeddings (the tables have P + 2 rows)
    tied: bool

    @classmethod
    def of(cls, spec: Spec) -> "_Dims":
        return cls(
            B=spec.batch, n=spec.seq_len, m=spec.decoder_seq_len, d=_aliased(spec, "d_model", "hidden_size", 1024),
            V=spec.get("vocab_size", 50265), P=spec.get("max_position_embeddings", 1024),
            tied=spec.get("tie_word_embeddings", True),
        )


@dataclass(frozen=True)
class _Side:
    """One stack: where it sits and what it runs."""

    path: str
    name: str  # "encoder" | "decoder"
    x: str  # its length symbol in formulas
    length: int  # tokens per sequence
    layers: int
    heads: int
    F: int
    cross: bool  # decoder layers attend to an encoder output


def _aliased(spec: Spec, name: str, alias: str, default: int) -> int:
    """transformers sets attribute_map aliases (hidden_size, ...) after the fields: an alias in the config wins."""
    return spec.get(alias, spec.get(name, default))


def _encoder(spec: Spec, prefix: str) -> _Side:
    layers = _aliased(spec, "encoder_layers", "num_hidden_layers", 12)
    heads = _aliased(spec, "encoder_attention_heads", "num_attention_heads", 16)
    return _Side(f"{prefix}encoder", "encoder", "n", spec.seq_len, layers, heads, spec.get("encoder_ffn_dim", 4096), False)


def _decoder(spec: Spec, prefix: str, length: int, cross: bool) -> _Side:
    layers, heads = spec.get("decoder_layers", 12), spec.get("decoder_attention_heads", 16)
    x = "m" if cross else "n"
    return _Side(f"{prefix}decoder", "decoder", x, length, layers, heads, spec.get("decoder_ffn_dim", 4096), cross)


@family("bart")
def bart(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture == "BartForSequenceClassification":
        raise Unsupported(f"{architecture} pools the <eos> tokens of input_ids, which zero example ids lack")
    if architecture not in _CLASSES:
        raise Unsupported(f"unsupported architecture {architecture}")
    dims = _Dims.of(spec)
    if architecture == "BartForCausalLM":
        sides = [_decoder(spec, "model.", spec.seq_len, cross=False)]
    else:
        prefix = "" if architecture in (None, "BartModel") else "model."
        sides = [_encoder(spec, prefix), _decoder(spec, prefix, spec.decoder_seq_len, cross=True)]
        with b.group("shared token embedding (lookups, no MACs)", f"{prefix}shared", "V·d params", V=dims.V, d=dims.d):
            b.embedding(f"{prefix}shared", dims.V, dims.d, type="BartScaledWordEmbedding")
    for side in sides:
        if dims.d % side.heads:
            raise Unsupported(f"d_model {dims.d} is not a multiple of the {side.name} heads {side.heads}")
    for side in sides:
        stack(b, dims, side, own_tokens=architecture == "BartForCausalLM" or not dims.tied)
    head(b, dims, architecture, sides[-1])
    return architecture or "BartModel"


def stack(b: Builder, dims: _Dims, side: _Side, *, own_tokens: bool) -> None:
    """BartEncoder / BartDecoder, in parameter order: tables, layers, layernorm_embedding."""
    path, d = side.path, dims.d
    tables = ("V·d + " if own_tokens else "") + "(P+2)·d params"
    with b.group(f"{side.name} embeddings (lookups, no MACs)", f"{path}.embed_*", tables, V=dims.V, d=d, P=dims.P):
        if own_tokens:
            b.embedding(f"{path}.embed_tokens", dims.V, d, type="BartScaledWordEmbedding")
        b.embedding(f"{path}.embed_positions", dims.P + 2, d, type="BartLearnedPositionalEmbedding")
    for i in range(side.layers):
        layer(b, dims, side, f"{path}.layers.{i}", f"{path}.layers.*")
    _norm(b, d, path, path, "layernorm_embedding")


def layer(b: Builder, dims: _Dims, side: _Side, path: str, pattern: str) -> None:
    """BartEncoderLayer / BartDecoderLayer: self-attention, (cross-attention,) fc1, fc2, each followed by a norm."""
    B, d, x, length = dims.B, dims.d, side.x, side.length
    causal = f" (causal, full {x}×{x})" if side.name == "decoder" else ""
    name = f"{side.name} self-attention{causal}"
    with b.group(name, f"{pattern}.self_attn", f"4·B·{x}·d² + 2·B·{x}²·d", B=B, d=d, **{x: length}):
        _attention(b, f"{path}.self_attn", B * length, B * length, d)
        b.attention(f"{path}.self_attn", batch=B, heads=side.heads, q_len=length, kv_len=length, head_dim=d // side.heads)
    _norm(b, d, path, pattern, "self_attn_layer_norm")
    if side.name == "decoder":
        cross_attention(b, dims, side, f"{path}.encoder_attn", f"{pattern}.encoder_attn")
        _norm(b, d, path, pattern, "encoder_attn_layer_norm")
    rows = B * length
    with b.group(f"{side.name} feed-forward (fc1, fc2)", pattern, f"2·B·{x}·d·F", B=B, d=d, F=side.F, **{x: length}):
        b.linear(f"{path}.fc1", d, side.F, rows=rows, bias=True)
        b.linear(f"{path}.fc2", side.F, d, rows=rows, bias=True)
    _norm(b, d, path, pattern, "final_layer_norm")


def _attention(b: Builder, path: str, q_rows: int, kv_rows: int, d: int) -> None:
    """k, v, q, out projections (their parameter order), all d x d with biases."""
    b.linear(f"{path}.k_proj", d, d, rows=kv_rows, bias=True)
    b.linear(f"{path}.v_proj", d, d, rows=kv_rows, bias=True)
    b.linear(f"{path}.q_proj", d, d, rows=q_rows, bias=True)
    b.linear(f"{path}.out_proj", d, d, rows=q_rows, bias=True)


def cross_attention(b: Builder, dims: _Dims, side: _Side, path: str, pattern: str) -> None:
    """Queries from the m decoder tokens, keys and values from the n encoder outputs;
    params only where no encoder runs (BartForCausalLM)."""
    B, n, m, d = dims.B, dims.n, dims.m, dims.d
    if not side.cross:
        with b.group("cross-attention (no encoder: never runs)", pattern, "4·(d² + d) params", d=d):
            _attention(b, path, 0, 0, d)
        return
    with b.group("cross-attention", pattern, "2·B·m·d² + 2·B·n·d² + 2·B·m·n·d", B=B, n=n, m=m, d=d):
        _attention(b, path, B * m, B * n, d)
        b.attention(path, batch=B, heads=side.heads, q_len=m, kv_len=n, head_dim=d // side.heads)


def _norm(b: Builder, d: int, path: str, pattern: str, name: str) -> None:
    """The LayerNorm ``name`` under ``path``: scale and shift, 2·d params."""
    with b.group("layer norms (no MACs)", f"{pattern}.{name}", "2·d params", d=d):
        b.norm(f"{path}.{name}", d)


def head(b: Builder, dims: _Dims, architecture: str | None, decoder: _Side) -> None:
    """The LM head (on every decoder token; final_logits_bias is a buffer) or the span head."""
    B, d, x, rows = dims.B, dims.d, decoder.x, dims.B * decoder.length
    if architecture in ("BartForConditionalGeneration", "BartForCausalLM"):
        tied = " (tied to the token embedding)" if dims.tied else ""
        with b.group(f"LM head{tied}", "lm_head", f"B·{x}·d·V", B=B, d=d, V=dims.V, **{x: decoder.length}):
            if dims.tied:
                b.matmul("lm_head", rows * d * dims.V, type="Linear")
            else:
                b.linear("lm_head", d, dims.V, rows=rows, bias=False)
    if architecture == "BartForQuestionAnswering":
        with b.group("span head (every decoder token)", "qa_outputs", f"B·{x}·d·2", B=B, d=d, **{x: decoder.length}):
            b.linear("qa_outputs", d, 2, rows=rows, bias=True)
