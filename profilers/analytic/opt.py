"""OPT (``model_type`` opt), after transformers' ``models/opt/modeling_opt.py``.

Per layer, with B sequences of n tokens, hidden H, feed-forward width F
(``ffn_dim``) and h heads of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H²  +  scores and weighted sum 2·B·n²·H
  MLP (fc1, fc2)  2·B·n·H·F
Token embeddings have width W = ``word_embed_proj_dim`` (H when null); when
W != H, ``project_in`` (W->H) and ``project_out`` (H->W) run on every token,
B·n·W·H MACs each, and the heads read W-wide states. Learned positions have
P + 2 rows (OPT offsets them by 2). Projections and fc1/fc2 carry biases when
``enable_bias`` (params only, a bias add is not a MAC); layer norms have
weights and biases unless ``layer_norm_elementwise_affine`` is false. The
final layer norm exists only with ``do_layer_norm_before`` (pre-norm: 125m,
1.3b, ...; 350m is post-norm). The LM head (B·n·W·V) is tied to
``embed_tokens`` unless ``tie_word_embeddings`` is false.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

_HEADS = ("OPTForCausalLM", "OPTForSequenceClassification", "OPTForQuestionAnswering")


@family("opt", causal=True)
def opt(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in (None, "OPTModel", *_HEADS):
        raise Unsupported(f"unsupported architecture {architecture}")
    prefix = "decoder." if architecture in (None, "OPTModel") else "model.decoder."
    decoder(spec, b, prefix)
    head(spec, b, architecture)
    return architecture or "OPTModel"


def _sizes(spec: Spec) -> tuple[int, int, int, int, int]:
    """Hidden H, layers L, heads h, vocabulary V, embedding width W."""
    H = spec.get("hidden_size", 768)
    return (
        H, spec.get("num_hidden_layers", 12), spec.get("num_attention_heads", 12), spec.get("vocab_size", 50272),
        spec.get("word_embed_proj_dim", H),
    )


def _norm(spec: Spec, b: Builder, group: str, path: str, pattern: str, H: int) -> None:
    """A LayerNorm: 2·H params, none (no leaf) without elementwise affine."""
    if spec.get("layer_norm_elementwise_affine", True):
        with b.group(group, pattern, "2·H params", H=H):
            b.norm(path, H)


def decoder(spec: Spec, b: Builder, prefix: str) -> None:
    """OPTDecoder, in its modules' order: tables, projections, final norm, layers."""
    H, L, _, V, W = _sizes(spec)
    P = spec.get("max_position_embeddings", 2048)
    B, n = spec.batch, spec.seq_len
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embed_tokens", "V·W + (P+2)·H params", V=V, W=W, P=P, H=H):
        b.embedding(f"{prefix}embed_tokens", V, W)
        b.embedding(f"{prefix}embed_positions", P + 2, H, type="OPTLearnedPositionalEmbedding")
    if W != H:
        with b.group("embedding projections (project_in, project_out)", prefix.rstrip("."), "2·B·n·W·H", B=B, n=n, W=W, H=H):
            b.linear(f"{prefix}project_out", H, W, rows=B * n, bias=False)
            b.linear(f"{prefix}project_in", W, H, rows=B * n, bias=False)
    if spec.get("do_layer_norm_before", True) and not spec.get("_remove_final_layer_norm", False):
        _norm(spec, b, "final layer norm (no MACs)", f"{prefix}final_layer_norm", f"{prefix}final_layer_norm", H)
    for i in range(L):
        layer(spec, b, f"{prefix}layers.{i}", f"{prefix}layers.*")


def layer(spec: Spec, b: Builder, path: str, pattern: str) -> None:
    H, _, h, _, _ = _sizes(spec)
    F = spec.get("ffn_dim", 3072)
    bias = spec.get("enable_bias", True)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.self_attn", "4·B·n·H²", B=B, n=n, H=H):
        for name in ("k_proj", "v_proj", "q_proj", "out_proj"):
            b.linear(f"{path}.self_attn.{name}", H, H, rows=rows, bias=bias)
    with b.group("attention scores and weighted sum", f"{pattern}.self_attn", "2·B·n²·H", B=B, n=n, H=H):
        b.attention(f"{path}.self_attn", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
    _norm(spec, b, "layer norms (no MACs)", f"{path}.self_attn_layer_norm", pattern, H)
    with b.group("MLP", pattern, "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{path}.fc1", H, F, rows=rows, bias=bias)
        b.linear(f"{path}.fc2", F, H, rows=rows, bias=bias)
    _norm(spec, b, "layer norms (no MACs)", f"{path}.final_layer_norm", pattern, H)


def head(spec: Spec, b: Builder, architecture: str | None) -> None:
    _, _, _, V, W = _sizes(spec)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    if architecture == "OPTForCausalLM":
        tied = spec.get("tie_word_embeddings", True)
        with b.group("LM head (tied to embed_tokens)" if tied else "LM head", "lm_head", "B·n·W·V", B=B, n=n, W=W, V=V):
            if tied:
                b.matmul("lm_head", rows * W * V, type="Linear")
            else:
                b.linear("lm_head", W, V, rows=rows, bias=False)
    if architecture == "OPTForSequenceClassification":
        if spec.config.get("pad_token_id", 1) is None and B != 1:
            raise Unsupported(f"{architecture} needs a pad_token_id for batch > 1 (transformers raises)")
        labels = spec.num_labels
        with b.group("sequence classifier (every token; the last is kept)", "score", "B·n·W·labels", B=B, n=n, W=W, labels=labels):
            b.linear("score", W, labels, rows=rows, bias=False)
    if architecture == "OPTForQuestionAnswering":
        with b.group("span head (every token)", "qa_outputs", "B·n·W·2", B=B, n=n, W=W):
            b.linear("qa_outputs", W, 2, rows=rows, bias=True)
