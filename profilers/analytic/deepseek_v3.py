"""DeepSeek-V3 (``model_type`` deepseek_v3), after transformers 5.24's
``modeling_deepseek_v3.py``: the Llama-style decoder of :mod:`.llama` with
multi-head latent attention and, from layer ``first_k_dense_replace`` on, a
mixture of experts with shared experts (DeepSeek-AI 2024, "DeepSeek-V3
Technical Report", arXiv:2412.19437).

Multi-head latent attention per layer, with B sequences of n tokens, hidden H,
h heads, query rank r_q (``q_lora_rank``), key/value rank r_kv
(``kv_lora_rank``), per-head sizes d_nope, d_rope and d_v (MACs; FLOPs are
2 x MACs):
  queries    B·n·H·r_q + B·n·r_q·h·(d_nope + d_rope)   (no rank: B·n·H·h·(d_nope + d_rope))
  latent     B·n·H·(r_kv + d_rope)                      (kv_a_proj_with_mqa: the compressed K/V and the shared rotary key)
  keys, values B·n·r_kv·h·(d_nope + d_v)                (kv_b_proj expands the latent for every head)
  scores     B·h·n²·(d_nope + d_rope), weighted sum B·h·n²·d_v
  output     B·n·h·d_v·H
The two RMS norms of the ranks (r_q and r_kv weights) are not MACs.

Mixture of experts (layers i >= ``first_k_dense_replace``), E =
``n_routed_experts`` of width F_e = ``moe_intermediate_size``, top-k k =
``num_experts_per_tok``, S = ``n_shared_experts``:
  router     B·n·H·E  (sigmoid scores; the group-limited top-k selection is not MACs)
  experts    k·3·B·n·H·F_e, each token through exactly k of them (assumed)
  shared     3·B·n·H·(S·F_e), every token
Earlier layers hold a dense gated MLP of width ``intermediate_size``.
transformers builds the ``num_hidden_layers`` decoder layers only: the
multi-token-prediction module of the checkpoint is not part of the model.
Active parameters: all but the E - k routed experts a token skips per sparse layer.
"""

from __future__ import annotations

from . import Builder, Spec, family
from .llama import Decoder, Dims, build, gated_mlp, gated_mlp_layer, pattern
from .moe import check_top_k, finish, routed

DEEPSEEK_V3 = Decoder(
    "DeepseekV3",
    dict(vocab_size=129280, hidden_size=7168, intermediate_size=18432, num_hidden_layers=61, num_attention_heads=128, num_key_value_heads=128),
    tied=False, qa_backbone=None,
    biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
    window=lambda s: None,
)
MLA_DEFAULTS = dict(q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128)


@family("deepseek_v3", causal=True)
def deepseek_v3(spec: Spec, b: Builder) -> str:
    experts = spec.get("n_routed_experts", 256)
    top_k, width = spec.get("num_experts_per_tok", 8), spec.get("moe_intermediate_size", 2048)
    shared = spec.get("n_shared_experts", 1)
    first_sparse = spec.get("first_k_dense_replace", 3)
    layers = spec.get("num_hidden_layers", DEEPSEEK_V3.defaults["num_hidden_layers"])
    if first_sparse < layers:
        check_top_k(experts, top_k)
    dense = gated_mlp_layer(False, "gated MLP (dense layers)")
    skipped: list[int] = []

    def feed_forward(b: Builder, layer: str, index: int, size: Dims) -> None:
        if index < first_sparse:
            dense(b, layer, index, size)
            return
        skipped.append(routed(b, DEEPSEEK_V3, layer, size, experts, top_k, width, router_first=False, router="TopkRouter"))
        group_path = f"{pattern(layer)}.mlp.shared_experts"
        with b.group("shared experts (every token)", group_path, "3·B·n·H·(S·F_e)", B=size.B, n=size.n, H=size.H, S=shared, F_e=width):
            gated_mlp(b, f"{layer}.mlp.shared_experts", size.H, shared * width, size.rows, bias=False)

    return finish(b, build(spec, b, DEEPSEEK_V3, feed_forward, latent_attention(spec)), sum(skipped))


def latent_attention(spec: Spec):
    """Multi-head latent attention at ``<layer>.self_attn``, in the order the
    module registers its projections and norms."""
    ranks = {name: spec.get(name, default) for name, default in MLA_DEFAULTS.items()}
    # an explicit null q_lora_rank means full-rank queries (DeepSeek-V2-Lite)
    r_q = spec.config.get("q_lora_rank", MLA_DEFAULTS["q_lora_rank"])
    r_kv = ranks["kv_lora_rank"]
    nope, rope, d_v = ranks["qk_nope_head_dim"], ranks["qk_rope_head_dim"], ranks["v_head_dim"]
    norm = f"{DEEPSEEK_V3.prefix}RMSNorm"

    def attend(b: Builder, layer: str, size: Dims, qkv_bias: bool, o_bias: bool, _qk_norm=None) -> None:
        B, n, H, h, rows = size.B, size.n, size.H, size.h, size.rows
        path, group_path = f"{layer}.self_attn", f"{pattern(layer)}.self_attn"
        if r_q is None:
            with b.group("queries", group_path, "B·n·H·h·(d_nope + d_rope)", B=B, n=n, H=H, h=h, d_nope=nope, d_rope=rope):
                b.linear(f"{path}.q_proj", H, h * (nope + rope), rows=rows, bias=False)
        else:
            with b.group("queries through rank r_q", group_path, "B·n·H·r_q + B·n·r_q·h·(d_nope + d_rope)",
                         B=B, n=n, H=H, r_q=r_q, h=h, d_nope=nope, d_rope=rope):
                b.linear(f"{path}.q_a_proj", H, r_q, rows=rows, bias=qkv_bias)
                b.norm(f"{path}.q_a_layernorm", r_q, bias=False, type=norm)
                b.linear(f"{path}.q_b_proj", r_q, h * (nope + rope), rows=rows, bias=False)
        with b.group("latent keys and values (rank r_kv) and the rotary key", group_path, "B·n·H·(r_kv + d_rope)",
                     B=B, n=n, H=H, r_kv=r_kv, d_rope=rope):
            b.linear(f"{path}.kv_a_proj_with_mqa", H, r_kv + rope, rows=rows, bias=qkv_bias)
            b.norm(f"{path}.kv_a_layernorm", r_kv, bias=False, type=norm)
        with b.group("keys and values from the latent", group_path, "B·n·r_kv·h·(d_nope + d_v)",
                     B=B, n=n, r_kv=r_kv, h=h, d_nope=nope, d_v=d_v):
            b.linear(f"{path}.kv_b_proj", r_kv, h * (nope + d_v), rows=rows, bias=False)
        with b.group("output projection", group_path, "B·n·h·d_v·H", B=B, n=n, h=h, d_v=d_v, H=H):
            b.linear(f"{path}.o_proj", h * d_v, H, rows=rows, bias=o_bias)
        with b.group("attention scores and weighted sum", group_path, "B·h·n²·(d_nope + d_rope) + B·h·n²·d_v",
                     B=B, h=h, n=n, d_nope=nope, d_rope=rope, d_v=d_v):
            b.attention(path, batch=B, heads=h, q_len=n, kv_len=n, head_dim=nope + rope, v_dim=d_v)

    return attend
