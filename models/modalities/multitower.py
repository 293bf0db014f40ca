"""Models whose image (or region-feature, or sound) tower is not fed a
plain [B, C, H, W] image beside placeholder tokens that say so in the config:
dual and fusion encoders (FLAVA, ViLT, SigLIP 2), models fed an object
detector's region features (LXMERT, VisualBERT), Q-Former models (BLIP-2,
InstructBLIP), resamplers whose image positions a mask marks (Kosmos-2 and
2.5), encoder-decoders whose encoder holds the vision tower (T5Gemma 2), and
vision-language models whose image token count follows from their own layout
(Janus, Florence-2, Fuyu, NeoMME, LFM2-VL, Molmo 2, Inkling and Inkling 2),
and models whose audio token count follows from the sound's samples (Dots 3
Note's chunks, Apertus 1.5's codec).

Each tower's input is planned whenever the forward takes it (see
:func:`~modelprof.models.modalities.tower`), so that one forward runs the
image tower, the text tower and what joins them. A default config that
transformers itself cannot run is refused with the reason.

``vision_language`` is imported inside functions, not here: importing it first
would register its builders before ``grid``'s and change which variant wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ...profilers.errors import BadInput
from . import ModelFacts, Placeholders, Planned, TensorPlan, builds, placeholders, tower
from .text import text_length
from .vision import image_side, pixel_values

def image_token(facts: ModelFacts) -> int | None:
    """The config's image placeholder id, as ``vision_language`` reads it."""
    from .vision_language import image_token as configured

    return configured(facts)


def stated_image_tokens(config: Mapping) -> int | None:
    """The image token count a config states (``vision_language``'s fields)."""
    from .vision_language import IMAGE_TOKENS_FIELDS

    return next((config[k] for k in IMAGE_TOKENS_FIELDS if isinstance(config.get(k), int)), None)


# Regions per image of the bottom-up-attention Faster R-CNN (Anderson et al.,
# 2018) whose features LXMERT and VisualBERT were trained on: 36 boxes kept per image.
REGIONS_PER_IMAGE = 36


def image_config(facts: ModelFacts) -> Mapping | None:
    """The config of an image tower named ``image_config`` (FLAVA) where the
    model has no ``vision_config``."""
    sub = facts.config.get("image_config")
    return sub if isinstance(sub, Mapping) and not isinstance(facts.config.get("vision_config"), Mapping) else None


def patches_in_own_config(facts: ModelFacts) -> bool:
    """A single-stream model that embeds image patches itself, sized by its
    own top-level ``image_size`` and ``patch_size`` (ViLT)."""
    return "vision_config" not in facts.config and all(k in facts.config for k in ("image_size", "patch_size", "vocab_size"))


tower("pixel_values", lambda facts: image_config(facts) is not None or patches_in_own_config(facts))


@builds("pixel_values", "vision", when=lambda facts: image_config(facts) is not None)
def image_config_pixels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images [B, C, H, W] at the ``image_config``'s size and channels."""
    sub = image_config(facts)
    height, width = image_side(sub, spec)
    return TensorPlan((spec.batch, sub.get("num_channels", 3), height, width), "float32")


def takes_regions(facts: ModelFacts) -> bool:
    return bool({"visual_feats", "visual_embeds"} & facts.accepts)


tower("visual_feats", takes_regions)
tower("visual_embeds", takes_regions)


def regions(planned: Planned) -> int:
    """Detector regions per image (see :data:`REGIONS_PER_IMAGE`), noted once."""
    note = f"region features: {REGIONS_PER_IMAGE} boxes per image (the bottom-up-attention Faster R-CNN's)"
    if note not in planned.notes:
        planned.notes.append(note)
    return REGIONS_PER_IMAGE


