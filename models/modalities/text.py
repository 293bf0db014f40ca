"""Text inputs: token ids (with a vision-language model's image
placeholders), decoder token ids, masks and segment ids, and what some text
models read beside their tokens: a global-attention mask, language ids,
entities."""

from __future__ import annotations

from typing import Mapping

from ...profilers.errors import BadInput
from . import ModelFacts, Planned, TensorPlan, builds, described_by, placeholder_runs, tower

ROTARY_HINTS = ("rope_theta", "rope_scaling", "rotary_dim", "rotary_pct", "partial_rotary_factor", "rope_parameters",
                "relative_attention_num_buckets")
POSITION_LIMIT_FIELDS = ("max_position_embeddings", "n_positions")
# LukeTokenizer's defaults: up to 32 entities per sequence, each a mention of up to 30 word tokens
MAX_ENTITIES = 32
MAX_MENTION_TOKENS = 30


def text_length(config: Mapping, spec, given: str = "seq_len", length: int | None = None, planned: Planned | None = None) -> int:
    """The sequence length: one the user asked for is refused past a learned
    position table; a default the user never chose is cut to the table's
    size (and a note says so)."""
    requested = length if length is not None else getattr(spec, given)
    field_name, limit = _position_limit(config)
    if limit is None or requested <= limit:
        return requested
    if given in spec.given or length is not None:
        raise BadInput(f"sequence length {requested} exceeds the model's {field_name} = {limit}")
    if planned is not None:
        planned.notes.append(f"sequence length {limit}: the model's {field_name} (default {requested})")
    return limit


def _position_limit(config: Mapping) -> tuple[str, int | None]:
    """The learned position table's size and field, where the model has one
    (rotary and relative positions have no such limit)."""
    if any(hint in config for hint in ROTARY_HINTS):
        return "", None
    for name in POSITION_LIMIT_FIELDS:
        limit = config.get(name)
        if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0:
            return name, int(limit)
    return "", None


@builds("input_ids", "text")
def input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Token ids [B, n] (int64, zeros); a multimodal model's start with the
    placeholder tokens of its other inputs (see :func:`placeholders`), then
    n tokens of text."""
    text_config = facts.sub("text_config")
    n = text_length(text_config, spec, planned=planned)
    runs = placeholder_runs(facts, planned)
    for run in runs:
        planned.notes.append(f"input_ids hold {run.count:,} {run.what} tokens (id {run.token}) per row")
    if runs:
        planned.notes.append(f"then {n:,} text tokens")
    n += sum(run.count for run in runs)
    planned.tokens += spec.batch * n
    return TensorPlan((spec.batch, n), "int64", tuple((run.token, run.count) for run in runs))


@builds("decoder_input_ids", "text")
def decoder_input_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Decoder token ids [B, m]: m = ``--decoder-seq-len``, else the text length."""
    m = spec.decoder_seq_len or text_length(facts.sub("text_config"), spec)
    planned.tokens += spec.batch * m
    return TensorPlan((spec.batch, m), "int64")


def token_shape(facts: ModelFacts, spec, planned: Planned) -> tuple[int, ...]:
    """[B, n] of the token ids: as planned, or as they will be (an input
    that describes every token is planned before them)."""
    ids = planned.tensors.get("input_ids") or input_ids(facts, spec, Planned(spec, facts))
    return ids.shape


@builds("attention_mask", "text")
def attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """All ones over the token ids (a model that requires one)."""
    shape = token_shape(facts, spec, planned)
    return TensorPlan(shape, "int64", ((1, shape[-1]),))


@builds("token_type_ids", "text")
def token_type_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    return TensorPlan(token_shape(facts, spec, planned), "int64")


# sliding-window attention (Longformer, LED): only the tokens the mask marks attend to the whole sequence
windowed = described_by("attention_window")
tower("global_attention_mask", windowed)


@builds("global_attention_mask", "text", when=windowed)
def global_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """[B, n] (int64): 1 on the first token of every row, which attends to
    (and is attended by) every token; the others attend within their window."""
    planned.notes.append(
        "global_attention_mask: the first token (<s>) attends globally, as transformers' docs advise for "
        "classification and LED summarisation; the others within attention_window"
    )
    return TensorPlan(token_shape(facts, spec, planned), "int64", ((1, 1),))


# a language adapter per language the config lists (X-MOD)
adapts_languages = described_by("languages")
tower("lang_ids", adapts_languages)


@builds("lang_ids", "text", when=adapts_languages)
def lang_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The language of every token [B, n] (int64): the index of the config's
    ``default_language`` among its ``languages``, else 0 (the first)."""
    languages = list(facts.config["languages"])
    chosen = facts.config.get("default_language") or languages[0]
    index = languages.index(chosen)
    why = "the config's default_language" if facts.config.get("default_language") else "the first the config lists"
    planned.notes.append(
        f"lang_ids: every token in {chosen} (language {index} of {len(languages)}, {why}); "
        "each token runs its language's adapter only"
    )
    shape = token_shape(facts, spec, planned)
    return TensorPlan(shape, "int64", ((index, shape[-1]),))


# entities beside the words (LUKE): each its own position in every layer's attention
reads_entities = described_by("entity_vocab_size")
tower("entity_ids", reads_entities)


@builds("entity_ids", "text", when=reads_entities)
def entity_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """Entity ids [B, E] (int64, zeros), E = :data:`MAX_ENTITIES`, with the
    entities' mask and the word positions of their mentions."""
    planned.add("entity_attention_mask")
    planned.add("entity_position_ids")
    planned.tokens += spec.batch * MAX_ENTITIES
    planned.notes.append(
        f"entity_ids: {MAX_ENTITIES} entities per row, each a mention of one word token, its positions padded to "
        f"{MAX_MENTION_TOKENS} (LukeTokenizer's max_entity_length and max_mention_length)"
    )
    return TensorPlan((spec.batch, MAX_ENTITIES), "int64")


@builds("entity_attention_mask", "text", when=reads_entities)
def entity_attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """All ones over the entities [B, E]."""
    return TensorPlan((spec.batch, MAX_ENTITIES), "int64", ((1, MAX_ENTITIES),))


@builds("entity_position_ids", "text", when=reads_entities)
def entity_position_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """The word positions of every entity's mention [B, E, M] (int64),
    M = :data:`MAX_MENTION_TOKENS`: word 1 (the first after <s>), then -1 (padding)."""
    return TensorPlan((spec.batch, MAX_ENTITIES, MAX_MENTION_TOKENS), "int64", ((1, 1), (-1, MAX_MENTION_TOKENS - 1)))
