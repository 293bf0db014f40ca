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


@rule
def null_field(reason: str, config: Mapping) -> str | None:
    """A None where the model needs a value: the line the error was raised
    at (the reason's ``at FILE:LINE``, in transformers' models) reads a
    config field (``config.X``, or ``self.Y`` that the same file sets from
    ``config.X``) that the config leaves null."""
    found = re.search(r"\(at ([\w./-]+\.py):(\d+) in \w+\)", reason)
    if "NoneType" not in reason or not found:
        return None
    source = _model_source(found.group(1))
    line = source[int(found.group(2)) - 1] if source and 0 < int(found.group(2)) <= len(source) else ""
    read = {name: f"config.{name}" for name in _config_fields(line)}
    for attribute in re.findall(r"\bself\.(\w+)", line):
        assigned = re.compile(rf"\bself\.{attribute}\s*(?::[^=]+)?=(?!=)(.*)")
        for text in source or ():
            for name in _config_fields(next(iter(assigned.findall(text)), "")):
                read.setdefault(name, f"self.{attribute}")
    nulls = [name for name in read if _is_null(config, name)]
    if not nulls:
        return None
    fields = " and ".join(nulls)
    verb, it = ("is", "it") if len(nulls) == 1 else ("are", "them")
    reads = ", ".join(read[n] for n in nulls)
    return (f"the config's {fields} {verb} null, and the model needs a value there: {found.group(1)}:{found.group(2)} "
            f"reads {it} (as {reads}); set {it} as the checkpoint does")


def _model_source(path: str) -> list[str] | None:
    """The lines of ``path`` under transformers' models folder, or None."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("transformers")
    folders = spec.submodule_search_locations if spec else None
    if not folders or ".." in path:
        return None
    try:
        return (Path(list(folders)[0]) / "models" / path).read_text().splitlines()
    except OSError:
        return None


def _config_fields(text: str) -> list[str]:
    """The fields ``text`` reads off a config (``config.X``, ``self.config.text_config.X``: X)."""
    return [chain.rsplit(".", 1)[1] for chain in re.findall(r"\bconfig((?:\.\w+)+)", text)]


def _is_null(config: Mapping, name: str) -> bool:
    """Whether ``name`` is set to null in the config or one of its sub-configs (and set nowhere else)."""
    values = []

    def search(found: Mapping) -> None:
        if name in found:
            values.append(found[name])
        for value in found.values():
            if isinstance(value, Mapping):
                search(value)

    search(config)
    return bool(values) and all(value is None for value in values)
