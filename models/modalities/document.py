"""Document inputs: the layout boxes of a page's words, the page image a
layout model embeds beside them, the xpath of each token of a web page."""

from __future__ import annotations

from . import ModelFacts, Planned, TensorPlan, builds, described_by, tower
from .text import token_shape

BOX_SCALE = 1000  # the 0-1000 grid layout tokenizers put word boxes on


def describes_layout(facts: ModelFacts) -> bool:
    """A model that reads a box per token: a 2-D position table
    (``max_2d_position_embeddings``) or box coordinates (``dim_bbox``)."""
    return any(field in facts.config for field in ("max_2d_position_embeddings", "dim_bbox"))


tower("bbox", describes_layout)


@builds("bbox", "document", when=describes_layout)
def bbox(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """One box per token [B, n, 4] (x0, y0, x1, y1), or [B, n, ``dim_bbox``]
    corner coordinates; all zeros, the box tokenizers give special tokens.
    int64 on the 0-1000 grid of a model that looks coordinates up in its
    2-D position table; float32 in [0, 1] for one that scales them itself
    (``bbox_scale``)."""
    batch, n = token_shape(facts, spec, planned)
    coordinates = facts.config.get("dim_bbox", 4)
    scaled = "bbox_scale" in facts.config
    scale = f"in [0, 1], scaled by bbox_scale {facts.config['bbox_scale']:g}" if scaled else f"on the 0-{BOX_SCALE} grid"
    planned.notes.append(f"bbox: one box of {coordinates} coordinates per token, {scale}; zeros (box values change no MAC)")
    return TensorPlan((batch, n, coordinates), "float32" if scaled else "int64")


def embeds_page_image(facts: ModelFacts) -> bool:
    """A layout model that embeds the page image in patches of its own
    (LayoutLMv3: ``visual_embed`` at ``input_size``)."""
    return bool(facts.config.get("visual_embed")) and isinstance(facts.config.get("input_size"), int)


tower("pixel_values", embeds_page_image)


@builds("pixel_values", "document", when=embeds_page_image)
def page_image(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The page image [B, C, S, S], S = ``input_size``: its patch position
    table is fixed to that size. Its patches and a class token follow the
    text tokens."""
    size, patch = facts.config["input_size"], facts.config["patch_size"]
    patches = (size // patch) ** 2
    planned.tokens += spec.batch * (patches + 1)
    planned.notes.append(f"pixel_values: the page at {size}x{size} (input_size), {patches:,} patches and a class token after the text")
    return TensorPlan((spec.batch, facts.config.get("num_channels", 3), size, size), "float32")


# the xpath of every token of a web page (MarkupLM): a tag id and a subscript per level, max_depth levels
reads_xpaths = described_by("max_depth")
tower("xpath_tags_seq", reads_xpaths)
tower("xpath_subs_seq", reads_xpaths)


def xpath(facts: ModelFacts, spec, planned: Planned, pad_field: str) -> TensorPlan:
    """[B, n, ``max_depth``] (int64): every level the config's padding id
    ``pad_field``, the empty xpath the tokenizer gives special tokens."""
    depth = facts.config["max_depth"]
    note = (f"xpath_tags_seq, xpath_subs_seq: an empty xpath of {depth} levels per token "
            f"(tag_pad_id {facts.config['tag_pad_id']}, subs_pad_id {facts.config['subs_pad_id']})")
    if note not in planned.notes:
        planned.notes.append(note)
    return TensorPlan((*token_shape(facts, spec, planned), depth), "int64", ((facts.config[pad_field], depth),))


@builds("xpath_tags_seq", "document", when=reads_xpaths)
def xpath_tags_seq(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Tag ids of every token's xpath (see :func:`xpath`)."""
    return xpath(facts, spec, planned, "tag_pad_id")


@builds("xpath_subs_seq", "document", when=reads_xpaths)
def xpath_subs_seq(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Subscripts of every token's xpath (see :func:`xpath`)."""
    return xpath(facts, spec, planned, "subs_pad_id")
