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


def window_multiple(vision: Mapping) -> int:
    """What an image side must be a multiple of for a backbone that splits
    its patch grid into w x w windows: patch_size · w, with w the backbone's
    ``num_windows_side`` (LW-DETR) or ``num_windows`` (RF-DETR: 14 · 4 = 56);
    1 for any other model."""
    backbone = vision.get("backbone_config")
    backbone = backbone if isinstance(backbone, Mapping) else vision
    windows = backbone.get("num_windows_side") or backbone.get("num_windows")
    patch = backbone.get("patch_size")
    return patch * windows if isinstance(patch, int) and isinstance(windows, int) else 1


def image_side(vision: Mapping, spec) -> tuple[int, int]:
    """(height, width) at ``--image-size``, else the config's (see
    :func:`native_size`; 224 where it names none) rounded up to a whole
    number of windows (see :func:`window_multiple`)."""
    if spec.image_size:
        return spec.image_size, spec.image_size
    height, width = _pair(native_size(vision) or DEFAULT_IMAGE_SIZE)
    multiple = window_multiple(vision)
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def _pair(size) -> tuple[int, int]:
    """(height, width) of a size given as an int or a pair."""
    return (int(size[0]), int(size[-1])) if isinstance(size, (list, tuple)) else (int(size), int(size))


@builds("pixel_values", "vision")
def pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, C, H, W] (video models: [B, T, C, H, W]) at the vision
    config's size and channels."""
    vision = facts.sub("vision_config")
    height, width = image_side(vision, spec)
    channels = vision.get("num_channels", 3)
    native = native_size(vision)
    if spec.image_size and native and spec.image_size != _pair(native)[0] and (
        not facts.accepts or "interpolate_pos_encoding" in facts.accepts
    ):
        planned.options["interpolate_pos_encoding"] = True  # another resolution than trained: interpolate positions
    if not spec.image_size and native and (height, width) != _pair(native):
        planned.notes.append(f"images {height}x{width}: the configured {native} rounded up to whole windows of the patch grid")
    frames = vision.get("num_frames")
    patch = vision.get("patch_size")
    patches = (height // patch) * (width // patch) if isinstance(patch, int) and patch else height * width
    if isinstance(frames, int) and frames > 0:
        planned.tokens += spec.batch * frames * patches
        return TensorPlan((spec.batch, frames, channels, height, width), "float32")
    if facts.main_input == "pixel_values":
        planned.tokens += spec.batch * (patches + 1 if isinstance(patch, int) else patches)
    return TensorPlan((spec.batch, channels, height, width), "float32")
