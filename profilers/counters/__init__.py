"""The counter registry: one adapter file per counter, registered once.

Adding a counter is one new file ``<name>_counter.py`` in this folder whose
class derives from :class:`Counter` and carries ``@register``. Adapter files
are discovered by that name pattern and must not import torch at import time,
so listing counters stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import ClassVar

from ...models.inputs import InputSpec
from ...models.resolver import ModelSource
from ..errors import BadInput
from ..records import CounterResult

_REGISTRY: dict[str, "Counter"] = {}


@dataclass(frozen=True)
class CountJob:
    """Everything a counter needs to build the model and feed it (picklable)."""

    source: ModelSource
    inputs: InputSpec
    mode: str = "forward"  # "forward", "train" or "decode" (inputs.seq_len new tokens after inputs.context cached)
    base: bool = False
    attn: str | None = None  # None: transformers' default implementation
    trust_remote_code: bool = False


class Counter:
    """An adapter around one counting tool.

    ``native_unit`` is what one unit of the tool's raw number means ("mac":
    one multiply-accumulate, "flop": one floating-point operation); the
    adapter converts to MACs once, in :meth:`count`.
    """

    name: ClassVar[str]
    native_unit: ClassVar[str]
    label: ClassVar[str]  # the word the tool prints next to its number
    counts: ClassVar[str]  # one line: what it really counts
    order: ClassVar[int] = 50  # column position
    real_tensors: ClassVar[bool] = False  # needs real weights in memory
    measures_train: ClassVar[bool] = False  # can measure forward + backward
    measures_decode: ClassVar[bool] = False  # can measure a step against a key/value cache
    needs_torch: ClassVar[bool] = True
    package: ClassVar[str | None] = None  # the importable package it wraps
    # What the tool cannot see, by category, in its own terms (shown as the
    # reason when it misses that category and left no other trace).
    blind_spots: ClassVar[dict[str, str]] = {}

    def ok(self, **fields) -> CounterResult:
        """A successful result of this counter (name, unit and label filled in)."""
        return CounterResult(counter=self.name, native_unit=self.native_unit, status="ok", label=self.label, **fields)

    def skipped(self, reason: str) -> CounterResult:
        return CounterResult(self.name, self.native_unit, "skipped", reason, label=self.label)

    def failed(self, reason: str) -> CounterResult:
        return CounterResult(self.name, self.native_unit, "error", reason, label=self.label)

    def missing(self) -> str | None:
        """Why the tool cannot run here (not installed), or None."""
        if self.package and importlib.util.find_spec(self.package) is None:
            return f"{self.package} is not installed"
        return None

    def count(self, job: CountJob) -> CounterResult:
        """Build the model as this tool needs it (real CPU tensors or meta) and
        count one step of ``job``. Runs in an isolated child process."""
        from .harness import prepare

        return self.measure(prepare(job, "cpu" if self.real_tensors else "meta"), job)

    def measure(self, prepared, job: CountJob) -> CounterResult:
        """Count one step of an already built model (``harness.Prepared``).
        Leaves the model exactly as it found it: no hooks, buffers or
        attributes added, no functions patched."""
        raise NotImplementedError


def register(cls: type[Counter]) -> type[Counter]:
    """Class decorator adding one counter; a second counter of the same name is refused."""
    if cls.name in _REGISTRY:
        raise ValueError(f"counter {cls.name!r} is already registered by {type(_REGISTRY[cls.name]).__module__}")
    if cls.native_unit not in ("mac", "flop"):
        raise ValueError(f"counter {cls.name!r}: native_unit must be 'mac' or 'flop'")
    _REGISTRY[cls.name] = cls()
    return cls


def _discover() -> None:
    if _REGISTRY:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_counter"):
            importlib.import_module(f"{__name__}.{info.name}")


def all_counters() -> list[Counter]:
    """Every registered counter, in column order."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, c.name))


def get_counter(name: str) -> Counter:
    _discover()
    return _REGISTRY[name]


def select_counters(names: list[str] | None) -> list[Counter]:
    """Counters by name, in column order; ``ptflops`` means both ptflops backends.
    None or empty selects all."""
    counters = all_counters()
    if not names:
        return counters
    chosen: set[str] = set()
    for raw in names:
        name = raw.strip().lower()
        matches = [c.name for c in counters if c.name == name or c.name.startswith(name + "-")]
        if not matches:
            known = ", ".join(c.name for c in counters)
            raise BadInput(f"unknown counter {raw!r} (known: {known}; 'ptflops' selects both ptflops backends)")
        chosen.update(matches)
    return [c for c in counters if c.name in chosen]
