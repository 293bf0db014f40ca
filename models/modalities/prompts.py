"""Prompts beside an image: what promptable, in-context, matching and
task-conditioned models take with their pixels (SAM's point, box and mask
prompts, SegGPT's example image and mask, a keypoint matcher's second image,
OneFormer's task)."""

from __future__ import annotations

from . import ModelFacts, Planned, TensorPlan, builds
from .vision import image_side, pixel_values

# what SAM-style prompt encoders embed: points (with their labels) and boxes as sparse tokens, a mask as a dense
# map; SAM 3's geometry encoder takes labelled boxes beside its text prompt
PROMPT_INPUTS = ("input_points", "input_labels", "input_boxes", "input_boxes_labels", "input_masks")
POSITIVE = 1  # a point or box label: on the object (0: background, -1: not a point, -10: padding)
MASK_SCALE = 4  # a mask prompt is 4x the image embedding's side (SAM's mask encoder downsamples it 4x)
# (height, width) the keypoint matchers' image processors resize to (SuperPoint, SuperGlue, LightGlue, EfficientLoFTR)
MATCHING_IMAGE = (480, 640)


def takes_prompts(facts: ModelFacts) -> bool:
    """A promptable segmenter: its forward takes boxes beside the image."""
    return "input_boxes" in facts.accepts


def normalised_boxes(facts: ModelFacts) -> bool:
    """SAM 3's boxes are labelled and normalised (cx, cy, w, h) in [0, 1];
    SAM's and SAM 2's are (x1, y1, x2, y2) in pixels of the prompt frame."""
    return "input_boxes_labels" in facts.accepts


def prompt_frame(facts: ModelFacts) -> tuple[int, int]:
    """(image side, embedding side) of the prompt encoder: prompts are in
    pixels of its ``image_size`` square; its image embedding is
    ``image_embedding_size`` (SAM) or ``image_size // patch_size`` (SAM 2) on a side."""
    prompt = facts.sub("prompt_encoder_config")
    side = prompt.get("image_size") or 1024
    embedding = prompt.get("image_embedding_size") or side // (prompt.get("patch_size") or 16)
    return side, embedding


@builds("pixel_values", "vision", when=takes_prompts)
def prompted_image(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The image (see :func:`.vision.pixel_values`) with one prompt of each
    kind the forward takes, so every part of the prompt encoder runs: a
    positive point, a box covering the image, a mask (a previous prediction's
    low-resolution logits)."""
    image = pixel_values(facts, spec, planned)
    prompts = [name for name in PROMPT_INPUTS if planned.add(name) is not None]
    planned.notes.append(f"prompts per image: one of each kind ({', '.join(prompts)})")
    return image


@builds("input_points", "vision")
def input_points(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Points [B, 1 mask, 1 point, (x, y)]: the centre of the prompt frame."""
    side, _ = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, 1, 2), "float32", values=(side / 2, side / 2) * spec.batch)


@builds("input_labels", "vision")
def input_labels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A label per point [B, 1, 1]: positive."""
    return TensorPlan((spec.batch, 1, 1), "int64", values=(POSITIVE,) * spec.batch)


@builds("input_boxes", "vision")
def input_boxes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Boxes [B, 1 box, 4] around the whole image: (0.5, 0.5, 1, 1) normalised
    or (0, 0, side, side) in pixels (see :func:`normalised_boxes`); one box per point's mask."""
    if normalised_boxes(facts):
        return TensorPlan((spec.batch, 1, 4), "float32", values=(0.5, 0.5, 1.0, 1.0) * spec.batch)
    side, _ = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, 4), "float32", values=(0, 0, side, side) * spec.batch)


@builds("input_boxes_labels", "vision")
def input_boxes_labels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A label per box [B, 1]: positive."""
    return TensorPlan((spec.batch, 1), "int64", values=(POSITIVE,) * spec.batch)


@builds("input_masks", "vision")
def input_masks(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Mask logits [B, 1, 4e, 4e] for an image embedding e on a side."""
    _, embedding = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, MASK_SCALE * embedding, MASK_SCALE * embedding), "float32")


def takes_example(facts: ModelFacts) -> bool:
    """An in-context segmenter (SegGPT): an example image and its mask show the task."""
    return "prompt_pixel_values" in facts.accepts


def example_part(facts: ModelFacts, spec) -> TensorPlan:
    """One of the three images [B, C, H/2, W] of an in-context segmenter,
    which stacks the example above the image into one (H, W) input: the
    config's ``image_size`` (SegGPT: 896 x 448, two 448 x 448 images) or
    ``--image-size``."""
    height, width = image_side(facts.config, spec)
    return TensorPlan((spec.batch, facts.config.get("num_channels", 3), height // 2, width), "float32")


@builds("pixel_values", "vision", when=takes_example)
def example_query(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The image to segment (see :func:`example_part`). The model runs two
    stacks, the images and the masks, each (2·H/2)/p x W/p patches."""
    part = example_part(facts, spec)
    _, _, height, width = part.shape
    patch = facts.config.get("patch_size") or 16
    planned.tokens += spec.batch * 2 * (2 * height // patch) * (width // patch)
    planned.notes.append(f"in-context prompt: an example image and its mask, each {height}x{width} like the image")
    return part


@builds("prompt_pixel_values", "vision")
def prompt_pixel_values(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The example image (see :func:`example_part`)."""
    return example_part(facts, spec)


@builds("prompt_masks", "vision")
def prompt_masks(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The example's mask, as an image of its classes' colours (see :func:`example_part`)."""
    return example_part(facts, spec)


def matches_pairs(facts: ModelFacts) -> bool:
    """A keypoint matcher (transformers' keypoint-matching task): it finds
    the same points in two images."""
    return "keypoint_matching" in facts.tasks


@builds("pixel_values", "vision", when=matches_pairs)
def image_pairs(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Pairs of images [B, 2, 3, H, W]: 480 x 640 as the matchers' image
    processors make them (grayscale in 3 channels), or ``--image-size``.
    Tokens: the positions of both images' 1/8-resolution feature maps, which
    the matchers attend over (SuperPoint's 8x8 cells, LoFTR's coarse level)."""
    height, width = (spec.image_size, spec.image_size) if spec.image_size else MATCHING_IMAGE
    planned.tokens += spec.batch * 2 * (height // 8) * (width // 8)
    planned.notes.append(f"pixel_values: {spec.batch} pair(s) of {height}x{width} images to match")
    return TensorPlan((spec.batch, 2, 3, height, width), "float32")


@builds("task_inputs", "text")
def task_inputs(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The task's token ids [B, task_seq_len] ("the task is semantic",
    padded), which OneFormer's task MLP reads as one vector."""
    return TensorPlan((spec.batch, facts.config.get("task_seq_len") or 77), "int64")
