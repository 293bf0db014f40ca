"""GPT-2 (``model_type`` gpt2), after transformers' ``models/gpt2/modeling_gpt2.py``.

Per layer, with B sequences of n tokens, hidden H, inner width F (``n_inner``,
4H when null) and h heads of size d = H/h, in MACs (FLOPs = 2 x MACs):
  self-attention  Q,K,V,O projections 4·B·n·H² (fused c_attn H->3H, c_proj H->H)
                  + scores and weighted sum 2·B·n²·H
  MLP             2·B·n·H·F  (= 8·B·n·H² when F = 4H)
  layer           12·B·n·H² + 2·B·n²·H  when F = 4H
The projections are ``Conv1D`` (a linear layer storing its weight [in, out]),
all with biases: params only, a bias add is not a MAC. Parameters:
V·H + P·H + L·(12H² + 13H) + 2H when F = 4H. The LM head (B·n·H·V) is tied to
``wte`` unless ``tie_word_embeddings`` is false. ``add_cross_attention``
layers are built but never run on ``input_ids`` alone: params, no MACs.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family

_HEADS = (
    "GPT2LMHeadModel", "GPT2DoubleHeadsModel", "GPT2ForSequenceClassification", "GPT2ForTokenClassification",
    "GPT2ForQuestionAnswering",
)
_CROSS_NOTE = "cross-attention layers (add_cross_attention) are built but not run without encoder_hidden_states"


@family("gpt2", causal=True)
def gpt2(spec: Spec, b: Builder) -> str:
    architecture = spec.architecture
    if architecture not in (None, "GPT2Model", *_HEADS):
        raise Unsupported(f"unsupported architecture {architecture}")
    prefix = "" if architecture in (None, "GPT2Model") else "transformer."
    backbone(spec, b, prefix)
    head(spec, b, architecture)
    return architecture or "GPT2Model"


def _field(spec: Spec, alias: str, name: str, default: int) -> int:
    """A GPT-2 field that has a generic alias (``hidden_size`` for ``n_embd``):
    GPT2Config's attribute_map lets the alias win when both are given."""
    return spec.get(alias, spec.get(name, default))


def _sizes(spec: Spec) -> tuple[int, int, int, int]:
    """Hidden H, layers L, heads h, vocabulary V."""
    return (
        _field(spec, "hidden_size", "n_embd", 768), _field(spec, "num_hidden_layers", "n_layer", 12),
        _field(spec, "num_attention_heads", "n_head", 12), spec.get("vocab_size", 50257),
    )


def backbone(spec: Spec, b: Builder, prefix: str) -> None:
    """Token and position tables, L blocks and the final layer norm of GPT2Model."""
    H, L, h, V = _sizes(spec)
    P = _field(spec, "max_position_embeddings", "n_positions", 1024)
    with b.group("embeddings (lookups, no MACs)", f"{prefix}wte", "V·H + P·H params", V=V, P=P, H=H):
        b.embedding(f"{prefix}wte", V, H)
        b.embedding(f"{prefix}wpe", P, H)
    for i in range(L):
        block(spec, b, f"{prefix}h.{i}", f"{prefix}h.*")
    with b.group("final layer norm (no MACs)", f"{prefix}ln_f", "2·H params", H=H):
        b.norm(f"{prefix}ln_f", H)


