"""The key/value cache of a decoder-only language model, in bytes, from its
config. Pure Python, no torch.

Per token of one sequence, each layer caches a key and a value for every
key/value head: ``2 · kv_heads · head_dim`` values, so the whole model
``2 · layers · kv_heads · head_dim · bytes`` (Llama-2-7b in fp16:
2·32·32·128·2 = 524,288 bytes). Grouped-query attention caches only its
key/value heads, an explicit ``head_dim`` replaces ``hidden_size / heads``,
a sliding window caps a layer's cache at the window (at ``window - 1``
tokens, which the new token completes, as transformers keeps it), and multi-head latent
attention (DeepSeek-V2/V3) caches one compressed latent of ``kv_lora_rank``
values plus the decoupled rotary key of ``qk_rope_head_dim`` per token and
layer (DeepSeek-V2 paper, section 2.1.4) — what serving engines keep;
transformers' own implementation caches the decompressed keys and values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

LAYER_FIELDS = ("num_hidden_layers", "n_layer", "num_layers")
HEAD_FIELDS = ("num_attention_heads", "n_head", "num_heads")
KV_HEAD_FIELDS = ("num_key_value_heads", "num_kv_heads", "n_head_kv")
WIDTH_FIELDS = ("hidden_size", "n_embd", "d_model")
DECODER_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


@dataclass(frozen=True)
class KVCache:
    layers: int
    windowed_layers: int  # of them, those whose cache stops at ``window`` tokens
    window: int | None
    per_token_layer: int  # bytes one token costs one layer
    formula: str

    @property
    def per_token(self) -> int:
        """Bytes per token of one sequence, every layer (before any window caps it)."""
        return self.layers * self.per_token_layer

    def bytes(self, context: int, batch: int) -> int:
        """The cache holding ``context`` tokens of each of ``batch`` sequences."""
        windowed = min(context, self.window - 1) if self.window else context
        full = self.layers - self.windowed_layers
        return batch * self.per_token_layer * (full * context + self.windowed_layers * windowed)


def kv_cache(config: Mapping, dtype_bytes: int) -> KVCache | str:
    """The cache of ``config``'s language model, or why there is none to give."""
    if config.get("is_encoder_decoder"):
        return "the key/value cache is given for decoder-only language models; this is an encoder-decoder model"
    if not _decoder(config):
        return "the model generates no tokens (not a decoder-only language model): it keeps no key/value cache"
    text = config["text_config"] if isinstance(config.get("text_config"), Mapping) else config
    layers = _int(text, LAYER_FIELDS)
    heads = _int(text, HEAD_FIELDS)
    if not layers or not heads:
        return "the config names no layer and head counts to size a key/value cache by"
    window = text.get("sliding_window") if text.get("use_sliding_window", True) is not False else None
    window = window if isinstance(window, int) and window > 0 else None
    types = text.get("layer_types")
    windowed = (sum("sliding" in str(t) for t in types) if isinstance(types, list) and len(types) == layers
                else layers) if window else 0
    rank, rope = text.get("kv_lora_rank"), text.get("qk_rope_head_dim")
    if isinstance(rank, int) and isinstance(rope, int):
        per_layer = (rank + rope) * dtype_bytes
        formula = f"layers · (kv_lora_rank + qk_rope_head_dim) · bytes = {layers}·({rank} + {rope})·{dtype_bytes}"
        return KVCache(layers, windowed, window, per_layer, formula)
    kv = _int(text, KV_HEAD_FIELDS) or (1 if text.get("multi_query") else heads)
    head_dim = text.get("head_dim") if isinstance(text.get("head_dim"), int) else None
    width = _int(text, WIDTH_FIELDS)
    if head_dim is None and not width:
        return "the config names no head size or width to size a key/value cache by"
    head_dim = head_dim or width // heads
    formula = f"2 · layers · kv_heads · head_dim · bytes = 2·{layers}·{kv}·{head_dim}·{dtype_bytes}"
    return KVCache(layers, windowed, window, 2 * kv * head_dim * dtype_bytes, formula)


def _decoder(config: Mapping) -> bool:
    architectures = config.get("architectures") or ()
    if architectures:
        return any(str(a).endswith(DECODER_SUFFIXES) for a in architectures)
    return bool(config.get("is_decoder")) or _causal_only(config.get("model_type", ""))


def _causal_only(model_type: str) -> bool:
    """transformers maps the type to a causal LM and not to a masked LM (BERT has both)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def _int(config: Mapping, names) -> int | None:
    return next((config[n] for n in names if isinstance(config.get(n), int) and config[n] > 0), None)
