"""Llama-style decoders (``model_type`` llama, mistral, qwen2, gemma), after
transformers 5.23's ``modeling_llama.py``, ``modeling_mistral.py``,
``modeling_qwen2.py`` and ``modeling_gemma.py``: one pre-norm decoder with
rotary positions, grouped-query attention and a gated MLP; the families differ
only in defaults, biases, tying and Gemma's scaled embedding.

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

from dataclasses import dataclass
from typing import Callable

from . import Builder, Spec, Unsupported, family

HEADS = ("ForCausalLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")

# (builder, layer path, layer index, sizes) -> adds the layer's feed-forward leaves
FeedForward = Callable[[Builder, str, int, "Dims"], None]


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
    "gemma": Decoder(
        "Gemma",
        dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=16, head_dim=256),
        tied=True, qa_backbone=None,
        biases=lambda s: (s.get("attention_bias", False), s.get("attention_bias", False), False),
        window=_no_window, embedding="GemmaTextScaledWordEmbedding", scaled=True,
    ),
}


@family("llama", "mistral", "qwen2", "gemma")
def dense(spec: Spec, b: Builder) -> str:
    decoder = DENSE[spec.config["model_type"]]
    return build(spec, b, decoder, gated_mlp_layer(decoder.biases(spec)[2]))


def build(spec: Spec, b: Builder, decoder: Decoder, feed_forward: FeedForward) -> str:
    """The class the spec asks for: backbone (with ``feed_forward`` per layer) and head."""
    name, root, head = resolve(spec, decoder)
    size = dims(spec, decoder)
    window = decoder.window(spec)
    if window:
        b.notes.append(f"sliding_window {window} masks the scores; eager attention still computes all n² (counted in full)")
    backbone(b, decoder, size, spec, root, feed_forward)
    if head is not None:
        head_layer(spec, b, decoder, size, head)
    return name


def resolve(spec: Spec, decoder: Decoder) -> tuple[str, str, str | None]:
    """(class name, path prefix of the backbone, head suffix or None for the backbone)."""
    architecture = spec.architecture
    if architecture in (None, f"{decoder.prefix}Model"):
        return f"{decoder.prefix}Model", "", None
    head = architecture.removeprefix(decoder.prefix)
    if not architecture.startswith(decoder.prefix) or head not in HEADS or (head == "ForQuestionAnswering" and decoder.qa_backbone is None):
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


def backbone(b: Builder, decoder: Decoder, size: Dims, spec: Spec, root: str, feed_forward: FeedForward) -> None:
    """Embeddings, L decoder layers and the final norm."""
    H, norm = size.H, f"{decoder.prefix}RMSNorm"
    if decoder.scaled:
        b.notes.append("embeddings are scaled by √H elementwise: no MACs")
    scaled = " scaled by √H" if decoder.scaled else ""
    with b.group(f"token embeddings (lookup{scaled}, no MACs)", f"{root}embed_tokens", "V·H params", V=size.V, H=H):
        b.embedding(f"{root}embed_tokens", size.V, H, type=decoder.embedding)
    qkv_bias, o_bias, _ = decoder.biases(spec)
    for i in range(size.L):
        layer = f"{root}layers.{i}"
        attention(b, layer, size, qkv_bias, o_bias)
        feed_forward(b, layer, i, size)
        with b.group("RMS norms (no MACs)", f"{root}layers.*", "2·H params", H=H):
            b.norm(f"{layer}.input_layernorm", H, bias=False, type=norm)
            b.norm(f"{layer}.post_attention_layernorm", H, bias=False, type=norm)
    with b.group("final RMS norm (no MACs)", f"{root}norm", "H params", H=H):
        b.norm(f"{root}norm", H, bias=False, type=norm)


def attention(b: Builder, layer: str, size: Dims, qkv_bias: bool, o_bias: bool) -> None:
    """Grouped-query self-attention at ``<layer>.self_attn``: projections, then
    eager scores and weighted sum."""
    B, n, H, h, kv, d, rows = size.B, size.n, size.H, size.h, size.kv, size.d, size.rows
    path, group_path = f"{layer}.self_attn", f"{pattern(layer)}.self_attn"
    with b.group("self-attention projections", group_path, "2·B·n·H·(h·d) + 2·B·n·H·(kv·d)", B=B, n=n, H=H, h=h, kv=kv, d=d):
        b.linear(f"{path}.q_proj", H, h * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.k_proj", H, kv * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.v_proj", H, kv * d, rows=rows, bias=qkv_bias)
        b.linear(f"{path}.o_proj", h * d, H, rows=rows, bias=o_bias)
    with b.group("attention scores and weighted sum", group_path, "2·B·h·n²·d", B=B, h=h, n=n, d=d):
        b.attention(path, batch=B, heads=h, q_len=n, kv_len=n, head_dim=d)


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
