"""Towers that are not a plain image beside placeholder tokens: every one
runs in one forward (transformers' own default configs, built on meta)."""

from __future__ import annotations

import pytest

from .test_configs import write_default_config


def count(cli, folder, *options):
    payload = cli("flops", str(folder), "--base", "--counters", "torch", *options, "-f", "json").json()
    return payload["input"], payload["counters"]["torch"]


@pytest.mark.parametrize(
    "model_type, tensors, note",
    [
        # region features of a detector: 36 boxes of 2048 values and their boxes
        ("lxmert", {"visual_pos": [1, 36, 4], "visual_feats": [1, 36, 2048], "input_ids": [1, 128]},
         "region features: 36 boxes per image (the bottom-up-attention Faster R-CNN's)"),
        # NaFlex: 16 x 16 patch rows of 16 x 16 x 3 values, their mask and shape
        ("siglip2", {"pixel_attention_mask": [1, 256], "spatial_shapes": [1, 2], "pixel_values": [1, 256, 768], "input_ids": [1, 64]},
         "pixel_values: 16x16 patches of 768 values each (NaFlex patch rows)"),
        # Kosmos-2: the 64 latent queries fill the positions the mask marks, before 128 text tokens
        ("kosmos-2", {"image_embeds_position_mask": [1, 192], "pixel_values": [1, 3, 224, 224], "input_ids": [1, 192]},
         "input_ids hold 64 image tokens (id 0) per row"),
        # a Q-Former alone: 32 queries cross-attend to BLIP-2's 257 image features
        ("blip_2_qformer", {"query_embeds": [1, 32, 768], "encoder_hidden_states": [1, 257, 1408]},
         "encoder_hidden_states: 257 image features (BLIP-2's vision tower: 224 px in 14-px patches and a class token)"),
        # Inkling 2's tower: a grid counted in image tokens, each token one 40 x 40 tile (its grid goes to the CPU)
        ("inkling2_vision", {"image_grid_thw": [1, 3], "pixel_values": [25, 40, 40, 3]},
         "pixel_values: 5x5 tiles of 40x40 pixels, one per image token"),
    ],
)
def test_every_tower_runs(tmp_path, cli, model_type, tensors, note):
    folder = tmp_path / model_type
    write_default_config(folder, model_type)
    used, torch_json = count(cli, folder)
    assert torch_json["status"] == "ok", torch_json["reason"]
    assert {name: t["shape"] for name, t in used["tensors"].items()} == tensors
    assert note in used["notes"]
    assert torch_json["idle_modules"] == []


def test_a_null_placeholder_id_is_refused(tmp_path, cli):
    folder = tmp_path / "blip-2"
    write_default_config(folder, "blip-2")
    result = cli("flops", str(folder), "--base", "--counters", "torch")
    assert result.code == 2
    assert "the config's image_token_index is null" in result.err
    write_default_config(folder, "blip-2", image_token_index=50265)  # as Salesforce/blip2-opt-2.7b sets it
    used, torch_json = count(cli, folder)
    assert torch_json["status"] == "ok" and torch_json["idle_modules"] == []
    assert used["tensors"]["input_ids"]["shape"] == [1, 32 + 128]
