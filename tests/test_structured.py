"""Inputs that are neither text, images nor sound (time series, agent
trajectories, latent arrays, robot action chunks, a drafter's context), made
from transformers' own default configs and counted whole by the torch counter."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config
from .test_coverage_sample import count, shapes


def refusal(cli, tmp_path, model_type: str, *options: str) -> str:
    folder = tmp_path / model_type
    write_default_config(folder, model_type)
    result = cli("flops", str(folder), "--base", "--counters", "torch", *options)
    assert result.code == 2
    return result.err


# --- time series


def test_patchtst_reads_its_context_window_as_patches(cli, tmp_path):
    used, counted = count(cli, tmp_path, "patchtst")
    assert shapes(used) == {"past_observed_mask": [1, 32, 1], "past_values": [1, 32, 1]}
    assert "past_values: 32 time steps (its context_length) of 1 variate(s)" in used["notes"]
    # context_length 32 in patches of 1 (stride 1): n = 32 patches of one channel; d 128, F 512, 3 layers
    n, d, f = 32, 128, 512
    patch_embedding = n * 1 * d  # Linear(patch_length 1 -> d)
    layer = 4 * n * d * d + 2 * n * n * d + 2 * n * d * f  # q, k, v, o; the n² products; the feed-forward
    assert counted["macs"] == patch_embedding + 3 * layer == 19_664_896


def test_patchtsmixer_reads_its_window_with_the_observed_mask(cli, tmp_path):
    used, counted = count(cli, tmp_path, "patchtsmixer")
    assert shapes(used) == {"observed_mask": [1, 32, 1], "past_values": [1, 32, 1]}
    assert counted["macs"] > 0


@pytest.mark.parametrize("model_type, steps, tensors", [
    # TimesFM 1: the pipeline pads every series to context_length 512, marks the pad, and names a frequency class
    ("timesfm", 512, {"past_values_padding": [1, 512], "past_values": [1, 512], "freq": [1, 1]}),
    ("timesfm2_5", 16384, {"past_values_padding": [1, 16384], "past_values": [1, 16384]}),
])
def test_timesfm_reads_its_context_with_the_padding_marks(cli, tmp_path, model_type, steps, tensors):
    used, counted = count(cli, tmp_path, model_type)
    assert shapes(used) == tensors
    assert f"past_values: {steps} time steps (its context_length) of 1 variate(s)" in used["notes"]
    assert counted["macs"] > 0


def test_timesfm_takes_a_shorter_series_of_whole_patches(cli, tmp_path):
    used, half = count(cli, tmp_path, "timesfm", "--seq-len", "256")
    assert shapes(used)["past_values"] == [1, 256]
    assert "past_values: 256 time steps (--seq-len, whole patches) of 1 variate(s)" in used["notes"]
    _, whole = count(cli, tmp_path, "timesfm")
    assert whole["macs"] > half["macs"] > 0
    refused = refusal(cli, tmp_path, "timesfm", "--seq-len", "250")
    assert "--seq-len 250: the model reads whole patches of 32 time steps, up to its context_length = 512" in refused


def test_a_fixed_window_refuses_another_length(cli, tmp_path):
    refused = refusal(cli, tmp_path, "patchtst", "--seq-len", "64")
    assert "--seq-len 64: the model reads a fixed window of 32 time steps (its context_length)" in refused


@pytest.mark.parametrize("model_type", ["time_series_transformer", "informer", "autoformer"])
def test_encoder_decoder_forecasters_get_their_time_features_and_the_window_to_forecast(cli, tmp_path, model_type):
    # their default configs leave prediction_length unset, which transformers refuses to build
    used, counted = count(cli, tmp_path, model_type, prediction_length=24)
    # context_length 24 (= prediction_length) + the furthest of lags_sequence 1..7; no time features by default
    assert shapes(used) == {"past_observed_mask": [1, 31], "past_time_features": [1, 31, 0], "future_values": [1, 24],
                            "future_time_features": [1, 24, 0], "past_values": [1, 31]}
    assert "past_values: 31 time steps (context_length 24 + 7 lagged steps) of 1 variate(s)" in used["notes"]
    if model_type == "time_series_transformer":
        # d 64, F 32, 2 + 2 layers; the encoder reads the 24 context steps, the decoder the 24 to forecast
        n, d, f = 24, 64, 32
        embedding = 2 * n * 9 * d  # feature_size 9 (7 lags + log loc + log scale) -> d, 48 steps
        encoder = 2 * (4 * n * d * d + 2 * n * n * d + 2 * n * d * f)
        decoder = 2 * (2 * (4 * n * d * d + 2 * n * n * d) + 2 * n * d * f)  # self and cross attention
        assert counted["macs"] == embedding + encoder + decoder == 3_222_528


def test_static_features_and_variates_follow_the_config(cli, tmp_path):
    used, _ = count(cli, tmp_path, "time_series_transformer", prediction_length=24, input_size=2, num_time_features=2,
                    num_static_categorical_features=1, cardinality=[5], embedding_dimension=[3], num_static_real_features=2)
    assert shapes(used) == {"past_observed_mask": [1, 31, 2], "past_time_features": [1, 31, 2],
                            "static_categorical_features": [1, 1], "static_real_features": [1, 2],
                            "future_values": [1, 24, 2], "future_time_features": [1, 24, 2], "past_values": [1, 31, 2]}


# --- an agent's trajectory


def test_decision_transformer_reads_three_tokens_a_step(cli, tmp_path):
    used, counted = count(cli, tmp_path, "decision_transformer")
    assert shapes(used) == {"actions": [1, 128, 4], "rewards": [1, 128, 1], "returns_to_go": [1, 128, 1],
                            "timesteps": [1, 128], "attention_mask": [1, 128], "states": [1, 128, 17]}
    assert "a trajectory of 128 steps: 384 tokens (return-to-go, state, action a step)" in used["notes"]
    # 3 tokens per step x T = 128 steps: n = 384 tokens; GPT-2 of H 128, F 4·H = 512 (n_inner unset), 3 layers
    t, n, h, f = 128, 384, 128, 512
    embed = t * h * (17 + 4 + 1)  # state (17), action (4) and return-to-go (1) -> H, once per step each
    layer = 4 * n * h * h + 2 * n * n * h + 2 * n * h * f  # c_attn (q, k, v) and c_proj; the n² products; the MLP
    predict = t * h * (1 + 17 + 4)  # return, state and action heads, one token each per step
    assert counted["macs"] == embed + 3 * layer + predict == 340_459_520


def test_a_trajectory_stays_within_the_gpt2_context_and_the_episode(cli, tmp_path):
    # the default 128 steps are cut to max_ep_len, with a note
    used, _ = count(cli, tmp_path, "decision_transformer", max_ep_len=100)
    assert shapes(used)["states"] == [1, 100, 17]
    assert "trajectory of 100 steps: the model's max_ep_len 100 (default 128)" in used["notes"]
    # 3 tokens a step: 1024 positions hold 341 steps; a length the user chose past that is refused
    refused = refusal(cli, tmp_path, "decision_transformer", "--seq-len", "342")
    assert "--seq-len 342: a trajectory of at most 341 steps fits the model (n_positions 1024 / 3 tokens a step)" in refused


# --- a latent array, a drafter's block


def test_perceiver_cross_attends_its_latents_to_embedded_inputs(cli, tmp_path):
    used, counted = count(cli, tmp_path, "perceiver")
    assert shapes(used) == {"inputs": [1, 128, 768]}
    # N 256 latents of D 1280 read n = 128 inputs of d_model 768; cross_attention_shape_for_attention "kv": the
    # cross-attention's q·k and v are 768 wide; widening factors 1; 26 self-attention layers over the latents
    big_n, d, n, c = 256, 1280, 128, 768
    cross = big_n * d * c + 2 * n * c * c + 2 * big_n * n * c + big_n * c * d + 2 * big_n * d * d
    self_attend = 4 * big_n * d * d + 2 * big_n * big_n * d + 2 * big_n * d * d
    assert counted["macs"] == cross + 26 * self_attend == 71_336_722_432


def test_muse_glimmer_assistant_drafts_a_block_against_the_target_models_states(cli, tmp_path):
    used, counted = count(cli, tmp_path, "muse_glimmer_assistant")
    assert shapes(used) == {"noise_embeds": [1, 16, 6656], "context_hidden_states": [1, 128, 5 * 6656]}
    # 5 target layers of H 6656 side by side -> H over n = 128 context tokens; then 5 layers whose b = 16 block
    # queries (32 heads of 128) attend to keys and values (8 heads of 128) of the n + b positions; MLP F 19968
    n, b, h, f = 128, 16, 6656, 19968
    projection = n * 5 * h * h
    layer = 2 * b * h * 4096 + 2 * (n + b) * h * 1024 + 2 * b * (n + b) * 4096 + 3 * b * h * f
    assert counted["macs"] == projection + 5 * layer == 74_522_296_320


def test_a_perceiver_head_is_not_fed_embeddings_its_preprocessor_would_make(cli, tmp_path):
    # PerceiverForMaskedLM embeds token ids itself: its inputs are no [B, n, d_model] embeddings
    folder = tmp_path / "perceiver"
    write_default_config(folder, "perceiver", architectures=["PerceiverForMaskedLM"])
    result = cli("flops", str(folder), "--counters", "torch")
    assert result.code == 2 and "the model's forward needs 'inputs'" in result.err


# --- vision-language-action models


@pytest.mark.parametrize("model_type, expert", [
    # π0: the robot state's token before the chunk of 50 actions
    ("pi0", {"action_embeds": [1, 51, 1024]}),
    # π0.5: the state is in the prompt; the denoising time goes to the action expert's adaptive norms
    ("pi05", {"timestep_embeds": [1, 1024], "action_embeds": [1, 50, 1024]}),
])
def test_pi0_runs_its_camera_images_prompt_and_action_expert(cli, tmp_path, model_type, expert):
    used, counted = count(cli, tmp_path, model_type)
    # one camera at 224 px in 14-px patches: 256 image tokens before the 128 of the prompt
    assert shapes(used) == {**expert, "pixel_attention_mask": [1, 1], "pixel_values": [1, 1, 3, 224, 224],
                            "input_ids": [1, 384], "attention_mask": [1, 384]}
    assert "input_ids hold 256 image tokens (id 257152) per row" in used["notes"]
    assert counted["macs"] > 0
