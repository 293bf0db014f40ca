"""Prompts beside an image (models/modalities/prompts.py), planned from facts
alone: no model is built, no torch is needed."""

from __future__ import annotations

from modelprof.models import modalities
from modelprof.models.inputs import InputSpec
from modelprof.models.modalities import ModelFacts


def planned(config: dict, accepts: set[str], required: set[str] = frozenset(), tasks: set[str] = frozenset(), **spec):
    facts = ModelFacts(config, "pixel_values", frozenset(accepts | required), frozenset(required), tasks=frozenset(tasks))
    result = modalities.plan(facts, InputSpec(**spec))
    return {name: t.shape for name, t in result.tensors.items()}, result


SAM = {"vision_config": {"image_size": 1024}, "prompt_encoder_config": {"image_size": 1024, "patch_size": 16, "image_embedding_size": 64}}
SAM_FORWARD = {"pixel_values", "input_points", "input_labels", "input_boxes", "input_masks", "image_embeddings"}


def test_sam_gets_a_prompt_of_every_kind():
    shapes, result = planned(SAM, SAM_FORWARD)
    assert shapes == {
        "pixel_values": (1, 3, 1024, 1024),
        "input_points": (1, 1, 1, 2),
        "input_labels": (1, 1, 1),
        "input_boxes": (1, 1, 4),
        "input_masks": (1, 1, 256, 256),  # 4 x the 64 x 64 image embedding
    }
    assert result.tensors["input_boxes"].values == (0, 0, 1024, 1024)
    assert result.tensors["input_labels"].values == (1,)


def test_sam2_mask_follows_the_prompt_frame_and_the_backbone_sets_the_image():
    config = {"vision_config": {"backbone_config": {"image_size": [1024, 1024]}},
              "prompt_encoder_config": {"image_size": 1024, "patch_size": 16}}
    shapes, _ = planned(config, SAM_FORWARD, batch=2)
    assert shapes["pixel_values"] == (2, 3, 1024, 1024)
    assert shapes["input_masks"] == (2, 1, 256, 256)


def test_sam3_boxes_are_labelled_and_normalised_beside_its_text():
    config = {"vision_config": {"backbone_config": {"image_size": 1008}}, "text_config": {"max_position_embeddings": 32}}
    shapes, result = planned(config, {"pixel_values", "input_ids", "attention_mask", "input_boxes", "input_boxes_labels"})
    assert shapes == {"pixel_values": (1, 3, 1008, 1008), "input_boxes": (1, 1, 4), "input_boxes_labels": (1, 1), "input_ids": (1, 32)}
    assert result.tensors["input_boxes"].values == (0.5, 0.5, 1.0, 1.0)


def test_seggpt_example_and_image_share_the_stacked_size():
    config = {"image_size": [896, 448], "patch_size": 16, "num_channels": 3}
    shapes, _ = planned(config, set(), required={"pixel_values", "prompt_pixel_values", "prompt_masks"})
    assert shapes == {name: (1, 3, 448, 448) for name in ("pixel_values", "prompt_pixel_values", "prompt_masks")}


def test_keypoint_matchers_get_image_pairs():
    shapes, _ = planned({}, set(), required={"pixel_values"}, tasks={"keypoint_matching"})
    assert shapes == {"pixel_values": (1, 2, 3, 480, 640)}
    shapes, _ = planned({}, set(), required={"pixel_values"}, tasks={"keypoint_matching"}, image_size=256, given=frozenset({"image_size"}))
    assert shapes == {"pixel_values": (1, 2, 3, 256, 256)}


def test_oneformer_reads_its_task():
    shapes, _ = planned({"task_seq_len": 77}, set(), required={"pixel_values", "task_inputs"})
    assert shapes == {"pixel_values": (1, 3, 224, 224), "task_inputs": (1, 77)}


def test_plain_vision_models_are_unchanged():
    shapes, result = planned({"image_size": 384, "patch_size": 16}, {"pixel_values", "interpolate_pos_encoding"})
    assert shapes == {"pixel_values": (1, 3, 384, 384)}
    assert result.notes == []


def test_image_sizes_the_config_implies():
    # DepthPro: its smallest scale (0.25) must still hold one 384-pixel patch
    shapes, _ = planned({"patch_size": 384, "scaled_images_ratios": [0.25, 0.5, 1]}, {"pixel_values"})
    assert shapes == {"pixel_values": (1, 3, 1536, 1536)}
    # RF-DETR: DINOv2's 518 rounded up to whole 4 x 4 windows of 14-pixel patches
    shapes, result = planned({"backbone_config": {"image_size": 518, "patch_size": 14, "num_windows": 4}}, {"pixel_values"})
    assert shapes == {"pixel_values": (1, 3, 560, 560)}
    assert "images 560x560: the configured 518 rounded up to whole windows of the patch grid" in result.notes
