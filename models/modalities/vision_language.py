"""Vision-language models that put an image's features into the text at
placeholder tokens (LLaVA and the families built like it), and those whose
text attends to the image by cross-attention (Idefics, Mllama).

Each request is one image per row of the batch, at ``--image-size`` or the
vision config's ``image_size``, fed the way the family's processor feeds it:
one tensor of images, a stack of tiles beside a mask, LLaVA-NeXT's anyres
tiles beside the image sizes, rows of patches beside their positions. The
placeholder count is the number of features the model makes of that image
(:func:`features_per_image`), so the model's own check that tokens and
features match passes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping

from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholders
from .vision import image_side

IMAGE_TOKEN_FIELDS = ("image_token_id", "image_token_index")
IMAGE_TOKENS_FIELDS = ("image_seq_length", "mm_tokens_per_image", "num_image_tokens")
# projectors that fold m x m patches into one feature: (config field, where it lives)
PATCH_MERGE_FIELDS = (
    ("downsample_factor", None), ("scale_factor", None), ("pixel_shuffle_factor", None), ("spatial_merge_size", None),
    ("scale_factor", "vision_config"), ("hidden_stride", "vision_config"), ("pooling_kernel_size", "vision_config"),
)
# forward inputs that mask a stack of tiles (pixels, images or whole tiles)
TILE_MASKS = ("pixel_attention_mask", "image_attention_mask", "tile_fine_mask")


def takes_grid(facts: ModelFacts) -> bool:
    from .grid import takes_grid as grid  # grid.py imports this module

    return grid(facts)


def image_token(facts: ModelFacts) -> int | None:
    """The id of the image placeholder token, from the config."""
    return next((facts.config[k] for k in IMAGE_TOKEN_FIELDS if isinstance(facts.config.get(k), int)), None)


def video_token(facts: ModelFacts) -> int | None:
    value = facts.config.get("video_token_index", facts.config.get("video_token_id"))
    return value if isinstance(value, int) else None


def _int(config: Mapping, name: str) -> int | None:
    value = config.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def patch_size(vision: Mapping) -> int:
    size = vision.get("patch_size")
    return size[0] if isinstance(size, (list, tuple)) else size or 14


# --- the image a model is shown -------------------------------------------


def pixel_tower(facts: ModelFacts) -> Mapping:
    """The config of the tower that takes the pixels: the vision config, or
    the tower inside it that the model measured (``facts.pixel_config``:
    Unlimited OCR's SAM encoder, whose features a CLIP encoder reads)."""
    return facts.pixel_config or facts.sub("vision_config")


def downsamples_patches(facts: ModelFacts) -> bool:
    """An image tower whose strided convolutions make fewer features than
    its configured patches (Step3p7's two stride-2 downsamplers after its
    patch embedding, Apertus 1.5's VQ tokenizer that names no patch size),
    as the model measured (``facts.feature_stride``)."""
    configured = pixel_tower(facts).get("patch_size")
    return bool(facts.feature_stride) and (not configured or facts.feature_stride > patch_size(pixel_tower(facts)))


def feature_patch(facts: ModelFacts) -> int:
    """Pixels a side of the patches the projector folds into features: the
    tower's whole stride where it downsamples its patches itself
    (:func:`downsamples_patches`), else the configured ``patch_size``."""
    return facts.feature_stride if downsamples_patches(facts) else patch_size(pixel_tower(facts))


def patch_merge(facts: ModelFacts) -> float:
    """How many patches a side the projector folds into one feature: a
    pixel shuffle (``downsample_factor``, ``scale_factor``,
    ``pixel_shuffle_factor``, Llama 4's ``pixel_shuffle_ratio`` = 1 / m),
    a patch merger (``spatial_merge_size``), Ovis' ``hidden_stride``,
    Gemma 4's pooling kernel, MiniCPM-V's ``downsample_mode`` ("16x":
    4 x 4); 1 when it folds none."""
    for name, where in PATCH_MERGE_FIELDS:
        value = _int(facts.sub(where) if where else facts.config, name)
        if value:
            return value
    mode = str(facts.config.get("downsample_mode", "")).removesuffix("x")
    if mode.isdigit() and math.isqrt(int(mode)) ** 2 == int(mode):
        return math.isqrt(int(mode))
    ratio = facts.sub("vision_config").get("pixel_shuffle_ratio")
    return 1 / ratio if isinstance(ratio, (int, float)) and 0 < ratio < 1 else 1


def patch_multiple(facts: ModelFacts) -> int:
    """The patches a side of the image must be a multiple of: the projector's
    fold, and twice MiniCPM-V's attention window (``window_kernel_size``),
    which its tower uses before and after a 2 x 2 merge."""
    window = facts.sub("vision_config").get("window_kernel_size")
    windows = 2 * window[0] if isinstance(window, (list, tuple)) and window else 1
    return math.lcm(max(round(patch_merge(facts)), 1), windows)


def shown_image(facts: ModelFacts, spec) -> tuple[int, int]:
    """(height, width) of the image: the requested or configured size with
    its side in patches cut to a multiple of :func:`patch_multiple` (the
    projector cannot fold a ragged grid); Aria's projector takes only the
    patch counts of its ``projector_patch_to_query_dict``, so it gets the
    smallest of them (the one nearest the requested size)."""
    return _fitted_image(facts, spec)[0]


def _fitted_image(facts: ModelFacts, spec) -> tuple[tuple[int, int], str]:
    """:func:`shown_image`'s size, and why it may differ from the one asked for."""
    patch = feature_patch(facts)
    height, width = image_side(pixel_tower(facts), spec)
    queries = facts.config.get("projector_patch_to_query_dict")
    if isinstance(queries, Mapping) and queries:
        sides = [math.isqrt(int(k)) * patch for k in queries]
        side = min(sides, key=lambda s: (abs(s - height), s)) if spec.image_size else min(sides)
        return (side, side), "the projector takes only the patch counts of projector_patch_to_query_dict"
    multiple = patch_multiple(facts)
    fitted = tuple(max(side // patch // multiple, 1) * multiple * patch for side in (height, width))
    if downsamples_patches(facts):
        return fitted, f"a side of whole features of the vision tower, {patch} pixels each"
    return fitted, f"a side of a multiple of {multiple} patches of {patch}, which the projector folds"


def _image_note(facts: ModelFacts, spec, planned: Planned, what: str) -> None:
    (height, width), reason = _fitted_image(facts, spec)
    if (height, width) != image_side(pixel_tower(facts), spec):
        planned.notes.append(f"{what}: {height}x{width} ({reason})")


# --- how many features it makes -------------------------------------------


def features_per_image(facts: ModelFacts, spec) -> int | None:
    """Features (placeholder tokens) the model makes of one image, as its
    processor counts them: Aria's patch-to-query table, a perceiver's
    latents, LLaVA-NeXT's anyres tiles, a count the config states, else the
    patches of the image folded by the projector (:func:`patch_merge`), with
    a newline token per row and a view separator after them where the model
    holds those embeddings (Unlimited OCR: q·(q + 1) + 1)."""
    height, width = shown_image(facts, spec)
    patch = feature_patch(facts)
    queries = facts.config.get("projector_patch_to_query_dict")
    if isinstance(queries, Mapping):
        return {int(k): v for k, v in queries.items()}.get((height // patch) * (width // patch))
    perceiver = facts.config.get("perceiver_config")
    if isinstance(perceiver, Mapping) and _int(perceiver, "resampler_n_latents"):
        return perceiver["resampler_n_latents"]
    if takes_anyres_tiles(facts):
        return anyres_features(facts, height, width)
    stated = _stated_count(facts)
    if stated:
        return stated
    merge = patch_merge(facts)
    rows, cols = math.ceil(height // patch / merge), math.ceil(width // patch / merge)
    return rows * (cols + facts.image_newline) + facts.view_separator


def _stated_count(facts: ModelFacts) -> int | None:
    """An image's features as the config states them (``image_seq_length``,
    ..., here or in the text config, where PaliGemma keeps its count)."""
    counts = (_int(config, name) for config in (facts.config, facts.sub("text_config")) for name in IMAGE_TOKENS_FIELDS)
    return next(filter(None, counts), None)


@placeholders
def image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image placeholder token once per image feature: as many as the
    model measured (``facts.image_tokens``), else :func:`features_per_image`."""
    token = image_token(facts)
    if "pixel_values" not in planned.tensors or token is None or takes_grid(facts) or cross_attends(facts):
        return None
    count = facts.image_tokens or features_per_image(facts, planned.spec)
    return Placeholders(token, count, "image") if count else None


# --- LLaVA-NeXT anyres tiles ------------------------------------------------


def takes_anyres_tiles(facts: ModelFacts) -> bool:
    """LLaVA-NeXT-style anyres: an image is cut into tiles on the best of the
    config's ``image_grid_pinpoints``, beside a thumbnail of the whole."""
    return "image_sizes" in facts.accepts and isinstance(facts.config.get("image_grid_pinpoints"), list)


def best_resolution(height: int, width: int, pinpoints) -> tuple[int, int]:
    """The pinpoint (height, width) that keeps most of the image and wastes
    least (``select_best_resolution`` in transformers' image_processing_utils)."""
    best, kept_most, wasted_least = None, 0, math.inf
    for target_h, target_w in pinpoints:
        scale = min(target_w / width, target_h / height)
        kept = min(int(width * scale) * int(height * scale), width * height)
        wasted = target_h * target_w - kept
        if kept > kept_most or (kept == kept_most and wasted < wasted_least):
            best, kept_most, wasted_least = (target_h, target_w), kept, wasted
    return best


def anyres_tiles(facts: ModelFacts, height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of tiles of the vision ``image_size`` on the best pinpoint."""
    tile = facts.sub("vision_config")["image_size"]
    best_h, best_w = best_resolution(height, width, facts.config["image_grid_pinpoints"])
    return math.ceil(best_h / tile), math.ceil(best_w / tile)


def anyres_features(facts: ModelFacts, height: int, width: int) -> int:
    """The thumbnail's s x s features, then the tiles' grid of features with
    the padding rows (or columns) of the letterboxed image cut off and one
    newline feature per row; LLaVA-OneVision's ``anyres_max_N`` shrinks a grid
    over N tiles' worth (``pack_image_features`` in modeling_llava_next /
    _onevision, ``_get_number_of_features`` in their processors)."""
    vision = facts.sub("vision_config")
    side = vision["image_size"] // patch_size(vision)
    rows, cols = anyres_tiles(facts, height, width)
    grid_h, grid_w = rows * side, cols * side
    if width / height > grid_w / grid_h:
        grid_h -= (grid_h - int(round(height * grid_w / width, 7))) // 2 * 2
    else:
        grid_w -= (grid_w - int(round(width * grid_h / height, 7))) // 2 * 2
    limit = str(facts.config.get("vision_aspect_ratio", "")).removeprefix("anyres_max_")
    if limit.isdigit():
        ratio = math.sqrt(grid_h * grid_w / (int(limit) * side * side))
        if ratio > 1.1:
            grid_h, grid_w = int(grid_h // ratio), int(grid_w // ratio)
    return side * side + grid_h * grid_w + grid_h


@builds("pixel_values", "vision-language", when=takes_anyres_tiles)
def anyres_pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Every image as its thumbnail and its tiles [B, 1 + rows x cols, C, s, s]
    (s: the vision ``image_size``), beside ``image_sizes``."""
    vision = facts.sub("vision_config")
    height, width = image_side(vision, spec)
    rows, cols = anyres_tiles(facts, height, width)
    tile = vision["image_size"]
    planned.notes.append(
        f"pixel_values: one {height}x{width} image as a thumbnail and {rows}x{cols} tiles of {tile}x{tile} "
        "(anyres, image_grid_pinpoints)"
    )
    planned.add("image_sizes")
    return TensorPlan((spec.batch, 1 + rows * cols, vision.get("num_channels", 3), tile, tile), "float32")


@builds("image_sizes", "vision-language", when=takes_anyres_tiles)
def anyres_image_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(height, width) in pixels of every image before tiling: [B, 2]."""
    height, width = image_side(facts.sub("vision_config"), spec)
    return TensorPlan((spec.batch, 2), "int64", values=(height, width) * spec.batch)


# --- stacks of tiles beside a mask (Idefics, SmolVLM, Granite-Docling) ------


def takes_tile_stack(facts: ModelFacts) -> bool:
    """Images arrive as a stack of tiles per row, [B, N, C, H, W], beside a
    mask of real pixels, tiles or images (not SigLIP2-style rows of patches,
    whose mask comes with their ``spatial_shapes``)."""
    return (
        "pixel_values" in facts.accepts
        and any(name in facts.accepts for name in TILE_MASKS)
        and "spatial_shapes" not in facts.accepts
    )


@builds("pixel_values", "vision-language", when=takes_tile_stack)
def tile_stack(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One tile per row [B, 1, C, H, W] at :func:`shown_image`'s size, all
    ones: these models drop an all-zero tile as padding. A per-tile mask or a
    per-image attention mask goes with it where the model needs one."""
    height, width = shown_image(facts, spec)
    _image_note(facts, spec, planned, "pixel_values: one tile per row")
    planned.add("image_attention_mask")
    if "tile_fine_mask" in facts.accepts:  # the tile mask is what picks the tiles to encode
        planned.add("pixel_attention_mask")
    return TensorPlan((spec.batch, 1, facts.sub("vision_config").get("num_channels", 3), height, width), "float32",
                      fill=((1, width),))


@builds("pixel_attention_mask", "vision-language", when=lambda f: "tile_fine_mask" in f.accepts)
def tile_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Which tiles are real: [B, 1], all true."""
    return TensorPlan((spec.batch, 1), "bool", fill=((1, 1),))


def _text_rows(facts: ModelFacts, spec) -> int:
    """The token ids' length of a model with no image placeholders."""
    from .text import input_ids

    return input_ids(facts, spec, Planned(spec, facts)).shape[-1]


@builds("image_attention_mask", "vision-language")
def image_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Which images every token attends to (Idefics' cross-attention): [B, n, 1], all ones."""
    return TensorPlan((spec.batch, _text_rows(facts, spec), 1), "int64", fill=((1, 1),))


def cross_attends(facts: ModelFacts) -> bool:
    """Text that attends to the image by cross-attention, not placeholders."""
    return bool({"image_attention_mask", "cross_attention_mask"} & facts.accepts)


# --- Mllama: tiles with aspect-ratio ids ------------------------------------


def has_tile_aspect_ratios(facts: ModelFacts) -> bool:
    return "aspect_ratio_ids" in facts.accepts and _int(facts.sub("vision_config"), "max_num_tiles") is not None


@builds("pixel_values", "vision-language", when=has_tile_aspect_ratios)
def aspect_ratio_tiles(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One image per row as ``max_num_tiles`` tiles [B, 1, T, C, s, s], of
    which the first is the image (aspect ratio 1:1) and the rest padding, as
    the processor pads them; aspect-ratio ids and masks and the
    cross-attention mask go with it."""
    vision = facts.sub("vision_config")
    tiles = vision["max_num_tiles"]
    height, width = image_side(vision, spec)
    planned.notes.append(f"pixel_values: one {height}x{width} tile per image, padded to {tiles} tiles (max_num_tiles)")
    for name in ("aspect_ratio_ids", "aspect_ratio_mask", "cross_attention_mask"):
        planned.add(name)
    return TensorPlan((spec.batch, 1, tiles, vision.get("num_channels", 3), height, width), "float32")


@builds("aspect_ratio_ids", "vision-language", when=has_tile_aspect_ratios)
def aspect_ratio_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """1 + the index of the 1:1 ratio in ``supported_aspect_ratios`` (0 is padding): [B, 1]."""
    ratios = [list(r) for r in facts.sub("vision_config").get("supported_aspect_ratios") or [[1, 1]]]
    return TensorPlan((spec.batch, 1), "int64", values=(ratios.index([1, 1]) + 1,) * spec.batch)


@builds("aspect_ratio_mask", "vision-language", when=has_tile_aspect_ratios)
def aspect_ratio_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The real tiles of every image: [B, 1, T], the first."""
    return TensorPlan((spec.batch, 1, facts.sub("vision_config")["max_num_tiles"]), "int64", fill=((1, 1),))


@builds("cross_attention_mask", "vision-language", when=has_tile_aspect_ratios)
def cross_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The tiles every token attends to: [B, n, 1, T], the real one."""
    tiles = facts.sub("vision_config")["max_num_tiles"]
    return TensorPlan((spec.batch, _text_rows(facts, spec), 1, tiles), "int64", fill=((1, 1),))


# --- rows of patches beside their positions (Gemma 4, MiniCPM-V) ------------


def takes_patch_positions(facts: ModelFacts) -> bool:
    return bool({"pixel_position_ids", "image_position_ids"} & facts.accepts)


def _patch_grid(facts: ModelFacts, spec) -> tuple[int, int, int]:
    """(patches high, patches wide, patch size) of the shown image."""
    patch = patch_size(facts.sub("vision_config"))
    height, width = shown_image(facts, spec)
    return height // patch, width // patch, patch


@builds("pixel_values", "vision-language", when=takes_patch_positions)
def positioned_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Every image as rows of flattened patches [B, h·w, C·p·p] beside their
    (x, y) positions; the side in patches is a multiple of the pooling kernel."""
    rows, cols, patch = _patch_grid(facts, spec)
    channels = facts.sub("vision_config").get("num_channels", 3)
    planned.notes.append(f"pixel_values: {rows * patch}x{cols * patch} images as {rows}x{cols} patches of {patch}")
    planned.add("pixel_position_ids")
    planned.add("image_position_ids")
    return TensorPlan((spec.batch, rows * cols, channels * patch * patch), "float32")


@builds("pixel_position_ids", "vision-language", when=takes_patch_positions)
def patch_positions(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(x, y) of every patch, row by row: [B, h·w, 2]."""
    rows, cols, _ = _patch_grid(facts, spec)
    positions = tuple(v for y in range(rows) for x in range(cols) for v in (x, y))
    return TensorPlan((spec.batch, rows * cols, 2), "int64", values=positions * spec.batch)


builds("image_position_ids", "vision-language", when=takes_patch_positions)(patch_positions)


def takes_target_sizes(facts: ModelFacts) -> bool:
    """MiniCPM-V-style packed patches, for a tower alone or a model whose
    config names its image token (without one the model never runs its tower)."""
    return "target_sizes" in facts.accepts and (image_token(facts) is not None or "text_config" not in facts.config)


@builds("pixel_values", "vision-language", when=takes_target_sizes)
def packed_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """MiniCPM-V's NaViT packing: the patches of all the batch's images side
    by side in one strip [1, C, p, B·h·w·p], beside each image's size in
    patches (``target_sizes``), as its image processor packs them."""
    rows, cols, patch = _patch_grid(facts, spec)
    channels = facts.sub("vision_config").get("num_channels", 3)
    planned.notes.append(f"pixel_values: {rows * patch}x{cols * patch} images, {rows}x{cols} patches each, in one strip")
    planned.add("target_sizes")
    planned.add("mm_token_type_ids")
    return TensorPlan((1, channels, patch, spec.batch * rows * cols * patch), "float32")


@builds("target_sizes", "vision-language", when=takes_target_sizes)
def target_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(patches high, patches wide) of every image: [B, 2]."""
    rows, cols, _ = _patch_grid(facts, spec)
    return TensorPlan((spec.batch, 2), "int32", values=(rows, cols) * spec.batch)


@builds("mm_token_type_ids", "vision-language", when=takes_target_sizes)
def image_token_types(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Which tokens are image tokens (1) and which text (0), over the token
    ids [B, n]: the image's placeholders open every row."""
    from .text import text_length

    count = features_per_image(facts, spec)
    length = text_length(facts.sub("text_config"), spec) + count
    return TensorPlan((spec.batch, length), "int64", fill=((1, count),))


# --- video clips beside the images (Video-LLaVA) ----------------------------


def frames_per_clip(facts: ModelFacts) -> int | None:
    """Frames of a clip: the config's ``video_seq_length`` over one frame's
    features (its patches and the class token, which video features keep)."""
    vision = facts.sub("vision_config")
    video, image = _int(facts.config, "video_seq_length"), _int(facts.config, "image_seq_length")
    if not (video and image and _int(vision, "image_size")):
        return None
    frame = (vision["image_size"] // patch_size(vision)) ** 2 + 1
    return video // frame if video % frame == 0 else None


@builds("pixel_values_videos", "vision-language", when=lambda f: frames_per_clip(f) is not None)
def video_clips(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One clip per row [B, T, C, H, W] at the vision config's size."""
    vision = facts.sub("vision_config")
    frames = frames_per_clip(facts)
    height, width = image_side(vision, spec)
    planned.notes.append(f"pixel_values_videos: one clip of {frames} frames per row (video_seq_length)")
    return TensorPlan((spec.batch, frames, vision.get("num_channels", 3), height, width), "float32")


@placeholders
def video_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The video placeholder token once per clip feature (``video_seq_length``)."""
    token = video_token(facts)
    if "pixel_values_videos" not in planned.tensors or token is None:
        return None
    return Placeholders(token, facts.config["video_seq_length"], "video")


# --- one image as one tensor (registered last: the families above come first)


def shows_image_to_text(facts: ModelFacts) -> bool:
    """A model whose text holds an image placeholder token (not a grid-style tower)."""
    return image_token(facts) is not None and not takes_grid(facts)


def reads_image_sizes(facts: ModelFacts) -> bool:
    """Models that read each image's size beside the batch: Pixtral-style
    towers, whose patch merger does (``spatial_merge_size``), and image
    tokenizers that code every image at its own size into ids of the text's
    vocabulary (Apertus 1.5: ``image_token_offset``)."""
    reads = "spatial_merge_size" in facts.config or isinstance(facts.config.get("image_token_offset"), int)
    return "image_sizes" in facts.accepts and reads and not takes_anyres_tiles(facts)


@builds("pixel_values", "vision-language", when=shows_image_to_text)
def image_batch(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, C, H, W] at :func:`shown_image`'s size; a model that
    reads image sizes gets ``image_sizes`` too, one with a second,
    high-resolution tower its ``high_res_pixel_values``, one with a video
    tower its clips."""
    height, width = shown_image(facts, spec)
    channels = pixel_tower(facts).get("num_channels", 3)
    _image_note(facts, spec, planned, "images")
    if downsamples_patches(facts):
        planned.notes.append(f"image features: one per {feature_patch(facts)}x{feature_patch(facts)} pixels, the stride "
                             "of the vision tower's convolutions (measured on the model)")
    if reads_image_sizes(facts):
        planned.add("image_sizes")
    planned.add("high_res_pixel_values")
    planned.add("pixel_values_videos")
    return TensorPlan((spec.batch, channels, height, width), "float32")


@builds("image_sizes", "vision-language", when=reads_image_sizes)
def image_sizes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(height, width) in pixels of every image: [B, 2]."""
    height, width = shown_image(facts, spec)
    return TensorPlan((spec.batch, 2), "int64", values=(height, width) * spec.batch)


@builds("high_res_pixel_values", "vision-language")
def high_res_pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The same images [B, C, H, W] for a second, high-resolution tower at its
    config's ``image_size`` (DeepSeek-VL hybrid's SAM tower beside its SigLIP one)."""
    tower = facts.sub("high_res_vision_config")
    height, width = image_side(tower, replace(spec, image_size=None))
    planned.notes.append(f"high_res_pixel_values: the images again at {height}x{width} for the high-resolution tower")
    return TensorPlan((spec.batch, tower.get("num_channels", 3), height, width), "float32")
