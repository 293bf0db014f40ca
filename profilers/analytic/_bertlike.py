"""What the BERT-style encoder families share (bert, roberta, electra, and
the refusals of albert and distilbert): the layer stack, its checks, and the
task heads that sit on a hidden width H.

Per layer, with B sequences of n tokens, hidden H, intermediate F and h heads
of size d = H/h, in MACs (FLOPs = 2 x MACs): Q,K,V,O projections 4·B·n·H²,
scores and weighted sum 2·B·n²·H, feed-forward 2·B·n·H·F. Every projection
carries a bias (params only). After transformers' ``modeling_bert.py``, which
the other families copy.
"""

from __future__ import annotations

from typing import NamedTuple

from . import Builder, Spec, Unsupported

_CROSS_NOTE = "cross-attention layers (add_cross_attention) are built but not run without encoder_hidden_states"


def lookups(spec: Spec, b: Builder, prefix: str, width: int, vocab: int) -> None:
    """Word, position and token-type tables of ``width`` and their layer norm:
    (V + P + T)·width + 2·width params, no MACs (lookups)."""
    V, P, T = spec.get("vocab_size", vocab), spec.get("max_position_embeddings", 512), spec.get("type_vocab_size", 2)
    with b.group("embeddings (lookups, no MACs)", f"{prefix}embeddings", "V·E + P·E + T·E + 2·E params", V=V, P=P, T=T, E=width):
        b.embedding(f"{prefix}embeddings.word_embeddings", V, width)
        b.embedding(f"{prefix}embeddings.position_embeddings", P, width)
        b.embedding(f"{prefix}embeddings.token_type_embeddings", T, width)
        b.norm(f"{prefix}embeddings.LayerNorm", width)


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


def token_classifier(spec: Spec, b: Builder, H: int, path: str = "classifier") -> None:
    """A label per token: B·n·H·labels MACs."""
    B, n, labels = spec.batch, spec.seq_len, spec.num_labels
    with b.group("classifier (every token)", path, "B·n·H·labels", B=B, n=n, H=H, labels=labels):
        b.linear(path, H, labels, rows=B * n, bias=True)


def span_head(spec: Spec, b: Builder, H: int, path: str = "qa_outputs") -> None:
    """Start and end logits per token: B·n·H·2 MACs."""
    B, n = spec.batch, spec.seq_len
    with b.group("span head (every token)", path, "B·n·H·2", B=B, n=n, H=H):
        b.linear(path, H, 2, rows=B * n, bias=True)


def first_token_classifier(spec: Spec, b: Builder, H: int, dense: str, out: str, group_path: str = "classifier") -> None:
    """dense H -> H then H -> labels on the first token: B·H² + B·H·labels MACs."""
    B, labels = spec.batch, spec.num_labels
    with b.group("classification head (first token)", group_path, "B·H² + B·H·labels", B=B, H=H, labels=labels):
        b.linear(dense, H, H, rows=B, bias=True)
        b.linear(out, H, labels, rows=B, bias=True)
