"""Mixture-of-experts decoders (``model_type`` mixtral, qwen2_moe,
qwen3_moe), after transformers 5.24's ``modeling_mixtral.py``,
``modeling_qwen2_moe.py`` and ``modeling_qwen3_moe.py``: the Llama-style
decoder of :mod:`.llama` whose MLP is a sparse block (qwen3_moe: Qwen3's
attention with per-head query/key norms, no shared expert).

Top-k assumption: every token goes through exactly k = ``num_experts_per_tok``
of the E routed experts (what the router's top-k picks; capacity limits and
dropped tokens do not exist here). Per sparse layer, with B sequences of n
tokens, hidden H and expert width F (MACs; FLOPs are 2 x MACs):
  router             B·n·H·E  (the router logits, a bias-free H x E product)
  experts (top-k)    k·3·B·n·H·F  (gate and up fused in ``gate_up_proj``, then down)
  qwen2_moe only:    shared expert 3·B·n·H·S, always run, and its sigmoid gate B·n·H
Attention, norms, embeddings and heads are as in :mod:`.llama` (mixtral: no
biases; qwen2_moe: q,k,v biases with ``qkv_bias``, default on). Normalising the
top-k weights (``norm_topk_prob``), the softmax and the weighting are not MACs.

qwen2_moe and qwen3_moe layer i is sparse when i is not in
``mlp_only_layers``, E > 0 and (i + 1) is a multiple of
``decoder_sparse_step``; other layers hold a dense gated MLP of width
``intermediate_size``.

Active parameters (what one token uses): every parameter except the E - k
routed experts it skips in each sparse layer, (E - k)·3·H·F per layer; shared
experts always count. Mixtral-8x7B: 46,702,792,704 in total, 12,879,925,248 active.
"""

from __future__ import annotations

from . import Builder, Spec, Unsupported, family
from .llama import Decoder, Dims, build, gated_mlp, gated_mlp_layer, pattern

MIXTRAL = Decoder(
    "Mixtral",
    dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8),
    tied=False, qa_backbone="model", biases=lambda s: (False, False, False),
    window=lambda s: s.get("sliding_window"),
)
QWEN3_MOE = Decoder(
    "Qwen3Moe",
    # no head_dim: Qwen3MoeConfig has none (unlike Qwen3Config's 128), so the model uses H / h
    dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=4),
    tied=False, qa_backbone="transformer",
    biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
    window=lambda s: s.get("sliding_window", 4096) if s.get("use_sliding_window", False) else None, qk_norm=True,
)
QWEN2_MOE = Decoder(
    "Qwen2Moe",
    dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632, num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16),
    tied=False, qa_backbone="model", biases=lambda s: (s.get("qkv_bias", True), False, False),
    window=lambda s: s.get("sliding_window", 4096) if s.get("use_sliding_window", False) else None,
)


@family("mixtral", causal=True)
def mixtral(spec: Spec, b: Builder) -> str:
    experts = spec.get("num_local_experts", spec.get("num_experts", 8))  # num_experts is its alias
    top_k = spec.get("num_experts_per_tok", 2)
    check_top_k(experts, top_k)
    skipped: list[int] = []  # per sparse layer: parameters of the experts a token skips

    def sparse(b: Builder, layer: str, _index: int, size: Dims) -> None:
        skipped.append(routed(b, MIXTRAL, layer, size, experts, top_k, size.F))

    return finish(b, build(spec, b, MIXTRAL, sparse), sum(skipped))


@family("qwen2_moe", causal=True)
def qwen2_moe(spec: Spec, b: Builder) -> str:
    experts, top_k = spec.get("num_experts", 60), spec.get("num_experts_per_tok", 4)
    expert_width, shared_width = spec.get("moe_intermediate_size", 1408), spec.get("shared_expert_intermediate_size", 5632)
    sparse_layers = qwen2_moe_sparse_layers(spec, experts)
    if sparse_layers:
        check_top_k(experts, top_k)
    dense = gated_mlp_layer(False, "gated MLP (dense layers)")
    skipped: list[int] = []

    def feed_forward(b: Builder, layer: str, index: int, size: Dims) -> None:
        if index not in sparse_layers:
            dense(b, layer, index, size)
            return
        skipped.append(routed(b, QWEN2_MOE, layer, size, experts, top_k, expert_width))
        shared_expert(b, layer, size, shared_width)

    return finish(b, build(spec, b, QWEN2_MOE, feed_forward), sum(skipped))


