"""Bundled configs: real published ``config.json`` files shipped in ``configs/hf-hub``.

A bundled model is one folder ``configs/hf-hub/<hub id>/config.json``; the folder
tree is the only list. Each model answers to its hub id (case-insensitive) and
to a short alias derived from it (see :func:`alias_for`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config_check import CONFIG_FILE


@dataclass(frozen=True)
class BundledModel:
    hub_id: str
    alias: str
    path: Path

    def load_config(self) -> dict:
        return json.loads(self.path.read_text(encoding="utf-8"))


def alias_for(hub_id: str) -> str:
    """Short name for a hub id: its last part, lower-cased, without a
    ``meta-`` prefix or an ``-hf`` suffix (``meta-llama/Llama-2-7b-hf`` ->
    ``llama-2-7b``, ``meta-llama/Meta-Llama-3-8B`` -> ``llama-3-8b``)."""
    name = hub_id.rsplit("/", 1)[-1].lower()
    name = name.removeprefix("meta-")
    return name.removesuffix("-hf")


def hub_root() -> Path:
    """``configs/hf-hub``: beside this package both in the repository and once
    installed (``modelprof/configs`` next to ``modelprof/models``). The folder
    name is not a Python identifier, so packaging treats it as data only."""
    return Path(__file__).resolve().parent.parent / "configs" / "hf-hub"


@lru_cache(maxsize=1)
def bundled_models() -> tuple[BundledModel, ...]:
    """Every bundled model, sorted by hub id."""
    root = hub_root()
    found = []
    for config in sorted(root.rglob(CONFIG_FILE)):
        hub_id = config.parent.relative_to(root).as_posix()
        found.append(BundledModel(hub_id=hub_id, alias=alias_for(hub_id), path=config))
    return tuple(found)


def find_bundled(name: str) -> BundledModel | None:
    """The bundled model whose hub id or alias is ``name`` (case-insensitive)."""
    key = name.strip().lower()
    for model in bundled_models():
        if key in (model.hub_id.lower(), model.alias):
            return model
    return None


def known_names() -> list[str]:
    """Hub ids and aliases, for "did you mean" suggestions."""
    names: list[str] = []
    for model in bundled_models():
        names.append(model.hub_id)
        if model.alias != model.hub_id.lower():
            names.append(model.alias)
    return names
