"""Inputs that are neither text, images nor sound: layout boxes, time
series, agent states, entity ids and other named tensors a forward takes."""

from __future__ import annotations
