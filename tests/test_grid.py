"""Grid-style vision towers and video clips: the inputs planned from the
config (no model is built), and the values fake tensors must know to run
them (multimodal rotary positions, grids indexed by lists)."""

from __future__ import annotations

import pytest
import torch

from modelprof.models.inputs import InputSpec
from modelprof.models.modalities import ModelFacts, plan

QWEN_VISION = {"patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "in_channels": 3}
TEXT = {"rope_theta": 1e6}  # rotary positions: no learned table caps the length
GRID_INPUTS = frozenset({"input_ids", "pixel_values", "image_grid_thw", "mm_token_type_ids"})


def planned(config, accepts, patch_embedding=None, main="input_ids", required=frozenset(), newline=False, **spec):
    facts = ModelFacts(config, main, frozenset(accepts), frozenset(required), patch_embedding=patch_embedding, image_newline=newline)
    return plan(facts, InputSpec(**spec)).tensors


def test_qwen_rows_grid_placeholders_and_token_types():
    config = {"model_type": "qwen2_vl", "image_token_id": 7, "vision_config": QWEN_VISION, "text_config": TEXT}
    tensors = planned(config, GRID_INPUTS, "Conv3d")
    # 224 px / 14 = 16 x 16 patches, each 3 channels x 2 frames x 14 x 14; 2 x 2 of them make one text token
    assert tensors["pixel_values"].shape == (256, 1176)
    assert tensors["image_grid_thw"].values == (1, 16, 16)
    assert tensors["input_ids"].shape == (1, 64 + 128) and tensors["input_ids"].fill == ((7, 64),)
    assert tensors["mm_token_type_ids"].shape == (1, 192) and tensors["mm_token_type_ids"].fill == ((1, 64),)


def test_a_convolution_gets_image_shaped_patches_and_merge_pairs_count():
    """MoonViT (Kimi) convolves each patch as an image; its merge is a pair."""
    config = {"model_type": "kimi", "image_token_id": 5, "vision_config": {"patch_size": 14, "merge_kernel_size": [2, 2]}}
    tensors = planned(config, {"input_ids", "pixel_values", "image_grid_thw"}, "Conv2d", image_size=448)
    assert tensors["pixel_values"].shape == (1024, 3, 14, 14)
    assert tensors["input_ids"].fill == ((5, 256),)


def test_rows_that_end_with_a_newline_token():
    """HunyuanVL 4: 14 x 14 patches merge into 7 rows of 7 tokens, each row ending with its newline."""
    config = {"model_type": "hy", "image_token_id": 9, "vision_config": {"patch_size": 16, "spatial_merge_size": 2}}
    tensors = planned(config, GRID_INPUTS, "Conv2d", newline=True)
    assert tensors["input_ids"].fill == ((9, 7 * 8),)


def test_family_field_names_and_bare_tower():
    """Muse names its sizes patch_temporal and merge_size; the bare tower takes grid_thw."""
    config = {"model_type": "muse_vision", "patch_size": 14, "patch_temporal": 2, "merge_size": 2}
    tensors = planned(config, {"pixel_values", "grid_thw"}, "Linear", main="pixel_values", required={"pixel_values", "grid_thw"})
    assert tensors["pixel_values"].shape == (256, 1176)
    assert tensors["grid_thw"].values == (1, 16, 16)


def test_merge_sizes_and_generation_grids():
    video_llama = {"model_type": "vl3", "image_token_id": 3, "vision_config": {"patch_size": 16}}
    tensors = planned(video_llama, {"input_ids", "pixel_values", "image_grid_thw", "image_merge_sizes"}, "Conv2d", batch=2)
    assert tensors["image_merge_sizes"].values == (1, 1)  # the image processor does not merge images
    assert tensors["input_ids"].fill == ((3, 196),)
    glm_image = {"model_type": "gi", "image_token_id": 3, "vision_config": {"patch_size": 16, "image_size": 512}}
    tensors = planned(glm_image, {"input_ids", "pixel_values", "image_grid_thw", "images_per_sample"}, "Conv2d")
    assert tensors["image_grid_thw"].values == (1, 32, 32, 1, 32, 32)  # the source, then the image to generate
    assert tensors["images_per_sample"].values == (2,)


@pytest.mark.parametrize(
    "config, shape",
    [
        ({"model_type": "vjepa2", "frames_per_clip": 64, "crop_size": 256, "patch_size": 16, "tubelet_size": 2}, (1, 64, 3, 256, 256)),
        ({"model_type": "videoprism", "vision_config": {"num_frames": 16, "image_size": 288, "tubelet_size": [1, 18, 18]}}, (1, 16, 3, 288, 288)),
    ],
)
def test_video_clips(config, shape):
    tensors = planned(config, {"pixel_values_videos"}, main="pixel_values_videos", required={"pixel_values_videos"})
    assert tensors["pixel_values_videos"].shape == shape


def known_run(seed, step):
    """``step(fake)`` under fake tensors that know ``seed``'s values."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    from modelprof.profilers.counters.known_values import KnownValues

    fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
    with fake_mode:
        fake = fake_mode.from_tensor(seed.to("meta"))
        known = KnownValues(fake_mode)
        known.know(fake, seed)
        with known:
            return step(fake)


def test_known_scalars_lists_and_partly_written_empties():
    grid = torch.tensor([[1, 16, 8]])
    # torch.tensor of fake scalars (Qwen's mrope_position_deltas)
    assert known_run(grid, lambda g: torch.tensor([g.max(), g.min()], device=g.device).tolist()) == [16, 1]
    # an index given as a list (Muse's grid_thw[:, [0, 2, 1]])
    assert known_run(grid, lambda g: g[:, [0, 2, 1]].tolist()) == [[1, 8, 16]]

    def offsets(g):  # Ernie's batch offsets: an empty tensor written in parts
        out = torch.empty(3, dtype=g.dtype, device=g.device)
        out[0] = 0
        out[1:] = g[0, 1:].cumsum(0)
        return out.tolist()

    assert known_run(grid, offsets) == [0, 16, 24]
