"""Llama-style decoders (``model_type`` llama, mistral, qwen2, qwen3, gemma,
gemma2, gemma3_text, phi3), after transformers 5.24's ``modeling_<type>.py``:
one pre-norm decoder with rotary positions, grouped-query attention and a
gated MLP. The families differ only in defaults, biases, tying, per-head
query/key norms (Qwen3, Gemma 3: d weights each, no MACs), four norms per
layer instead of two (Gemma 2 and 3), fused q,k,v and gate,up projections
(Phi-3: the same products) and Gemma's scaled embedding. Gemma 2's logit
soft-capping (tanh) and Gemma 2/3's alternating sliding-window layers add no
MACs to eager attention.

Per layer, with B sequences of n tokens, hidden H, h query heads and kv
key/value heads of size d (``head_dim``, H/h unless set), MLP width F (MACs;
FLOPs are 2 x MACs):
  Q,K,V,O projections      2·B·n·H·(h·d) + 2·B·n·H·(kv·d)
  scores and weighted sum  2·B·h·n²·d  (K/V heads expanded to every query head)
  gated MLP                3·B·n·H·F  (gate, up, down)
  LM head                  B·n·H·V  on every token, once
Llama-2-7b (H 4096, h = kv = 32, F 11008, V 32000, 32 layers) at B 1, n 128:
32·(4·128·4096² + 2·128²·4096 + 3·128·4096·11008) + 128·4096·32000
= 850,000,871,424 MACs.

Biases add parameters, never MACs: llama has them on q,k,v,o with
``attention_bias`` and on the MLP with ``mlp_bias``; gemma on q,k,v,o with
``attention_bias``; qwen2 always on q,k,v and never on o; mistral nowhere.
RMS norms own H weights each (Gemma's scale by 1 + weight: same count).
Gemma multiplies the embeddings by √H, elementwise: no MACs. A
``sliding_window`` is a mask over the scores: eager attention still computes
all n² of them. Tied embeddings (default only for gemma) are counted once;
the tied LM head still costs its MACs.

Classes: the backbone (``<P>Model``) and the heads taking ``input_ids``, each
on every token: ``ForCausalLM`` (bias-free LM head), ``ForSequenceClassification``
(bias-free ``score``; the last non-pad token's logits are kept afterwards),
``ForTokenClassification`` (``score``, biased unless ``token_classification_bias``
is off) and ``ForQuestionAnswering`` (``qa_outputs`` H x 2 with bias, backbone
under ``transformer`` for llama and qwen2; gemma has none). Anything else is
refused. :mod:`.moe` reuses this decoder with sparse feed-forward blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import Builder, Spec, Unsupported, family

HEADS = ("ForCausalLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")

# (builder, layer path, layer index, sizes) -> adds the layer's feed-forward leaves
FeedForward = Callable[[Builder, str, int, "Dims"], None]
# (builder, layer path, sizes, q/k/v bias, o bias, class of per-head norms or None) -> the attention's leaves
Attention = Callable[[Builder, str, "Dims", bool, bool, "str | None"], None]


@dataclass(frozen=True)
class Decoder:
    """What a family fixes: its class names, config defaults and biases."""

    prefix: str  # class names are prefix + "Model", prefix + "ForCausalLM", ...
    defaults: dict  # the config class's defaults for the fields read here
    tied: bool  # tie_word_embeddings default
    qa_backbone: str | None  # attribute ForQuestionAnswering keeps the backbone under; None: no QA class
    biases: Callable[[Spec], tuple[bool, bool, bool]]  # (q/k/v, o, MLP)
    window: Callable[[Spec], int | None]  # the sliding window, where the family uses one
    embedding: str = "Embedding"  # class of embed_tokens
    scaled: bool = False  # embeddings multiplied by √H (Gemma): elementwise, no MACs
    qk_norm: bool = False  # RMS norms over each query and key head (Qwen3, Gemma 3): d weights each
    layer_norms: tuple[str, ...] = ("input_layernorm", "post_attention_layernorm")  # per layer, H weights each
    backbone_class: str | None = None  # the bare model's class, when it is not prefix + "Model"
    head_prefix: dict = field(default_factory=dict)  # head -> class prefix, when it is not ``prefix``
    fused: bool = False  # Phi-3: q,k,v in one qkv_proj and gate, up in one gate_up_proj


@dataclass(frozen=True)
class Dims:
    B: int
    n: int
    H: int  # hidden
    L: int  # layers
    h: int  # query heads
    kv: int  # key/value heads
    d: int  # head size
    F: int  # MLP width
    V: int  # vocabulary

    @property
    def rows(self) -> int:
        return self.B * self.n


# Gemma 2 and 3 norm before and after both the attention and the MLP
GEMMA2_NORMS = ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm")


def _no_window(spec: Spec) -> None:
    return None


def _qwen_window(spec: Spec) -> int | None:
    return spec.get("sliding_window", 4096) if spec.get("use_sliding_window", False) else None


DENSE = {
    "llama": Decoder(
        "Llama",
        dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None),
        tied=False, qa_backbone="transformer",
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), s.get("mlp_bias", False)),
        window=_no_window,
    ),
    "mistral": Decoder(
        "Mistral",
        dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8),
        tied=False, qa_backbone="model", biases=lambda s: (False, False, False),
        window=lambda s: s.config.get("sliding_window", 4096),  # an explicit null turns it off
    ),
    "qwen2": Decoder(
        "Qwen2",
        dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32),
        tied=False, qa_backbone="transformer", biases=lambda s: (True, False, False), window=_qwen_window,
    ),
    "qwen3": Decoder(
        "Qwen3",
        dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32, head_dim=128),
        tied=False, qa_backbone="transformer",
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
        window=_qwen_window, qk_norm=True,
    ),
    "gemma": Decoder(
        "Gemma",
        dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=16, head_dim=256),
        tied=True, qa_backbone=None,
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
        window=_no_window, embedding="GemmaTextScaledWordEmbedding", scaled=True,
    ),
    "gemma2": Decoder(
        "Gemma2",
        dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4, head_dim=256),
        tied=True, qa_backbone=None,
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
        window=lambda s: s.get("sliding_window", 4096), embedding="Gemma2TextScaledWordEmbedding", scaled=True,
        layer_norms=GEMMA2_NORMS,
    ),
    "gemma3_text": Decoder(
        "Gemma3",
        dict(vocab_size=262208, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4, head_dim=256),
        tied=True, qa_backbone=None,
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
        window=lambda s: s.get("sliding_window", 4096), embedding="Gemma3TextScaledWordEmbedding", scaled=True,
        qk_norm=True, layer_norms=GEMMA2_NORMS, backbone_class="Gemma3TextModel",
        head_prefix={"ForSequenceClassification": "Gemma3Text"},
    ),
    "phi3": Decoder(
        "Phi3",
        dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None),
        tied=False, qa_backbone=None, biases=lambda s: (False, False, False),
        window=lambda s: s.get("sliding_window"), fused=True,
    ),
}


@family("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", causal=True)
def dense(spec: Spec, b: Builder) -> str:
    decoder = DENSE[spec.config["model_type"]]
    feed_forward = fused_mlp_layer if decoder.fused else gated_mlp_layer(decoder.biases(spec)[2])
    return build(spec, b, decoder, feed_forward)


def build(spec: Spec, b: Builder, decoder: Decoder, feed_forward: FeedForward, attend: Attention | None = None) -> str:
    """The class the spec asks for: backbone (with ``feed_forward`` per layer,
    and ``attend`` instead of the family's attention) and head."""
    name, root, head = resolve(spec, decoder)
    size = dims(spec, decoder)
    window = decoder.window(spec)
    if window:
        b.notes.append(f"sliding_window {window} masks the scores; eager attention still computes all n² (counted in full)")
    backbone(b, decoder, size, spec, root, feed_forward, attend)
    if head is not None:
        head_layer(spec, b, decoder, size, head)
    return name


def resolve(spec: Spec, decoder: Decoder) -> tuple[str, str, str | None]:
    """(class name, path prefix of the backbone, head suffix or None for the backbone)."""
    architecture = spec.architecture
    backbone_class = decoder.backbone_class or f"{decoder.prefix}Model"
    if architecture in (None, backbone_class):
        return backbone_class, "", None
    heads = {decoder.head_prefix.get(head, decoder.prefix) + head: head for head in HEADS}
    head = heads.get(architecture)
    if head is None or (head == "ForQuestionAnswering" and decoder.qa_backbone is None):
        raise Unsupported(f"unsupported architecture {architecture}")
    root = decoder.qa_backbone if head == "ForQuestionAnswering" else "model"
    return architecture, f"{root}.", head


def dims(spec: Spec, decoder: Decoder) -> Dims:
    """The sizes, with the config class's defaults for missing fields."""
    defaults = decoder.defaults
    H, h = spec.get("hidden_size", defaults["hidden_size"]), spec.get("num_attention_heads", defaults["num_attention_heads"])
    # num_key_value_heads: missing -> the class default; null -> one per query head
    kv = spec.config.get("num_key_value_heads", defaults["num_key_value_heads"]) or h
    if h % kv:
        raise Unsupported(f"num_attention_heads {h} is not a multiple of num_key_value_heads {kv}")
    return Dims(
        B=spec.batch, n=spec.seq_len, H=H, L=spec.get("num_hidden_layers", defaults["num_hidden_layers"]), h=h, kv=kv,
        d=spec.get("head_dim", defaults.get("head_dim")) or H // h,
        F=spec.get("intermediate_size", defaults["intermediate_size"]), V=spec.get("vocab_size", defaults["vocab_size"]),
    )


def backbone(b: Builder, decoder: Decoder, size: Dims, spec: Spec, root: str, feed_forward: FeedForward,
             attend: Attention | None = None) -> None:
    """Embeddings, L decoder layers and the final norm."""
    H, norm = size.H, f"{decoder.prefix}RMSNorm"
    if decoder.scaled:
        b.notes.append("embeddings are scaled by √H elementwise: no MACs")
    scaled = " scaled by √H" if decoder.scaled else ""
    with b.group(f"token embeddings (lookup{scaled}, no MACs)", f"{root}embed_tokens", "V·H params", V=size.V, H=H):
        b.embedding(f"{root}embed_tokens", size.V, H, type=decoder.embedding)
    qkv_bias, o_bias, _ = decoder.biases(spec)
    attend = attend or (fused_attention if decoder.fused else attention)
    for i in range(size.L):
        layer = f"{root}layers.{i}"
        attend(b, layer, size, qkv_bias, o_bias, norm if decoder.qk_norm else None)
        feed_forward(b, layer, i, size)
        with b.group("RMS norms (no MACs)", f"{root}layers.*", f"{len(decoder.layer_norms)}·H params", H=H):
            for name in decoder.layer_norms:
                b.norm(f"{layer}.{name}", H, bias=False, type=norm)
    with b.group("final RMS norm (no MACs)", f"{root}norm", "H params", H=H):
        b.norm(f"{root}norm", H, bias=False, type=norm)


def attention(b: Builder, layer: str, size: Dims, qkv_bias: bool, o_bias: bool, qk_norm: str | None = None) -> None:
    """Grouped-query self-attention at ``<layer>.self_attn``: projections, then
    eager scores and weighted sum; ``qk_norm`` names the class of per-head
    query and key norms, where the family has them."""
    B, n, H, h, kv, d, rows = size.B, size.n, size.H, size.h, size.kv, size.d, size.rows
    path, group_path = f"{layer}.self_attn", f"{pattern(layer)}.self_attn"
    with b.group("self-attention projections", group_path, "2·B·n·H·(h·d) + 2·B·n·H·(kv·d)", B=B, n=n, H=H, h=h, kv=kv, d=d):
        b.linear(f"{path}.q_proj", H, h * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.k_proj", H, kv * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.v_proj", H, kv * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.o_proj", h * d, H, rows=rows, bias=o_bias)
    if qk_norm:
        with b.group("query and key head norms (no MACs)", group_path, "2·d params", d=d):
            b.norm(f"{path}.q_norm", d, bias=False, type=qk_norm)
            b.norm(f"{path}.k_norm", d, bias=False, type=qk_norm)
    with b.group("attention scores and weighted sum", group_path, "2·B·h·n²·d", B=B, h=h, n=n, d=d):
        b.attention(path, batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)


def fused_attention(b: Builder, layer: str, size: Dims, qkv_bias: bool, o_bias: bool, qk_norm: str | None = None) -> None:
    """Phi-3's attention: one ``qkv_proj`` of H x (h + 2·kv)·d (registered after
    ``o_proj``), the same products as separate q, k, v projections."""
    B, n, H, h, kv, d, rows = size.B, size.n, size.H, size.h, size.kv, size.d, size.rows
    path, group_path = f"{layer}.self_attn", f"{pattern(layer)}.self_attn"
    with b.group("self-attention projections (q,k,v fused)", group_path, "B·n·H·(h + 2·kv)·d + B·n·(h·d)·H", B=B, n=n, H=H, h=h, kv=kv, d=d):
        b.linear(f"{path}.o_proj", h * d, H, rows=rows, bias=o_bias)
        b.linear(f"{path}.qkv_proj", H, (h + 2 * kv) * d, rows=rows, bias=qkv_bias)
    with b.group("attention scores and weighted sum", group_path, "2·B·h·n²·d", B=B, h=h, n=n, d=d):
        b.attention(path, batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)


def fused_mlp_layer(b: Builder, layer: str, _index: int, size: Dims) -> None:
    """Phi-3's MLP: one ``gate_up_proj`` of H x 2F, then ``down_proj``: 3·H·F per row."""
    with b.group("gated MLP (gate and up fused, down)", f"{pattern(layer)}.mlp", "3·B·n·H·F", B=size.B, n=size.n, H=size.H, F=size.F):
        b.linear(f"{layer}.mlp.gate_up_proj", size.H, 2 * size.F, rows=size.rows, bias=False)
        b.linear(f"{layer}.mlp.down_proj", size.F, size.H, rows=size.rows, bias=False)


def gated_mlp(b: Builder, path: str, H: int, F: int, rows: int, bias: bool) -> None:
    """down(act(gate(x)) * up(x)): three H x F products per row."""
    b.linear(f"{path}.gate_proj", H, F, rows=rows, bias=bias)
    b.linear(f"{path}.up_proj", H, F, rows=rows, bias=bias)
    b.linear(f"{path}.down_proj", F, H, rows=rows, bias=bias)


def gated_mlp_layer(bias: bool, name: str = "gated MLP (gate, up, down)") -> FeedForward:
    """The dense feed-forward of a layer, at ``<layer>.mlp``."""

    def add(b: Builder, layer: str, _index: int, size: Dims) -> None:
        with b.group(name, f"{pattern(layer)}.mlp", "3·B·n·H·F", B=size.B, n=size.n, H=size.H, F=size.F):
            gated_mlp(b, f"{layer}.mlp", size.H, size.F, size.rows, bias)

    return add


def pattern(layer: str) -> str:
    """``model.layers.3`` -> ``model.layers.*``: the group path of every layer."""
    return layer.rsplit(".", 1)[0] + ".*"


def head_layer(spec: Spec, b: Builder, decoder: Decoder, size: Dims, head: str) -> None:
    """The task head on every token's final hidden state."""
    B, n, H, rows = size.B, size.n, size.H, size.rows
    if head == "ForCausalLM":
        if spec.get("tie_word_embeddings", decoder.tied):
            with b.group("LM head (tied to the token embeddings)", "lm_head", "B·n·H·V", B=B, n=n, H=H, V=size.V):
                b.matmul("lm_head", rows * H * size.V, type="Linear")
        else:
            with b.group("LM head", "lm_head", "B·n·H·V", B=B, n=n, H=H, V=size.V):
                b.linear("lm_head", H, size.V, rows=rows, bias=False)
    elif head == "ForSequenceClassification":
        labels = spec.num_labels
        with b.group("sequence classifier (every token; the last non-pad one is kept)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("score", H, labels, rows=rows, bias=False)
    elif head == "ForTokenClassification":
        labels = spec.num_labels
        with b.group("token classifier (every token)", "score", "B·n·H·labels", B=B, n=n, H=H, labels=labels):
            b.linear("score", H, labels, rows=rows, bias=spec.get("token_classification_bias", True))
    else:
        with b.group("span head (start, end logits of every token)", "qa_outputs", "B·n·H·2", B=B, n=n, H=H):
            b.linear("qa_outputs", H, 2, rows=rows, bias=True)
