"""Plain records passed from the core to the renderers (no torch imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelInfo:
    """What was profiled: the name asked for, where it came from, the class built."""

    name: str
    source: str  # bundled | local | cache | hub | toy | python
    class_name: str
    location: str  # config file, hub URL, toy name or factory reference
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        return {"name": self.name, "source": self.source, "class": self.class_name, "location": self.location}
