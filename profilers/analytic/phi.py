"""Phi-1 / Phi-1.5 / Phi-2 (``model_type`` phi), after transformers'
``models/phi/modeling_phi.py``.

Per layer, with B sequences of n tokens, hidden H, intermediate F, h query
heads and kv key/value heads of size d (``head_dim``, H/h by default), in MACs
(FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 2·B·n·H·d·(h + kv)  (= 4·B·n·H² when kv = h, h·d = H)
                  + scores and weighted sum 2·B·h·n²·d  (K/V heads expanded to every query head)
  MLP (fc1, fc2)  2·B·n·H·F
Attention and MLP read the same normed input and run side by side (parallel
residual); that changes no count. Every linear layer carries a bias, the LM
head included (params only, a bias add is not a MAC); with
``tie_word_embeddings`` its weight is ``embed_tokens``' but its V-element bias
is its own. Rotary embeddings on the first ``partial_rotary_factor`` of each
head are elementwise (no MACs, no params); ``qk_layernorm`` adds two
LayerNorms of width H/h per layer (params only).
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

_HEADS = ("PhiForCausalLM", "PhiForSequenceClassification", "PhiForTokenClassification")


@family("phi", causal=True)
def phi(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in (None, "PhiModel", *_HEADS):
        raise Unsupported(f"unsupported architecture {architecture}")
    prefix = "" if architecture in (None, "PhiModel") else "model."
    backbone(spec, b, prefix)
    head(spec, b, architecture)
    return architecture or "PhiModel"


def _sizes(spec: Spec) -> tuple[int, int, int, int]:
    """Hidden H, layers L, query heads h, vocabulary V."""
    return (
        spec.get("hidden_size", 2048), spec.get("num_hidden_layers", 24), spec.get("num_attention_heads", 32),
        spec.get("vocab_size", 51200),
    )


def backbone(spec: Spec, b: Builder, prefix: str) -> None:
    """embed_tokens, L decoder layers and the final layer norm of PhiModel."""
    H, L, _, V = _sizes(spec)
    with b.group("token embeddings (lookup, no MACs)", f"{prefix}embed_tokens", "V·H params", V=V, H=H):
        b.embedding(f"{prefix}embed_tokens", V, H)
    for i in range(L):
        layer(spec, b, f"{prefix}layers.{i}", f"{prefix}layers.*")
    with b.group("final layer norm (no MACs)", f"{prefix}final_layernorm", "2·H params", H=H):
        b.norm(f"{prefix}final_layernorm", H)


def layer(spec: Spec, b: Builder, path: str, pattern: str) -> None:
    H, _, h, _ = _sizes(spec)
    kv = spec.get("num_key_value_heads", h)
    d = spec.get("head_dim", H // h)
    F = spec.get("intermediate_size", 8192)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    attn = f"{path}.self_attn"
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.self_attn", "2·B·n·H·d·(h + kv)", B=B, n=n, H=H, d=d, h=h, kv=kv):
        b.linear(f"{attn}.q_proj", H, h * d, rows=rows, bias=True)
        b.linear(f"{attn}.k_proj", H, kv * d, rows=rows, bias=True)
        b.linear(f"{attn}.v_proj", H, kv * d, rows=rows, bias=True)
        b.linear(f"{attn}.dense", h * d, H, rows=rows, bias=True)
    if spec.get("qk_layernorm", False):
        with b.group("query/key layer norms (no MACs)", f"{pattern}.self_attn", "2 x 2·(H/h) params", H=H, h=h):
            b.norm(f"{attn}.q_layernorm", H // h)
            b.norm(f"{attn}.k_layernorm", H // h)
    with b.group("attention scores and weighted sum", f"{pattern}.self_attn", "2·B·h·n²·d", B=B, h=h, n=n, d=d):
        b.attention(attn, batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)
    with b.group("MLP", f"{pattern}.mlp", "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{path}.mlp.fc1", H, F, rows=rows, bias=True)
        b.linear(f"{path}.mlp.fc2", F, H, rows=rows, bias=True)
    with b.group("layer norms (no MACs)", pattern, "2·H params", H=H):
        b.norm(f"{path}.input_layernorm", H)


def head(spec: Spec, b: Builder, architecture: str | None) -> None:
    H, _, _, V = _sizes(spec)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    labels = spec.num_labels
    if architecture == "PhiForCausalLM":
        if spec.get("tie_word_embeddings", False):
            with b.group("LM head (weight tied to embed_tokens, own bias)", "lm_head", "B·n·H·V", B=B, n=n, H=H, V=V):
                b.matmul("lm_head", rows * H * V, params=V, type="Linear")
        else:
            with b.group("LM head", "lm_head", "B·n·H·V", B=B, n=n, H=H, V=V):
                b.linear("lm_head", H, V, rows=rows, bias=True)
    if architecture == "PhiForSequenceClassification":
        if spec.config.get("pad_token_id") is None and B != 1:
            raise Unsupported(f"{architecture} needs a pad_token_id for batch > 1 (transformers raises)")
        with b.group("sequence classifier (every token; the last is kept)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("score", H, labels, rows=rows, bias=False)
    if architecture == "PhiForTokenClassification":
        with b.group("token classifier (every token)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("score", H, labels, rows=rows, bias=spec.get("token_classification_bias", True))
