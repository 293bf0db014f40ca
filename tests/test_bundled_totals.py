"""Each required bundled model's total against closed-form arithmetic and its
published parameter count.

The closed forms are written out per family below (biases and norms
included). What modelprof counts is compared with the figure a reader can
look up (paper, model card, Hub page, another tool's README), within half a
unit of the last digit it is published with unless a wider tolerance is
stated with its reason.
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


M, B = 10**6, 10**9

# hub id, class built, closed form, quantity compared, published figure, tolerance, source.
# The tolerance is half a unit of the last digit the source publishes, unless the comment says otherwise.
CASES = [
    # 30522*768 + 512*768 + 2*768 + 1536 + 12*7,087,872 + 590,592 (BertModel, --base)
    ("bert-base-uncased", "BertModel", bert_model(30522, 768, 12, 3072), "total", 109_480_000, 5_000,
     "DeepSpeed flops profiler (cli99/flops-profiler README), bert-base-uncased: 109.48 M params"),
    # embeddings 16,622,592 + encoder 85,054,464 + pooler 590,592; no exact published total
    ("bert-base-chinese", "BertModel", bert_model(21128, 768, 12, 3072), "total", 102_267_648, 0,
     "the closed form itself: 21128*768 + 512*768 + 2*768 + 1536 + 12*7,087,872 + 590,592"),
    # the paper rounds and does not say which heads it counts: held to 2% (335.1M vs 340M)
    ("bert-large-uncased", "BertModel", bert_model(30522, 1024, 24, 4096), "total", 340 * M, 340 * M // 50,
     "Devlin et al. 2019, BERT, section 3: BERT-LARGE, total parameters 340M"),
    ("gpt2", "GPT2LMHeadModel", gpt2(50257, 768, 12), "total", 124 * M, M // 2,
     "nanoGPT config/eval_gpt2.py and the gpt2 model card: 124M parameters"),
    ("gpt2-xl", "GPT2LMHeadModel", gpt2(50257, 1600, 48), "total", 1558 * M, M // 2,
     "nanoGPT config/eval_gpt2_xl.py: 1558M parameters"),
    ("meta-llama/Llama-2-7b-hf", "LlamaForCausalLM", llama(32000, 4096, 32, 11008, 32, 32), "total", 6_740 * M, 5 * M,
     "calflops README, Llama-2-7B: Params 6.74 B"),
    ("meta-llama/Llama-2-13b-hf", "LlamaForCausalLM", llama(32000, 5120, 40, 13824, 40, 40), "total", 13 * B, B // 2,
     "Touvron et al. 2023, Llama 2, table 1: 13B"),
    ("meta-llama/Llama-2-70b-hf", "LlamaForCausalLM", llama(32000, 8192, 80, 28672, 64, 8), "total", 69 * B, B // 2,
     "model page meta-llama/Llama-2-70b-hf on the Hub: 69B params"),
    ("meta-llama/Meta-Llama-3-8B", "LlamaForCausalLM", llama(128256, 4096, 32, 14336, 32, 8), "total", 8_030 * M, 5 * M,
     "model page meta-llama/Meta-Llama-3-8B on the Hub: 8.03B params"),
    ("meta-llama/Meta-Llama-3-70B", "LlamaForCausalLM", llama(128256, 8192, 80, 28672, 64, 8), "total", 70_600 * M, 50 * M,
     "model page meta-llama/Meta-Llama-3-70B on the Hub: 70.6B params"),
    ("meta-llama/Llama-3.1-405B", "LlamaForCausalLM", llama(128256, 16384, 126, 53248, 128, 8), "total", 406 * B, B // 2,
     "model page meta-llama/Llama-3.1-405B on the Hub: 406B params"),
    ("mistralai/Mixtral-8x7B-v0.1", "MixtralForCausalLM", llama(32000, 4096, 32, 14336, 32, 8, experts=8), "total",
     46_700 * M, 50 * M, "Mistral AI, 'Mixtral of experts' (2023-12-11): 46.7B total parameters"),
    ("Qwen/Qwen2-7B", "Qwen2ForCausalLM", llama(152064, 3584, 28, 18944, 28, 4, qkv_bias=True), "total", 7_620 * M, 5 * M,
     "model page Qwen/Qwen2-7B on the Hub: 7.62B params"),
    # the report's embedding row counts a 256,128-row vocabulary; the released config has 256,000 rows
    ("google/gemma-7b", "GemmaForCausalLM", llama(256000, 3072, 28, 24576, 16, 16, head_dim=256, tied=True),
     "non_embedding", 7_751_248_896, 0, "Gemma Team 2024, Gemma report, table 2: 7B non-embedding parameters 7,751,248,896"),
    ("google/gemma-2b", "GemmaForCausalLM", llama(256000, 2048, 18, 16384, 8, 1, head_dim=256, tied=True),
     "non_embedding", 1_981_884_416, 0, "Gemma Team 2024, Gemma report, table 2: 2B non-embedding parameters 1,981,884,416"),
    # shared 32128*768; encoder 12*(4d^2 + 2*d*ff + 2d) + rel. bias 32*12 + LN d; decoder adds
    # cross-attention 4d^2 + d per layer; the LM head is tied to `shared`
    ("t5-base", "T5ForConditionalGeneration",
     32128 * 768 + (12 * (4 * 768**2 + 2 * 768 * 3072 + 2 * 768) + 32 * 12 + 768)
     + (12 * (8 * 768**2 + 2 * 768 * 3072 + 3 * 768) + 32 * 12 + 768), "total", 223 * M, M // 2,
     "model page google-t5/t5-base on the Hub: 223M params"),
    # shared V*d; encoder: positions (1024+2)*d, LN 2d, 12*(4d^2+4d + 2d + 2dF+F+d + 2d);
    # decoder: positions, LN 2d, 12*(8d^2+8d + 4d + 2dF+F+d + 2d); architectures is BartModel
    ("facebook/bart-large", "BartModel",
     50265 * 1024 + (1026 * 1024 + 2048 + 12 * (4 * 1024**2 + 9 * 1024 + 2 * 1024 * 4096 + 4096))
     + (1026 * 1024 + 2048 + 12 * (8 * 1024**2 + 15 * 1024 + 2 * 1024 * 4096 + 4096)), "total", 406 * M, M // 2,
     "model page facebook/bart-large on the Hub: 406M params"),
    # cls d + positions 197*d + patch conv 3*16*16*d + d; 24*(4d^2+4d + 4d + 2dF+F+d); LN 2d; classifier 1000d+1000
    ("google/vit-large-patch16-224", "ViTForImageClassification",
     1024 + 197 * 1024 + 3 * 256 * 1024 + 1024 + 24 * (4 * 1024**2 + 9 * 1024 + 2 * 1024 * 4096 + 4096)
     + 2048 + 1000 * 1024 + 1000, "total", 304 * M, M // 2,
     "model page google/vit-large-patch16-224 on the Hub: 304M params"),
]


@pytest.mark.parametrize("hub_id, class_name, closed_form, quantity, published, tolerance, source", CASES, ids=[c[0] for c in CASES])
def test_bundled_total(hub_id, class_name, closed_form, quantity, published, tolerance, source):
    result = profile_params(hub_id, base=class_name in ("BertModel",))
    assert result.model.class_name == class_name
    report = result.report
    assert report.total == closed_form
    counted = report.total if quantity == "total" else report.non_embedding
    assert abs(counted - published) <= tolerance, f"{hub_id}: {quantity} {counted:,} vs {published:,} ± {tolerance:,} ({source})"


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
