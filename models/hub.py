"""HuggingFace cache and Hub lookups, config only.

The cache is read in the layout ``huggingface_hub`` writes
(``models--ORG--NAME/refs/main`` and ``snapshots/<rev>/config.json``); its root
follows ``HF_HUB_CACHE``, then ``HF_HOME/hub``, then the XDG default. The Hub
is asked for ``config.json`` only, through ``huggingface_hub`` itself (its
token handling, ``HF_ENDPOINT``, redirect rules — the token never goes to
another host — and cache layout), under a hard time limit
(``MODELPROF_HUB_TIMEOUT`` seconds, default 8), never when ``HF_HUB_OFFLINE``
is set. Weights are never downloaded.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

from ..profilers.errors import BadInput, shorten

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_TIMEOUT_S = 8.0
_TRUE = {"1", "true", "yes", "on"}


def looks_like_hub_id(name: str) -> bool:
    """``org/name`` or ``name`` as the Hub allows them (at most 96 characters each)."""
    return bool(HUB_ID.match(name)) and ".." not in name and all(len(part) <= 96 for part in name.split("/"))


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


def endpoint() -> str:
    """The Hub's base URL: ``HF_ENDPOINT``, else huggingface.co; one-line error when it is not a URL."""
    raw = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    url = raw.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BadInput(f"HF_ENDPOINT={shorten(raw)!r} is not an http(s) URL")
    return url


def hub_timeout() -> float:
    """Seconds a Hub lookup may take in all: ``MODELPROF_HUB_TIMEOUT``, default 8."""
    text = os.environ.get("MODELPROF_HUB_TIMEOUT", "").strip()
    if not text:
        return HUB_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise BadInput(f"MODELPROF_HUB_TIMEOUT={shorten(text)!r}: expected a positive number of seconds")
    return value


def config_url(hub_id: str) -> str:
    """Where the Hub (or ``HF_ENDPOINT``) serves ``config.json`` of ``hub_id``."""
    return f"{endpoint()}/{hub_id}/resolve/main/config.json"


def fetch_hub_config(hub_id: str, *, timeout_s: float | None = None) -> Path:
    """Download ``config.json`` of ``hub_id`` into the HuggingFace cache and
    return its path.

    Raises :class:`BadInput` when the Hub does not answer within
    ``timeout_s`` (DNS included: the download runs in a daemon thread that is
    abandoned on timeout), answers with an error, or the endpoint is not a URL.
    """
    url = endpoint()
    limit = timeout_s if timeout_s is not None else hub_timeout()
    outcome: dict = {}

    def worker() -> None:
        from importlib.metadata import version

        from huggingface_hub import hf_hub_download

        try:
            outcome["path"] = hf_hub_download(
                hub_id, "config.json", cache_dir=cache_root(), endpoint=url, etag_timeout=limit,
                library_name="modelprof", library_version=version("modelprof"),
            )
        except Exception as error:  # reported below, one line
            outcome["error"] = error

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise BadInput(f"{hub_id}: the Hub ({url}) did not answer within {limit:g} s")
    if "error" in outcome:
        raise BadInput(f"{hub_id}: {_hub_error(outcome['error'], url)}")
    return Path(outcome["path"])


def _hub_error(error: Exception, url: str) -> str:
    """One line for what huggingface_hub raised."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(error, GatedRepoError):
        return "the model is gated: accept its terms on the Hub and set HF_TOKEN"
    if isinstance(error, RepositoryNotFoundError):
        return f"the Hub ({url}) has no such model (a private one needs HF_TOKEN)"
    if isinstance(error, LocalEntryNotFoundError):
        return f"could not reach the Hub ({url})"
    if isinstance(error, EntryNotFoundError):
        return "the Hub has the model but no config.json"
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return f"the Hub answered HTTP {error.response.status_code}"
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"the Hub lookup failed: {type(error).__name__}" + (f": {shorten(first)}" if first else "")
