"""Each required bundled model's total against closed-form arithmetic and its
published parameter count.

The closed forms are written out per family below (biases and norms
included); the published figure is the one on the model card / Hub page /
paper, checked to the digits it is published with.
"""

from __future__ import annotations

import pytest

from modelprof.models.bundled import bundled_models, find_bundled
from modelprof.profilers.pipeline import profile_params


def bert_model(V, H, L, F, P=512, T=2):
    """BertModel with pooler: embeddings V*H + P*H + T*H + LayerNorm 2H; per layer
    Q,K,V,O 4(H^2+H) + LN 2H + FFN 2HF + F + H + LN 2H = 4H^2 + 2HF + 9H + F;
    pooler H^2 + H."""
    return V * H + P * H + T * H + 2 * H + L * (4 * H * H + 2 * H * F + 9 * H + F) + H * H + H


def gpt2(V, d, L, P=1024):
    """wte V*d + wpe P*d + per layer (12d^2 + 13d) + ln_f 2d; the LM head is tied."""
    return V * d + P * d + L * (12 * d * d + 13 * d) + 2 * d


def llama(V, d, L, ff, heads, kv, head_dim=None, qkv_bias=False, tied=False, experts=1):
    """embed V*d (+ untied head V*d); per layer q,o 2*d*(heads*hd), k,v 2*d*kv*hd,
    (qkv biases), gated MLP 3*d*ff per expert (+ router d*E), two RMSNorms 2d;
    final norm d."""
    hd = head_dim or d // heads
    attention = 2 * d * heads * hd + 2 * d * kv * hd + ((heads + 2 * kv) * hd if qkv_bias else 0)
    mlp = experts * 3 * d * ff + (d * experts if experts > 1 else 0)
    return V * d * (1 if tied else 2) + L * (attention + mlp + 2 * d) + d


# hub id, class built, total, published figure, where it is published
CASES = [
    # 30522*768 + 512*768 + 2*768 + 1536 + 12*7,087,872 + 590,592 (BertModel, --base)
    ("bert-base-uncased", "BertModel", bert_model(30522, 768, 12, 3072), "109,482,240", "REFERENCE.md"),
    # seed 004: embeddings 16,622,592 + encoder 85,054,464 + pooler 590,592
    ("bert-base-chinese", "BertModel", bert_model(21128, 768, 12, 3072), "102,267,648", "seed 004"),
    ("bert-large-uncased", "BertModel", bert_model(30522, 1024, 24, 4096), "340M", "BERT paper, table of sizes"),
    ("gpt2", "GPT2LMHeadModel", gpt2(50257, 768, 12), "124,439,808", "REFERENCE.md"),
    ("gpt2-xl", "GPT2LMHeadModel", gpt2(50257, 1600, 48), "1.56B", "GPT-2 XL model card"),
    ("meta-llama/Llama-2-7b-hf", "LlamaForCausalLM", llama(32000, 4096, 32, 11008, 32, 32), "6,738,415,616", "REFERENCE.md"),
    ("meta-llama/Llama-2-13b-hf", "LlamaForCausalLM", llama(32000, 5120, 40, 13824, 40, 40), "13.0B", "Hub safetensors size"),
    ("meta-llama/Llama-2-70b-hf", "LlamaForCausalLM", llama(32000, 8192, 80, 28672, 64, 8), "68,976,648,192", "REFERENCE.md"),
    ("meta-llama/Meta-Llama-3-8B", "LlamaForCausalLM", llama(128256, 4096, 32, 14336, 32, 8), "8,030,261,248", "REFERENCE.md"),
    ("meta-llama/Meta-Llama-3-70B", "LlamaForCausalLM", llama(128256, 8192, 80, 28672, 64, 8), "70.6B", "Hub safetensors size"),
    ("meta-llama/Llama-3.1-405B", "LlamaForCausalLM", llama(128256, 16384, 126, 53248, 128, 8), "406B", "Hub safetensors size"),
    ("mistralai/Mixtral-8x7B-v0.1", "MixtralForCausalLM", llama(32000, 4096, 32, 14336, 32, 8, experts=8), "46.7B", "Mixtral paper / Hub"),
    ("Qwen/Qwen2-7B", "Qwen2ForCausalLM", llama(152064, 3584, 28, 18944, 28, 4, qkv_bias=True), "7.62B", "Hub safetensors size"),
    ("google/gemma-7b", "GemmaForCausalLM", llama(256000, 3072, 28, 24576, 16, 16, head_dim=256, tied=True), "8.54B", "Gemma report"),
    # shared 32128*768; encoder 12*(4d^2 + 2*d*ff + 2d) + rel. bias 32*12 + LN d; decoder adds
    # cross-attention 4d^2 + d per layer; the LM head is tied to `shared`
    ("t5-base", "T5ForConditionalGeneration",
     32128 * 768 + (12 * (4 * 768**2 + 2 * 768 * 3072 + 2 * 768) + 32 * 12 + 768)
     + (12 * (8 * 768**2 + 2 * 768 * 3072 + 3 * 768) + 32 * 12 + 768), "223M", "T5 paper / Hub"),
    # shared V*d; encoder: positions (1024+2)*d, LN 2d, 12*(4d^2+4d + 2d + 2dF+F+d + 2d);
    # decoder: positions, LN 2d, 12*(8d^2+8d + 4d + 2dF+F+d + 2d); architectures is BartModel
    ("facebook/bart-large", "BartModel",
     50265 * 1024 + (1026 * 1024 + 2048 + 12 * (4 * 1024**2 + 9 * 1024 + 2 * 1024 * 4096 + 4096))
     + (1026 * 1024 + 2048 + 12 * (8 * 1024**2 + 15 * 1024 + 2 * 1024 * 4096 + 4096)), "406M", "Hub safetensors size"),
    # cls d + positions 197*d + patch conv 3*16*16*d + d; 24*(4d^2+4d + 4d + 2dF+F+d); LN 2d; classifier 1000d+1000
    ("google/vit-large-patch16-224", "ViTForImageClassification",
     1024 + 197 * 1024 + 3 * 256 * 1024 + 1024 + 24 * (4 * 1024**2 + 9 * 1024 + 2 * 1024 * 4096 + 4096)
     + 2048 + 1000 * 1024 + 1000, "304M", "ViT paper (ViT-L/16: 307M incl. head variants) / Hub"),
]


