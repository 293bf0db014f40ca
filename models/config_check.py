"""Reading and sanity-checking a HuggingFace ``config.json`` before anything is built.

Every problem becomes one :class:`BadInput` line naming the file and the field,
instead of a traceback from deep inside transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..profilers.errors import BadInput

CONFIG_FILE = "config.json"
FLOAT_TAG = '"__float__"'  # how transformers serialises inf and nan

# Structural sizes: when present and not null they must be positive integers.
POSITIVE_FIELDS = frozenset(
    {
        "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "intermediate_size", "vocab_size", "max_position_embeddings",
        "n_embd", "n_layer", "n_head", "n_positions", "n_inner", "n_ctx",
        "d_model", "d_ff", "d_kv", "num_layers", "num_decoder_layers", "num_heads",
        "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
        "encoder_ffn_dim", "decoder_ffn_dim", "ffn_dim", "word_embed_proj_dim", "embedding_size",
        "num_local_experts", "num_experts_per_tok", "num_experts", "moe_intermediate_size",
        "shared_expert_intermediate_size", "image_size", "patch_size", "num_channels",
        "dim", "hidden_dim", "n_heads", "n_layers", "num_hidden_groups", "inner_group_num",
    }
)
# Sizes that may legitimately be zero.
# (head_dim 0: derive it from hidden_size and the heads, as some of transformers' own defaults say)
NON_NEGATIVE_FIELDS = frozenset({"type_vocab_size", "num_shared_experts", "n_shared_experts", "head_dim"})


def read_config_file(path: Path) -> dict:
    """Parse ``path`` as a config.json object; one-line errors for every failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a UTF-8 text file") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(config, dict):
        raise BadInput(f"{path}: expected a JSON object, found {type(config).__name__}")
    if FLOAT_TAG in text:
        # transformers writes inf / nan as {"__float__": "Infinity"}: read the file as it does
        # (imported only here: it costs seconds, and most configs hold no such value)
        from transformers.configuration_utils import PreTrainedConfig

        config = PreTrainedConfig._dict_from_json_file(path)
    return config


def check_config(config: dict, origin: str) -> dict:
    """Return ``config`` if it is usable, else raise naming ``origin`` and the field."""
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise BadInput(f"{origin}: field 'model_type' is missing or not a string")
    for field, value in config.items():
        if field in POSITIVE_FIELDS:
            _check_size(origin, field, value, minimum=1)
        elif field in NON_NEGATIVE_FIELDS:
            _check_size(origin, field, value, minimum=0)
    architectures = config.get("architectures")
    if architectures is not None and (
        not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures)
    ):
        raise BadInput(f"{origin}: field 'architectures' must be a list of class names")
    return config


def _check_size(origin: str, field: str, value: object, *, minimum: int) -> None:
    """Refuse only what no model can be built from: a size that is not a
    number, or below ``minimum``. Lists and per-part tables (per-stage image
    sizes, lxmert's layers per encoder) are checked item by item; transformers
    accepts whole floats (musicflamingo's max_position_embeddings 1200.0)."""
    if value is None:
        return
    if isinstance(value, dict):
        items = list(value.values())
    else:
        items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, (list, dict)):
            _check_size(origin, field, item, minimum=minimum)
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float)) or item != item:
            raise BadInput(f"{origin}: field '{field}' must be a number, got {item!r}")
        if item < minimum:
            bound = "positive" if minimum == 1 else "non-negative"
            raise BadInput(f"{origin}: field '{field}' must be {bound}, got {item}")
