"""Accelerators as data: ``configs/hardware.toml``, one row per device with
its datasheet source. Read by ``memory --fit`` and ``bench``. An unknown
device, or a dtype a device's datasheet gives no peak for, is never guessed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import BadInput

GIB = 1 << 30
# beside this package both in the repository and once installed (modelprof/configs next to modelprof/profilers)
TABLE = Path(__file__).resolve().parent.parent / "configs" / "hardware.toml"


@dataclass(frozen=True)
class Device:
    name: str  # canonical
    names: tuple[str, ...]  # what a user may type
    torch_names: tuple[str, ...]  # what torch.cuda.get_device_name() reports
    memory_bytes: int
    bandwidth_bytes_per_s: int
    peak_flops: dict = field(default_factory=dict)  # dtype ("bf16", "fp32", ...) -> dense FLOP/s
    source: str = ""

    def peak(self, dtype: str) -> int | None:
        """Dense peak FLOP/s at ``dtype`` (fp32, tf32, bf16, fp16, fp8, fp64), or None."""
        return self.peak_flops.get(dtype)


@lru_cache(maxsize=1)
def devices() -> tuple[Device, ...]:
    rows = tomllib.loads(TABLE.read_text(encoding="utf-8"))["device"]
    return tuple(
        Device(
            row["names"][0], tuple(row["names"]), tuple(row["torch_names"]), int(row["memory_gib"] * GIB),
            int(row["bandwidth_gbs"] * 10**9),
            {dtype: int(round(tflops * 10**12)) for dtype, tflops in row.get("peak_tflops", {}).items()},
            row["source"],
        )
        for row in rows
    )


def find_device(name: str) -> Device:
    """The device a user named (``H100``, ``a100-80gb``); BadInput naming the known ones otherwise."""
    wanted = name.strip().lower()
    for device in devices():
        if wanted in (n.lower() for n in device.names):
            return device
    known = ", ".join(d.name for d in devices())
    raise BadInput(f"unknown device {name!r}: known devices are {known} (or give a size such as 80GiB)")


def device_for_torch_name(reported: str) -> Device | None:
    """The row whose ``torch_names`` holds exactly what torch reported, or None."""
    return next((d for d in devices() if reported in d.torch_names), None)
