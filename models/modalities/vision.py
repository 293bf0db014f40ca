"""Vision inputs: images (and video clips) at the config's size."""

from __future__ import annotations

from typing import Mapping

from . import ModelFacts, Planned, TensorPlan, builds


DEFAULT_IMAGE_SIZE = 224  # the ImageNet side, for a config that names none


def native_size(vision: Mapping):
    """The image size the config was made for (an int or a pair): the vision
    config's ``image_size``, else its backbone's (a SAM 2 or DETR-style model
    whose feature sizes follow the backbone's input), else the side a
    multi-scale patch encoder needs (see :func:`multiscale_side`), else None."""
    backbone = vision.get("backbone_config")
    backbone_size = backbone.get("image_size") if isinstance(backbone, Mapping) else None
    return vision.get("image_size") or backbone_size or multiscale_side(vision)


def multiscale_side(vision: Mapping) -> int | None:
    """A model that cuts patches of ``patch_size`` pixels from its image
    scaled by each of ``scaled_images_ratios`` needs the smallest scale to
    hold one patch: patch_size / min(ratios) (DepthPro: 384 / 0.25 = 1536,
    its image processor's size)."""
    ratios, patch = vision.get("scaled_images_ratios"), vision.get("patch_size")
    if not ratios or not isinstance(patch, int):
        return None
    return round(patch / min(ratios))


def image_side(vision: Mapping, spec) -> tuple[int, int]:
    """(height, width) at ``--image-size`` or the config's (see :func:`native_size`), else 224."""
    if spec.image_size:
        return spec.image_size, spec.image_size
    size = native_size(vision) or DEFAULT_IMAGE_SIZE
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


@builds("pixel_values", "vision")
def pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, C, H, W] (video models: [B, T, C, H, W]) at the vision
    config's size and channels."""
    vision = facts.sub("vision_config")
    height, width = image_side(vision, spec)
    channels = vision.get("num_channels", 3)
    native = native_size(vision)
    if spec.image_size and native and spec.image_size != (native if isinstance(native, int) else native[0]):
        planned.options["interpolate_pos_encoding"] = True  # another resolution than trained: interpolate positions
    frames = vision.get("num_frames")
    patch = vision.get("patch_size")
    patches = (height // patch) * (width // patch) if isinstance(patch, int) and patch else height * width
    if isinstance(frames, int) and frames > 0:
        planned.tokens += spec.batch * frames * patches
        return TensorPlan((spec.batch, frames, channels, height, width), "float32")
    if facts.main_input == "pixel_values":
        planned.tokens += spec.batch * (patches + 1 if isinstance(patch, int) else patches)
    return TensorPlan((spec.batch, channels, height, width), "float32")
