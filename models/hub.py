"""HuggingFace cache and Hub lookups, config only.

The cache is read in the layout ``huggingface_hub`` writes
(``models--ORG--NAME/refs/main`` and ``snapshots/<rev>/config.json``); its root
follows ``HF_HUB_CACHE``, then ``HF_HOME/hub``, then the XDG default. The Hub is
asked only for ``config.json``, into memory (nothing is written to disk), with a
hard time limit, and never when ``HF_HUB_OFFLINE`` is set.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

from ..profilers.errors import BadInput

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_TIMEOUT_S = 8.0
_TRUE = {"1", "true", "yes", "on"}


def looks_like_hub_id(name: str) -> bool:
    return bool(HUB_ID.match(name)) and ".." not in name


def cache_root() -> Path:
    """The HuggingFace hub cache folder, as ``huggingface_hub`` resolves it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def cached_config(hub_id: str, revision: str = "main") -> Path | None:
    """Path of ``config.json`` for ``hub_id`` in the local cache, or None.

    Uses the snapshot ``refs/<revision>`` points at; without that ref, the
    newest snapshot holding a config.
    """
    repo = cache_root() / ("models--" + hub_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / revision
    if ref.is_file():
        candidate = snapshots / ref.read_text(encoding="utf-8").strip() / "config.json"
        if candidate.is_file():
            return candidate
    configs = [p for p in snapshots.glob("*/config.json") if p.is_file()]
    return max(configs, key=lambda p: p.stat().st_mtime) if configs else None


def hub_offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def config_url(hub_id: str) -> str:
    """Where the Hub (or ``HF_ENDPOINT``) serves ``config.json`` of ``hub_id``."""
    endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")
    return f"{endpoint}/{hub_id}/resolve/main/config.json"


def fetch_hub_config(hub_id: str, *, timeout_s: float = HUB_TIMEOUT_S) -> dict:
    """Download ``config.json`` of ``hub_id`` from the Hub into memory.

    Raises :class:`BadInput` when the Hub does not answer within ``timeout_s``
    (DNS included: the request runs in a daemon thread that is abandoned on
    timeout), answers with an error, or returns something that is not JSON.
    """
    url = config_url(hub_id)
    request = urllib.request.Request(url, headers={"User-Agent": "modelprof"})
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    outcome: dict = {}

    def worker() -> None:
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                outcome["body"] = response.read(1 << 22)
        except urllib.error.HTTPError as error:
            outcome["error"] = f"the Hub answered HTTP {error.code} for {url}"
        except (OSError, ValueError) as error:
            outcome["error"] = f"could not reach the Hub ({getattr(error, 'reason', error)})"

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise BadInput(f"{hub_id}: the Hub did not answer within {timeout_s:g} s")
    if "error" in outcome:
        raise BadInput(f"{hub_id}: {outcome['error']}")
    try:
        config = json.loads(outcome["body"])
    except ValueError as error:
        raise BadInput(f"{hub_id}: the Hub's config.json is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise BadInput(f"{hub_id}: the Hub's config.json is not a JSON object")
    return config
