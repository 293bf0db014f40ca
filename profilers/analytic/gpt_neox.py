"""GPT-NeoX / Pythia (``model_type`` gpt_neox), after transformers'
``models/gpt_neox/modeling_gpt_neox.py``.

Per layer, with B sequences of n tokens, hidden H, intermediate F and h heads
of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H² (fused query_key_value H->3H, dense H->H)
                  + scores and weighted sum 2·B·n²·H
  MLP             2·B·n·H·F
The attention projections carry biases when ``attention_bias`` (default true),
the MLP always does: params only, a bias add is not a MAC. Parameters:
V·H + L·(4H² + 2H·F + 4H (attention biases) + F + H + 4H (norms)) + 2H.
Rotary embeddings on the first ``rotary_pct`` of each head are elementwise (no
MACs, no params); ``use_parallel_residual`` changes which sum feeds the MLP,
not what runs. The LM head (B·n·H·V) is untied unless ``tie_word_embeddings``.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

_HEADS = (
    "GPTNeoXForCausalLM", "GPTNeoXForSequenceClassification", "GPTNeoXForTokenClassification",
    "GPTNeoXForQuestionAnswering",
)


@family("gpt_neox", causal=True)
def gpt_neox(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in (None, "GPTNeoXModel", *_HEADS):
        raise Unsupported(f"unsupported architecture {architecture}")
    prefix = "" if architecture in (None, "GPTNeoXModel") else "gpt_neox."
    backbone(spec, b, prefix)
    head(spec, b, architecture)
    return architecture or "GPTNeoXModel"


def _sizes(spec: Spec) -> tuple[int, int, int, int]:
    """Hidden H, layers L, heads h, vocabulary V (GPTNeoXConfig defaults: NeoX-20B)."""
    return (
        spec.get("hidden_size", 6144), spec.get("num_hidden_layers", 44), spec.get("num_attention_heads", 64),
        spec.get("vocab_size", 50432),
    )


def backbone(spec: Spec, b: Builder, prefix: str) -> None:
    """embed_in, L layers and the final layer norm of GPTNeoXModel."""
    H, L, _, V = _sizes(spec)
    with b.group("token embeddings (lookup, no MACs)", f"{prefix}embed_in", "V·H params", V=V, H=H):
        b.embedding(f"{prefix}embed_in", V, H)
    for i in range(L):
        layer(spec, b, f"{prefix}layers.{i}", f"{prefix}layers.*")
    with b.group("final layer norm (no MACs)", f"{prefix}final_layer_norm", "2·H params", H=H):
        b.norm(f"{prefix}final_layer_norm", H)


def layer(spec: Spec, b: Builder, path: str, pattern: str) -> None:
    H, _, h, _ = _sizes(spec)
    F = spec.get("intermediate_size", 24576)
    bias = spec.get("attention_bias", True)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    with b.group("layer norms (no MACs)", pattern, "2 x 2·H params", H=H):
        b.norm(f"{path}.input_layernorm", H)
        b.norm(f"{path}.post_attention_layernorm", H)
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.attention", "4·B·n·H²", B=B, n=n, H=H):
        b.linear(f"{path}.attention.query_key_value", H, 3 * H, rows=rows, bias=bias)
        b.linear(f"{path}.attention.dense", H, H, rows=rows, bias=bias)
    with b.group("attention scores and weighted sum", f"{pattern}.attention", "2·B·n²·H", B=B, n=n, H=H):
        b.attention(f"{path}.attention", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
    with b.group("MLP", f"{pattern}.mlp", "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{path}.mlp.dense_h_to_4h", H, F, rows=rows, bias=True)
        b.linear(f"{path}.mlp.dense_4h_to_h", F, H, rows=rows, bias=True)


def head(spec: Spec, b: Builder, architecture: str | None) -> None:
    H, _, _, V = _sizes(spec)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    labels = spec.num_labels
    if architecture == "GPTNeoXForCausalLM":
        tied = spec.get("tie_word_embeddings", False)
        with b.group("LM head (tied to embed_in)" if tied else "LM head", "lm_head", "B·n·H·V", B=B, n=n, H=H, V=V):
            if tied:
                b.matmul("lm_head", rows * H * V, type="Linear")
            else:
                b.linear("lm_head", H, V, rows=rows, bias=False)
    if architecture == "GPTNeoXForSequenceClassification":
        if spec.config.get("pad_token_id") is None and B != 1:
            raise Unsupported(f"{architecture} needs a pad_token_id for batch > 1 (transformers raises)")
        with b.group("sequence classifier (every token; the last is kept)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("score", H, labels, rows=rows, bias=False)
    if architecture == "GPTNeoXForTokenClassification":
        with b.group("token classifier (every token)", "classifier", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("classifier", H, labels, rows=rows, bias=True)
    if architecture == "GPTNeoXForQuestionAnswering":
        with b.group("span head (every token)", "qa_outputs", "B·n·H·2", B=B, n=n, H=H):
            b.linear("qa_outputs", H, 2, rows=rows, bias=True)
