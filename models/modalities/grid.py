"""Grid-style vision towers (Qwen-VL and the families built like it): each
image arrives as its patches beside its (frames, height, width) grid, and a
merger joins m x m patches into one token of the text.

The layout follows the processors (``image_processing_qwen2_vl.py`` and its
kin): an image of H x W pixels is H/p x W/p patches of p x p pixels (p the
vision config's ``patch_size``), the sides rounded down to a multiple of the
merge size; a tower with a temporal patch size T sees every image as T equal
frames. Each patch is one row of C·T·p·p values, or, for a tower that embeds
patches with a 2-D convolution, one C x p x p image: MoonViT (Kimi) and
PaddleOCR's SigLIP convolve the patches as given, and the towers that view
rows as such images themselves (GLM-Image, VideoLLaMA3) take the same values;
a convolution whose module takes nothing but rows (HunyuanVL, which unpacks
its input's two sides) gets rows (``facts.patch_rows``, probed on the model).

The text holds one image token per merged patch block (``image_token_id``),
and ``mm_token_type_ids`` marks them for the multimodal rotary positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholder_runs, placeholders
from .vision import image_side
from .vision_language import image_token

# the vision config fields of each size, as the families name them
MERGE_FIELDS = ("spatial_merge_size", "merge_size", "merge_kernel_size")
TEMPORAL_FIELDS = ("temporal_patch_size", "patch_temporal")
CHANNEL_FIELDS = ("in_channels", "num_channels")
DEFAULT_PATCH = 14  # Qwen2-VL's patch size, for a config that names none


@dataclass(frozen=True)
class PatchGrid:
    """One image (or clip) as a grid-style vision tower sees it."""

    frames: int  # temporal patches: 1 for an image
    rows: int  # patches high, a multiple of merge[0]
    cols: int  # patches wide, a multiple of merge[1]
    channels: int
    temporal: int  # frames in one temporal patch
    patch: int  # patch side in pixels
    merge: tuple[int, int]  # patches the merger joins, high x wide
    newline: bool = False  # every row of merged tokens ends with a newline token

    @property
    def patches(self) -> int:
        return self.frames * self.rows * self.cols

    @property
    def row_values(self) -> int:
        return self.channels * self.temporal * self.patch * self.patch

    @property
    def tokens(self) -> int:
        """Tokens of the text the merger makes of it: (h/m)·(w/m) per frame,
        (h/m)·(w/m + 1) where every merged row ends with a newline token."""
        rows, cols = self.rows // self.merge[0], self.cols // self.merge[1]
        return self.frames * rows * (cols + self.newline)

    @property
    def thw(self) -> tuple[int, int, int]:
        return self.frames, self.rows, self.cols


def takes_grid(facts: ModelFacts) -> bool:
    """Qwen-VL-style vision towers: images arrive as patches beside their
    (frames, height, width) grid."""
    return bool({"image_grid_thw", "grid_thw"} & (facts.accepts | facts.required))


def _size(config: Mapping, fields: tuple[str, ...], default):
    return next((config[k] for k in fields if config.get(k)), default)


def merge_sides(vision: Mapping) -> tuple[int, int]:
    """(high, wide) patches one merged token joins: ``spatial_merge_size``
    (Qwen, GLM), ``merge_size`` (Muse) or ``merge_kernel_size`` (MoonViT, a pair)."""
    merge = _size(vision, MERGE_FIELDS, 1)
    return (int(merge[0]), int(merge[-1])) if isinstance(merge, (list, tuple)) else (int(merge), int(merge))


def patch_grid(facts: ModelFacts, spec) -> PatchGrid:
    """The grid of one image at ``--image-size`` (else the vision config's
    ``image_size``, else 224)."""
    vision = facts.sub("vision_config")
    patch = vision.get("patch_size") or DEFAULT_PATCH
    patch = int(patch[0] if isinstance(patch, (list, tuple)) else patch)
    merge = merge_sides(vision)
    height, width = image_side({"image_size": vision.get("image_size") or 224}, spec)
    rows = max(height // patch // merge[0], 1) * merge[0]
    cols = max(width // patch // merge[1], 1) * merge[1]
    channels, temporal = _size(vision, CHANNEL_FIELDS, 3), _size(vision, TEMPORAL_FIELDS, 1)
    return PatchGrid(1, rows, cols, channels, temporal, patch, merge, facts.image_newline)


def patch_tensor(facts: ModelFacts, grids: int, grid: PatchGrid) -> TensorPlan:
    """The patches of ``grids`` images (or clips): rows [N, C·T·p·p], or
    [N, C, p, p] for a patch embedding that is a 2-D convolution, which
    convolves each patch as an image (it has no time axis: T is 1 there),
    unless its module takes rows only."""
    count = grids * grid.patches
    if facts.patch_embedding == "Conv2d" and not facts.patch_rows:
        return TensorPlan((count, grid.channels, grid.patch, grid.patch), "float32")
    return TensorPlan((count, grid.row_values), "float32")


@builds("pixel_values", "vision-language", when=takes_grid)
def grid_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A grid-style vision tower's input: the patches of every image (the
    bare tower calls it ``hidden_states``)."""
    grid = patch_grid(facts, spec)
    tensor = patch_tensor(facts, spec.batch, grid)
    planned.tokens += spec.batch * grid.patches
    shape = "x".join(map(str, tensor.shape[1:]))
    planned.notes.append(f"images: {grid.rows}x{grid.cols} patches of {shape} values each (grid-style vision tower)")
    planned.add("image_grid_thw")
    planned.add("grid_thw")
    planned.add("image_merge_sizes")
    planned.add("merge_sizes")
    if "input_ids" in facts.accepts:
        planned.add_after_tokens("mm_token_type_ids")
        planned.add_after_tokens("moe_mm_token_type_ids")
    return tensor


