"""Vision-language models that put an image's features into the text at
placeholder tokens (LLaVA and the families built like it)."""

from __future__ import annotations

from . import ModelFacts, Placeholders, Planned, placeholders

IMAGE_TOKEN_FIELDS = ("image_token_id", "image_token_index")
IMAGE_TOKENS_FIELDS = ("image_seq_length", "mm_tokens_per_image", "num_image_tokens")


def image_token(facts: ModelFacts) -> int | None:
    """The id of the image placeholder token, from the config."""
    return next((facts.config[k] for k in IMAGE_TOKEN_FIELDS if isinstance(facts.config.get(k), int)), None)


@placeholders
def image_tokens(facts: ModelFacts, planned: Planned) -> Placeholders | None:
    """The image placeholder token once per image feature: as many as the
    model measured (``facts.image_tokens``), else as the config says."""
    from .grid import takes_grid

    token = image_token(facts)
    if "pixel_values" not in planned.tensors or token is None or takes_grid(facts):
        return None
    count = facts.image_tokens or next(
        (facts.config[k] for k in IMAGE_TOKENS_FIELDS if isinstance(facts.config.get(k), int)), None
    )
    return Placeholders(token, count, "image") if count else None