def block(spec: Spec, b: Builder, layer: str, pattern: str) -> None:
    H, _, h, _ = _sizes(spec)
    F = spec.get("n_inner", 4 * H)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    with b.group("layer norms (no MACs)", pattern, "2·H params", H=H):
        b.norm(f"{layer}.ln_1", H)
    with b.group("self-attention Q,K,V,O projections", f"{pattern}.attn", "4·B·n·H²", B=B, n=n, H=H):
        b.linear(f"{layer}.attn.c_attn", H, 3 * H, rows=rows, bias=True, type="Conv1D")
        b.linear(f"{layer}.attn.c_proj", H, H, rows=rows, bias=True, type="Conv1D")
    with b.group("attention scores and weighted sum", f"{pattern}.attn", "2·B·n²·H", B=B, n=n, H=H):
        b.attention(f"{layer}.attn", batch=B, heads=h, q_len=n, kv_len=n, head_dim=H // h)
    with b.group("layer norms (no MACs)", pattern, "2·H params", H=H):
        b.norm(f"{layer}.ln_2", H)
    if spec.get("add_cross_attention", False):
        cross_attention(b, layer, pattern, H)
    with b.group("MLP", f"{pattern}.mlp", "2·B·n·H·F", B=B, n=n, H=H, F=F):
        b.linear(f"{layer}.mlp.c_fc", H, F, rows=rows, bias=True, type="Conv1D")
        b.linear(f"{layer}.mlp.c_proj", F, H, rows=rows, bias=True, type="Conv1D")


def cross_attention(b: Builder, layer: str, pattern: str, H: int) -> None:
    """Cross-attention runs only on encoder_hidden_states, which input_ids-only
    inputs never give: its weights count, its products do not."""
    with b.group("cross-attention (built, not run: params only)", f"{pattern}.crossattention", "4·H² + 6·H params", H=H):
        b.linear(f"{layer}.crossattention.c_attn", H, 2 * H, rows=0, bias=True, type="Conv1D")
        b.linear(f"{layer}.crossattention.q_attn", H, H, rows=0, bias=True, type="Conv1D")
        b.linear(f"{layer}.crossattention.c_proj", H, H, rows=0, bias=True, type="Conv1D")
        b.norm(f"{layer}.ln_cross_attn", H)
    if _CROSS_NOTE not in b.notes:
        b.notes.append(_CROSS_NOTE)


def head(spec: Spec, b: Builder, architecture: str | None) -> None:
    H, _, _, V = _sizes(spec)
    B, n = spec.batch, spec.seq_len
    rows = B * n
    if architecture in ("GPT2LMHeadModel", "GPT2DoubleHeadsModel"):
        lm_head(spec, b, H, V, rows)
    if architecture == "GPT2DoubleHeadsModel":
        multiple_choice_head(spec, b, H)
    if architecture == "GPT2ForSequenceClassification":
        if spec.config.get("pad_token_id") is None and B != 1:
            raise Unsupported(f"{architecture} needs a pad_token_id for batch > 1 (transformers raises)")
        with b.group("sequence classifier (every token; the last is kept)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=spec.num_labels):
            b.linear("score", H, spec.num_labels, rows=rows, bias=False)
    if architecture == "GPT2ForTokenClassification":
        with b.group("token classifier (every token)", "classifier", "B·n·H·labels", B=B, n=n, H=H, labels=spec.num_labels):
            b.linear("classifier", H, spec.num_labels, rows=rows, bias=True)
    if architecture == "GPT2ForQuestionAnswering":
        with b.group("span head (every token)", "qa_outputs", "B·n·H·2", B=B, n=n, H=H):
            b.linear("qa_outputs", H, 2, rows=rows, bias=True)


def lm_head(spec: Spec, b: Builder, H: int, V: int, rows: int) -> None:
    if spec.get("tie_word_embeddings", True):
        with b.group("LM head (tied to wte)", "lm_head", "B·n·H·V", B=spec.batch, n=spec.seq_len, H=H, V=V):
            b.matmul("lm_head", rows * H * V, type="Linear")
    else:
        with b.group("LM head", "lm_head", "B·n·H·V", B=spec.batch, n=spec.seq_len, H=H, V=V):
            b.linear("lm_head", H, V, rows=rows, bias=False)


def multiple_choice_head(spec: Spec, b: Builder, H: int) -> None:
    """GPT2SequenceSummary on one token (or the mean) per sequence; the class
    forces num_labels = 1, so the projection is H->1 (H->H without
    summary_proj_to_labels)."""
    summary_type = spec.get("summary_type", "cls_index")
    if summary_type not in ("last", "first", "mean", "cls_index"):
        raise Unsupported(f"GPT2DoubleHeadsModel summary_type {summary_type}")
    if not spec.get("summary_use_proj", True):
        return
    out = 1 if spec.get("summary_proj_to_labels", True) else H
    with b.group("multiple-choice head (one token per sequence)", "multiple_choice_head", "B·H·out", B=spec.batch, H=H, out=out):
        b.linear("multiple_choice_head.summary", H, out, rows=spec.batch, bias=True)