def agrees_with_published(total: int, published: str) -> bool:
    """True when ``total`` rounds to ``published`` at its significant digits
    ("340M": within 5M; "46.7B": within 0.05B; "124,439,808": exactly)."""
    text = published.replace(",", "")
    scale = {"M": 10**6, "B": 10**9}.get(text[-1], 1)
    digits = text.rstrip("MB")
    if scale == 1:
        return total == int(digits)
    if "." in digits:
        step = 10 ** -len(digits.split(".")[1])
    else:
        step = 10 ** (len(digits) - len(digits.rstrip("0")))
    return abs(total / scale - float(digits)) <= step / 2


@pytest.mark.parametrize("hub_id, class_name, expected, published, where", CASES, ids=[c[0] for c in CASES])
def test_bundled_total(hub_id, class_name, expected, published, where):
    result = profile_params(hub_id, base=class_name in ("BertModel",))
    assert result.model.class_name == class_name
    assert result.report.total == expected
    assert agrees_with_published(expected, published), f"{hub_id}: {expected:,} vs published {published} ({where})"


def test_every_required_model_is_bundled_and_pinned():
    required = {c[0] for c in CASES}
    assert required <= {m.hub_id for m in bundled_models()}


def test_aliases_are_unique_and_resolve():
    aliases = [m.alias for m in bundled_models()]
    assert len(aliases) == len(set(aliases))
    assert find_bundled("llama-2-7b").hub_id == "meta-llama/Llama-2-7b-hf"
    assert find_bundled("LLAMA-3-8B").hub_id == "meta-llama/Meta-Llama-3-8B"
    assert find_bundled("META-LLAMA/llama-2-70b-HF").hub_id == "meta-llama/Llama-2-70b-hf"
    assert find_bundled("mixtral-8x7b-v0.1").hub_id == "mistralai/Mixtral-8x7B-v0.1"
