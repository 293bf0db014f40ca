"""Vision-language inputs, planned from transformers' default configs and
the forward signatures of their model classes (no model is built): each
family gets its images the way its processor makes them, and its token ids
as many image placeholders as the model makes features of them."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from modelprof.models.inputs import InputSpec
from modelprof.models.modalities import facts_from_model, plan
from modelprof.models.modalities.vision_language import best_resolution


def planned_for(model_type: str, **spec):
    """The plan of ``model_type``'s default config, from its AutoModel class's forward."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.for_model(model_type)
    model_class = AutoModel._model_mapping[type(config)]
    forward = SimpleNamespace(forward=functools.partial(model_class.forward, None), main_input_name=model_class.main_input_name)
    return plan(facts_from_model(forward, config.to_dict()), InputSpec(**spec, given=frozenset(spec)))


def shapes(planned) -> dict:
    return {name: list(t.shape) for name, t in planned.tensors.items()}


@pytest.mark.parametrize(
    "model_type, tensors, image_tokens",
    [
        # anyres: a 336 image on the 336x672 pinpoint is its thumbnail and 1x2 tiles; 576 + 24 x (24 + 1 newline)
        ("llava_next", {"pixel_values": [1, 3, 3, 336, 336], "image_sizes": [1, 2], "input_ids": [1, 128 + 1176]}, 1176),
        # OneVision's SigLIP keeps every patch: 729 + 27 x (27 + 1)
        ("llava_onevision", {"pixel_values": [1, 2, 3, 384, 384], "image_sizes": [1, 2], "input_ids": [1, 128 + 1485]}, 1485),
        # Pixtral's merger folds 2 x 2 of the 110 x 110 patches of a 1540 image
        ("mistral3", {"pixel_values": [1, 3, 1540, 1540], "image_sizes": [1, 2], "input_ids": [1, 128 + 3025]}, 3025),
        # a 2 x 2 pixel shuffle needs an even side: 224 / 32 = 7 patches becomes 6 (192 px), 3 x 3 features
        ("idefics3", {"pixel_values": [1, 1, 3, 192, 192], "input_ids": [1, 128 + 9]}, 9),
        # the perceiver resamples every image to 64 latents
        ("idefics2", {"pixel_values": [1, 1, 3, 224, 224], "input_ids": [1, 128 + 64]}, 64),
        # Aria's projector takes 35 x 35 patches (1225: 128 queries) or 70 x 70
        ("aria", {"pixel_values": [1, 3, 1120, 1120], "input_ids": [1, 128 + 128]}, 128),
        # PaliGemma states its count in the text config
        ("paligemma", {"pixel_values": [1, 3, 224, 224], "input_ids": [1, 128 + 256]}, 256),
        # a second, SAM tower sees the image at 1024
        ("deepseek_vl_hybrid", {"high_res_pixel_values": [1, 3, 1024, 1024], "pixel_values": [1, 3, 224, 224],
                                "input_ids": [1, 128 + 196]}, 196),
    ],
)
def test_image_placeholders_match_the_features(model_type, tensors, image_tokens):
    planned = planned_for(model_type)
    assert shapes(planned) == tensors
    token, count = planned.tensors["input_ids"].fill[0]
    assert count == image_tokens


def test_image_sizes_hold_the_image():
    assert planned_for("llava_next").tensors["image_sizes"].values == (336, 336)
    assert planned_for("mistral3", batch=2).tensors["image_sizes"].values == (1540, 1540, 1540, 1540)


def test_cross_attention_models_get_masks_not_placeholders():
    mllama = planned_for("mllama")
    assert shapes(mllama) == {
        "aspect_ratio_ids": [1, 1], "aspect_ratio_mask": [1, 1, 4], "cross_attention_mask": [1, 128, 1, 4],
        "pixel_values": [1, 1, 4, 3, 448, 448], "input_ids": [1, 128],
    }
    assert mllama.tensors["aspect_ratio_ids"].values == (1,)  # the 1:1 ratio, 0 being padding
    assert mllama.tensors["input_ids"].fill == ()
    idefics = planned_for("idefics")
    assert shapes(idefics) == {"image_attention_mask": [1, 128, 1], "pixel_values": [1, 1, 3, 224, 224], "input_ids": [1, 128]}
    assert idefics.tensors["pixel_values"].fill == ((1, 224),)  # an all-zero image is padding to Idefics


def test_video_tower_gets_clips():
    planned = planned_for("video_llava")
    assert shapes(planned)["pixel_values_videos"] == [1, 8, 3, 224, 224]  # 2056 video tokens = 8 frames x 257
    assert planned.tensors["input_ids"].fill == ((32000, 256), (32001, 2056))


def test_patches_beside_positions():
    gemma4 = planned_for("gemma4_vision")
    assert shapes(gemma4) == {"pixel_position_ids": [1, 144, 2], "pixel_values": [1, 144, 768]}
    assert gemma4.tensors["pixel_position_ids"].values[:6] == (0, 0, 1, 0, 2, 0)  # (x, y), row by row
    minicpm = planned_for("minicpmv4_7_vision", batch=2)
    assert shapes(minicpm) == {"target_sizes": [2, 2], "pixel_values": [1, 3, 16, 2 * 144 * 16]}
    assert minicpm.tensors["target_sizes"].values == (12, 12, 12, 12)


def test_a_tower_the_config_leaves_out_is_not_fed():
    assert shapes(planned_for("gemma4")) == {"input_ids": [1, 128]}  # vision_config and audio_config are None


def test_best_resolution_keeps_most_and_wastes_least():
    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    assert best_resolution(336, 336, pinpoints) == (336, 672)
    assert best_resolution(1000, 300, pinpoints) == (1008, 336)
    assert best_resolution(700, 700, pinpoints) == (672, 672)
