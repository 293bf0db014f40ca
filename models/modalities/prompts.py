"""Prompts beside an image: what promptable and task-conditioned models take
with their pixels (SAM's point, box and mask prompts; OneFormer's task)."""

from __future__ import annotations

from . import ModelFacts, Planned, TensorPlan, builds
from .vision import pixel_values

# SAM-style prompt encoders embed points (with their labels) and boxes as sparse tokens, a mask as a dense map
PROMPT_INPUTS = ("input_points", "input_labels", "input_boxes", "input_masks")
FOREGROUND = 1  # a point label: the point lies on the object (0: background, -1: not a point, -10: padding)
MASK_SCALE = 4  # a mask prompt is 4x the image embedding's side (SAM's mask encoder downsamples it 4x)


def takes_prompts(facts: ModelFacts) -> bool:
    """A SAM-style forward: points, labels, boxes and masks beside the image."""
    return set(PROMPT_INPUTS) <= facts.accepts


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
    kind the prompt encoder embeds, so every part of it runs: one foreground
    point, one box and one mask (a previous prediction's low-resolution logits)."""
    image = pixel_values(facts, spec, planned)
    for name in PROMPT_INPUTS:
        planned.add(name)
    side, embedding = prompt_frame(facts)
    mask = MASK_SCALE * embedding
    planned.notes.append(f"prompts per image: 1 point, 1 box and a {mask}x{mask} mask (coordinates in a {side}x{side} frame)")
    return image


@builds("input_points", "vision")
def input_points(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Points [B, 1 mask, 1 point, (x, y)]: the centre of the prompt frame."""
    side, _ = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, 1, 2), "float32", values=(side / 2, side / 2) * spec.batch)


@builds("input_labels", "vision")
def input_labels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A label per point [B, 1, 1]: foreground."""
    return TensorPlan((spec.batch, 1, 1), "int64", values=(FOREGROUND,) * spec.batch)


@builds("input_boxes", "vision")
def input_boxes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Boxes [B, 1 box, (x1, y1, x2, y2)]: the whole prompt frame (one box per point's mask)."""
    side, _ = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, 4), "float32", values=(0, 0, side, side) * spec.batch)


@builds("input_masks", "vision")
def input_masks(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Mask logits [B, 1, 4e, 4e] for an image embedding e on a side."""
    _, embedding = prompt_frame(facts)
    return TensorPlan((spec.batch, 1, MASK_SCALE * embedding, MASK_SCALE * embedding), "float32")


@builds("task_inputs", "text")
def task_inputs(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The task's token ids [B, task_seq_len] ("the task is semantic",
    padded), which OneFormer's task MLP reads as one vector."""
    return TensorPlan((spec.batch, facts.config.get("task_seq_len") or 77), "int64")
