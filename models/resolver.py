"""One resolver for every model source, one error type for every failure.

``resolve(name)`` tries, in order: ``toy:NAME``; an existing local path (a
config.json file or a folder holding one); ``file.py:factory`` or
``package.module:factory``; a bundled config by hub id or alias; the local
HuggingFace cache; the Hub (config only). Resolving never imports torch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..profilers.errors import BadInput, shorten
from . import bundled, hub, toys
from .config_check import CONFIG_FILE, check_config, read_config_file
from .factory import FactoryRef, parse_factory

@dataclass(frozen=True)
class ModelSource:
    """A resolved model: where it came from and the config it is built from.

    ``config`` is the HuggingFace config dict, or a toy's hyperparameters
    (``model_type`` ``toy:NAME``); it is None for Python factories.
    """

    name: str  # what the user asked for
    kind: str  # bundled | local | cache | hub | toy | python
    location: str  # config file, toy name or factory reference
    config: Mapping | None = None
    factory: FactoryRef | None = None

    @property
    def model_type(self) -> str | None:
        return self.config.get("model_type") if self.config else None

    @property
    def local_dir(self) -> Path | None:
        """Folder of a config read from disk (for ``--trust-remote-code`` code files)."""
        return Path(self.location).parent if self.kind in ("bundled", "local", "cache") else None


def resolve(name: str) -> ModelSource:
    name = name.strip()
    if not name:
        raise BadInput("empty model name")
    if name.lower().startswith(toys.PREFIX):
        return _resolve_toy(name)
    path = _existing_path(name)
    if path is not None:
        return _resolve_local(name, path)
    factory = parse_factory(name)
    if factory is not None:
        return ModelSource(name=name, kind="python", location=str(factory), factory=factory)
    found = bundled.find_bundled(name)
    if found is not None:
        return ModelSource(name, "bundled", str(found.path), check_config(found.load_config(), str(found.path)))
    if _looks_like_path(name):
        raise BadInput(f"{shorten(name)}: no such file or directory")
    if not hub.looks_like_hub_id(name):
        raise BadInput(_unknown(name, "not a bundled name, local path or hub id"))
    cached = hub.cached_config(name)
    if cached is not None:
        return ModelSource(name, "cache", str(cached), check_config(read_config_file(cached), str(cached)))
    if hub.hub_offline():
        why = f"not bundled, not a local path, not in the HuggingFace cache ({hub.cache_root()}), and the Hub is off (HF_HUB_OFFLINE)"
        raise BadInput(_unknown(name, why))
    try:
        fetched = hub.fetch_hub_config(name)
    except BadInput as error:
        why = str(error).removeprefix(f"{name}: ")
        raise BadInput(_unknown(name, f"not bundled, not a local path, not in the HuggingFace cache; {why}")) from None
    origin = hub.config_url(name)
    return ModelSource(name, "hub", origin, check_config(read_config_file(fetched), origin))


def _resolve_toy(name: str) -> ModelSource:
    spec = toys.find_toy(name)
    if spec is None:
        raise BadInput(_unknown(name, "no such toy net", candidates=toys.toy_names()))
    return ModelSource(name, "toy", spec.model_type, spec.config())


def _resolve_local(name: str, path: Path) -> ModelSource:
    config_path = path / CONFIG_FILE if path.is_dir() else path
    if not config_path.is_file():
        raise BadInput(f"{path}: folder has no {CONFIG_FILE}")
    if config_path.suffix == ".py":
        raise BadInput(f"{path}: a Python file needs a factory name, as in {name}:make_model")
    return ModelSource(name, "local", str(config_path), check_config(read_config_file(config_path), str(config_path)))


def _existing_path(name: str) -> Path | None:
    """``name`` as an existing file or folder, or None (also for names the
    OS cannot even look up: too long, or holding a NUL)."""
    try:
        path = Path(name).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError):
        return None


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.endswith((".json", ".py")) or "\\" in name


def _unknown(name: str, why: str, candidates: list[str] | None = None) -> str:
    pool = candidates if candidates is not None else bundled.known_names() + toys.toy_names()
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in pool], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `modelprof list` shows the bundled models"
    return f"unknown model {shorten(name)!r}: {why}{hint}"
