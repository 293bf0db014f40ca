"""Text inputs: token ids (with a vision-language model's image
placeholders), decoder token ids, masks and segment ids."""

from __future__ import annotations

from typing import Mapping

from ...profilers.errors import BadInput
from . import ModelFacts, Planned, TensorPlan, builds, placeholder_runs

ROTARY_HINTS = ("rope_theta", "rope_scaling", "rotary_dim", "rotary_pct", "partial_rotary_factor", "rope_parameters",
                "relative_attention_num_buckets")
POSITION_LIMIT_FIELDS = ("max_position_embeddings", "n_positions")


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


@builds("attention_mask", "text")
def attention_mask(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    """All ones over the token ids (a model that requires one)."""
    ids = planned.tensors.get("input_ids") or input_ids(facts, spec, Planned(spec, facts))
    return TensorPlan(ids.shape, "int64", ((1, ids.shape[-1]),))


@builds("token_type_ids", "text")
def token_type_ids(facts: ModelFacts, spec, planned: Planned) -> TensorPlan:
    ids = planned.tensors.get("input_ids") or input_ids(facts, spec, Planned(spec, facts))
    return TensorPlan(ids.shape, "int64")