def generates_images(facts: ModelFacts) -> bool:
    """Image-to-image generation (GLM-Image): the image grids end, per
    sample, with the grid of the image to generate."""
    return "images_per_sample" in facts.accepts


@builds("image_grid_thw", "vision-language", when=generates_images)
def source_and_target_grids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Every sample's image grid, then the grid of the image it generates,
    as the processor appends it; the target is the source's size here. The
    forward encodes the source images only; the target grid places the
    positions of the tokens to generate."""
    grid = patch_grid(facts, spec)
    planned.add("images_per_sample")
    planned.notes.append("image_grid_thw: one source image and one target image of the same size per sample")
    return TensorPlan((2 * spec.batch, 3), "int64", values=grid.thw * 2 * spec.batch)


@builds("images_per_sample", "vision-language")
def images_per_sample(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Grids per sample in ``image_grid_thw``: a source and a target image."""
    return TensorPlan((spec.batch,), "int64", values=(2,) * spec.batch)


@builds("image_grid_thw", "vision-language")
def image_grid_thw(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(frames, patches high, patches wide) of every image: (1, h, w)."""
    grid = patch_grid(facts, spec)
    return TensorPlan((spec.batch, 3), "int64", values=grid.thw * spec.batch)


builds("grid_thw", "vision-language")(image_grid_thw)


@builds("image_merge_sizes", "vision-language")
def image_merge_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The merge size of every image, for towers that take it as an input
    (VideoLLaMA3): the vision config's, else 1, its image processor's
    default (images are not merged, clips are)."""
    return TensorPlan((spec.batch,), "int64", values=(merge_sides(facts.sub("vision_config"))[0],) * spec.batch)


builds("merge_sizes", "vision-language")(image_merge_sizes)  # the bare tower's name
builds("hidden_states", "vision-language", when=takes_grid)(grid_patches)  # the bare tower's name for its patches


# the config's ids of the tokens around every image's placeholders
IMAGE_BOUNDS = ("image_start_token_id", "image_end_token_id")


def marks_image_bounds(facts: ModelFacts) -> bool:
    """A model that embeds learned indicators at a start and an end token
    around every image's placeholders and checks there is one of each per
    image (Ovis 2.5: the vision config's ``num_visual_indicator_tokens``)."""
    return bool(facts.sub("vision_config").get("num_visual_indicator_tokens")) and all(
        isinstance(facts.config.get(k), int) for k in IMAGE_BOUNDS
    )


def image_bound(field: str):
    """A placeholder rule: the token ``field`` names, once per row."""

    def rule(facts: ModelFacts, planned: Planned) -> Placeholders | None:
        if "pixel_values" not in planned.tensors or not marks_image_bounds(facts):
            return None
        return Placeholders(facts.config[field], 1, field.removesuffix("_token_id").replace("_", " "))

    return rule


placeholders(image_bound("image_start_token_id"))  # registered first: the row opens with it


@placeholders
def grid_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """One image token per m x m patches the merger joins (and one per row
    of them for a tower that ends rows with a newline: HunyuanVL 4)."""
    token = image_token(facts)
    if "pixel_values" not in planned.tensors or token is None or not takes_grid(facts):
        return None
    return Placeholders(token, patch_grid(facts, planned.spec).tokens, "image")


placeholders(image_bound("image_end_token_id"))  # after the image tokens


MM_TOKEN_TYPES = {"image": 1, "video": 2}  # the processors' mm_token_type_ids: text 0, image 1, video 2


@builds("mm_token_type_ids", "vision-language")
def mm_token_type_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The modality of every token [B, n] (0 text, 1 image, 2 video, as the
    processors make it), over the placeholder runs ``input_ids`` start with;
    multimodal rotary positions (M-RoPE) are laid out from it."""
    ids = planned.tensors["input_ids"]
    runs = placeholder_runs(facts, planned)
    return TensorPlan(ids.shape, "int64", tuple((MM_TOKEN_TYPES.get(run.what, 0), run.count) for run in runs))


# Ernie 4.5-VL routes the tokens it marks to its vision experts (start and end tokens too, which these inputs lack)
builds("moe_mm_token_type_ids", "vision-language")(mm_token_type_ids)
