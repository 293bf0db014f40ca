"""Grid-style vision towers (Qwen-VL and the families built like it): each
image arrives as rows of flattened patches beside its (frames, height,
width) grid, and a merger joins m x m patches into one token of the text."""

from __future__ import annotations

from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholders
from .vision import image_side
from .vision_language import image_token


def takes_grid(facts: ModelFacts) -> bool:
    """Qwen-VL-style vision towers: images arrive as rows of flattened
    patches beside their (frames, height, width) grid."""
    return bool({"image_grid_thw", "grid_thw"} & (facts.accepts | facts.required))


def patch_grid(facts: ModelFacts, spec) -> tuple[int, int, int, int]:
    """(patches high, patches wide, values per patch row, merge) of one image
    for a grid-style vision tower: the side in patches rounded down to a
    multiple of the merge size; a row holds C·T·p·p values."""
    vision = facts.sub("vision_config")
    patch = vision.get("patch_size") or 14
    merge = vision.get("spatial_merge_size") or 1
    temporal = vision.get("temporal_patch_size") or 1
    channels = vision.get("in_channels") or vision.get("num_channels") or 3
    height, width = image_side({"image_size": vision.get("image_size") or 224}, spec)
    rows, cols = max(height // patch // merge, 1) * merge, max(width // patch // merge, 1) * merge
    return rows, cols, channels * temporal * patch * patch, merge


@builds("pixel_values", "vision-language", when=takes_grid)
def grid_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A grid-style vision tower's input: every image as h·w rows of
    flattened patches (the bare tower calls it ``hidden_states``)."""
    rows, cols, values, _ = patch_grid(facts, spec)
    planned.tokens += spec.batch * rows * cols
    planned.notes.append(f"images: {rows}x{cols} patches of {values} values each (grid-style vision tower)")
    planned.add("image_grid_thw")
    planned.add("grid_thw")
    return TensorPlan((spec.batch * rows * cols, values), "float32")


@builds("image_grid_thw", "vision-language")
def image_grid_thw(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(frames, patches high, patches wide) of every image: (1, h, w)."""
    rows, cols, _, _ = patch_grid(facts, spec)
    return TensorPlan((spec.batch, 3), "int64", values=(1, rows, cols) * spec.batch)


builds("grid_thw", "vision-language")(image_grid_thw)
builds("hidden_states", "vision-language", when=takes_grid)(grid_patches)  # the bare tower's name for its patches


@placeholders
def grid_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """One image token per m x m patches the merger joins."""
    token = image_token(facts)
    if "pixel_values" not in planned.tensors or token is None or not takes_grid(facts):
        return None
    rows, cols, _, merge = patch_grid(facts, planned.spec)
    return Placeholders(token, rows * cols // (merge * merge), "image")