@builds("visual_feats", "vision")
def visual_feats(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """ROI-pooled detector features [B, boxes, ``visual_feat_dim``] (LXMERT),
    with their boxes ``visual_pos``."""
    planned.add("visual_pos")
    return TensorPlan((spec.batch, regions(planned), facts.config["visual_feat_dim"]), "float32")


@builds("visual_pos", "vision")
def visual_pos(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Each region's normalised box [B, boxes, ``visual_pos_dim``] (x0, y0, x1, y1)."""
    return TensorPlan((spec.batch, regions(planned), facts.config.get("visual_pos_dim", 4)), "float32")


@builds("visual_embeds", "vision")
def visual_embeds(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Detector features [B, boxes, ``visual_embedding_dim``] (VisualBERT)."""
    return TensorPlan((spec.batch, regions(planned), facts.config["visual_embedding_dim"]), "float32")


# --- Q-Former models (BLIP-2, InstructBLIP): learned queries read the image, the language model reads the queries

# A video for InstructBLIP-Video is 4 frames, each read by its own queries
# (processing_instructblipvideo.py: "InstructBLIP works with 4 frames only").
QFORMER_VIDEO_FRAMES = 4
# BLIP-2's queries and vision tower (Blip2Config, Blip2VisionConfig defaults; Li et al., 2023): 32 learned
# queries read the image features of a ViT at 224 px in 14-px patches, 16 x 16 patches and a class token.
QFORMER_QUERIES = 32
QFORMER_IMAGE_FEATURES = (224 // 14) ** 2 + 1
PLACEHOLDER_FIELDS = {"image": ("image_token_index", "image_token_id"), "video": ("video_token_index", "video_token_id")}


def takes_qformer(facts: ModelFacts) -> bool:
    """A vision tower, a Q-Former and a language model (BLIP-2 and its kin)."""
    return isinstance(facts.config.get("qformer_config"), Mapping) and isinstance(facts.config.get("num_query_tokens"), int)


def takes_video_queries(facts: ModelFacts) -> bool:
    """A Q-Former model whose placeholders are video tokens: every frame its own queries."""
    return takes_qformer(facts) and any(k in facts.config for k in PLACEHOLDER_FIELDS["video"])


@builds("pixel_values", "video", when=takes_video_queries)
def qformer_video(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """A clip [B, 4, C, H, W] (see :data:`QFORMER_VIDEO_FRAMES`) at the vision config's size."""
    vision = facts.sub("vision_config")
    height, width = image_side(vision, spec)
    planned.notes.append(f"pixel_values: a clip of {QFORMER_VIDEO_FRAMES} frames, the Q-Former reads each")
    return TensorPlan((spec.batch, QFORMER_VIDEO_FRAMES, vision.get("num_channels", 3), height, width), "float32")


@placeholders
def query_placeholders(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The language model's placeholders: one per query output
    (``num_query_tokens``), per frame of a clip. A config whose placeholder
    id is null cannot run: the forward compares the ids with None."""
    pixels = planned.tensors.get("pixel_values")
    if pixels is None or not takes_qformer(facts):
        return None
    what = "video" if takes_video_queries(facts) else "image"
    fields = PLACEHOLDER_FIELDS[what]
    token = next((facts.config[k] for k in fields if isinstance(facts.config.get(k), int)), None)
    if token is None:
        raise BadInput(
            f"the config's {fields[0]} is null: the model puts its query outputs at {what} tokens of that id "
            f"and cannot run without one; set {fields[0]} as the checkpoint does"
        )
    frames = pixels.shape[1] if len(pixels.shape) == 5 else 1
    return Placeholders(token, facts.config["num_query_tokens"] * frames, what)


@builds("qformer_input_ids", "text")
def qformer_input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The prompt as the Q-Former's tokenizer encodes it [B, n]: the text
    length, within the Q-Former's position table (processing_instructblip.py)."""
    return TensorPlan((spec.batch, text_length(facts.sub("qformer_config"), spec, planned=planned)), "int64")


def bare_qformer(facts: ModelFacts) -> bool:
    """A Q-Former alone: its queries and the image features they read come from outside."""
    return "query_embeds" in facts.accepts and "encoder_hidden_size" in facts.config


tower("encoder_hidden_states", bare_qformer)


@builds("query_embeds", "vision", when=bare_qformer)
def query_embeds(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The learned queries [B, queries, ``hidden_size``]: ``num_query_tokens``
    where the config has it, else BLIP-2's 32."""
    queries = facts.config.get("num_query_tokens") or QFORMER_QUERIES
    return TensorPlan((spec.batch, queries, facts.config["hidden_size"]), "float32")


@builds("encoder_hidden_states", "vision", when=bare_qformer)
def qformer_image_features(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The vision tower's features the queries cross-attend to [B, 257,
    ``encoder_hidden_size``] (see :data:`QFORMER_IMAGE_FEATURES`)."""
    planned.notes.append(
        f"encoder_hidden_states: {QFORMER_IMAGE_FEATURES} image features (BLIP-2's vision tower: 224 px in 14-px patches and a class token)"
    )
    return TensorPlan((spec.batch, QFORMER_IMAGE_FEATURES, facts.config["encoder_hidden_size"]), "float32")


# --- Kosmos-2 and Kosmos-2.5: a resampler's latent queries go where image_embeds_position_mask marks


def marks_image_positions(facts: ModelFacts) -> bool:
    """The forward takes a mask of the positions the image's latent queries fill."""
    return "image_embeds_position_mask" in facts.accepts and isinstance(facts.config.get("latent_query_num"), int)


@builds("pixel_values", "vision", when=marks_image_positions)
def positioned_pixels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images as for any vision tower, and the mask of where their features go."""
    planned.add("image_embeds_position_mask")
    return pixel_values(facts, spec, planned)


def takes_flattened_patches(facts: ModelFacts) -> bool:
    """Pix2Struct-style image tower: rows of (row, column, patch values)."""
    return "patch_embed_hidden_size" in facts.sub("vision_config")


tower("flattened_patches", lambda facts: isinstance(facts.config.get("vision_config"), Mapping) and takes_flattened_patches(facts))


@builds("flattened_patches", "vision", when=takes_flattened_patches)
def flattened_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, ``max_num_patches``, 2 + ``patch_embed_hidden_size``]: each row a
    patch's row and column index and its C·p·p values. The image processor
    resizes any image to fill its ``max_patches`` rows (4,096 by default, the
    vision config's ``max_num_patches``) and pads to them, so the image size
    does not change the count."""
    vision = facts.sub("vision_config")
    rows = vision["max_num_patches"]
    planned.notes.append(f"flattened_patches: {rows:,} patch rows (the image processor fills and pads to max_patches)")
    planned.tokens += spec.batch * rows
    if marks_image_positions(facts):
        planned.add("image_embeds_position_mask")
    return TensorPlan((spec.batch, rows, 2 + vision["patch_embed_hidden_size"]), "float32")


@builds("image_embeds_position_mask", "vision-language")
def image_embeds_position_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, q + n] over the token ids: 1 at the ``latent_query_num`` (q)
    positions at the start of each row that the image's features fill, 0 over
    the n text tokens (the processor puts them after ``<s><image>``)."""
    latent = facts.config["latent_query_num"]
    return TensorPlan((spec.batch, latent + text_length(facts.sub("text_config"), spec)), "int64", ((1, latent),))


@placeholders
def latent_query_positions(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The token ids have a position for every latent query; the mask, not
    their ids, says where the image goes (the processor numbers them from
    ``first_image_token_id``; any id costs the same)."""
    mask = planned.tensors.get("image_embeds_position_mask")
    return None if mask is None else Placeholders(0, facts.config["latent_query_num"], "image")


# --- NaFlex vision towers (SigLIP 2 and the models built on it): patch rows of any aspect, masked to their count


def takes_naflex(facts: ModelFacts) -> bool:
    """A vision tower fed rows of flattened patches with their mask and each
    image's (rows, columns) of patches."""
    return {"spatial_shapes", "pixel_attention_mask"} <= facts.accepts


def naflex_grid(facts: ModelFacts, spec) -> tuple[int, int, int]:
    """(patches high, patches wide, values per patch) of one image: a square
    image of ``--image-size`` in ``patch_size`` patches, else the side of
    the position table (``num_patches``, which the image processor's default
    ``max_num_patches`` matches: 256 = 16 x 16); a side a multiple of the
    projector's ``downsample_factor``, which folds whole blocks."""
    vision = facts.sub("vision_config")
    patch = vision["patch_size"]
    factor = facts.config.get("downsample_factor") or 1
    side = spec.image_size // patch if spec.image_size else math.isqrt(vision["num_patches"])
    side = max(side // factor, 1) * factor
    return side, side, vision.get("num_channels", 3) * patch * patch


@builds("pixel_values", "vision", when=takes_naflex)
def naflex_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, h·w, C·p·p]: every image as rows of flattened patches, with
    ``pixel_attention_mask`` and ``spatial_shapes`` beside them."""
    rows, cols, values = naflex_grid(facts, spec)
    planned.notes.append(f"pixel_values: {rows}x{cols} patches of {values} values each (NaFlex patch rows)")
    planned.tokens += spec.batch * rows * cols
    planned.add("pixel_attention_mask")
    planned.add("spatial_shapes")
    return TensorPlan((spec.batch, rows * cols, values), "float32")


@builds("pixel_attention_mask", "vision", when=takes_naflex)
def naflex_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, h·w]: 1 for every patch row (none is padding)."""
    rows, cols, _ = naflex_grid(facts, spec)
    return TensorPlan((spec.batch, rows * cols), "int64", ((1, rows * cols),))


@builds("spatial_shapes", "vision", when=takes_naflex)
def spatial_shapes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, 2]: each image's (patches high, patches wide)."""
    rows, cols, _ = naflex_grid(facts, spec)
    return TensorPlan((spec.batch, 2), "int64", values=(rows, cols) * spec.batch)


@placeholders
def naflex_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """One image token per ``downsample_factor`` x ``downsample_factor``
    patches, which the projector unshuffles into one (LFM2-VL)."""
    token = image_token(facts)
    if "spatial_shapes" not in planned.tensors or token is None:
        return None
    rows, cols, _ = naflex_grid(facts, planned.spec)
    factor = facts.config.get("downsample_factor") or 1
    return Placeholders(token, (rows // factor) * (cols // factor), "image")


# --- encoder-decoders whose encoder holds the vision tower (T5Gemma 2): the image tokens are the encoder's


def encoder_vision(facts: ModelFacts) -> Mapping | None:
    """The ``encoder`` sub-config where it holds the ``vision_config`` and the model itself has none."""
    encoder = facts.config.get("encoder")
    if isinstance(facts.config.get("vision_config"), Mapping) or not isinstance(encoder, Mapping):
        return None
    return encoder if isinstance(encoder.get("vision_config"), Mapping) else None


tower("pixel_values", lambda facts: encoder_vision(facts) is not None)


@builds("pixel_values", "vision", when=lambda facts: encoder_vision(facts) is not None)
def encoder_pixels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Images as the encoder's vision tower takes them."""
    return pixel_values(ModelFacts(encoder_vision(facts), facts.main_input, facts.accepts, facts.required), spec, planned)


@placeholders
def encoder_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image token (the model's id, else the encoder's) once per image
    feature the encoder's config counts (``mm_tokens_per_image``)."""
    encoder = encoder_vision(facts)
    if encoder is None or "pixel_values" not in planned.tensors:
        return None
    inner = ModelFacts(encoder, facts.main_input)
    token = image_token(facts) if image_token(facts) is not None else image_token(inner)
    count = stated_image_tokens(encoder)
    if token is None or not count:
        return None
    check_pooling(encoder["vision_config"], count)
    return Placeholders(token, count, "image")


def check_pooling(vision: Mapping, count: int) -> None:
    """Refuse a config whose patch grid is smaller than the grid of image
    tokens it is average-pooled into: the projector's kernel, patches a side
    // tokens a side, would be 0 (modeling_t5gemma2.py, the multimodal
    projector), and transformers cannot run it."""
    size, patch = vision.get("image_size"), vision.get("patch_size")
    if not isinstance(size, int) or not isinstance(patch, int):
        return
    patches, tokens = size // patch, math.isqrt(count)
    if patches < tokens:
        raise BadInput(
            f"the vision tower's {patches}x{patches} patches (image_size {size} / patch_size {patch}) are fewer than "
            f"the {tokens}x{tokens} image tokens (mm_tokens_per_image = {count}) they are pooled into: the pooling "
            "kernel is 0 and transformers cannot run this config"
        )


# --- image token counts that live in the vision config or follow from its layers


@placeholders
def vision_config_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image token once per feature where the vision config states the
    count (Janus: ``num_image_tokens``) and the model's own config does not."""
    token, vision = image_token(facts), facts.config.get("vision_config")
    if "pixel_values" not in planned.tensors or token is None or not isinstance(vision, Mapping):
        return None
    count = None if stated_image_tokens(facts.config) else stated_image_tokens(vision)
    return Placeholders(token, count, "image") if count else None


def staged_convolutions(facts: ModelFacts) -> bool:
    """A vision tower of convolution stages (Florence-2's DaViT): a kernel,
    stride and padding per stage, and a temporal embedding in its projector."""
    vision = facts.sub("vision_config")
    return all(isinstance(vision.get(k), list) for k in ("patch_size", "patch_stride", "patch_padding")) and (
        "max_temporal_embeddings" in vision
    )


def staged_side(side: int, vision: Mapping) -> int:
    """An image side after every convolution stage: (s + 2·pad - k) // stride + 1 each."""
    for kernel, stride, pad in zip(vision["patch_size"], vision["patch_stride"], vision["patch_padding"]):
        side = (side + 2 * pad - kernel) // stride + 1
    return side


@placeholders
def staged_image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """One image token per position of the last stage, and one more: the
    projector adds the image's mean over space (one per frame) before them."""
    token = image_token(facts)
    if "pixel_values" not in planned.tensors or token is None or not staged_convolutions(facts):
        return None
    vision = facts.sub("vision_config")
    height, width = image_side(vision, planned.spec)
    return Placeholders(token, staged_side(height, vision) * staged_side(width, vision) + 1, "image")


def patches_beside_text(facts: ModelFacts) -> bool:
    """A decoder that embeds raw image patches itself (Fuyu): no vision
    config, a text config, an image token, and the patch size at top level."""
    config = facts.config
    return (
        not isinstance(config.get("vision_config"), Mapping)
        and isinstance(config.get("text_config"), Mapping)
        and isinstance(config.get("patch_size"), int)
        and any(isinstance(config.get(k), int) for k in ("image_token_id", "image_token_index"))
    )


tower("pixel_values", patches_beside_text)


def patch_rows(facts: ModelFacts, spec) -> tuple[int, int]:
    """(patches high, patches wide) of an image at the config's ``image_size``
    (or ``--image-size``) in ``patch_size`` patches."""
    height, width = image_side(facts.config, spec)
    patch = facts.config["patch_size"]
    return height // patch, width // patch


@builds("pixel_values", "vision", when=patches_beside_text)
def raw_patches(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, h·w, p·p·C]: every patch flattened, one image token each."""
    rows, cols = patch_rows(facts, spec)
    patch, channels = facts.config["patch_size"], facts.config.get("num_channels", 3)
    planned.notes.append(f"pixel_values: {rows}x{cols} patches of {patch}x{patch} pixels, each one image token")
    return TensorPlan((spec.batch, rows * cols, patch * patch * channels), "float32")


def patches_in_one_stream(facts: ModelFacts) -> bool:
    """A single-stream encoder that embeds raw image patches among its
    tokens (NeoMME): no vision or text config, an image token and the patch
    size at top level, token ids beside the pixels."""
    config = facts.config
    return (
        not any(isinstance(config.get(k), Mapping) for k in ("vision_config", "text_config"))
        and isinstance(config.get("patch_size"), int)
        and image_token(facts) is not None
        and {"input_ids", "pixel_values"} <= facts.accepts
    )


tower("pixel_values", patches_in_one_stream)


@builds("pixel_values", "vision", when=patches_in_one_stream)
def patch_rows_of_all_images(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B·h·w, p·p·C]: the patches of every image as rows of one tensor,
    one image token each (``NeoMMEProcessor``; the image processor keeps the
    image's size, padded to whole patches)."""
    rows, cols = patch_rows(facts, spec)
    patch, channels = facts.config["patch_size"], facts.config.get("num_channels", 3)
    planned.notes.append(f"pixel_values: {rows}x{cols} patches of {patch}x{patch} pixels per image, as rows of one tensor")
    return TensorPlan((spec.batch * rows * cols, patch * patch * channels), "float32")


@placeholders
def raw_patch_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image token once per patch."""
    if "pixel_values" not in planned.tensors or not (patches_beside_text(facts) or patches_in_one_stream(facts)):
        return None
    rows, cols = patch_rows(facts, planned.spec)
    return Placeholders(image_token(facts), rows * cols, "image")


# --- Molmo 2: an image as overlapping crops plus a low-resolution view, patches pooled 2 x 2 into tokens

# Molmo2ImageProcessor's defaults (image_processing_molmo2.py): at most 8 high-resolution crops of the
# vision tower's image_size, overlapping by 4 patches on each side, and 2 x 2 patches pooled into a token.
MOLMO_MAX_CROPS = 8
MOLMO_OVERLAP = (4, 4)
MOLMO_POOLING = (2, 2)


def takes_pooled_crops(facts: ModelFacts) -> bool:
    """Crops of patches pooled into tokens by index (Molmo 2)."""
    return {"image_token_pooling", "image_grids"} <= facts.accepts


def select_tiling(height: int, width: int, window: int, max_crops: int) -> tuple[int, int]:
    """(rows, columns) of crop windows for an image (``select_tiling`` in
    image_processing_molmo2.py): the smallest tiling that needs no
    downscaling, else the one that downscales least."""
    tilings = sorted(((h, w) for h in range(1, max_crops + 1) for w in range(1, max_crops + 1) if h * w <= max_crops),
                     key=lambda t: (t[0] * t[1], t[0]))
    scales = [min(h * window / height, w * window / width) for h, w in tilings]
    if all(scale < 1 for scale in scales):
        return tilings[max(range(len(tilings)), key=lambda i: scales[i])]
    return tilings[min(range(len(tilings)), key=lambda i: scales[i] if scales[i] >= 1 else float("inf"))]


@dataclass(frozen=True)
class CropLayout:
    crops: int  # high-resolution crops and the low-resolution view
    patches: int  # patches per crop
    values: int  # values per patch: C·p·p
    grid: tuple[int, int, int, int]  # pooled (rows, columns) of the low-resolution view, then of the crops

    @property
    def tokens(self) -> int:
        low_h, low_w, high_h, high_w = self.grid
        return low_h * low_w + high_h * high_w


def crop_layout(facts: ModelFacts, spec) -> CropLayout:
    """How Molmo 2's image processor cuts one image at ``--image-size`` (else
    the vision ``image_size``): crops of the vision tower's size on a canvas
    of overlapping windows (``compute_crop_geometry``), pooled 2 x 2."""
    vision = facts.sub("vision_config")
    crop = vision["image_size"][0] if isinstance(vision["image_size"], list) else vision["image_size"]
    patch = vision["patch_size"]
    height, width = image_side(vision, spec)
    margin = sum(MOLMO_OVERLAP) * patch
    window = (crop // patch - sum(MOLMO_OVERLAP)) * patch
    rows, cols = select_tiling(height - margin, width - margin, window, MOLMO_MAX_CROPS)
    pool_h, pool_w = MOLMO_POOLING
    side = crop // patch
    high = (-(-(rows * window + margin) // patch // pool_h), -(-(cols * window + margin) // patch // pool_w))
    grid = (-(-side // pool_h), -(-side // pool_w), *high)
    return CropLayout(rows * cols + 1, side * side, vision.get("num_channels", 3) * patch * patch, grid)


def check_adapter_width(facts: ModelFacts) -> None:
    """Refuse a config whose adapter makes image features of another width
    than the language model's token embeddings (``adapter_config.text_hidden_size``
    against ``text_config.hidden_size``): the model's own check that image
    features fill the placeholders fails, whatever the inputs."""
    made, wanted = facts.sub("adapter_config").get("text_hidden_size"), facts.sub("text_config").get("hidden_size")
    if isinstance(made, int) and isinstance(wanted, int) and made != wanted:
        raise BadInput(
            f"the adapter makes image features of {made:,} values (adapter_config.text_hidden_size) but the language "
            f"model's tokens have {wanted:,} (text_config.hidden_size): transformers cannot run this config"
        )


@builds("pixel_values", "vision", when=takes_pooled_crops)
def pooled_crops(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, crops, patches, C·p·p]: the low-resolution view and the
    high-resolution crops of every image, as rows of patches."""
    check_adapter_width(facts)
    layout = crop_layout(facts, spec)
    planned.notes.append(
        f"pixel_values: {layout.crops} crops of {layout.patches} patches per image (a low-resolution view and "
        f"{layout.crops - 1} overlapping crops), pooled into {layout.tokens} image tokens"
    )
    planned.tokens += spec.batch * layout.crops * layout.patches
    planned.add("image_token_pooling")
    planned.add("image_grids")
    return TensorPlan((spec.batch, layout.crops, layout.patches, layout.values), "float32")


@builds("image_token_pooling", "vision")
def image_token_pooling(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B·tokens, 2·2]: the patches each image token pools; which patches
    (all the first here) never changes the count, how many does."""
    layout = crop_layout(facts, spec)
    return TensorPlan((spec.batch * layout.tokens, MOLMO_POOLING[0] * MOLMO_POOLING[1]), "int64")


@builds("image_grids", "vision")
def image_grids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, 4]: every image's pooled (rows, columns) of its low-resolution view, then of its crops."""
    return TensorPlan((spec.batch, 4), "int64", values=crop_layout(facts, spec).grid * spec.batch)


@placeholders
def pooled_crop_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image patch token (``image_patch_id``) once per pooled token."""
    token = facts.config.get("image_patch_id")
    if "image_grids" not in planned.tensors or not isinstance(token, int):
        return None
    return Placeholders(token, crop_layout(facts, planned.spec).tokens, "image")


# --- Inkling 2: a grid counted in text tokens, each token's m x m patches one channels-last tile


def takes_token_tiles(facts: ModelFacts) -> bool:
    """A grid-style tower without temporal patches whose learned positions
    are interpolated from a ``posemb_grid_size`` grid (Inkling 2): its grid
    counts text tokens, and each token arrives as one (p·m) x (p·m) x C tile."""
    vision = facts.sub("vision_config")
    return "image_grid_thw" in facts.accepts and "posemb_grid_size" in vision and "temporal_patch_size" not in vision


def token_tiles(facts: ModelFacts, spec) -> tuple[int, int, int]:
    """(tokens high, tokens wide, tile side in pixels): the image side in
    whole tiles of ``patch_size`` x ``spatial_merge_size`` pixels (the image
    processor pads a ragged edge up to a whole tile)."""
    vision = facts.sub("vision_config")
    tile = vision["patch_size"] * vision.get("spatial_merge_size", 1)
    height, width = image_side(vision, spec)
    return max(height // tile, 1), max(width // tile, 1), tile


@builds("pixel_values", "vision", when=takes_token_tiles)
def token_tile_pixels(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B·h·w, t, t, C]: one tile per image token, channels last."""
    rows, cols, tile = token_tiles(facts, spec)
    channels = facts.sub("vision_config").get("num_channels", 3)
    planned.notes.append(f"pixel_values: {rows}x{cols} tiles of {tile}x{tile} pixels, one per image token")
    planned.tokens += spec.batch * rows * cols
    planned.add("image_grid_thw")
    return TensorPlan((spec.batch * rows * cols, tile, tile, channels), "float32")


@builds("image_grid_thw", "vision", when=takes_token_tiles)
def token_tile_grid(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """(frames, tokens high, tokens wide) of every image: (1, h, w)."""
    rows, cols, _ = token_tiles(facts, spec)
    return TensorPlan((spec.batch, 3), "int64", values=(1, rows, cols) * spec.batch)


# --- Inkling: image patches as two-frame tubes, sound as quantised mel frames, each one token of the text

# InklingFeatureExtractor's default audio_token_duration_s (feature_extraction_inkling.py): one token per 50 ms hop.
INKLING_AUDIO_TOKEN_SECONDS = 0.05


def takes_patch_tubes(facts: ModelFacts) -> bool:
    """A vision tower that folds each patch, repeated over ``temporal_patch_size``
    frames, straight into the text width (``text_hidden_size``): no grid, one token per patch."""
    vision = facts.config.get("vision_config")
    return (
        isinstance(vision, Mapping)
        and "image_grid_thw" not in facts.accepts
        and all(k in vision for k in ("temporal_patch_size", "patch_size", "text_hidden_size"))
    )


def tube_grid(facts: ModelFacts, spec) -> tuple[int, int]:
    """(patches high, patches wide) as the image processor cuts an image
    (``divide_to_patches`` in image_processing_inkling.py): ceil(H / p) rows
    and W // p + 1 columns, the ragged ones padded."""
    patch = facts.sub("vision_config")["patch_size"]
    height, width = image_side(facts.sub("vision_config"), spec)
    return -(-height // patch), width // patch + 1


@builds("pixel_values", "vision", when=takes_patch_tubes)
def patch_tubes(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B·patches, T, p, p, C]: every patch of every image, its frames repeated."""
    vision = facts.sub("vision_config")
    rows, cols = tube_grid(facts, spec)
    patch = vision["patch_size"]
    planned.notes.append(f"pixel_values: {rows}x{cols} patches of {patch}x{patch} pixels, each one image token")
    planned.tokens += spec.batch * rows * cols
    return TensorPlan((spec.batch * rows * cols, vision["temporal_patch_size"], patch, patch, vision.get("num_channels", 3)), "float32")


@placeholders
def patch_tube_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    if "pixel_values" not in planned.tensors or not takes_patch_tubes(facts) or image_token(facts) is None:
        return None
    rows, cols = tube_grid(facts, planned.spec)
    return Placeholders(image_token(facts), rows * cols, "image")


def takes_mel_ids(facts: ModelFacts) -> bool:
    """Sound as ids of quantised mel bins (``n_mel_bins`` of ``mel_vocab_size`` levels)."""
    audio = facts.config.get("audio_config")
    return "audio_input_ids" in facts.accepts and isinstance(audio, Mapping) and "mel_vocab_size" in audio


tower("audio_input_ids", takes_mel_ids)


def mel_frames(spec) -> int:
    """Audio tokens of ``--audio-seconds`` (default 10): one per 50-ms hop."""
    from .audio import audio_seconds

    return -(-round(audio_seconds(spec) * 1000) // round(INKLING_AUDIO_TOKEN_SECONDS * 1000))


@builds("audio_input_ids", "audio", when=takes_mel_ids)
def audio_input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, frames, ``n_mel_bins``]: every frame's quantised mel bins, one audio per row."""
    from .audio import audio_seconds

    frames = mel_frames(spec)
    planned.notes.append(f"audio_input_ids: {audio_seconds(spec):g} s of audio as {frames:,} frames of quantised mel bins")
    return TensorPlan((spec.batch, frames, facts.sub("audio_config")["n_mel_bins"]), "int64")


@placeholders
def mel_frame_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The audio token once per frame."""
    token = facts.config.get("audio_token_id")
    if "audio_input_ids" not in planned.tensors or not isinstance(token, int):
        return None
    return Placeholders(token, mel_frames(planned.spec), "audio")


# --- audio chunks beside their sample counts (Dots 3 Note): each chunk's tokens follow from its samples


def takes_chunk_lengths(facts: ModelFacts) -> bool:
    """Log-mel chunks whose waveform sample counts come with them (``chunk_sample_lengths``)."""
    return "chunk_sample_lengths" in facts.accepts and "input_features" in facts.accepts


tower("chunk_sample_lengths", takes_chunk_lengths)


def chunk_samples(facts: ModelFacts, spec) -> int:
    """Waveform samples of one chunk: ``--audio-seconds`` at the audio config's sampling rate."""
    from .audio import audio_seconds, sampling_rate

    return int(audio_seconds(spec) * sampling_rate(facts))


@builds("chunk_sample_lengths", "audio", when=takes_chunk_lengths)
def chunk_sample_lengths(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B]: the samples of every row's chunk of log-mel features."""
    return TensorPlan((spec.batch,), "int64", values=(chunk_samples(facts, spec),) * spec.batch)


@placeholders
def chunk_audio_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The audio token once per ``samples_per_token`` samples of a chunk,
    rounding up: the tokens its encoder keeps (modeling_dots3_note.py,
    ``Dots3NoteAudioConvStem``: three stride-2 convolutions over 10 ms frames)."""
    from .audio_language import audio_token, setting

    token, per_token = audio_token(facts), setting(facts, "samples_per_token")
    if "chunk_sample_lengths" not in planned.tensors or token is None or not isinstance(per_token, int):
        return None
    return Placeholders(token, -(-chunk_samples(facts, planned.spec) // per_token), "audio")


# --- sound tokenized by a codec into ids of the text's vocabulary (Apertus 1.5)


@placeholders
def codec_audio_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The audio token once per code of the codec that tokenizes the
    waveform, whose codes the model offsets into the text's vocabulary
    (``audio_token_offset``): one per hop of its strides (modeling_apertus1p5.py,
    ``get_audio_tokens``: a single-codebook WavTokenizer)."""
    from .audio import hop
    from .audio_language import audio_token

    waveform, token = planned.tensors.get("input_values"), audio_token(facts)
    if waveform is None or token is None or not isinstance(facts.config.get("audio_token_offset"), int):
        return None
    return Placeholders(token, -(-waveform.shape[-1] // hop(facts)), "audio")
