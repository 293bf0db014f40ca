"""A fixed sample of transformers' own default configs across modalities, each
counted whole by the torch counter on fake tensors (the full sweep over every
model type is ``benchmarks/coverage.py``). Where a closed form is practical it
is asserted exactly, with the arithmetic in a comment."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config


def count(cli, tmp_path, model_type: str, *options: str, **changes) -> tuple[dict, dict]:
    """(input, torch counter) of ``flops --base --counters torch`` on the default config of ``model_type``."""
    folder = tmp_path / model_type
    write_default_config(folder, model_type, **changes)
    result = cli("flops", str(folder), "--base", "--counters", "torch", *options, "-f", "json")
    assert result.code == 0, result.err
    payload = result.json()
    torch_json = payload["counters"]["torch"]
    assert torch_json["status"] == "ok", torch_json["reason"]
    assert torch_json["idle_modules"] == []  # every module with weights did work
    return payload["input"], torch_json


def shapes(used: dict) -> dict:
    return {name: tensor["shape"] for name, tensor in used["tensors"].items()}


def test_llava_runs_its_vision_tower_and_the_language_model_over_the_image_tokens(cli, tmp_path):
    used, counted = count(cli, tmp_path, "llava")
    # CLIP ViT-L/14 at 336 px: 24 x 24 = 576 patches; the default strategy drops CLS, so 576 image tokens
    assert shapes(used) == {"pixel_values": [1, 3, 336, 336], "input_ids": [1, 576 + 128]}
    assert "input_ids hold 576 image tokens (id 32000) per row" in used["notes"]
    # vision tower, m = 577 tokens (CLS + patches), Hv 1024, Fv 4096, 24 layers (all run: layer -2 is read):
    #   patch conv 576·3·14²·1024 + 24·(4·m·Hv² + 2·m²·Hv + 2·m·Hv·Fv)
    m, hv, fv = 577, 1024, 4096
    vision = 576 * 3 * 14 * 14 * 1024 + 24 * (4 * m * hv**2 + 2 * m**2 * hv + 2 * m * hv * fv)
    # projector over the 576 image tokens: 1024 -> 4096 -> 4096
    projector = 576 * (1024 * 4096 + 4096 * 4096)
    # Llama-2-7B-shaped language model over n = 704 tokens: 32·(4·n·H² + 2·n²·H + 3·n·H·F)
    n, h, f = 704, 4096, 11008
    language = 32 * (4 * n * h**2 + 2 * n**2 * h + 3 * n * h * f)
    assert counted["macs"] == vision + projector + language == 4_892_069_249_024


def test_switch_transformers_sends_every_token_through_one_expert_per_sparse_layer(cli, tmp_path):
    used, counted = count(cli, tmp_path, "switch_transformers")
    assert shapes(used) == {"input_ids": [1, 128], "decoder_input_ids": [1, 128]}
    assert "made in rotation" in counted["notes"][-1]
    # d 768, F 2048, 8 experts, 12 + 12 blocks; every 4th block (1, 5, 9) is sparse on each side: 3 + 3
    n, d, f, e = 128, 768, 2048, 8
    attention = 4 * n * d * d + 2 * n * n * d  # q, k, v, o and the n² products
    cross = 4 * n * d * d + 2 * n * n * d  # q, o from the decoder; k, v from the 128 encoder states
    dense = 2 * n * d * f
    sparse = n * d * e + 2 * n * d * f  # router, then one expert per token
    encoder = 12 * attention + 9 * dense + 3 * sparse
    decoder = 12 * (attention + cross) + 9 * dense + 3 * sparse
    assert counted["macs"] == encoder + decoder == 21_446_000_640


def test_llama4_shows_the_executed_dense_experts_and_the_routed_computation(cli, tmp_path):
    small = dict(num_hidden_layers=2, hidden_size=64, intermediate_size=128, intermediate_size_mlp=256,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=100,
                 num_local_experts=4, num_experts_per_tok=1)
    _, counted = count(cli, tmp_path, "llama4_text", **small)
    n, h, f, e, k, layers = 128, 64, 128, 4, 1, 2
    attention = 2 * n * h * 64 + 2 * n * h * 32 + 2 * n * n * 64  # q, o: 4 heads of 16; k, v: 2 of 16
    rest = n * h * e + 3 * n * h * f  # router, shared expert
    executed = n * e * 3 * h * f  # Llama4TextExperts: bmm of every token with all E experts
    routed = n * k * 3 * h * f  # what the top-1 router chose
    assert counted["macs"] == layers * (attention + rest + executed) == 38_862_848
    assert counted["routed_macs"] == layers * (attention + rest + routed) == 19_988_480
    assert "2 expert bank(s) (Llama4TextExperts) multiply each of 128 tokens with all 4 experts" in counted["notes"][-1]


def test_the_torch_counter_counts_cpu_sdpa_on_real_tensors(tmp_path):
    """FlopCounterMode has no formula for the CPU's fused attention kernel:
    a fallback to real tensors would lose every n² product without one."""
    from modelprof.models.inputs import InputSpec
    from modelprof.models.resolver import resolve
    from modelprof.profilers.counters import CountJob, select_counters
    from modelprof.profilers.counters.harness import prepare

    folder = tmp_path / "bert"
    write_default_config(folder, "bert", num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                         intermediate_size=128, vocab_size=100)
    job = CountJob(resolve(str(folder)), InputSpec(seq_len=32), "forward", base=True, attn="sdpa")
    (counter,) = select_counters(["torch"])
    real, fake = counter.measure(prepare(job, "cpu"), job), counter.measure(prepare(job, "meta"), job)
    by_op = {r.op: 0 for r in real.records}
    for r in real.records:
        by_op[r.op] += r.macs
    # 2 layers x 2·n²·H = 2·2·32²·64 score and weighted-sum products
    assert by_op["attention"] == 2 * 2 * 32**2 * 64
    assert real.macs == fake.macs


def test_a_default_config_transformers_cannot_run_is_named_for_what_it_is(cli, tmp_path):
    # Qwen2-VL's defaults: the merger outputs vision_config.hidden_size = 3,584 per image token, the
    # language model embeds text_config.hidden_size = 8,192, so 64 tokens never match 64 features
    folder = tmp_path / "qwen2_vl"
    write_default_config(folder, "qwen2_vl")
    failed = cli("flops", str(folder), "--base", "--counters", "torch")
    assert failed.code == 3
    assert "the config is inconsistent: the image tower's features are not as wide as the language model's " \
           "embeddings (image features 3,584 wide, text embeddings 8,192)" in failed.err
    assert "(at qwen2_vl/modeling_qwen2_vl.py:" in failed.err  # where the model refused


SAMPLE = {
    # text, encoder-decoder, state space
    "gpt2": {"input_ids": [1, 128]},
    "t5": {"input_ids": [1, 128], "decoder_input_ids": [1, 128]},
    "mamba": {"input_ids": [1, 128]},
    # vision: plain, promptable, pairs, in-context prompts, detection
    "vit": {"pixel_values": [1, 3, 224, 224]},
    "sam": {"pixel_values": [1, 3, 1024, 1024], "input_points": [1, 1, 1, 2], "input_labels": [1, 1, 1],
            "input_boxes": [1, 1, 4], "input_masks": [1, 1, 256, 256]},
    "efficientloftr": {"pixel_values": [1, 2, 3, 480, 640]},
    "seggpt": {"pixel_values": [1, 3, 448, 448], "prompt_pixel_values": [1, 3, 448, 448], "prompt_masks": [1, 3, 448, 448]},
    "rt_detr_v2": {"pixel_values": [1, 3, 224, 224]},
    "videoprism_vision_model": {"pixel_values_videos": [1, 16, 3, 288, 288]},
    # audio: filter banks, frames-first conformer features, a codec's waveform with its channel
    "audio-spectrogram-transformer": {"input_values": [1, 1024, 128]},
    "parakeet_ctc": {"input_features": [1, 1000, 80]},
    "dac": {"input_values": [1, 1, 160256]},
    "qwen3_asr_encoder": {"input_features": [1, 128, 1000], "input_features_mask": [1, 1000]},
    # vision-language: anyres tiles, cross-attention tiles, tile stacks, grid towers
    "llava_next": {"pixel_values": [1, 3, 3, 336, 336], "image_sizes": [1, 2], "input_ids": [1, 1304]},
    "mllama": {"pixel_values": [1, 1, 4, 3, 448, 448], "aspect_ratio_ids": [1, 1], "aspect_ratio_mask": [1, 1, 4],
               "cross_attention_mask": [1, 128, 1, 4], "input_ids": [1, 128]},
    "idefics3": {"pixel_values": [1, 1, 3, 192, 192], "input_ids": [1, 137]},
    "paddleocr_vl": {"pixel_values": [676, 3, 14, 14], "image_grid_thw": [1, 3], "input_ids": [1, 297],
                     "mm_token_type_ids": [1, 297]},
    "kimi_k25_vision": {"pixel_values": [256, 3, 14, 14], "grid_thw": [1, 3]},
    # speech language models
    "qwen2_audio": {"input_features": [1, 128, 3000], "feature_attention_mask": [1, 3000], "input_ids": [1, 378]},
    "kyutai_speech_to_text": {"input_ids": [1, 125, 33]},
    # other towers: region features, NaFlex rows, image positions
    "lxmert": {"visual_feats": [1, 36, 2048], "visual_pos": [1, 36, 4], "input_ids": [1, 128]},
    "siglip2": {"pixel_values": [1, 256, 768], "pixel_attention_mask": [1, 256], "spatial_shapes": [1, 2],
                "input_ids": [1, 64]},
    "kosmos-2": {"pixel_values": [1, 3, 224, 224], "image_embeds_position_mask": [1, 192], "input_ids": [1, 192]},
    # mixture of experts with its routing stated
    "qwen3_moe": {"input_ids": [1, 128]},
}


@pytest.mark.parametrize("model_type", sorted(SAMPLE))
def test_the_sample_counts_every_tower_with_the_inputs_it_takes(cli, tmp_path, model_type):
    used, counted = count(cli, tmp_path, model_type)  # status ok, no module with weights idle
    assert shapes(used) == SAMPLE[model_type]
    assert counted["macs"] > 0


def test_qwen2_vl_runs_its_vision_tower_once_its_widths_agree(cli, tmp_path):
    # the default's only defect is the merger width: 3,584 for an 8,192-wide language model
    used, counted = count(cli, tmp_path, "qwen2_vl", vision_config={"hidden_size": 8192})
    # 224 px in 14-px patches, 2 frames per temporal patch: 16 x 16 rows of 3·2·14·14 = 1,176 values,
    # merged 2 x 2 into 64 image tokens ahead of the 128 text tokens
    assert shapes(used) == {"pixel_values": [256, 1176], "image_grid_thw": [1, 3], "input_ids": [1, 192],
                            "mm_token_type_ids": [1, 192]}
    assert "input_ids hold 64 image tokens (id 151655) per row" in used["notes"]
