"""Video inputs: clips of frames, and what goes with them."""

from __future__ import annotations

from typing import Mapping

from . import ModelFacts, Planned, TensorPlan, builds

FRAME_FIELDS = ("num_frames", "frames_per_clip")  # frames one clip holds, as the configs name it
SIDE_FIELDS = ("image_size", "crop_size")  # a frame's side in pixels
DEFAULT_SIDE = 224


def clip_config(facts: ModelFacts) -> Mapping | None:
    """The (sub-)config that names the frames of a clip: the vision config
    (VideoPrism) or the config itself (V-JEPA 2's ``frames_per_clip``); None
    when neither does."""
    return next((c for c in (facts.sub("vision_config"), facts.config) if clip_frames(c)), None)


def clip_frames(config: Mapping) -> int | None:
    return next((int(config[k]) for k in FRAME_FIELDS if isinstance(config.get(k), int) and config[k] > 0), None)


def names_clips(facts: ModelFacts) -> bool:
    return clip_config(facts) is not None


def frame_side(config: Mapping, spec) -> tuple[int, int]:
    """(height, width) of a frame: ``--image-size``, else the config's
    ``image_size`` or ``crop_size`` (an int or a pair), else 224."""
    if spec.image_size:
        return spec.image_size, spec.image_size
    size = next((config[k] for k in SIDE_FIELDS if config.get(k)), DEFAULT_SIDE)
    return (int(size[0]), int(size[-1])) if isinstance(size, (list, tuple)) else (int(size), int(size))


def clip_patches(config: Mapping, frames: int, height: int, width: int) -> int:
    """Patches of one clip: (T/t)·(H/p)·(W/p) for tubelets of t frames and
    p x p pixels (``tubelet_size`` as t or as [t, p, p]; p ``patch_size``),
    else every pixel of every frame."""
    tubelet = config.get("tubelet_size") or 1
    patch = config.get("patch_size") or 1
    if isinstance(tubelet, (list, tuple)):
        tubelet, patch = tubelet[0], tubelet[1:]
    high, wide = (patch[0], patch[-1]) if isinstance(patch, (list, tuple)) else (patch, patch)
    return max(frames // tubelet, 1) * max(height // high, 1) * max(width // wide, 1)


@builds("pixel_values_videos", "video", when=names_clips)
def pixel_values_videos(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Clips [B, T, C, H, W]: T frames from the config's ``num_frames`` or
    ``frames_per_clip``, each frame as :func:`frame_side` says."""
    config = clip_config(facts)
    frames = clip_frames(config)
    height, width = frame_side(config, spec)
    channels = config.get("num_channels") or config.get("in_chans") or 3
    planned.tokens += spec.batch * clip_patches(config, frames, height, width)
    planned.notes.append(f"pixel_values_videos: {spec.batch} clip(s) of {frames} frames at {height}x{width}")
    return TensorPlan((spec.batch, frames, channels, height, width), "float32")


def pads_frames(facts: ModelFacts) -> bool:
    """A video model whose visual prompter pads every frame to
    ``max_img_size`` (TVP), which its frames must then have."""
    return names_clips(facts) and isinstance(facts.config.get("max_img_size"), int)


@builds("pixel_values", "video", when=pads_frames)
def padded_frames(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One clip per row [B, T, 3, S, S]: T the config's ``num_frames``, S its
    ``max_img_size`` (the prompter adds its 3-channel pad to frames of that size)."""
    frames, side = clip_frames(facts.config), facts.config["max_img_size"]
    planned.tokens += spec.batch * frames
    planned.notes.append(f"pixel_values: {spec.batch} clip(s) of {frames} frames at {side}x{side} (max_img_size)")
    return TensorPlan((spec.batch, frames, 3, side, side), "float32")
