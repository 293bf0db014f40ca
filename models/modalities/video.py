"""Video inputs: clips of frames, and what goes with them."""

from __future__ import annotations
