"""What a model's own error means: one rule per kind of failure a config,
not modelprof's inputs, causes. A rule reads the error's one-line text and
the config and returns a sentence, or None when it does not apply.

transformers ships default configs whose parts disagree (a vision tower
whose output width is not its language model's embedding width, rotary
sections that do not sum to the rotary dimension); the model then refuses
any input. The rules say so instead of leaving the raw text alone.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

Rule = Callable[[str, Mapping], "str | None"]
_RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    _RULES.append(function)
    return function


def diagnose(reason: str, config: Mapping | None) -> str | None:
    """The first rule's sentence about ``reason`` (a failed count's text), or None."""
    for found in (r(reason, config or {}) for r in _RULES):
        if found:
            return found
    return None


def _width(config: Mapping, *names: str) -> int | None:
    return next((config[n] for n in names if isinstance(config.get(n), int)), None)


@rule
def feature_width(reason: str, config: Mapping) -> str | None:
    """As many placeholder tokens as features, and still "do not match": the
    check compares tokens x embedding width with the features' elements, so
    the widths differ."""
    found = re.search(r"features and (\w+) tokens do not match, tokens: (\d+), features: (\d+)", reason)
    tokens, features = (int(found.group(2)), int(found.group(3))) if found else (0, 0)
    # the features' count in rows, or in elements (rows x their width): either way as many rows as tokens
    if not found or not tokens or features % tokens or (features != tokens and features // tokens < 16):
        return None
    what = found.group(1)
    sub = {"image": "vision_config", "video": "vision_config"}.get(what, f"{what}_config")
    tower = config.get(sub) if isinstance(config.get(sub), Mapping) else {}
    text = config.get("text_config") if isinstance(config.get("text_config"), Mapping) else config
    out = features // tokens if features != tokens else _width(tower, "out_hidden_size", "output_dim", "hidden_size")
    embed = _width(text, "hidden_size")
    widths = f" ({what} features {out:,} wide, text embeddings {embed:,})" if out and embed and out != embed else ""
    return (f"the config is inconsistent: the {what} tower's features are not as wide as the language model's "
            f"embeddings{widths}, so the model refuses every input; set the widths to agree")


@rule
def pooling_kernel(reason: str, config: Mapping) -> str | None:
    """An image pooled to more tokens a side than it has patches: the pooling kernel is 0."""
    vision = config.get("vision_config") if isinstance(config.get("vision_config"), Mapping) else {}
    tokens, size, patch = config.get("mm_tokens_per_image"), vision.get("image_size"), vision.get("patch_size")
    if "stride should not be zero" not in reason or not all(isinstance(v, int) for v in (tokens, size, patch)):
        return None
    side = round(tokens ** 0.5)
    return (f"the config is inconsistent: a {size}-pixel image in {patch}-pixel patches is {size // patch} patches "
            f"a side, pooled to mm_tokens_per_image = {tokens} ({side} a side): the pooling kernel is 0")


@rule
def rotary_sections(reason: str, config: Mapping) -> str | None:
    """Multimodal rotary sections that do not add up to the rotary dimension."""
    found = re.search(r"split_with_sizes expects split_sizes to sum exactly to (\d+).*?got split_sizes=\[([\d, ]+)\]", reason)
    if not found or "rope" not in str(config):
        return None
    sections = [int(v) for v in found.group(2).split(",")]
    return (f"the config is inconsistent: its rotary sections {sections} (mrope_section) sum to {sum(sections)}, "
            f"the rotary dimension has {found.group(1)}: the model cannot run")