@family("qwen3_moe", causal=True)
def qwen3_moe(spec: Spec, b: Builder) -> str:
    experts, top_k = spec.get("num_experts", 128), spec.get("num_experts_per_tok", 8)
    width = spec.get("moe_intermediate_size", 768)
    sparse_layers = sparse_layer_indices(spec, experts, QWEN3_MOE.defaults["num_hidden_layers"])
    if sparse_layers:
        check_top_k(experts, top_k)
    dense = gated_mlp_layer(False, "gated MLP (dense layers)")
    skipped: list[int] = []

    def feed_forward(b: Builder, layer: str, index: int, size: Dims) -> None:
        if index not in sparse_layers:
            dense(b, layer, index, size)
        else:
            skipped.append(routed(b, QWEN3_MOE, layer, size, experts, top_k, width, router_first=False))

    return finish(b, build(spec, b, QWEN3_MOE, feed_forward), sum(skipped))


def check_top_k(experts: int, top_k: int) -> None:
    if not 0 < top_k <= experts:
        raise Unsupported(f"num_experts_per_tok {top_k} with {experts} experts: the top-k routing needs 0 < k <= E")


def qwen2_moe_sparse_layers(spec: Spec, experts: int) -> set[int]:
    """Indices of the layers with a sparse block (Qwen2MoeDecoderLayer's rule)."""
    return sparse_layer_indices(spec, experts, QWEN2_MOE.defaults["num_hidden_layers"])


def sparse_layer_indices(spec: Spec, experts: int, default_layers: int) -> set[int]:
    """The Qwen MoE rule: layer i is sparse when it is not in
    ``mlp_only_layers``, E > 0 and (i + 1) is a multiple of ``decoder_sparse_step``."""
    layers = spec.get("num_hidden_layers", default_layers)
    if experts <= 0:
        return set()
    step = spec.get("decoder_sparse_step", 1)
    if step < 1:
        raise Unsupported(f"decoder_sparse_step {step}")
    dense_only = set(spec.get("mlp_only_layers") or [])
    return {i for i in range(layers) if i not in dense_only and (i + 1) % step == 0}


def routed(b: Builder, decoder: Decoder, layer: str, size: Dims, experts: int, top_k: int, width: int, *,
           router_first: bool = True, router: str = "TopKRouter") -> int:
    """The router and the E experts of ``<layer>.mlp`` (in the order the
    family registers them), each token through top_k of them; returns the
    parameters of the experts a token skips."""
    H, rows, mlp, group_path = size.H, size.rows, f"{layer}.mlp", f"{pattern(layer)}.mlp"

    def add_router() -> None:
        with b.group("router (expert logits)", f"{group_path}.gate", "B·n·H·E", B=size.B, n=size.n, H=H, E=experts):
            b.linear(f"{mlp}.gate", H, experts, rows=rows, bias=False, type=f"{decoder.prefix}{router}")

    if router_first:
        add_router()
    with b.group("experts (top-k)", f"{group_path}.experts", "k·3·B·n·H·F", k=top_k, B=size.B, n=size.n, H=H, F=width):
        b.param(f"{mlp}.experts.gate_up_proj", experts * 2 * width * H)
        b.param(f"{mlp}.experts.down_proj", experts * H * width)
        b.matmul(f"{mlp}.experts", top_k * 3 * rows * H * width, type=f"{decoder.prefix}Experts")
    if not router_first:
        add_router()
    return (experts - top_k) * 3 * H * width


def shared_expert(b: Builder, layer: str, size: Dims, width: int) -> None:
    """qwen2_moe's always-on expert, scaled by sigmoid(shared_expert_gate(x))."""
    H, rows, mlp, group_path = size.H, size.rows, f"{layer}.mlp", f"{pattern(layer)}.mlp"
    with b.group("shared expert (every token)", f"{group_path}.shared_expert", "3·B·n·H·S", B=size.B, n=size.n, H=H, S=width):
        gated_mlp(b, f"{mlp}.shared_expert", H, width, rows, bias=False)
    with b.group("shared expert gate", f"{group_path}.shared_expert_gate", "B·n·H", B=size.B, n=size.n, H=H):
        b.linear(f"{mlp}.shared_expert_gate", H, 1, rows=rows, bias=False)


def finish(b: Builder, name: str, skipped_params: int) -> str:
    b.active_params = sum(leaf.params for leaf in b.leaves) - skipped_params
    b.notes.append("top-k assumption: each token runs through exactly num_experts_per_tok routed experts")
    return name

