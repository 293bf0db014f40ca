"""Model types that failed for reasons of their own: a config field left
null (DeepSeek-V2), an output that requires a gradient without a gradient
function (MRA without its CUDA kernel), a mask packed beside activations
(GLM-5-Next), and the fallback of a count fake tensors cannot carry to
real-tensor builds of 1 to 3 layers."""

from __future__ import annotations

import pytest

from modelprof.profilers.diagnoses import diagnose

from .test_configs import write_default_config

TOPK_REASON = ("TypeError: topk(): argument 'k' must be int, not NoneType "
               "(at deepseek_v2/modeling_deepseek_v2.py:102 in forward)")
TOPK_DIAGNOSIS = ("the config's num_experts_per_tok is null, and the model needs a value there: "
                  "deepseek_v2/modeling_deepseek_v2.py:102 reads it (as self.top_k); set it as the checkpoint does")


def test_a_null_config_field_read_where_the_model_failed_is_named():
    # line 102 is `torch.topk(scores, k=self.top_k, ...)`; __init__ sets `self.top_k = config.num_experts_per_tok`
    config = {"model_type": "deepseek_v2", "num_experts_per_tok": None, "topk_method": "greedy"}
    assert diagnose(TOPK_REASON, config) == TOPK_DIAGNOSIS
    assert diagnose(TOPK_REASON, {**config, "num_experts_per_tok": 6}) is None  # set: not the cause
    assert diagnose(TOPK_REASON.replace("NoneType", "float"), config) is None  # no None in the error
    # a None the line reads off an input, not the config (udop's bbox)
    udop = "TypeError: 'NoneType' object is not subscriptable (at udop/modeling_udop.py:193 in combine_image_text_embeddings)"
    assert diagnose(udop, {"model_type": "udop", "num_experts_per_tok": None}) is None


def test_deepseek_v2_default_config_fails_with_the_null_field_named(cli, tmp_path):
    folder = tmp_path / "deepseek_v2"
    write_default_config(folder, "deepseek_v2", num_hidden_layers=2)
    result = cli("flops", str(folder), "--base", "--counters", "torch", "-f", "json")
    assert result.code != 0
    assert f"torch: error: {TOPK_DIAGNOSIS}; the model said: {TOPK_REASON}" in " ".join(result.err.split())


def test_mra_counts_without_its_cuda_kernel(cli, tmp_path):
    """Without the kernel, MRA's attention returns ``zeros_like(query).requires_grad_()``
    (modeling_mra.py:363), whose reshaped view FlopCounterMode's module tracker refused."""
    folder = tmp_path / "mra"
    write_default_config(folder, "mra", num_hidden_layers=2)
    payload = cli("flops", str(folder), "--base", "--counters", "torch", "-f", "json").json()
    torch_json = payload["counters"]["torch"]
    assert torch_json["status"] == "ok", torch_json["reason"]
    assert torch_json["idle_modules"] == []
    assert payload["input"]["tensors"]["input_ids"]["shape"] == [1, 128]
    # n = 128 tokens, H 768, F 3072, 2 layers: q, k, v, output 4·H² + FFN 2·H·F per token (no attention products:
    # the zeros stand for them)
    assert torch_json["macs"] == 2 * 128 * (4 * 768**2 + 2 * 768 * 3072)


def test_glm5_next_pools_by_its_packed_mask_on_fake_tensors(tmp_path):
    """GLM-5-Next's indexer concatenates keys, gate scores and the padding
    mask, splits the mask off and pools by it (``nonzero``): fake tensors
    count what real ones do."""
    from modelprof.models.inputs import InputSpec
    from modelprof.models.resolver import resolve
    from modelprof.profilers.counters import CountJob, harness, select_counters

    folder = tmp_path / "glm5_next_text"
    write_default_config(
        folder, "glm5_next_text", num_hidden_layers=4, hidden_size=256, intermediate_size=512, moe_intermediate_size=128,
        n_routed_experts=8, num_experts_per_tok=2, num_attention_heads=4, num_key_value_heads=4, q_lora_rank=64,
        kv_lora_rank=32, qk_head_dim=64, qk_nope_head_dim=64, v_head_dim=64, index_n_heads=4, index_head_dim=32,
        linear_num_heads=4, linear_head_dim=32, vocab_size=1000, pad_token_id=0, index_topk=8, index_kpool=4,
    )
    job = CountJob(resolve(str(folder)), InputSpec(), base=True)
    (counter,) = select_counters(["torch"])
    fake = counter.measure(harness.prepare(job, "meta"), job)
    real = counter.measure(harness.prepare(job, "cpu"), job)
    assert fake.status == "ok", fake.reason
    assert fake.idle_modules == ()
    assert sum(r.macs for r in fake.records) == sum(r.macs for r in real.records) == 321_222_144


READS_A_VALUE = """
def forward(self, x):
    int((x >= 0).sum().item())  # a value of the activations: fake tensors have none
    return ORIGINAL(self, x)
"""


def test_a_model_fake_tensors_cannot_run_counts_real_builds_of_1_to_3_layers_when_the_whole_does_not_fit(
        cli, tmp_path, monkeypatch):
    from transformers.models.llama import modeling_llama

    namespace = {"ORIGINAL": modeling_llama.LlamaMLP.forward}
    exec(READS_A_VALUE, namespace)
    monkeypatch.setattr(modeling_llama.LlamaMLP, "forward", namespace["forward"])  # the children are forked
    folder = tmp_path / "llama"
    write_default_config(folder, "llama", hidden_size=256, intermediate_size=1024, num_hidden_layers=20,
                         num_attention_heads=4, num_key_value_heads=4, vocab_size=1000)
    # the whole model: 20 layers of 1,050,112 params + 256,000 embeddings: 21.3 M params, 85 MB over the 768 MiB
    # base; 3 layers: 3.4 M, 14 MB: an 800 MiB cap fits the builds of 1 to 3 layers only
    payload = cli("flops", str(folder), "--base", "--counters", "torch", "--max-memory", "800MiB", "-f", "json").json()
    torch_json = payload["counters"]["torch"]
    assert torch_json["status"] == "ok", torch_json["reason"]
    # n = 128, H 256, F 1024, 20 layers: per token q, k, v, o 4·H² + MLP 3·H·F, attention 2·n²·H per layer
    assert torch_json["macs"] == 20 * (128 * (4 * 256**2 + 3 * 256 * 1024) + 2 * 128**2 * 256)
    assert torch_json["notes"][-1].startswith(
        "counted on real CPU tensors of builds with 1, 2 and 3 layers: fake tensors cannot run this model (")
    assert "DataDependentOutputException" in torch_json["notes"][-1]
    assert "and the whole model's real tensors would not fit (needs about" in torch_json["notes"][-1]
    capped = cli("flops", str(folder), "--base", "--counters", "torch", "--max-memory", "700MiB", "-f", "json")
    assert "real tensors instead: needs about" in " ".join(capped.err.split())  # not even 1 layer fits
